"""The installed `exsync` command, run as a subprocess the way a timer runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from exsync.datatypes import CONCRETE
from exsync.simulator import BybitSimulator
from tests.conftest import KEY, SECRET, exchange_entry, rows, run, write_config


def test_sync_status_history_through_the_entry_point(sim: BybitSimulator, tmp_path: Path):
    db = tmp_path / "x.db"
    config = write_config(tmp_path / "c.yaml", db, {"bybit": exchange_entry(sim.url)})
    done = run("sync", "--config", str(config), "--exchange", "bybit", "--type", "all")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "bybit trades ok" in done.stdout  # plain lines when not a terminal

    status = run("status", "--config", str(config), "--json")
    assert status.returncode == 0, status.stderr
    units = json.loads(status.stdout)["units"]
    assert {(u["exchange"], u["data_type"], u["last_status"]) for u in units} == {
        ("bybit", str(t), "unsupported" if t == "conversions" else "ok") for t in CONCRETE
    }
    assert not any(u["stale"] for u in units)

    history = run("history", "--db", str(db), "--type", "trades", "--json")
    assert history.returncode == 0
    assert [r["data_type"] for r in json.loads(history.stdout)] == ["trades"]

    plain = run("status", "--config", str(config))
    assert plain.returncode == 0 and "bybit balances last=ok" in plain.stdout
    for output in (done.stdout, done.stderr, status.stdout, plain.stdout):
        assert KEY not in output and SECRET not in output


def test_python_dash_m_works(tmp_path: Path):
    done = subprocess.run(
        [sys.executable, "-m", "exsync", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.startswith("exsync ")


@pytest.mark.parametrize("command", [["--help"], ["status"], ["history"], ["sync", "--help"]])
def test_operator_commands_do_not_import_ccxt(tmp_path: Path, command: list[str]):
    db = tmp_path / "x.db"
    from exsync.store import Store

    Store(db).close()
    code = (
        "import sys\n"
        "from exsync.cli import app\n"
        f"sys.argv = ['exsync', *{command!r}] + (['--db', {str(db)!r}] if "
        f"{command!r}[0] in ('status', 'history') else [])\n"
        "try:\n    app()\nexcept SystemExit as exit:\n    code = exit.code\n"
        "print('CCXT' if 'ccxt' in sys.modules else 'NO-CCXT', code)\n"
        "print('asyncio' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    *_, modules, asyncio_loaded = done.stdout.strip().splitlines()
    assert modules in ("NO-CCXT 0", "NO-CCXT None"), done.stderr
    if command[0] != "sync":  # nor the event loop's machinery, which only a pass needs
        assert asyncio_loaded == "False"


def test_bad_config_is_one_line_and_exit_2(tmp_path: Path):
    config = tmp_path / "c.yaml"
    config.write_text("exchanges:\n  bybit:\n    symbols: [BTC/USDT, 42]\n", encoding="utf-8")
    done = run("sync", "--config", str(config))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"exsync: error: {config}: exchanges.bybit.symbols[1]: must be a string, not int"
    ]


def test_literal_secret_refused_without_echoing_it(tmp_path: Path):
    config = tmp_path / "c.yaml"
    config.write_text(
        "exchanges:\n  bybit:\n    secret: SUPERSECRETVALUE\n    types: [balances]\n",
        encoding="utf-8",
    )
    done = run("sync", "--config", str(config))
    assert done.returncode == 2
    assert "SUPERSECRETVALUE" not in done.stderr + done.stdout
    assert "exchanges.bybit.secret: secrets are not written into the config" in done.stderr


def test_unknown_type_and_exchange_are_usage_errors(sim: BybitSimulator, tmp_path: Path):
    config = write_config(
        tmp_path / "c.yaml", tmp_path / "x.db", {"bybit": exchange_entry(sim.url)}
    )
    bad_type = run("sync", "--config", str(config), "--type", "candles")
    assert bad_type.returncode == 2 and "Traceback" not in bad_type.stderr
    bad_exchange = run("sync", "--config", str(config), "--exchange", "kraken")
    assert bad_exchange.returncode == 2
    assert bad_exchange.stderr.strip() == (
        f"exsync: error: {config}: no exchange named 'kraken' (configured: bybit)"
    )


def test_corrupt_database_is_refused_and_left_untouched(sim: BybitSimulator, tmp_path: Path):
    db = tmp_path / "x.db"
    garbage = b"this is not a database" * 100
    db.write_bytes(garbage)
    config = write_config(tmp_path / "c.yaml", db, {"bybit": exchange_entry(sim.url)})
    for args in (["sync", "--config", str(config)], ["status", "--db", str(db)]):
        done = run(*args)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"exsync: error: {db}: not a valid")
    assert db.read_bytes() == garbage


def test_missing_config_is_explained(tmp_path: Path):
    done = run("sync", env={"XDG_CONFIG_HOME": str(tmp_path), "HOME": str(tmp_path)})
    assert done.returncode == 2
    assert done.stderr.startswith("exsync: error: no config file")


def test_demo_runs_against_the_built_in_simulator(tmp_path: Path):
    db = tmp_path / "demo.db"
    done = run("demo", "--db", str(db))
    assert done.returncode == 0, done.stderr + done.stdout
    assert rows(db, "SELECT count(*) FROM trades")[0][0] > 0
    assert "bybit ohlcv last=ok" in done.stdout


def test_the_demo_refuses_a_real_mirror_and_leaves_it_untouched(sim, tmp_path: Path):
    import hashlib

    db = tmp_path / "mirror.db"
    config = write_config(tmp_path / "c.yaml", db, {"bybit": exchange_entry(sim.url)})
    assert run("sync", "-c", str(config), "--type", "balances").returncode == 0
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    done = run("demo", "--db", str(db))
    assert done.returncode == 2, done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "not the demo's" in lines[0] and "--db" in lines[0]
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_the_demo_reuses_its_own_database(tmp_path: Path):
    db = tmp_path / "demo.db"
    for _ in range(2):
        done = run("demo", "--db", str(db))
        assert done.returncode == 0, done.stderr
    assert rows(db, "SELECT value FROM meta WHERE key = 'purpose'") == [("demo",)]
