"""Every table exsync writes, in one place: the declaration the store writes by.

The tables themselves are made and changed by the numbered steps in `migrations.py`; a test
checks that a database built by those steps matches this declaration. Exchange timestamps
are integer milliseconds (ccxt's unit); exsync's own bookkeeping times are ISO-8601 UTC
strings, which sort and compare as text. Columns typed `Decimal` hold an amount exactly
as the exchange wrote it, as text (`CAST(amount AS REAL)` or Python's `Decimal` to compute
with it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


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
            "free": Decimal,
            "used": Decimal,
            "total": Decimal,
            "run_id": str,
            "synced_at": str,
            "equity": Decimal,
            "unrealized_pnl": Decimal,
            "quote": str,
            "price": Decimal,
            "value": Decimal,
            "priced_at": str,
            "raw": str,
        },
        pk=("exchange", "wallet", "asset"),
        doc="Latest balance per exchange, wallet and asset; an asset no longer held is deleted. "
        "total: the wallet balance (what a withdrawal or transfer of everything would move, "
        "never unrealised PnL); equity: total plus unrealised PnL where the wallet carries "
        "positions; price: of one unit in `quote` when the pass read it, value = total x price.",
    ),
    Table(
        "balance_snapshots",
        {
            "exchange": str,
            "run_id": str,
            "wallet": str,
            "asset": str,
            "free": Decimal,
            "used": Decimal,
            "total": Decimal,
            "taken_at": str,
            "equity": Decimal,
            "unrealized_pnl": Decimal,
            "quote": str,
            "price": Decimal,
            "value": Decimal,
        },
        pk=("exchange", "run_id", "wallet", "asset"),
        indexes=(("exchange", "taken_at"),),
        doc="One row per asset per successful balances unit, with its price at the time: the "
        "portfolio's history (its value then is one query).",
    ),
    Table(
        "positions",
        {
            "exchange": str,
            "symbol": str,
            "side": str,
            "status": str,
            "contracts": Decimal,
            "contract_size": Decimal,
            "entry_price": Decimal,
            "mark_price": Decimal,
            "notional": Decimal,
            "leverage": Decimal,
            "unrealized_pnl": Decimal,
            "liquidation_price": Decimal,
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
            "price": Decimal,
            "average": Decimal,
            "amount": Decimal,
            "filled": Decimal,
            "remaining": Decimal,
            "cost": Decimal,
            "status": str,
            "fee_cost": Decimal,
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
            "price": Decimal,
            "amount": Decimal,
            "cost": Decimal,
            "fee_cost": Decimal,
            "fee_currency": str,
            "fee_rate": Decimal,
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
            "last": Decimal,
            "bid": Decimal,
            "ask": Decimal,
            "high": Decimal,
            "low": Decimal,
            "base_volume": Decimal,
            "quote_volume": Decimal,
            "percentage": Decimal,
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
            "open": Decimal,
            "high": Decimal,
            "low": Decimal,
            "close": Decimal,
            "volume": Decimal,
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
            "unit": str,
        },
        pk=("exchange", "stream"),
        doc="Where each incremental stream resumes; moves only with the rows it covers. "
        "unit: 'id' for a stream paged by the exchange's ids (position: the first id the next "
        "pass asks for), else the position is a time in ms (older databases leave it empty). "
        "reread_at: when the stream's recent past was last read again in depth (ms).",
    ),
    Table(
        "history_symbols",
        {
            "exchange": str,
            "kind": str,
            "symbol": str,
            "market_type": str,
            "reason": str,
            "first_checked": str,
            "last_checked": str,
            "rows": int,
            "active": int,
            "balances": str,
        },
        pk=("exchange", "kind", "symbol"),
        doc="The symbols a per-symbol history (Binance) has walked, per kind (trades, orders): "
        "why it is a candidate, when first and last checked, rows read in all; active = 1 once "
        "any row was found (walked on every pass since); balances: the totals of the assets a "
        "trade there moves, as last checked (JSON).",
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
            "clock": str,
            "due_mono": float,
            "probe_mono": float,
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
            "token": str,
            "process": str,
            "renewed_at": str,
            "clock": str,
            "renewed_mono": float,
            "lease": float,
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
    Table(
        "meta",
        {"key": str, "value": str},
        pk=("key",),
        doc="About the database itself: schema_version, upgrades, purpose (the demo's).",
    ),
)

#: columns of the deposits and withdrawals tables
_TRANSACTION_COLUMNS: dict[str, type] = {
    "exchange": str,
    "source": str,
    "id": str,
    "asset": str,
    "amount": Decimal,
    "network": str,
    "address": str,
    "tag": str,
    "txid": str,
    "fee": Decimal,
    "fee_asset": str,
    "status": str,
    "internal": int,
    "timestamp": int,
    "updated": int,
    "synced_at": str,
    "raw": str,
}

CASH_FLOW_TABLES: tuple[Table, ...] = (
    Table(
        "deposits",
        dict(_TRANSACTION_COLUMNS),
        pk=("exchange", "source", "id"),
        indexes=(("exchange", "timestamp"), ("exchange", "status")),
        doc="Money that came in from outside the exchange account: on-chain, or from another "
        "user of the exchange (internal = 1). status: ok, pending, failed, canceled or "
        "rejected; a pending one is read again until it is settled.",
    ),
    Table(
        "withdrawals",
        dict(_TRANSACTION_COLUMNS),
        pk=("exchange", "source", "id"),
        indexes=(("exchange", "timestamp"), ("exchange", "status")),
        doc="Money that left the exchange account, fee apart (fee, in fee_asset); status as "
        "for deposits.",
    ),
    Table(
        "transfers",
        {
            "exchange": str,
            "id": str,
            "source": str,
            "asset": str,
            "amount": Decimal,
            "from_account": str,
            "to_account": str,
            "from_member": str,
            "to_member": str,
            "status": str,
            "timestamp": int,
            "synced_at": str,
            "raw": str,
        },
        pk=("exchange", "id"),
        indexes=(("exchange", "timestamp"),),
        doc="Moves between the account's own wallets (from_account, to_account) and between "
        "the main account and its sub-accounts (from_member, to_member: user ids).",
    ),
    Table(
        "ledger",
        {
            "exchange": str,
            "id": str,
            "type": str,
            "kind": str,
            "asset": str,
            "symbol": str,
            "amount": Decimal,
            "fee": Decimal,
            "funding": Decimal,
            "balance": Decimal,
            "reference": str,
            "timestamp": int,
            "raw": str,
        },
        pk=("exchange", "id", "type"),
        indexes=(("exchange", "timestamp"), ("exchange", "type")),
        doc="The exchange's own account statement: every change of a wallet balance. type: "
        "the exchange's word (Bybit: TRADE, SETTLEMENT, TRANSFER_IN, ...), kind: ccxt's; "
        "amount: the signed change; balance: the wallet balance after it.",
    ),
    Table(
        "closed_positions",
        {
            "exchange": str,
            "symbol": str,
            "order_id": str,
            "timestamp": int,
            "side": str,
            "closed_size": Decimal,
            "entry_price": Decimal,
            "exit_price": Decimal,
            "entry_value": Decimal,
            "exit_value": Decimal,
            "realized_pnl": Decimal,
            "open_fee": Decimal,
            "close_fee": Decimal,
            "leverage": Decimal,
            "exec_type": str,
            "fills": int,
            "updated": int,
            "raw": str,
        },
        pk=("exchange", "symbol", "order_id", "timestamp"),
        indexes=(("exchange", "timestamp"), ("exchange", "symbol", "timestamp")),
        doc="One row per closing of a contract position (part or whole) with its realised "
        "PnL; a position opened and closed again adds a row, never replaces one.",
    ),
    Table(
        "conversions",
        {
            "exchange": str,
            "id": str,
            "source": str,
            "from_asset": str,
            "from_amount": Decimal,
            "to_asset": str,
            "to_amount": Decimal,
            "price": Decimal,
            "status": str,
            "timestamp": int,
            "synced_at": str,
            "raw": str,
        },
        pk=("exchange", "id"),
        indexes=(("exchange", "timestamp"),),
        doc="Swaps of one asset for another outside the order book (Binance Convert): "
        "from_amount of from_asset for to_amount of to_asset; price: to_asset per from_asset; "
        "status as for deposits.",
    ),
)

TABLES = (*TABLES, *CASH_FLOW_TABLES)
TABLES_BY_NAME = {t.name: t for t in TABLES}
