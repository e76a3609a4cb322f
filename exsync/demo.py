"""`exsync demo`: one real pass against the built-in simulated exchange.

The simulator serves Bybit's v5 protocol on a free loopback port; the demo writes a config
that points ccxt at it, with credentials passed by environment variable exactly as a real
deployment would, and runs the same pass `exsync sync` runs.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path
from urllib.parse import quote

import yaml

from exsync.config import Config, load_config
from exsync.errors import DatabaseError
from exsync.orchestrator import PassResult, Progress, Synchronizer
from exsync.store import Store, migrations
from exsync.store.schema import TABLES

DEMO_KEY = "exsync-demo-key"
DEMO_SECRET = "exsync-demo-secret"
DEMO_SYMBOLS = ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT"]


def demo_config(api_url: str, database: Path) -> dict[str, object]:
    """The config the demo writes: one simulated Bybit account, every data type."""
    return {
        "database": str(database),
        "defaults": {"timeframe": "1h", "ohlcv_since": "2d", "trades_since": "30d"},
        "exchanges": {
            "bybit": {
                "api_url": api_url,
                "api_key_env": "EXSYNC_DEMO_API_KEY",
                "secret_env": "EXSYNC_DEMO_SECRET",
                "symbols": DEMO_SYMBOLS,
            }
        },
    }


def run_demo(database: Path, progress: Progress | None = None) -> tuple[PassResult, Config]:
    """Start the simulator, run one full pass into `database`, stop the simulator."""
    from exsync.simulator import BybitSimulator, Scenario

    database = database.resolve()
    claim(database)
    with (
        BybitSimulator(Scenario(seed=1), api_key=DEMO_KEY, secret=DEMO_SECRET) as sim,
        tempfile.TemporaryDirectory(prefix="exsync-demo-") as tmp,
    ):
        config_path = Path(tmp) / "config.yaml"
        config_path.write_text(yaml.safe_dump(demo_config(sim.url, database)), encoding="utf-8")
        os.environ["EXSYNC_DEMO_API_KEY"] = DEMO_KEY
        os.environ["EXSYNC_DEMO_SECRET"] = DEMO_SECRET
        config = load_config(config_path)
        result = Synchronizer(config, progress=progress).sync()
    return result, config


#: what `meta.purpose` says in a database the demo made
PURPOSE = "demo"


def claim(database: Path) -> None:
    """Make sure the demo writes only into a database of its own.

    A new or empty database is marked as the demo's; one that holds anything else (a real
    mirror, where simulated balances and trades would land under a real account's name) is
    refused with a DatabaseError, before anything is written to it.
    """
    if database.exists() and database.stat().st_size:
        _refuse_unless_demo(database)
    with Store(database, check=True) as store, store.transaction():
        if store.get_meta("purpose") != PURPOSE:
            if _holds_rows(store.conn):  # filled since the check above
                raise DatabaseError(f"{database}: {_NOT_DEMO}")
            store.set_meta("purpose", PURPOSE)


_NOT_DEMO = (
    "holds data that is not the demo's; the demo writes simulated data only into a "
    "database of its own: pass another --db"
)


def _refuse_unless_demo(database: Path) -> None:
    try:
        conn = sqlite3.connect(f"file:{quote(str(database))}?mode=ro", uri=True)
        try:
            purpose = migrations.get_meta(conn, "purpose")
            foreign = bool(migrations.tables(conn)) and purpose is None and _holds_rows(conn)
            foreign = foreign or (purpose is not None and purpose != PURPOSE)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise DatabaseError(f"{database}: cannot be the demo's database ({exc})") from None
    if foreign:
        raise DatabaseError(f"{database}: {_NOT_DEMO}")


def _holds_rows(conn: sqlite3.Connection) -> bool:
    """Whether any table holds a row (another application's tables count too)."""
    names = migrations.tables(conn) - {"meta"}
    known = {t.name for t in TABLES}
    for name in sorted(names):
        if name not in known:
            return True
        if conn.execute(f"SELECT 1 FROM {name} LIMIT 1").fetchone():
            return True
    return False
