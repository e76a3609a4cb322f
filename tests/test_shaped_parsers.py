"""Own trades and orders built by their shape (exsync/tradeparse.py, exsync/orderparse.py)
equal ccxt's own parse, key for key: over the rows the simulator sends through real HTTP,
over generated variants of them, and in the mirror a whole backfill leaves."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exsync import orderparse, tradeparse
from exsync.profiles import BINANCE
from exsync.simulator import BinanceSimulator, Scenario
from tests.conftest import KEY, SECRET, exchange_entry, rows, sync_ok
from tests.test_binance_simulator import make_exchange

TRADES, FUTURES_TRADES = "/api/v3/myTrades", "/fapi/v1/userTrades"
ORDERS, FUTURES_ORDERS = "/api/v3/allOrders", "/fapi/v1/allOrders"
MARKETS = [None, "BTC/USDT", "BTC/USDT:USDT", "ETH/USDT"]
Pages = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def binance() -> Iterator[BinanceSimulator]:
    scenario = Scenario(
        seed=12,
        spot_symbols=["BTCUSDT", "ETHUSDT"],
        linear_symbols=["BTCUSDT", "ETHUSDT"],
        trades=400,
        closed_orders=400,
        open_orders=6,
        history_days=10,
    )
    with BinanceSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        yield sim


@pytest.fixture(scope="module")
def loaded(binance: BinanceSimulator) -> tuple[Any, Pages]:
    """A ccxt client with the simulator's markets and exsync's shaped parsers, and raw pages
    of its own trades and orders."""

    async def main() -> tuple[Any, Pages]:
        client = make_exchange(binance, api_key=KEY, secret=SECRET)
        try:
            await client.load_markets()
            query = {"symbol": "BTCUSDT", "limit": 1000}
            pages = {
                TRADES: await client.privateGetMyTrades(query),
                FUTURES_TRADES: await client.fapiPrivateGetUserTrades(query),
                ORDERS: await client.privateGetAllOrders(query),
                FUTURES_ORDERS: await client.fapiPrivateGetAllOrders(query),
            }
        finally:
            await client.close()
        return client, pages

    client, pages = asyncio.run(main())
    client.number = str  # as exsync's client: amounts stay the exchange's decimal text
    tradeparse.install(client, BINANCE.trade_shapes)
    orderparse.install(client, BINANCE.order_shapes)
    return client, pages


def both(client: Any, row: dict[str, Any], market: Any, name: str) -> Any:
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


_GONE = object()  # the key is left out


@st.composite
def _variants(
    draw: st.DrawFn, rows: tuple[dict[str, Any], ...], extra: list[str], odd: list[Any]
) -> dict[str, Any]:
    """A real row with one to three keys changed to `odd` values, removed or added (`extra`
    keys: those that change how ccxt's parser reads a row, and one it ignores)."""
    row = dict(draw(st.sampled_from(rows)))
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(set(row) | set(extra))))
        value = draw(st.sampled_from([_GONE, *odd]))
        if value is _GONE:
            row.pop(key, None)
        else:
            row[key] = value
    return row


def _backfill(
    binance: BinanceSimulator, make_config: Callable[..., Any], db: Path, table: str
) -> list[tuple[Any, ...]]:
    """A first pass of `table` ("trades", "orders") over four symbols; the rows stored, but
    for when they were stored."""
    entry = exchange_entry(
        binance.url,
        ccxt_id="binance",
        symbols=["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT"],
        types=[table],
        trades_since="12d",
    )
    config, _ = make_config({"binance": entry}, db=db)
    sync_ok(config)
    columns = [c[1] for c in rows(db, f"PRAGMA table_info({table})") if c[1] != "synced_at"]
    return rows(db, f"SELECT {', '.join(columns)} FROM {table} ORDER BY symbol, id")


#: values a real answer's fields could take that a shape must not mistake for its own
_ODD = [None, "", 0, 7, -5, 2**53 + 1, 2**70, 1.5, True, False, [], "0.1", "abc", "1e-7"]

# ---------------------------------------------------------------------------- own trades

_ODD_TRADE = [*_ODD, "BUY", "sell", "ETHUSDT", "NOSUCHPAIR"]
_TRADE_KEYS = ["m", "isBuyerMaker", "T", "baseQty", "isDustTrade", "optionSide", "quantity"]
_TRADE_KEYS += ["q", "type", "isIsolated", "M", "maker", "isMaker", "side", "somethingNew"]


def test_the_simulators_rows_are_built_by_shape_and_equal_ccxts(loaded: Any) -> None:
    client, pages = loaded
    for path, symbol in ((TRADES, "BTC/USDT"), (FUTURES_TRADES, "BTC/USDT:USDT")):
        assert len(pages[path]) > 50, path
        market = client.market(symbol)
        shape = next(s for s in BINANCE.trade_shapes if pages[path][0].keys() <= s.keys)
        for trade in pages[path]:
            # the row takes its shape: the fast path is what is compared, not ccxt twice
            assert tradeparse._build(client, shape, trade, market) is not None
            general, shaped = both(client, trade, market, "parse_trade")
            assert shaped == general
            assert shaped["symbol"] == symbol


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_variant_of_a_row_parses_as_ccxt_parses_it(loaded: Any, data: st.DataObject) -> None:
    client, pages = loaded
    picked = tuple(pages[TRADES][:3] + pages[FUTURES_TRADES][:3])
    trade = data.draw(_variants(picked, _TRADE_KEYS, _ODD_TRADE))
    market = data.draw(st.sampled_from(MARKETS))
    general, shaped = both(client, trade, market and client.market(market), "parse_trade")
    assert shaped == general


def test_a_backfill_stores_the_same_rows_as_with_ccxts_parser(
    binance: BinanceSimulator,
    make_config: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shaped = _backfill(binance, make_config, tmp_path / "shaped.db", "trades")
    built = []
    real_build = tradeparse._build
    monkeypatch.setattr(
        tradeparse, "_build", lambda *a: built.append(1) or real_build(*a)
    )  # counted: the fast path ran
    counted = _backfill(binance, make_config, tmp_path / "counted.db", "trades")
    monkeypatch.setattr(tradeparse, "install", lambda client, shapes: None)
    general = _backfill(binance, make_config, tmp_path / "general.db", "trades")
    assert len(general) >= 400 and len(built) == len(general)
    assert shaped == general == counted


# --------------------------------------------------------------------------------- orders

_ODD_ORDER = [*_ODD, "0", "0.00000000", "-3", "GTX", "PO", "IOC", "BUY", "NEW", "FILLED"]
_ODD_ORDER += ["PARTIALLY_FILLED", "EXPIRED", "MARKET", "LIMIT_MAKER", "TAKE_PROFIT"]
_ODD_ORDER += ["STOP_MARKET", "TAKE_PROFIT_MARKET", "ETHUSDT", "NOSUCHPAIR"]
_ORDER_KEYS = ["code", "msg", "fills", "trades", "fee", "quoteAsset", "avgPrice", "cumQuote"]
_ORDER_KEYS += ["transactTime", "createTime", "cumBase", "strategyId", "positionSide"]
_ORDER_KEYS += ["triggerPrice", "limitPrice", "reduceOnly", "orderType", "somethingNew"]


def test_the_simulators_orders_are_built_by_shape_and_equal_ccxts(loaded: Any) -> None:
    client, pages = loaded
    for path, symbol in ((ORDERS, "BTC/USDT"), (FUTURES_ORDERS, "BTC/USDT:USDT")):
        assert len(pages[path]) > 50, path
        statuses = {order["status"] for order in pages[path]}
        assert {"FILLED", "CANCELED"} <= statuses, statuses
        market = client.market(symbol)
        shape = next(s for s in BINANCE.order_shapes if pages[path][0].keys() <= s.keys)
        for order in pages[path]:
            # the row takes its shape: the fast path is what is compared, not ccxt twice
            assert orderparse._build(client, shape, order, market) is not None
            general, shaped = both(client, order, market, "parse_order")
            assert shaped == general
            assert shaped["symbol"] == symbol


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_variant_of_an_order_parses_as_ccxt_parses_it(loaded: Any, data: st.DataObject) -> None:
    client, pages = loaded
    picked = []
    for path in (ORDERS, FUTURES_ORDERS):
        picked += [o for o in pages[path] if o["status"] != "FILLED"][:3] + pages[path][:3]
    order = data.draw(_variants(tuple(picked), _ORDER_KEYS, _ODD_ORDER))
    market = data.draw(st.sampled_from(MARKETS))
    general, shaped = both(client, order, market and client.market(market), "parse_order")
    assert shaped == general


def test_a_backfill_stores_the_same_orders_as_with_ccxts_parser(
    binance: BinanceSimulator,
    make_config: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built = []
    real_build = orderparse._build
    monkeypatch.setattr(orderparse, "_build", lambda *a: built.append(1) or real_build(*a))
    shaped = _backfill(binance, make_config, tmp_path / "shaped.db", "orders")
    monkeypatch.setattr(orderparse, "install", lambda client, shapes: None)
    general = _backfill(binance, make_config, tmp_path / "general.db", "orders")
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
    for path, symbol in ((ORDERS, "BTC/USDT"), (FUTURES_ORDERS, "BTC/USDT:USDT")):
        order = {k: v for k, v in {**pages[path][0], **change}.items() if v is not None}
        if change.get("clientOrderId", "") is None:
            order["clientOrderId"] = None
        general, shaped = both(client, order, client.market(symbol), "parse_order")
        assert shaped == general


def test_markets_ccxt_reads_leniently_are_read_as_ccxt_reads_them(loaded: Any) -> None:
    """A row whose id no market has takes the market it was asked for as it is: one without
    an `option` flag, or without a symbol, parses as ccxt parses it."""
    client, pages = loaded
    order = {**pages[ORDERS][0], "symbol": "NOSUCHPAIR"}
    lacking = {k: v for k, v in client.market("BTC/USDT").items() if k != "option"}
    for market in (lacking, {**client.market("BTC/USDT"), "symbol": ""}):
        general, shaped = both(client, order, market, "parse_order")
        assert shaped == general
