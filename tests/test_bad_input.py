"""Bad input never yields a traceback or touches the existing data."""

from __future__ import annotations

import copy
import hashlib
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exsync.config import parse_config
from exsync.errors import ConfigError
from exsync.simulator import BybitSimulator
from tests.conftest import (
    DB_PASSWORD_ENV,
    ENGINES,
    PG_PASSWORD,
    database_keys,
    exchange_entry,
    is_url,
    open_store,
    postgres_database,
    rows,
    run,
    write_config,
)

VALID: dict[str, Any] = {
    "database": "x.db",
    "defaults": {"timeframe": "1h", "stale_after": "1h", "max_tries": 3},
    "exchanges": {
        "bybit": {
            "api_key_env": "K",
            "secret_env": "S",
            "api_url": "http://127.0.0.1:1",
            "sandbox": False,
            "options": {"recvWindow": 5000},
            "symbols": ["BTC/USDT", "BTC/USDT:USDT"],
            "types": ["balances", "trades", "ohlcv"],
            "market_types": ["spot", "linear"],
            "trades_since": "30d",
            "timeout": "10s",
        }
    },
}

WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def leaf_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        paths = [prefix] if prefix else []
        for key, value in node.items():
            paths.extend(leaf_paths(value, (*prefix, key)))
        return paths
    if isinstance(node, list):
        paths = [prefix]
        for index, value in enumerate(node):
            paths.extend(leaf_paths(value, (*prefix, index)))
        return paths
    return [prefix]


PATHS = leaf_paths(VALID)


def test_the_valid_base_config_is_valid() -> None:
    assert parse_config(VALID, source="cfg.yaml").exchange("bybit").symbols == (
        "BTC/USDT",
        "BTC/USDT:USDT",
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), value=WRONG)
def test_any_value_anywhere_is_accepted_or_named(path: tuple[Any, ...], value: Any) -> None:
    data = copy.deepcopy(VALID)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    try:
        parse_config(data, source="cfg.yaml")
    except ConfigError as exc:
        assert exc.problems
        for line in exc.problems:
            assert line.startswith("cfg.yaml: ")
            assert "\n" not in line
        # the message points at the key that was changed (or its parent list/mapping)
        dotted = ".".join(str(p) for p in path if not isinstance(p, int))
        assert any(dotted.split(".")[0] in line for line in exc.problems)


@settings(max_examples=100, deadline=None)
@given(document=st.text(max_size=200))
def test_any_yaml_text_is_accepted_or_named(tmp_path_factory, document: str) -> None:
    path = tmp_path_factory.mktemp("cfg") / "c.yaml"
    path.write_text(document, encoding="utf-8")
    from exsync.config import load_config

    try:
        load_config(path)
    except ConfigError as exc:
        assert all(line.startswith(f"{path}: ") for line in exc.problems)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(db: Path | str) -> Any:
    """What the database holds: the file's bytes (SQLite), every table's rows (PostgreSQL)."""
    if not is_url(db):
        return digest(Path(db))
    names = [r[0] for r in rows(db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    return {name: sorted(map(repr, rows(db, f"SELECT * FROM {name}"))) for name in names}


@pytest.fixture
def synced_db(sim: BybitSimulator, tmp_path: Path, database: Path | str) -> tuple[Any, Path]:
    config = write_config(tmp_path / "good.yaml", database, {"bybit": exchange_entry(sim.url)})
    done = run("sync", "-c", str(config), "--type", "balances")
    assert done.returncode == 0, done.stderr
    return database, config


def test_bad_config_leaves_the_database_untouched(synced_db, tmp_path: Path):
    db, _ = synced_db
    before = snapshot(db)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {**database_keys(db), "exchanges": {"bybit": {"types": ["balances"], "timeout": -5}}}
        ),
        encoding="utf-8",
    )
    done = run("sync", "-c", str(bad))
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == f"exsync: error: {bad}: exchanges.bybit.timeout: a duration cannot be negative"
    )
    assert snapshot(db) == before


def test_unreadable_config_is_one_line(tmp_path: Path):
    not_utf8 = tmp_path / "latin1.yaml"
    not_utf8.write_bytes(b"exchanges:\n  bybit: {symbols: ['\xff\xfe']}\n")
    directory = tmp_path / "dir.yaml"
    directory.mkdir()
    for path in (not_utf8, directory):
        done = run("sync", "-c", str(path))
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("exsync: error: ")
        assert str(path) in lines[0]
        assert "cannot read config" in lines[0] or "is a directory" in lines[0]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_database_that_cannot_be_opened_is_one_line(sim: BybitSimulator, tmp_path, engine):
    entry = {"bybit": exchange_entry(sim.url)}
    wrong = "a-wrong-password-42"
    with ExitStack() as stack:
        if engine == "sqlite":
            blocker = tmp_path / "file"
            blocker.write_text("a file where a directory should be", encoding="utf-8")
            cases = [("cannot create directory", blocker / "sub" / "x.db", None)]
        else:
            url = stack.enter_context(contextmanager(postgres_database)())
            port = stack.enter_context(socket.socket())
            port.bind(("127.0.0.1", 0))  # bound, never listening: connection refused
            elsewhere = urlsplit(url)._replace(netloc=f"exsync@127.0.0.1:{port.getsockname()[1]}")
            cases = [
                ("cannot connect to the database server", urlunsplit(elsewhere), None),
                ("does not exist (create it first", url + "_missing", None),
                ("password authentication failed", url, wrong),
            ]
        for expected, database, password in cases:
            config = write_config(tmp_path / "c.yaml", database, entry)
            done = run(
                "sync", "-c", str(config), env={DB_PASSWORD_ENV: password or PG_PASSWORD or ""}
            )
            assert done.returncode == 2, done.stderr
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and expected in lines[0] and str(database) in lines[0], lines
            assert wrong not in done.stderr + done.stdout


@contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    """Make paths unwritable even for root (immutable attribute), or skip the test."""
    done: list[Path] = []
    try:
        for path in paths:
            if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
                pytest.skip("cannot make files immutable here (chattr)")
            done.append(path)
        yield
    finally:
        for path in done:
            subprocess.run(["chattr", "-i", str(path)], check=False)


def test_read_only_database(synced_db, tmp_path: Path):
    db, config = synced_db
    shown = db
    if is_url(db):
        config, shown = read_only_role(db, tmp_path)
        before = snapshot(db)
        done = run("sync", "-c", str(config))
        status = run("status", "-c", str(config))
        assert status.returncode == 0, status.stderr
    else:
        for extra in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            extra.unlink(missing_ok=True)
        before = snapshot(db)
        with read_only(db, db.parent):
            done = run("sync", "-c", str(config))
            status = run("status", "-c", str(config))
        assert status.returncode in (0, 2)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"exsync: error: {shown}: "), lines
    assert "Traceback" not in done.stderr + status.stderr
    assert snapshot(db) == before


def read_only_role(db: str, tmp_path: Path) -> tuple[Path, str]:
    """A config naming `db` as a role that may only read it (as a monitoring user would)."""
    role = f"reader_{uuid.uuid4().hex[:8]}"
    with open_store(db) as store:
        for statement in (
            f"CREATE ROLE {role} LOGIN PASSWORD '{PG_PASSWORD}'",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
        ):
            store.execute(statement)
    url = urlunsplit(
        urlsplit(db)._replace(netloc=urlsplit(db).netloc.replace("exsync@", f"{role}@"))
    )
    config = yaml.safe_load((tmp_path / "good.yaml").read_text(encoding="utf-8"))
    config["database"] = url
    path = tmp_path / "reader.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path, url


def test_locked_database_waits_instead_of_failing(synced_db, tmp_path: Path):
    """A long write by another process makes a pass wait on the busy timeout, not fail."""
    import sqlite3
    import threading
    import time

    db, config = synced_db
    if is_url(db):
        import psycopg

        holder = psycopg.connect(db, password=PG_PASSWORD, autocommit=True)
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE balances IN ACCESS EXCLUSIVE MODE")
    else:
        holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(2.0, lambda: holder.execute("COMMIT"))
    release.start()
    started = time.monotonic()
    done = run("sync", "-c", str(config), "--type", "balances")
    release.join()
    holder.close()
    assert done.returncode == 0, done.stderr
    assert "locked" not in done.stderr
    assert time.monotonic() - started >= 1.5
