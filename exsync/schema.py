"""Every table exsync writes, in one place.

Tables are created when missing and gain new columns by `ALTER TABLE ... ADD COLUMN`
(sqlite-utils' `add_column`), so an older database keeps its data when exsync is upgraded.
Exchange timestamps are integer milliseconds (ccxt's unit); exsync's own bookkeeping times
are ISO-8601 UTC strings, which sort and compare as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlite_utils


@dataclass(frozen=True)
class Table:
    """A table's columns (name -> Python type), primary key and indexes."""

    name: str
    columns: dict[str, type]
    pk: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = field(default=())
    doc: str = ""


TABLES: tuple[Table, ...] = (
    Table(
        "balances",
        {
            "exchange": str,
            "wallet": str,
            "asset": str,
            "free": float,
            "used": float,
            "total": float,
            "run_id": str,
            "synced_at": str,
        },
        pk=("exchange", "wallet", "asset"),
        doc="Latest balance per exchange, wallet and asset; an asset no longer held is deleted.",
    ),
    Table(
        "balance_snapshots",
        {
            "exchange": str,
            "run_id": str,
            "wallet": str,
            "asset": str,
            "free": float,
            "used": float,
            "total": float,
            "taken_at": str,
        },
        pk=("exchange", "run_id", "wallet", "asset"),
        indexes=(("exchange", "taken_at"),),
        doc="One row per asset per successful balances unit: the portfolio's history.",
    ),
    Table(
        "positions",
        {
            "exchange": str,
            "symbol": str,
            "side": str,
            "status": str,
            "contracts": float,
            "contract_size": float,
            "entry_price": float,
            "mark_price": float,
            "notional": float,
            "leverage": float,
            "unrealized_pnl": float,
            "liquidation_price": float,
            "margin_mode": str,
            "timestamp": int,
            "synced_at": str,
            "closed_at": str,
            "raw": str,
        },
        pk=("exchange", "symbol", "side"),
        indexes=(("exchange", "status"),),
        doc="Positions; one that closed on the exchange gets status 'closed' and closed_at.",
    ),
    Table(
        "orders",
        {
            "exchange": str,
            "id": str,
            "client_order_id": str,
            "symbol": str,
            "type": str,
            "side": str,
            "price": float,
            "average": float,
            "amount": float,
            "filled": float,
            "remaining": float,
            "cost": float,
            "status": str,
            "fee_cost": float,
            "fee_currency": str,
            "timestamp": int,
            "updated": int,
            "synced_at": str,
            "raw": str,
        },
        # Some exchanges (Binance) number orders and trades per symbol.
        pk=("exchange", "symbol", "id"),
        indexes=(("exchange", "status"), ("exchange", "updated")),
        doc="Open orders and orders closed since the first pass, with their final status.",
    ),
    Table(
        "trades",
        {
            "exchange": str,
            "id": str,
            "order_id": str,
            "symbol": str,
            "side": str,
            "taker_or_maker": str,
            "price": float,
            "amount": float,
            "cost": float,
            "fee_cost": float,
            "fee_currency": str,
            "fee_rate": float,
            "timestamp": int,
            "exec_type": str,
            "raw": str,
        },
        pk=("exchange", "symbol", "id"),
        indexes=(("exchange", "timestamp"), ("exchange", "symbol", "timestamp")),
        doc="Own executions, fees included: fills (exec_type 'Trade') and those the exchange "
        "books by itself (Bybit: Funding, BustTrade, AdlTrade, Delivery, Settle, ...).",
    ),
    Table(
        "tickers",
        {
            "exchange": str,
            "symbol": str,
            "last": float,
            "bid": float,
            "ask": float,
            "high": float,
            "low": float,
            "base_volume": float,
            "quote_volume": float,
            "percentage": float,
            "timestamp": int,
            "synced_at": str,
            "raw": str,
        },
        pk=("exchange", "symbol"),
        doc="Latest ticker per configured symbol.",
    ),
    Table(
        "ohlcv",
        {
            "exchange": str,
            "symbol": str,
            "timeframe": str,
            "timestamp": int,
            "open": float,
            "high": float,
            "low": float,
            "close": float,
            "volume": float,
        },
        pk=("exchange", "symbol", "timeframe", "timestamp"),
        doc="Candles per symbol and timeframe; the newest may still be forming.",
    ),
    Table(
        "cursors",
        {
            "exchange": str,
            "stream": str,
            "position": int,
            "updated_at": str,
            "reread_at": int,
        },
        pk=("exchange", "stream"),
        doc="Where each incremental stream resumes (ms); moves only with the rows it covers. "
        "reread_at: when the stream's recent past was last read again in depth (ms).",
    ),
    Table(
        "sync_runs",
        {
            "id": int,
            "run_id": str,
            "exchange": str,
            "data_type": str,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "records": int,
            "attempts": int,
            "error": str,
            "warnings": str,
        },
        pk=("id",),
        indexes=(("exchange", "data_type", "id"), ("run_id",), ("finished_at",)),
        doc="One row per unit (exchange x data type) per invocation: ok, failed, skipped, "
        "unsupported or interrupted; warnings: what the operator should know, one per line.",
    ),
    Table(
        "sync_state",
        {
            "exchange": str,
            "data_type": str,
            "last_run_id": str,
            "last_status": str,
            "last_finished_at": str,
            "last_records": int,
            "last_attempts": int,
            "last_error": str,
            "last_success_at": str,
            "last_success_records": int,
            "last_warnings": str,
        },
        pk=("exchange", "data_type"),
        doc="The latest outcome per unit, kept beside sync_runs so `status` reads one row each.",
    ),
    Table(
        "breakers",
        {
            "exchange": str,
            "data_type": str,
            "state": str,
            "failures": int,
            "opened_at": str,
            "next_probe_at": str,
            "cooldown": float,
            "last_error": str,
            "probe_run_id": str,
            "updated_at": str,
        },
        pk=("exchange", "data_type"),
        doc="Circuit breaker per unit: closed, open (skipped until next_probe_at), half_open.",
    ),
    Table(
        "locks",
        {
            "exchange": str,
            "run_id": str,
            "pid": int,
            "host": str,
            "acquired_at": str,
            "expires_at": str,
        },
        pk=("exchange",),
        doc="Which run is syncing an exchange, on a lease renewed while it works.",
    ),
    Table(
        "markets",
        {
            "exchange": str,
            "ccxt_id": str,
            "fingerprint": str,
            "fetched_at": str,
            "markets": str,
            "currencies": str,
        },
        pk=("exchange",),
        doc="ccxt's markets and currencies, cached so a warm pass downloads no instruments.",
    ),
)

TABLES_BY_NAME = {t.name: t for t in TABLES}


def schema_is_current(db: sqlite_utils.Database) -> bool:
    """Whether every table, column and index exists (a read: no lock beyond a snapshot)."""
    for table in TABLES:
        handle = db.table(table.name)
        if not handle.exists():
            return False
        if set(table.columns) - set(handle.columns_dict):
            return False
        indexed = {tuple(index.columns) for index in handle.indexes}
        if any(tuple(columns) not in indexed for columns in table.indexes):
            return False
    return True


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create missing tables, columns and indexes; never drops or rewrites data.

    Call inside a write transaction taken up front (`BEGIN IMMEDIATE`): two processes
    creating a fresh database at once then wait their turn instead of one failing at once.
    """
    with db.atomic():
        for table in TABLES:
            handle = db.table(table.name)
            if not handle.exists():
                handle.create(
                    table.columns, pk=list(table.pk) if len(table.pk) > 1 else table.pk[0]
                )
            else:
                existing = set(handle.columns_dict)
                for column, column_type in table.columns.items():
                    if column not in existing:
                        handle.add_column(column, column_type)
            for columns in table.indexes:
                handle.create_index(list(columns), if_not_exists=True)
