"""The SQLite store: opening the database safely, transactions, and the repositories.

A `Store` holds one connection. Writes happen in short `BEGIN IMMEDIATE` transactions, so
concurrent processes wait on SQLite's busy timeout instead of failing. During a pass every
database call runs on the store's own thread (`await store.run(...)`): a write waiting for
another process's lock, or a large commit, never stalls the event loop and so never makes
another exchange's requests time out.

Every SQLite failure leaves here as a `DatabaseError` naming the file and what went wrong
(corrupt, disk full, locked for so long, not writable), never as a unit's failure.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import sqlite_utils

from exsync.clock import iso
from exsync.errors import DatabaseError
from exsync.store import migrations
from exsync.store.schema import TABLES_BY_NAME

T = TypeVar("T")
BUSY_TIMEOUT = 30.0
log = logging.getLogger(__name__)


def utc_now() -> str:
    """The current time as exsync stores its own timestamps (ISO-8601, UTC, milliseconds)."""
    return iso(datetime.now(UTC))


def utc_now_minus(seconds: float) -> str:
    """`utc_now()` of `seconds` ago, for comparisons with stored bookkeeping times."""
    return iso(datetime.now(UTC) - timedelta(seconds=seconds))


def to_json(value: Any) -> str:
    """Compact JSON for raw payload columns."""
    return json.dumps(value, separators=(",", ":"), default=str)


class Store:
    """One open exsync database.

    `readonly`: for `status`, `history`, `check` and `breaker show`; nothing is written,
    not even by SQLite, so a user who may only read the file can run them.
    `check`: run `PRAGMA quick_check` before anything is written and refuse a corrupt file.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        readonly: bool = False,
        check: bool = False,
        busy_timeout: float = BUSY_TIMEOUT,
    ) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.readonly = readonly
        self._worker: ThreadPoolExecutor | None = None
        self._worker_thread: int | None = None
        #: the error that broke the store during a pass; every later call fails with it at once
        self.broken: DatabaseError | None = None
        self._reader: sqlite3.Connection | None = None
        if (readonly or not create) and not self.path.exists():
            raise DatabaseError(f"{self.path}: no database yet (run `exsync sync` first)")
        if readonly:
            self.conn = self._open_readonly()
        else:
            self.conn = self._open_for_writing(create, check)
        self.db = sqlite_utils.Database(self.conn)

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
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise DatabaseError(f"{self.path}: cannot open database: {exc}") from None
        self.conn = conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            if check:
                self._quick_check()  # before anything could write to a corrupt file
            # Someone else's database, or a newer exsync's, is refused before the first write.
            if migrations.read_version(conn) > migrations.LATEST:
                migrations.upgrade(conn)  # raises, saying which versions
            self._use_wal()
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

    def _use_wal(self) -> None:
        # WAL lets readers (status, the portfolio API) read while a pass writes. Switching a
        # fresh file to it needs a lock that SQLite does not wait for through its busy
        # handler: the switch is retried here, within the same busy timeout.
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                mode = self.conn.execute("PRAGMA journal_mode").fetchone()[0]
                if mode != "wal":
                    self.conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                    raise
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)

    def _open_readonly(self) -> sqlite3.Connection:
        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=self.busy_timeout, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
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
                conn = sqlite3.connect(uri + "&immutable=1", uri=True, isolation_level=None)
            except sqlite3.Error as again:
                raise self.error(again) from None
        except sqlite3.Error as exc:
            raise self.error(exc) from None
        try:
            version = migrations.read_version(conn)
        except migrations.SchemaError as exc:
            conn.close()
            raise DatabaseError(f"{self.path}: {exc}") from None
        except sqlite3.Error as exc:
            conn.close()
            raise self.error(exc) from None
        if version != migrations.LATEST:
            conn.close()
            newer = version > migrations.LATEST
            raise DatabaseError(
                f"{self.path}: schema version {version} was written by "
                + (
                    "a newer exsync: upgrade exsync to read it"
                    if newer
                    else "an older exsync: the next `exsync sync` upgrades it; read it after"
                )
            )
        return conn

    def _quick_check(self) -> None:
        try:
            problems = [r[0] for r in self.conn.execute("PRAGMA quick_check(3)")]
        except sqlite3.Error as exc:
            raise self.error(exc) from None
        if problems != ["ok"]:
            raise DatabaseError(f"{self.path}: {corrupt(problems[0])}")

    def quick_check(self) -> None:
        """Raise DatabaseError when SQLite finds the file damaged (PRAGMA quick_check)."""
        self._quick_check()

    def close(self) -> None:
        """Stop the database thread and close the connection."""
        if self._worker is not None:
            self._worker.shutdown(wait=True)
            self._worker = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the database thread ----------------------------------------------------------------

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the store's thread; every database call of a pass goes here.

        Calls run one at a time in the order they were made. A caller cancelled while its
        call runs does not stop it: a commit under way completes or rolls back whole. After a
        DatabaseError every call raises that error at once.
        """
        if self.broken is not None:
            raise self.broken
        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="exsync-db")
            self._worker_thread = self._worker.submit(threading.get_ident).result()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)
        except DatabaseError as exc:
            # A pass ends on the first database error: the calls queued behind it must not
            # each wait out the busy timeout again.
            self.broken = exc
            raise

    def submit(self, fn: Callable[..., Any], *args: Any, failed: str) -> None:
        """Run `fn(*args)` on the store's thread without waiting for it (from code that
        cannot await); a failure is logged with `failed` in front. Outside a pass it runs at
        once."""
        if self._worker is None:
            try:
                fn(*args)
            except Exception as exc:
                log.error("%s: %s", failed, exc)
            return

        def done(future: Future[Any]) -> None:
            if future.exception() is not None:
                log.error("%s: %s", failed, future.exception())

        self._worker.submit(fn, *args).add_done_callback(done)

    def _on_thread(self) -> None:
        if self._worker is not None and threading.get_ident() != self._worker_thread:
            # Two threads on one connection would interleave their transactions.
            raise RuntimeError("the store is in use by its thread: call it through run()")

    # -- transactions -----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """A write transaction: everything inside commits together or not at all.

        SQLite's errors inside it roll it back and leave as DatabaseError.
        """
        self._on_thread()
        started = time.monotonic()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self.error(exc, started) from None
        try:
            yield self
        except sqlite3.Error as exc:
            self._rollback()
            raise self.error(exc, started) from None
        except BaseException:
            self._rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise self.error(exc, started) from None

    def _rollback(self) -> None:
        # SQLite may already have rolled back (disk full, I/O error): a second ROLLBACK
        # would raise and hide the error that matters.
        if self.conn.in_transaction:
            with suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    def error(self, exc: sqlite3.Error, started: float | None = None) -> DatabaseError:
        """A one-line DatabaseError for an SQLite error, naming the file."""
        waited = time.monotonic() - started if started is not None else None
        return DatabaseError(f"{self.path}: {describe(exc, waited)}")

    # -- generic reads and writes ---------------------------------------------------------

    def upsert(self, table: str, rows: Sequence[dict[str, Any]]) -> int:
        """Insert or update rows by the table's primary key; return how many were written."""
        if not rows:
            return 0
        spec = TABLES_BY_NAME[table]
        self.db.table(table).upsert_all(rows, pk=list(spec.pk), batch_size=500)
        return len(rows)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run one SQL statement.

        During a pass, writes run on the store's thread (`run`); a read made from the event
        loop goes to a second, read-only connection: in WAL it never waits for a writer,
        and it sees only what was committed.
        """
        conn = self._connection_for(sql)
        try:
            return conn.execute(sql, params)
        except sqlite3.Error as exc:
            if conn.in_transaction:
                raise  # the transaction rolls back and describes it
            raise self.error(exc) from None

    def _connection_for(self, sql: str) -> sqlite3.Connection:
        if self._worker is None or threading.get_ident() == self._worker_thread:
            return self.conn
        if sql.lstrip().split(None, 1)[0].upper() not in ("SELECT", "WITH", "PRAGMA"):
            raise RuntimeError("during a pass, writes go through the store's thread: run()")
        if self._reader is None:
            try:
                self._reader = sqlite3.connect(
                    f"file:{quote(str(self.path.resolve()))}?mode=ro",
                    uri=True,
                    timeout=self.busy_timeout,
                    isolation_level=None,
                    check_same_thread=False,
                )
            except sqlite3.Error as exc:
                raise self.error(exc) from None
        return self._reader

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query, as tuples."""
        try:
            return self.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self.error(exc) from None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Every row of a query, as dicts keyed by column name."""
        try:
            cursor = self.execute(sql, params)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except sqlite3.Error as exc:
            raise self.error(exc) from None

    def get_meta(self, key: str) -> str | None:
        """A value exsync keeps about the database itself (e.g. who it belongs to)."""
        return migrations.get_meta(self.conn, key)

    def set_meta(self, key: str, value: str) -> None:
        """Keep a value about the database (inside a transaction)."""
        migrations.set_meta(self.conn, key, value)

    # -- cursors --------------------------------------------------------------------------

    def get_cursor(self, exchange: str, stream: str) -> int | None:
        """Where an incremental stream resumes, in ms, or None before its first pass."""
        rows = self.fetchall(
            "SELECT position FROM cursors WHERE exchange = ? AND stream = ?", (exchange, stream)
        )
        return None if not rows else int(rows[0][0])

    def get_cursor_unit(self, exchange: str, stream: str) -> tuple[int, str] | None:
        """A stream's cursor and its unit ('ms', or 'id' for a stream paged by ids)."""
        rows = self.fetchall(
            "SELECT position, unit FROM cursors WHERE exchange = ? AND stream = ?",
            (exchange, stream),
        )
        return None if not rows else (int(rows[0][0]), rows[0][1] or "ms")

    def set_cursor(self, exchange: str, stream: str, position: int, unit: str = "ms") -> None:
        """Move a stream's cursor (inside the transaction that wrote the rows it covers)."""
        self.execute(
            "INSERT INTO cursors (exchange, stream, position, updated_at, unit) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (exchange, stream) DO UPDATE SET "
            "position = excluded.position, updated_at = excluded.updated_at, unit = excluded.unit "
            "WHERE cursors.position IS NOT excluded.position OR cursors.unit IS NOT excluded.unit",
            (exchange, stream, position, utc_now(), unit),
        )

    def get_reread(self, exchange: str, stream: str) -> int | None:
        """When a stream's recent past was last read again in depth (ms), or None."""
        rows = self.fetchall(
            "SELECT reread_at FROM cursors WHERE exchange = ? AND stream = ?", (exchange, stream)
        )
        return None if not rows or rows[0][0] is None else int(rows[0][0])

    def set_reread(self, exchange: str, stream: str, at: int) -> None:
        """Record a deep re-read of a stream (inside the transaction that moves its cursor)."""
        self.execute(
            "UPDATE cursors SET reread_at = ? WHERE exchange = ? AND stream = ?",
            (at, exchange, stream),
        )

    # -- sync history ---------------------------------------------------------------------

    def record_run(
        self,
        *,
        run_id: str,
        exchange: str,
        data_type: str,
        started_at: str,
        finished_at: str,
        status: str,
        records: int,
        attempts: int,
        error: str | None,
        warnings: str | None = None,
    ) -> None:
        """Append one unit's outcome to `sync_runs` and update its `sync_state` row.

        Call inside `transaction()`, together with the unit's breaker update.
        """
        ok = status == "ok"
        self.execute(
            "INSERT INTO sync_runs (run_id, exchange, data_type, started_at, finished_at, "
            "status, records, attempts, error, warnings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                exchange,
                data_type,
                started_at,
                finished_at,
                status,
                records,
                attempts,
                error,
                warnings,
            ),
        )
        self.execute(
            "INSERT INTO sync_state (exchange, data_type, last_run_id, last_status, "
            "last_finished_at, last_records, last_attempts, last_error, last_success_at, "
            "last_success_records, last_warnings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (exchange, data_type) DO UPDATE SET "
            "last_run_id = excluded.last_run_id, last_status = excluded.last_status, "
            "last_finished_at = excluded.last_finished_at, "
            "last_records = excluded.last_records, last_attempts = excluded.last_attempts, "
            "last_error = excluded.last_error, "
            "last_success_at = coalesce(excluded.last_success_at, sync_state.last_success_at), "
            "last_success_records = coalesce(excluded.last_success_records, "
            "sync_state.last_success_records), last_warnings = excluded.last_warnings",
            (
                exchange,
                data_type,
                run_id,
                status,
                finished_at,
                records,
                attempts,
                error,
                finished_at if ok else None,
                records if ok else None,
                warnings,
            ),
        )

    # -- markets cache --------------------------------------------------------------------

    def load_markets(
        self, exchange: str, fingerprint: str, max_age_s: float
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None] | None:
        """Cached markets and currencies if fresh and fetched with the same settings."""
        rows = self.fetchall(
            "SELECT fingerprint, fetched_at, markets, currencies FROM markets WHERE exchange = ?",
            (exchange,),
        )
        if not rows or rows[0][0] != fingerprint:
            return None
        row = rows[0]
        age = (datetime.now(UTC) - datetime.fromisoformat(row[1])).total_seconds()
        if age > max_age_s or age < 0:
            return None
        try:
            return json.loads(row[2]), (json.loads(row[3]) if row[3] else None)
        except ValueError:
            return None

    def save_markets(
        self,
        exchange: str,
        ccxt_id: str,
        fingerprint: str,
        markets: Iterable[dict[str, Any]],
        currencies: dict[str, Any] | None,
    ) -> None:
        """Replace the cached markets of an exchange."""
        with self.transaction():
            self.upsert(
                "markets",
                [
                    {
                        "exchange": exchange,
                        "ccxt_id": ccxt_id,
                        "fingerprint": fingerprint,
                        "fetched_at": utc_now(),
                        "markets": to_json(list(markets)),
                        "currencies": to_json(currencies) if currencies else None,
                    }
                ],
            )


def where(conditions: Sequence[str] = (), **equal: Any) -> tuple[str, list[Any]]:
    """A WHERE clause of `conditions` and `column = ?` for each non-empty keyword."""
    parts = [f"({c})" for c in conditions]
    params = []
    for column, value in equal.items():
        if value:
            parts.append(f"{column} = ?")
            params.append(value)
    return (f"WHERE {' AND '.join(parts)}" if parts else ""), params


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


def describe(exc: sqlite3.Error, waited: float | None = None) -> str:
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
