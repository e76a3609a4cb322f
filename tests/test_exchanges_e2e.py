"""The same end-to-end checks against every simulated exchange (Bybit v5, Binance spot and
USD-M), through the real ccxt client over HTTP, compared with what the simulator holds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from exsync.datatypes import CONCRETE
from exsync.durations import parse_since
from exsync.errors import ExitCode
from exsync.orchestrator import Synchronizer
from exsync.simulator import BinanceSimulator, BybitSimulator, Scenario
from tests.conftest import KEY, SECRET, exchange_entry, rows

SIMULATORS = {"bybit": BybitSimulator, "binance": BinanceSimulator}
WALLETS = {
    "bybit": {"unified": "balances"},
    "binance": {"spot": "balances", "futures": "futures_balances"},
}
# Binance answers own trades 24 h and one symbol at a time, paced at 5 requests per second:
# a short backfill keeps the test quick while still crossing several windows.
SINCE = "5d"


@pytest.fixture(params=sorted(SIMULATORS))
def exchange(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    ccxt_id = request.param
    scenario = Scenario(
        seed=5, spot_symbols=["BTCUSDT", "ETHUSDT"], linear_symbols=["BTCUSDT", "ETHUSDT"]
    )
    with SIMULATORS[ccxt_id](scenario, api_key=KEY, secret=SECRET) as sim:
        yield ccxt_id, sim


def entry(ccxt_id: str, sim: Any, **overrides: Any) -> dict[str, Any]:
    symbols = [s for group in sim.state.expected()["symbols"].values() for s in group]
    settings = {"ccxt_id": ccxt_id, "symbols": symbols, "trades_since": SINCE}
    return exchange_entry(sim.url, **(settings | overrides))


def expected_trades(sim: Any) -> dict[str, set[str]]:
    since = parse_since(SINCE, int(time.time() * 1000))
    return {
        category: {i for i, t in ids.items() if t >= since}
        for category, ids in sim.state.expected()["execution_ids"].items()
    }


def stored_trades(db: Path, name: str) -> set[str]:
    return {r[0] for r in rows(db, "SELECT id FROM trades WHERE exchange = ?", (name,))}


def check_mirror(db: Path, name: str, ccxt_id: str, sim: Any) -> None:
    """The database holds exactly what the exchange holds."""
    expected = sim.state.expected()
    for wallet, key in WALLETS[ccxt_id].items():
        stored = dict(
            rows(
                db,
                "SELECT asset, CAST(total AS FLOAT) FROM balances "
                "WHERE exchange = ? AND wallet = ?",
                (name, wallet),
            )
        )
        # the wallet balance, exactly: never unrealised PnL, which moves with the mark price
        assert stored == pytest.approx(expected[key], rel=1e-12), wallet
    if "futures_equity" in expected:
        equity = dict(
            rows(
                db,
                "SELECT asset, CAST(equity AS FLOAT) FROM balances "
                "WHERE exchange = ? AND wallet = 'futures'",
                (name,),
            )
        )
        assert equity == pytest.approx(expected["futures_equity"], rel=2e-2)
    positions = rows(
        db,
        "SELECT symbol, side, CAST(contracts AS FLOAT), CAST(entry_price AS FLOAT) FROM positions "
        "WHERE exchange = ? AND status = 'open' ORDER BY 1, 2",
        (name,),
    )
    assert [(s, d) for s, d, _, _ in positions] == [(p[0], p[1]) for p in expected["positions"]]
    for (_, _, contracts, entry_price), want in zip(positions, expected["positions"], strict=True):
        assert contracts == pytest.approx(want[2]) and entry_price == pytest.approx(want[3])
    open_ids = {
        r[0]
        for r in rows(db, "SELECT id FROM orders WHERE exchange = ? AND status = 'open'", (name,))
    }
    assert open_ids == {str(i) for i in expected["open_order_ids"]}
    all_trades = set().union(*expected_trades(sim).values())
    assert stored_trades(db, name) == {str(i) for i in all_trades} and all_trades
    closed = dict(
        rows(db, "SELECT id, status FROM orders WHERE exchange = ? AND status != 'open'", (name,))
    )
    for category_orders in expected["closed_orders"].values():
        for order_id, status in category_orders.items():
            if str(order_id) in closed:
                assert closed[str(order_id)] == status
    tickers = {
        r[0]
        for r in rows(db, "SELECT symbol FROM tickers WHERE exchange = ? AND last > 0", (name,))
    }
    assert tickers == {s for group in expected["symbols"].values() for s in group}
    series = rows(db, "SELECT count(DISTINCT symbol) FROM ohlcv WHERE exchange = ?", (name,))
    assert series == [(len(tickers),)]


def test_full_pass_mirrors_the_exchange(exchange, make_config, database):
    ccxt_id, sim = exchange
    config, _ = make_config({ccxt_id: entry(ccxt_id, sim)}, db=database)
    result = Synchronizer(config).sync()
    assert result.exit_code is ExitCode.OK, [u for u in result.units if u.status != "ok"]
    assert sorted(u.data_type for u in result.units) == sorted(str(t) for t in CONCRETE)
    check_mirror(database, ccxt_id, ccxt_id, sim)


def test_rerun_is_idempotent(exchange, make_config, db_path):
    ccxt_id, sim = exchange
    config, _ = make_config({ccxt_id: entry(ccxt_id, sim)})
    assert Synchronizer(config).sync().ok
    tables = ("balances", "positions", "orders", "trades", "tickers", "ohlcv")
    counts = [rows(db_path, f"SELECT count(*) FROM {t}")[0][0] for t in tables]
    cursor_sql = "SELECT stream, position FROM cursors WHERE stream NOT LIKE 'ohlcv:%'"
    cursors = rows(db_path, cursor_sql)
    sim.reset_counts()
    assert Synchronizer(config).sync().ok
    assert [rows(db_path, f"SELECT count(*) FROM {t}")[0][0] for t in tables] == counts
    assert rows(db_path, cursor_sql) == cursors
    assert not any("exchangeInfo" in p or "instruments-info" in p for p in sim.counts)


def test_new_trades_and_changes_arrive_incrementally(exchange, make_config, database):
    ccxt_id, sim = exchange
    config, _ = make_config({ccxt_id: entry(ccxt_id, sim)}, db=database)
    assert Synchronizer(config).sync().ok
    state = sim.state
    added = state.add_trades(30, category="linear")
    gone = state.expected()["positions"][0]
    state.close_position(gone[0])
    sold = next(c for c in state.balances if c not in ("USDT",))
    state.remove_balance(sold)
    open_ids = sorted(str(i) for i in state.expected()["open_order_ids"])
    state.fill_order(open_ids[0])
    state.cancel_order(open_ids[1])

    result = Synchronizer(config).sync()
    assert result.ok, [u for u in result.units if u.status != "ok"]
    new_ids = {str(t.get("execId") or t.get("id")) for t in added}
    assert new_ids <= stored_trades(database, ccxt_id)
    check_mirror(database, ccxt_id, ccxt_id, sim)
    closed = rows(database, "SELECT status FROM positions WHERE symbol = ? AND side = ?", gone[:2])
    assert closed == [("closed",)]
    final = dict(
        rows(database, "SELECT id, status FROM orders WHERE id IN (?, ?)", tuple(open_ids[:2]))
    )
    assert final == {open_ids[0]: "closed", open_ids[1]: "canceled"}


def test_three_accounts_on_two_exchanges_in_one_pass(make_config, db_path, monkeypatch):
    scenario = Scenario(seed=9, spot_symbols=["BTCUSDT"], linear_symbols=["BTCUSDT"])
    with (
        BybitSimulator(scenario, api_key=KEY, secret=SECRET) as bybit,
        BinanceSimulator(scenario, api_key=KEY, secret=SECRET) as binance,
    ):
        bybit.state.add_api_key("sub-key", "sub-secret")
        monkeypatch.setenv("SUB_KEY", "sub-key")
        monkeypatch.setenv("SUB_SECRET", "sub-secret")
        config, _ = make_config(
            {
                "bybit-main": entry("bybit", bybit),
                "binance": entry("binance", binance),
                "bybit-sub": entry("bybit", bybit, api_key_env="SUB_KEY", secret_env="SUB_SECRET"),
            }
        )
        result = Synchronizer(config).sync()
        assert result.exit_code is ExitCode.OK, [u for u in result.units if u.status != "ok"]
        assert len(result.units) == 3 * len(CONCRETE)
        for name, ccxt_id, sim in (
            ("bybit-main", "bybit", bybit),
            ("binance", "binance", binance),
            ("bybit-sub", "bybit", bybit),
        ):
            check_mirror(db_path, name, ccxt_id, sim)
        # each account has its own cursors, breakers and history
        streams = rows(db_path, "SELECT DISTINCT exchange FROM cursors ORDER BY 1")
        assert streams == [("binance",), ("bybit-main",), ("bybit-sub",)]
        keys = {q for _, p, q in bybit.requests}
        assert keys  # both bybit accounts signed their own requests (checked by the simulator)


# A transient answer and a permanent one per exchange, in each exchange's own words.
FAULTS = {
    "bybit": {
        "rate limit": {"ret_code": 10006, "ret_msg": "Too many visits!"},
        "bad key": {"ret_code": 10003, "ret_msg": "API key is invalid."},
    },
    "binance": {
        "rate limit": {"code": -1003, "msg": "Too many requests.", "status": 429},
        "bad key": {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
    },
}


@pytest.mark.parametrize("fault", ["rate limit", "bad key"])
def test_faults_on_every_exchange(exchange, fault, make_config, db_path):
    ccxt_id, sim = exchange
    config, _ = make_config({ccxt_id: entry(ccxt_id, sim, types=["positions"], max_tries=3)})
    assert Synchronizer(config).sync().ok
    path = sim.paths["positions"][0]
    started = time.time()
    sim.fail_next(path=path, headers={"Retry-After": "1"}, **FAULTS[ccxt_id][fault])
    unit = Synchronizer(config).sync().units[0]
    if fault == "rate limit":
        assert unit.status == "ok" and unit.attempts == 2
        retried = max(sim.request_times(path))
        if ccxt_id == "binance":  # Binance's 429 names the wait; it is honoured
            assert retried - started >= 0.9
    else:
        assert unit.status == "failed" and unit.attempts == 1
        assert unit.error.startswith(("AuthenticationError", "PermissionDenied"))
        assert rows(db_path, "SELECT state, failures FROM breakers") == [("closed", 1)]


def test_binance_order_history_with_full_pages_is_complete(make_config, db_path):
    scenario = Scenario(
        seed=3,
        spot_symbols=["BTCUSDT"],
        linear_symbols=["BTCUSDT"],
        closed_orders=14000,
        open_orders=2,
        trades=40,
        history_days=1,
    )
    with BinanceSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        config, _ = make_config(
            {"binance": entry("binance", sim, types=["orders"], trades_since="2d")}
        )
        assert Synchronizer(config).sync().ok
        closed = sim.state.expected()["closed_orders"]
        want = {str(i) for ids in closed.values() for i in ids}
        assert len(closed["spot"]) > 2000  # a 24 h window holds more than a page (1,000)
        stored = {r[0] for r in rows(db_path, "SELECT id FROM orders WHERE status != 'open'")}
        assert want <= stored
