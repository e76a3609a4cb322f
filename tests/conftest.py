"""Shared fixtures: a simulated Bybit over HTTP and configs that point ccxt at it; the
database of either engine.

The PostgreSQL cases run against the server `EXSYNC_TEST_POSTGRES` names (a URL of a role
that may create databases; its password in `EXSYNC_TEST_POSTGRES_PASSWORD`), each in a
database of its own; `.ci/postgres start` makes such a server. Without one they skip.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml

from exsync.config import Config, load_config, parse_config
from exsync.orchestrator import PassResult, Synchronizer
from exsync.simulator import BybitSimulator, Scenario
from exsync.store import Store
from exsync.store.dialect import format_params

KEY = "test-api-key"
SECRET = "test-api-secret"
SYMBOLS = ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT"]

PG_SERVER = os.environ.get("EXSYNC_TEST_POSTGRES")
PG_PASSWORD = os.environ.get("EXSYNC_TEST_POSTGRES_PASSWORD")
#: the variable the configs of the PostgreSQL cases name as `database_password_env`
DB_PASSWORD_ENV = "EXSYNC_TEST_DB_PASSWORD"
#: parametrize a test over both engines: `@pytest.mark.parametrize("engine", ENGINES)`
ENGINES = ["sqlite", "postgresql"]


def is_url(database: Path | str) -> bool:
    return isinstance(database, str) and database.startswith("postgresql://")


@pytest.fixture(params=ENGINES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """A fresh, empty database of each engine: an SQLite path, or a PostgreSQL URL."""
    if request.param == "sqlite":
        yield tmp_path / "exsync.db"
    else:
        yield from postgres_database()


def postgres_database() -> Iterator[str]:
    """A new database on the test server for one test, dropped after it."""
    if not PG_SERVER:
        pytest.skip("no PostgreSQL server (EXSYNC_TEST_POSTGRES; `.ci/postgres start`)")
    import psycopg

    name = f"exsync_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_SERVER, password=PG_PASSWORD, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(PG_SERVER)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        _drop(name)


def _drop(name: str) -> None:
    """Drop a test database; a server process of another role (autovacuum) still in it
    makes the drop wait a moment rather than fail the test that used it."""
    import psycopg

    for attempt in range(20):
        try:
            with psycopg.connect(PG_SERVER, password=PG_PASSWORD, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            return
        except psycopg.errors.InsufficientPrivilege:
            if attempt == 19:
                raise
            time.sleep(0.25)


def open_store(database: Path | str, **options: Any) -> Store:
    """A Store on a test database of either engine."""
    return Store(database, password=PG_PASSWORD if is_url(database) else None, **options)


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
    tmp_path: Path, db_path: Path, credentials_env: None, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[Config, Path]]:
    """Write a config with the given exchange entries; return it loaded and its path.
    `db=`: the database (default: `db_path`)."""

    def make(
        exchanges: dict[str, dict[str, Any]], db: Path | str | None = None, **top: Any
    ) -> tuple[Config, Path]:
        database = db or db_path
        data = {**database_keys(database), "exchanges": exchanges, **top}
        if is_url(database):
            monkeypatch.setenv(DB_PASSWORD_ENV, PG_PASSWORD or "")
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return load_config(path), path

    return make


def database_keys(database: Path | str) -> dict[str, str]:
    """The config's keys naming a database (and, for PostgreSQL, its password's source)."""
    if is_url(database):
        return {"database": str(database), "database_password_env": DB_PASSWORD_ENV}
    return {"database": str(database)}


def sync_ok(config: Config) -> PassResult:
    """One pass in this process, every unit `ok`."""
    result = Synchronizer(config).sync()
    assert result.ok, [(u.data_type, u.status, u.error) for u in result.units]
    return result


def table(db_path: Path, name: str, key: str = "id") -> dict[Any, dict[str, Any]]:
    """An SQLite table's rows as dicts, by `key`."""
    found = rows(db_path, f"SELECT * FROM {name}")
    columns = [r[1] for r in rows(db_path, f"PRAGMA table_info({name})")]
    return {r[columns.index(key)]: dict(zip(columns, r, strict=True)) for r in found}


def status_of(db_path: Path, name: str, record_id: str) -> str:
    return rows(db_path, f"SELECT status FROM {name} WHERE id = ?", (record_id,))[0][0]


def rows(db_path: Path | str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Query the database read-only, as the portfolio API would (either engine)."""
    if is_url(db_path):
        import psycopg

        with psycopg.connect(str(db_path), password=PG_PASSWORD, autocommit=True) as conn:
            cursor = conn.execute(format_params(sql) if params else sql, params or None)
            return [tuple(r) for r in cursor.fetchall()] if cursor.description else []
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
    env = {
        **os.environ,
        "SIM_API_KEY": KEY,
        "SIM_SECRET": SECRET,
        DB_PASSWORD_ENV: PG_PASSWORD or "",
        **(extra or {}),
    }
    env.pop("EXSYNC_CONFIG", None)
    return env


def write_config(path: Path, db: Path | str, exchanges: dict[str, Any], **top: Any) -> Path:
    """Write a YAML config file (for either engine's database)."""
    data = {**database_keys(db), "exchanges": exchanges, **top}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path
