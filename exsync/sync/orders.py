"""Orders: the open ones, every order closed since the last pass, and vanished ones."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from exsync.capabilities import order_history_method
from exsync.ccxt_import import errors as ccxt
from exsync.store import Store, to_json, utc_now, utc_now_minus
from exsync.sync.discovery import NOTHING_COVERED, walk_streams
from exsync.sync.symbols import attribute, kind_of
from exsync.sync.unit import NothingCovered, UnitContext, decimal_text, per_settle_coin, together

#: how long an order left 'unknown' is asked about again on later passes
RECHECK_SECONDS = 7 * 86_400
#: the most orders one pass looks up by id (each costs a request)
LOOKUPS_PER_PASS = 50
#: ccxt's statuses of an order that can no longer change
SETTLED = frozenset({"closed", "canceled", "expired", "rejected"})


async def sync(ctx: UnitContext) -> int:
    """Open orders, plus every order closed since the last pass with its final status.

    An order the copy holds as open that is neither open on the exchange nor in the history
    just read is looked up by id where the exchange allows it (its history windows follow
    creation time); otherwise it gets status 'unknown' (Bybit keeps fully cancelled orders
    for 24 h only).
    """
    open_orders: list[dict[str, Any]] = []

    async def fetch_open(market_type: str, params: dict[str, Any]) -> None:
        limit = ctx.profile.page("open_orders", 50)
        async for page in ctx.pages("fetch_open_orders", None, None, params=params, limit=limit):
            open_orders.extend(await attribute(ctx, page, market_type, "fetch_open_orders"))

    await together(*(fetch_open(t, p) for t in ctx.market_types for p in per_settle_coin(ctx, t)))

    # Open orders were fetched first, so history (fetched after) holds the later state and
    # is written after them.
    pending = ctx.pending()
    pending.add("orders", (_order_row(ctx, o) for o in open_orders))
    seen: set[tuple[str, str]] = set()

    def history_row(order: dict[str, Any]) -> dict[str, Any]:
        row = _order_row(ctx, order)
        seen.add((row["symbol"], row["id"]))
        return row

    covered = await walk_streams(
        ctx,
        pending,
        "orders",
        # An open order names its symbol: its history is walked in this very pass.
        seen={o["symbol"]: "open order" for o in open_orders if o.get("symbol")},
        method=order_history_method(ctx.client.has),
        limit=ctx.profile.page("orders", 50),
        table="orders",
        to_row=history_row,
        timestamp=lambda order: order.get("lastUpdateTimestamp") or order.get("timestamp"),
        settled=lambda order: order.get("status") in SETTLED,
    )
    current = {(o["symbol"], str(o["id"])) for o in open_orders} | seen
    vanished = [
        (symbol, order_id)
        for symbol, order_id in await ctx.fetch(
            "SELECT symbol, id FROM orders WHERE exchange = ? AND status = 'open'", [ctx.name]
        )
        if (symbol, order_id) not in current
    ]
    # Orders left 'unknown' by earlier passes are asked about again for a while: their
    # history entry may simply have been late.
    since = utc_now_minus(RECHECK_SECONDS)
    unknown = [
        (symbol, order_id)
        for symbol, order_id in await ctx.fetch(
            "SELECT symbol, id FROM orders WHERE exchange = ? AND status = 'unknown' "
            "AND synced_at >= ? ORDER BY synced_at DESC",
            [ctx.name, since],
        )
        if (symbol, order_id) not in current
    ]
    asked = (vanished + unknown)[:LOOKUPS_PER_PASS]
    found = await asyncio.gather(*(_look_up(ctx, *key) for key in asked), return_exceptions=True)
    lost = set()
    for key, order in zip(asked, found, strict=True):
        if isinstance(order, BaseException):
            raise order
        if order is None:
            lost.add(key)  # the exchange does not know it (now): 'unknown', not a failure
        else:
            pending.add("orders", [_order_row(ctx, order)])
    # Still unknown after asking, or not asked (lookups are capped per pass).
    gone = [key for key in vanished if key in lost or key not in asked]

    def finish(store: Store) -> None:
        for symbol, order_id in gone:
            store.execute(
                "UPDATE orders SET status = 'unknown', synced_at = ? "
                "WHERE exchange = ? AND symbol = ? AND id = ?",
                [utc_now(), ctx.name, symbol, order_id],
            )

    await pending.commit(finish)
    if not covered:
        raise NothingCovered(NOTHING_COVERED)
    return pending.written


async def _look_up(ctx: UnitContext, symbol: str, order_id: str) -> dict[str, Any] | None:
    """One order by id, or None when the exchange does not know it.

    Through the order history where it takes an order id (Bybit keeps orders with fills
    for two years there, unfilled cancellations for 24 hours), else ccxt's fetchOrder.
    """
    param = ctx.profile.order_id_param
    try:
        if param:
            method = order_history_method(ctx.client.has)
            rows = await ctx.call(method, symbol, None, None, {param: order_id})
            return next((row for row in rows if str(row.get("id")) == order_id), None)
        if ctx.client.has.get("fetchOrder"):
            return await ctx.call("fetch_order", order_id, symbol)
    except (ccxt.OrderNotFound, ccxt.BadSymbol):
        return None
    return None


def _order_row(ctx: UnitContext, order: dict[str, Any]) -> dict[str, Any]:
    fee = order.get("fee") or {}
    if decimal_text(fee.get("cost")) is None:
        fee = _raw_fee(ctx, order)
    return {
        "exchange": ctx.name,
        "id": str(order["id"]),
        "client_order_id": order.get("clientOrderId"),
        "symbol": order.get("symbol"),
        "type": order.get("type"),
        "side": order.get("side"),
        "price": decimal_text(order.get("price")),
        "average": decimal_text(order.get("average")),
        "amount": decimal_text(order.get("amount")),
        "filled": decimal_text(order.get("filled")),
        "remaining": decimal_text(order.get("remaining")),
        "cost": decimal_text(order.get("cost")),
        "status": order.get("status"),
        "fee_cost": decimal_text(fee.get("cost")),
        "fee_currency": fee.get("currency"),
        "timestamp": order.get("timestamp"),
        "updated": order.get("lastUpdateTimestamp") or order.get("timestamp"),
        "synced_at": utc_now(),
        "raw": to_json(order.get("info")),
    }


def _raw_fee(ctx: UnitContext, order: dict[str, Any]) -> dict[str, Any]:
    """An order's fee from its raw answer, where the profile says it is kept there."""
    spec = ctx.profile.order_fee
    info = order.get("info")
    if spec is None or not isinstance(info, dict):
        return {}
    cost = decimal_text(info.get(spec.cost))
    if cost is None or (Decimal(cost) == 0 and not Decimal(decimal_text(order.get("filled")) or 0)):
        return {}  # nothing filled, nothing paid: no fee, as ccxt gives none
    market = (ctx.client.markets or {}).get(order.get("symbol")) or {}
    kind = kind_of(market) or ""
    where = spec.currency.get(f"{kind}:{order.get('side')}") or spec.currency.get(kind)
    return {"cost": cost, "currency": market.get(where) if where else None}
