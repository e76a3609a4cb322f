"""Markets the cached markets do not know: configured symbols the exchange does not list,
and rows whose market id is new, delisted, or shared by markets of several types.

Exchanges list and delist markets between two downloads of the markets. A configured symbol
the exchange does not list (a typo, a delisting) is skipped with a warning on the unit, so
the other symbols still sync. A row whose market id the cached markets do not know, or know
only as another market type (Bybit's spot and perpetual markets share ids: a spot trade of a
delisted spot market would be read as a trade of the perpetual), is attributed again after
one refresh of the markets, by the market type the request asked for.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from exsync.ccxt_import import errors as ccxt
from exsync.sync.unit import UnitContext

#: cached markets younger than this are not downloaded again for a symbol they do not list
FRESH_S = 3600.0
#: ccxt's parser for the rows of each call
PARSERS = {"fetch_my_trades": "parse_trade", "fetch_positions": "parse_position"}


async def listed(ctx: UnitContext, symbols: list[str]) -> list[str]:
    """The configured `symbols` the exchange lists; each other one is skipped with a warning.

    Markets cached more than an hour ago are downloaded again first, once per pass: the
    symbol may be a new listing.
    """
    if any(not _listed(ctx, s) for s in symbols) and await _cached_age(ctx) > FRESH_S:
        await ctx.refresh()
    for symbol in symbols:
        if not _listed(ctx, symbol):
            ctx.warn(f"{symbol} is not listed by {ctx.client.id}; skipped")
    return [s for s in symbols if _listed(ctx, s)]


async def rejected(ctx: UnitContext, symbol: str, why: str) -> None:
    """The exchange rejected or left out a configured symbol: record why it was skipped.

    When the cached markets list it they are stale, and are downloaded again (once per
    pass); a symbol they do not list waits for markets an hour old, as in `listed`.
    """
    if _listed(ctx, symbol) or await _cached_age(ctx) > FRESH_S:
        await ctx.refresh()
    if _listed(ctx, symbol):
        ctx.warn(f"{symbol}: {why}; skipped")
    else:
        ctx.warn(f"{symbol} is not listed by {ctx.client.id}; skipped")


async def attribute(
    ctx: UnitContext, rows: list[dict[str, Any]], market_type: str, method: str
) -> list[dict[str, Any]]:
    """`rows` of a request for `market_type`, each attributed to a market of that type.

    A row ccxt attributed to no known market, or to one of another type, is parsed again
    against the right market: the markets are refreshed first (once per pass) when no market
    has the row's id (a new listing), or when they are over an hour old. When no market of
    that type has the id, one is described from a market of another type with the same id
    (a delisted spot market whose perpetual remains) for this pass; an id no market has is
    kept, with a warning.
    """
    client = ctx.client
    wrong = [i for i, row in enumerate(rows) if _misplaced(client, row, market_type)]
    if not wrong:
        return rows
    raws = {i: _market_id(client, rows[i]) for i in wrong}
    unknown = any(not client.markets_by_id.get(raw) for raw in raws.values())
    if unknown or await _cached_age(ctx) > FRESH_S:
        await ctx.refresh()
    found = {
        raw: _market_of(client, raw, market_type)
        or _describe(client.markets_by_id.get(raw) or [], market_type)
        for raw in set(raws.values())
    }
    added = [m for m in found.values() if m is not None and m["symbol"] not in client.markets]
    if added:
        # Known for this pass only: the cached markets stay the exchange's own list.
        client.set_markets(list(client.markets.values()) + added, client.currencies)
    parser = getattr(client, PARSERS.get(method, "parse_order"))
    fixed = list(rows)
    for i, raw in raws.items():
        market = found.get(raw)
        if market is None:
            ctx.warn(f"{raw}: no {market_type} market has this id; its rows keep the id")
            continue
        try:
            fixed[i] = parser(rows[i].get("info") or {}, market)
        except ccxt.NotSupported:  # this exchange parses the call another way: keep its fields
            fixed[i] = dict(rows[i])
        fixed[i]["symbol"] = market["symbol"]
    return fixed


def kind_of(market: dict[str, Any]) -> str | None:
    """The market type of a ccxt market: spot, linear or inverse."""
    if market.get("spot"):
        return "spot"
    if market.get("linear"):
        return "linear"
    if market.get("inverse"):
        return "inverse"
    return None


def _listed(ctx: UnitContext, symbol: str) -> bool:
    market = ctx.client.markets.get(symbol)
    return market is not None and not market.get("described")


def _misplaced(client: Any, row: dict[str, Any], market_type: str) -> bool:
    symbol = row.get("symbol")
    if not symbol:
        return False
    market = client.markets.get(symbol)
    if market is None:
        return True
    return kind_of(market) != market_type


def _market_id(client: Any, row: dict[str, Any]) -> str:
    """The exchange's market id of a row: ccxt leaves the raw id as the symbol of a market
    it does not know."""
    symbol = row.get("symbol") or ""
    market = client.markets.get(symbol)
    return str(market["id"]) if market else symbol


def _market_of(client: Any, raw: str, market_type: str) -> dict[str, Any] | None:
    for market in client.markets_by_id.get(raw) or []:
        if kind_of(market) == market_type:
            return dict(market)
    return None


def _describe(siblings: list[dict[str, Any]], market_type: str) -> dict[str, Any] | None:
    """A market of `market_type` with the id of `siblings` (markets of other types)."""
    if not siblings:
        return None
    sibling = siblings[0]
    base, quote = sibling["base"], sibling["quote"]
    kinds = {
        "spot": (f"{base}/{quote}", None),
        "linear": (f"{base}/{quote}:{quote}", quote),
        "inverse": (f"{base}/{quote}:{base}", base),
    }
    if market_type not in kinds:
        return None
    symbol, settle = kinds[market_type]
    contract = settle is not None
    return {
        **sibling,
        "symbol": symbol,
        "type": "swap" if contract else "spot",
        "spot": not contract,
        "margin": False,
        "swap": contract,
        "future": False,
        "option": False,
        "contract": contract,
        "linear": market_type == "linear" if contract else None,
        "inverse": market_type == "inverse" if contract else None,
        "settle": settle,
        "settleId": settle,
        "contractSize": 1.0 if contract else None,
        "expiry": None,
        "expiryDatetime": None,
        "active": False,
        # not in the exchange's list: configured symbols never count it as listed
        "described": True,
    }


async def _cached_age(ctx: UnitContext) -> float:
    """Seconds since the markets were cached (infinite when they never were)."""
    rows = await ctx.fetch("SELECT fetched_at FROM markets WHERE exchange = ?", [ctx.name])
    if not rows:
        return float("inf")
    return (datetime.now(UTC) - datetime.fromisoformat(rows[0][0])).total_seconds()
