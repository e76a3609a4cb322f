"""Moving a mirror to another database: `exsync db copy --to postgresql://...`.

A user who outgrows one machine moves the SQLite mirror to PostgreSQL (or back) without a
new backfill: every row of every table (the data, the cursors that resume it, the sync
history, the breakers, the cached markets) is copied as it is. The source is read in one
snapshot, so a pass writing to it meanwhile can not tear the copy; the target is written in
one transaction and must hold nothing yet: a copy is all there or not at all. Run locks are
not copied: they belong to runs of the source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from exsync.errors import DatabaseError
from exsync.store.core import Store
from exsync.store.schema import TABLES

#: a lock belongs to a run on the source, not to the copy
NOT_COPIED = ("locks",)
#: about the target itself, kept as the target's own upgrade wrote it
OWN_META = ("schema_version",)
BATCH = 2000


def copy_database(
    source: Store, target: Store, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Copy every table of `source` into the empty `target`; return the rows copied per
    table. Raises DatabaseError, naming the table, when a row can not be written; then the
    target is left as it was."""
    if source.name == target.name:
        raise DatabaseError(f"{target.name}: the source and the target are the same database")
    source.quick_check()  # a damaged source is refused before anything is written
    with target.transaction():
        filled = [t.name for t in TABLES if _holds_rows(target, t.name)]
        if filled:
            raise DatabaseError(
                f"{target.name}: holds data already ({', '.join(filled[:3])}); copy into an "
                "empty database"
            )
        counts: dict[str, int] = {}
        with source.snapshot():
            for table in TABLES:
                if table.name in NOT_COPIED:
                    continue
                counts[table.name] = _copy_table(source, target, table.name, list(table.columns))
                if progress is not None:
                    progress(table.name, counts[table.name])
        if target.dialect.reset_identity:
            target.execute(target.dialect.reset_identity.format(table="sync_runs", column="id"))
    return counts


def _copy_table(source: Store, target: Store, name: str, columns: list[str]) -> int:
    where = f"WHERE key NOT IN ({', '.join('?' * len(OWN_META))})" if name == "meta" else ""
    insert = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    if name == "meta":
        insert += " ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    copied = 0
    for batch in _batches(source, f"SELECT {', '.join(columns)} FROM {name} {where}", where):
        try:
            target.conn.executemany(insert, batch)
        except target.errors as exc:
            detail = str(target.error(exc)).removeprefix(f"{target.name}: ")
            raise DatabaseError(f"{target.name}: copying {name}: {detail}") from None
        copied += len(batch)
    return copied


def _batches(source: Store, sql: str, where: str) -> Iterator[list[Any]]:
    """The source's rows in batches; its own errors (a damaged page met on the way) name the
    source, never the target they would otherwise be taken for."""
    try:
        cursor = source.execute(sql, OWN_META if where else ())
        while batch := cursor.fetchmany(BATCH):
            yield batch
    except source.errors as exc:
        raise source.error(exc) from None


def _holds_rows(store: Store, table: str) -> bool:
    if table == "meta":
        keys = store.fetchall("SELECT key FROM meta")
        return any(k not in OWN_META and not k.startswith("upgraded_to_") for (k,) in keys)
    return bool(store.fetchall(f"SELECT 1 FROM {table} LIMIT 1"))
