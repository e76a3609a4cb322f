"""Closed positions: each closing of a contract position with its realised PnL.

Bybit's closed PnL, per contract category (linear, inverse), in 7-day windows over the two
years Bybit keeps. Every closing order is a row of its own, so a position opened and closed
again adds its result beside the last one's instead of replacing it.
"""

from __future__ import annotations

from typing import Any

from exsync.sources import Source
from exsync.store import to_json
from exsync.sync.sourcewalk import exact, walk_sources
from exsync.sync.unit import UnitContext


async def sync(ctx: UnitContext) -> int:
    """Every position closed since `trades_since`, per configured contract market type."""
    return await walk_sources(
        ctx, "closed_positions", "closed_positions", lambda s, p: _row(ctx, s, p)
    )


def _row(ctx: UnitContext, source: Source, position: dict[str, Any]) -> dict[str, Any]:
    fills = position.get("fills")
    return {
        "exchange": ctx.name,
        "symbol": position.get("symbol"),
        "order_id": str(position.get("orderId") or position.get("id") or ""),
        "timestamp": position.get("timestamp"),
        "side": position.get("side"),
        "closed_size": exact(source, position, "closed_size", position.get("contracts")),
        "entry_price": exact(source, position, "entry_price", position.get("entryPrice")),
        "exit_price": exact(source, position, "exit_price", position.get("lastPrice")),
        "entry_value": exact(source, position, "entry_value", None),
        "exit_value": exact(source, position, "exit_value", position.get("notional")),
        "realized_pnl": exact(source, position, "realized_pnl", position.get("realizedPnl")),
        "open_fee": exact(source, position, "open_fee", None),
        "close_fee": exact(source, position, "close_fee", None),
        "leverage": exact(source, position, "leverage", position.get("leverage")),
        "exec_type": position.get("execType"),
        "fills": int(fills) if str(fills or "").isdigit() else None,
        "updated": position.get("lastUpdateTimestamp") or position.get("timestamp"),
        "raw": to_json(position.get("info")),
    }
