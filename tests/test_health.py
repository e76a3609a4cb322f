"""exsync.health.check: exit code and one line from a real database."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from exsync.config import Config
from exsync.health import Health, check, format_age
from exsync.store import Store, breaker

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
TYPES = ["balances", "orders", "trades"]


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def record(
    store: Store,
    exchange: str,
    data_type: str,
    ago: timedelta,
    status: str = "ok",
    records: int = 5,
) -> None:
    finished = NOW - ago
    with store.transaction():
        store.record_run(
            run_id=f"run-{finished:%H%M%S}",
            exchange=exchange,
            data_type=data_type,
            started_at=iso(finished - timedelta(seconds=2)),
            finished_at=iso(finished),
            status=status,
            records=records,
            attempts=1,
            error=None if status == "ok" else "NetworkError: boom",
        )


def all_fresh(store: Store, minutes: int = 3) -> None:
    for data_type in TYPES:
        record(store, "bybit", data_type, timedelta(minutes=minutes))
    record(store, "okx", "balances", timedelta(minutes=1))


def test_all_fresh_is_ok(store: Store, config: Config) -> None:
    all_fresh(store)
    assert check(store, config, now=NOW) == (0, "OK: 4 units fresh (oldest 3m)")


def test_stale_beyond_the_threshold_is_a_warning(store: Store, config: Config) -> None:
    all_fresh(store)
    record(store, "bybit", "trades", timedelta(minutes=70))
    record(store, "bybit", "trades", timedelta(minutes=2), status="failed")
    code, line = check(store, config, now=NOW)
    assert code == Health.WARNING
    assert line == "WARNING: bybit trades stale 1h10m (last ok 2026-11-25 08:50)"


def test_stale_beyond_twice_the_threshold_and_open_breaker_are_critical(
    store: Store, config: Config
) -> None:
    all_fresh(store)
    record(store, "bybit", "trades", timedelta(hours=2, minutes=5))
    breaker.trip(store, "bybit", ["orders"], 3600, "maintenance", now=NOW - timedelta(hours=1))
    breaker.trip(store, "okx", ["balances"], 3600, "maintenance", now=NOW - timedelta(minutes=30))
    code, line = check(store, config, now=NOW)
    assert code == Health.CRITICAL
    assert line == (
        "CRITICAL: bybit orders breaker open until 10:00; "
        "bybit trades stale 2h05m (last ok 2026-11-25 07:55); "
        "okx balances breaker open until 10:30"
    )


def test_critical_units_come_before_warnings(store: Store, config: Config) -> None:
    all_fresh(store)
    record(store, "bybit", "balances", timedelta(minutes=90))  # warning, listed first in order
    record(store, "okx", "balances", timedelta(minutes=25))  # critical: > 2 x 10m
    code, line = check(store, config, now=NOW)
    assert code == Health.CRITICAL
    assert line.startswith("CRITICAL: okx balances stale 25m (last ok 2026-11-25 09:35); ")
    assert line.endswith("bybit balances stale 1h30m (last ok 2026-11-25 08:30)")


def test_stale_and_breaker_on_one_unit_are_one_item(store: Store, config: Config) -> None:
    all_fresh(store)
    record(store, "bybit", "orders", timedelta(hours=3))
    breaker.trip(store, "bybit", ["orders"], 86400, "by hand", now=NOW - timedelta(hours=3))
    code, line = check(store, config, now=NOW)
    assert code == Health.CRITICAL
    assert line == (
        "CRITICAL: bybit orders stale 3h (last ok 2026-11-25 07:00), "
        "breaker open until 2026-11-26 07:00"
    )


def test_never_ran_and_never_succeeded_are_critical(store: Store, config: Config) -> None:
    record(store, "bybit", "balances", timedelta(minutes=1))
    record(store, "bybit", "orders", timedelta(minutes=1), status="failed")
    record(store, "bybit", "trades", timedelta(minutes=1), status="skipped")
    code, line = check(store, config, now=NOW)
    assert code == Health.CRITICAL
    assert line == (
        "CRITICAL: bybit orders never succeeded (last failed); "
        "bybit trades never succeeded (last skipped); okx balances never ran"
    )


def test_half_open_breaker_is_a_warning(store: Store, config: Config) -> None:
    all_fresh(store)
    breaker.trip(store, "bybit", ["trades"], 60, "by hand", now=NOW - timedelta(minutes=5))
    assert breaker.admit(store, "bybit", "trades", "probe-run", 120, now=NOW).probe
    assert check(store, config, now=NOW) == (1, "WARNING: bybit trades breaker half-open")


def test_max_age_overrides_stale_after(store: Store, config: Config) -> None:
    all_fresh(store, minutes=20)
    # 20 minutes: fine for bybit's 1h; okx (10m) was synced a minute ago.
    assert check(store, config, now=NOW)[0] == Health.OK
    code, line = check(store, config, max_age=15 * 60, now=NOW)
    assert code == Health.WARNING
    assert line.count("stale 20m") == 3
    assert check(store, config, max_age=5 * 60, now=NOW)[0] == Health.CRITICAL
    with pytest.raises(ValueError):
        check(store, config, max_age=0, now=NOW)


def test_one_exchange(store: Store, config: Config) -> None:
    all_fresh(store)
    record(store, "okx", "balances", timedelta(hours=1))
    assert check(store, config, exchange="bybit", now=NOW) == (0, "OK: 3 units fresh (oldest 3m)")
    assert check(store, config, exchange="okx", now=NOW)[0] == Health.CRITICAL
    assert check(store, config, exchange="kraken", now=NOW) == (
        2,
        "CRITICAL: no units for exchange 'kraken'",
    )


def test_units_left_out_of_the_config_are_not_checked(store: Store, config: Config) -> None:
    all_fresh(store)
    record(store, "bybit", "ohlcv", timedelta(days=3))  # type no longer configured
    record(store, "binance", "balances", timedelta(days=3))  # exchange removed
    assert check(store, config, now=NOW)[0] == Health.OK
    # Without a config every unit the database knows is checked, against the default 1h.
    code, line = check(store, None, now=NOW)
    assert code == Health.CRITICAL
    assert "binance balances stale 3d" in line and "bybit ohlcv stale 3d" in line


def test_empty_database_without_config(store: Store) -> None:
    assert check(store, None, now=NOW) == (2, "CRITICAL: no units configured")


def test_one_unit_is_singular(store: Store) -> None:
    record(store, "bybit", "balances", timedelta(seconds=42))
    assert check(store, None, now=NOW) == (0, "OK: 1 unit fresh (oldest 42s)")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (59, "59s"),
        (60, "1m"),
        (3599, "59m"),
        (3600, "1h"),
        (4200, "1h10m"),
        (86400, "1d"),
        (90000, "1d1h"),
        (-5, "0s"),
    ],
)
def test_format_age(seconds: float, text: str) -> None:
    assert format_age(seconds) == text


def test_health_does_not_import_ccxt() -> None:
    code = "import sys, exsync.health; print('ccxt' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
