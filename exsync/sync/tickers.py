"""Tickers: the latest ticker per configured symbol."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from exsync.ccxt_import import errors as ccxt
from exsync.profiles import market_type_of, symbols_for
from exsync.store import Store, to_json, utc_now
from exsync.store.dialect import not_in
from exsync.sync.symbols import listed, rejected
from exsync.sync.unit import UnitContext, decimal_text, together


async def sync(ctx: UnitContext) -> int:
    """Latest ticker per configured symbol; one request per market type covers them all,
    the market types at once."""
    by_type: dict[str, list[str]] = defaultdict(list)
    for symbol in symbols_for(ctx.exchange):
        by_type[market_type_of(symbol)].append(symbol)
    found = await together(*(_tickers(ctx, t, configured) for t, configured in by_type.items()))
    tickers = [ticker for group in found for ticker in group]
    now = utc_now()
    rows = [
        {
            "exchange": ctx.name,
            "symbol": t["symbol"],
            "last": decimal_text(t.get("last")),
            "bid": decimal_text(t.get("bid")),
            "ask": decimal_text(t.get("ask")),
            "high": decimal_text(t.get("high")),
            "low": decimal_text(t.get("low")),
            "base_volume": decimal_text(t.get("baseVolume")),
            "quote_volume": decimal_text(t.get("quoteVolume")),
            "percentage": decimal_text(t.get("percentage")),
            "timestamp": t.get("timestamp") or ctx.now_ms,
            "synced_at": now,
            "raw": to_json(t.get("info")),
        }
        for t in tickers
    ]
    current = [r["symbol"] for r in rows]

    def finish(store: Store) -> None:
        others, params = not_in("symbol", current)
        store.execute(f"DELETE FROM tickers WHERE exchange = ? AND {others}", [ctx.name, *params])

    pending = ctx.pending()
    pending.add("tickers", rows)
    await pending.commit(finish)
    return len(rows)


async def _tickers(ctx: UnitContext, market_type: str, configured: list[str]) -> list[Any]:
    """The tickers of the configured symbols of one market type the exchange sends."""
    symbols = await listed(ctx, configured)
    if not symbols:
        return []
    try:
        result = await market_tickers(ctx, market_type, symbols)
    except ccxt.BadSymbol:
        # One symbol the cached markets list is gone, and the exchange rejects the whole
        # request for it (Binance): ask symbol by symbol.
        result = {}
        for symbol in symbols:
            try:
                # the symbol says the market type: no type parameter
                result[symbol] = await ctx.call("fetch_ticker", symbol)
            except ccxt.BadSymbol as exc:
                await rejected(ctx, symbol, f"rejected by the exchange ({exc})")
    tickers = []
    for symbol in symbols:
        if symbol in result:
            tickers.append(result[symbol])
        else:
            # Bybit answers a whole category: a delisted symbol is just not in it.
            await rejected(ctx, symbol, "the exchange sent no ticker")
    return tickers


async def market_tickers(ctx: UnitContext, market_type: str, symbols: list[str]) -> dict[str, Any]:
    """The tickers of `symbols` (of one market type) the exchange sends, by symbol.

    Where one request answers every market of the type (`tickers_by_market_type`), it is
    made once a pass and shared: the tickers unit and the valuation of balances ask once.
    """
    params = ctx.params_for(market_type)
    if not ctx.profile.tickers_by_market_type:
        found: dict[str, Any] = await ctx.call("fetch_tickers", symbols, params)
        return found
    every = await ctx.once(
        f"tickers {market_type}", lambda: ctx.call("fetch_tickers", None, params)
    )
    return {symbol: every[symbol] for symbol in symbols if symbol in every}
