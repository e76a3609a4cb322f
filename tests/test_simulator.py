"""The simulated Bybit exchange, driven by the real ccxt async client over HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import http.client
import json
import math
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import ccxt.async_support as ccxt
import pytest

from exsync.simulator import BybitSimulator, Scenario

T = TypeVar("T")

API_KEY = "demo-key"
SECRET = "demo-secret"
DAY = 86_400_000
HOUR = 3_600_000
# A fixed anchor keeps generated history identical from run to run.
NOW = 1_750_000_000_000
WARM_OPTIONS = {
    "fetchMarkets": {"types": ["spot", "linear"]},
    "enableUnifiedAccount": True,
    "enableUnifiedMargin": False,
}


def make_exchange(
    sim: BybitSimulator,
    *,
    api_key: str = API_KEY,
    secret: str = SECRET,
    default_options: bool = False,
    **config: Any,
) -> ccxt.bybit:
    """A real ccxt bybit client whose every base URL points at the simulator."""
    settings: dict[str, Any] = {"apiKey": api_key, "secret": secret, "enableRateLimit": False}
    if not default_options:
        settings["options"] = dict(WARM_OPTIONS)
        settings["has"] = {"fetchCurrencies": False}
    settings.update(config)
    exchange = ccxt.bybit(settings)
    exchange.urls["api"] = dict.fromkeys(exchange.urls["api"], sim.url)
    return exchange


def drive(sim: BybitSimulator, body: Callable[[ccxt.bybit], Awaitable[T]], **config: Any) -> T:
    """Run ``body(exchange)`` on a fresh event loop and always close the client."""

    async def main() -> T:
        exchange = make_exchange(sim, **config)
        try:
            return await body(exchange)
        finally:
            await exchange.close()

    return asyncio.run(main())


def raw_get(
    sim: BybitSimulator,
    path: str,
    query: str = "",
    *,
    signed: bool = False,
    api_key: str = API_KEY,
    secret: str = SECRET,
    timestamp: int | None = None,
) -> tuple[int, dict[str, str], Any]:
    """A plain HTTP GET (signed like Bybit v5 when asked); returns status, headers, JSON."""
    headers = {}
    if signed:
        ts = str(timestamp if timestamp is not None else int(time.time() * 1000))
        payload = f"{ts}{api_key}5000{query}".encode()
        headers = {
            "X-BAPI-API-KEY": api_key,
            "X-BAPI-TIMESTAMP": ts,
            "X-BAPI-RECV-WINDOW": "5000",
            "X-BAPI-SIGN": hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest(),
        }
    url = f"{sim.url}{path}" + (f"?{query}" if query else "")
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"null")


@pytest.fixture
def sim() -> Iterator[BybitSimulator]:
    with BybitSimulator(Scenario(seed=1, now_ms=NOW), api_key=API_KEY, secret=SECRET) as simulator:
        yield simulator


def paths(sim: BybitSimulator) -> list[str]:
    return [path for _, path, _ in sim.requests]


# --------------------------------------------------------------------------- markets


def test_load_markets_warm_options(sim: BybitSimulator) -> None:
    markets = drive(sim, lambda ex: ex.load_markets())

    assert sorted(markets) == [
        "BTC/USDT",
        "BTC/USDT:USDT",
        "ETH/USDT",
        "ETH/USDT:USDT",
        "SOL/USDT",
        "SOL/USDT:USDT",
    ]
    assert sorted(query for _, _, query in sim.requests) == [
        "category=linear&limit=1000",
        "category=linear&limit=1000&status=PreLaunch",
        "category=spot",
    ]
    swap = markets["BTC/USDT:USDT"]
    assert (swap["type"], swap["linear"], swap["settle"], swap["active"]) == (
        "swap",
        True,
        "USDT",
        True,
    )
    assert (swap["precision"]["amount"], swap["precision"]["price"]) == (0.001, 0.1)
    assert swap["limits"]["leverage"]["max"] == 100
    spot = markets["BTC/USDT"]
    assert (spot["type"], spot["precision"]["amount"], spot["precision"]["price"]) == (
        "spot",
        1e-6,
        0.01,
    )
    assert spot["limits"]["cost"]["min"] == 5


def test_load_markets_cold_with_default_options(sim: BybitSimulator) -> None:
    async def body(ex: ccxt.bybit) -> tuple[dict[str, Any], dict[str, Any]]:
        return await ex.load_markets(), await ex.fetch_balance()

    markets, balance = drive(sim, body, default_options=True)

    assert {"BTC/USDT", "BTC/USDT:USDT", "BTC/USD:BTC"} <= set(markets)
    assert markets["BTC/USD:BTC"]["inverse"] is True
    assert balance["total"]["BTC"] == 0.75
    counted = Counter(paths(sim))
    # 12 for load_markets (coin info, spot, six option bases, linear and inverse twice each),
    # then the unified-account probe and the balance itself.
    assert counted == {
        "/v5/asset/coin/query-info": 1,
        "/v5/market/instruments-info": 11,
        "/v5/user/query-api": 1,
        "/v5/account/info": 1,
        "/v5/account/wallet-balance": 1,
    }
    option_queries = [q for _, p, q in sim.requests if "category=option" in q]
    assert len(option_queries) == 6


def test_instruments_info_paginates_with_cursor(sim: BybitSimulator) -> None:
    symbols, cursor = [], ""
    for _ in range(5):
        query = "category=linear&limit=1" + (f"&cursor={cursor}" if cursor else "")
        status, _, body = raw_get(sim, "/v5/market/instruments-info", query)
        assert status == 200 and body["retCode"] == 0
        symbols += [row["symbol"] for row in body["result"]["list"]]
        cursor = body["result"]["nextPageCursor"]
        if not cursor:
            break
        assert "%" in cursor  # opaque and percent-encoded, like Bybit's
    assert symbols == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    _, _, option = raw_get(sim, "/v5/market/instruments-info", "category=option&baseCoin=BTC")
    assert option["result"]["list"] == []


# --------------------------------------------------------------------------- account


def test_fetch_balance_totals_and_used(sim: BybitSimulator) -> None:
    balance = drive(sim, lambda ex: ex.fetch_balance())

    assert balance["total"] == {"USDT": 25_000.0, "BTC": 0.75, "ETH": 4.2, "SOL": 120.0}
    for coin, total in balance["total"].items():
        assert balance["free"][coin] + balance["used"][coin] == pytest.approx(total)
    # USDT backs the positions' and linear orders' margin, so some of it is in use.
    assert balance["used"]["USDT"] > 0
    # With enableUnifiedAccount preset there is no query-api / account/info probe.
    assert Counter(paths(sim)) == {
        "/v5/market/instruments-info": 3,
        "/v5/account/wallet-balance": 1,
    }
    assert sim.requests[-1] == ("GET", "/v5/account/wallet-balance", "accountType=UNIFIED")
    coin_row = balance["info"]["result"]["list"][0]["coin"][0]
    assert coin_row["walletBalance"] == "25000" and isinstance(coin_row["equity"], str)


def test_fetch_positions(sim: BybitSimulator) -> None:
    positions = drive(sim, lambda ex: ex.fetch_positions())

    served = {row["symbol"]: row for row in sim.state.positions}
    assert len(positions) == sim.scenario.positions == len(served)
    for position in positions:
        row = served[position["info"]["symbol"]]
        assert position["symbol"] == row["symbol"].replace("USDT", "/USDT:USDT")
        assert position["side"] == {"Buy": "long", "Sell": "short"}[row["side"]]
        assert position["contracts"] == float(row["size"])
        assert position["entryPrice"] == float(row["avgPrice"])
    assert sim.requests[-1][2] == "settleCoin=USDT&limit=200&category=linear"


def test_position_list_needs_symbol_or_settle_coin(sim: BybitSimulator) -> None:
    _, _, body = raw_get(sim, "/v5/position/list", "category=linear", signed=True)
    assert body["retCode"] == 10001
    symbol = sim.state.positions[0]["symbol"]
    _, _, body = raw_get(sim, "/v5/position/list", f"category=linear&symbol={symbol}", signed=True)
    assert [row["symbol"] for row in body["result"]["list"]] == [symbol]


def test_fetch_open_orders_page_sizes() -> None:
    scenario = Scenario(seed=3, now_ms=NOW, open_orders=45)
    with BybitSimulator(scenario) as sim:

        async def body(ex: ccxt.bybit) -> tuple[int, int, int, int]:
            default_page = await ex.fetch_open_orders()
            linear = await ex.fetch_open_orders(limit=50)
            spot = await ex.fetch_open_orders(params={"type": "spot", "paginate": True})
            first_page = await ex.fetch_open_orders(limit=30)
            return len(default_page), len(linear), len(spot), len(first_page)

        sizes = drive(sim, body)

    # Without limit Bybit answers one page of 20: ccxt does not ask for more.
    assert sizes == (20, 45, 45, 30)


def test_fetch_open_orders_paginate_follows_cursor() -> None:
    with BybitSimulator(Scenario(seed=4, now_ms=NOW, open_orders=120)) as sim:
        orders = drive(sim, lambda ex: ex.fetch_open_orders(since=1, params={"paginate": True}))

        expected = {row["orderId"] for row in sim.state.orders_in("linear", open_only=True)}
        assert len(orders) == 120 and {o["id"] for o in orders} == expected
        queries = [q for _, p, q in sim.requests if p == "/v5/order/realtime"]
        # 50 + 50 + 20, and as on Bybit the short last page still carries a cursor: ccxt
        # follows it to an empty page.
        assert len(queries) == 4
        # ccxt sends nextPageCursor back byte for byte; the signature covers it as sent.
        assert "cursor=page_args%3D" in queries[1]


def test_fetch_my_trades_backfill_over_7_day_windows() -> None:
    scenario = Scenario(seed=5, now_ms=NOW, trades=2_000)
    with BybitSimulator(scenario) as sim:
        start = NOW - scenario.history_days * DAY
        end = sim.state.now_ms()
        windows = []
        t = start
        while t <= end:
            windows.append((t, min(t + 7 * DAY - 1, end)))
            t += 7 * DAY

        async def backfill(ex: ccxt.bybit, market_type: str) -> list[dict[str, Any]]:
            trades: list[dict[str, Any]] = []
            for since, until in windows:
                params = {"type": market_type, "until": until, "paginate": True}
                trades += await ex.fetch_my_trades(since=since, params=params)
            return trades

        async def body(ex: ccxt.bybit) -> dict[str, list[dict[str, Any]]]:
            await ex.load_markets()
            sim.reset_counts()
            return {"linear": await backfill(ex, "swap"), "spot": await backfill(ex, "spot")}

        fetched = drive(sim, body)

        expected_requests = 0
        for category, trades in fetched.items():
            rows = sim.state.executions_in(category)
            assert len(trades) == len(rows) == 1_000
            assert {t["id"] for t in trades} == {r["execId"] for r in rows}
            by_id = {r["execId"]: r for r in rows}
            for trade in trades:
                row = by_id[trade["id"]]
                assert trade["timestamp"] == int(row["execTime"])
                assert trade["fee"]["cost"] == float(row["execFee"])
                assert trade["fee"]["rate"] == float(row["feeRate"])
                assert trade["fee"]["currency"] == row.get("feeCurrency", "USDT")
                assert trade["order"] == row["orderId"]
                assert trade["takerOrMaker"] == ("maker" if row["isMaker"] else "taker")
            for since, until in windows:
                count = sum(since <= int(r["execTime"]) <= until for r in rows)
                # every page that holds rows carries a cursor, the last one too: ccxt stops
                # at the empty page that follows
                expected_requests += math.ceil(count / 100) + 1
        assert sim.counts["/v5/execution/list"] == expected_requests
        assert all("execType=Trade" in q for _, _, q in sim.requests)


def test_spans_over_7_days_are_bad_requests(sim: BybitSimulator) -> None:
    async def body(ex: ccxt.bybit) -> list[type[Exception]]:
        raised = []
        for call in (ex.fetch_my_trades, ex.fetch_closed_orders):
            with pytest.raises(ccxt.BadRequest) as info:
                await call(since=NOW - 8 * DAY, params={"until": NOW})
            raised.append(type(info.value))
        # Exactly seven days is still allowed.
        await ex.fetch_my_trades(since=NOW - 7 * DAY, params={"until": NOW})
        return raised

    assert drive(sim, body) == [ccxt.BadRequest, ccxt.BadRequest]


def test_history_defaults_and_filters(sim: BybitSimulator) -> None:
    async def body(ex: ccxt.bybit) -> tuple[list[Any], list[Any], list[Any]]:
        closed = await ex.fetch_closed_orders(params={"type": "spot"})
        canceled = await ex.fetch_canceled_orders(params={"type": "spot"})
        recent = await ex.fetch_my_trades(params={"type": "spot"})
        return closed, canceled, recent

    closed, canceled, recent = drive(sim, body)
    now = sim.state.now_ms()
    assert closed and all(o["status"] == "closed" for o in closed)
    assert all(now - 7 * DAY <= o["lastUpdateTimestamp"] <= now for o in closed)
    assert canceled and all(o["status"] == "canceled" for o in canceled)
    assert 0 < len(recent) <= 50  # no limit: Bybit's default page of 50, last 7 days
    history_query = next(q for _, p, q in sim.requests if p == "/v5/order/history")
    assert history_query == "category=spot&orderStatus=Filled"


# --------------------------------------------------------------------------- market data


def test_fetch_ohlcv_matches_state(sim: BybitSimulator) -> None:
    since = NOW - 2 * DAY
    quarter = 15 * 60_000

    async def body(ex: ccxt.bybit) -> tuple[list[list[Any]], ...]:
        spot = await ex.fetch_ohlcv("BTC/USDT", "1h", since=since, limit=24)
        swap = await ex.fetch_ohlcv("ETH/USDT:USDT", "15m", since=since)
        latest = await ex.fetch_ohlcv("SOL/USDT", "1d")
        too_old = await ex.fetch_ohlcv("BTC/USDT", "1h", since=NOW - 10 * DAY, limit=5)
        return spot, swap, latest, too_old

    spot, swap, latest, too_old = drive(sim, body)
    # ccxt rounds since up to a whole candle; with only start, Bybit answers from there.
    first_hour = -(-since // HOUR) * HOUR
    assert [c[0] for c in spot] == [first_hour + i * HOUR for i in range(24)]
    for candle in spot:
        assert tuple(candle[1:]) == sim.state.kline("BTCUSDT", "60", candle[0])
    # 200 requested, but candles stop at the one forming now.
    assert swap[0][0] == -(-since // quarter) * quarter
    assert swap[-1][0] == NOW // quarter * quarter
    assert [c[0] for c in swap] == list(range(swap[0][0], swap[-1][0] + 1, quarter))
    for candle in swap:
        assert tuple(candle[1:]) == sim.state.kline("ETHUSDT", "15", candle[0], category="linear")
    # Candles exist from now - candle_days: daily ones are the last 4 (the first partly).
    assert [c[0] for c in latest] == [NOW // DAY * DAY - k * DAY for k in (3, 2, 1, 0)]
    assert too_old[0][0] == (NOW - 3 * DAY) // HOUR * HOUR
    kline_queries = [q for _, p, q in sim.requests if p == "/v5/market/kline"]
    assert (
        kline_queries[0] == f"symbol=BTCUSDT&start={first_hour}&limit=24&interval=60&category=spot"
    )
    status, _, body_json = raw_get(sim, "/v5/market/kline", "category=spot&symbol=NOPE&interval=60")
    assert (status, body_json["retCode"]) == (200, 10001)


def test_weekly_and_monthly_candles_follow_the_calendar() -> None:
    with BybitSimulator(Scenario(seed=1, now_ms=NOW, candle_days=120)) as sim:

        async def body(ex: ccxt.bybit) -> tuple[list[list[Any]], list[list[Any]]]:
            return await ex.fetch_ohlcv("BTC/USDT", "1w", limit=3), await ex.fetch_ohlcv(
                "BTC/USDT", "1M", limit=3
            )

        weeks, months = drive(sim, body)

    def iso(candles: list[list[Any]]) -> list[str]:
        return [time.strftime("%Y-%m-%d %a", time.gmtime(c[0] / 1000)) for c in candles]

    # NOW is Sunday 2025-06-15: weekly candles open on Mondays, monthly on the 1st.
    assert iso(weeks) == ["2025-05-26 Mon", "2025-06-02 Mon", "2025-06-09 Mon"]
    assert iso(months) == ["2025-04-01 Tue", "2025-05-01 Thu", "2025-06-01 Sun"]


def test_inverse_contracts() -> None:
    options = dict(WARM_OPTIONS, fetchMarkets={"types": ["inverse"]})
    with BybitSimulator(Scenario(seed=2, now_ms=NOW)) as sim:
        sim.state.open_position("BTCUSD", side="Sell", size=2_000, entry_price=60_000)
        added = sim.state.add_trades(2, symbol="BTC/USD:BTC")

        async def body(ex: ccxt.bybit) -> tuple[Any, ...]:
            positions = await ex.fetch_positions(params={"subType": "inverse"})
            trades = await ex.fetch_my_trades("BTC/USD:BTC", since=NOW - DAY)
            candles = await ex.fetch_ohlcv("BTC/USD:BTC", "1h", limit=2)
            return positions, trades, candles

        positions, trades, candles = drive(sim, body, options=options)

        assert [(p["symbol"], p["side"], p["contracts"]) for p in positions] == [
            ("BTC/USD:BTC", "short", 2_000)
        ]
        position_query = next(q for _, p, q in sim.requests if p == "/v5/position/list")
        assert position_query == "category=inverse&limit=200"  # no settleCoin for inverse
        assert sorted(t["id"] for t in trades) == sorted(r["execId"] for r in added)
        assert all(t["fee"]["currency"] == "BTC" for t in trades)  # inverse pays in base coin
        # ccxt reports an inverse candle's turnover (BTC, index 6) as its volume.
        row = sim.state.kline_row("BTCUSD", "60", candles[-1][0], category="inverse")
        assert candles[-1][5] == float(row[6])


def test_fetch_tickers(sim: BybitSimulator) -> None:
    async def body(ex: ccxt.bybit) -> tuple[dict[str, Any], dict[str, Any]]:
        return await ex.fetch_tickers(params={"type": "spot"}), await ex.fetch_tickers(
            ["BTC/USDT:USDT", "ETH/USDT:USDT"]
        )

    spot, swap = drive(sim, body)
    assert set(spot) == {"BTC/USDT", "ETH/USDT", "SOL/USDT"}
    assert set(swap) == {"BTC/USDT:USDT", "ETH/USDT:USDT"}
    for ticker in (*spot.values(), *swap.values()):
        assert ticker["bid"] < ticker["last"] < ticker["ask"]
        assert ticker["low"] <= ticker["last"] <= ticker["high"]
        assert ticker["baseVolume"] > 0 and ticker["quoteVolume"] > 0
        assert ticker["percentage"] == pytest.approx(
            100 * (ticker["last"] / ticker["open"] - 1), abs=0.01
        )
    assert swap["BTC/USDT:USDT"]["markPrice"] > 0
    assert [q for _, p, q in sim.requests if p == "/v5/market/tickers"] == [
        "category=spot",
        "category=linear",
    ]


# --------------------------------------------------------------------------- auth


def test_authentication_errors(sim: BybitSimulator) -> None:
    async def body(ex: ccxt.bybit) -> float:
        await ex.load_markets()
        ex.apiKey = "nope"
        with pytest.raises(ccxt.AuthenticationError, match="10003"):
            await ex.fetch_balance()
        ex.apiKey, ex.secret = API_KEY, "nope"
        with pytest.raises(ccxt.AuthenticationError, match="10004"):
            await ex.fetch_balance()
        ex.secret = SECRET
        ex.options["timeDifference"] = 10_000  # our clock 10 s behind the server's
        with pytest.raises(ccxt.InvalidNonce, match="10002"):
            await ex.fetch_balance()
        ex.options["timeDifference"] = 0

        sim.state.set_api_key("rotated-key", "rotated-secret")
        with pytest.raises(ccxt.AuthenticationError, match="10003"):
            await ex.fetch_balance()
        ex.apiKey, ex.secret = "rotated-key", "rotated-secret"
        balance = await ex.fetch_balance()
        return float(balance["total"]["USDT"])

    assert drive(sim, body) == 25_000
    assert sim.counts["/v5/account/wallet-balance"] == 5  # rejected requests count too


def test_signature_covers_raw_query_and_limit_headers(sim: BybitSimulator) -> None:
    query = "category=linear&settleCoin=USDT&limit=5"
    status, headers, body = raw_get(sim, "/v5/order/realtime", query, signed=True)
    assert status == 200 and body["retCode"] == 0 and len(body["result"]["list"]) == 5
    assert set(body) == {"retCode", "retMsg", "result", "retExtInfo", "time"}
    assert headers["X-Bapi-Limit"] == "50" and int(headers["X-Bapi-Limit-Status"]) <= 49
    assert int(headers["X-Bapi-Limit-Reset-Timestamp"]) > body["time"] - 1000

    # Same parameters, different order: the signature no longer matches the raw query.
    reordered = "&".join(sorted(query.split("&")))
    ts = int(time.time() * 1000)
    payload = f"{ts}{API_KEY}5000{query}".encode()
    signature = hmac.new(SECRET.encode(), payload, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"{sim.url}/v5/order/realtime?{reordered}",
        headers={
            "X-BAPI-API-KEY": API_KEY,
            "X-BAPI-TIMESTAMP": str(ts),
            "X-BAPI-RECV-WINDOW": "5000",
            "X-BAPI-SIGN": signature,
        },
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.loads(response.read())["retCode"] == 10004

    status, _, body = raw_get(sim, "/v5/market/time")
    assert status == 200 and abs(int(body["result"]["timeSecond"]) - time.time()) < 5
    status, _, body = raw_get(sim, "/v5/no/such/path")
    assert status == 404 and body["retCode"] != 0


# --------------------------------------------------------------------------- mutations


def test_mutations_are_visible_to_the_next_call(sim: BybitSimulator) -> None:
    state = sim.state
    open_linear = state.orders_in("linear", open_only=True)
    to_fill, to_cancel = open_linear[0]["orderId"], open_linear[1]["orderId"]
    closing = state.positions[0]["symbol"]

    async def body(ex: ccxt.bybit) -> None:
        since = state.now_ms() - 1
        assert await ex.fetch_my_trades(since=since) == []

        added = state.add_trades(3, symbol="BTCUSDT", category="linear")
        trades = await ex.fetch_my_trades(since=since)
        assert sorted(t["id"] for t in trades) == sorted(r["execId"] for r in added)
        assert all(t["symbol"] == "BTC/USDT:USDT" for t in trades)

        state.close_position(closing)
        positions = await ex.fetch_positions()
        assert closing not in {p["info"]["symbol"] for p in positions}
        assert len(positions) == sim.scenario.positions - 1
        state.open_position("SOLUSDT", side="Sell", size=12.5, entry_price=140)
        sol = [p for p in await ex.fetch_positions() if p["symbol"] == "SOL/USDT:USDT"]
        assert [(p["side"], p["contracts"], p["entryPrice"]) for p in sol] == [("short", 12.5, 140)]

        fill = state.fill_order(to_fill)
        state.cancel_order(to_cancel)
        still_open = {o["id"] for o in await ex.fetch_open_orders(limit=50)}
        assert to_fill not in still_open and to_cancel not in still_open
        # Bybit filters order/history by updatedTime; ccxt then drops every order
        # *created* before `since`, so an order filled after `since` is lost ...
        closed = {o["id"] for o in await ex.fetch_closed_orders(since=since)}
        assert closed == {row["orderId"] for row in added}
        # ... unless the window goes in as startTime, which ccxt does not filter on.
        window = {"startTime": since}
        closed_by_id = {o["id"]: o for o in await ex.fetch_closed_orders(params=window)}
        assert set(closed_by_id) == {to_fill} | closed
        assert closed_by_id[to_fill]["filled"] == float(fill["execQty"])
        assert closed_by_id[to_fill]["status"] == "closed"
        canceled = await ex.fetch_canceled_orders(params=window)
        assert [o["id"] for o in canceled] == [to_cancel]
        fills = await ex.fetch_my_trades(since=since, params={"orderId": to_fill})
        assert [t["id"] for t in fills] == [fill["execId"]]

        placed = state.add_open_order("ETH/USDT", side="Sell", qty=0.5, price=4000)
        spot_open = await ex.fetch_open_orders(params={"type": "spot"}, limit=50)
        assert placed["orderId"] in {o["id"] for o in spot_open}

        state.remove_balance("SOL")
        state.set_balance("USDT", 1234.5)
        balance = await ex.fetch_balance()
        assert "SOL" not in balance["total"] and balance["total"]["USDT"] == 1234.5

    drive(sim, body)


# --------------------------------------------------------------------------- faults


def test_scripted_faults_map_to_ccxt_errors(sim: BybitSimulator) -> None:
    async def body(ex: ccxt.bybit) -> None:
        await ex.load_markets()
        sim.reset_counts()

        sim.fail_next(
            path="/v5/position/list",
            status=503,
            body="<html>503 Service Temporarily Unavailable</html>",
        )
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await ex.fetch_positions()
        assert len(await ex.fetch_positions()) == 2

        sim.fail_next(
            path="/v5/execution/list", times=2, ret_code=10006, ret_msg="Too many visits!"
        )
        for _ in range(2):
            with pytest.raises(ccxt.RateLimitExceeded):
                await ex.fetch_my_trades()
        await ex.fetch_my_trades()
        assert sim.counts["/v5/position/list"] == 2 and sim.counts["/v5/execution/list"] == 3

        # A fault without a path hits whatever comes next, public or private.
        sim.fail_next(ret_code=10016, ret_msg="Server error.")
        with pytest.raises(ccxt.ExchangeError):
            await ex.fetch_tickers(params={"type": "spot"})

        # aiohttp silently retries once when a kept-alive connection drops, so a
        # disconnect has to happen twice in a row to reach the caller.
        sim.fail_next(path="/v5/account/wallet-balance", kind="drop", times=2)
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await ex.fetch_balance()

        sim.fail_next(kind="slow", delay=1.0)
        ex.timeout = 300
        with pytest.raises(ccxt.RequestTimeout):
            await ex.fetch_balance()
        ex.timeout = 10_000

        # ccxt does not reject a truncated JSON body answered with HTTP 200: the
        # parse fails silently and fetch_balance comes back without any coin.
        sim.fail_next(path="/v5/account/wallet-balance", kind="malformed")
        balance = await ex.fetch_balance()
        assert "BTC" not in balance["total"]

    drive(sim, body)


def test_rate_limit_enforcement_is_opt_in(sim: BybitSimulator) -> None:
    sim.enforce_rate_limits = True
    codes = [raw_get(sim, "/v5/user/query-api", signed=True)[2]["retCode"] for _ in range(12)]
    assert codes[:10] == [0] * 10 and codes[10:] == [10006, 10006]  # query-api: 10 per second
    sim.enforce_rate_limits = False
    assert raw_get(sim, "/v5/user/query-api", signed=True)[2]["retCode"] == 0


def test_latency_applies_to_every_answer(sim: BybitSimulator) -> None:
    sim.latency = 0.2
    started = time.perf_counter()
    raw_get(sim, "/v5/market/time")
    assert time.perf_counter() - started >= 0.2
    sim.latency = 0


# --------------------------------------------------------------------------- generation


def test_generation_is_deterministic() -> None:
    one = BybitSimulator(Scenario(seed=7, now_ms=NOW)).state
    two = BybitSimulator(Scenario(seed=7, now_ms=NOW)).state
    other = BybitSimulator(Scenario(seed=8, now_ms=NOW)).state
    assert one.executions == two.executions and one.history_orders == two.history_orders
    assert one.executions != other.executions
    assert one.kline("BTCUSDT", "D", NOW // DAY * DAY) == two.kline(
        "BTCUSDT", "D", NOW // DAY * DAY
    )
    times = [int(row["execTime"]) for row in one.executions]
    assert times == sorted(times) and len(times) == 500
    assert all(NOW - 30 * DAY <= t < NOW for t in times)
    # Every execution belongs to an order in order history, with matching totals.
    history = {row["orderId"]: row for row in one.history_orders}
    for row in one.executions:
        assert history[row["orderId"]]["orderStatus"] == "Filled"


def test_a_million_trades_serve_pages_newest_first() -> None:
    # How fast they build and serve is the ingest benchmark's business, not a test's.
    sim = BybitSimulator(Scenario(seed=1, now_ms=NOW, trades=1_000_000))
    with sim:
        query = f"category=linear&limit=100&startTime={NOW - 7 * DAY}&endTime={NOW}"
        _, _, body = raw_get(sim, "/v5/execution/list", query, signed=True)
        rows = body["result"]["list"]
        assert len(rows) == 100 and body["result"]["nextPageCursor"]
        times = [int(r["execTime"]) for r in rows]
        assert times == sorted(times, reverse=True)  # newest first, as Bybit serves
        next_query = dict(parse_qsl(query)) | {"cursor": body["result"]["nextPageCursor"]}
        _, _, second = raw_get(sim, "/v5/execution/list", urlencode(next_query), signed=True)
        assert int(second["result"]["list"][0]["execTime"]) <= times[-1]
        assert not {r["execId"] for r in rows} & {r["execId"] for r in second["result"]["list"]}


def test_module_runs_standalone() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "exsync.simulator", "--port", "0", "--seed", "2"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{url}/v5/market/time", timeout=5) as response:
            assert json.loads(response.read())["retCode"] == 0
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_answers_on_a_kept_alive_connection_are_not_held_back(sim: BybitSimulator) -> None:
    """A real API answers a request on a kept-alive connection as soon as it is ready; the
    simulator's body must not wait for the client's delayed ACK of its headers (Nagle's
    algorithm: 40 ms on Linux), which made latency figures of a few requests meaningless."""
    where = urlsplit(sim.url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=5)
    took = []
    try:
        for _ in range(20):
            started = time.perf_counter()
            conn.request("GET", "/v5/market/time")
            response = conn.getresponse()
            assert response.status == 200 and response.read()
            took.append(time.perf_counter() - started)
    finally:
        conn.close()
    took.sort()
    assert took[len(took) // 2] < 0.02, took  # the median answer: no 40 ms wait


def test_many_connections_opened_at_once_are_all_answered_at_once(sim: BybitSimulator) -> None:
    """A pass opens a few dozen connections together; a real API accepts them all. With a
    listen backlog of 5, some were refused until the client sent its SYN again, a second on."""
    where = urlsplit(sim.url)
    barrier = threading.Barrier(64)

    def connect(_: int) -> float:
        barrier.wait()
        started = time.perf_counter()
        with socket.create_connection((where.hostname, where.port), timeout=5) as conn:
            conn.sendall(b"GET /v5/market/time HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert conn.recv(12).startswith(b"HTTP/1.1 200")
        return time.perf_counter() - started

    with ThreadPoolExecutor(64) as pool:
        took = sorted(pool.map(connect, range(64)))
    assert took[-1] < 0.9, took[-5:]  # none waited for a SYN to be sent again
