"""Own trades parsed by their shape: the same trade ccxt's parser builds, for less CPU.

ccxt's `parse_trade` is general: each row goes through dozens of lookups, a fee reduction
and decimal arithmetic, about 16 microseconds a row. On a backfill of tens of thousands of
executions that parser, not the exchange's limits, sets the pace. A profile may describe
the shapes its own-trade rows come in (`TradeShape`, data only); a row of exactly such a
shape is built here directly, and any other row (a key the shape does not name, a value of
another type, an option or inverse market) goes to ccxt's parser as before. The result is
equal to ccxt's, key for key: tests hold the two side by side over generated rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TradeShape:
    """One shape of an exchange's own-trade row: which key holds which field.

    A row takes this shape only when it has every key named here and no key outside
    `keys`; its amounts must be non-empty strings and its ids strings or integers.
    """

    #: every key such a row may have: the named ones and keys ccxt's parser ignores
    keys: frozenset[str]
    #: what ccxt takes such a row for when it resolves the market: "spot" or "contract"
    market_type: str
    id: str
    order: str
    timestamp: str
    price: str
    amount: str
    cost: str
    fee_cost: str
    fee_currency: str
    #: whether the taker's side of the fill was the account's ("isMaker": true -> maker)
    maker: str
    #: the side, as "BUY" / "SELL" ("" when the shape gives only `buyer`)
    side: str = ""
    #: the side, as true for a buy (read when `side` is "")
    buyer: str = ""

    def required(self) -> frozenset[str]:
        """The keys a row must have to take this shape."""
        named = (
            self.id,
            self.order,
            self.timestamp,
            self.price,
            self.amount,
            self.cost,
            self.fee_cost,
            self.fee_currency,
            self.maker,
            self.side or self.buyer,
            "symbol",
        )
        return frozenset(named)


def install(client: Any, shapes: tuple[TradeShape, ...]) -> None:
    """Give `client` a `parse_trade` that builds rows of `shapes` directly and hands every
    other row to ccxt's own."""
    install_parser(client, "parse_trade", shapes, lambda *args: _build(*args))


def install_parser(
    client: Any, name: str, shapes: tuple[Any, ...], build: Callable[..., Any]
) -> None:
    """Replace the client's parser `name` (`parse_trade`, `parse_order`): a row with the keys
    of one of `shapes` (each with `keys` and `required()`) is built by `build(client, shape,
    row, market)`, which returns None for a row it does not cover; every other row goes to
    ccxt's parser."""
    if not shapes or client.number is not str or not getattr(client, "reduceFees", True):
        return  # amounts as anything but the exchange's text: ccxt's parser converts them
    general: Callable[..., dict[str, Any]] = getattr(client, name)
    checks = [(shape, shape.required(), shape.keys) for shape in shapes]

    def parse(row: dict[str, Any], market: Any = None) -> dict[str, Any]:
        if isinstance(row, dict) and client.number is str:
            keys = row.keys()
            for shape, required, allowed in checks:
                if required <= keys and keys <= allowed:
                    parsed = build(client, shape, row, market)
                    if parsed is not None:
                        return parsed
                    break
        return general(row, market)

    setattr(client, name, parse)


def text(value: Any) -> str | None:
    """`value` when it is non-empty text (what ccxt's readers take as is), else None."""
    return value if type(value) is str and value else None


def _id(value: Any) -> str | None:
    if type(value) is int:
        # an id the exchange could send (str() of a far longer one raises in ccxt's reader)
        return str(value) if -(2**63) <= value < 2**64 else None
    return text(value)


#: the last millisecond of 9999: ccxt reads a time through a float, exact to 2**53 only, and
#: writes its date only up to here; a later time goes to its parser
LAST_MS = 253_402_300_799_999


def iso8601(timestamp: int) -> str:
    """ccxt's `iso8601(timestamp)` for a time from 1970 to 9999, from the C library's gmtime."""
    seconds, ms = divmod(timestamp, 1000)
    t = time.gmtime(seconds)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
        f"T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{ms:03d}Z"
    )


def _build(client: Any, shape: TradeShape, trade: dict[str, Any], market: Any) -> Any:
    """The trade ccxt's parser would build from `trade`, or None where this shape does not
    cover it (ccxt's parser then reads it)."""
    timestamp = trade[shape.timestamp]
    price, amount, cost = trade[shape.price], trade[shape.amount], trade[shape.cost]
    fee_cost, fee_currency = trade[shape.fee_cost], trade[shape.fee_currency]
    trade_id, order, market_id = _id(trade[shape.id]), _id(trade[shape.order]), trade["symbol"]
    if shape.side:
        side = text(trade[shape.side])
        side = side.lower() if side is not None else None
    else:
        side = "buy" if trade[shape.buyer] is True else "sell"
    if (
        type(timestamp) is not int
        or not 0 <= timestamp <= LAST_MS
        or not (type(price) is type(amount) is type(cost) is str and price and amount and cost)
        or not (type(fee_cost) is type(fee_currency) is str and fee_cost and fee_currency)
        or None in (trade_id, order, side)
        or type(market_id) is not str
        or not market_id
    ):
        return None
    # read as ccxt's parser reads it: a market without these keys fails there, and here
    resolved = client.safe_market(market_id, market, None, shape.market_type)
    symbol = resolved["symbol"]
    if resolved["option"] is True or resolved["inverse"] is True:
        return None
    code = client.safe_currency_code(fee_currency)
    if type(code) is not str or not code:
        return None
    fee = {"currency": code, "cost": fee_cost}
    return {
        "info": trade,
        "timestamp": timestamp,
        "datetime": iso8601(timestamp),
        "symbol": symbol,
        "id": trade_id,
        "order": order,
        "type": None,
        "side": side,
        "takerOrMaker": "maker" if trade[shape.maker] is True else "taker",
        "price": price,
        "amount": amount,
        "cost": cost,
        "fee": fee,
        "fees": [fee],
    }
