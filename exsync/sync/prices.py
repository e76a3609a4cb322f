"""Prices of held assets in the configured quote currency, for the portfolio's value.

Every held asset is priced, not only those of configured symbols: through a market that
pairs it with the quote currency directly, or in one hop through a common currency
(BTC, USDT, ...), in either direction. The tickers needed are fetched in one request where
the exchange allows it (Bybit: every spot ticker at once).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import Any

from exsync.profiles import market_type_of
from exsync.sync.tickers import market_tickers
from exsync.sync.unit import UnitContext

#: currencies a price may go through, in order of preference
HUBS = ("USDT", "USDC", "BTC", "ETH", "BNB", "USD", "EUR")

#: (symbol, inverted): a market and whether its price is read as 1 / price
Leg = tuple[str, bool]


async def price_assets(ctx: UnitContext, assets: Iterable[str], quote: str) -> dict[str, str]:
    """The price of one unit of each asset in `quote`, as decimal text; an asset with no
    market leading to `quote` is left out."""
    pairs = _pairs(ctx.client.markets or {})
    routes = {asset: _route(pairs, asset, quote) for asset in set(assets)}
    symbols = sorted({symbol for route in routes.values() if route for symbol, _ in route})
    by_type: dict[str, list[str]] = {}
    for symbol in symbols:
        by_type.setdefault(market_type_of(symbol), []).append(symbol)
    tickers: dict[str, Any] = {}
    # One request per market type: an exchange may refuse to mix them in one.
    for market_type, group in by_type.items():
        tickers.update(await market_tickers(ctx, market_type, group))
    prices = {}
    for asset, route in routes.items():
        if route is None:
            continue
        price = Decimal(1)
        try:
            for symbol, inverted in route:
                last = _last(tickers.get(symbol) or {})
                price = price / last if inverted else price * last
        except (TypeError, InvalidOperation, DivisionByZero):
            continue
        prices[asset] = format(+price, "f")
    return prices


def _pairs(markets: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(base, quote) -> symbol of the active markets a price can be read from: spot first,
    then linear contracts (base / settle), whose last price tracks the spot price."""
    found: dict[tuple[str, str], str] = {}
    for spot_first in (True, False):
        for symbol, market in markets.items():
            if market.get("active") is False or bool(market.get("spot")) != spot_first:
                continue
            if not spot_first and not (market.get("linear") and market.get("swap")):
                continue
            key = (market.get("base"), market.get("settle") or market.get("quote"))
            if None not in key:
                found.setdefault(key, symbol)
    return found


def _route(pairs: dict[tuple[str, str], str], asset: str, quote: str) -> list[Leg] | None:
    """The markets that lead from `asset` to `quote`, directly or through one hub."""
    if asset == quote:
        return []
    direct = _leg(pairs, asset, quote)
    if direct is not None:
        return [direct]
    for hub in HUBS:
        if hub in (asset, quote):
            continue
        first, second = _leg(pairs, asset, hub), _leg(pairs, hub, quote)
        if first is not None and second is not None:
            return [first, second]
    return None


def _leg(pairs: dict[tuple[str, str], str], have: str, want: str) -> Leg | None:
    if (have, want) in pairs:
        return pairs[(have, want)], False
    if (want, have) in pairs:
        return pairs[(want, have)], True
    return None


def _last(ticker: dict[str, Any]) -> Decimal:
    """A ticker's last price, or the middle of its bid and ask."""
    if ticker.get("last") not in (None, ""):
        return Decimal(str(ticker["last"]))
    bid, ask = ticker.get("bid"), ticker.get("ask")
    if bid in (None, "") or ask in (None, ""):
        raise TypeError("no price")
    return (Decimal(str(bid)) + Decimal(str(ask))) / 2
