"""What a database holds, read from each engine's own catalogue, and the DDL helpers the
upgrade steps build tables with.

Every function takes a connection of either engine: the driver's own SQLite connection,
or exsync's PostgreSQL one (which carries its dialect). The catalogues are read here only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from exsync.store.dialect import POSTGRES, SQLITE, Dialect


class Connection(Protocol):
    """What exsync needs of a connection: SQL with `?` placeholders, and whether a
    transaction is open."""

    def execute(self, sql: str, params: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, params: Any, /) -> Any: ...

    @property
    def in_transaction(self) -> bool: ...


def dialect_of(conn: Connection) -> Dialect:
    """The dialect of a connection; a plain sqlite3 connection speaks SQLite."""
    return getattr(conn, "dialect", SQLITE)


def tables(conn: Connection) -> set[str]:
    """The names of the database's tables (PostgreSQL: in the current schema)."""
    if dialect_of(conn) is POSTGRES:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    else:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    return {r[0] for r in rows}


def columns(conn: Connection, table: str) -> list[tuple[str, int]]:
    """(column, position in the primary key or 0) of a table, in order."""
    if dialect_of(conn) is POSTGRES:
        rows = conn.execute(
            # indkey is an int2vector, whose subscripts start at 0
            "SELECT a.attname, coalesce(array_position(i.indkey::int2[], a.attnum) "
            "- array_lower(i.indkey::int2[], 1) + 1, 0) "
            "FROM pg_attribute a LEFT JOIN pg_index i "
            "ON i.indrelid = a.attrelid AND i.indisprimary "
            "WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum",
            (table,),
        )
        return [(r[0], r[1]) for r in rows]
    return [(r[1], r[5]) for r in conn.execute(f"PRAGMA table_info({table})")]


def primary_key(conn: Connection, table: str) -> tuple[str, ...]:
    """A table's primary key columns, in key order."""
    return key_of(columns(conn, table))


def key_of(info: list[tuple[str, int]]) -> tuple[str, ...]:
    """The primary key columns, in key order, of what `columns` read."""
    return tuple(c for c, p in sorted(info, key=lambda x: x[1]) if p)


def shape(conn: Connection, body: str) -> tuple[list[tuple[str, str]], tuple[str, ...]]:
    """(column, type) pairs and the key columns of a portable table definition, as SQLite
    reads it (only SQLite databases predate the schema versions, so only they are adopted)."""
    conn.execute(f"CREATE TEMP TABLE shape__ ({SQLITE.ddl(body)})")
    try:
        info = list(conn.execute("PRAGMA temp.table_info(shape__)"))
    finally:
        conn.execute("DROP TABLE temp.shape__")
    key = tuple(r[1] for r in sorted(info, key=lambda r: r[5]) if r[5])
    return [(r[1], r[2]) for r in info], key


def create_table(conn: Connection, name: str, body: str, *, if_not_exists: bool = False) -> None:
    """A table from its portable definition (see dialect.py)."""
    guard = "IF NOT EXISTS " if if_not_exists else ""
    conn.execute(f"CREATE TABLE {guard}{name} ({dialect_of(conn).ddl(body)})")


def add_column(conn: Connection, table: str, column: str, kind: str) -> None:
    """A new column of a portable type."""
    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {dialect_of(conn).ddl(kind)}")


def create_index(conn: Connection, table: str, index: Sequence[str]) -> None:
    """An index named as exsync has always named them."""
    name = f"idx_{table}_{'_'.join(index)}"
    conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(index)})")


def rebuild(conn: Connection, name: str, body: str, copy: dict[str, str]) -> None:
    """Recreate a table with a new portable definition (e.g. another primary key), copying
    rows.

    `copy` maps each new column to an expression over the old table's columns. A row that
    would collide under the new key makes the upgrade fail whole instead of dropping it.
    The old table's indexes go with it: create them again after.
    """
    dialect = dialect_of(conn)
    conn.execute(f"ALTER TABLE {name} RENAME TO {name}__old")
    for statement in dialect.set_aside:
        conn.execute(statement.format(name=name))
    create_table(conn, name, body)
    if copy:
        conn.execute(
            f"INSERT INTO {name} ({', '.join(copy)}) "
            f"SELECT {', '.join(copy.values())} FROM {name}__old"
        )
        if "INTEGER PRIMARY KEY" in body and dialect.reset_identity:
            key = body.split("INTEGER PRIMARY KEY", 1)[0].rstrip().rsplit(None, 1)[-1]
            conn.execute(dialect.reset_identity.format(table=name, column=key))
    conn.execute(f"DROP TABLE {name}__old")
