"""Binance history end to end, through the real ccxt client over HTTP: the symbols to walk
are found from what the account shows, and history is paged by id, not by day."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from exsync.errors import ExitCode
from exsync.orchestrator import Synchronizer
from exsync.simulator import BinanceSimulator, Scenario
from tests.conftest import KEY, SECRET, exchange_entry, rows, run, sync_ok

DAY = 86_400_000
TRADES = "/api/v3/myTrades"
ORDERS = "/api/v3/allOrders"
FUTURES_TRADES = "/fapi/v1/userTrades"
FUTURES_ORDERS = "/fapi/v1/allOrders"
HISTORY = (TRADES, ORDERS, FUTURES_TRADES, FUTURES_ORDERS)


def quiet(**overrides: Any) -> Scenario:
    """An account with no generated history: each test adds the trades it needs."""
    fields: dict[str, Any] = {
        "seed": 4,
        "spot_symbols": ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "SOLBTC"],
        "linear_symbols": ["BTCUSDT", "ETHUSDT", "SOLUSDT"],
        "balances": {"USDT": 5_000.0},
        "positions": 0,
        "open_orders": 0,
        "closed_orders": 0,
        "trades": 0,
        "history_days": 30,
        # nothing in the Funding wallet or Simple Earn either
        "funding_balances": {},
        "earn": {},
    }
    return Scenario(**(fields | overrides))


@pytest.fixture
def binance() -> Iterator[BinanceSimulator]:
    with BinanceSimulator(quiet(), api_key=KEY, secret=SECRET) as sim:
        yield sim


def entry(sim: BinanceSimulator, **overrides: Any) -> dict[str, Any]:
    """A Binance account with no symbols listed, syncing its history only."""
    settings = {
        "ccxt_id": "binance",
        "symbols": [],
        "types": ["trades", "orders"],
        "trades_since": "20d",
    }
    return exchange_entry(sim.url, **(settings | overrides))


def queries(sim: BinanceSimulator, *paths: str) -> list[dict[str, str]]:
    """The parameters of every request to `paths`, signature fields left out."""
    found = []
    for _, path, query in sim.requests:
        if path in paths:
            params = {k: v[0] for k, v in parse_qs(query).items()}
            found.append({k: v for k, v in params.items() if k not in _SIGNED})
    return found


_SIGNED = {"timestamp", "recvWindow", "signature"}


def symbols_asked(sim: BinanceSimulator) -> Counter[tuple[str, str]]:
    """(spot or futures, symbol id) of every history request."""
    asked: Counter[tuple[str, str]] = Counter()
    for _, path, query in sim.requests:
        if path in HISTORY:
            market = "spot" if path.startswith("/api/") else "futures"
            asked[(market, parse_qs(query)["symbol"][0])] += 1
    return asked


def stored_trade_ids(db: Path, symbol: str | None = None) -> set[str]:
    sql = "SELECT id FROM trades" + (" WHERE symbol = ?" if symbol else "")
    return {r[0] for r in rows(db, sql, (symbol,) if symbol else ())}


def trade_ids(added: list[dict[str, Any]]) -> set[str]:
    return {str(r["id"]) for r in added}


# --------------------------------------------------------------------------- symbols found


def test_a_symbol_the_account_traded_but_nobody_listed_is_found(
    binance: BinanceSimulator, make_config: Callable[..., Any], db_path: Path
) -> None:
    state = binance.state
    now = state.now_ms()
    state.set_balance("SOL", 40.0)
    sol = state.add_trades(4, symbol="SOL/USDT", ts=now - 5 * DAY)
    btc = state.add_trades(3, symbol="BTC/USDT", ts=now - 4 * DAY)
    state.add_trades(3, symbol="ETH/USDT", ts=now - 3 * DAY)  # nothing shows ETH any more
    config, _ = make_config({"binance": entry(binance, symbols=["BTC/USDT"])})

    sync_ok(config)

    assert stored_trade_ids(db_path) == trade_ids(sol) | trade_ids(btc)
    # SOL is held: its markets are candidates; a USDT balance alone makes no USDT market one.
    assert set(symbols_asked(binance)) == {
        ("spot", "BTCUSDT"),
        ("spot", "SOLUSDT"),
        ("spot", "SOLBTC"),
        ("futures", "SOLUSDT"),
    }


def test_an_asset_sold_since_is_found_in_the_balance_snapshots(
    binance: BinanceSimulator, make_config: Callable[..., Any], db_path: Path
) -> None:
    state = binance.state
    state.set_balance("XRP", 900.0)
    config, _ = make_config({"binance": entry(binance, types=["balances"])})
    sync_ok(config)  # a snapshot holds XRP
    xrp = state.add_trades(2, symbol="XRP/USDT", ts=state.now_ms() - DAY)
    state.remove_balance("XRP")  # sold it all
    config, _ = make_config({"binance": entry(binance)})

    sync_ok(config)

    assert stored_trade_ids(db_path) == trade_ids(xrp)


def test_a_futures_position_makes_its_symbol_walked(
    binance: BinanceSimulator, make_config: Callable[..., Any], db_path: Path
) -> None:
    state = binance.state
    eth = state.add_trades(3, symbol="ETHUSDT", category="linear", ts=state.now_ms() - DAY)
    state.open_position("ETHUSDT", side="Buy", size=1.0)
    config, _ = make_config({"binance": entry(binance)})

    sync_ok(config)

    assert stored_trade_ids(db_path, "ETH/USDT:USDT") == trade_ids(eth)
    assert set(symbols_asked(binance)) == {("futures", "ETHUSDT")}


def test_an_open_order_makes_its_symbol_walked_on_the_next_pass(
    binance: BinanceSimulator, make_config: Callable[..., Any], db_path: Path
) -> None:
    state = binance.state
    config, _ = make_config({"binance": entry(binance)})
    placed = state.add_open_order("SOL/USDT:USDT", side="Sell")
    sync_ok(config)  # the order is stored as open
    state.fill_order(placed["orderId"])

    sync_ok(config)

    final = rows(db_path, "SELECT status FROM orders WHERE id = ?", (str(placed["orderId"]),))
    assert final == [("closed",)]
    assert len(stored_trade_ids(db_path, "SOL/USDT:USDT")) == 1


def test_candidates_are_checked_once_and_again_when_both_balances_move(
    binance: BinanceSimulator, make_config: Callable[..., Any], db_path: Path
) -> None:
    state = binance.state
    state.set_balance("SOL", 40.0)
    state.add_trades(2, symbol="SOL/USDT", ts=state.now_ms() - 2 * DAY)
    config, _ = make_config({"binance": entry(binance)})
    sync_ok(config)
    spot_sol = ("spot", "SOLUSDT")
    assert symbols_asked(binance) == {spot_sol: 2, ("spot", "SOLBTC"): 2, ("futures", "SOLUSDT"): 2}
    checked = rows(
        db_path,
        "SELECT kind, symbol, active FROM history_symbols ORDER BY kind, symbol",
    )
    assert checked == [
        ("orders", "SOL/BTC", 0),
        ("orders", "SOL/USDT", 1),
        ("orders", "SOL/USDT:USDT", 0),
        ("trades", "SOL/BTC", 0),
        ("trades", "SOL/USDT", 1),
        ("trades", "SOL/USDT:USDT", 0),
    ]

    binance.reset_counts()
    sync_ok(config)  # the quiet ones are not asked again
    assert symbols_asked(binance) == {spot_sol: 2}

    binance.reset_counts()
    bought = state.add_trades(1, symbol="SOL/BTC")
    state.set_balance("SOL", 41.0)
    state.set_balance("BTC", 0.01)
    sync_ok(config)  # both sides of SOL/BTC moved: asked again; BTC is new: its markets once
    assert symbols_asked(binance) == {
        spot_sol: 2,
        ("spot", "SOLBTC"): 2,
        ("spot", "BTCUSDT"): 2,
        ("futures", "BTCUSDT"): 2,
    }
    assert trade_ids(bought) <= stored_trade_ids(db_path, "SOL/BTC")


def test_history_that_covers_no_symbol_says_so(
    binance: BinanceSimulator, make_config: Callable[..., Any], db_path: Path, tmp_path: Path
) -> None:
    binance.state.add_trades(3, symbol="ETH/USDT")  # traded, then nothing left to show it
    config, path = make_config({"binance": entry(binance)})

    result = Synchronizer(config).sync()

    units = {u.data_type: u for u in result.units}
    assert units["trades"].status == "empty" and units["orders"].status == "empty"
    assert "no symbol" in (units["trades"].error or "")
    assert result.exit_code is ExitCode.OK
    status = run("status", "--config", str(path), "--json")
    shown = {u["data_type"]: u for u in json.loads(status.stdout)["units"]}
    assert shown["trades"]["last_status"] == "empty" and shown["trades"]["symbols"] == 0


def test_status_and_exchanges_show_the_symbols_covered(
    binance: BinanceSimulator, make_config: Callable[..., Any], db_path: Path
) -> None:
    state = binance.state
    state.set_balance("SOL", 40.0)
    state.add_trades(2, symbol="SOL/USDT", ts=state.now_ms() - 2 * DAY)
    config, path = make_config({"binance": entry(binance, symbols=["BTC/USDT"])})
    sync_ok(config)

    status = json.loads(run("status", "--config", str(path), "--json").stdout)["units"]
    trades = next(u for u in status if u["data_type"] == "trades")
    # BTC/USDT listed; SOL/USDT, SOL/BTC and SOL/USDT:USDT found; SOL/USDT had history
    assert (trades["symbols"], trades["symbols_active"]) == (4, 1)
    plain = run("status", "--config", str(path)).stdout
    assert "binance trades last=ok" in plain and "symbols=4 (1 with history)" in plain
    listed = json.loads(run("exchanges", "--config", str(path), "--json").stdout)
    assert listed[0]["symbols"] == {"listed": 1, "walked": 4, "with_history": 1}


def test_config_without_symbols_syncs_history_and_balances() -> None:
    from exsync.config import parse_config
    from exsync.datatypes import CONCRETE, DataType

    config = parse_config({"exchanges": {"binance": {}}})
    # every type but those that follow the listed symbols
    without = {DataType.TICKERS, DataType.OHLCV}
    assert config.exchange("binance").types == tuple(t for t in CONCRETE if t not in without)
    assert DataType.TRADES in config.exchange("binance").types


# --------------------------------------------------------------------------- history by id


def test_a_first_pass_pages_by_id_not_by_day(make_config: Callable[..., Any], db_path: Path):
    scenario = quiet(balances={"USDT": 100.0, "BTC": 0.1, "ETH": 1.0, "XRP": 50.0})
    with BinanceSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        state = sim.state
        added: set[str] = set()
        for n, symbol in enumerate(("BTC/USDT", "ETH/USDT", "XRP/USDT")):
            added |= trade_ids(state.add_trades(3, symbol=symbol, ts=state.now_ms() - n * DAY))
        symbols = ["BTC/USDT", "ETH/USDT", "XRP/USDT"]
        config, _ = make_config({"binance": entry(sim, symbols=symbols, market_types=["spot"])})

        sync_ok(config)

        assert stored_trade_ids(db_path) == added
        # one request per symbol and kind, however far back the history goes
        assert sim.counts[TRADES] == 3 and sim.counts[ORDERS] == 3
        # exactly what ccxt sends Binance: the id and the page size, no time window
        ids = ["BTCUSDT", "ETHUSDT", "XRPUSDT"]
        trades = sorted(queries(sim, TRADES), key=lambda q: q["symbol"])
        orders = sorted(queries(sim, ORDERS), key=lambda q: q["symbol"])
        assert trades == [{"symbol": s, "limit": "1000", "fromId": "0"} for s in ids]
        assert orders == [{"symbol": s, "limit": "1000", "orderId": "0"} for s in ids]


def test_fills_of_one_millisecond_beyond_a_page_are_all_kept(
    binance: BinanceSimulator, make_config: Callable[..., Any], db_path: Path
) -> None:
    state = binance.state
    at = state.now_ms() - 3 * DAY
    spot = state.add_fills("BTC/USDT", 1_500, ts=at)
    futures = state.add_fills("BTCUSDT", 1_500, ts=at, category="linear")
    symbols = ["BTC/USDT", "BTC/USDT:USDT"]
    config, _ = make_config({"binance": entry(binance, symbols=symbols, types=["trades"])})

    sync_ok(config)

    assert stored_trade_ids(db_path, "BTC/USDT") == trade_ids(spot)
    assert stored_trade_ids(db_path, "BTC/USDT:USDT") == trade_ids(futures)


def test_a_long_history_before_trades_since_is_skipped_not_walked(
    make_config: Callable[..., Any], db_path: Path
) -> None:
    scenario = quiet(
        spot_symbols=["BTCUSDT"],
        linear_symbols=[],
        trades=12_000,
        closed_orders=60,
        history_days=100,
    )
    with BinanceSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        entry_ = entry(sim, symbols=["BTC/USDT"], trades_since="10d", types=["trades"])
        config, _ = make_config({"binance": entry_})

        result = sync_ok(config)

        since = sim.state.now_ms() - 10 * DAY - 60_000  # the pass started a little earlier
        want = {i for i, t in sim.state.expected()["execution_ids"]["spot"].items() if t >= since}
        assert want <= stored_trade_ids(db_path) and len(want) > 1_000
        assert all(t >= since - 60_000 for (t,) in rows(db_path, "SELECT timestamp FROM trades"))
        # a page from the first id, one look-up of the last trade before trades_since, then
        # the pages since: not the 12 pages of the whole history
        assert sim.counts[TRADES] <= 4 < 12, result
        probe = [q for q in queries(sim, TRADES) if "fromId" not in q]
        assert len(probe) == 1 and set(probe[0]) == {"symbol", "endTime", "limit"}
        assert probe[0]["limit"] == "1" and abs(int(probe[0]["endTime"]) - since) < 120_000


def test_an_order_still_open_holds_the_order_cursor(
    binance: BinanceSimulator, make_config: Callable[..., Any], db_path: Path
) -> None:
    state = binance.state
    placed = state.add_open_order("BTC/USDT", side="Buy")
    state.add_trades(3, symbol="BTC/USDT")
    config, _ = make_config(
        {"binance": entry(binance, symbols=["BTC/USDT"], types=["orders"], market_types=["spot"])}
    )
    sync_ok(config)
    state.fill_order(placed["orderId"])
    binance.reset_counts()

    sync_ok(config)

    # the history is read again from the order that was open: it arrives with its fill,
    # no order is looked up on its own
    assert [q["orderId"] for q in queries(binance, ORDERS)] == [str(placed["orderId"])]
    assert binance.counts["/api/v3/order"] == 0
    final = rows(db_path, "SELECT status FROM orders WHERE id = ?", (str(placed["orderId"]),))
    assert final == [("closed",)]


def test_an_order_open_behind_a_full_page_is_left_to_the_look_up_by_id(
    binance: BinanceSimulator, make_config: Callable[..., Any], db_path: Path
) -> None:
    state = binance.state
    placed = state.add_open_order("BTC/USDT", side="Buy")
    state.add_trades(1_000, symbol="BTC/USDT")  # a page's worth of orders after it
    config, _ = make_config(
        {"binance": entry(binance, symbols=["BTC/USDT"], types=["orders"], market_types=["spot"])}
    )
    sync_ok(config)
    state.fill_order(placed["orderId"])
    binance.reset_counts()

    sync_ok(config)

    # The cursor did not wait on it (that would re-read a page on every pass): the order
    # vanished from the open list and was looked up on its own.
    assert len(queries(binance, ORDERS)) == 1 and binance.counts["/api/v3/order"] == 1
    final = rows(db_path, "SELECT status FROM orders WHERE id = ?", (str(placed["orderId"]),))
    assert final == [("closed",)]


def test_time_cursors_of_an_older_database_resume_by_id_without_a_rewalk(
    binance: BinanceSimulator, make_config: Callable[..., Any], db_path: Path
) -> None:
    state = binance.state
    now = state.now_ms()
    first = state.add_trades(5, symbol="BTC/USDT", ts=now - 6 * DAY)
    symbols = ["BTC/USDT"]
    config, _ = make_config(
        {"binance": entry(binance, symbols=symbols, types=["trades"], market_types=["spot"])}
    )
    sync_ok(config)
    # What an older exsync left: a time cursor (the newest trade's time), no id cursor and
    # no record of which symbols were checked.
    with_unit = any(c[1] == "unit" for c in rows(db_path, "PRAGMA table_info(cursors)"))
    from exsync.store import Store

    with Store(db_path) as store, store.transaction():
        store.execute(
            "UPDATE cursors SET position = ?" + (", unit = NULL" if with_unit else ""),
            [now - 2 * DAY],
        )
        store.execute("DELETE FROM history_symbols")
    later = state.add_trades(2, symbol="BTC/USDT", ts=now - DAY)
    binance.reset_counts()

    sync_ok(config)

    assert stored_trade_ids(db_path) == trade_ids(first) | trade_ids(later)
    # one request, from the first trade after the old cursor's overlap: nothing re-walked
    newest_before = max(int(r["id"]) for r in first)
    assert [q.get("fromId") for q in queries(binance, TRADES)] == [str(newest_before + 1)]


def test_paged_only_by_time_a_full_page_of_one_millisecond_fails_the_unit(
    binance: BinanceSimulator,
    make_config: Callable[..., Any],
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dataclasses import replace

    from exsync import profiles

    # An exchange whose history can only be followed by time (Binance without its ids).
    monkeypatch.setitem(profiles.PROFILES, "binance", replace(profiles.BINANCE, id_params={}))
    binance.state.add_fills("BTC/USDT", 1_500, ts=binance.state.now_ms() - DAY)
    symbols = ["BTC/USDT"]
    config, _ = make_config(
        {"binance": entry(binance, symbols=symbols, types=["trades"], market_types=["spot"])}
    )

    unit = Synchronizer(config).sync().units[0]

    # The rest of that millisecond cannot be asked for: a failure, never `ok` with rows lost.
    assert unit.status == "failed" and "rows at one millisecond" in (unit.error or "")


def test_a_due_re_read_with_nothing_older_stored_does_not_walk_the_whole_history(
    make_config: Callable[..., Any], db_path: Path
) -> None:
    # The re-read reaches further back than anything stored (reread > trades_since): it
    # starts as a first walk does, from trades_since, not from the symbol's first id.
    scenario = quiet(spot_symbols=["BTCUSDT"], linear_symbols=[], trades=12_000, history_days=100)
    with BinanceSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        settings = {"trades_since": "10d", "reread": "20d", "reread_every": "1s"}
        config, _ = make_config(
            {"binance": entry(sim, symbols=["BTC/USDT"], types=["trades"], **settings)}
        )
        sync_ok(config)
        first_pass = sim.counts[TRADES]
        time.sleep(1.2)  # the re-read is due
        sim.reset_counts()
        sync_ok(config)
        since = sim.state.now_ms() - 10 * DAY
    assert rows(db_path, "SELECT count(*) FROM trades WHERE timestamp < ?", (since,)) == [(0,)]
    assert sim.counts[TRADES] <= first_pass


def test_discovery_and_the_wallet_units_read_each_wallet_and_the_positions_once(
    binance: BinanceSimulator, make_config: Callable[..., Any]
) -> None:
    # The symbols to walk are found from the balances and positions the balances and
    # positions units of the same pass read anyway: one request each, not two.
    types = ["balances", "positions", "trades", "orders"]
    config, _ = make_config({"binance": entry(binance, types=types)})
    binance.reset_counts()
    sync_ok(config)
    reads = ("/api/v3/account", "/fapi/v3/account", "/sapi/v1/asset/get-funding-asset")
    assert {path: binance.counts[path] for path in (*reads, "/fapi/v3/positionRisk")} == {
        path: 1 for path in (*reads, "/fapi/v3/positionRisk")
    }
