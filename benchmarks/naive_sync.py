"""The baseline: what a user would otherwise run — a plain sequential ccxt script.

For each account in turn it loads the markets and makes, one after the other, the same
fetches exsync's warm pass makes (balances, positions, open and recent closed orders,
recent own trades, tickers, recent candles per symbol), with ccxt's default rate limiter.
It stores nothing, which only flatters it.

    python -m benchmarks.naive_sync URL [URL ...] --symbols BTC/USDT ETH/USDT:USDT
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

import ccxt.async_support as ccxt


async def sync_account(url: str, symbols: list[str], key: str, secret: str) -> int:
    """Fetch everything for one account, sequentially; return the number of calls."""
    exchange = ccxt.bybit(
        {
            "apiKey": key,
            "secret": secret,
            "options": {
                "fetchMarkets": {"types": ["spot", "linear"]},
                "enableUnifiedAccount": True,
                "enableUnifiedMargin": False,
            },
            "has": {"fetchCurrencies": False},
        }
    )
    exchange.urls["api"] = {name: url for name in exchange.urls["api"]}
    since = int(time.time() * 1000) - 3_600_000
    calls: list[Any] = [
        (exchange.fetch_balance,),
        (exchange.fetch_positions, None, {"subType": "linear", "settleCoin": "USDT"}),
    ]
    for params in ({"type": "spot"}, {"subType": "linear", "settleCoin": "USDT"}):
        calls.append((exchange.fetch_open_orders, None, None, 50, params))
    for params in ({"type": "spot"}, {"subType": "linear"}):
        window = params | {"startTime": since}
        calls.append((exchange.fetch_canceled_and_closed_orders, None, None, 50, window))
        calls.append((exchange.fetch_my_trades, None, None, 100, window))
    spot = [s for s in symbols if ":" not in s]
    linear = [s for s in symbols if ":" in s]
    for group in (spot, linear):
        if group:
            calls.append((exchange.fetch_tickers, group))
    for symbol in symbols:
        calls.append((exchange.fetch_ohlcv, symbol, "1h", since - 3_600_000))
    try:
        await exchange.load_markets()
        for fn, *args in calls:
            await fn(*args)
    finally:
        await exchange.close()
    return len(calls)


async def naive_pass(urls: list[str], symbols: list[str], key: str, secret: str) -> int:
    """Every account, one after the other."""
    total = 0
    for url in urls:
        total += await sync_account(url, symbols, key, secret)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--symbols", nargs="+", required=True)
    args = parser.parse_args()
    key, secret = os.environ["BENCH_KEY"], os.environ["BENCH_SECRET"]
    asyncio.run(naive_pass(args.urls, args.symbols, key, secret))


if __name__ == "__main__":
    main()
