"""The database is an SQLite file or a PostgreSQL server: how it is named, how its password
comes, every command on both engines, moving a mirror from one to the other, upgrading one
in place."""

from __future__ import annotations

import json
import signal
import socket
import time
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest
import yaml

from exsync.simulator import BybitSimulator
from exsync.store import migrations
from exsync.store.schema import TABLES
from tests.conftest import (
    DB_PASSWORD_ENV,
    PG_PASSWORD,
    exchange_entry,
    is_url,
    postgres_database,
    rows,
    run,
    start,
    write_config,
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_postgresql_url_names_a_server_not_a_folder(sim: BybitSimulator, tmp_path: Path):
    url = f"postgresql://exsync@127.0.0.1:{closed_port()}/exsync"
    config = write_config(tmp_path / "c.yaml", url, {"bybit": exchange_entry(sim.url)})
    for args in (["sync", "-c", str(config)], ["sync", "-c", str(config), "--db", url]):
        # A password to offer, server or not: nothing listens on that port.
        done = run(*args, "--type", "balances", env={DB_PASSWORD_ENV: PG_PASSWORD or "unused"})
        assert done.returncode == 2, done.stdout + done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot connect to the database server" in lines[0], lines
        assert url in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]  # no SQLite file made


@pytest.mark.parametrize(
    ("database", "top", "key"),
    [
        ("postgresql://exsync:hunter22@db.example/exsync", {}, "database"),
        ("postgresql://exsync@db.example/exsync?password=hunter22", {}, "database"),
        (
            "postgresql://exsync@db.example/exsync",
            {"database_password": "hunter22"},
            "database_password",
        ),
        ("mysql://exsync@db.example/exsync", {}, "database"),
        # libpq's key=value form is no file name: taken as one, its password would show
        ("host=db.example dbname=exsync user=exsync password=hunter22", {}, "database"),
        ("dbname=exsync password=hunter22", {}, "database"),
    ],
)
def test_a_password_in_the_config_is_refused(tmp_path: Path, database, top, key):
    path = tmp_path / "c.yaml"
    data = {"database": database, "exchanges": {"bybit": {"types": ["balances"]}}, **top}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    for args in (["config", "validate"], ["config", "show"], ["status"]):
        done = run(*args, "-c", str(path))
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and f"{path}: {key}: " in lines[0], lines
        assert "hunter22" not in done.stdout + done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml"]  # no SQLite file made


@pytest.mark.parametrize(
    ("database", "expected"),
    [
        ("postgresql://exsync:hunter22@127.0.0.1/exsync", "holds a password"),
        ("host=127.0.0.1 dbname=exsync password=hunter22", "postgresql:// URL"),
    ],
)
def test_a_password_on_the_command_line_is_refused(tmp_path: Path, database: str, expected: str):
    for args in (["status", "--db", database], ["history", "--db", database]):
        done = run(*args, env={"HOME": str(tmp_path), "STATE_DIRECTORY": str(tmp_path)})
        assert done.returncode == 2
        assert expected in done.stderr and "hunter22" not in done.stdout + done.stderr
    assert list(tmp_path.iterdir()) == []  # no SQLite file made


@pytest.mark.parametrize("source", ["env", "file", "credential"])
def test_the_password_comes_by_reference_and_never_shows(
    sim: BybitSimulator, tmp_path: Path, source: str
):
    url = next(server := postgres_database())
    entry = {"bybit": exchange_entry(sim.url, types=["balances"])}
    secret_dir = tmp_path / "credentials"
    secret_dir.mkdir()
    (secret_dir / "db-password").write_text(f"{PG_PASSWORD}\n", encoding="utf-8")
    refs = {
        "env": {"database_password_env": "MY_DB_PASSWORD"},
        "file": {"database_password_file": str(secret_dir / "db-password")},
        "credential": {"database_password_credential": "db-password"},
    }[source]
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump({"database": url, "exchanges": entry, **refs}), encoding="utf-8"
    )
    env = {"MY_DB_PASSWORD": PG_PASSWORD or "", "CREDENTIALS_DIRECTORY": str(secret_dir)}
    env[DB_PASSWORD_ENV] = ""  # the reference in the config is the only source
    outputs = []
    for args in (
        ["-vv", "sync", "-c", str(config)],
        ["status", "-c", str(config)],
        ["check", "-c", str(config)],
        ["config", "show", "-c", str(config)],
    ):
        done = run(*args, env=env)
        assert done.returncode == 0, (args, done.stderr)
        outputs.append(done.stdout + done.stderr)
    assert url in outputs[-1]
    # `config show` names where the password comes from, as it does for API keys.
    ((key, where),) = refs.items()
    assert f"{key}: {where}" in outputs[-1]
    assert not any(PG_PASSWORD in text for text in outputs)
    # Without it: one line naming the reference, never a prompt or a traceback.
    done = run("status", "-c", str(config), env={**env, "MY_DB_PASSWORD": ""})
    if source == "env":
        assert done.returncode == 2
        assert "database_password_env: environment variable MY_DB_PASSWORD is not set" in (
            done.stderr
        )
    server.close()


def test_every_command_works_on_either_engine(
    sim: BybitSimulator, tmp_path: Path, database: Path | str
):
    metrics = tmp_path / "metrics.prom"
    entry = exchange_entry(sim.url, failure_threshold=1)
    config = str(
        write_config(
            tmp_path / "c.yaml",
            database,
            {"bybit": entry},
            metrics_file=str(metrics),
            retention="30d",
        )
    )
    assert run("sync", "-c", config).returncode == 0
    assert "exsync_last_success_timestamp_seconds" in metrics.read_text(encoding="utf-8")
    for args, code, shown in (
        (["status"], 0, "bybit trades last=ok"),
        (["status", "--json"], 0, '"last_status": "ok"'),
        (["history", "--limit", "3"], 0, "bybit"),
        (["check"], 0, "OK"),
        (["exchanges"], 0, "bybit"),
        (["breaker", "trip", "--exchange", "bybit", "--type", "trades", "--for", "1h"], 0, ""),
        (["breaker", "show"], 0, "state=open"),
        (["check"], 2, "breaker open"),
        (["breaker", "reset", "--exchange", "bybit"], 0, "reset 1 breaker(s)"),
        (["history", "prune", "--older-than", "1d"], 0, "sync_runs: 0 row(s) deleted"),
        (["config", "validate"], 0, "ok"),
    ):
        done = run(*args, "-c", config)
        assert done.returncode == code, (args, done.stdout, done.stderr)
        assert shown in done.stdout, (args, done.stdout)
    # `run`: passes until SIGTERM, which lets the pass in flight finish.
    recorded = len(rows(database, "SELECT id FROM sync_runs"))
    loop = start("run", "--every", "1h", "-c", config, "--type", "balances")
    deadline = time.monotonic() + 60
    while (
        time.monotonic() < deadline and len(rows(database, "SELECT id FROM sync_runs")) == recorded
    ):
        time.sleep(0.1)
    loop.send_signal(signal.SIGTERM)
    assert loop.wait(timeout=60) == 0, loop.stderr.read() if loop.stderr else ""


def test_the_demo_runs_on_either_engine(tmp_path: Path, database: Path | str):
    env = {"PGPASSWORD": PG_PASSWORD or ""}
    done = run("demo", "--db", str(database), env=env)
    assert done.returncode == 0, done.stderr
    assert "bybit trades" in done.stdout and "last=ok" in done.stdout
    assert rows(database, "SELECT value FROM meta WHERE key = 'purpose'") == [("demo",)]
    again = run("demo", "--db", str(database), env=env)
    assert again.returncode == 0, again.stderr


def comparable(value: Any) -> Any:
    """A value as both engines give it back: exact amounts as text, numbers as floats."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def every_row(database: Path | str) -> dict[str, list[tuple[Any, ...]]]:
    return {
        t.name: sorted(
            (
                tuple(comparable(v) for v in row)
                for row in rows(database, f"SELECT {', '.join(t.columns)} FROM {t.name}")
            ),
            key=repr,
        )
        for t in TABLES
        if t.name not in ("locks", "meta")
    }


def test_db_copy_moves_a_mirror_without_a_new_backfill(sim: BybitSimulator, tmp_path: Path):
    url = next(server := postgres_database())
    sqlite_db = tmp_path / "x.db"
    entry = exchange_entry(sim.url, failure_threshold=1)
    config = str(write_config(tmp_path / "c.yaml", sqlite_db, {"bybit": entry}))
    assert run("sync", "-c", config).returncode == 0
    assert (
        run("breaker", "trip", "-c", config, "--exchange", "bybit", "--type", "ohlcv").returncode
        == 0
    )
    before = every_row(sqlite_db)

    done = run("db", "copy", "-c", config, "--to", url, env={"PGPASSWORD": PG_PASSWORD or ""})
    assert done.returncode == 0, done.stderr
    assert every_row(url) == before  # history, cursors, breakers, markets, data
    again = run("db", "copy", "-c", config, "--to", url, env={"PGPASSWORD": PG_PASSWORD or ""})
    assert again.returncode == 2 and "holds data already" in again.stderr

    # The next pass on the server resumes from the copied cursors: a warm pass, no backfill.
    moved = str(write_config(tmp_path / "pg.yaml", url, {"bybit": entry}))
    sim.reset_counts()
    done = run("sync", "-c", moved)
    assert done.returncode == 69, done.stderr  # the copied breaker holds ohlcv off
    assert sim.counts["/v5/execution/list"] <= 2 and "/v5/market/instruments-info" not in sim.counts
    ids = rows(url, "SELECT id FROM sync_runs ORDER BY id")
    assert [i for (i,) in ids] == sorted({i for (i,) in ids}) and len(ids) > len(
        before["sync_runs"]
    )
    server.close()


@pytest.mark.parametrize("older", [1, 2])
def test_an_older_database_is_upgraded_in_place(
    sim: BybitSimulator, tmp_path: Path, database: Path | str, older: int
):
    conn = _raw(database)
    try:
        migrations.upgrade(conn, migrations.STEPS[:older])
        conn.execute(
            "INSERT INTO trades (exchange, symbol, id, price, timestamp) "
            "VALUES ('bybit', 'BTC/USDT', '7', 1.5, 1700000000000)"
        )
    finally:
        conn.close()
    config = str(write_config(tmp_path / "c.yaml", database, {"bybit": exchange_entry(sim.url)}))
    status = run("status", "-c", config)
    assert status.returncode == 2 and "older exsync" in status.stderr
    done = run("sync", "-c", config)
    assert done.returncode == 0, done.stderr
    assert rows(database, "SELECT value FROM meta WHERE key = 'schema_version'") == [
        (str(migrations.LATEST),)
    ]
    price = rows(database, "SELECT price FROM trades WHERE id = '7'")
    assert [comparable(p) for (p,) in price] == ["1.5"]  # exact from the upgrade on
    assert run("status", "-c", config).returncode == 0


def _raw(database: Path | str) -> Any:
    """A connection of the engine's own kind, outside any Store."""
    if is_url(database):
        import psycopg

        from exsync.store.postgres import Connection

        return Connection(psycopg.connect(str(database), password=PG_PASSWORD, autocommit=True))
    import sqlite3

    return sqlite3.connect(database, isolation_level=None)


def test_db_copy_from_a_corrupt_file_is_one_line_and_writes_nothing(
    sim: BybitSimulator, tmp_path: Path, database: Path | str
):
    source = tmp_path / "source.db"
    config = str(write_config(tmp_path / "c.yaml", source, {"bybit": exchange_entry(sim.url)}))
    assert run("sync", "-c", config).returncode == 0
    # Garbage in the trades table's pages, which only a full read of the table comes upon.
    (page,) = rows(source, "SELECT rootpage FROM sqlite_master WHERE name = 'trades'")[0]
    page_size = rows(source, "PRAGMA page_size")[0][0]
    with source.open("r+b") as handle:
        handle.seek((page - 1) * page_size + 8)
        handle.write(b"\xff" * (page_size - 8))
    before = source.read_bytes()

    done = run(
        "db",
        "copy",
        "--db",
        str(source),
        "--to",
        str(database),
        env={"PGPASSWORD": PG_PASSWORD or ""},
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"exsync: error: {source}: "), lines
    assert "corrupt" in lines[0] and "Traceback" not in done.stderr
    assert source.read_bytes() == before
    if is_url(database) or Path(database).exists():
        assert not any(
            rows(database, f"SELECT 1 FROM {t.name}") for t in TABLES if t.name != "meta"
        )


EXACT = {"BTC": "0.000000012345678901", "USDT": "123456789012.123456789"}


def test_amounts_finer_than_a_float_come_back_exactly(
    sim: BybitSimulator, tmp_path: Path, database: Path | str
):
    for coin, amount in EXACT.items():
        sim.state.set_balance(coin, amount)
    entry = exchange_entry(sim.url, types=["balances"])
    config = str(write_config(tmp_path / "c.yaml", database, {"bybit": entry}))
    assert run("sync", "-c", config).returncode == 0
    again = run("sync", "-c", config)  # an upsert over the same amounts
    assert again.returncode == 0, again.stderr
    for table in ("balances", "balance_snapshots"):
        stored = rows(
            database,
            f"SELECT asset, total FROM {table} WHERE wallet = 'unified' AND asset IN (?, ?)",
            tuple(EXACT),
        )
        expected = sorted(EXACT.items()) * (1 if table == "balances" else 2)  # two passes
        assert sorted((a, comparable(t)) for a, t in stored) == sorted(expected), table
    btc = rows(database, "SELECT equity FROM balances WHERE wallet = 'unified' AND asset = 'BTC'")
    assert [comparable(e) for (e,) in btc] == [EXACT["BTC"]]  # no PnL on it: equity = wallet
    # Worth exactly what the exchange said, at the price stored beside it.
    for total, price, value in rows(
        database,
        "SELECT total, price, value FROM balances WHERE wallet = 'unified' AND asset IN (?, ?)",
        tuple(EXACT),
    ):
        assert Decimal(comparable(value)) == Decimal(comparable(total)) * Decimal(comparable(price))
    # The portfolio: every value summed to the last digit, however many that takes.
    status = run("status", "--json", "-c", config)
    assert status.returncode == 0, status.stderr
    (shown,) = json.loads(status.stdout)["portfolio"]
    with localcontext(prec=200):
        worth = sum(
            (
                Decimal(comparable(v))
                for (v,) in rows(database, "SELECT value FROM balances")
                if v is not None
            ),
            Decimal(0),
        )
    assert Decimal(shown["value"]) == worth
