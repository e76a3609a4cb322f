"""Orders built by their shape (exsync/orderparse.py) equal ccxt's own parse, key for key:
over the rows the simulator sends through real HTTP, over generated variants of them, and
in the mirror a whole backfill leaves."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exsync import orderparse
from exsync.profiles import BINANCE
from exsync.simulator import BinanceSimulator, Scenario
from tests.conftest import KEY, SECRET, exchange_entry, rows, sync_ok
from tests.test_binance_simulator import make_exchange
from tests.test_tradeparse import both

SPOT, FUTURES = "/api/v3/allOrders", "/fapi/v1/allOrders"


@pytest.fixture(scope="module")
def binance() -> Iterator[BinanceSimulator]:
    scenario = Scenario(
        seed=13,
        spot_symbols=["BTCUSDT", "ETHUSDT"],
        linear_symbols=["BTCUSDT", "ETHUSDT"],
        trades=300,
        closed_orders=400,
        open_orders=6,
        history_days=10,
    )
    with BinanceSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        yield sim


@pytest.fixture(scope="module")
def loaded(binance: BinanceSimulator) -> tuple[Any, dict[str, list[dict[str, Any]]]]:
    """A ccxt client with the simulator's markets and exsync's shapes, and raw order pages."""

    async def main() -> tuple[Any, dict[str, list[dict[str, Any]]]]:
        client = make_exchange(binance, api_key=KEY, secret=SECRET)
        try:
            await client.load_markets()
            query = {"symbol": "BTCUSDT", "limit": 1000}
            pages = {
                SPOT: await client.privateGetAllOrders(query),
                FUTURES: await client.fapiPrivateGetAllOrders(query),
            }
        finally:
            await client.close()
        return client, pages

    client, pages = asyncio.run(main())
    client.number = str  # as exsync's client: amounts stay the exchange's decimal text
    orderparse.install(client, BINANCE.order_shapes)
    return client, pages


def _both(client: Any, order: dict[str, Any], market: Any) -> tuple[Any, Any]:
    general, shaped = both(client, order, market, "parse_order")
    return general, shaped


def test_the_simulators_orders_are_built_by_shape_and_equal_ccxts(loaded: Any) -> None:
    client, pages = loaded
    for path, symbol in ((SPOT, "BTC/USDT"), (FUTURES, "BTC/USDT:USDT")):
        assert len(pages[path]) > 50, path
        statuses = {order["status"] for order in pages[path]}
        assert {"FILLED", "CANCELED"} <= statuses, statuses
        market = client.market(symbol)
        shape = next(s for s in BINANCE.order_shapes if pages[path][0].keys() <= s.keys)
        for order in pages[path]:
            # the row takes its shape: the fast path is what is compared, not ccxt twice
            assert orderparse._build(client, shape, order, market) is not None
            general, shaped = _both(client, order, market)
            assert shaped == general
            assert shaped["symbol"] == symbol


#: values a real answer's fields could take that a shape must not mistake for its own
_ODD_VALUES = [None, "", 0, 7, -5, 2**53 + 1, 2**70, 1.5, True, False, []]
_ODD_VALUES += ["0", "0.00000000", "0.1", "abc", "1e-7", "-3", "GTX", "PO", "IOC", "BUY"]
_ODD_VALUES += ["NEW", "PARTIALLY_FILLED", "FILLED", "EXPIRED", "MARKET", "LIMIT_MAKER"]
_ODD_VALUES += ["TAKE_PROFIT", "STOP_MARKET", "TAKE_PROFIT_MARKET", "ETHUSDT", "NOSUCHPAIR"]
#: keys that change how ccxt's parser reads a row (and one it ignores)
_EXTRA_KEYS = ["code", "msg", "fills", "trades", "fee", "quoteAsset", "avgPrice", "cumQuote"]
_EXTRA_KEYS += ["transactTime", "createTime", "cumBase", "strategyId", "positionSide"]
_EXTRA_KEYS += ["triggerPrice", "limitPrice", "reduceOnly", "orderType", "somethingNew"]
_GONE = object()  # the key is left out


@st.composite
def _variants(draw: st.DrawFn, rows: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """A real row with one to three keys changed, removed or added."""
    order = dict(draw(st.sampled_from(rows)))
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(set(order) | set(_EXTRA_KEYS))))
        value = draw(st.sampled_from([_GONE, *_ODD_VALUES]))
        if value is _GONE:
            order.pop(key, None)
        else:
            order[key] = value
    return order


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_variant_of_an_order_parses_as_ccxt_parses_it(loaded: Any, data: st.DataObject) -> None:
    client, pages = loaded
    picked = [o for o in pages[SPOT] if o["status"] != "FILLED"][:3] + pages[SPOT][:3]
    picked += [o for o in pages[FUTURES] if o["status"] != "FILLED"][:3] + pages[FUTURES][:3]
    order = data.draw(_variants(tuple(picked)))
    market = data.draw(st.sampled_from([None, "BTC/USDT", "BTC/USDT:USDT", "ETH/USDT"]))
    general, shaped = _both(client, order, market and client.market(market))
    assert shaped == general


def test_a_backfill_stores_the_same_orders_as_with_ccxts_parser(
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
            types=["orders"],
            trades_since="12d",
        )
        config, _ = make_config({"binance": entry}, db=db)
        sync_ok(config)
        columns = [c[1] for c in rows(db, "PRAGMA table_info(orders)") if c[1] != "synced_at"]
        return rows(db, f"SELECT {', '.join(columns)} FROM orders ORDER BY symbol, id")

    built = []
    real_build = orderparse._build
    monkeypatch.setattr(orderparse, "_build", lambda *a: built.append(1) or real_build(*a))
    shaped = backfill(tmp_path / "shaped.db")
    monkeypatch.setattr(orderparse, "install", lambda client, shapes: None)
    general = backfill(tmp_path / "general.db")
    assert len(general) >= 400 and len(built) >= len(general)
    assert shaped == general


@pytest.mark.parametrize(
    "change",
    [
        {"type": "MARKET", "stopPrice": "0.1", "timeInForce": None},
        {"type": "MARKET", "stopPrice": "0", "timeInForce": None},
        {"type": "STOP_LOSS", "stopPrice": "60000", "timeInForce": None},
        {"type": "LIMIT_MAKER", "timeInForce": None},
        {"type": "TAKE_PROFIT_LIMIT", "stopPrice": "70000"},
        {"timeInForce": "GTX"},
        {"origQty": "0", "status": "FILLED"},
        {"origQty": "0", "status": "CANCELED"},
        {"executedQty": "0", "status": "NEW"},
        {"type": "MARKET", "price": "0"},
        {"clientOrderId": ""},
        {"clientOrderId": None},
        {"status": "EXPIRED_IN_MATCH"},
    ],
)
def test_the_branches_of_ccxts_order_reading(loaded: Any, change: dict[str, Any]) -> None:
    client, pages = loaded
    for path, symbol in ((SPOT, "BTC/USDT"), (FUTURES, "BTC/USDT:USDT")):
        order = {k: v for k, v in {**pages[path][0], **change}.items() if v is not None}
        if change.get("clientOrderId", "") is None:
            order["clientOrderId"] = None
        general, shaped = _both(client, order, client.market(symbol))
        assert shaped == general


def test_markets_ccxt_reads_leniently_are_read_as_ccxt_reads_them(loaded: Any) -> None:
    """A row whose id no market has takes the market it was asked for as it is: one without
    an `option` flag, or without a symbol, parses as ccxt parses it."""
    client, pages = loaded
    order = {**pages[SPOT][0], "symbol": "NOSUCHPAIR"}
    lacking = {k: v for k, v in client.market("BTC/USDT").items() if k != "option"}
    for market in (lacking, {**client.market("BTC/USDT"), "symbol": ""}):
        general, shaped = _both(client, order, market)
        assert shaped == general
