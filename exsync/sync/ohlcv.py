"""Candles per configured symbol, from each series' cursor to now."""

from __future__ import annotations

import asyncio

from exsync.ccxt_import import errors as ccxt
from exsync.durations import parse_since
from exsync.profiles import symbols_for
from exsync.sync.symbols import listed, rejected
from exsync.sync.unit import OHLCV_CONCURRENCY, UnitContext, decimal_text


async def sync(ctx: UnitContext) -> int:
    """Candles per configured symbol, from each series' cursor (or `ohlcv_since`) to now."""
    gate = asyncio.Semaphore(OHLCV_CONCURRENCY)
    timeframe = ctx.exchange.settings.timeframe

    async def one(symbol: str) -> int:
        async with gate:
            try:
                return await _sync_series(ctx, symbol, timeframe)
            except ccxt.BadSymbol as exc:
                # The cached markets list it, the exchange no longer does (a delisting).
                await rejected(ctx, symbol, f"rejected by the exchange ({exc})")
                return 0

    symbols = await listed(ctx, list(symbols_for(ctx.exchange)))
    counts = await asyncio.gather(*(one(s) for s in symbols), return_exceptions=True)
    errors = [c for c in counts if isinstance(c, BaseException)]
    if errors:
        raise errors[0]
    return sum(c for c in counts if isinstance(c, int))


async def _sync_series(ctx: UnitContext, symbol: str, timeframe: str) -> int:
    stream = f"ohlcv:{symbol}:{timeframe}"
    step = int(ctx.client.parse_timeframe(timeframe) * 1000)
    limit = ctx.profile.page("ohlcv", 500)
    cursor = await ctx.cursor(stream)
    since = (
        cursor if cursor is not None else parse_since(ctx.exchange.settings.ohlcv_since, ctx.now_ms)
    )
    pending = ctx.pending()
    while True:
        candles = await ctx.call("fetch_ohlcv", symbol, timeframe, since, limit)
        candles = [c for c in candles if c and c[0] >= since]
        if not candles:
            break
        pending.add(
            "ohlcv",
            (
                {
                    "exchange": ctx.name,
                    "symbol": symbol,
                    "timeframe": timeframe,
                    "timestamp": c[0],
                    "open": decimal_text(c[1]),
                    "high": decimal_text(c[2]),
                    "low": decimal_text(c[3]),
                    "close": decimal_text(c[4]),
                    "volume": decimal_text(c[5]),
                }
                for c in candles
            ),
        )
        last = candles[-1][0]
        # The newest candle may still be forming: the cursor stays on it so the next pass
        # rewrites it.
        pending.move_cursor(ctx.name, stream, last)
        await pending.commit()
        if len(candles) < limit or last + step > ctx.now_ms:
            break
        since = last + step
    return pending.written
