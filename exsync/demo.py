"""`exsync demo`: one real pass against the built-in simulated exchange.

The simulator serves Bybit's v5 protocol on a free loopback port; the demo writes a config
that points ccxt at it, with credentials passed by environment variable exactly as a real
deployment would, and runs the same pass `exsync sync` runs.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import yaml

from exsync.config import Config, load_config
from exsync.orchestrator import PassResult, Progress, Synchronizer

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
