"""Complete history on real accounts: every execution type, late rows, vanished orders and
how far back an exchange keeps history, through the real ccxt client over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from exsync.orchestrator import Synchronizer
from exsync.simulator import BybitSimulator, Scenario
from tests.conftest import KEY, SECRET, exchange_entry, rows


@pytest.fixture
def booked() -> Iterator[BybitSimulator]:
    """An account whose history holds funding, liquidations, settlements and the like."""
    scenario = Scenario(seed=13, trades=300, booked_executions=60, history_days=30)
    with BybitSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        yield sim


def test_every_execution_type_is_stored_with_its_type(booked, make_config, db_path):
    config, _ = make_config({"bybit": exchange_entry(booked.url, types=["trades"])})
    assert Synchronizer(config).sync().ok
    executions = {e["execId"]: e for e in booked.state.executions}
    kinds = {e["execType"] for e in executions.values()}
    assert {"Trade", "Funding"} < kinds and len(kinds) >= 4  # the scenario books several

    stored = {
        r[0]: r[1:]
        for r in rows(
            db_path,
            "SELECT id, exec_type, symbol, CAST(fee_cost AS REAL), CAST(amount AS REAL) "
            "FROM trades",
        )
    }
    assert set(stored) == set(executions)
    for exec_id, (exec_type, symbol, _, _) in stored.items():
        raw = executions[exec_id]
        assert exec_type == raw["execType"]
        if raw["execType"] != "Trade":
            # booked on a linear market, never attributed to its spot namesake
            assert symbol.endswith(":USDT"), (raw, symbol)
    funding = [e for e in executions.values() if e["execType"] == "Funding"]
    assert funding
    for raw in funding:
        _, symbol, fee, amount = stored[raw["execId"]]
        assert fee == pytest.approx(float(raw["execFee"]))  # paid (negative: received)
        assert amount == pytest.approx(float(raw["execQty"]))
    # a funding settlement is not an order anyone placed
    funding_orders = {raw["orderId"] for raw in funding}
    assert not funding_orders & {r[0] for r in rows(db_path, "SELECT id FROM orders")}


def test_booked_executions_arrive_incrementally(booked, make_config, db_path):
    config, _ = make_config({"bybit": exchange_entry(booked.url, types=["trades"])})
    assert Synchronizer(config).sync().ok
    added = booked.state.add_booked_executions("Funding", 3, symbol="BTCUSDT")
    added += booked.state.add_booked_executions("BustTrade", 1, symbol="ETHUSDT")
    assert Synchronizer(config).sync().ok
    stored = dict(rows(db_path, "SELECT id, exec_type FROM trades"))
    assert {e["execId"]: e["execType"] for e in added}.items() <= stored.items()


def _requests(sim: BybitSimulator, path: str = "/v5/execution/list") -> int:
    return sim.counts[path]


def test_late_rows_are_caught_by_the_daily_deeper_reread(sim, make_config, db_path):
    """A fill that became visible 10 minutes after its time is outside the 5-minute overlap;
    the deeper re-read (the last day, once a day) catches it, idempotently."""
    entry = exchange_entry(sim.url, types=["trades"], overlap="5m", reread="1d", reread_every="1d")
    config, _ = make_config({"bybit": entry})
    state = sim.state
    state.add_trades(1, symbol="BTCUSDT", category="linear")  # the cursor reaches now
    assert Synchronizer(config).sync().ok
    now = state.now_ms()
    late = state.add_trades(1, symbol="ETHUSDT", category="linear", ts=now - 10 * 60_000)
    late_id = late[0]["execId"]

    sim.reset_counts()
    assert Synchronizer(config).sync().ok
    incremental = _requests(sim)
    stored = {r[0] for r in rows(db_path, "SELECT id FROM trades")}
    assert late_id not in stored  # beyond the overlap, and the day's re-read is not due

    # a day later, the re-read is due
    with __import__("sqlite3").connect(db_path) as conn:
        conn.execute("UPDATE cursors SET reread_at = reread_at - 86400000 - 1")
    before = rows(db_path, "SELECT count(*) FROM trades")[0][0]
    sim.reset_counts()
    assert Synchronizer(config).sync().ok
    deep = _requests(sim)
    stored = {r[0] for r in rows(db_path, "SELECT id FROM trades")}
    assert late_id in stored
    assert rows(db_path, "SELECT count(*) FROM trades")[0][0] == before + 1  # idempotent
    assert deep >= incremental  # the day costs its pages, reported in the closing figures

    # and the next pass is incremental again
    sim.reset_counts()
    assert Synchronizer(config).sync().ok
    assert _requests(sim) == incremental


def _lookups(sim: BybitSimulator, order_id: str) -> int:
    return sum(1 for _, path, query in sim.requests if f"orderId={order_id}" in query)


def test_a_vanished_order_is_looked_up_by_id_and_rechecked_until_its_end_is_known(
    sim, make_config, db_path
):
    config, _ = make_config({"bybit": exchange_entry(sim.url, types=["orders"])})
    assert Synchronizer(config).sync().ok
    state = sim.state
    now = state.now_ms()
    victim = next(o for o in state.open_orders if int(o["createdTime"]) < now - 15 * 60_000)[
        "orderId"
    ]
    # Cancelled 10 minutes ago, beyond the overlap; Bybit's history shows it only later.
    state.cancel_order(victim, ts=now - 10 * 60_000, history_delay=3600)
    other = next(o["orderId"] for o in state.open_orders if o["orderId"] != victim)
    state.fill_order(other)  # the history cursor moves on past the cancellation

    sim.reset_counts()
    assert Synchronizer(config).sync().ok
    assert dict(rows(db_path, "SELECT id, status FROM orders"))[victim] == "unknown"
    assert _lookups(sim, victim) == 1  # asked by id before giving up

    state.publish_delayed()  # the history entry appears
    sim.reset_counts()
    assert Synchronizer(config).sync().ok
    assert dict(rows(db_path, "SELECT id, status FROM orders"))[victim] == "canceled"
    assert _lookups(sim, victim) == 1

    sim.reset_counts()
    assert Synchronizer(config).sync().ok
    assert _lookups(sim, victim) == 0  # known now: never asked again


def test_trades_since_beyond_what_the_exchange_keeps_is_clamped_with_a_warning(
    sim, make_config, db_path, tmp_path
):
    from urllib.parse import parse_qs

    from tests.conftest import run

    entry = exchange_entry(
        sim.url, types=["trades"], market_types=["linear"], symbols=[], trades_since="1100d"
    )
    config, path = make_config({"bybit": entry})
    checked = run("config", "validate", "-c", str(path))
    assert checked.returncode == 0
    assert "trades_since" in checked.stderr and "730 days" in checked.stderr

    for _ in range(2):  # never an error loop
        result = Synchronizer(config).sync()
        assert result.ok, result.units
    starts = [
        int(parse_qs(q)["startTime"][0]) for _, p, q in sim.requests if p == "/v5/execution/list"
    ]
    assert min(starts) >= sim.state.now_ms() - 730 * 86_400_000
    warning = rows(db_path, "SELECT warnings FROM sync_runs ORDER BY id LIMIT 1")[0][0]
    assert "730 days" in warning and "trades_since" in warning
    shown = run("status", "-c", str(path))
    assert "warnings=" in shown.stdout and "730 days" in shown.stdout
    stored = {r[0] for r in rows(db_path, "SELECT id FROM trades")}
    assert stored == {e["execId"] for e in sim.state.executions_in("linear")}
