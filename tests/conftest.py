"""Shared fixtures: a simulated Bybit over HTTP and configs that point ccxt at it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from exsync.config import Config, load_config, parse_config
from exsync.simulator import BybitSimulator, Scenario
from exsync.store import Store

KEY = "test-api-key"
SECRET = "test-api-secret"
SYMBOLS = ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An empty exsync database."""
    with Store(tmp_path / "exsync.db") as opened:
        yield opened


@pytest.fixture
def config() -> Config:
    """Two exchanges with different staleness limits, for status, health and metrics."""
    return parse_config(
        {
            "defaults": {"stale_after": "1h"},
            "exchanges": {
                "bybit": {"types": ["balances", "orders", "trades"]},
                "okx": {"types": ["balances"], "stale_after": "10m"},
            },
        }
    )


@pytest.fixture
def scenario() -> Scenario:
    """A small account: a few hundred trades over 30 days, so backfills cross windows and pages."""
    return Scenario(seed=7)


@pytest.fixture
def sim(scenario: Scenario) -> Iterator[BybitSimulator]:
    with BybitSimulator(scenario, api_key=KEY, secret=SECRET) as server:
        yield server


@pytest.fixture
def credentials_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIM_API_KEY", KEY)
    monkeypatch.setenv("SIM_SECRET", SECRET)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "exsync.db"


def exchange_entry(url: str, **overrides: Any) -> dict[str, Any]:
    """A config entry for one simulated Bybit account."""
    entry: dict[str, Any] = {
        "ccxt_id": "bybit",
        "api_url": url,
        "api_key_env": "SIM_API_KEY",
        "secret_env": "SIM_SECRET",
        "symbols": SYMBOLS,
        "trades_since": "40d",
        "ohlcv_since": "2d",
        "timeframe": "1h",
        "max_tries": 2,
        "max_time": "5s",
        "timeout": "5s",
    }
    entry.update(overrides)
    return entry


@pytest.fixture
def make_config(
    tmp_path: Path, db_path: Path, credentials_env: None
) -> Callable[..., tuple[Config, Path]]:
    """Write a config with the given exchange entries; return it loaded and its path."""

    def make(exchanges: dict[str, dict[str, Any]], **top: Any) -> tuple[Config, Path]:
        data = {"database": str(db_path), "exchanges": exchanges, **top}
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return load_config(path), path

    return make


def rows(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Query the database read-only, as the portfolio API would."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


EXSYNC = str(Path(sys.executable).parent / "exsync")


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the installed `exsync` entry point the way a timer would."""
    return subprocess.run(
        [EXSYNC, *args],
        capture_output=True,
        text=True,
        env=exsync_env(env),
        timeout=timeout,
        check=False,
    )


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start `exsync` in the background."""
    return subprocess.Popen(
        [EXSYNC, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=exsync_env(env),
    )


def exsync_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "SIM_API_KEY": KEY, "SIM_SECRET": SECRET, **(extra or {})}
    env.pop("EXSYNC_CONFIG", None)
    return env


def write_config(path: Path, db: Path, exchanges: dict[str, Any], **top: Any) -> Path:
    """Write a YAML config file."""
    data = {"database": str(db), "exchanges": exchanges, **top}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path
