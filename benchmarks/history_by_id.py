"""Binance history paged by id: what a first pass costs, against a walk of 24 h windows."""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from benchmarks.harness import KEY, SECRET, ratio, timed
from exsync.config import load_config
from exsync.orchestrator import Synchronizer
from exsync.simulator import BinanceSimulator, Scenario

DAY_MS = 86_400_000
SINCE = "2023-01-01"
SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
HISTORY = ("/api/v3/myTrades", "/api/v3/allOrders")

Row = tuple[str, str, str]


def first_pass(workdir: Path, quick: bool) -> list[Row]:
    """A first pass from 2023-01-01 over three spot symbols with three trades each."""
    since_ms = int(datetime.fromisoformat(SINCE).replace(tzinfo=UTC).timestamp() * 1000)
    days = (int(time.time() * 1000) - since_ms) // DAY_MS + 1
    scenario = Scenario(
        seed=3,
        spot_symbols=[s.replace("/", "") for s in SYMBOLS],
        linear_symbols=[],
        balances={"USDT": 100.0, "BTC": 0.1, "ETH": 1.0, "SOL": 5.0},
        positions=0,
        open_orders=0,
        closed_orders=0,
        trades=0,
        history_days=days + 1,
    )
    with BinanceSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        now = sim.state.now_ms()
        for i, symbol in enumerate(SYMBOLS):
            for k in range(3):  # a handful of trades, years apart
                sim.state.add_trades(1, symbol=symbol, ts=now - (100 + 300 * k + 40 * i) * DAY_MS)
        config, db = _config(workdir, sim.url, symbols=list(SYMBOLS), trades_since=SINCE)
        seconds, result = timed(lambda: Synchronizer(config).sync())
        assert result.ok, result.units
        history = sum(sim.counts[path] for path in HISTORY)
        stored = sqlite3.connect(db).execute("SELECT count(*) FROM trades").fetchone()[0]
        assert stored == 9, stored
    # What the same pass costs walking one 24 h window per symbol, kind and day.
    windows = len(SYMBOLS) * len(HISTORY) * days
    return [
        (
            f"first pass from {SINCE}, 3 quiet symbols",
            f"{seconds:.2f} s, {history} history requests, {sum(sim.counts.values())} in all",
            f"24 h windows: {windows} requests",
        ),
        ("24 h windows / id pages", f"{ratio(windows, history):.0f}x", "target >= 100x"),
    ]


def same_millisecond(workdir: Path, quick: bool) -> list[Row]:
    """1,500 fills of one taker order in one millisecond, spot and USD-M."""
    scenario = Scenario(
        seed=3,
        spot_symbols=["BTCUSDT"],
        linear_symbols=["BTCUSDT"],
        positions=0,
        open_orders=0,
        closed_orders=0,
        trades=0,
        history_days=5,
    )
    with BinanceSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        at = sim.state.now_ms() - DAY_MS
        sim.state.add_fills("BTC/USDT", 1_500, ts=at)
        sim.state.add_fills("BTCUSDT", 1_500, ts=at, category="linear")
        symbols = ["BTC/USDT", "BTC/USDT:USDT"]
        config, db = _config(
            workdir, sim.url, symbols=symbols, types=["trades"], market_types=["spot", "linear"]
        )
        assert Synchronizer(config).sync().ok
        stored = sqlite3.connect(db).execute("SELECT count(*) FROM trades").fetchone()[0]
    return [("1,500 fills in one millisecond (x2)", f"{stored} of 3000 stored", "target 3000")]


def _config(workdir: Path, url: str, **settings: Any) -> tuple[Any, Path]:
    os.environ["BENCH_KEY"], os.environ["BENCH_SECRET"] = KEY, SECRET
    entry = {
        "ccxt_id": "binance",
        "api_url": url,
        "api_key_env": "BENCH_KEY",
        "secret_env": "BENCH_SECRET",
        "trades_since": "3d",
        "types": ["trades", "orders"],
        "market_types": ["spot"],
        **settings,
    }
    stamp = time.monotonic_ns()
    db = workdir / f"binance-{stamp}.db"
    path = workdir / f"binance-{stamp}.yaml"
    path.write_text(yaml.safe_dump({"database": str(db), "exchanges": {"binance": entry}}), "utf-8")
    return load_config(path), db
