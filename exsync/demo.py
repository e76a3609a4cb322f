"""`exsync demo`: one real pass against the built-in simulated exchange.

The simulator serves Bybit's v5 protocol on a free loopback port; the demo writes a config
that points ccxt at it, with credentials passed by environment variable exactly as a real
deployment would, and runs the same pass `exsync sync` runs.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from exsync.config import Config, load_config
from exsync.errors import DatabaseError
from exsync.orchestrator import PassResult, Progress, Synchronizer
from exsync.store import BUSY_TIMEOUT, Store, migrations
from exsync.store.core import engine_for
from exsync.store.schema import TABLES
from exsync.store.target import Target

DEMO_KEY = "exsync-demo-key"
DEMO_SECRET = "exsync-demo-secret"
DEMO_SYMBOLS = ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT"]


def demo_config(api_url: str, database: Path | str) -> dict[str, object]:
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


def run_demo(
    database: Path | Target, progress: Progress | None = None
) -> tuple[PassResult, Config]:
    """Start the simulator, run one full pass into `database` (an SQLite file, or a
    PostgreSQL database), stop the simulator."""
    from exsync.simulator import BybitSimulator, Scenario

    target = database if isinstance(database, Target) else Target(path=database)
    if target.path is not None:
        target = Target(path=target.path.resolve())
    claim(target)
    with (
        BybitSimulator(Scenario(seed=1), api_key=DEMO_KEY, secret=DEMO_SECRET) as sim,
        tempfile.TemporaryDirectory(prefix="exsync-demo-") as tmp,
    ):
        config_path = Path(tmp) / "config.yaml"
        config_path.write_text(yaml.safe_dump(demo_config(sim.url, target)), encoding="utf-8")
        os.environ["EXSYNC_DEMO_API_KEY"] = DEMO_KEY
        os.environ["EXSYNC_DEMO_SECRET"] = DEMO_SECRET
        config = load_config(config_path)
        result = Synchronizer(config, target, progress=progress).sync()
    return result, config


#: what `meta.purpose` says in a database the demo made
PURPOSE = "demo"


def claim(database: Path | Target) -> None:
    """Make sure the demo writes only into a database of its own.

    A new or empty database is marked as the demo's; one that holds anything else (a real
    mirror, where simulated balances and trades would land under a real account's name) is
    refused with a DatabaseError, before anything is written to it.
    """
    target = database if isinstance(database, Target) else Target(path=database)
    _refuse_unless_demo(target)
    with Store(target, check=True) as store, store.transaction():
        if store.get_meta("purpose") != PURPOSE:
            if _holds_rows(store.conn):  # filled since the check above
                raise DatabaseError(f"{target}: {_NOT_DEMO}")
            store.set_meta("purpose", PURPOSE)


_NOT_DEMO = (
    "holds data that is not the demo's; the demo writes simulated data only into a "
    "database of its own: pass another --db"
)


def _refuse_unless_demo(target: Target) -> None:
    if target.path is not None and not (target.path.exists() and target.path.stat().st_size):
        return  # nothing there yet
    engine = engine_for(target, BUSY_TIMEOUT)
    try:
        conn = engine.open(create=False, readonly=True, check=False)
    except DatabaseError as exc:
        raise DatabaseError(
            f"{target}: cannot be the demo's database ({str(exc).removeprefix(f'{target}: ')})"
        ) from None
    try:
        purpose = migrations.get_meta(conn, "purpose")
        foreign = bool(migrations.tables(conn)) and purpose is None and _holds_rows(conn)
        foreign = foreign or (purpose is not None and purpose != PURPOSE)
    except engine.errors as exc:
        raise DatabaseError(f"{target}: cannot be the demo's database ({exc})") from None
    finally:
        conn.close()
    if foreign:
        raise DatabaseError(f"{target}: {_NOT_DEMO}")


def _holds_rows(conn: Any) -> bool:
    """Whether any table holds a row (another application's tables count too)."""
    names = migrations.tables(conn) - {"meta"}
    known = {t.name for t in TABLES}
    for name in sorted(names):
        if name not in known:
            return True
        if conn.execute(f"SELECT 1 FROM {name} LIMIT 1").fetchone():
            return True
    return False
