"""The store: schema creation and migration, transactions, cursors, the markets cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from exsync.errors import DatabaseError
from exsync.store import Store
from exsync.store.migrations import columns, primary_key
from exsync.store.schema import TABLES


def test_schema_has_every_table_and_primary_key(tmp_path: Path) -> None:
    with Store(tmp_path / "x.db") as store:
        for table in TABLES:
            assert [c for c, _ in columns(store.conn, table.name)] == list(table.columns)
            assert primary_key(store.conn, table.name) == table.pk
        assert store.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


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
        # amounts are exact decimal text
        assert store.execute("SELECT price FROM trades").fetchall() == [("2.0",)]
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
