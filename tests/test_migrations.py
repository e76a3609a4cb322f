"""Schema versions: a fresh database and an upgraded one are the same; newer ones are refused."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from exsync.errors import DatabaseError
from exsync.simulator import BybitSimulator
from exsync.store import Store, migrations
from exsync.store.migrations import LATEST, Step, columns, primary_key, upgrade
from exsync.store.schema import TABLES
from tests.conftest import exchange_entry, rows, run, write_config

BEFORE_VERSIONS = Path(__file__).parent / "data" / "before-schema-versions.sql"


def made_before_versions(path: Path) -> Path:
    """A database as exsync wrote it before it stored a schema version."""
    conn = sqlite3.connect(path)
    conn.executescript(BEFORE_VERSIONS.read_text(encoding="utf-8"))
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    return path


def shape(conn: sqlite3.Connection) -> dict[str, tuple[list[str], tuple[str, ...]]]:
    return {
        t.name: ([c for c, _ in columns(conn, t.name)], primary_key(conn, t.name)) for t in TABLES
    }


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_fresh_database_is_built_by_the_steps_and_matches_the_declaration(tmp_path: Path):
    with Store(tmp_path / "x.db") as store:
        assert store.get_meta("schema_version") == str(LATEST)
        for table in TABLES:
            assert [c for c, _ in columns(store.conn, table.name)] == list(table.columns)
            assert primary_key(store.conn, table.name) == table.pk


def test_a_database_made_before_versions_is_upgraded_in_place(tmp_path: Path):
    path = made_before_versions(tmp_path / "old.db")
    present = {r[0] for r in rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    before = {
        t.name: rows(path, f"SELECT * FROM {t.name} ORDER BY 1, 2")
        for t in TABLES
        if t.name in present and t.name not in ("locks", "breakers")
    }
    with Store(path) as store:
        assert store.get_meta("schema_version") == str(LATEST)
        fresh = Store(tmp_path / "fresh.db")
        assert shape(store.conn) == shape(fresh.conn)
        fresh.close()
    for table, kept in before.items():
        after = rows(path, f"SELECT * FROM {table} ORDER BY 1, 2")
        width = len(kept[0]) if kept else 0  # columns added since come last
        # amounts kept as binary floats are kept as the decimal text of the same value
        assert [tuple(map(_exact, r[:width])) for r in after[: len(kept)]] == [
            tuple(map(_exact, r)) for r in kept
        ], table
    assert rows(path, "SELECT count(*) FROM trades") == [(40,)]


def test_an_upgraded_database_syncs(sim: BybitSimulator, tmp_path: Path):
    path = made_before_versions(tmp_path / "old.db")
    config = write_config(tmp_path / "c.yaml", path, {"bybit": exchange_entry(sim.url)})
    done = run("sync", "-c", str(config))
    assert done.returncode == 0, done.stderr
    assert rows(path, "SELECT value FROM meta WHERE key = 'schema_version'") == [(str(LATEST),)]
    assert rows(path, "SELECT count(*) FROM sync_runs WHERE status = 'failed'") == [(0,)]
    assert rows(path, "SELECT count(*) FROM sync_runs WHERE status = 'ok'")[0][0] > 6


def test_an_older_primary_key_is_rebuilt_keeping_every_row(tmp_path: Path):
    path = made_before_versions(tmp_path / "old.db")
    conn = sqlite3.connect(path)
    # An early exsync keyed trades by (exchange, id) only.
    conn.executescript(
        "ALTER TABLE trades RENAME TO t; "
        "CREATE TABLE trades (exchange TEXT, id TEXT, price REAL, symbol TEXT, "
        "PRIMARY KEY (exchange, id)); "
        "INSERT INTO trades SELECT exchange, id, price, symbol FROM t; DROP TABLE t;"
    )
    conn.close()
    with Store(path) as store:
        assert primary_key(store.conn, "trades") == ("exchange", "symbol", "id")
        assert store.fetchall("SELECT count(*), count(price) FROM trades") == [(40, 40)]
        with store.transaction():  # an upsert on the new key works
            store.upsert("trades", [{"exchange": "bybit", "symbol": "X/Y", "id": "1"}])


def test_a_database_of_a_newer_exsync_is_refused_untouched(tmp_path: Path):
    path = tmp_path / "x.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(LATEST + 1),))
    conn.commit()
    conn.close()
    before = digest(path)
    config = write_config(tmp_path / "c.yaml", path, {"bybit": {"types": ["balances"]}})
    for args in (["sync", "-c", str(config)], ["status", "--db", str(path)]):
        done = run(*args)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "newer exsync" in lines[0], lines
    assert digest(path) == before


def test_someone_elses_database_is_refused_untouched(tmp_path: Path):
    path = tmp_path / "x.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE trades (id INTEGER PRIMARY KEY, what TEXT)")
    conn.commit()
    conn.close()
    before = digest(path)
    with pytest.raises(DatabaseError, match="not an exsync database"):
        Store(path)
    assert digest(path) == before


def test_a_renamed_column_is_refused_not_silently_added_again(tmp_path: Path):
    path = tmp_path / "x.db"
    with Store(path) as store:
        with store.transaction():
            store.upsert("trades", [{"exchange": "e", "symbol": "X/Y", "id": "1", "fee_rate": 1}])
        store.execute("ALTER TABLE trades RENAME COLUMN fee_rate TO fee_ratio")
    with pytest.raises(DatabaseError, match=r"table trades lacks column\(s\) fee_rate"):
        Store(path)
    assert "fee_rate" not in {c for c, _ in columns(sqlite3.connect(path), "trades")}


V1_ROWS = [("bybit", "BTC/USDT", "1", 0.5), ("bybit", "ETH/USDT", "1", 0.25)]


def step_database(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    upgrade(conn, migrations.STEPS[:1])
    conn.executemany(
        "INSERT INTO trades (exchange, symbol, id, amount) VALUES (?, ?, ?, ?)", V1_ROWS
    )
    return conn


def test_steps_rename_a_column_change_a_key_and_add_a_required_column(tmp_path: Path):
    def rename(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE trades RENAME COLUMN amount TO quantity")

    def required(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE trades ADD COLUMN venue TEXT NOT NULL DEFAULT 'spot'")

    def rekey(conn: sqlite3.Connection) -> None:
        migrations.rebuild(
            conn,
            "trades",
            "exchange TEXT NOT NULL, venue TEXT NOT NULL, symbol TEXT NOT NULL, id TEXT NOT "
            "NULL, quantity REAL, PRIMARY KEY (exchange, venue, symbol, id)",
            {c: c for c in ("exchange", "venue", "symbol", "id", "quantity")},
        )

    conn = step_database(tmp_path / "x.db")
    steps = (
        migrations.STEPS[0],
        Step(2, "rename", rename),
        Step(3, "required column", required),
        Step(4, "new key", rekey),
    )
    assert upgrade(conn, steps) == (1, 4)
    assert primary_key(conn, "trades") == ("exchange", "venue", "symbol", "id")
    assert conn.execute(
        "SELECT exchange, symbol, id, quantity, venue FROM trades ORDER BY symbol"
    ).fetchall() == [(*r, "spot") for r in V1_ROWS]
    assert upgrade(conn, steps) == (4, 4)  # nothing left to do


def test_a_failing_step_leaves_the_database_as_it_was(tmp_path: Path):
    def narrower_key(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE trades RENAME COLUMN amount TO quantity")
        # both rows have id 1: the new key would merge them, so the step fails
        migrations.rebuild(
            conn,
            "trades",
            "exchange TEXT, id TEXT, quantity REAL, PRIMARY KEY (exchange, id)",
            {"exchange": "exchange", "id": "id", "quantity": "quantity"},
        )

    path = tmp_path / "x.db"
    step_database(path).close()
    before = rows(path, "SELECT * FROM trades")
    conn = sqlite3.connect(path, isolation_level=None)
    with pytest.raises(sqlite3.IntegrityError):
        upgrade(conn, (migrations.STEPS[0], Step(2, "narrower key", narrower_key)))
    assert migrations.read_version(conn) == 1
    assert "amount" in {c for c, _ in columns(conn, "trades")}
    assert rows(path, "SELECT * FROM trades") == before


def _exact(value: object) -> object:
    """A stored value as the exact amount it stands for (a float through its shortest text)."""
    from decimal import Decimal, InvalidOperation

    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return value


def test_every_table_is_declared_once() -> None:
    names = [table.name for table in TABLES]
    assert len(names) == len(set(names)), sorted(names)
