"""The store: schema creation and migration, transactions, cursors, the markets cache."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from exsync.errors import DatabaseError
from exsync.schema import TABLES
from exsync.store import Store


def test_schema_has_every_table_and_primary_key(tmp_path: Path) -> None:
    with Store(tmp_path / "x.db") as store:
        for table in TABLES:
            handle = store.db.table(table.name)
            assert handle.exists()
            assert set(table.columns) <= set(handle.columns_dict)
            assert tuple(handle.pks) == table.pk
        assert store.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_old_database_gains_new_columns_and_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE trades (exchange TEXT, id TEXT, price FLOAT, PRIMARY KEY (exchange, id))"
    )
    conn.execute("INSERT INTO trades VALUES ('bybit', '1', 100.0)")
    conn.commit()
    conn.close()
    with Store(path) as store:
        assert "fee_cost" in store.db.table("trades").columns_dict
        assert store.execute("SELECT exchange, id, price FROM trades").fetchall() == [
            ("bybit", "1", 100.0)
        ]


def test_transaction_rolls_back_rows_and_cursor_together(tmp_path: Path) -> None:
    with Store(tmp_path / "x.db") as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.upsert("trades", [{"exchange": "e", "symbol": "X/Y", "id": "1", "price": 1.0}])
            store.set_cursor("e", "trades:spot", 123)
            raise RuntimeError("interrupted")
        assert store.execute("SELECT count(*) FROM trades").fetchone()[0] == 0
        assert store.get_cursor("e", "trades:spot") is None
        with store.transaction():
            store.upsert("trades", [{"exchange": "e", "symbol": "X/Y", "id": "1", "price": 1.0}])
            store.upsert("trades", [{"exchange": "e", "symbol": "X/Y", "id": "1", "price": 2.0}])
            store.set_cursor("e", "trades:spot", 123)
        assert store.execute("SELECT price FROM trades").fetchall() == [(2.0,)]
        assert store.get_cursor("e", "trades:spot") == 123


def test_markets_cache_respects_fingerprint_and_age(tmp_path: Path) -> None:
    with Store(tmp_path / "x.db") as store:
        store.save_markets("bybit", "bybit", "abc", [{"symbol": "BTC/USDT"}], {"BTC": {}})
        assert store.load_markets("bybit", "abc", 60) == ([{"symbol": "BTC/USDT"}], {"BTC": {}})
        assert store.load_markets("bybit", "other", 60) is None
        assert store.load_markets("bybit", "abc", -1) is None


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    path.write_bytes(b"garbage" * 1000)
    with pytest.raises(DatabaseError, match="not a valid exsync database"):
        Store(path)
    assert path.read_bytes() == b"garbage" * 1000


def test_missing_database_when_not_creating(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="no database yet"):
        Store(tmp_path / "none.db", create=False)
    assert not (tmp_path / "none.db").exists()
