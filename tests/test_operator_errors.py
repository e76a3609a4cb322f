"""Operator-facing errors: breaker commands that name what is not configured, durations of
zero, and network failures that say why."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from exsync.orchestrator import Synchronizer
from exsync.simulator import BybitSimulator
from tests.conftest import exchange_entry, rows, run, write_config


@pytest.fixture
def config_file(sim: BybitSimulator, tmp_path: Path) -> tuple[str, Path]:
    db = tmp_path / "x.db"
    entry = exchange_entry(sim.url, types=["balances", "positions"])
    return str(write_config(tmp_path / "c.yaml", db, {"bybit": entry})), db


def test_breaker_trip_refuses_what_is_not_configured(config_file):
    config, db = config_file
    nope = run("breaker", "trip", "--exchange", "nope", "-c", config)
    assert nope.returncode == 2
    assert "no exchange named 'nope'" in nope.stderr and "(configured: bybit)" in nope.stderr
    other = run("breaker", "trip", "--exchange", "bybit", "--type", "trades", "-c", config)
    assert other.returncode == 2
    assert "bybit does not sync trades (its types: balances, positions)" in other.stderr
    if db.exists():
        assert rows(db, "SELECT count(*) FROM breakers") == [(0,)]
    tripped = run("breaker", "trip", "--exchange", "bybit", "--for", "1h", "-c", config)
    assert tripped.returncode == 0 and "tripped 2 breaker(s) of bybit" in tripped.stdout


def test_breaker_reset_refuses_what_is_not_configured_or_stored(config_file, tmp_path):
    config, db = config_file
    assert run("breaker", "trip", "--exchange", "bybit", "-c", config).returncode == 0
    nope = run("breaker", "reset", "--exchange", "nope", "-c", config)
    assert nope.returncode == 2 and "no exchange named 'nope'" in nope.stderr
    # an exchange removed from the config: its stored breakers can still be reset
    removed = str(write_config(tmp_path / "d.yaml", db, {"other": exchange_entry("http://x")}))
    reset = run("breaker", "reset", "--exchange", "bybit", "-c", removed)
    assert reset.returncode == 0 and "reset 2 breaker(s)" in reset.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["breaker", "trip", "--exchange", "bybit", "--for", "0s"],
        ["check", "--max-age", "0s"],
        ["history", "prune", "--older-than", "0d"],
        ["sync", "--wait", "0s"],
        ["run", "--every", "0m"],
    ],
    ids=lambda a: a[-2],
)
def test_durations_of_zero_are_usage_errors(config_file, args):
    config, _ = config_file
    result = run(*args, "-c", config)
    assert result.returncode == 2, result.stderr
    assert f"{args[-2]}: must be greater than zero" in result.stderr
    assert "internal error" not in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "where, reason",
    [
        ("refused", "connection refused"),
        ("dns", "name not resolved"),
        ("tls", "TLS failure"),
        ("slow", "timed out after 1s"),
    ],
)
def test_network_errors_say_why(where, reason, sim: BybitSimulator, make_config):
    urls = {
        "refused": f"http://127.0.0.1:{_free_port()}",
        "dns": "http://exchange.invalid",
        "tls": "https://" + sim.url.split("://", 1)[1],
        "slow": sim.url,
    }
    settings = {"types": ["balances"], "max_tries": 1, "timeout": "1s"}
    config, _ = make_config({"bybit": exchange_entry(urls[where], **settings)})
    if where == "slow":
        assert Synchronizer(config).sync().ok  # markets cached
        sim.fail_next(path="/v5/account/wallet-balance", kind="slow", delay=3)
    unit = Synchronizer(config).sync().units[0]
    assert unit.status == "failed"
    # the reason comes with the error's class, before the URL that may be cut short
    assert f" ({reason}" in unit.error.split(": ", 1)[0], unit.error
