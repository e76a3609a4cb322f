"""Numbered schema steps, and the one transaction that applies them.

A database stores its schema version in `meta`. Opening it for writing applies every step
above that version, in order, in one transaction (SQLite: `BEGIN IMMEDIATE`; PostgreSQL:
under an advisory lock): an upgrade is all done or not at all, and a second process opening
the same database waits for it like for any other write. A database written by a newer
exsync is refused. A fresh database is built by the same steps, so a new install and an
upgraded one cannot differ, on either engine.

A step is explicit SQL: a new column, a renamed one (`ALTER TABLE ... RENAME COLUMN`), a
changed primary key (`rebuild()`), never a guess from comparing names. Table definitions
are portable DDL (dialect.py renders their types for each engine); the engines' catalogues
are read in catalog.py only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from exsync.clock import iso, now
from exsync.store.catalog import (
    Connection,
    add_column,
    columns,
    create_index,
    create_table,
    dialect_of,
    key_of,
    primary_key,
    rebuild,
    shape,
    tables,
)
from exsync.store.dialect import SQLITE
from exsync.store.schema import TABLES

__all__ = ["LATEST", "STEPS", "SchemaError", "Step", "columns", "primary_key", "rebuild", "tables"]


class SchemaError(Exception):
    """The database's schema is not one this exsync can use or upgrade."""


@dataclass(frozen=True)
class Step:
    """One schema change: the version it brings the database to, and how."""

    version: int
    does: str
    apply: Callable[[Connection], None]


# The schema as exsync created it before versions were stored (version 1). Frozen: later
# changes are steps below, never edits here.
_V1 = {
    "balances": (
        "exchange TEXT, wallet TEXT, asset TEXT, free REAL, used REAL, total REAL, run_id "
        "TEXT, synced_at TEXT, PRIMARY KEY (exchange, wallet, asset)"
    ),
    "balance_snapshots": (
        "exchange TEXT, run_id TEXT, wallet TEXT, asset TEXT, free REAL, used REAL, total "
        "REAL, taken_at TEXT, PRIMARY KEY (exchange, run_id, wallet, asset)"
    ),
    "positions": (
        "exchange TEXT, symbol TEXT, side TEXT, status TEXT, contracts REAL, contract_size "
        "REAL, entry_price REAL, mark_price REAL, notional REAL, leverage REAL, "
        "unrealized_pnl REAL, liquidation_price REAL, margin_mode TEXT, timestamp INTEGER, "
        "synced_at TEXT, closed_at TEXT, raw TEXT, PRIMARY KEY (exchange, symbol, side)"
    ),
    "orders": (
        "exchange TEXT, id TEXT, client_order_id TEXT, symbol TEXT, type TEXT, side TEXT, "
        "price REAL, average REAL, amount REAL, filled REAL, remaining REAL, cost REAL, "
        "status TEXT, fee_cost REAL, fee_currency TEXT, timestamp INTEGER, updated INTEGER, "
        "synced_at TEXT, raw TEXT, PRIMARY KEY (exchange, symbol, id)"
    ),
    "trades": (
        "exchange TEXT, id TEXT, order_id TEXT, symbol TEXT, side TEXT, taker_or_maker TEXT, "
        "price REAL, amount REAL, cost REAL, fee_cost REAL, fee_currency TEXT, fee_rate REAL, "
        "timestamp INTEGER, exec_type TEXT, raw TEXT, PRIMARY KEY (exchange, symbol, id)"
    ),
    "tickers": (
        "exchange TEXT, symbol TEXT, last REAL, bid REAL, ask REAL, high REAL, low REAL, "
        "base_volume REAL, quote_volume REAL, percentage REAL, timestamp INTEGER, synced_at "
        "TEXT, raw TEXT, PRIMARY KEY (exchange, symbol)"
    ),
    "ohlcv": (
        "exchange TEXT, symbol TEXT, timeframe TEXT, timestamp INTEGER, open REAL, high REAL, "
        "low REAL, close REAL, volume REAL, PRIMARY KEY (exchange, symbol, timeframe, "
        "timestamp)"
    ),
    "cursors": (
        "exchange TEXT, stream TEXT, position INTEGER, updated_at TEXT, reread_at INTEGER, "
        "unit TEXT, PRIMARY KEY (exchange, stream)"
    ),
    "history_symbols": (
        "exchange TEXT, kind TEXT, symbol TEXT, market_type TEXT, reason TEXT, first_checked "
        "TEXT, last_checked TEXT, rows INTEGER, active INTEGER, balances TEXT, PRIMARY KEY "
        "(exchange, kind, symbol)"
    ),
    "sync_runs": (
        "id INTEGER PRIMARY KEY, run_id TEXT, exchange TEXT, data_type TEXT, started_at TEXT, "
        "finished_at TEXT, status TEXT, records INTEGER, attempts INTEGER, error TEXT, "
        "warnings TEXT"
    ),
    "sync_state": (
        "exchange TEXT, data_type TEXT, last_run_id TEXT, last_status TEXT, last_finished_at "
        "TEXT, last_records INTEGER, last_attempts INTEGER, last_error TEXT, last_success_at "
        "TEXT, last_success_records INTEGER, last_warnings TEXT, PRIMARY KEY (exchange, "
        "data_type)"
    ),
    "breakers": (
        "exchange TEXT, data_type TEXT, state TEXT, failures INTEGER, opened_at TEXT, "
        "next_probe_at TEXT, cooldown REAL, last_error TEXT, probe_run_id TEXT, updated_at "
        "TEXT, PRIMARY KEY (exchange, data_type)"
    ),
    "locks": (
        "exchange TEXT PRIMARY KEY, run_id TEXT, pid INTEGER, host TEXT, acquired_at TEXT, "
        "expires_at TEXT"
    ),
    "markets": (
        "exchange TEXT PRIMARY KEY, ccxt_id TEXT, fingerprint TEXT, fetched_at TEXT, markets "
        "TEXT, currencies TEXT"
    ),
    "deposits": (
        "exchange TEXT, source TEXT, id TEXT, asset TEXT, amount DECIMAL, network TEXT, address "
        "TEXT, tag TEXT, txid TEXT, fee DECIMAL, fee_asset TEXT, status TEXT, internal INTEGER, "
        "timestamp INTEGER, updated INTEGER, synced_at TEXT, raw TEXT, PRIMARY KEY (exchange, "
        "source, id)"
    ),
    "withdrawals": (
        "exchange TEXT, source TEXT, id TEXT, asset TEXT, amount DECIMAL, network TEXT, address "
        "TEXT, tag TEXT, txid TEXT, fee DECIMAL, fee_asset TEXT, status TEXT, internal INTEGER, "
        "timestamp INTEGER, updated INTEGER, synced_at TEXT, raw TEXT, PRIMARY KEY (exchange, "
        "source, id)"
    ),
    "transfers": (
        "exchange TEXT, id TEXT, source TEXT, asset TEXT, amount DECIMAL, from_account TEXT, "
        "to_account TEXT, from_member TEXT, to_member TEXT, status TEXT, timestamp INTEGER, "
        "synced_at TEXT, raw TEXT, PRIMARY KEY (exchange, id)"
    ),
    "ledger": (
        "exchange TEXT, id TEXT, type TEXT, kind TEXT, asset TEXT, symbol TEXT, amount DECIMAL, "
        "fee DECIMAL, funding DECIMAL, balance DECIMAL, reference TEXT, timestamp INTEGER, raw "
        "TEXT, PRIMARY KEY (exchange, id, type)"
    ),
    "closed_positions": (
        "exchange TEXT, symbol TEXT, order_id TEXT, timestamp INTEGER, side TEXT, closed_size "
        "DECIMAL, entry_price DECIMAL, exit_price DECIMAL, entry_value DECIMAL, exit_value "
        "DECIMAL, realized_pnl DECIMAL, open_fee DECIMAL, close_fee DECIMAL, leverage DECIMAL, "
        "exec_type TEXT, fills INTEGER, updated INTEGER, raw TEXT, PRIMARY KEY (exchange, "
        "symbol, order_id, timestamp)"
    ),
}
_V1_INDEXES = {
    "balance_snapshots": [("exchange", "taken_at")],
    "positions": [("exchange", "status")],
    "orders": [("exchange", "status"), ("exchange", "updated")],
    "trades": [("exchange", "symbol", "timestamp"), ("exchange", "timestamp")],
    "sync_runs": [("exchange", "data_type", "id"), ("finished_at",), ("run_id",)],
    "deposits": [("exchange", "status"), ("exchange", "timestamp")],
    "withdrawals": [("exchange", "status"), ("exchange", "timestamp")],
    "transfers": [("exchange", "timestamp")],
    "ledger": [("exchange", "timestamp"), ("exchange", "type")],
    "closed_positions": [("exchange", "symbol", "timestamp"), ("exchange", "timestamp")],
}
#: A database holding these tables but no version was made by exsync before versions.
_FIRST_TABLES = {"sync_runs", "cursors", "locks"}


def _baseline(conn: Connection) -> None:
    """Version 1: create every table, or adopt a database made before versions were stored.

    Such a database may predate a column (added here) or a primary key (the table is
    rebuilt on the new key, keeping every row).
    """
    existing = tables(conn)
    for name, body in _V1.items():
        if name not in existing:
            create_table(conn, name, body)
        elif dialect_of(conn) is SQLITE:
            wanted, key = shape(conn, body)
            have = dict(columns(conn, name))
            if primary_key(conn, name) != key:
                rebuild(conn, name, body, {c: c for c, _ in wanted if c in have})
            else:
                for column, kind in wanted:
                    if column not in have:
                        add_column(conn, name, column, kind)
        for index in _V1_INDEXES.get(name, []):
            create_index(conn, name, index)


def _identified_locks(conn: Connection) -> None:
    """Version 2: a lock names its holder by a random token and the exact process, and
    leases, cool-downs and probes are also measured on the boot clock."""
    for column, kind in (
        ("token", "TEXT"),
        ("process", "TEXT"),
        ("renewed_at", "TEXT"),
        ("clock", "TEXT"),
        ("renewed_mono", "REAL"),
        ("lease", "REAL"),
    ):
        add_column(conn, "locks", column, kind)
    for column, kind in (("clock", "TEXT"), ("due_mono", "REAL"), ("probe_mono", "REAL")):
        add_column(conn, "breakers", column, kind)


def _conversions(conn: Connection) -> None:
    """Version 3: swaps made outside the order book (Binance Convert)."""
    create_table(
        conn,
        "conversions",
        "exchange TEXT, id TEXT, source TEXT, from_asset TEXT, from_amount DECIMAL, to_asset "
        "TEXT, to_amount DECIMAL, price DECIMAL, status TEXT, timestamp INTEGER, synced_at "
        "TEXT, raw TEXT, PRIMARY KEY (exchange, id)",
        if_not_exists=True,
    )
    create_index(conn, "conversions", ("exchange", "timestamp"))


# Amount columns that held binary floats until version 4, and what balances gained then.
_EXACT = {
    "balances": ("free", "used", "total"),
    "balance_snapshots": ("free", "used", "total"),
    "positions": (
        "contracts",
        "contract_size",
        "entry_price",
        "mark_price",
        "notional",
        "leverage",
        "unrealized_pnl",
        "liquidation_price",
    ),
    "orders": ("price", "average", "amount", "filled", "remaining", "cost", "fee_cost"),
    "trades": ("price", "amount", "cost", "fee_cost", "fee_rate"),
    "tickers": ("last", "bid", "ask", "high", "low", "base_volume", "quote_volume", "percentage"),
    "ohlcv": ("open", "high", "low", "close", "volume"),
}
_VALUED = (
    "equity DECIMAL, unrealized_pnl DECIMAL, quote TEXT, price DECIMAL, value DECIMAL",
    {"balances": ", priced_at TEXT, raw TEXT", "balance_snapshots": ""},
)
# A later step that rebuilds balances drops this view first (PostgreSQL keeps a table a view
# depends on) and makes it again after.
PORTFOLIO_VIEW = (
    "CREATE VIEW portfolio AS SELECT exchange, wallet, asset, total AS amount, "
    "quote, price, value, priced_at FROM balances"
)


def _exact_amounts(conn: Connection) -> None:
    """Version 4: amounts as the exchange's exact decimal text; balances carry the wallet
    balance, equity and unrealised PnL apart, a price and a value; the portfolio view.

    Amounts stored before as binary floats are written as the shortest decimal text that
    reads back as the same float (what the exchange sent, whenever it sent no more digits
    than a float holds).
    """
    exact = "{}"  # PostgreSQL converts a float to NUMERIC by itself
    if dialect_of(conn) is SQLITE:
        conn.create_function("exact_text", 1, _exact_text, deterministic=True)  # type: ignore[attr-defined]
        exact = "exact_text({})"
    for name, amounts in _EXACT.items():
        body = _V1[name]
        for column in amounts:
            body = body.replace(f"{column} REAL", f"{column} DECIMAL", 1)
        copy = {c: (exact.format(c) if c in amounts else c) for c, _ in columns(conn, name)}
        if name in _VALUED[1]:
            head, key = body.rsplit(", PRIMARY KEY", 1)
            body = f"{head}, {_VALUED[0]}{_VALUED[1][name]}, PRIMARY KEY{key}"
        rebuild(conn, name, body, copy)
        for index in _V1_INDEXES.get(name, []):
            create_index(conn, name, index)
    conn.execute(PORTFOLIO_VIEW)


def _exact_text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return str(value)


STEPS: tuple[Step, ...] = (
    Step(1, "every table (adopting a database made before versions were stored)", _baseline),
    Step(2, "locks identified by token and process; boot-clock leases", _identified_locks),
    Step(3, "conversions (Binance Convert)", _conversions),
    Step(4, "exact amounts; balances valued; the portfolio view", _exact_amounts),
)
LATEST = STEPS[-1].version


def upgrade(conn: Connection, steps: Sequence[Step] = STEPS) -> tuple[int, int]:
    """Apply the steps above the database's version in one transaction.

    Returns (version found, version now); 0 found means a fresh or unversioned database.
    Raises SchemaError for a database of a newer exsync or one that is not exsync's.
    The caller's busy timeout applies to `BEGIN IMMEDIATE`.
    """
    latest = steps[-1].version
    dialect = dialect_of(conn)
    conn.execute(dialect.begin)
    try:
        if dialect.upgrade_lock:
            conn.execute(dialect.upgrade_lock)
        found = read_version(conn)
        if found > latest:
            raise SchemaError(
                f"written by a newer exsync (schema version {found}; this exsync knows up to "
                f"{latest}): upgrade exsync, or point it at another database"
            )
        if found < latest:
            create_table(
                conn, "meta", "key TEXT PRIMARY KEY, value TEXT NOT NULL", if_not_exists=True
            )
            for step in steps:
                if step.version > found:
                    step.apply(conn)
            set_meta(conn, "schema_version", str(latest))
            set_meta(conn, f"upgraded_to_{latest}_at", iso(now().wall))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return found, latest


def read_version(conn: Connection) -> int:
    """The stored schema version; 0 for a fresh database or one made before versions."""
    existing = tables(conn)
    if "meta" in existing:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is not None:
            try:
                return int(row[0])
            except ValueError:
                raise SchemaError(f"unreadable schema version {row[0]!r}") from None
    if existing and not existing & _FIRST_TABLES:
        shown = ", ".join(sorted(existing)[:5])
        raise SchemaError(f"not an exsync database (it holds other tables: {shown})")
    return 0


def verify(conn: Connection) -> None:
    """Raise SchemaError unless every declared table has its columns and primary key.

    Catches a schema change made without its step, and a database altered by hand, with
    one line instead of a failure in every unit.
    """
    existing = tables(conn)
    for table in TABLES:
        if table.name not in existing:
            raise SchemaError(f"table {table.name} is missing")
        info = columns(conn, table.name)  # one catalogue read a table: a round trip on a server
        have = {c for c, _ in info}
        missing = [c for c in table.columns if c not in have]
        if missing:
            raise SchemaError(f"table {table.name} lacks column(s) {', '.join(missing)}")
        if (key := key_of(info)) != table.pk:
            raise SchemaError(
                f"table {table.name} has primary key ({', '.join(key)}), "
                f"not ({', '.join(table.pk)})"
            )


def get_meta(conn: Connection, key: str) -> str | None:
    """A value from `meta`, or None (also before the table exists)."""
    if "meta" not in tables(conn):
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def set_meta(conn: Connection, key: str, value: str) -> None:
    """Store a value in `meta` (inside the caller's transaction)."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
