"""Backfills against the floor the exchanges' documented limits allow (exsync/profiles/):
how close exsync runs to what Bybit and Binance publish, not to its own pacing."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import yaml

from benchmarks.harness import KEY, SECRET, documented_floor, longest_chain, ratio
from benchmarks.remote import RemoteSimulator
from exsync.config import load_config
from exsync.orchestrator import Synchronizer
from exsync.profiles import BINANCE, BYBIT
from exsync.simulator import Scenario

Row = tuple[str, str, str]
LATENCY = 0.05


def _backfill(workdir: Path, name: str, profile: object, days: int, quick: bool) -> Row:
    scenario = Scenario(
        seed=41,
        trades=4_000 if quick else 20_000,
        history_days=days,
        closed_orders=400 if quick else 2_000,
        spot_symbols=["BTCUSDT", "ETHUSDT"],
        linear_symbols=["BTCUSDT", "ETHUSDT"],
    )
    # The exchange in a process of its own: its work is not exsync's (benchmarks/remote.py).
    with RemoteSimulator(name, scenario, api_key=KEY, secret=SECRET, latency=LATENCY) as sim:
        entry = {
            "ccxt_id": name,
            "api_url": sim.url,
            "api_key_env": "BENCH_KEY",
            "secret_env": "BENCH_SECRET",
            "types": ["trades", "orders"],
            "symbols": ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT"],
            "trades_since": f"{days - 1}d",
        }
        path = workdir / f"backfill-{name}.yaml"
        db = workdir / f"backfill-{name}-{time.monotonic_ns()}.db"
        path.write_text(yaml.safe_dump({"database": str(db), "exchanges": {name: entry}}))
        config = load_config(path)
        assert Synchronizer(config).sync(types=["balances"]).ok  # markets cached, not timed
        sim.reset_counts()
        started, cpu = time.perf_counter(), time.process_time()
        result = Synchronizer(config).sync(types=["trades", "orders"])
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        assert result.ok, result.units
        counts = Counter(sim.counts)
        chain = longest_chain(list(sim.requests))
    floor = documented_floor(profile, counts, LATENCY, chain)
    requests = sum(counts.values())
    return (
        f"{name}: trades + orders backfill, {days} days",
        f"{seconds:.2f} s, {requests} requests, {cpu:.2f} s CPU",
        f"floor {floor:.2f} s: {ratio(seconds, floor):.2f}x (target <= 1.3x)",
    )


def backfill_floor(workdir: Path, quick: bool) -> list[Row]:
    """A first backfill of own trades and order history on each exchange, 50 ms per
    response, against the least time the exchange's documented limits allow."""
    os.environ["BENCH_KEY"], os.environ["BENCH_SECRET"] = KEY, SECRET
    return [
        _backfill(workdir, "bybit", BYBIT, 60 if quick else 720, quick),
        _backfill(workdir, "binance", BINANCE, 10 if quick else 60, quick),
    ]


FIGURES = {"floor": backfill_floor}
