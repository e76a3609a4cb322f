"""The PostgreSQL engine: one database that several hosts share.

psycopg 3 (imported only when a database is a postgresql:// URL) speaks to the server;
exsync's SQL reaches it with `?` placeholders turned into the driver's `%s`. Connections run
in autocommit mode and the store opens its own transactions, as it does on SQLite. Waiting
for another host's row or advisory lock is bounded by `lock_timeout` (the config's
`busy_timeout`). Leases and cool-downs are measured by the server's clock, which every host
shares, never by a host's own.
"""

from __future__ import annotations

import time
from datetime import UTC
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from exsync import clock
from exsync.errors import DatabaseError
from exsync.store import migrations
from exsync.store.dialect import POSTGRES, format_params
from exsync.store.target import Target

#: how long a connection attempt may take unless the URL says (libpq waits forever)
CONNECT_TIMEOUT = 10


class Connection:
    """A psycopg connection that takes exsync's SQL (`?` placeholders) like sqlite3's."""

    dialect = POSTGRES

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Any = ()) -> psycopg.Cursor[Any]:
        """Run one statement; the cursor holds its rows."""
        if params:
            return self.raw.execute(format_params(sql), params)
        return self.raw.execute(sql)

    def executemany(self, sql: str, params: Any) -> psycopg.Cursor[Any]:
        """Run one statement for every row of parameters, pipelined."""
        cursor = self.raw.cursor()
        cursor.executemany(format_params(sql), params)
        return cursor

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open (also one that failed and awaits its rollback)."""
        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self.raw.close()


class PostgresEngine:
    """How exsync opens and reads a PostgreSQL database."""

    dialect = POSTGRES
    errors: tuple[type[BaseException], ...] = (psycopg.Error,)

    def __init__(self, target: Target, busy_timeout: float) -> None:
        assert target.url is not None
        self.target = target
        self.name = target.url
        self.path = None
        self.busy_timeout = busy_timeout
        self._clock: str | None = None

    def open(self, *, create: bool, readonly: bool, check: bool) -> Connection:
        """A connection ready for exsync: upgraded and verified for writing, or read-only."""
        started = time.monotonic()
        conn = self._connect(readonly)
        if readonly:
            return conn
        try:
            migrations.upgrade(conn)
            migrations.verify(conn)
        except migrations.SchemaError as exc:
            conn.close()
            raise DatabaseError(f"{self.name}: {exc}") from None
        except psycopg.Error as exc:
            conn.close()
            raise self.error(exc, started) from None
        return conn

    def _connect(self, readonly: bool) -> Connection:
        options: dict[str, Any] = {"autocommit": True, "application_name": "exsync"}
        if "connect_timeout" not in self.name:
            options["connect_timeout"] = CONNECT_TIMEOUT
        if self.target.password is not None:
            options["password"] = self.target.password
        try:
            raw = psycopg.connect(self.name, **options)
        except psycopg.Error as exc:
            raise self.error(exc, connecting=True) from None
        conn = Connection(raw)
        try:
            conn.execute(f"SET lock_timeout = {int(self.busy_timeout * 1000)}")
            if readonly:
                conn.execute("SET default_transaction_read_only = on")
        except psycopg.Error as exc:
            conn.close()
            raise self.error(exc) from None
        return conn

    def reader(self) -> Connection:
        """A second, read-only connection for reads made from the event loop during a pass."""
        return self._connect(readonly=True)

    def quick_check(self, conn: Connection) -> None:
        """Nothing to do: the server checks its own pages (data checksums, if enabled)."""

    def now(self, conn: Connection) -> clock.Instant:
        """The moment leases and cool-downs are measured by: the server's clock, which every
        host shares (their own clocks differ)."""
        if self._clock is None:
            row = conn.execute("SELECT system_identifier FROM pg_control_system()").fetchone()
            self._clock = f"postgresql:{row[0]}"
        moment = conn.execute("SELECT clock_timestamp()").fetchone()[0].astimezone(UTC)
        return clock.Instant(moment, self._clock, moment.timestamp())

    def sizes(self, conn: Connection) -> dict[str, int]:
        """The database's size on the server, in bytes (no file of its own here)."""
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        return {"file_bytes": int(size), "wal_bytes": 0, "free_bytes": 0}

    def error(
        self, exc: BaseException, started: float | None = None, *, connecting: bool = False
    ) -> DatabaseError:
        """A one-line DatabaseError for a PostgreSQL error, naming the database (never its
        password); `connecting`: raised while the connection was being made."""
        waited = time.monotonic() - started if started is not None else None
        text = f"{self.name}: {describe(exc, waited, connecting)}"
        if self.target.password:
            text = text.replace(self.target.password, "***")
        return DatabaseError(text)


def describe(exc: BaseException, waited: float | None = None, connecting: bool = False) -> str:
    """What a PostgreSQL error means for the operator, in one line."""
    state = getattr(exc, "sqlstate", None) or ""
    diag = getattr(exc, "diag", None)
    text = " ".join(((diag.message_primary if diag else None) or str(exc)).split())
    if not state and not connecting and isinstance(exc, psycopg.OperationalError):
        # The driver's own words for a connection that went away under a statement ("the
        # connection is closed", "server closed the connection unexpectedly").
        text = text.rsplit(" failed: ", 1)[-1].split(" This probably means", 1)[0].strip()
        return f"lost the connection to the database server ({text})"
    if not state:
        # libpq's connection failures: "connection failed: connection to server at ...
        # failed: FATAL: <why>"; the why is what matters.
        text = text.rsplit(" failed: ", 1)[-1].removeprefix("FATAL: ").strip()
        if "does not exist" in text and "database" in text:
            return f"cannot connect: {text} (create it first: createdb)"
        if "password" in text or "authentication" in text:
            return f"cannot connect: {text} (database_password_env, _file or _credential)"
        return f"cannot connect to the database server: {text}"
    if state in ("55P03", "40P01") or "lock timeout" in text:
        after = f" after waiting {waited:.1f}s" if waited is not None else ""
        return f"the database is locked by another connection; gave up{after} ({text})"
    if state == "53100":
        return f"the disk is full ({text}): the transaction was rolled back, nothing half-written"
    if state == "25006":
        return f"the database is not writable ({text})"
    if state == "42501":
        return f"not allowed ({text})"
    if state.startswith("08") or state.startswith("57P"):
        return f"lost the connection to the database server ({text})"
    if state.startswith("XX"):
        return f"the database server reports damage ({text}); nothing was written"
    return text
