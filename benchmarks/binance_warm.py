"""What a warm Binance pass costs: requests and request weight per rate-limit pool."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qsl

import yaml

from benchmarks.harness import KEY, SECRET
from exsync.config import load_config
from exsync.orchestrator import Synchronizer
from exsync.simulator import BinanceSimulator, Scenario
from exsync.simulator.binance.endpoints import ROUTES
from exsync.simulator.binance.wire import Params

SYMBOLS = ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT"]

Row = tuple[str, str, str]


def warm_pass(workdir: Path, quick: bool) -> list[Row]:
    """A pass right after a first one, every data type, four symbols, spot and USD-M."""
    with BinanceSimulator(Scenario(seed=9), api_key=KEY, secret=SECRET) as sim:
        data = {
            "database": str(workdir / "binance-warm.db"),
            "exchanges": {
                "binance": {
                    "ccxt_id": "binance",
                    "api_url": sim.url,
                    "api_key_env": "BENCH_KEY",
                    "secret_env": "BENCH_SECRET",
                    "symbols": SYMBOLS,
                    "trades_since": "40d",
                    "ohlcv_since": "2d",
                }
            },
        }
        path = workdir / "binance-warm.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        os.environ.update(BENCH_KEY=KEY, BENCH_SECRET=SECRET)
        config = load_config(path)
        result = Synchronizer(config).sync()
        assert result.ok, result.units
        sim.reset_counts()
        result = Synchronizer(config).sync()
        assert result.ok, result.units
        weights: Counter[str] = Counter()
        for _, request_path, query in sim.requests:
            route = ROUTES.get(request_path)
            if route is not None:
                weights[route.pool] += route.weight_of(Params(parse_qsl(query)))
        kinds = sorted({u.data_type for u in result.units if u.status == "ok"})
        requests = sum(sim.counts.values())
    pools = ", ".join(f"{pool} {weight:,}" for pool, weight in sorted(weights.items()))
    return [
        ("warm pass, requests", f"{requests}", f"types synced: {', '.join(kinds)}"),
        ("warm pass, weight", pools, "per rate-limit pool"),
    ]


FIGURES = {"binance-warm": warm_pass}
