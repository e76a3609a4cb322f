"""Conversions: swaps of one asset for another made outside the order book.

Binance Convert swaps never appear among the account's own trades (myTrades): without
them a portfolio silently loses every asset bought or sold that way. Each swap is one row
(both legs, the rate, the status), walked in Binance's 30-day windows from `trades_since`;
one still processing is read again until it settles. Their assets are evidence of the
symbols a per-symbol trade history walks (`discovery.money_moved`).
"""

from __future__ import annotations

from typing import Any

from exsync.sources import Source
from exsync.store import to_json, utc_now
from exsync.sync.sourcewalk import exact, walk_sources
from exsync.sync.unit import UnitContext


async def sync(ctx: UnitContext) -> int:
    """Every conversion since `trades_since`, ones still processing updated until they
    settle."""
    return await walk_sources(ctx, "conversions", "conversions", lambda s, c: _row(ctx, s, c))


def _row(ctx: UnitContext, source: Source, conversion: dict[str, Any]) -> dict[str, Any]:
    return {
        "exchange": ctx.name,
        "id": str(conversion.get("id")),
        "source": source.name,
        "from_asset": conversion.get("fromCurrency"),
        "from_amount": exact(source, conversion, "from_amount", conversion.get("fromAmount")),
        "to_asset": conversion.get("toCurrency"),
        "to_amount": exact(source, conversion, "to_amount", conversion.get("toAmount")),
        "price": exact(source, conversion, "price", conversion.get("price")),
        "status": conversion.get("status") or "ok",
        "timestamp": conversion.get("timestamp"),
        "synced_at": utc_now(),
        "raw": to_json(conversion.get("info")),
    }
