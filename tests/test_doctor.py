"""`exsync doctor` against both simulated exchanges, through the installed entry point."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from exsync.orchestrator import Synchronizer
from exsync.simulator import BinanceSimulator, BybitSimulator, Scenario
from tests.conftest import KEY, SECRET, exchange_entry, run, write_config

SIMULATORS = {"bybit": BybitSimulator, "binance": BinanceSimulator}
KEY_INFO = {"bybit": "/v5/user/query-api", "binance": "/sapi/v1/account/apiRestrictions"}
DAY_MS = 86_400_000


@pytest.fixture(params=sorted(SIMULATORS))
def exchange(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    with SIMULATORS[request.param](Scenario(seed=2), api_key=KEY, secret=SECRET) as sim:
        yield request.param, sim


def doctor(tmp_path: Path, ccxt_id: str, url: str, *extra: str, **env: str) -> Any:
    entry = exchange_entry(url, ccxt_id=ccxt_id, symbols=["BTC/USDT"], timeout="2s")
    config = write_config(tmp_path / "c.yaml", tmp_path / "x.db", {ccxt_id: entry})
    return run("doctor", "-c", str(config), *extra, env=env or None)


def test_a_sound_account_is_ok_in_two_requests(exchange, tmp_path):
    ccxt_id, sim = exchange
    result = doctor(tmp_path, ccxt_id, sim.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{ccxt_id}: ok: {ccxt_id} reachable (" in result.stdout
    assert "clock offset +0.0s" in result.stdout or "clock offset -0.0s" in result.stdout
    assert f"{ccxt_id}: ok: credentials accepted" in result.stdout
    assert "warning" not in result.stdout and "critical" not in result.stdout
    assert sum(sim.counts.values()) == 2 and sim.counts[KEY_INFO[ccxt_id]] == 1
    assert SECRET not in result.stdout + result.stderr


def test_a_key_that_can_do_more_than_read_is_warned_about(exchange, tmp_path):
    ccxt_id, sim = exchange
    key = sim.state.key_info
    key.read_only, key.withdraw, key.ips = False, True, ()
    key.expires_at_ms = sim.state.server_ms() + 3 * DAY_MS + 3_600_000
    result = doctor(tmp_path, ccxt_id, sim.url, "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    findings = {(f["level"], f["text"].split(":")[0]) for f in json.loads(result.stdout)}
    assert ("warning", "the key can withdraw") in findings
    assert any(
        level == "warning" and text.startswith("the key can trade") for level, text in findings
    )
    assert ("warning", "the key is not bound to an IP address") in findings
    expiring = [t for lvl, t in findings if lvl == "warning" and "expires on" in t]
    assert expiring and "in 3 day(s)" in next(
        f["text"] for f in json.loads(result.stdout) if "expires on" in f["text"]
    )


def test_an_expired_key_is_critical(exchange, tmp_path):
    ccxt_id, sim = exchange
    sim.state.key_info.read_only = False
    sim.state.key_info.expires_at_ms = sim.state.server_ms() - DAY_MS
    result = doctor(tmp_path, ccxt_id, sim.url)
    assert result.returncode == 2
    assert "critical: " in result.stdout and "expired on" in result.stdout


def test_a_bybit_classic_account_is_named(tmp_path):
    with BybitSimulator(Scenario(seed=2), api_key=KEY, secret=SECRET) as sim:
        sim.state.unified = False
        result = doctor(tmp_path, "bybit", sim.url)
    assert result.returncode == 2
    assert "bybit: ok: credentials accepted; classic (non-unified) account" in result.stdout
    assert "bybit: critical: account mode: classic (non-unified) account" in result.stdout


def test_rejected_credentials_are_critical(exchange, tmp_path):
    ccxt_id, sim = exchange
    result = doctor(tmp_path, ccxt_id, sim.url, SIM_SECRET="wrong-secret")
    assert result.returncode == 2
    assert f"{ccxt_id}: critical: credentials rejected: AuthenticationError" in result.stdout
    assert "wrong-secret" not in result.stdout + result.stderr


def test_a_skewed_clock_is_a_warning_and_the_key_is_still_read(exchange, tmp_path):
    ccxt_id, sim = exchange
    sim.clock_offset = -3.0  # this host runs 3 s ahead
    result = doctor(tmp_path, ccxt_id, sim.url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "this host's clock is +3.0s off the exchange's" in result.stdout
    assert f"{ccxt_id}: ok: credentials accepted" in result.stdout


def test_an_unreachable_exchange_is_critical(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    result = doctor(tmp_path, "bybit", f"http://127.0.0.1:{port}")
    assert result.returncode == 2
    assert "bybit: critical: bybit not reachable: ExchangeNotAvailable (connection refused)" in (
        result.stdout
    )
    assert time.monotonic() - started < 60


def test_a_classic_account_sync_says_what_the_404_means(make_config):
    """Without doctor too: Bybit's bare 404 for the unified wallet of a classic account
    comes with what it usually means."""
    with BybitSimulator(Scenario(seed=2), api_key=KEY, secret=SECRET) as sim:
        sim.state.unified = False
        config, _ = make_config({"bybit": exchange_entry(sim.url, types=["balances"])})
        unit = Synchronizer(config).sync().units[0]
    assert unit.status == "failed"
    assert "classic (non-unified) account has no unified wallet" in unit.error, unit.error
    assert "exsync doctor" in unit.error
