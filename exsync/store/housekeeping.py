"""Keeping the database's history bounded, and measuring it.

Two tables grow with every pass: `sync_runs` (one row per unit per pass) and
`balance_snapshots` (one row per held asset per successful balances unit). Every other
table holds the latest state or grows with the exchange's own data (trades, orders,
candles), which is the point of the mirror and is never pruned here.

Deleted rows free pages inside the file for reuse; the file itself does not shrink until a
`VACUUM`. With a regular prune the file stops growing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from exsync.store import Store
from exsync.store.schema import TABLES

#: The tables `prune` may delete from, in the order it does.
PRUNABLE = ("sync_runs", "balance_snapshots")

_DELETE = {
    # The newest row of each unit stays, however old: it is what `history` shows for a unit
    # that stopped running. (sync_state keeps the unit's latest outcome in any case.)
    "sync_runs": (
        "DELETE FROM sync_runs WHERE finished_at < ? AND id NOT IN "
        "(SELECT max(id) FROM sync_runs GROUP BY exchange, data_type)"
    ),
    # The newest snapshot of each exchange (all its assets) stays, however old: the last
    # known portfolio of an exchange that is no longer synced.
    "balance_snapshots": (
        "DELETE FROM balance_snapshots WHERE taken_at < ? AND taken_at < "
        "(SELECT max(b.taken_at) FROM balance_snapshots AS b "
        "WHERE b.exchange = balance_snapshots.exchange)"
    ),
}


def prune(
    store: Store,
    older_than_seconds: float,
    now: datetime | None = None,
    *,
    tables: Iterable[str] = PRUNABLE,
) -> dict[str, int]:
    """Delete history older than `older_than_seconds`; return rows deleted per table.

    `sync_runs` rows go by `finished_at`, `balance_snapshots` rows by `taken_at`, both
    compared as ISO-8601 UTC text, which is how exsync writes them. The newest `sync_runs`
    row of each exchange x data type and the newest snapshot of each exchange are kept
    even when older. Everything is deleted in one transaction: all of it or nothing.
    `tables` limits the prune, e.g. ``("sync_runs",)`` to keep the balance history.

    Raises ValueError for a non-positive age or an unknown table, DatabaseError when the
    database is locked for longer than the busy timeout.
    """
    if not older_than_seconds > 0:
        raise ValueError("older_than_seconds must be greater than zero")
    chosen = list(dict.fromkeys(tables))
    unknown = [t for t in chosen if t not in _DELETE]
    if unknown:
        raise ValueError(f"cannot prune {', '.join(unknown)} (only {', '.join(PRUNABLE)})")
    now = now or datetime.now(UTC)
    cutoff = cutoff_text(now - timedelta(seconds=older_than_seconds))
    deleted: dict[str, int] = {}
    with store.transaction():
        for table in PRUNABLE:
            if table in chosen:
                deleted[table] = store.execute(_DELETE[table], (cutoff,)).rowcount
    return deleted


def cutoff_text(moment: datetime) -> str:
    """`moment` in the form exsync stores its times, so that text comparison is correct.

    A naive datetime is taken as UTC.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def database_stats(store: Store) -> dict[str, int]:
    """Rows per table, plus the sizes in bytes of the file, its WAL and its free pages.

    Keys: every table name in `exsync.store.schema.TABLES` (row count), ``file_bytes`` (the
    database file; on PostgreSQL the database's size on the server), ``wal_bytes`` (the
    write-ahead log beside it; 0 when absent) and ``free_bytes`` (pages inside the file that
    are free for reuse, e.g. after a prune; 0 on PostgreSQL, which reuses them by itself).
    Counting walks each table's smallest index: tens of milliseconds per million rows.
    """
    stats: dict[str, int] = {}
    for table in TABLES:
        # Table names come from the schema, never from input.
        stats[table.name] = store.fetchall(f"SELECT count(*) FROM {table.name}")[0][0]
    stats.update(store.sizes())
    return stats
