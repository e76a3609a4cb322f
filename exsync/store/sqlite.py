"""The SQLite engine: one file in WAL mode, opened safely, its errors in one line.

Readers (`status`, the portfolio API) never block a pass in WAL. The file is checked with
`PRAGMA quick_check` before the first write of a process, so a damaged one is refused before
anything is written to it.
"""

from __future__ import annotations

import os
import sqlite3
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from exsync import clock
from exsync.errors import DatabaseError
from exsync.store import migrations
from exsync.store.dialect import SQLITE
from exsync.store.target import Target

# Exact amounts reach the driver as Decimal from PostgreSQL (a copy) or a caller: as text,
# exactly as they are.
sqlite3.register_adapter(Decimal, str)


class SqliteEngine:
    """How exsync opens and reads an SQLite file."""

    dialect = SQLITE
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)

    def __init__(self, target: Target, busy_timeout: float) -> None:
        assert target.path is not None
        self.path: Path = target.path
        self.name = str(target.path)
        self.busy_timeout = busy_timeout

    def open(self, *, create: bool, readonly: bool, check: bool) -> sqlite3.Connection:
        """A connection ready for exsync: upgraded and verified for writing, or read-only."""
        if (readonly or not create) and not self.path.exists():
            raise DatabaseError(f"{self.path}: no database yet (run `exsync sync` first)")
        if readonly:
            return self._open_readonly()
        return self._open_for_writing(create, check)

    def _open_for_writing(self, create: bool, check: bool) -> sqlite3.Connection:
        if create:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(
                    f"{self.path}: cannot create directory: {exc.strerror}"
                ) from None
        started = time.monotonic()
        try:
            conn = self._connect(str(self.path))
        except sqlite3.Error as exc:
            raise DatabaseError(f"{self.path}: cannot open database: {exc}") from None
        try:
            if check:
                self.quick_check(conn)  # before anything could write to a corrupt file
            # Someone else's database, or a newer exsync's, is refused before the first write.
            if migrations.read_version(conn) > migrations.LATEST:
                migrations.upgrade(conn)  # raises, saying which versions
            self._use_wal(conn)
            # NORMAL is durable in WAL except for the last transactions on power loss, which
            # the next pass fetches again.
            conn.execute("PRAGMA synchronous = NORMAL")
            migrations.upgrade(conn)
            migrations.verify(conn)
        except migrations.SchemaError as exc:
            conn.close()
            raise DatabaseError(f"{self.path}: {exc}") from None
        except sqlite3.Error as exc:
            conn.close()
            raise self.error(exc, started) from None
        except DatabaseError:
            conn.close()
            raise
        return conn

    def _connect(self, where: str, **options: Any) -> sqlite3.Connection:
        return sqlite3.connect(
            where,
            timeout=self.busy_timeout,
            isolation_level=None,
            check_same_thread=False,
            **options,
        )

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        # WAL lets readers (status, the portfolio API) read while a pass writes. Switching a
        # fresh file to it needs a lock that SQLite does not wait for through its busy
        # handler: the switch is retried here, within the same busy timeout.
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                if mode != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)

    def _uri(self) -> str:
        return f"file:{quote(str(self.path.resolve()))}?mode=ro"

    def _open_readonly(self) -> sqlite3.Connection:
        uri = self._uri()
        try:
            conn = self._connect(uri, uri=True)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as exc:
            # A WAL database needs its -shm file; a reader who may not create it in the
            # directory can still read the file as it stands while no pass has it open.
            wal = Path(f"{self.path}-wal")
            if exc.sqlite_errorname not in ("SQLITE_READONLY_DIRECTORY", "SQLITE_CANTOPEN") or (
                wal.exists() and wal.stat().st_size
            ):
                raise self.error(exc) from None
            try:
                conn = self._connect(uri + "&immutable=1", uri=True)
            except sqlite3.Error as again:
                raise self.error(again) from None
        except sqlite3.Error as exc:
            raise self.error(exc) from None
        return conn

    def reader(self) -> sqlite3.Connection:
        """A second, read-only connection for reads made from the event loop during a pass:
        in WAL it never waits for a writer, and it sees only what was committed."""
        try:
            return self._connect(self._uri(), uri=True)
        except sqlite3.Error as exc:
            raise self.error(exc) from None

    def quick_check(self, conn: sqlite3.Connection) -> None:
        """Raise DatabaseError when SQLite finds the file damaged (PRAGMA quick_check)."""
        try:
            problems = [r[0] for r in conn.execute("PRAGMA quick_check(3)")]
        except sqlite3.Error as exc:
            raise self.error(exc) from None
        if problems != ["ok"]:
            raise DatabaseError(f"{self.path}: {corrupt(problems[0])}")

    def now(self, conn: sqlite3.Connection) -> clock.Instant:
        """The moment leases and cool-downs are measured by: this host's boot clock, which
        every process sharing the file shares."""
        return clock.now()

    def sizes(self, conn: sqlite3.Connection) -> dict[str, int]:
        """The file, its write-ahead log and its free pages, in bytes."""
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        free_pages = conn.execute("PRAGMA freelist_count").fetchone()[0]
        return {
            "file_bytes": _size(str(self.path)),
            "wal_bytes": _size(f"{self.path}-wal"),
            "free_bytes": page_size * free_pages,
        }

    def error(self, exc: BaseException, started: float | None = None) -> DatabaseError:
        """A one-line DatabaseError for an SQLite error, naming the file."""
        waited = time.monotonic() - started if started is not None else None
        return DatabaseError(f"{self.path}: {describe(exc, waited)}")


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


RECOVERY = (
    "restore a backup (sqlite3's `.backup`, the online backup API, makes one while exsync "
    "runs), or move the file aside and run `exsync sync` to rebuild the mirror from the "
    "exchange"
)


def corrupt(detail: str) -> str:
    """The line for a damaged database: what SQLite found, that nothing was written, and how
    to recover."""
    detail = " ".join(detail.split())[:160]
    return f"the database is corrupt ({detail}); nothing was written. To recover: {RECOVERY}"


def describe(exc: BaseException, waited: float | None = None) -> str:
    """What an SQLite error means for the operator, in one line."""
    text = " ".join(str(exc).split())
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name == "SQLITE_NOTADB" or "file is not a database" in text:
        return f"not a valid exsync database ({text})"
    if name.startswith("SQLITE_CORRUPT") or "malformed" in text:
        return corrupt(text)
    if name.startswith("SQLITE_FULL") or "is full" in text:
        return f"the disk is full ({text}): the transaction was rolled back, nothing half-written"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        after = f" after waiting {waited:.1f}s" if waited is not None else ""
        return f"the database is locked by another process; gave up{after} ({text})"
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return f"the database is not writable ({text})"
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        return f"cannot open the database ({text})"
    if name.startswith("SQLITE_IOERR") or "I/O error" in text:
        return f"disk I/O error ({text}): the transaction was rolled back"
    return text
