"""exsync.store.housekeeping: pruning old history in one transaction, and database statistics."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from exsync.errors import DatabaseError
from exsync.status import history, unit_statuses
from exsync.store import Store, utc_now
from exsync.store.housekeeping import PRUNABLE, cutoff_text, database_stats, prune
from exsync.store.schema import TABLES

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def run(
    store: Store, exchange: str, data_type: str, finished: datetime, status: str = "ok"
) -> None:
    with store.transaction():
        store.record_run(
            run_id=f"{finished:%Y%m%dT%H%M%S}",
            exchange=exchange,
            data_type=data_type,
            started_at=iso(finished - timedelta(seconds=1)),
            finished_at=iso(finished),
            status=status,
            records=1,
            attempts=1,
            error=None,
        )


def snapshot(store: Store, exchange: str, taken: datetime, assets: tuple[str, ...]) -> None:
    rows = [
        {
            "exchange": exchange,
            "run_id": f"{taken:%Y%m%dT%H%M%S}",
            "wallet": "unified",
            "asset": asset,
            "free": 1.0,
            "used": 0.0,
            "total": 1.0,
            "taken_at": iso(taken),
        }
        for asset in assets
    ]
    with store.transaction():
        store.upsert("balance_snapshots", rows)


def remaining(store: Store, sql: str) -> list[tuple[Any, ...]]:
    return store.execute(sql).fetchall()


def test_prune_deletes_old_rows_and_keeps_the_newest_of_each_unit(store: Store) -> None:
    for days in (40, 35, 31, 29, 1):
        run(store, "bybit", "trades", NOW - days * DAY)
    run(store, "bybit", "orders", NOW - 45 * DAY)  # only row of the unit: kept
    run(store, "bybit", "orders", NOW - 44 * DAY)  # now the newest: the older one goes
    run(store, "okx", "balances", NOW - 60 * DAY)  # an exchange no longer synced
    deleted = prune(store, 30 * 86400, now=NOW, tables=("sync_runs",))
    assert deleted == {"sync_runs": 4}
    rows = remaining(
        store, "SELECT exchange, data_type, finished_at FROM sync_runs ORDER BY exchange, id"
    )
    assert rows == [
        ("bybit", "trades", iso(NOW - 29 * DAY)),
        ("bybit", "trades", iso(NOW - 1 * DAY)),
        ("bybit", "orders", iso(NOW - 44 * DAY)),
        ("okx", "balances", iso(NOW - 60 * DAY)),
    ]


def test_prune_keeps_the_newest_snapshot_of_each_exchange(store: Store) -> None:
    snapshot(store, "bybit", NOW - 90 * DAY, ("BTC", "ETH", "SOL"))
    snapshot(store, "bybit", NOW - 40 * DAY, ("BTC", "ETH"))
    snapshot(store, "bybit", NOW - 2 * DAY, ("BTC", "USDT"))
    snapshot(store, "okx", NOW - 80 * DAY, ("BTC",))
    snapshot(store, "okx", NOW - 70 * DAY, ("BTC", "ETH"))  # okx's last known portfolio
    deleted = prune(store, 30 * 86400, now=NOW)
    assert deleted == {"sync_runs": 0, "balance_snapshots": 3 + 2 + 1}
    rows = remaining(
        store, "SELECT exchange, asset, taken_at FROM balance_snapshots ORDER BY 1, 3, 2"
    )
    assert rows == [
        ("bybit", "BTC", iso(NOW - 2 * DAY)),
        ("bybit", "USDT", iso(NOW - 2 * DAY)),
        ("okx", "BTC", iso(NOW - 70 * DAY)),
        ("okx", "ETH", iso(NOW - 70 * DAY)),
    ]


def test_the_cutoff_itself_is_kept(store: Store) -> None:
    run(store, "bybit", "trades", NOW - 10 * DAY)
    run(store, "bybit", "trades", NOW - 10 * DAY + timedelta(milliseconds=1))
    run(store, "bybit", "trades", NOW - 10 * DAY - timedelta(milliseconds=1))
    run(store, "bybit", "trades", NOW)
    assert prune(store, 10 * 86400, now=NOW)["sync_runs"] == 1
    assert len(remaining(store, "SELECT id FROM sync_runs")) == 3


def test_status_and_history_survive_a_prune(store: Store) -> None:
    run(store, "bybit", "trades", NOW - 50 * DAY)
    run(store, "bybit", "trades", NOW - 40 * DAY, status="failed")
    prune(store, 30 * 86400, now=NOW)
    [status] = unit_statuses(store, None, now=NOW)
    # sync_state is not touched: the last success is still known after its row is gone.
    assert status.last_success_at == iso(NOW - 50 * DAY)
    assert status.last_status == "failed"
    assert [r["status"] for r in history(store)] == ["failed"]


def test_prune_is_one_transaction(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    for days in (50, 40):
        run(store, "bybit", "trades", NOW - days * DAY)
        snapshot(store, "bybit", NOW - days * DAY, ("BTC",))
    real_execute = store.execute

    def fail_on_snapshots(sql: str, params: Any = ()) -> sqlite3.Cursor:
        if "balance_snapshots" in sql:
            raise sqlite3.OperationalError("disk I/O error")
        return real_execute(sql, params)

    monkeypatch.setattr(store, "execute", fail_on_snapshots)
    with pytest.raises(DatabaseError, match="disk I/O error"):
        prune(store, 30 * 86400, now=NOW)
    monkeypatch.undo()
    assert len(remaining(store, "SELECT id FROM sync_runs")) == 2  # rolled back


def test_prune_uses_the_current_time_by_default(store: Store) -> None:
    run(store, "bybit", "trades", datetime.now(UTC) - 3 * DAY)
    run(store, "bybit", "trades", datetime.now(UTC))
    assert prune(store, 86400) == {"sync_runs": 1, "balance_snapshots": 0}


def test_bad_arguments(store: Store) -> None:
    with pytest.raises(ValueError, match="greater than zero"):
        prune(store, 0)
    with pytest.raises(ValueError, match="greater than zero"):
        prune(store, float("nan"))
    with pytest.raises(ValueError, match="cannot prune trades"):
        prune(store, 86400, tables=("trades",))


def test_cutoff_text_compares_like_exsync_timestamps() -> None:
    assert cutoff_text(NOW) == iso(NOW)
    assert len(cutoff_text(NOW)) == len(utc_now())
    assert cutoff_text(datetime(2026, 11, 25, 10, 0)) == iso(NOW)  # naive is UTC
    other_zone = NOW.astimezone(datetime.now().astimezone().tzinfo)
    assert cutoff_text(other_zone) == iso(NOW)


def test_database_stats(store: Store) -> None:
    run(store, "bybit", "trades", NOW)
    run(store, "bybit", "orders", NOW)
    snapshot(store, "bybit", NOW, ("BTC", "ETH", "USDT"))
    stats = database_stats(store)
    assert set(stats) == {t.name for t in TABLES} | {"file_bytes", "wal_bytes", "free_bytes"}
    assert stats["sync_runs"] == 2 and stats["sync_state"] == 2
    assert stats["balance_snapshots"] == 3 and stats["trades"] == 0
    assert stats["file_bytes"] == store.path.stat().st_size > 0
    assert stats["wal_bytes"] >= 0 and stats["free_bytes"] >= 0
    assert set(PRUNABLE) <= set(stats)


def test_free_bytes_grow_after_a_prune(store: Store) -> None:
    for index in range(3000):
        run(store, "bybit", "trades", NOW - 60 * DAY + timedelta(minutes=index))
    store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = database_stats(store)
    prune(store, 30 * 86400, now=NOW)
    store.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    after = database_stats(store)
    assert after["sync_runs"] == 1
    assert after["free_bytes"] > before["free_bytes"]
