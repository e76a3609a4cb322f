"""Every fault an exchange can throw, through real HTTP and the real ccxt client."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from exsync.errors import ExitCode
from exsync.orchestrator import Synchronizer
from exsync.simulator import BybitSimulator
from tests.conftest import exchange_entry, rows

POSITIONS = "/v5/position/list"
TRADES = "/v5/execution/list"


@dataclass
class Fault:
    name: str
    kwargs: dict[str, Any]
    retryable: bool
    error: str  # the ccxt class name the unit's error starts with when retries are spent
    times_per_try: int = 1  # aiohttp itself re-sends once on a dropped kept-alive connection
    extra: dict[str, Any] = field(default_factory=dict)


FAULTS = [
    Fault(
        "http 500",
        {"status": 500, "body": "<html>500 Internal Server Error</html>"},
        True,
        "ExchangeNotAvailable",
    ),
    Fault(
        "http 502",
        {"status": 502, "body": "<html>502 Bad Gateway</html>"},
        True,
        "ExchangeNotAvailable",
    ),
    Fault(
        "http 503",
        {"status": 503, "body": "<html>503 Service Unavailable</html>"},
        True,
        "ExchangeNotAvailable",
    ),
    Fault(
        "maintenance",
        {"status": 503, "body": "<html>System maintenance</html>"},
        True,
        "ExchangeNotAvailable",
    ),
    Fault("slow", {"kind": "slow", "delay": 2.5}, True, "RequestTimeout"),
    Fault("dropped", {"kind": "drop"}, True, "ExchangeNotAvailable", times_per_try=2),
    Fault("http 429", {"status": 429, "body": "Too Many Requests"}, True, "RateLimitExceeded"),
    Fault(
        "retCode 10006",
        {"ret_code": 10006, "ret_msg": "Too many visits!"},
        True,
        "RateLimitExceeded",
    ),
    Fault("malformed", {"kind": "malformed"}, True, "BadResponse"),
    Fault(
        "invalid key",
        {"ret_code": 10003, "ret_msg": "API key is invalid."},
        False,
        "AuthenticationError",
    ),
    Fault(
        "permission", {"ret_code": 10005, "ret_msg": "Permission denied"}, False, "PermissionDenied"
    ),
    Fault("bad request", {"ret_code": 10001, "ret_msg": "params error"}, False, "BadRequest"),
]


def positions_config(sim: BybitSimulator, make_config, **overrides: Any):  # type: ignore[no-untyped-def]
    settings = {"types": ["positions"], "max_tries": 3, "timeout": "1s", "max_time": "20s"}
    entry = exchange_entry(sim.url, **(settings | overrides))
    config, _ = make_config({"bybit": entry})
    return config


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
def test_fault_once(fault: Fault, sim: BybitSimulator, make_config, db_path):
    """One faulty answer: transient faults are retried to success, permanent ones fail at once."""
    config = positions_config(sim, make_config)
    assert Synchronizer(config).sync().ok  # warm: markets cached
    before = rows(db_path, "SELECT symbol, side, contracts FROM positions ORDER BY 1, 2")
    sim.state.close_position(sim.state.positions[0]["symbol"])

    sim.fail_next(path=POSITIONS, times=fault.times_per_try, **fault.kwargs)
    result = Synchronizer(config).sync()
    unit = result.units[0]
    breaker = rows(db_path, "SELECT state, failures FROM breakers")
    if fault.retryable:
        assert unit.status == "ok", unit.error
        assert unit.attempts == 2
        assert result.exit_code is ExitCode.OK
        assert breaker in ([], [("closed", 0)])
        open_now = rows(db_path, "SELECT count(*) FROM positions WHERE status = 'open'")[0][0]
        assert open_now == len(before) - 1
    else:
        assert unit.status == "failed"
        assert unit.error.startswith(fault.error), unit.error
        assert unit.attempts == 1
        assert result.exit_code is ExitCode.FAILED
        assert breaker == [("closed", 1)]
        # nothing of the failed unit was written: the closed position still reads open
        assert (
            rows(db_path, "SELECT symbol, side, contracts FROM positions ORDER BY 1, 2") == before
        )
        assert rows(db_path, "SELECT count(*) FROM positions WHERE status = 'closed'") == [(0,)]


@pytest.mark.parametrize("fault", [f for f in FAULTS if f.retryable], ids=lambda f: f.name)
def test_fault_that_outlasts_the_retries(fault: Fault, sim: BybitSimulator, make_config, db_path):
    """A transient fault that never clears: max_tries attempts, then a failed unit, no writes."""
    config = positions_config(sim, make_config)
    assert Synchronizer(config).sync().ok
    before = rows(db_path, "SELECT symbol, side, status, synced_at FROM positions ORDER BY 1, 2")

    sim.fail_next(path=POSITIONS, times=3 * fault.times_per_try, **fault.kwargs)
    result = Synchronizer(config).sync()
    unit = result.units[0]
    assert unit.status == "failed"
    assert unit.error.startswith(fault.error), unit.error
    assert unit.attempts == 3
    assert result.exit_code is ExitCode.FAILED
    assert rows(db_path, "SELECT state, failures FROM breakers") == [("closed", 1)]
    assert (
        rows(db_path, "SELECT symbol, side, status, synced_at FROM positions ORDER BY 1, 2")
        == before
    )
    assert rows(db_path, "SELECT attempts, status FROM sync_runs ORDER BY id DESC LIMIT 1") == [
        (3, "failed")
    ]


def test_failure_mid_history_writes_no_half_window(sim: BybitSimulator, make_config, db_path):
    """Page 2 of a window fails for good: the cursor does not move past the window (its
    first page's rows may have been committed already: they are upserts, re-read next time)."""
    config, _ = make_config(
        {"bybit": exchange_entry(sim.url, types=["trades"], max_tries=2, max_time="5s")}
    )
    assert Synchronizer(config).sync().ok
    count = rows(db_path, "SELECT count(*) FROM trades")[0][0]
    cursors = rows(db_path, "SELECT stream, position FROM cursors ORDER BY 1")
    sim.state.add_trades(250, category="linear")
    # Market types are walked in turn: spot's one page and linear's first page answer
    # normally (a "slow" fault with no delay), then every request fails.
    sim.fail_next(path=TRADES, times=2, kind="slow", delay=0)
    sim.fail_next(path=TRADES, times=10, status=503)
    result = Synchronizer(config).sync()
    assert result.units[0].status == "failed"
    assert count <= rows(db_path, "SELECT count(*) FROM trades")[0][0] <= count + 100
    assert rows(db_path, "SELECT stream, position FROM cursors ORDER BY 1") == cursors

    sim.clear_faults()
    assert Synchronizer(config).sync().ok  # and the next pass completes it
    assert rows(db_path, "SELECT count(*) FROM trades")[0][0] == count + 250


def test_rate_limit_reset_time_is_waited_for(sim: BybitSimulator, make_config, db_path):
    config = positions_config(sim, make_config)
    assert Synchronizer(config).sync().ok
    reset_at = int(time.time() * 1000) + 1500
    sim.fail_next(
        path=POSITIONS,
        ret_code=10006,
        ret_msg="Too many visits!",
        headers={"X-Bapi-Limit-Reset-Timestamp": str(reset_at)},
    )
    result = Synchronizer(config).sync()
    assert result.ok and result.units[0].attempts == 2
    retried_at = max(t for t in sim.request_times(POSITIONS))
    assert retried_at * 1000 >= reset_at - 50  # not before the exchange said


def test_rate_limit_wait_is_capped_by_max_time(sim: BybitSimulator, make_config, db_path):
    config = positions_config(sim, make_config, max_time="1s")
    assert Synchronizer(config).sync().ok
    sim.fail_next(path=POSITIONS, status=429, body="slow down", headers={"Retry-After": "3600"})
    started = time.monotonic()
    result = Synchronizer(config).sync()
    elapsed = time.monotonic() - started
    assert result.units[0].status == "failed"
    assert result.units[0].error.startswith("RateLimitExceeded")
    assert result.units[0].attempts == 1  # no retry before the time the server named
    assert elapsed < 60  # nowhere near the hour the server asked for
