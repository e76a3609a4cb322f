"""Shared pieces: simulated exchanges, configs, timing and process measurements."""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import yaml

from benchmarks.remote import RemoteSimulator
from exsync.config import Config, load_config
from exsync.simulator import BybitSimulator, Scenario

KEY, SECRET = "bench-key", "bench-secret"
EXSYNC = str(Path(sys.executable).parent / "exsync")


def symbols(count: int) -> tuple[list[str], list[str]]:
    """`count` symbols, half spot and half linear, as Bybit ids and as ccxt symbols."""
    coins = ["BTC", "ETH", "SOL"] + [f"C{i:02d}" for i in range(max(0, count // 2 - 3))]
    coins = coins[: max(1, count // 2)]
    ids = [f"{c}USDT" for c in coins]
    unified = [f"{c}/USDT" for c in coins] + [f"{c}/USDT:USDT" for c in coins]
    return ids, unified


@dataclass
class Fleet:
    """Running simulators and a config that names one exchange account per simulator."""

    sims: list[Any]  # BybitSimulator, or RemoteSimulator
    config_path: Path
    db_path: Path

    def config(self) -> Config:
        return load_config(self.config_path)

    def requests(self) -> int:
        return sum(sum(s.counts.values()) for s in self.sims)

    def reset_counts(self) -> None:
        for sim in self.sims:
            sim.reset_counts()


@contextmanager
def fleet(
    exchanges: int,
    symbol_count: int,
    workdir: Path,
    latency: float = 0.0,
    scenario: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    accounts_per_sim: int = 1,
    remote: bool = False,
) -> Iterator[Fleet]:
    """Start simulators for `exchanges` accounts (several accounts may share one simulator);
    `remote`: each in a process of its own (benchmarks/remote.py)."""
    ids, unified = symbols(symbol_count)
    os.environ["BENCH_KEY"], os.environ["BENCH_SECRET"] = KEY, SECRET
    with ExitStack() as stack:
        sims = []
        for n in range(-(-exchanges // accounts_per_sim)):
            options = {"seed": n + 1, "spot_symbols": ids, "linear_symbols": ids}
            described = Scenario(**(options | (scenario or {})))
            if remote:
                far = RemoteSimulator(
                    "bybit", described, api_key=KEY, secret=SECRET, latency=latency
                )
                sims.append(stack.enter_context(far))
                continue
            sim = BybitSimulator(described, api_key=KEY, secret=SECRET)
            stack.enter_context(sim)
            sim.latency = latency
            sims.append(sim)
        entries = {}
        for n in range(exchanges):
            entries[f"bybit-{n:02d}"] = {
                "ccxt_id": "bybit",
                "api_url": sims[n // accounts_per_sim].url,
                "api_key_env": "BENCH_KEY",
                "secret_env": "BENCH_SECRET",
                "symbols": unified,
                "trades_since": "35d",
                "ohlcv_since": "2d",
                **(settings or {}),
            }
        db = workdir / f"bench-{exchanges}x{symbol_count}-{time.monotonic_ns()}.db"
        path = workdir / f"config-{time.monotonic_ns()}.yaml"
        path.write_text(yaml.safe_dump({"database": str(db), "exchanges": entries}), "utf-8")
        yield Fleet(sims, path, db)


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of one call, and its result."""
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def median_time(command: list[str], runs: int = 7, env: dict[str, str] | None = None) -> float:
    """Median wall time of a whole process over several runs (the first run warms caches)."""
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, env=env, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


# Run the command from a small interpreter: a child forked from this (large) benchmark
# process would report this process's memory as its own peak until it execs.
_LAUNCHER = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


def run_measured(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int, int]:
    """Run a process; return wall seconds, exit code and its peak RSS in MiB."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, *command],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    seconds = time.perf_counter() - started
    peak_kib, code = (int(x) for x in done.stdout.split())
    return seconds, code, peak_kib // 1024  # ru_maxrss is KiB on Linux


def workdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="exsync-bench-")


def ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


#: query parameters that tell one walk's chain of pages from another's
_CHAIN_KEYS = ("symbol", "category", "settleCoin", "startTime", "coin", "currency", "type")


def longest_chain(requests: list[tuple[str, str, str]]) -> int:
    """The most requests that must follow one another: the pages of one walk (one path,
    symbol, category and window start), each asking from where the page before ended."""
    chains: Counter[tuple[Any, ...]] = Counter()
    for _, path, query in requests:
        params = parse_qs(query)
        chains[(path, *(tuple(params.get(k, ())) for k in _CHAIN_KEYS))] += 1
    return max(chains.values(), default=0)


def documented_floor(profile: Any, counts: dict[str, int], latency: float, chain: int = 1) -> float:
    """The least time the exchange's documented limits allow for these requests (path ->
    count, one account on one IP): the busiest limit's plus one response, or `chain`
    responses one after another (`longest_chain`), whichever is longer.

    A limit lets `count` requests (or weight) through in any `seconds`: the first `count` at
    once, the next ones a window later, and so on. A limit kept per endpoint counts each of
    its paths on its own.
    """
    busiest = 0.0
    for limit in profile.limits:
        load: dict[str, float] = {}
        for path, n in counts.items():
            if limit.counts(path):
                key = path if limit.each_path else ""
                weight = profile.weights.get(path, 1) if limit.weighted else 1
                load[key] = load.get(key, 0.0) + n * weight
        for total in load.values():
            busiest = max(busiest, (math.ceil(total / limit.count) - 1) * limit.seconds)
    return max(busiest + latency, chain * latency)
