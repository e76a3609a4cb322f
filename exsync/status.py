"""Read-only views of the sync state for `status` and `history`.

Runs on every operator's shell, so it imports neither ccxt nor asyncio machinery.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from exsync.config import Config, Settings
from exsync.datatypes import DataType
from exsync.store import EXACT, Store, where
from exsync.store.breaker import IP_BAN
from exsync.store.breaker import breakers as breaker_rows


@dataclass
class UnitStatus:
    """Where one exchange x data type unit stands."""

    exchange: str
    data_type: str
    last_status: str | None
    last_finished_at: str | None
    last_success_at: str | None
    records: int | None
    attempts: int | None
    error: str | None
    age_seconds: float | None
    stale_after_seconds: float
    stale: bool
    breaker: str = "closed"
    failures: int = 0
    next_probe_at: str | None = None
    #: the last run's warnings, one per line
    warnings: str | None = None
    #: a per-symbol history (trades, orders on Binance): the symbols it covers (walked at
    #: least once), and how many of them had history; None where history is account-wide
    symbols: int | None = None
    symbols_active: int | None = None
    #: why the breaker opened (the error that opened it, an IP ban, a hand trip)
    breaker_reason: str | None = None

    @property
    def ip_ban(self) -> bool:
        """The breaker is open because the exchange banned this host's IP."""
        return self.breaker == "open" and (self.breaker_reason or "").startswith(IP_BAN)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def unit_statuses(
    store: Store, config: Config | None = None, now: datetime | None = None
) -> list[UnitStatus]:
    """Every unit that has run or is configured, with its age and staleness."""
    now = now or datetime.now(UTC)
    rows = {
        (r["exchange"], r["data_type"]): r
        for r in store.query("SELECT * FROM sync_state ORDER BY exchange, data_type")
    }
    coverage = symbol_coverage(store)
    breakers = {(r["exchange"], r["data_type"]): r for r in breaker_rows(store)}
    keys = list(rows)
    if config is not None:
        for exchange in config.exchanges.values():
            for data_type in exchange.types:
                if (exchange.name, str(data_type)) not in rows:
                    keys.append((exchange.name, str(data_type)))
    order = {str(t): i for i, t in enumerate(DataType)}
    keys.sort(key=lambda k: (k[0], order.get(k[1], 99)))
    result = []
    for exchange_name, data_type in keys:
        row = rows.get((exchange_name, data_type), {})
        settings = _settings(config, exchange_name)
        success = row.get("last_success_at")
        age = (now - datetime.fromisoformat(success)).total_seconds() if success else None
        breaker = breakers.get((exchange_name, data_type), {})
        symbols, active = coverage.get((exchange_name, data_type), (None, None))
        if symbols is None and row.get("last_status") == "empty":
            symbols, active = 0, 0
        result.append(
            UnitStatus(
                exchange=exchange_name,
                data_type=data_type,
                last_status=row.get("last_status"),
                last_finished_at=row.get("last_finished_at"),
                last_success_at=success,
                records=row.get("last_success_records"),
                attempts=row.get("last_attempts"),
                error=row.get("last_error"),
                age_seconds=age,
                stale_after_seconds=settings.stale_after,
                # An exchange that cannot provide a type is not late with it. An empty
                # history unit is: it has not covered anything yet.
                stale=row.get("last_status") != "unsupported"
                and (age is None or age > settings.stale_after),
                breaker=breaker.get("state") or "closed",
                failures=breaker.get("failures") or 0,
                next_probe_at=breaker.get("next_probe_at"),
                warnings=row.get("last_warnings"),
                breaker_reason=breaker.get("last_error"),
                symbols=symbols,
                symbols_active=active,
            )
        )
    return result


def symbol_coverage(store: Store) -> dict[tuple[str, str], tuple[int, int]]:
    """(exchange, kind) -> (symbols walked at least once, symbols with history) of the
    per-symbol histories; kind is the data type ("trades", "orders")."""
    return {
        (r["exchange"], r["kind"]): (int(r["symbols"]), int(r["active"] or 0))
        for r in store.query(
            "SELECT exchange, kind, count(*) AS symbols, sum(active) AS active "
            "FROM history_symbols GROUP BY exchange, kind"
        )
    }


@dataclass
class Holdings:
    """What one exchange's holdings are worth, from the last balances unit."""

    exchange: str
    quote: str | None
    value: str
    priced_at: str | None
    unpriced: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def portfolio_totals(store: Store) -> list[Holdings]:
    """The value of every exchange's holdings in its quote currency, summed exactly.

    An asset held without a price is counted in `unpriced`, not in the value.
    """
    found: dict[tuple[str, str | None], Holdings] = {}
    for exchange, quote, value, priced_at in store.fetchall(
        "SELECT exchange, quote, value, priced_at FROM balances ORDER BY exchange"
    ):
        key = (exchange, quote)
        entry = found.setdefault(key, Holdings(exchange, quote, "0", None, 0))
        if value is None:
            entry.unpriced += 1
            continue
        entry.value = format(EXACT.add(Decimal(entry.value), Decimal(value)), "f")
        if priced_at and (entry.priced_at is None or priced_at > entry.priced_at):
            entry.priced_at = priced_at
    totals = []
    for (exchange, quote), entry in found.items():
        if quote is None:  # nothing of this exchange could be priced
            priced = [h for (e, q), h in found.items() if e == exchange and q is not None]
            if priced:
                priced[0].unpriced += entry.unpriced
                continue
        totals.append(entry)
    return totals


def history(
    store: Store,
    exchange: str | None = None,
    data_type: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The latest `sync_runs` rows, newest first, optionally for one exchange and/or type."""
    clause, params = where(exchange=exchange, data_type=data_type)
    sql = (
        "SELECT run_id, exchange, data_type, started_at, finished_at, status, records, "
        f"attempts, error, warnings FROM sync_runs {clause} ORDER BY id DESC LIMIT ?"
    )
    return store.query(sql, [*params, limit])


def _settings(config: Config | None, exchange: str) -> Settings:
    if config is not None and exchange in config.exchanges:
        return config.exchanges[exchange].settings
    if config is not None:
        return config.defaults
    return Settings()
