"""Own trades built by their shape (exsync/tradeparse.py) equal ccxt's own parse, key for
key: over the rows the simulator sends through real HTTP, over generated variants of them,
and in the mirror a whole backfill leaves."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exsync import tradeparse
from exsync.profiles import BINANCE
from exsync.simulator import BinanceSimulator, Scenario
from tests.conftest import KEY, SECRET, exchange_entry, rows, sync_ok
from tests.test_binance_simulator import make_exchange

SPOT, FUTURES = "/api/v3/myTrades", "/fapi/v1/userTrades"


@pytest.fixture(scope="module")
def binance() -> Iterator[BinanceSimulator]:
    scenario = Scenario(
        seed=12,
        spot_symbols=["BTCUSDT", "ETHUSDT"],
        linear_symbols=["BTCUSDT", "ETHUSDT"],
        trades=400,
        closed_orders=40,
        history_days=10,
    )
    with BinanceSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        yield sim


@pytest.fixture(scope="module")
def loaded(binance: BinanceSimulator) -> tuple[Any, dict[str, list[dict[str, Any]]]]:
    """A ccxt client with the simulator's markets, and raw pages of its own trades."""

    async def main() -> tuple[Any, dict[str, list[dict[str, Any]]]]:
        client = make_exchange(binance, api_key=KEY, secret=SECRET)
        try:
            await client.load_markets()
            query = {"symbol": "BTCUSDT", "limit": 1000}
            pages = {
                SPOT: await client.privateGetMyTrades(query),
                FUTURES: await client.fapiPrivateGetUserTrades(query),
            }
        finally:
            await client.close()
        return client, pages

    client, pages = asyncio.run(main())
    client.number = str  # as exsync's client: amounts stay the exchange's decimal text
    tradeparse.install(client, BINANCE.trade_shapes)
    return client, pages


def both(client: Any, row: dict[str, Any], market: Any, name: str = "parse_trade") -> Any:
    """ccxt's parser `name` and the shaped one, each on its own copy of `row`; an exception
    is a result (both must fail alike)."""
    general = getattr(type(client), name)
    results = []
    for parse in (lambda r, m: general(client, r, m), getattr(client, name)):
        try:
            results.append(parse(copy.deepcopy(row), market))
        except Exception as exc:
            results.append(type(exc))
    return results[0], results[1]


def test_the_simulators_rows_are_built_by_shape_and_equal_ccxts(loaded: Any) -> None:
    client, pages = loaded
    for path, symbol in ((SPOT, "BTC/USDT"), (FUTURES, "BTC/USDT:USDT")):
        assert len(pages[path]) > 50, path
        market = client.market(symbol)
        shape = next(s for s in BINANCE.trade_shapes if pages[path][0].keys() <= s.keys)
        for trade in pages[path]:
            # the row takes its shape: the fast path is what is compared, not ccxt twice
            assert tradeparse._build(client, shape, trade, market) is not None
            general, shaped = both(client, trade, market)
            assert shaped == general
            assert shaped["symbol"] == symbol


#: values a real answer's fields could take that a shape must not mistake for its own
_ODD_VALUES = [None, "", 0, 7, -5, 2**53 + 1, 2**70, 1.5, True, False, []]
_ODD_VALUES += ["0.1", "abc", "BUY", "sell", "1e-7"]
#: keys that change how ccxt's parser reads a row (and one it ignores)
_EXTRA_KEYS = ["m", "isBuyerMaker", "T", "baseQty", "isDustTrade", "optionSide", "quantity"]
_EXTRA_KEYS += ["q", "type", "isIsolated", "M", "maker", "isMaker", "side", "somethingNew"]
_GONE = object()  # the key is left out


@st.composite
def _variants(draw: st.DrawFn, rows: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """A real row with one to three keys changed, removed or added."""
    trade = dict(draw(st.sampled_from(rows)))
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(set(trade) | set(_EXTRA_KEYS))))
        value = draw(st.sampled_from([_GONE, *_ODD_VALUES, "ETHUSDT", "NOSUCHPAIR"]))
        if value is _GONE:
            trade.pop(key, None)
        else:
            trade[key] = value
    return trade


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_variant_of_a_row_parses_as_ccxt_parses_it(loaded: Any, data: st.DataObject) -> None:
    client, pages = loaded
    trade = data.draw(_variants(tuple(pages[SPOT][:3] + pages[FUTURES][:3])))
    market = data.draw(st.sampled_from([None, "BTC/USDT", "BTC/USDT:USDT", "ETH/USDT"]))
    general, shaped = both(client, trade, market and client.market(market))
    assert shaped == general


def test_a_backfill_stores_the_same_rows_as_with_ccxts_parser(
    binance: BinanceSimulator,
    make_config: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def backfill(db: Path) -> list[tuple[Any, ...]]:
        entry = exchange_entry(
            binance.url,
            ccxt_id="binance",
            symbols=["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT"],
            types=["trades"],
            trades_since="12d",
        )
        config, _ = make_config({"binance": entry}, db=db)
        sync_ok(config)
        return rows(db, "SELECT * FROM trades ORDER BY symbol, id")

    shaped = backfill(tmp_path / "shaped.db")
    built = []
    real_build = tradeparse._build
    monkeypatch.setattr(
        tradeparse, "_build", lambda *a: built.append(1) or real_build(*a)
    )  # counted: the fast path ran
    counted = backfill(tmp_path / "counted.db")
    monkeypatch.setattr(tradeparse, "install", lambda client, shapes: None)
    general = backfill(tmp_path / "general.db")
    assert len(general) >= 400 and len(built) == len(general)
    assert shaped == general == counted
