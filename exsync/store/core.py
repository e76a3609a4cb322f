"""The store: one database of either engine, its transactions, and its own thread.

A `Store` holds one connection to an SQLite file or a PostgreSQL database (see target.py);
what differs between the two lives in sqlite.py, postgres.py and dialect.py, and the SQL
everything else writes is the same text on both. Writes happen in short transactions, so
concurrent processes (and hosts) wait for each other instead of failing. During a pass
every database call runs on the store's own thread (`await store.run(...)`): a write
waiting for another process's lock, or a large commit, never stalls the event loop and so
never makes another exchange's requests time out.

Every database failure leaves here as a `DatabaseError` naming the database and what went
wrong (corrupt, disk full, locked for so long, not writable, unreachable), never as a
unit's failure.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar

from exsync import clock
from exsync.errors import DatabaseError
from exsync.store import migrations
from exsync.store.bookkeeping import Bookkeeping
from exsync.store.dialect import upsert_sql
from exsync.store.schema import TABLES_BY_NAME
from exsync.store.target import Target, TargetError, parse_target

T = TypeVar("T")
BUSY_TIMEOUT = 30.0
log = logging.getLogger(__name__)


class Store(Bookkeeping):
    """One open exsync database.

    `target`: an SQLite file path, a `postgresql://` URL (its password in `password`), or
    a Target.
    `readonly`: for `status`, `history`, `check` and `breaker show`; nothing is written
    (SQLite: not even by SQLite itself), so a user who may only read can run them.
    `check`: check an SQLite file for damage (`PRAGMA quick_check`) before anything is
    written, and refuse a corrupt one.
    """

    def __init__(
        self,
        target: str | Path | Target,
        *,
        create: bool = True,
        readonly: bool = False,
        check: bool = False,
        busy_timeout: float = BUSY_TIMEOUT,
        password: str | None = None,
    ) -> None:
        try:
            self.target = parse_target(target, password)
        except TargetError as exc:
            raise DatabaseError(f"{target}: {exc}") from None
        self.engine = engine_for(self.target, busy_timeout)
        #: the SQLite file; None for a PostgreSQL database
        self.path = self.target.path
        self.name = str(self.target)
        self.dialect = self.engine.dialect
        #: the driver's error classes (sqlite3.Error, psycopg.Error)
        self.errors = self.engine.errors
        self._worker: ThreadPoolExecutor | None = None
        self._worker_thread: int | None = None
        #: the error that broke the store during a pass; every later call fails with it at once
        self.broken: DatabaseError | None = None
        self._reader: Any = None
        self.conn: Any = self.engine.open(create=create, readonly=readonly, check=check)
        if readonly:
            self._check_version()

    def _check_version(self) -> None:
        try:
            version = migrations.read_version(self.conn)
            empty = version == 0 and not migrations.tables(self.conn)
        except migrations.SchemaError as exc:
            self.conn.close()
            raise DatabaseError(f"{self.name}: {exc}") from None
        except self.errors as exc:
            self.conn.close()
            raise self.error(exc) from None
        if version == migrations.LATEST:
            return
        self.conn.close()
        if empty:
            raise DatabaseError(f"{self.name}: no database yet (run `exsync sync` first)")
        newer = version > migrations.LATEST
        raise DatabaseError(
            f"{self.name}: schema version {version} was written by "
            + (
                "a newer exsync: upgrade exsync to read it"
                if newer
                else "an older exsync: the next `exsync sync` upgrades it; read it after"
            )
        )

    def quick_check(self) -> None:
        """Raise DatabaseError when the database is damaged (SQLite's PRAGMA quick_check)."""
        self.engine.quick_check(self.conn)

    def now(self) -> clock.Instant:
        """The moment a lease or a cool-down is measured from: the host's boot clock for an
        SQLite file, the server's clock for PostgreSQL (shared by every host)."""
        try:
            return self.engine.now(self.conn)
        except self.errors as exc:
            raise self.error(exc) from None

    def sizes(self) -> dict[str, int]:
        """Bytes on disk: `file_bytes`, `wal_bytes`, `free_bytes` (see housekeeping)."""
        try:
            return self.engine.sizes(self.conn)
        except self.errors as exc:
            raise self.error(exc) from None

    def close(self) -> None:
        """Stop the database thread and close the connections."""
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
            import asyncio  # here: status, check and history never load the event loop

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

        The driver's errors inside it roll it back and leave as DatabaseError.
        """
        self._on_thread()
        started = time.monotonic()
        try:
            self.conn.execute(self.dialect.begin)
        except self.errors as exc:
            raise self.error(exc, started) from None
        try:
            yield self
        except self.errors as exc:
            self._rollback()
            raise self.error(exc, started) from None
        except BaseException:
            self._rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except self.errors as exc:
            self._rollback()
            raise self.error(exc, started) from None

    @contextmanager
    def snapshot(self) -> Iterator[Store]:
        """A read-only transaction: every read inside sees one state of the database, however
        much other processes write meanwhile."""
        self._on_thread()
        try:
            self.conn.execute(self.dialect.begin_snapshot)
        except self.errors as exc:
            raise self.error(exc) from None
        try:
            yield self
        finally:
            self._rollback()

    def _rollback(self) -> None:
        # SQLite may already have rolled back (disk full, I/O error): a second ROLLBACK
        # would raise and hide the error that matters.
        if self.conn.in_transaction:
            with suppress(*self.errors):
                self.conn.execute("ROLLBACK")

    def error(self, exc: BaseException, started: float | None = None) -> DatabaseError:
        """A one-line DatabaseError for a driver's error, naming the database."""
        return self.engine.error(exc, started)

    # -- generic reads and writes ---------------------------------------------------------

    def upsert(self, table: str, rows: Sequence[dict[str, Any]]) -> int:
        """Insert or update rows by the table's primary key; return how many were written.

        One prepared `INSERT ... ON CONFLICT (key) DO UPDATE` run over every row by the
        driver (pipelined on PostgreSQL): rows repeated in `rows` are written in order, so
        the last one wins.
        """
        if not rows:
            return 0
        columns = tuple(rows[0])
        try:
            if any(len(row) != len(columns) for row in rows):
                raise KeyError(columns)
            values: list[Any] = list(map(itemgetter(*columns), rows))
            if len(columns) == 1:
                values = [(v,) for v in values]
        except KeyError:  # rows of different shapes: every column any of them has
            columns = tuple(dict.fromkeys(c for row in rows for c in row))
            values = [tuple(row.get(c) for c in columns) for row in rows]
        self.conn.executemany(_upsert(table, columns), values)
        return len(rows)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one SQL statement (`?` placeholders); return the driver's cursor.

        During a pass, writes run on the store's thread (`run`); a read made from the event
        loop goes to a second, read-only connection: it never waits for a writer, and it
        sees only what was committed.
        """
        conn = self._connection_for(sql)
        try:
            return conn.execute(sql, params)
        except self.errors as exc:
            if conn.in_transaction:
                raise  # the transaction rolls back and describes it
            raise self.error(exc) from None

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement (`?` placeholders) for every row of parameters, on the store's
        own connection (inside a transaction: call it from the store's thread)."""
        self._on_thread()
        try:
            self.conn.executemany(sql, rows)
        except self.errors as exc:
            if self.conn.in_transaction:
                raise
            raise self.error(exc) from None

    def _connection_for(self, sql: str) -> Any:
        if self._worker is None or threading.get_ident() == self._worker_thread:
            return self.conn
        if sql.lstrip().split(None, 1)[0].upper() not in ("SELECT", "WITH", "PRAGMA"):
            raise RuntimeError("during a pass, writes go through the store's thread: run()")
        if self._reader is None:
            self._reader = self.engine.reader()
        return self._reader

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query, as tuples."""
        try:
            return self.execute(sql, params).fetchall()
        except self.errors as exc:
            raise self.error(exc) from None

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Every row of a query, as dicts keyed by column name."""
        try:
            cursor = self.execute(sql, params)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except self.errors as exc:
            raise self.error(exc) from None

    def get_meta(self, key: str) -> str | None:
        """A value exsync keeps about the database itself (e.g. who it belongs to)."""
        return migrations.get_meta(self.conn, key)

    def set_meta(self, key: str, value: str) -> None:
        """Keep a value about the database (inside a transaction)."""
        migrations.set_meta(self.conn, key, value)


@lru_cache(maxsize=256)
def _upsert(table: str, columns: tuple[str, ...]) -> str:
    return upsert_sql(table, columns, TABLES_BY_NAME[table].pk)


def engine_for(target: Target, busy_timeout: float) -> Any:
    """The engine of a target; psycopg is imported only for a PostgreSQL database."""
    if not target.postgres:
        from exsync.store.sqlite import SqliteEngine

        return SqliteEngine(target, busy_timeout)
    try:
        from exsync.store.postgres import PostgresEngine
    except ImportError as exc:
        raise DatabaseError(
            f"{target}: PostgreSQL needs psycopg ({exc}): pip install 'exsync[postgresql]'"
        ) from None
    return PostgresEngine(target, busy_timeout)
