"""The simulated Binance exchange (spot + USD-M futures), driven by the real ccxt async
client over HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import ccxt.async_support as ccxt
import pytest

from exsync.simulator import BinanceSimulator, BybitSimulator, Scenario

T = TypeVar("T")

API_KEY = "demo-key"
SECRET = "demo-secret"
DAY = 86_400_000
HOUR = 3_600_000
WEEK = 7 * DAY
# A fixed anchor keeps generated history identical from run to run.
NOW = 1_750_000_000_000
# Options that keep load_markets to the two exchangeInfo calls (no /sapi currencies or
# margin pairs, no /dapi) and let fetch_open_orders run without a symbol.
LEAN_OPTIONS: dict[str, Any] = {
    "fetchMarkets": {"types": ["spot", "linear"]},
    "fetchMargins": False,
    "fetchCurrencies": False,
    "fetchOpenOrders": {"warnWithoutSymbol": False},
}
SPOT_SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
SWAP_SYMBOLS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]


def make_exchange(
    sim: BinanceSimulator,
    *,
    api_key: str = API_KEY,
    secret: str = SECRET,
    default_options: bool = False,
    **config: Any,
) -> ccxt.binance:
    """A real ccxt binance client whose every base URL points at the simulator."""
    settings: dict[str, Any] = {"apiKey": api_key, "secret": secret, "enableRateLimit": False}
    if not default_options:
        settings["options"] = json.loads(json.dumps(LEAN_OPTIONS))
    settings.update(config)
    exchange = ccxt.binance(settings)
    exchange.urls["api"] = sim.ccxt_urls(exchange.urls["api"])
    return exchange


def drive(sim: BinanceSimulator, body: Callable[[ccxt.binance], Awaitable[T]], **config: Any) -> T:
    """Run ``body(exchange)`` on a fresh event loop and always close the client."""

    async def main() -> T:
        exchange = make_exchange(sim, **config)
        try:
            return await body(exchange)
        finally:
            await exchange.close()

    return asyncio.run(main())


def sign(query: str, secret: str = SECRET, timestamp: int | None = None) -> str:
    """``query`` with Binance's timestamp and HMAC-SHA256 signature appended."""
    ts = timestamp if timestamp is not None else int(time.time() * 1000)
    signed = f"{query}&timestamp={ts}" if query else f"timestamp={ts}"
    digest = hmac.new(secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
    return f"{signed}&signature={digest}"


def raw_get(
    sim: BinanceSimulator, path: str, query: str = "", api_key: str | None = None
) -> tuple[int, dict[str, str], Any]:
    """A plain HTTP GET (with the key header when given); returns status, headers, JSON."""
    headers = {"X-MBX-APIKEY": api_key} if api_key is not None else {}
    url = f"{sim.url}{path}" + (f"?{query}" if query else "")
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        raw = error.read()
        body = json.loads(raw) if raw.startswith(b"{") else raw.decode()
        return error.code, dict(error.headers), body


@pytest.fixture
def sim() -> Iterator[BinanceSimulator]:
    with BinanceSimulator(Scenario(seed=1, now_ms=NOW), api_key=API_KEY, secret=SECRET) as s:
        yield s


def paths(sim: BinanceSimulator) -> list[str]:
    return [path for _, path, _ in sim.requests]


def queries(sim: BinanceSimulator, path: str) -> list[str]:
    return [q for _, p, q in sim.requests if p == path]


def unsigned(query: str) -> str:
    """A signed query without timestamp, recvWindow and signature (what varies per run)."""
    keep = [p for p in query.split("&") if p.split("=")[0] not in ("timestamp", "recvWindow")]
    return "&".join(p for p in keep if not p.startswith("signature="))


def away_from_minute_edge() -> None:
    """Weights count per calendar minute: start a weight-sensitive check well inside one."""
    if time.time() % 60 > 55:
        time.sleep(60.2 - time.time() % 60)


def windows(start: int, end: int, span: int) -> list[tuple[int, int]]:
    """Consecutive [since, until] windows of ``span`` ms covering [start, end]."""
    out, t = [], start
    while t <= end:
        out.append((t, min(t + span - 1, end)))
        t += span
    return out


# --------------------------------------------------------------------------- markets


def test_load_markets_lean_options(sim: BinanceSimulator) -> None:
    markets = drive(sim, lambda ex: ex.load_markets())

    assert sorted(markets) == sorted(SPOT_SYMBOLS + SWAP_SYMBOLS)
    # Two public requests, sent concurrently: the order of arrival varies.
    assert sorted(sim.requests) == [
        ("GET", "/api/v3/exchangeInfo", ""),
        ("GET", "/fapi/v1/exchangeInfo", ""),
    ]
    swap = markets["BTC/USDT:USDT"]
    assert (swap["type"], swap["linear"], swap["settle"], swap["contractSize"]) == (
        "swap",
        True,
        "USDT",
        1,
    )
    assert (swap["precision"]["amount"], swap["precision"]["price"]) == (0.001, 0.1)
    assert swap["limits"]["cost"]["min"] == 5 and swap["active"] is True
    spot = markets["BTC/USDT"]
    assert (spot["type"], spot["precision"]["amount"], spot["precision"]["price"]) == (
        "spot",
        1e-6,
        0.01,
    )
    assert spot["limits"]["cost"]["min"] == 5 and spot["limits"]["amount"]["min"] == 1e-6


def test_load_markets_with_default_options_and_a_key(sim: BinanceSimulator) -> None:
    async def body(ex: ccxt.binance) -> tuple[dict[str, Any], dict[str, Any]]:
        return await ex.load_markets(), ex.currencies

    markets, currencies = drive(sim, body, default_options=True)

    assert sorted(markets) == sorted(SPOT_SYMBOLS + SWAP_SYMBOLS)
    assert currencies["BTC"]["networks"]["BTC"]["withdraw"] is True
    # With a key ccxt also loads currencies and margin pairs, and asks COIN-M (/dapi)
    # for its markets; the simulator lists none there.
    assert Counter(paths(sim)) == {
        "/sapi/v1/capital/config/getall": 1,
        "/sapi/v1/margin/allPairs": 2,
        "/sapi/v1/margin/isolated/allPairs": 1,
        "/api/v3/exchangeInfo": 1,
        "/fapi/v1/exchangeInfo": 1,
        "/dapi/v1/exchangeInfo": 1,
    }
    assert markets["BTC/USDT"]["marginModes"] == {"cross": True, "isolated": True}


# --------------------------------------------------------------------------- account


def test_fetch_balance_spot_and_futures(sim: BinanceSimulator) -> None:
    async def body(ex: ccxt.binance) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        await ex.load_markets()
        sim.reset_counts()
        spot = await ex.fetch_balance()
        expected = sim.state.expected()
        futures = await ex.fetch_balance({"type": "future"})
        return spot, futures, expected

    spot, futures, expected = drive(sim, body)

    assert (
        spot["total"]
        == expected["balances"]
        == {
            "USDT": 25_000.0,
            "BTC": 0.75,
            "ETH": 4.2,
            "SOL": 120.0,
        }
    )
    for coin, total in spot["total"].items():
        assert spot["free"][coin] + spot["used"][coin] == pytest.approx(total)
    # Resting spot orders lock what they would spend.
    assert sum(spot["used"].values()) > 0
    # Futures: ccxt reports marginBalance (wallet + unrealised PnL), and skips the
    # zero assets Binance lists with updateTime 0.
    assert set(futures["total"]) == {"USDT"}
    assert futures["total"]["USDT"] == pytest.approx(expected["futures_equity"]["USDT"], rel=1e-4)
    account = futures["info"]
    assert futures["used"]["USDT"] == float(account["assets"][0]["initialMargin"])
    assert futures["free"]["USDT"] + futures["used"]["USDT"] == pytest.approx(
        futures["total"]["USDT"]
    )
    assert float(account["assets"][0]["walletBalance"]) == 10_000
    assert [(p, unsigned(q)) for _, p, q in sim.requests] == [
        ("/api/v3/account", ""),
        ("/fapi/v3/account", ""),
    ]


def test_fetch_positions(sim: BinanceSimulator) -> None:
    async def body(ex: ccxt.binance) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        await ex.load_markets()
        sim.reset_counts()
        return await ex.fetch_positions(), await ex.fetch_positions()

    first, second = drive(sim, body)

    got = sorted((p["symbol"], p["side"], p["contracts"], p["entryPrice"]) for p in first)
    assert got == sim.state.expected()["positions"]
    assert len(got) == sim.scenario.positions
    served = {row["symbol"]: row for row in sim.state.positions}
    for position in first:
        row = served[position["info"]["symbol"]]
        assert position["marginMode"] == "cross" and position["hedged"] is False
        # The mark price follows the clock, so notional and margins move a little.
        assert position["notional"] == pytest.approx(abs(float(row["notional"])), rel=1e-3)
        assert position["maintenanceMargin"] == pytest.approx(float(row["maintMargin"]), rel=1e-3)
    assert [p["symbol"] for p in first] == [p["symbol"] for p in second]
    # Leverage brackets are loaded once per client, before the first positions call.
    assert paths(sim) == [
        "/fapi/v1/leverageBracket",
        "/fapi/v3/positionRisk",
        "/fapi/v3/positionRisk",
    ]


def test_position_risk_v3_lists_flat_symbols_with_orders(sim: BinanceSimulator) -> None:
    _, _, rows = raw_get(sim, "/fapi/v3/positionRisk", sign(""), api_key=API_KEY)
    open_symbols = {o["symbol"] for o in sim.state.orders_in("linear", open_only=True)}
    held = {row["symbol"] for row in sim.state.positions}
    assert {row["symbol"] for row in rows} == held | open_symbols
    flat = [row for row in rows if row["symbol"] not in held]
    assert all(float(row["positionAmt"]) == 0 and row["entryPrice"] == "0.0" for row in flat)
    _, _, v2 = raw_get(sim, "/fapi/v2/positionRisk", sign(""), api_key=API_KEY)
    assert len(v2) == 3 and all("leverage" in row for row in v2)  # v2: every symbol


def test_fetch_open_orders(sim: BinanceSimulator) -> None:
    async def warned(ex: ccxt.binance) -> None:
        await ex.load_markets()
        sim.reset_counts()
        with pytest.raises(ccxt.ExchangeError, match="warnWithoutSymbol"):
            await ex.fetch_open_orders()

    drive(sim, warned, default_options=True)
    assert sim.requests == []  # ccxt refuses before sending anything

    async def body(ex: ccxt.binance) -> tuple[list[Any], list[Any], list[Any]]:
        await ex.load_markets()
        sim.reset_counts()
        spot = await ex.fetch_open_orders()
        futures = await ex.fetch_open_orders(params={"type": "future"})
        one = await ex.fetch_open_orders("ETH/USDT:USDT")
        return spot, futures, one

    spot, futures, one = drive(sim, body)
    expected = sim.state.expected()["open_orders"]
    assert {o["id"] for o in spot} == expected["spot"] and len(spot) == 5
    assert {o["id"] for o in futures} == expected["linear"] and len(futures) == 5
    assert all(o["symbol"] in SPOT_SYMBOLS and o["status"] == "open" for o in spot)
    assert all(o["symbol"] in SWAP_SYMBOLS for o in futures)
    assert {o["id"] for o in one} == {o["id"] for o in futures if o["symbol"] == "ETH/USDT:USDT"}
    assert [(p, unsigned(q)) for _, p, q in sim.requests] == [
        ("/api/v3/openOrders", ""),
        ("/fapi/v1/openOrders", ""),
        ("/fapi/v1/openOrders", "symbol=ETHUSDT"),
    ]
    # Without a symbol openOrders weighs 80 on spot instead of 6.
    away_from_minute_edge()
    _, first, _ = raw_get(sim, "/api/v3/openOrders", sign("symbol=BTCUSDT"), api_key=API_KEY)
    _, second, _ = raw_get(sim, "/api/v3/openOrders", sign(""), api_key=API_KEY)
    used = int(second["X-MBX-USED-WEIGHT-1M"])
    assert used - int(first["X-MBX-USED-WEIGHT-1M"]) == 80


# --------------------------------------------------------------------------- history


def test_fetch_my_trades_walks_24h_and_7_day_windows() -> None:
    scenario = Scenario(seed=5, now_ms=NOW, trades=2_000)
    with BinanceSimulator(scenario, api_key=API_KEY, secret=SECRET) as sim:
        start = NOW - scenario.history_days * DAY
        end = sim.state.now_ms()
        spans = {"spot": windows(start, end, DAY), "linear": windows(start, end, WEEK)}
        symbols = {"spot": SPOT_SYMBOLS, "linear": SWAP_SYMBOLS}

        async def body(ex: ccxt.binance) -> dict[str, list[dict[str, Any]]]:
            await ex.load_markets()
            sim.reset_counts()
            fetched: dict[str, list[dict[str, Any]]] = {"spot": [], "linear": []}
            for category, spans_of in spans.items():
                for symbol in symbols[category]:
                    for since, until in spans_of:
                        fetched[category] += await ex.fetch_my_trades(
                            symbol, since=since, limit=1000, params={"until": until}
                        )
            return fetched

        fetched = drive(sim, body)

        expected = sim.state.expected()["execution_ids"]
        for category, trades in fetched.items():
            rows = {str(r["id"]): r for r in sim.state.executions_in(category)}
            assert len(trades) == len(rows) == 1_000
            assert {t["id"]: t["timestamp"] for t in trades} == expected[category]
            for trade in trades:
                row = rows[trade["id"]]
                assert trade["fee"] == {
                    "cost": float(row["commission"]),
                    "currency": row["commissionAsset"],
                }
                assert trade["order"] == str(row["orderId"])
                assert (trade["price"], trade["amount"]) == (float(row["price"]), float(row["qty"]))
                maker = row["isMaker"] if category == "spot" else row["maker"]
                assert trade["takerOrMaker"] == ("maker" if maker else "taker")
                buyer = row["isBuyer"] if category == "spot" else row["buyer"]
                assert trade["side"] == ("buy" if buyer else "sell")
            if category == "linear":
                assert all(t["fee"]["currency"] == "USDT" for t in trades)
        # One request per symbol and window: no window holds more than one page.
        assert sim.counts["/api/v3/myTrades"] == 3 * len(spans["spot"])
        assert sim.counts["/fapi/v1/userTrades"] == 3 * len(spans["linear"])
        first = unsigned(queries(sim, "/api/v3/myTrades")[0])
        assert first == f"symbol=BTCUSDT&startTime={start}&endTime={start + DAY - 1}&limit=1000"


def test_from_id_pages_trades_oldest_first(sim: BinanceSimulator) -> None:
    async def walk(ex: ccxt.binance, symbol: str) -> list[dict[str, Any]]:
        trades: list[dict[str, Any]] = []
        from_id = 0
        while True:
            page = await ex.fetch_my_trades(symbol, limit=20, params={"fromId": from_id})
            trades += page
            if len(page) < 20:
                return trades
            from_id = int(page[-1]["id"]) + 1

    async def body(ex: ccxt.binance) -> dict[str, list[dict[str, Any]]]:
        await ex.load_markets()
        sim.reset_counts()
        return {"spot": await walk(ex, "ETH/USDT"), "linear": await walk(ex, "ETH/USDT:USDT")}

    fetched = drive(sim, body)

    for category, trades in fetched.items():
        rows = [r for r in sim.state.executions_in(category) if r["symbol"] == "ETHUSDT"]
        assert [t["id"] for t in trades] == [str(r["id"]) for r in rows]
        ids = [int(t["id"]) for t in trades]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        times = [t["timestamp"] for t in trades]
        assert times == sorted(times)  # trade ids grow with time
    spot_pages = len(fetched["spot"]) // 20 + 1
    assert sim.counts["/api/v3/myTrades"] == spot_pages


def test_fills_of_one_millisecond_beyond_a_page_are_served_by_id(sim: BinanceSimulator) -> None:
    at = NOW - 3 * HOUR
    swept = {
        "spot": sim.state.add_fills("ETH/USDT", 1_500, ts=at),
        "linear": sim.state.add_fills("ETHUSDT", 1_500, ts=at, category="linear"),
    }
    assert all(len({r["time"] for r in rows}) == 1 for rows in swept.values())
    assert all(len({r["orderId"] for r in rows}) == 1 for rows in swept.values())

    async def walk(ex: ccxt.binance, symbol: str, params: dict[str, Any]) -> list[str]:
        ids: list[str] = []
        while True:
            page = await ex.fetch_my_trades(symbol, limit=1000, params=params)
            ids += [t["id"] for t in page]
            if len(page) < 1000:
                return ids
            params = {"fromId": max(int(t["id"]) for t in page) + 1}

    async def body(ex: ccxt.binance) -> dict[str, Any]:
        await ex.load_markets()
        window = {"startTime": at, "endTime": at}
        return {
            "spot window": await ex.fetch_my_trades("ETH/USDT", limit=1000, params=window),
            "spot": await walk(ex, "ETH/USDT", {"fromId": swept["spot"][0]["id"]}),
            "linear": await walk(ex, "ETH/USDT:USDT", {"fromId": swept["linear"][0]["id"]}),
        }

    got = drive(sim, body)
    # A time window can only ever answer the first page of that millisecond ...
    assert len(got["spot window"]) == 1000
    # ... while ids lead through all of it.
    for category in ("spot", "linear"):
        assert got[category] == [str(r["id"]) for r in swept[category]]


def test_futures_trades_are_kept_six_months() -> None:
    scenario = Scenario(
        seed=2, now_ms=NOW, spot_symbols=["BTCUSDT"], linear_symbols=["BTCUSDT"], history_days=400
    )
    with BinanceSimulator(scenario, api_key=API_KEY, secret=SECRET) as sim:
        horizon = sim.state.now_ms() - 180 * DAY

        async def body(ex: ccxt.binance) -> tuple[list[Any], list[Any], list[Any]]:
            await ex.load_markets()
            futures = await ex.fetch_my_trades("BTC/USDT:USDT", limit=1000, params={"fromId": 0})
            old = await ex.fetch_my_trades(
                "BTC/USDT:USDT", params={"startTime": NOW - 300 * DAY, "endTime": NOW - 295 * DAY}
            )
            spot = await ex.fetch_my_trades("BTC/USDT", limit=1000, params={"fromId": 0})
            return futures, old, spot

        futures, old, spot = drive(sim, body)
        everything = [r for r in sim.state.executions_in("linear")]
        assert min(r["time"] for r in everything) < horizon  # older trades exist ...
        kept = [str(r["id"]) for r in everything if r["time"] >= horizon]
        assert [t["id"] for t in futures] == kept and old == []  # ... and are not served
        assert set(sim.state.expected()["execution_ids"]["linear"]) == set(kept)
        assert min(t["timestamp"] for t in spot) < horizon  # spot keeps everything


def test_window_rules_and_documented_errors(sim: BinanceSimulator) -> None:
    async def body(ex: ccxt.binance) -> None:
        await ex.load_markets()
        # Spot: startTime..endTime at most 24 hours (-1127), exactly 24 hours is fine.
        with pytest.raises(ccxt.BadRequest, match="-1127"):
            await ex.fetch_my_trades("BTC/USDT", since=NOW - DAY - 1, params={"until": NOW})
        await ex.fetch_my_trades("BTC/USDT", since=NOW - DAY, params={"until": NOW})
        with pytest.raises(ccxt.BadRequest, match="More than 24 hours"):
            await ex.fetch_orders("BTC/USDT", since=NOW - 2 * DAY, params={"until": NOW})
        # Futures: at most 7 days.
        with pytest.raises(ccxt.BadRequest, match="-1127"):
            await ex.fetch_my_trades("BTC/USDT:USDT", since=NOW - WEEK - 1, params={"until": NOW})
        await ex.fetch_my_trades("BTC/USDT:USDT", since=NOW - WEEK, params={"until": NOW})
        with pytest.raises(ccxt.BadRequest, match="-1127"):
            await ex.fetch_orders("BTC/USDT:USDT", since=NOW - 8 * DAY, params={"until": NOW})
        # fromId does not combine with a time window (-1128).
        with pytest.raises(ccxt.BadRequest, match="-1128"):
            await ex.fetch_my_trades("BTC/USDT", since=NOW - HOUR, params={"fromId": 1})
        with pytest.raises(ccxt.BadRequest, match="-1128"):
            await ex.fetch_my_trades("BTC/USDT:USDT", since=NOW - HOUR, params={"fromId": 1})
        # ccxt insists on a symbol for trades; Binance has no all-symbol trade list.
        with pytest.raises(ccxt.ArgumentsRequired):
            await ex.fetch_my_trades()

    drive(sim, body)
    status, _, body_json = raw_get(sim, "/api/v3/klines", "symbol=BTCUSDT&interval=7m")
    assert (status, body_json["code"]) == (400, -1120)
    status, _, body_json = raw_get(sim, "/api/v3/klines", "symbol=NOPE&interval=1h")
    assert (status, body_json) == (400, {"code": -1121, "msg": "Invalid symbol."})
    status, _, body_json = raw_get(sim, "/api/v3/myTrades", sign(""), api_key=API_KEY)
    assert (status, body_json["code"]) == (400, -1102)  # symbol is mandatory
    status, _, body_json = raw_get(
        sim, "/api/v3/allOrders", sign("symbol=BTCUSDT&limit=1001"), api_key=API_KEY
    )
    assert (status, body_json["code"]) == (400, -1130)


def test_defaults_without_a_window(sim: BinanceSimulator) -> None:
    async def body(ex: ccxt.binance) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
        await ex.load_markets()
        spot_trades = await ex.fetch_my_trades("BTC/USDT")
        futures_trades = await ex.fetch_my_trades("BTC/USDT:USDT")
        spot_orders = await ex.fetch_orders("BTC/USDT")
        futures_orders = await ex.fetch_orders("BTC/USDT:USDT")
        return spot_trades, futures_trades, spot_orders, futures_orders

    spot_trades, futures_trades, spot_orders, futures_orders = drive(sim, body)
    now = sim.state.now_ms()
    # Spot answers the newest trades/orders (up to 500) of any age ...
    all_spot = [r for r in sim.state.executions_in("spot") if r["symbol"] == "BTCUSDT"]
    assert [t["id"] for t in spot_trades] == [str(r["id"]) for r in all_spot]
    assert len(spot_orders) == len(
        [o for o in sim.state.orders_in("spot") if o["symbol"] == "BTCUSDT"]
    )
    # ... futures only the last 7 days.
    all_futures = [r for r in sim.state.executions_in("linear") if r["symbol"] == "BTCUSDT"]
    recent = [str(r["id"]) for r in all_futures if r["time"] >= now - WEEK]
    assert [t["id"] for t in futures_trades] == recent and len(recent) < len(all_futures)
    assert futures_orders and all(o["timestamp"] >= now - WEEK for o in futures_orders)


def test_closed_and_canceled_orders(sim: BinanceSimulator) -> None:
    start = NOW - sim.scenario.history_days * DAY - HOUR

    async def body(ex: ccxt.binance) -> dict[str, dict[str, str]]:
        await ex.load_markets()
        seen: dict[str, dict[str, str]] = {"spot": {}, "linear": {}}
        for symbol in SPOT_SYMBOLS:
            for order in await ex.fetch_closed_orders(symbol):
                seen["spot"][order["id"]] = order["status"]
            for order in await ex.fetch_canceled_orders(symbol):
                seen["spot"][order["id"]] = order["status"]
        for symbol in SWAP_SYMBOLS:
            for since, until in windows(start, sim.state.now_ms(), WEEK):
                for order in await ex.fetch_orders(symbol, since, params={"until": until}):
                    if order["status"] != "open":
                        seen["linear"][order["id"]] = order["status"]
        return seen

    seen = drive(sim, body)

    expected = sim.state.expected()["closed_orders"]
    assert seen == expected
    assert Counter(expected["spot"].values()) == {"closed": 34, "canceled": 6}
    # A filled order's amount is the sum of its trades.
    trades = sim.state.executions_in("linear")
    order = next(o for o in sim.state.history_orders if o["status"] == "FILLED" and "cumQuote" in o)
    filled = sum(float(t["qty"]) for t in trades if t["orderId"] == order["orderId"])
    assert float(order["executedQty"]) == pytest.approx(filled)


# --------------------------------------------------------------------------- market data


def test_fetch_ohlcv_matches_state(sim: BinanceSimulator) -> None:
    since = NOW - 2 * DAY
    quarter = 15 * 60_000

    async def body(ex: ccxt.binance) -> tuple[list[list[Any]], ...]:
        spot = await ex.fetch_ohlcv("BTC/USDT", "1h", since=since, limit=24)
        swap = await ex.fetch_ohlcv("ETH/USDT:USDT", "15m", since=since)
        latest = await ex.fetch_ohlcv("SOL/USDT", "1d")
        eight = await ex.fetch_ohlcv("BTC/USDT:USDT", "8h", limit=3)
        return spot, swap, latest, eight

    spot, swap, latest, eight = drive(sim, body)
    # Binance answers candles opening at or after startTime.
    first_hour = -(-since // HOUR) * HOUR
    assert [c[0] for c in spot] == [first_hour + i * HOUR for i in range(24)]
    for candle in spot:
        assert tuple(candle[1:]) == sim.state.kline("BTCUSDT", "1h", candle[0])
    # 500 asked by default, but candles stop at the one forming now.
    assert swap[0][0] == -(-since // quarter) * quarter
    assert swap[-1][0] == NOW // quarter * quarter
    assert [c[0] for c in swap] == list(range(swap[0][0], swap[-1][0] + 1, quarter))
    for candle in swap:
        assert tuple(candle[1:]) == sim.state.kline("ETHUSDT", "15m", candle[0], category="linear")
    # Candles exist from now - candle_days: daily ones are the last 4 (the first partly).
    assert [c[0] for c in latest] == [NOW // DAY * DAY - k * DAY for k in (3, 2, 1, 0)]
    assert [c[0] % (8 * HOUR) for c in eight] == [0, 0, 0]
    assert queries(sim, "/api/v3/klines")[0] == (
        f"interval=1h&limit=24&symbol=BTCUSDT&startTime={since}"
    )
    row = sim.state.kline_row("BTCUSDT", "1h", first_hour)
    assert isinstance(row[0], int) and row[6] == first_hour + HOUR - 1 and len(row) == 12


def test_fetch_tickers(sim: BinanceSimulator) -> None:
    async def body(ex: ccxt.binance) -> tuple[dict[str, Any], ...]:
        two = await ex.fetch_tickers(["BTC/USDT", "ETH/USDT"])
        spot = await ex.fetch_tickers()
        swap = await ex.fetch_tickers(params={"type": "swap"})
        return two, spot, swap

    two, spot, swap = drive(sim, body)
    assert set(two) == {"BTC/USDT", "ETH/USDT"}
    assert set(spot) == set(SPOT_SYMBOLS) and set(swap) == set(SWAP_SYMBOLS)
    for ticker in (*spot.values(), *swap.values()):
        assert ticker["low"] <= ticker["last"] <= ticker["high"]
        assert ticker["baseVolume"] > 0 and ticker["quoteVolume"] > 0
        assert ticker["percentage"] == pytest.approx(
            100 * (ticker["last"] / ticker["open"] - 1), abs=0.01
        )
    assert all(t["bid"] < t["last"] < t["ask"] for t in spot.values())
    assert all(t["bid"] is None for t in swap.values())  # futures 24hr tickers carry no book
    assert [(p, q) for _, p, q in sim.requests if "ticker" in p] == [
        ("/api/v3/ticker/24hr", "symbols=%5B%22BTCUSDT%22%2C%22ETHUSDT%22%5D"),
        ("/api/v3/ticker/24hr", ""),
        ("/fapi/v1/ticker/24hr", ""),
    ]
    status, _, one = raw_get(sim, "/api/v3/ticker/24hr", "symbol=BTCUSDT")
    assert status == 200 and one["symbol"] == "BTCUSDT" and "bidQty" in one


# --------------------------------------------------------------------------- auth


def test_authentication_errors(sim: BinanceSimulator) -> None:
    async def body(ex: ccxt.binance) -> float:
        await ex.load_markets()
        with pytest.raises(ccxt.AuthenticationError, match="-2015"):
            await ex.fetch_balance()
        ex.apiKey, ex.secret = API_KEY, "nope"
        with pytest.raises(ccxt.AuthenticationError, match="-1022"):
            await ex.fetch_balance()
        ex.secret = SECRET
        await ex.fetch_balance()
        # ccxt reads -2015 after one successful spot request as a rate-limit style ban.
        ex.apiKey = "nope"
        with pytest.raises(ccxt.DDoSProtection, match="-2015"):
            await ex.fetch_balance()
        ex.apiKey = API_KEY
        ex.options["timeDifference"] = 70_000  # our clock 70 s behind, recvWindow 10 s
        with pytest.raises(ccxt.InvalidNonce, match="outside of the recvWindow"):
            await ex.fetch_balance()
        ex.options["timeDifference"] = -5_000  # 5 s ahead
        with pytest.raises(ccxt.InvalidNonce, match="ahead of the server"):
            await ex.fetch_balance({"type": "future"})
        ex.options["timeDifference"] = 0
        balance = await ex.fetch_balance()
        return float(balance["total"]["USDT"])

    assert drive(sim, body, api_key="nope") == 25_000
    assert sim.counts["/api/v3/account"] == 6  # rejected requests count too

    sim.state.set_api_key("rotated-key", "rotated-secret")

    async def rotated(ex: ccxt.binance) -> None:
        with pytest.raises(ccxt.AuthenticationError, match="-2015"):
            await ex.fetch_balance({"type": "future"})
        ex.apiKey, ex.secret = "rotated-key", "rotated-secret"
        await ex.fetch_balance({"type": "future"})

    drive(sim, rotated)


def test_signed_requests_on_the_wire(sim: BinanceSimulator) -> None:
    status, headers, body = raw_get(sim, "/api/v3/openOrders", sign("symbol=BTCUSDT"), API_KEY)
    assert status == 200 and isinstance(body, list)
    assert int(headers["X-MBX-USED-WEIGHT-1M"]) >= 6 and "X-MBX-USED-WEIGHT" in headers
    # HMAC hex is accepted in either case.
    query = sign("symbol=BTCUSDT")
    head, _, digest = query.rpartition("signature=")
    assert (
        raw_get(sim, "/api/v3/openOrders", head + "signature=" + digest.upper(), API_KEY)[0] == 200
    )

    # Same parameters, different order: the signature no longer matches the raw query.
    reordered = "&".join(reversed(head.rstrip("&").split("&"))) + "&signature=" + digest
    status, _, body = raw_get(sim, "/api/v3/openOrders", reordered, API_KEY)
    assert (status, body["code"]) == (400, -1022)

    cases = [
        (sign("symbol=BTCUSDT"), None, 401, -2014),  # no X-MBX-APIKEY header
        (sign("symbol=BTCUSDT"), "other", 401, -2015),
        ("symbol=BTCUSDT", API_KEY, 400, -1102),  # no timestamp
        (sign("recvWindow=70000"), API_KEY, 400, -1131),
        (sign("", timestamp=int(time.time() * 1000) - 6_000), API_KEY, 400, -1021),
        (sign("", timestamp=int(time.time() * 1000) + 2_000), API_KEY, 400, -1021),
        (f"timestamp={int(time.time() * 1000)}", API_KEY, 400, -1102),  # no signature
    ]
    for query, key, want_status, want_code in cases:
        status, _, body = raw_get(sim, "/api/v3/account", query, api_key=key)
        assert (status, body["code"]) == (want_status, want_code), query

    status, headers, body = raw_get(sim, "/sapi/v1/capital/config/getall", sign(""), API_KEY)
    assert status == 200 and int(headers["X-SAPI-USED-IP-WEIGHT-1M"]) >= 10
    status, _, body = raw_get(sim, "/api/v3/time")
    assert status == 200 and abs(body["serverTime"] / 1000 - time.time()) < 5
    assert raw_get(sim, "/fapi/v1/ping")[2] == {}
    status, _, body = raw_get(sim, "/api/v3/no/such/path")
    assert status == 404 and "404" in body


# --------------------------------------------------------------------------- rate limits


def test_rate_limit_enforcement_is_opt_in(sim: BinanceSimulator) -> None:
    away_from_minute_edge()
    sim.enforce_rate_limits = True
    sim.weight_limits["api"] = 50
    answers = [raw_get(sim, "/api/v3/exchangeInfo") for _ in range(4)]  # weight 20 each
    assert [status for status, _, _ in answers] == [200, 200, 429, 418]
    _, headers, body = answers[2]
    assert body["code"] == -1003 and "current limit is 50" in body["msg"]
    assert 1 <= int(headers["Retry-After"]) <= 60 and headers["X-MBX-USED-WEIGHT-1M"] == "60"
    _, headers, body = answers[3]
    assert "IP banned until" in body["msg"] and 110 <= int(headers["Retry-After"]) <= 120
    # Futures have their own weight pool and are not banned.
    assert raw_get(sim, "/fapi/v1/time")[0] == 200

    async def body_(ex: ccxt.binance) -> None:
        # ccxt maps both 429 and 418 to DDoSProtection, not RateLimitExceeded.
        with pytest.raises(ccxt.DDoSProtection, match="418") as info:
            await ex.load_markets()
        assert not isinstance(info.value, ccxt.RateLimitExceeded)
        sim.reset_rate_limits()
        await ex.load_markets()

    drive(sim, body_)
    sim.enforce_rate_limits = False
    assert raw_get(sim, "/api/v3/exchangeInfo")[0] == 200
    assert sim.used_weight("api") >= 40  # counted again since the reset


def test_scripted_faults_map_to_ccxt_errors(sim: BinanceSimulator) -> None:
    async def body(ex: ccxt.binance) -> None:
        await ex.load_markets()
        sim.reset_counts()

        sim.fail_next(
            "/api/v3/account", code=-1003, msg="Too many requests.", headers={"Retry-After": "2"}
        )
        with pytest.raises(ccxt.DDoSProtection, match="429") as info:
            await ex.fetch_balance()
        assert not isinstance(info.value, ccxt.RateLimitExceeded)
        # The same code with HTTP 400 goes through ccxt's code table instead.
        sim.fail_next("/api/v3/account", code=-1003, msg="Too much request weight used", status=400)
        with pytest.raises(ccxt.RateLimitExceeded):
            await ex.fetch_balance()
        sim.fail_next("/api/v3/account", status=418, body='{"code":-1003,"msg":"banned"}')
        with pytest.raises(ccxt.DDoSProtection, match="418"):
            await ex.fetch_balance()
        sim.fail_next("/fapi/v3/positionRisk", status=503, body="<html>503</html>")
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await ex.fetch_positions()
        sim.fail_next("/api/v3/myTrades", code=-1001, msg="Internal error; unable to process.")
        with pytest.raises(ccxt.OperationFailed, match="-1001"):
            await ex.fetch_my_trades("BTC/USDT")
        # A fault without a path hits whatever comes next, public or private.
        sim.fail_next(code=-1121, msg="Invalid symbol.")
        with pytest.raises(ccxt.BadSymbol):
            await ex.fetch_tickers()
        # aiohttp silently retries once when a kept-alive connection drops.
        sim.fail_next("/api/v3/account", kind="drop", times=2)
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await ex.fetch_balance()
        sim.fail_next(kind="slow", delay=1.0)
        ex.timeout = 300
        with pytest.raises(ccxt.RequestTimeout):
            await ex.fetch_balance()
        ex.timeout = 10_000
        # ccxt accepts a truncated JSON body answered with HTTP 200: no coin comes back.
        sim.fail_next("/api/v3/account", kind="malformed")
        balance = await ex.fetch_balance()
        assert "BTC" not in balance["total"]

    drive(sim, body)
    assert sim.counts["/api/v3/account"] == 7  # faulted requests count too
    sim.fail_next("/api/v3/account", code=-1003, msg="slow down", headers={"Retry-After": "7"})
    status, headers, payload = raw_get(sim, "/api/v3/account", sign(""), api_key=API_KEY)
    assert (status, payload, headers["Retry-After"]) == (
        429,
        {"code": -1003, "msg": "slow down"},
        "7",
    )
    with pytest.raises(ValueError):
        sim.fail_next("/api/v3/account", times=0, status=500)


# --------------------------------------------------------------------------- mutations


def test_mutations_are_visible_to_the_next_call(sim: BinanceSimulator) -> None:
    state = sim.state
    open_linear = state.orders_in("linear", open_only=True)
    to_fill, to_cancel = str(open_linear[0]["orderId"]), str(open_linear[1]["orderId"])
    fill_symbol = open_linear[0]["symbol"].replace("USDT", "/USDT:USDT")
    cancel_symbol = open_linear[1]["symbol"].replace("USDT", "/USDT:USDT")
    closing = state.positions[0]["symbol"]

    async def body(ex: ccxt.binance) -> None:
        await ex.load_markets()
        since = state.now_ms() - 1
        assert await ex.fetch_my_trades("BTC/USDT", since=since) == []
        spot_added = state.add_trades(2, symbol="BTC/USDT")
        futures_added = state.add_trades(3, symbol="BTCUSDT", category="linear")
        spot = await ex.fetch_my_trades("BTC/USDT", since=since)
        futures = await ex.fetch_my_trades("BTC/USDT:USDT", since=since)
        assert [t["id"] for t in spot] == [str(r["id"]) for r in spot_added]
        assert [t["id"] for t in futures] == [str(r["id"]) for r in futures_added]

        fill = state.fill_order(to_fill)
        state.cancel_order(int(to_cancel))
        still_open = {o["id"] for o in await ex.fetch_open_orders(params={"type": "future"})}
        assert to_fill not in still_open and to_cancel not in still_open
        filled = {o["id"]: o for o in await ex.fetch_orders(fill_symbol)}
        assert filled[to_fill]["status"] == "closed"
        assert filled[to_fill]["filled"] == float(fill["qty"])
        canceled = await ex.fetch_canceled_orders(cancel_symbol)
        assert to_cancel in {o["id"] for o in canceled}
        fills = await ex.fetch_my_trades(fill_symbol, params={"orderId": to_fill})
        assert [t["id"] for t in fills] == [str(fill["id"])]

        state.close_position(closing)
        positions = await ex.fetch_positions()
        assert closing not in {p["info"]["symbol"] for p in positions}
        state.open_position("ETHUSDT", side="Sell", size=2.5, entry_price=3000)
        eth = [p for p in await ex.fetch_positions() if p["symbol"] == "ETH/USDT:USDT"]
        assert [(p["side"], p["contracts"], p["entryPrice"]) for p in eth] == [("short", 2.5, 3000)]

        placed = state.add_open_order("ETH/USDT", side="Sell", qty=0.5, price=4000)
        assert str(placed["orderId"]) in {o["id"] for o in await ex.fetch_open_orders("ETH/USDT")}

        state.remove_balance("SOL")
        state.set_balance("USDT", 1234.5)
        balance = await ex.fetch_balance()
        # Binance keeps listing an emptied asset: ccxt reports it as 0.
        assert balance["total"]["SOL"] == 0 and balance["total"]["USDT"] == 1234.5
        expected = state.expected()
        assert "SOL" not in expected["balances"] and expected["balances"]["USDT"] == 1234.5
        state.set_futures_balance("USDT", 500)
        futures_balance = await ex.fetch_balance({"type": "future"})
        assert futures_balance["total"]["USDT"] == pytest.approx(
            state.expected()["futures_equity"]["USDT"], rel=1e-3
        )
        assert float(futures_balance["info"]["assets"][0]["walletBalance"]) == 500

    drive(sim, body)
    expected = state.expected()
    assert to_fill not in expected["open_order_ids"]
    assert expected["closed_orders"]["linear"][to_cancel] == "canceled"
    with pytest.raises(ValueError):
        state.fill_order(to_fill)


# --------------------------------------------------------------------------- generation


def test_generation_is_deterministic_and_shared_with_bybit() -> None:
    one = BinanceSimulator(Scenario(seed=7, now_ms=NOW)).state
    two = BinanceSimulator(Scenario(seed=7, now_ms=NOW)).state
    other = BinanceSimulator(Scenario(seed=8, now_ms=NOW)).state
    assert one.executions == two.executions and one.history_orders == two.history_orders
    assert one.executions != other.executions
    times = [row["time"] for row in one.executions]
    assert times == sorted(times) and len(times) == 500
    assert all(NOW - 30 * DAY <= t < NOW for t in times)
    # Same seed, same history as the Bybit simulator, only the wire shapes differ.
    bybit = BybitSimulator(Scenario(seed=7, now_ms=NOW)).state
    assert times == [int(row["execTime"]) for row in bybit.executions]
    assert one.expected()["positions"] == bybit.expected()["positions"]
    # Every trade belongs to a filled order; ids grow with time per symbol.
    filled = {o["orderId"] for o in one.history_orders if o["status"] == "FILLED"}
    for category in ("spot", "linear"):
        rows = one.executions_in(category)
        assert {r["orderId"] for r in rows} <= filled
        for symbol in {r["symbol"] for r in rows}:
            ids = [r["id"] for r in rows if r["symbol"] == symbol]
            assert ids == sorted(ids)


def test_a_million_trades_serve_pages_by_id() -> None:
    # How fast they build and serve is the ingest benchmark's business, not a test's.
    sim = BinanceSimulator(Scenario(seed=1, now_ms=NOW, trades=1_000_000))
    with sim:
        query = sign(f"symbol=BTCUSDT&startTime={NOW - WEEK}&endTime={NOW}&limit=1000")
        status, _, rows = raw_get(sim, "/fapi/v1/userTrades", query, api_key=API_KEY)
        assert status == 200
        assert len(rows) == 1000 and [r["id"] for r in rows] == sorted(r["id"] for r in rows)
        after = sign(f"symbol=BTCUSDT&fromId={rows[-1]['id'] + 1}&limit=1000")
        _, _, more = raw_get(sim, "/fapi/v1/userTrades", after, api_key=API_KEY)
        assert more[0]["id"] > rows[-1]["id"] and more[0]["time"] >= rows[-1]["time"]


# --------------------------------------------------------------------------- both simulators


async def _ccxt_view(kind: str, ex: Any) -> dict[str, Any]:
    """What a sync would read through ccxt, in the shape of ``state.expected()``."""
    await ex.load_markets()
    if kind == "bybit":
        spot_open = await ex.fetch_open_orders(params={"type": "spot"}, limit=50)
        linear_open = await ex.fetch_open_orders(limit=50)
    else:
        spot_open = await ex.fetch_open_orders()
        linear_open = await ex.fetch_open_orders(params={"type": "future"})
    balance = await ex.fetch_balance()
    positions = await ex.fetch_positions()
    return {
        "balances": {c: v for c, v in balance["total"].items() if v},
        "positions": sorted(
            (p["symbol"], p["side"], p["contracts"], p["entryPrice"]) for p in positions
        ),
        "open_order_ids": {o["id"] for o in spot_open + linear_open},
    }


@pytest.mark.parametrize("kind", ["bybit", "binance"])
def test_expected_view_is_exchange_neutral(kind: str) -> None:
    scenario = Scenario(seed=3, now_ms=NOW)
    simulator: BybitSimulator | BinanceSimulator
    if kind == "bybit":
        simulator = BybitSimulator(scenario, api_key=API_KEY, secret=SECRET)
    else:
        simulator = BinanceSimulator(scenario, api_key=API_KEY, secret=SECRET)

    def client() -> Any:
        settings: dict[str, Any] = {"apiKey": API_KEY, "secret": SECRET, "enableRateLimit": False}
        if kind == "bybit":
            options = {"fetchMarkets": {"types": ["spot", "linear"]}, "enableUnifiedAccount": True}
            exchange: Any = ccxt.bybit({**settings, "options": options})
        else:
            exchange = ccxt.binance({**settings, "options": json.loads(json.dumps(LEAN_OPTIONS))})
        exchange.urls["api"] = simulator.ccxt_urls(exchange.urls["api"])
        return exchange

    async def main() -> dict[str, Any]:
        exchange = client()
        try:
            return await _ccxt_view(kind, exchange)
        finally:
            await exchange.close()

    with simulator:
        view = asyncio.run(main())
        expected = simulator.state.expected()
        for key in ("balances", "positions", "open_order_ids"):
            assert view[key] == expected[key], key
        executions = sum(len(ids) for ids in expected["execution_ids"].values())
        assert executions == scenario.trades
        assert set(simulator.paths) >= {"balance", "positions", "trades", "open_orders"}
        assert simulator.counts[simulator.paths["positions"][0]] == 1


def test_module_runs_standalone() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "exsync.simulator", "--exchange", "binance", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}/api/v3/time", timeout=5) as response:
            assert "serverTime" in json.loads(response.read())
    finally:
        process.terminate()
        process.wait(timeout=5)
