"""Config values that would parse but fail at run time are refused at validation, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from exsync.config import load_config
from exsync.errors import ConfigError
from tests.conftest import run


def problems_in(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


BYBIT = "exchanges:\n  bybit:\n    types: [balances]\n"


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("lock_lease", ".nan", "must be a finite duration"),
        ("lock_lease", ".inf", "must be a finite duration"),
        ("lock_lease", "-.inf", "cannot be negative"),
        ("lock_lease", "99999999999d", "at most"),
        ("lock_lease", "1.0e+300", "at most"),
        ("reset_timeout", ".inf", "must be a finite duration"),
        ("max_reset_timeout", "99999999999d", "at most"),
        ("timeout", ".nan", "must be a finite duration"),
        ("overlap", "999999d", "at most"),
        ("trades_since", "0001-01-01", "before 2009-01-03"),
        ("ohlcv_since", "1970-01-01", "before 2009-01-03"),
        ("trades_since", "99999d", "at most"),
    ],
)
def test_values_that_would_fail_at_run_time(tmp_path: Path, setting: str, value: str, message: str):
    lines = problems_in(tmp_path, BYBIT + f"    {setting}: {value}\n")
    assert len(lines) == 1, lines
    assert f"exchanges.bybit.{setting}: " in lines[0] and message in lines[0]


def test_retention_that_cannot_be_reached(tmp_path: Path):
    lines = problems_in(tmp_path, BYBIT + "retention: .inf\n")
    assert len(lines) == 1 and "retention: must be a finite duration" in lines[0]


def test_deeply_nested_yaml_is_one_line(tmp_path: Path):
    lines = problems_in(tmp_path, BYBIT + "    options: " + "[" * 5000 + "]" * 5000 + "\n")
    assert len(lines) == 1 and "nested too deeply" in lines[0], lines


def test_deeply_nested_mapping_is_one_line(tmp_path: Path):
    lines = problems_in(tmp_path, BYBIT + "    options: " + "{a: " * 3000 + "1" + "}" * 3000)
    assert len(lines) == 1 and "nested too deeply" in lines[0], lines


def test_duplicate_keys_are_refused(tmp_path: Path):
    text = "exchanges:\n  bybit:\n    types: [balances]\n    timeout: 5s\n    timeout: 50s\n"
    lines = problems_in(tmp_path, text)
    assert len(lines) == 1
    assert "line 5" in lines[0] and "duplicate key 'timeout'" in lines[0]


def test_duplicate_exchange_is_refused(tmp_path: Path):
    text = "exchanges:\n  bybit: {types: [balances]}\n  bybit: {types: [trades]}\n"
    lines = problems_in(tmp_path, text)
    assert len(lines) == 1 and "duplicate key 'bybit'" in lines[0]


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "exchanges:\n", "exchanges: {}\n"])
def test_a_config_without_exchanges_is_refused(tmp_path: Path, text: str):
    lines = problems_in(tmp_path, text)
    assert len(lines) == 1 and "no exchange configured" in lines[0]


def test_the_cli_says_it_in_one_line_and_exits_2(tmp_path: Path):
    config = tmp_path / "c.yaml"
    for text in ("", BYBIT + "    lock_lease: .nan\n", "a: 1\na: 2\n", "x: " + "[" * 5000):
        config.write_text(text, encoding="utf-8")
        done = run("sync", "-c", str(config), "--db", str(tmp_path / "x.db"))
        assert done.returncode == 2, (text[:20], done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"exsync: error: {config}: "), lines
    assert not (tmp_path / "x.db").exists()


def test_anchors_that_expand_enormously_load_at_once(tmp_path: Path):
    # Ten levels of ten aliases: 10^10 nodes as a tree, a few dozen as the YAML shares them.
    levels = ["l0: &l0 {a: 1, b: 2}"]
    levels += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
    text = BYBIT + "    options:\n" + "".join(f"      {line}\n" for line in levels)
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    # Walked as a tree this takes hours; the bound only catches that, not a slow machine.
    done = run("config", "validate", "-c", str(path), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_two_sources_of_the_database_password_are_named_where_they_stand(tmp_path: Path):
    text = (
        "database: postgresql://exsync@db.invalid/exsync\n"
        "database_password_env: PGPASS\n"
        "database_password_credential: db-password\n" + BYBIT
    )
    lines = problems_in(tmp_path, text)
    assert len(lines) == 1, lines
    assert "database_password_credential: give database_password one source, not " in lines[0]
    assert "database_password_env and database_password_credential" in lines[0]
