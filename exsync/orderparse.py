"""Orders parsed by their shape: the same order ccxt's parser builds, for less CPU.

As with own trades (tradeparse.py): ccxt's `parse_order` and `safe_order` are general, about
36 microseconds an order on Binance, and an account that cancels many orders has far more
of them than fills. A profile may describe the shapes its order-history rows come in
(`OrderShape`, data only); a row of exactly such a shape is built here, with ccxt's own
decimal arithmetic (Precise) and lookups, and any other row goes to ccxt's parser. The
result is equal to ccxt's, key for key: tests hold the two side by side over generated rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exsync.tradeparse import LAST_MS, install_parser, iso8601, text

#: order types ccxt reports a trigger price of as a take-profit price
_TAKE_PROFIT = frozenset({"take_profit", "take_profit_market", "take_profit_limit"})


@dataclass(frozen=True)
class OrderShape:
    """One shape of an exchange's order-history row: which key holds which field.

    A row takes this shape only when it has every key named here (`average` and
    `reduce_only` where given) and no key outside `keys`.
    """

    #: every key such a row may have: the named ones and keys ccxt's parser ignores
    keys: frozenset[str]
    #: what ccxt takes such a row for when it resolves the market: "spot" or "contract"
    market_type: str
    id: str
    client_id: str
    status: str
    price: str
    amount: str
    filled: str
    cost: str
    type: str
    side: str
    time_in_force: str
    stop_price: str
    created: str
    updated: str
    #: the average fill price, where the row has one ("" when ccxt computes it)
    average: str = ""
    #: whether the order only reduces a position, where the row says it
    reduce_only: str = ""

    def required(self) -> frozenset[str]:
        """The keys a row must have to take this shape."""
        named = {self.id, self.client_id, self.status, self.price, self.amount, self.filled}
        named |= {self.cost, self.type, self.side, self.stop_price, self.created, self.updated}
        named |= {key for key in (self.average, self.reduce_only) if key}
        return frozenset(named | {"symbol"})


def install(client: Any, shapes: tuple[OrderShape, ...]) -> None:
    """Give `client` a `parse_order` that builds rows of `shapes` directly and hands every
    other row to ccxt's own."""
    install_parser(client, "parse_order", shapes, lambda *args: _build(*args))


def _time(value: Any) -> int | None:
    return value if type(value) is int and 0 <= value <= LAST_MS else None


def _build(client: Any, shape: OrderShape, order: dict[str, Any], market: Any) -> Any:
    """The order ccxt's parser would build from `order`, or None where this shape does not
    cover it (ccxt's parser then reads it)."""
    from ccxt.base.precise import Precise

    created, updated = _time(order[shape.created]), _time(order[shape.updated])
    raw_status, kind, raw_side = order[shape.status], order[shape.type], order[shape.side]
    amount, filled, cost = order[shape.amount], order[shape.filled], order[shape.cost]
    price, stop = order[shape.price], order[shape.stop_price]
    average = order[shape.average] if shape.average else None
    tif = order.get(shape.time_in_force)
    reduce_only = order[shape.reduce_only] if shape.reduce_only else None
    order_id, client_id, market_id = order[shape.id], order[shape.client_id], order["symbol"]
    if (
        created is None
        or updated is None
        or None in (text(raw_status), text(kind), text(raw_side), text(market_id))
        or None in (text(amount), text(filled), text(cost), text(price), text(stop))
        or (shape.average and text(average) is None)
        or (tif is not None and text(tif) is None)
        or (reduce_only is not None and type(reduce_only) is not bool)
        or not (type(order_id) is int and 0 <= order_id < 2**63)
        or (client_id is not None and type(client_id) is not str)
    ):
        return None
    # read as ccxt's parser reads it: a market without these keys fails there, and here
    resolved = client.safe_market(market_id, market, None, shape.market_type)
    symbol = resolved["symbol"]
    if resolved["inverse"] is True or resolved.get("option") is True or text(symbol) is None:
        return None
    status = client.parse_order_status(raw_status)
    kind, side = kind.lower(), raw_side.lower()
    last_trade = None
    if status == "closed" or (status == "open" and Precise.string_gt(filled, "0")):
        last_trade = updated
    if tif == "GTX":
        tif = "PO"
    post_only = kind == "limit_maker" or tif == "PO"
    trigger = client.omit_zero(stop)
    take_profit = trigger if kind in _TAKE_PROFIT else None
    # what safe_order makes of it: no fills and no fee on these rows
    amount = client.omit_zero(amount)
    average = client.omit_zero(average)
    price = client.omit_zero(price)
    if amount is None and status == "closed":
        amount = filled
    remaining = None
    if amount is not None:
        remaining = Precise.string_sub(amount, filled)
    elif status == "closed":
        remaining = "0"
    if average is None and Precise.string_gt(filled, "0"):
        size = client.number_to_string(client.safe_value(resolved, "contractSize", 1))
        average = Precise.string_div(cost, Precise.string_mul(filled, size))
    order_type = client.parse_order_type_by_market(kind, shape.market_type)
    if (price is None or Precise.string_equals(price, "0")) and order_type == "market":
        price = average
    if tif is None and post_only:
        tif = "PO"
    elif tif is None and trigger is None and take_profit is None and order_type == "market":
        tif = "IOC"
    return {
        "info": order,
        "id": str(order_id),
        "clientOrderId": client_id or None,
        "timestamp": created,
        "datetime": iso8601(created),
        "lastTradeTimestamp": last_trade,
        "lastUpdateTimestamp": updated,
        "symbol": symbol,
        "type": order_type,
        "timeInForce": tif,
        "postOnly": post_only,
        "reduceOnly": reduce_only,
        "side": side,
        "price": price,
        "triggerPrice": trigger,
        "takeProfitPrice": take_profit,
        "amount": amount,
        "cost": cost,
        "average": average,
        "filled": filled,
        "remaining": remaining,
        "status": status,
        "fee": None,
        "trades": [],
        "fees": [],
        "stopPrice": trigger,
        "stopLossPrice": None,
    }
