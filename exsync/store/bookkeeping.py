"""The bookkeeping every pass keeps beside the data: cursors, the sync history, the markets
cache. Mixed into `Store`; every statement here is the same text on both engines."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from exsync.store.values import to_json, utc_now


class Bookkeeping:
    """Cursors, sync history and the markets cache, over the store's generic calls."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        raise NotImplementedError

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def upsert(self, table: str, rows: Sequence[dict[str, Any]]) -> int:
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    # -- cursors --------------------------------------------------------------------------

    def get_cursor(self, exchange: str, stream: str) -> int | None:
        """Where an incremental stream resumes, in ms, or None before its first pass."""
        rows = self.fetchall(
            "SELECT position FROM cursors WHERE exchange = ? AND stream = ?", (exchange, stream)
        )
        return None if not rows else int(rows[0][0])

    def get_stream(self, exchange: str, stream: str) -> tuple[int, str, int | None] | None:
        """A stream's cursor, its unit ('ms', or 'id' for a stream paged by ids) and when its
        recent past was last read again in depth (ms, or None), in one read."""
        rows = self.fetchall(
            "SELECT position, unit, reread_at FROM cursors WHERE exchange = ? AND stream = ?",
            (exchange, stream),
        )
        if not rows:
            return None
        position, unit, reread_at = rows[0]
        return int(position), unit or "ms", None if reread_at is None else int(reread_at)

    def set_cursor(self, exchange: str, stream: str, position: int, unit: str = "ms") -> None:
        """Move a stream's cursor (inside the transaction that wrote the rows it covers)."""
        self.execute(
            "INSERT INTO cursors (exchange, stream, position, updated_at, unit) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (exchange, stream) DO UPDATE SET "
            "position = excluded.position, updated_at = excluded.updated_at, unit = excluded.unit "
            "WHERE cursors.position <> excluded.position "
            "OR coalesce(cursors.unit, '') <> coalesce(excluded.unit, '')",
            (exchange, stream, position, utc_now(), unit),
        )

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
