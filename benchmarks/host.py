"""Figures of exsync's own side: event-loop stalls, memory over many passes, the start check."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from benchmarks.harness import EXSYNC, KEY, SECRET, fleet, timed
from exsync.orchestrator import Synchronizer
from exsync.store import Store

Row = tuple[str, str, str]


def loop_stall(workdir: Path, quick: bool) -> list[Row]:
    """The longest the event loop goes without running, during a backfill of two accounts,
    and while another process holds the database's write lock for 2 s."""
    size = 20_000 if quick else 100_000
    rows: list[Row] = []
    for contended in (False, True):
        scenario = {"trades": size, "history_days": 30, "closed_orders": 10}
        settings = {"rate_limit_ms": 0.001, "types": ["trades", "balances"]}
        with fleet(2, 2, workdir, scenario=scenario, settings=settings) as f:
            config = f.config()
            hold = threading.Thread(target=_hold_write_lock, args=(f.db_path, 2.0))
            if contended:
                hold.start()
            worst, ticks, seconds = asyncio.run(_measure(Synchronizer(config)))
            if contended:
                hold.join()
        what = "held by another process 2 s" if contended else "uncontended"
        rows.append(
            (
                f"worst stall, backfill of 2 x {size:,} trades, write lock {what}",
                f"{worst * 1000:.0f} ms",
                f"{ticks} ticks of 10 ms in {seconds:.1f} s",
            )
        )
    return rows


async def _measure(synchronizer: Synchronizer) -> tuple[float, int, float]:
    worst = 0.0
    ticks = 0

    async def heartbeat() -> None:
        nonlocal worst, ticks
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            worst = max(worst, now - last - 0.01)
            last = now
            ticks += 1

    beat = asyncio.create_task(heartbeat())
    started = time.monotonic()
    result = await synchronizer.sync_async()
    seconds = time.monotonic() - started
    beat.cancel()
    assert result.ok, [u for u in result.units if u.status != "ok"]
    return worst, ticks, seconds


def _hold_write_lock(db: Path, seconds: float) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if sqlite3.connect(db).execute("SELECT count(*) FROM locks").fetchone()[0]:
                break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.01)
    holder = sqlite3.connect(db, isolation_level=None, timeout=60)
    holder.execute("BEGIN IMMEDIATE")
    time.sleep(seconds)
    holder.execute("COMMIT")
    holder.close()


def run_memory(workdir: Path, quick: bool) -> list[Row]:
    """RSS of one `exsync run --every 0.01s` process after 10 passes and after many, the
    simulator in a process of its own."""
    passes = 40 if quick else 1_000
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    simulator = [sys.executable, "-m", "exsync.simulator", "--port", str(port)]
    sim = subprocess.Popen(
        [*simulator, "--api-key", KEY, "--secret", SECRET, "--trades", "50", "--history-days", "5"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = workdir / f"run-{time.monotonic_ns()}.db"
    config = workdir / f"run-{time.monotonic_ns()}.yaml"
    entry = {
        "ccxt_id": "bybit",
        "api_url": f"http://127.0.0.1:{port}",
        "api_key_env": "BENCH_KEY",
        "secret_env": "BENCH_SECRET",
        "symbols": ["BTC/USDT", "BTC/USDT:USDT"],
        "trades_since": "6d",
        "ohlcv_since": "3h",
    }
    config.write_text(yaml.safe_dump({"database": str(db), "exchanges": {"bybit": entry}}))
    env = {**os.environ, "BENCH_KEY": KEY, "BENCH_SECRET": SECRET}
    _wait_for_port(port)
    proc = subprocess.Popen(
        [EXSYNC, "-v", "--log-format", "text", "run", "--every", "0.01s", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    marks: dict[int, float] = {}
    done = 0
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if re.search(r"pass \S+ finished in", line):
                done += 1
                if done in (10, passes // 4, passes // 2, passes):
                    marks[done] = _rss_mib(proc.pid)
                if done >= passes:
                    break
    finally:
        proc.terminate()
        proc.wait()
        sim.terminate()
        sim.wait()
    half = passes // 2
    growth = (marks[passes] - marks[half]) * 1024 / (passes - half)
    cycles = 60 if quick else 1_000
    rows = [(f"RSS after {n:,} passes", f"{mib:.1f} MiB", "") for n, mib in sorted(marks.items())]
    since = f"growth per pass, pass {half:,} to the last"
    rows.append((since, f"{growth:.1f} KiB", "target: flat"))
    for shared in (False, True):
        first, last = _tls_cycles(cycles, shared)
        how = "one TLS context per process" if shared else "a TLS context per client (ccxt)"
        rows.append(
            (
                f"{cycles:,} clients opened over HTTPS, {how}",
                f"{first:.1f} -> {last:.1f} MiB",
                f"{(last - first) * 1024 / (cycles - 10):.1f} KiB per client",
            )
        )
    return rows


# A pass against a real exchange opens its client over HTTPS (the simulator speaks HTTP):
# this opens and closes clients as passes do, without a request, and reads the RSS.
_TLS_CYCLES = """
import asyncio, gc, sys
from exsync.config import parse_config
from exsync.credentials import resolve
from exsync.factory import create_client
from exsync.profiles import market_types_for, profile_for
cycles, shared = int(sys.argv[1]), sys.argv[2] == "shared"
config = parse_config({"exchanges": {"bybit": {"types": ["balances"]}}})
exchange = config.exchange("bybit")
def rss():
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) / 1024 for l in status if l.startswith("VmRSS"))
async def one():
    client = create_client(exchange, resolve(exchange, config.source), profile_for("bybit"),
                           market_types_for(exchange))
    if not shared:
        client.ssl_context = None  # ccxt builds its own on open
    client.open()
    await client.close()
marks = []
for n in range(1, cycles + 1):
    asyncio.run(one())
    if n in (10, cycles):
        gc.collect()
        marks.append(rss())
print(*marks)
"""


def _tls_cycles(cycles: int, shared: bool) -> tuple[float, float]:
    done = subprocess.run(
        [sys.executable, "-c", _TLS_CYCLES, str(cycles), "shared" if shared else "own"],
        capture_output=True,
        text=True,
        check=True,
    )
    first, last = (float(x) for x in done.stdout.split())
    return first, last


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("the simulator did not start")


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


def start_check(workdir: Path, quick: bool) -> list[Row]:
    """`PRAGMA quick_check` at the start of a pass, on a year of one-minute passes."""
    from benchmarks.figures import _history_db

    days = 30 if quick else 365
    db = _history_db(workdir / f"check-{days}d.db", passes=days * 24 * 60)
    size = db.stat().st_size / 1e6
    Store(db).close()  # upgraded once, as the first pass of a new exsync would
    plain = min(timed(lambda: Store(db).close())[0] for _ in range(3))
    checked = min(timed(lambda: Store(db, check=True).close())[0] for _ in range(3))
    span = "a month" if quick else "a year"
    return [
        (f"open for a pass, {span} of history ({size:.0f} MB)", f"{plain * 1000:.0f} ms", ""),
        ("the same with PRAGMA quick_check", f"{checked * 1000:.0f} ms", ""),
        ("quick_check's cost", f"{(checked - plain) * 1000:.0f} ms", "once per process"),
    ]
