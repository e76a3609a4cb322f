"""Trades: own executions, fees included, from the stored cursor to now."""

from __future__ import annotations

from typing import Any

from exsync.store import to_json
from exsync.sync.discovery import NOTHING_COVERED, walk_streams
from exsync.sync.unit import NothingCovered, UnitContext, decimal_text


async def sync(ctx: UnitContext) -> int:
    """Own executions, fees included, from the stored cursor (or `trades_since`) to now."""
    pending = ctx.pending()
    covered = await walk_streams(
        ctx,
        pending,
        "trades",
        method="fetch_my_trades",
        limit=ctx.profile.page("trades", 100),
        table="trades",
        to_row=lambda trade: _trade_row(ctx, trade),
        timestamp=lambda trade: trade.get("timestamp"),
    )
    await pending.commit()
    if not covered:
        raise NothingCovered(NOTHING_COVERED)
    return pending.written


def _trade_row(ctx: UnitContext, trade: dict[str, Any]) -> dict[str, Any]:
    fee = trade.get("fee") or {}
    return {
        "exchange": ctx.name,
        "id": str(trade["id"]),
        "order_id": trade.get("order"),
        "symbol": trade.get("symbol"),
        "side": trade.get("side"),
        "taker_or_maker": trade.get("takerOrMaker"),
        "price": decimal_text(trade.get("price")),
        "amount": decimal_text(trade.get("amount")),
        "cost": decimal_text(trade.get("cost")),
        "fee_cost": decimal_text(fee.get("cost")),
        "fee_currency": fee.get("currency"),
        "fee_rate": decimal_text(fee.get("rate")),
        "timestamp": trade.get("timestamp"),
        # The exchange's execution type; exchanges whose trade history holds only trades
        # (Binance) do not say it.
        "exec_type": _exec_type(trade.get("info")),
        "raw": to_json(trade.get("info")),
    }


def _exec_type(info: Any) -> str:
    kind = info.get("execType") if isinstance(info, dict) else None
    return kind if isinstance(kind, str) and kind else "Trade"
