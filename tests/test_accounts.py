"""`exsync exchanges`, `config validate|show` and `init`, through the installed entry point."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from exsync.accounts import starter_config
from tests.conftest import DB_PASSWORD_ENV, KEY, SECRET, exchange_entry, run, write_config

ROOT = Path(__file__).resolve().parent.parent


def accounts_config(tmp_path: Path) -> Path:
    return write_config(
        tmp_path / "c.yaml",
        tmp_path / "x.db",
        {
            "bybit-main": exchange_entry("http://127.0.0.1:1"),
            "bybit-spot": exchange_entry(
                "http://127.0.0.1:1",
                market_types=["spot"],
                symbols=["BTC/USDT"],
                api_key_env="OTHER_KEY",
                secret_env="OTHER_SECRET",
            ),
        },
    )


def test_exchanges_lists_accounts_capabilities_and_credential_presence(tmp_path: Path):
    done = run("exchanges", "-c", str(accounts_config(tmp_path)), "--json")
    assert done.returncode == 0, done.stderr
    accounts = {a["name"]: a for a in json.loads(done.stdout)}
    assert accounts["bybit-main"]["ccxt_id"] == "bybit"
    assert accounts["bybit-main"]["credentials"] == "***"
    not_described = {"conversions": "not described for bybit yet"}
    assert accounts["bybit-main"]["unsupported"] == not_described
    assert accounts["bybit-spot"]["unsupported"] == not_described | {
        kind: f"{kind} need a contract market type (linear or inverse) in market_types"
        for kind in ("positions", "closed_positions")
    }
    assert accounts["bybit-spot"]["credentials"].startswith("missing: environment variable")
    assert KEY not in done.stdout and SECRET not in done.stdout


def test_config_validate_warns_and_fails_on_missing_credentials(tmp_path: Path):
    config = str(accounts_config(tmp_path))
    missing = run("config", "validate", "-c", config)
    assert missing.returncode == 2
    assert "exchanges.bybit-spot.api_key_env: environment variable OTHER_KEY is not set" in (
        missing.stderr
    )
    fine = run("config", "validate", "-c", config, env={"OTHER_KEY": "a", "OTHER_SECRET": "b"})
    assert fine.returncode == 0, fine.stderr
    assert "exsync: warning: " in fine.stderr and "positions is unsupported" in fine.stderr


def test_config_show_hides_secret_values(tmp_path: Path):
    done = run("config", "show", "-c", str(accounts_config(tmp_path)))
    assert done.returncode == 0, done.stderr
    shown = yaml.safe_load(done.stdout)
    main = shown["exchanges"]["bybit-main"]
    assert main["credentials"] == "***" and main["api_key_env"] == "SIM_API_KEY"
    assert main["timeframe"] == "1h" and main["lock_lease"] == 120.0
    assert KEY not in done.stdout and SECRET not in done.stdout


def test_init_writes_the_starter_once(tmp_path: Path):
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    first = run("init", env=env)
    target = tmp_path / "xdg" / "exsync" / "config.yaml"
    assert first.returncode == 0 and target.read_text(encoding="utf-8") == starter_config()
    second = run("init", env=env)
    assert second.returncode == 2
    assert second.stderr.strip() == f"exsync: error: {target}: already exists; not overwriting it"


def test_the_packaged_starter_is_the_example_config():
    assert starter_config() == (ROOT / "config.example.yaml").read_text(encoding="utf-8")


def test_binance_inverse_symbols_are_left_out_with_a_warning(tmp_path: Path):
    config = write_config(
        tmp_path / "c.yaml",
        tmp_path / "x.db",
        {
            "binance": exchange_entry(
                "http://127.0.0.1:1",
                ccxt_id="binance",
                symbols=["BTC/USDT", "BTC/USD:BTC"],
            )
        },
    )
    done = run("config", "validate", "-c", str(config))
    assert done.returncode == 0, done.stderr
    assert (
        "exchanges.binance.symbols[1]: BTC/USD:BTC is an inverse market, which exsync does not "
        "sync on binance yet; it is left out"
    ) in done.stderr
    listed = json.loads(run("exchanges", "-c", str(config), "--json").stdout)
    assert listed[0]["market_types"] == ["spot", "linear"]


def test_config_validate_names_a_database_it_cannot_read_instead_of_an_empty_cache(
    tmp_path: Path,
) -> None:
    """The symbols are checked against the markets cached in the database; a database that
    is there but cannot be read (a server that refuses, a damaged file) is not "none cached
    yet": the one line says which database and why."""
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    entry = exchange_entry("http://127.0.0.1:1", symbols=["BTC/USDT"])
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"this is not an SQLite database" * 100)
    for database in (f"postgresql://exsync@127.0.0.1:{port}/mirror", str(damaged)):
        config = write_config(tmp_path / "c.yaml", database, {"bybit": entry})
        done = run("config", "validate", "-c", str(config), env={DB_PASSWORD_ENV: "x"})
        assert done.returncode == 0, done.stderr
        assert "none cached yet" not in done.stderr, done.stderr
        lines = [line for line in done.stderr.splitlines() if "not checked" in line]
        where = str(port) if database.startswith("postgresql") else "damaged.db"
        assert len(lines) == 1 and where in lines[0], done.stderr
