"""The store: schema creation and migration, transactions, cursors, the markets cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def test_a_reader_faster_than_the_store_waits_instead_of_piling_rows_up(tmp_path: Path) -> None:
    """A backfill's walks hand their rows to the store's thread and read on; when pages
    arrive faster than the store writes them, the rows waiting must stay bounded (one batch
    being written, one being gathered), not grow with the length of the backfill."""
    import asyncio
    import threading
    import time

    from exsync.sync.unit import FLUSH_ROWS, Pending

    WALKS, PAGE = 8, FLUSH_ROWS // 8  # a backfill: 4 windows of 2 streams at once
    store = Store(tmp_path / "slow.db")
    waiting = peak = 0
    lock = threading.Lock()
    write = Pending._write

    def slow_write(self: Pending, rows: dict[str, list[Any]], *rest: Any) -> None:
        nonlocal waiting
        time.sleep(0.02)  # a store slower than the exchange
        write(self, rows, *rest)
        with lock:
            waiting -= sum(len(r) for r in rows.values())

    async def backfill() -> None:
        nonlocal waiting, peak
        pending = Pending(store)
        pending._write = slow_write.__get__(pending)  # type: ignore[method-assign]
        original = pending.store.run

        async def run(fn: Any, *args: Any) -> Any:
            nonlocal waiting, peak
            if fn == pending._write:
                with lock:
                    waiting += sum(len(r) for r in args[0].values())
                    peak = max(peak, waiting)
            return await original(fn, *args)

        pending.store.run = run  # type: ignore[method-assign]

        async def walk(n: int) -> None:
            for page in range(40):
                rows = [_trade(f"{n}-{page}-{i}") for i in range(PAGE)]
                pending.add("trades", rows)
                await pending.commit_if_due()
                await asyncio.sleep(0)

        await asyncio.gather(*(walk(n) for n in range(WALKS)))
        await pending.commit()

    try:
        asyncio.run(backfill())
        assert store.fetchall("SELECT count(*) FROM trades") == [(WALKS * 40 * PAGE,)]
    finally:
        store.close()
    # one batch written at a time: a full one, and what each walk added before it saw that
    assert peak <= FLUSH_ROWS + WALKS * PAGE, peak


def _trade(trade_id: str) -> dict[str, Any]:
    return {"exchange": "x", "id": trade_id, "symbol": "BTC/USDT", "timestamp": 1}


def test_shared_work_that_fails_after_its_units_were_cancelled_is_not_logged_as_lost() -> None:
    """Work the units of one exchange share (a wallet read) is awaited by each of them; when
    another unit's failure has cancelled them all before it fails too (a wrong key refused
    everywhere), its error must not reach the log as asyncio's "Task exception was never
    retrieved" traceback: each unit that waited reports what it saw."""
    import asyncio
    import gc

    from exsync.sync.unit import UnitContext

    lost: list[Any] = []

    async def failing() -> None:
        await asyncio.sleep(0.01)
        raise RuntimeError("refused")

    async def pass_() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: lost.append(context))
        ctx = UnitContext.__new__(UnitContext)
        ctx.shared = {}
        waiter = asyncio.ensure_future(ctx.once("wallet", failing))
        await asyncio.sleep(0)
        waiter.cancel()  # the unit that asked was cancelled by another's failure
        await asyncio.sleep(0.05)
        ctx.shared.clear()
        gc.collect()

    asyncio.run(pass_())
    gc.collect()
    assert [c.get("message") for c in lost] == [], lost
