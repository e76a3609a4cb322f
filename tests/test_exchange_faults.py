"""What real exchanges throw at a client, end to end on both simulated exchanges: a host clock
that is off, transient errors that look permanent, IP bans, and answers without their data."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from exsync.errors import ExitCode
from exsync.health import check
from exsync.orchestrator import Synchronizer
from exsync.simulator import BinanceSimulator, BybitSimulator, Scenario
from exsync.status import unit_statuses
from exsync.store import Store
from tests.conftest import KEY, SECRET, exchange_entry, rows

SIMULATORS = {"bybit": BybitSimulator, "binance": BinanceSimulator}
TIME_PATH = {"bybit": "/v5/market/time", "binance": "/api/v3/time"}


@pytest.fixture(params=sorted(SIMULATORS))
def exchange(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    scenario = Scenario(seed=5, spot_symbols=["BTCUSDT"], linear_symbols=["BTCUSDT", "ETHUSDT"])
    with SIMULATORS[request.param](scenario, api_key=KEY, secret=SECRET) as sim:
        yield request.param, sim


def entry(ccxt_id: str, sim: Any, **overrides: Any) -> dict[str, Any]:
    symbols = [s for group in sim.state.expected()["symbols"].values() for s in group]
    settings = {
        "ccxt_id": ccxt_id,
        "symbols": symbols,
        "trades_since": "2d",
        "types": ["balances", "positions"],
        "max_tries": 3,
    }
    return exchange_entry(sim.url, **(settings | overrides))


def balances(db_path, name: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """The main wallet's balances (Bybit's unified, Binance's spot)."""
    return dict(
        rows(
            db_path,
            "SELECT asset, CAST(total AS REAL) FROM balances "
            "WHERE exchange = ? AND wallet IN ('unified', 'spot')",
            (name,),
        )
    )


# --------------------------------------------------------------------------- clock skew


@pytest.mark.parametrize("ahead", [3.0, -3.0, 30.0, -30.0], ids=lambda s: f"host{s:+.0f}s")
def test_a_skewed_host_clock_is_measured_and_the_pass_succeeds(
    exchange, ahead, make_config, db_path
):
    """The exchange rejects timestamps more than 1 s ahead of its clock or older than the
    receive window (Bybit 5 s, Binance 10 s as ccxt sends it): the offset is measured once,
    on the first rejection, and every signed call of the pass is retried once."""
    ccxt_id, sim = exchange
    sim.clock_offset = -ahead
    config, _ = make_config({ccxt_id: entry(ccxt_id, sim)})
    rejected = ahead > 1 or ahead < -5
    for kind in ("cold", "warm"):
        sim.reset_counts()
        result = Synchronizer(config).sync()
        assert result.exit_code is ExitCode.OK, (kind, [u.error for u in result.units])
        # Each signed call in flight is rejected once and retried once: a unit's attempts
        # are one more than its calls in flight (Bybit's balances unit reads four wallets
        # at once: 5 attempts; Binance's three wallets and two Earn lists: 6).
        attempts = {u.attempts for u in result.units}
        assert attempts <= {2, 3, 4, 5, 6} if rejected else attempts == {1}, (kind, attempts)
        assert sim.counts[TIME_PATH[ccxt_id]] == (1 if rejected else 0), kind
        assert balances(db_path, ccxt_id) == pytest.approx(
            sim.state.expected()["balances"], rel=1e-9
        )


# --------------------------------------------------------------------------- transient codes

TRANSIENT = {
    "bybit": [
        {"ret_code": 10000, "ret_msg": "Server Timeout"},
        {"ret_code": 10016, "ret_msg": "Server error."},
        {"ret_code": 10019, "ret_msg": "Service is restarting."},
    ],
    "binance": [
        {"code": -1000, "msg": "An unknown error occurred while processing the request."},
        {"code": -1001, "msg": "Internal error; unable to process your request. Please try again."},
        {"code": -1007, "msg": "Timeout waiting for response from backend server."},
        {"code": -1008, "msg": "Server is currently overloaded with other requests."},
    ],
}


def test_transient_error_codes_are_retried(exchange, make_config, db_path):
    ccxt_id, sim = exchange
    config, _ = make_config({ccxt_id: entry(ccxt_id, sim, types=["balances"])})
    assert Synchronizer(config).sync().ok
    for fault in TRANSIENT[ccxt_id]:
        sim.fail_next(path=sim.paths["balance"][0], **fault)
        unit = Synchronizer(config).sync().units[0]
        assert (unit.status, unit.attempts) == ("ok", 2), (fault, unit.error)
    assert rows(db_path, "SELECT state, failures FROM breakers") in ([], [("closed", 0)])


# --------------------------------------------------------------------------- hollow answers


@pytest.mark.parametrize("fault", ["empty", "hollow"])
def test_an_answer_without_its_data_keeps_the_balances(exchange, fault, make_config, db_path):
    ccxt_id, sim = exchange
    config, _ = make_config({ccxt_id: entry(ccxt_id, sim, types=["balances"])})
    assert Synchronizer(config).sync().ok
    before = balances(db_path, ccxt_id)
    assert before
    sim.fail_next(path=sim.paths["balance"][0], kind=fault, times=3)
    unit = Synchronizer(config).sync().units[0]
    assert (unit.status, unit.attempts) == ("failed", 3)
    assert unit.error.startswith("BadResponse")
    assert balances(db_path, ccxt_id) == before
    sim.fail_next(path=sim.paths["balance"][0], kind=fault)
    unit = Synchronizer(config).sync().units[0]
    assert (unit.status, unit.attempts) == ("ok", 2)
    assert balances(db_path, ccxt_id) == before


@pytest.mark.parametrize("fault", ["empty", "hollow"])
def test_an_answer_without_its_data_closes_no_position(exchange, fault, make_config, db_path):
    ccxt_id, sim = exchange
    config, _ = make_config({ccxt_id: entry(ccxt_id, sim, types=["positions"])})
    assert Synchronizer(config).sync().ok
    sql = "SELECT symbol, side FROM positions WHERE status = 'open' ORDER BY 1, 2"
    before = rows(db_path, sql)
    assert before
    sim.fail_next(path=sim.paths["positions"][0], kind=fault, times=20)
    unit = Synchronizer(config).sync().units[0]
    assert unit.status == "failed" and unit.error.startswith("BadResponse")
    assert rows(db_path, sql) == before


@pytest.mark.parametrize("fault", ["empty", "hollow"])
def test_an_answer_without_its_data_moves_no_cursor(exchange, fault, make_config, db_path):
    ccxt_id, sim = exchange
    config, _ = make_config({ccxt_id: entry(ccxt_id, sim, types=["trades"])})
    assert Synchronizer(config).sync().ok
    count = rows(db_path, "SELECT count(*) FROM trades")[0][0]
    cursors = rows(db_path, "SELECT stream, position FROM cursors ORDER BY 1")
    added = sim.state.add_trades(40, category="linear")
    trades = sim.paths["trades"][-1]  # the linear (futures) trade history
    sim.fail_next(path=trades, kind=fault, times=30)
    result = Synchronizer(config).sync()
    assert result.units[0].status == "failed"
    assert rows(db_path, "SELECT count(*) FROM trades")[0][0] == count
    assert rows(db_path, "SELECT stream, position FROM cursors ORDER BY 1") == cursors
    sim.clear_faults()
    assert Synchronizer(config).sync().ok
    assert rows(db_path, "SELECT count(*) FROM trades")[0][0] == count + len(added)


# --------------------------------------------------------------------------- IP bans

BAN = {
    "bybit": {"status": 403, "body": "access too frequent"},
    "binance": {
        "code": -1003,
        "msg": "Way too much request weight used; IP banned until 1. Please use WebSocket.",
        "status": 418,
        "headers": {"Retry-After": "300"},
    },
}
HELD_FOR = {"bybit": 600, "binance": 300}


def test_an_ip_ban_holds_every_account_on_the_ip_off(exchange, make_config, db_path, monkeypatch):
    """The ban is never retried; every configured account of the exchange on that host is
    held off for the time asked (Bybit: at least 10 minutes), in this pass and the next."""
    ccxt_id, sim = exchange
    sim.state.add_api_key("sub-key", "sub-secret")
    monkeypatch.setenv("SUB_KEY", "sub-key")
    monkeypatch.setenv("SUB_SECRET", "sub-secret")
    types = ["balances", "positions", "tickers"]
    config, _ = make_config(
        {
            "main": entry(ccxt_id, sim, types=types),
            "sub": entry(ccxt_id, sim, types=types, api_key_env="SUB_KEY", secret_env="SUB_SECRET"),
        }
    )
    assert Synchronizer(config).sync().ok  # markets cached for both
    sim.reset_counts()
    assert Synchronizer(config).sync().ok
    warm_requests = sum(sim.counts.values())
    sim.reset_counts()
    sim.fail_next(path=sim.paths["balance"][0], **BAN[ccxt_id])
    started = time.time()
    result = Synchronizer(config).sync()
    failed = [u for u in result.units if u.status == "failed"]
    assert len(failed) == 1 and failed[0].attempts == 1, result.units
    assert result.exit_code is ExitCode.FAILED
    assert {u.status for u in result.units} <= {"failed", "held", "ok"}
    # every breaker of both accounts is open until the ban ends
    breakers = rows(db_path, "SELECT exchange, data_type, state, next_probe_at FROM breakers")
    assert {(b[0], b[1]) for b in breakers} == {(a, t) for a in ("main", "sub") for t in types}
    for _, _, state, until in breakers:
        assert state == "open"
        held = time.mktime(time.strptime(until[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        assert started + HELD_FOR[ccxt_id] - 5 <= held <= time.time() + HELD_FOR[ccxt_id] + 5
    requests_in_ban_pass = sum(sim.counts.values())

    sim.reset_counts()
    result = Synchronizer(config).sync()
    assert sum(sim.counts.values()) == 0  # the next pass does not touch the exchange
    assert {u.status for u in result.units} == {"held"}
    assert result.exit_code is ExitCode.HELD
    assert all("IP ban" in (u.error or "") for u in result.units)
    # no retry, no request after the ban: at most what the units had sent at once
    assert requests_in_ban_pass <= warm_requests

    # `status` and `check` say why, and until when
    http = BAN[ccxt_id]["status"]
    with Store(db_path) as store:
        code, line = check(store, config)
        statuses = unit_statuses(store, config)
    assert code == 2 and line.startswith("CRITICAL: ")
    assert line.count(f"(IP ban: HTTP {http} from {ccxt_id})") == 2 * len(types), line
    assert all(s.ip_ban and "held off until" in (s.breaker_reason or "") for s in statuses)
