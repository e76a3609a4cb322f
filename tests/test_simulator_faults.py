"""What real exchanges throw at a client, as both simulators serve it to the real ccxt client:
a server clock that disagrees with the host's, IP bans, empty and hollow answers, delisted
and newly listed markets, a classic (non-unified) Bybit account, and the key-info endpoints."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import ccxt.async_support as ccxt
import pytest

from exsync.simulator import BinanceSimulator, BybitSimulator, Scenario

T = TypeVar("T")
KEY, SECRET = "demo-key", "demo-secret"
NOW = 1_750_000_000_000
OPTIONS = {
    "bybit": {
        "fetchMarkets": {"types": ["spot", "linear"]},
        "enableUnifiedAccount": True,
        "enableUnifiedMargin": False,
    },
    "binance": {
        "fetchMarkets": {"types": ["spot", "linear"]},
        "fetchMargins": False,
        "fetchCurrencies": False,
    },
}
SIMULATORS = {"bybit": BybitSimulator, "binance": BinanceSimulator}
TIME_PATH = {"bybit": "/v5/market/time", "binance": "/api/v3/time"}
BALANCE_PATH = {"bybit": "/v5/account/wallet-balance", "binance": "/api/v3/account"}


@pytest.fixture(params=sorted(SIMULATORS))
def sim(request: pytest.FixtureRequest) -> Iterator[Any]:
    with SIMULATORS[request.param](Scenario(seed=3), api_key=KEY, secret=SECRET) as server:
        yield server


def kind(sim: Any) -> str:
    return "bybit" if isinstance(sim, BybitSimulator) else "binance"


def drive(sim: Any, body: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``body(client)`` with a real ccxt client pointed at the simulator."""

    async def main() -> T:
        name = kind(sim)
        options = json.loads(json.dumps(OPTIONS[name]))
        client = getattr(ccxt, name)(
            {"apiKey": KEY, "secret": SECRET, "options": options, "has": {"fetchCurrencies": False}}
        )
        client.urls["api"] = sim.ccxt_urls(client.urls["api"])
        try:
            return await body(client)
        finally:
            await client.close()

    return asyncio.run(main())


@pytest.mark.parametrize("offset", [3.0, -30.0, 30.0])
def test_a_skewed_host_clock_is_rejected_until_the_offset_is_measured(sim, offset):
    """The exchange checks request timestamps against its own clock; its time endpoint tells
    a client how far off it is (ccxt's load_time_difference)."""
    sim.clock_offset = -offset  # the host runs `offset` seconds ahead of the exchange

    async def body(client: Any) -> tuple[int, float]:
        await client.load_markets()
        with pytest.raises(ccxt.InvalidNonce):
            await client.fetch_balance()
        difference = await client.load_time_difference()
        balance = await client.fetch_balance()
        return difference, balance["total"]["USDT"]

    difference, usdt = drive(sim, body)
    assert difference / 1000 == pytest.approx(offset, abs=1.0)
    assert usdt > 0
    assert sim.counts[TIME_PATH[kind(sim)]] == 1


def test_a_host_a_little_behind_is_inside_the_receive_window(sim):
    sim.clock_offset = 3.0  # the exchange is 3 s ahead: timestamps look 3 s old, inside 5 s
    balance = drive(sim, lambda client: client.fetch_balance())
    assert balance["total"]["USDT"] > 0


def test_an_ip_ban_answers_every_request_until_it_ends(sim):
    sim.ban(600)

    async def body(client: Any) -> list[BaseException]:
        raised = []
        for _ in range(2):
            try:
                await client.fetch_time()
            except ccxt.BaseError as exc:
                raised.append(exc)
        sim.lift_ban()
        await client.fetch_time()
        return raised

    raised = drive(sim, body)
    assert sim.banned_requests == 2 and len(raised) == 2
    if kind(sim) == "bybit":
        # Bybit's gateway: HTTP 403 "access too frequent", which ccxt files as a rate limit.
        assert all(isinstance(e, ccxt.RateLimitExceeded) for e in raised)
        assert "403" in str(raised[0])
    else:
        # Binance: HTTP 418 with Retry-After and the end of the ban in the message.
        assert all(isinstance(e, ccxt.DDoSProtection) for e in raised)
        assert "418" in str(raised[0]) and "IP banned until" in str(raised[0])


def test_binance_ban_carries_retry_after() -> None:
    with BinanceSimulator(Scenario(seed=3)) as sim:
        sim.ban(300)
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(sim.url + "/api/v3/time")
        assert info.value.code == 418
        assert 299 <= int(info.value.headers["Retry-After"]) <= 300
        assert json.loads(info.value.read())["code"] == -1003


def test_bybit_bans_an_ip_over_600_requests_in_5_seconds() -> None:
    with BybitSimulator(Scenario(seed=3)) as sim:
        sim.enforce_rate_limits = True
        sim.ip_limit = (5, 5.0)

        async def body(client: Any) -> int:
            for _ in range(5):
                await client.fetch_time()
            with pytest.raises(ccxt.RateLimitExceeded):
                await client.fetch_time()
            return round(sim.ban_left())

        assert drive(sim, body) == 600


@pytest.mark.parametrize("fault", ["empty", "hollow"])
def test_empty_and_hollow_answers_read_as_no_data_in_ccxt(sim, fault):
    """What makes these faults dangerous: ccxt parses them as an account holding nothing."""
    sim.fail_next(path=BALANCE_PATH[kind(sim)], kind=fault)

    async def body(client: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        await client.load_markets()
        return await client.fetch_balance(), await client.fetch_balance()

    hollow, real = drive(sim, body)
    assert not {c: v for c, v in hollow["total"].items() if v}
    assert real["total"]["USDT"] > 0


def test_a_delisted_market_is_gone_from_markets_tickers_and_candles(sim):
    name = kind(sim)
    sim.state.delist("ETHUSDT", "spot")

    async def body(client: Any) -> tuple[set[str], type[BaseException] | None]:
        await client.load_markets()
        symbols = set(client.markets)
        client.markets["ETH/USDT"] = {**client.markets["BTC/USDT"], "id": "ETHUSDT"}
        client.set_markets(list(client.markets.values()))
        try:
            await client.fetch_ohlcv("ETH/USDT", "1h", limit=5)
        except ccxt.BaseError as exc:
            return symbols, type(exc)
        return symbols, None

    symbols, raised = drive(sim, body)
    assert "ETH/USDT" not in symbols and "ETH/USDT:USDT" in symbols
    assert raised is not None and issubclass(raised, ccxt.BadSymbol), (name, raised)


def test_a_new_listing_appears_in_the_markets(sim):
    symbol = sim.state.list_market("DOGEUSDT", "linear")
    assert symbol == "DOGE/USDT:USDT"
    sim.state.add_trades(3, "DOGEUSDT", category="linear")

    async def body(client: Any) -> tuple[set[str], list[Any]]:
        await client.load_markets()
        trades = await client.fetch_my_trades(symbol, params={"type": "swap"})
        return set(client.markets), trades

    symbols, trades = drive(sim, body)
    assert symbol in symbols
    assert len(trades) == 3 and {t["symbol"] for t in trades} == {symbol}


def test_bybit_classic_account_gets_an_empty_404_for_the_unified_wallet() -> None:
    with BybitSimulator(Scenario(seed=3), api_key=KEY, secret=SECRET) as sim:
        sim.state.unified = False

        async def body(client: Any) -> tuple[type[BaseException], dict[str, Any]]:
            with pytest.raises(ccxt.BaseError) as info:
                await client.fetch_balance()
            key = await client.private_get_v5_user_query_api()
            return info.type, key["result"]

        raised, key = drive(sim, body)
    assert issubclass(raised, ccxt.ExchangeNotAvailable)  # ccxt's reading of a bare 404
    assert key["uta"] == 0


def test_key_info_endpoints_describe_the_key(sim):
    name = kind(sim)
    sim.state.key_info.read_only = False
    sim.state.key_info.withdraw = True
    sim.state.key_info.ips = ()
    sim.state.key_info.expires_at_ms = sim.state.server_ms() + 3 * 86_400_000

    async def body(client: Any) -> dict[str, Any]:
        if name == "bybit":
            return (await client.private_get_v5_user_query_api())["result"]
        return await client.sapi_get_account_apirestrictions()

    info = drive(sim, body)
    if name == "bybit":
        assert info["readOnly"] == 0 and "Withdraw" in info["permissions"]["Wallet"]
        assert info["ips"] == ["*"] and info["deadlineDay"] in (2, 3) and info["expiredAt"]
    else:
        assert info["enableSpotAndMarginTrading"] is True and info["enableWithdrawals"] is True
        assert info["ipRestrict"] is False and info["tradingAuthorityExpirationTime"] > 0
