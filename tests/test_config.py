"""Config validation: every problem names the file and the key path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from exsync.config import Settings, load_config, parse_config
from exsync.credentials import resolve
from exsync.datatypes import CONCRETE, DataType
from exsync.errors import ConfigError


def problems_of(data: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="cfg.yaml")
    return caught.value.problems


def test_minimal_config_gets_defaults() -> None:
    config = parse_config({"exchanges": {"bybit": {"symbols": ["BTC/USDT"]}}}, source="cfg.yaml")
    bybit = config.exchange("bybit")
    assert bybit.ccxt_id == "bybit"
    assert bybit.types == CONCRETE
    assert bybit.settings == Settings()
    assert bybit.symbols == ("BTC/USDT",)


def test_defaults_apply_and_exchange_overrides_them() -> None:
    config = parse_config(
        {
            "defaults": {"timeframe": "15m", "stale_after": "2h"},
            "exchanges": {"a": {"timeframe": "1d", "symbols": ["X/Y"]}, "b": {"types": []}},
        }
    )
    assert config.exchange("a").settings.timeframe == "1d"
    assert config.exchange("a").settings.stale_after == 7200
    assert config.exchange("b").settings.timeframe == "15m"


def test_bad_symbol_names_the_index() -> None:
    lines = problems_of({"exchanges": {"bybit": {"symbols": ["BTC/USDT", "ETH/USDT", "BTCUSDT"]}}})
    assert lines == [
        "cfg.yaml: exchanges.bybit.symbols[2]: 'BTCUSDT' is not a unified symbol such as "
        "BTC/USDT or BTC/USDT:USDT"
    ]


def test_every_problem_is_reported_at_once() -> None:
    lines = problems_of(
        {
            "databse": "x.db",
            "defaults": {"timeframe": "hourly"},
            "exchanges": {
                "bybit": {"types": ["balances", "candles"], "sandbox": "yes", "timeout": "soon"}
            },
        }
    )
    joined = "\n".join(lines)
    assert "cfg.yaml: databse: unknown key" in joined
    assert "cfg.yaml: defaults.timeframe: 'hourly' is not a timeframe" in joined
    assert "cfg.yaml: exchanges.bybit.types[1]: 'candles' is not a data type" in joined
    assert "cfg.yaml: exchanges.bybit.sandbox: must be true or false" in joined
    assert "cfg.yaml: exchanges.bybit.timeout: 'soon' is not a duration" in joined
    assert len(lines) == 5


@pytest.mark.parametrize("key", ["api_key", "secret", "password", "apiKey"])
def test_literal_secret_is_refused(key: str) -> None:
    lines = problems_of({"exchanges": {"bybit": {key: "hunter2hunter2", "symbols": ["A/B"]}}})
    assert len(lines) == 1
    assert lines[0].startswith(f"cfg.yaml: exchanges.bybit.{key}: secrets are not written")
    assert "hunter2" not in lines[0]


def test_literal_secret_in_options_is_refused() -> None:
    lines = problems_of({"exchanges": {"bybit": {"options": {"secret": "s3cr3t"}, "types": []}}})
    assert lines == [
        "cfg.yaml: exchanges.bybit.options.secret: secrets are not written into the config"
    ]


def test_wrong_types_anywhere() -> None:
    assert problems_of([1, 2]) == ["cfg.yaml: the top level must be a mapping with `exchanges:`"]
    assert problems_of({"exchanges": ["bybit"]}) == [
        "cfg.yaml: exchanges: must be a mapping of exchange names to settings"
    ]
    assert problems_of({"exchanges": {"bybit": {"symbols": "BTC/USDT"}}}) == [
        "cfg.yaml: exchanges.bybit.symbols: must be a list"
    ]
    assert problems_of({"exchanges": {"bybit": {"symbols": [7]}}}) == [
        "cfg.yaml: exchanges.bybit.symbols[0]: must be a string, not int"
    ]
    assert problems_of({"exchanges": {"Bybit Main": {}}})[0].startswith(
        "cfg.yaml: exchanges.Bybit Main: exchange names use lowercase"
    )


def test_unknown_exchange_lists_known_ones() -> None:
    config = parse_config({"exchanges": {"bybit": {"types": ["trades"]}}}, source="cfg.yaml")
    with pytest.raises(ConfigError, match=r"no exchange named 'kraken' \(configured: bybit\)"):
        config.exchange("kraken")


def test_load_config_reports_yaml_syntax_with_position(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("exchanges:\n  bybit: {symbols: [BTC/USDT\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems[0].startswith(f"{path}: line ")


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path)  # a directory


def test_relative_database_is_relative_to_the_config(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    data = {"database": "data/x.db", "exchanges": {"bybit": {"types": ["balances"]}}}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert load_config(path).database == tmp_path / "data" / "x.db"


def test_credentials_from_env_and_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("file-secret\n", encoding="utf-8")
    config = parse_config(
        {
            "exchanges": {
                "bybit": {"api_key_env": "K", "secret_file": str(secret_file), "types": ["trades"]}
            }
        }
    )
    creds = resolve(config.exchange("bybit"), "cfg.yaml", environ={"K": "env-key"})
    assert (creds.api_key, creds.secret) == ("env-key", "file-secret")
    assert "env-key" not in repr(creds) and "file-secret" not in repr(creds)


def test_missing_credential_names_the_variable() -> None:
    config = parse_config(
        {"exchanges": {"bybit": {"api_key_env": "K", "secret_env": "S", "types": ["balances"]}}}
    )
    with pytest.raises(ConfigError) as caught:
        resolve(config.exchange("bybit"), "cfg.yaml", environ={"K": "x"})
    assert caught.value.problems == [
        "cfg.yaml: exchanges.bybit.secret_env: environment variable S is not set"
    ]


def test_tickers_and_ohlcv_need_symbols() -> None:
    assert problems_of({"exchanges": {"bybit": {"types": ["ohlcv"]}}}) == [
        "cfg.yaml: exchanges.bybit.symbols: tickers and ohlcv need symbols: list them, "
        "or leave those types out of `types`"
    ]


def test_types_subset_is_kept_in_public_order() -> None:
    config = parse_config({"exchanges": {"bybit": {"types": ["trades", "balances", "trades"]}}})
    assert config.exchange("bybit").types == (DataType.TRADES, DataType.BALANCES)


def test_scrub_removes_credentials_and_signatures() -> None:
    from exsync.credentials import Credentials, scrub

    creds = Credentials(api_key="KEY12345", secret="SECRET6789")
    message = "bybit GET /x?a=1&signature=deadbeef&apiKey=KEY12345 failed: SECRET6789"
    assert scrub(message, creds) == "bybit GET /x?a=1&signature=***&apiKey=*** failed: ***"


def test_credentials_from_systemd_credentials_directory(tmp_path: Path) -> None:
    (tmp_path / "bybit-key").write_text("cred-key\n", encoding="utf-8")
    (tmp_path / "bybit-secret").write_text("cred-secret", encoding="utf-8")
    config = parse_config(
        {
            "exchanges": {
                "bybit": {
                    "api_key_credential": "bybit-key",
                    "secret_credential": "bybit-secret",
                    "types": ["balances"],
                }
            }
        }
    )
    creds = resolve(config.exchange("bybit"), "c", environ={"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert (creds.api_key, creds.secret) == ("cred-key", "cred-secret")
    with pytest.raises(ConfigError) as caught:
        resolve(config.exchange("bybit"), "c", environ={})
    assert caught.value.problems[0] == (
        "c: exchanges.bybit.api_key_credential: $CREDENTIALS_DIRECTORY is not set "
        "(LoadCredential= in the unit)"
    )
    (tmp_path / "bybit-secret").unlink()
    with pytest.raises(ConfigError, match=r"exchanges.bybit.secret_credential: cannot read"):
        resolve(config.exchange("bybit"), "c", environ={"CREDENTIALS_DIRECTORY": str(tmp_path)})


def test_one_line_errors_scrub_before_they_truncate() -> None:
    from exsync.credentials import Credentials
    from exsync.orchestrator import _one_line

    secret = "S" * 40
    error = RuntimeError("x" * 280 + secret)
    line = _one_line(error, Credentials(api_key="key-1234", secret=secret))
    assert "SSSS" not in line and len(line) <= 300
