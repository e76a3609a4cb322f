"""Positions: the open ones, and those gone from the exchange marked closed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exsync.store import Store, to_json, utc_now
from exsync.sync.symbols import attribute
from exsync.sync.unit import UnitContext, decimal_text, per_settle_coin, together


async def sync(ctx: UnitContext) -> int:
    """Open positions; those gone from the exchange are marked closed, not left looking open."""
    found: list[dict[str, Any]] = []

    async def fetch(market_type: str, params: dict[str, Any]) -> None:
        # ccxt asks for the largest page itself.
        size = ctx.profile.page("positions", 200)
        pages = ctx.pages("fetch_positions", None, params=params, limit=None, page_size=size)
        async for page in pages:
            found.extend(await attribute(ctx, page, market_type, "fetch_positions"))

    contract_types = [t for t in ctx.market_types if t != "spot"]
    await together(*(fetch(t, p) for t in contract_types for p in per_settle_coin(ctx, t)))
    now = utc_now()
    rows = []
    for position in found:
        contracts = decimal_text(position.get("contracts"))
        if contracts is None or Decimal(contracts) == 0:
            continue
        rows.append(
            {
                "exchange": ctx.name,
                "symbol": position["symbol"],
                "side": position.get("side") or "both",
                "status": "open",
                "contracts": contracts,
                "contract_size": decimal_text(position.get("contractSize")),
                "entry_price": decimal_text(position.get("entryPrice")),
                "mark_price": decimal_text(position.get("markPrice")),
                # The position's value at the mark price, never signed: Binance signs it
                # by side, Bybit does not.
                "notional": _unsigned(decimal_text(position.get("notional"))),
                "leverage": decimal_text(position.get("leverage")),
                "unrealized_pnl": decimal_text(position.get("unrealizedPnl")),
                "liquidation_price": decimal_text(position.get("liquidationPrice")),
                "margin_mode": position.get("marginMode"),
                "timestamp": position.get("timestamp"),
                "synced_at": now,
                "closed_at": None,
                "raw": to_json(position.get("info")),
            }
        )
    open_keys = [(r["symbol"], r["side"]) for r in rows]

    def finish(store: Store) -> None:
        still_open = store.execute(
            "SELECT symbol, side FROM positions WHERE exchange = ? AND status = 'open'",
            [ctx.name],
        ).fetchall()
        for symbol, side in still_open:
            if (symbol, side) not in open_keys:
                store.execute(
                    "UPDATE positions SET status = 'closed', closed_at = ?, synced_at = ? "
                    "WHERE exchange = ? AND symbol = ? AND side = ?",
                    [now, now, ctx.name, symbol, side],
                )

    pending = ctx.pending()
    pending.add("positions", rows)
    await pending.commit(finish)
    return len(rows)


def _unsigned(amount: str | None) -> str | None:
    return amount[1:] if amount is not None and amount.startswith("-") else amount
