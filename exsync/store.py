"""The SQLite store: opening the database safely, transactions, and the repositories.

A `Store` holds one connection. Writes happen in short synchronous transactions taken with
`BEGIN IMMEDIATE`, never across an `await`, so concurrent units in one process interleave
safely on a single connection and concurrent processes wait on SQLite's busy timeout
instead of failing with "database is locked".
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from exsync.errors import DatabaseError
from exsync.schema import TABLES_BY_NAME, ensure_schema, schema_is_current

BUSY_TIMEOUT_MS = 30_000


def utc_now() -> str:
    """The current time as exsync stores its own timestamps (ISO-8601, UTC, milliseconds)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def utc_now_minus(seconds: float) -> str:
    """`utc_now()` of `seconds` ago, for comparisons with stored bookkeeping times."""
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def to_json(value: Any) -> str:
    """Compact JSON for raw payload columns."""
    return json.dumps(value, separators=(",", ":"), default=str)


class Store:
    """One open exsync database."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise DatabaseError(f"{self.path}: no database yet (run `exsync sync` first)")
        if create:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(
                    f"{self.path}: cannot create directory: {exc.strerror}"
                ) from None
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as exc:
            raise DatabaseError(f"{self.path}: cannot open database: {exc}") from None
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # WAL lets `exsync status` read while a pass writes; NORMAL is durable in WAL
            # except for the last transactions on power loss, which the next pass re-fetches.
            _use_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            if not schema_is_current(self.db):
                # The write lock is taken first, so a concurrent creator waits on the busy
                # timeout instead of failing when its read would have to become a write.
                conn.execute("BEGIN IMMEDIATE")
                try:
                    ensure_schema(self.db)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.close()
            raise DatabaseError(f"{self.path}: {_describe(exc)}") from None

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """A write transaction: everything inside commits together or not at all."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise DatabaseError(f"{self.path}: {_describe(exc)}") from None
        try:
            yield self
        except BaseException:
            self._rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise DatabaseError(f"{self.path}: {_describe(exc)}") from None

    def _rollback(self) -> None:
        # SQLite may already have rolled back (disk full, I/O error): a second ROLLBACK
        # would raise and hide the error that matters.
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    # -- generic writes (call inside `transaction()`) ------------------------------------

    def upsert(self, table: str, rows: Sequence[dict[str, Any]]) -> int:
        """Insert or update rows by the table's primary key; return how many were written."""
        if not rows:
            return 0
        spec = TABLES_BY_NAME[table]
        self.db.table(table).upsert_all(rows, pk=list(spec.pk), batch_size=500)
        return len(rows)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run one SQL statement."""
        return self.conn.execute(sql, params)

    # -- cursors --------------------------------------------------------------------------

    def get_cursor(self, exchange: str, stream: str) -> int | None:
        """Where an incremental stream resumes, in ms, or None before its first pass."""
        row = self.conn.execute(
            "SELECT position FROM cursors WHERE exchange = ? AND stream = ?", (exchange, stream)
        ).fetchone()
        return None if row is None else int(row[0])

    def get_cursor_unit(self, exchange: str, stream: str) -> tuple[int, str] | None:
        """A stream's cursor and its unit ('ms', or 'id' for a stream paged by ids)."""
        row = self.conn.execute(
            "SELECT position, unit FROM cursors WHERE exchange = ? AND stream = ?",
            (exchange, stream),
        ).fetchone()
        return None if row is None else (int(row[0]), row[1] or "ms")

    def set_cursor(self, exchange: str, stream: str, position: int, unit: str = "ms") -> None:
        """Move a stream's cursor (inside the transaction that wrote the rows it covers)."""
        self.conn.execute(
            "INSERT INTO cursors (exchange, stream, position, updated_at, unit) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (exchange, stream) DO UPDATE SET "
            "position = excluded.position, updated_at = excluded.updated_at, unit = excluded.unit "
            "WHERE position IS NOT excluded.position OR unit IS NOT excluded.unit",
            (exchange, stream, position, utc_now(), unit),
        )

    def get_reread(self, exchange: str, stream: str) -> int | None:
        """When a stream's recent past was last read again in depth (ms), or None."""
        row = self.conn.execute(
            "SELECT reread_at FROM cursors WHERE exchange = ? AND stream = ?", (exchange, stream)
        ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def set_reread(self, exchange: str, stream: str, at: int) -> None:
        """Record a deep re-read of a stream (inside the transaction that moves its cursor)."""
        self.conn.execute(
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
        self.conn.execute(
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
        self.conn.execute(
            "INSERT INTO sync_state (exchange, data_type, last_run_id, last_status, "
            "last_finished_at, last_records, last_attempts, last_error, last_success_at, "
            "last_success_records, last_warnings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (exchange, data_type) DO UPDATE SET "
            "last_run_id = excluded.last_run_id, last_status = excluded.last_status, "
            "last_finished_at = excluded.last_finished_at, "
            "last_records = excluded.last_records, last_attempts = excluded.last_attempts, "
            "last_error = excluded.last_error, "
            "last_success_at = coalesce(excluded.last_success_at, last_success_at), "
            "last_success_records = coalesce(excluded.last_success_records, "
            "last_success_records), last_warnings = excluded.last_warnings",
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
        row = self.conn.execute(
            "SELECT fingerprint, fetched_at, markets, currencies FROM markets WHERE exchange = ?",
            (exchange,),
        ).fetchone()
        if row is None or row[0] != fingerprint:
            return None
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


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch a database to WAL. SQLite answers "locked" at once, without waiting on the busy
    timeout, while another connection makes the same switch; so wait here, as long."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def where(conditions: Sequence[str] = (), **equal: Any) -> tuple[str, list[Any]]:
    """A WHERE clause of `conditions` and `column = ?` for each non-empty keyword."""
    parts = [f"({c})" for c in conditions]
    params = []
    for column, value in equal.items():
        if value:
            parts.append(f"{column} = ?")
            params.append(value)
    return (f"WHERE {' AND '.join(parts)}" if parts else ""), params


def _describe(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "file is not a database" in text or "malformed" in text:
        return f"not a valid exsync database ({text})"
    if "readonly" in text or "unable to open" in text:
        return f"database is not writable ({text})"
    if "locked" in text or "busy" in text:
        return f"database stayed locked by another process for {BUSY_TIMEOUT_MS // 1000}s"
    return text
