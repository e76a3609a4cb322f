"""History figures: what a killed backfill keeps and what resuming it costs, and the request
cost of the daily deeper re-read. Requests are counted by the simulator."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import yaml

from benchmarks.harness import EXSYNC, KEY, SECRET, ratio
from exsync.simulator import BybitSimulator, Scenario

Row = tuple[str, str, str]
PATH = "/v5/execution/list"


def _config(workdir: Path, sim: BybitSimulator, db: Path, **settings: object) -> Path:
    entry = {
        "ccxt_id": "bybit",
        "api_url": sim.url,
        "api_key_env": "BENCH_KEY",
        "secret_env": "BENCH_SECRET",
        "types": ["trades"],
        **settings,
    }
    path = workdir / f"{db.stem}.yaml"
    path.write_text(yaml.safe_dump({"database": str(db), "exchanges": {"bybit": entry}}))
    return path


def _sync(config: Path) -> subprocess.Popen[bytes]:
    env = {"BENCH_KEY": KEY, "BENCH_SECRET": SECRET, "PATH": "/usr/bin:/bin"}
    return subprocess.Popen(
        [EXSYNC, "sync", "-c", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM trades").fetchone()[0]


def kill_and_resume(workdir: Path, quick: bool) -> list[Row]:
    """A first backfill killed (SIGKILL) at 60% of its requests, then resumed."""
    trades = 5_000 if quick else 20_000
    scenario = Scenario(seed=21, trades=trades, history_days=60, closed_orders=10)
    with BybitSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        # The quick run is slower per response so that it outlasts the 2 s commit cadence.
        sim.latency = 0.08 if quick else 0.03
        full_db = workdir / "full.db"
        started = time.perf_counter()
        assert _sync(_config(workdir, sim, full_db, trades_since="61d")).wait() == 0
        full_seconds = time.perf_counter() - started
        full = sim.counts[PATH]

        db = workdir / "killed.db"
        config = _config(workdir, sim, db, trades_since="61d")
        sim.reset_counts()
        victim = _sync(config)
        while sim.counts[PATH] < full * 0.6 and victim.poll() is None:
            time.sleep(0.01)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        kept = _count(db)
        sim.reset_counts()
        assert _sync(config).wait() == 0
        resumed = sim.counts[PATH]
        complete = _count(db) == trades
    return [
        ("first backfill", f"{full} requests, {full_seconds:.1f} s", f"{trades:,} trades"),
        (
            "killed at 60% of its requests",
            f"{kept:,} rows kept ({100 * kept / trades:.0f}%)",
            "commits each finished window and every 2 s",
        ),
        (
            "resumed pass",
            f"{resumed} requests ({ratio(resumed, full):.2f}x of a full pass)",
            "complete" if complete else "INCOMPLETE",
        ),
    ]


def deeper_reread(workdir: Path, quick: bool) -> list[Row]:
    """Requests of an incremental pass against one that re-reads the last day."""
    trades = 3_000 if quick else 20_000
    scenario = Scenario(seed=22, trades=trades, history_days=30, closed_orders=10)
    rows: list[Row] = []
    with BybitSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        db = workdir / "reread.db"
        config = _config(workdir, sim, db, trades_since="31d")
        assert _sync(config).wait() == 0
        sim.reset_counts()
        assert _sync(config).wait() == 0
        incremental = sim.counts[PATH]
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE cursors SET reread_at = reread_at - 86400000 - 1")
        sim.reset_counts()
        assert _sync(config).wait() == 0
        deep = sim.counts[PATH]
    per_day = trades // 30
    rows.append(("incremental pass", f"{incremental} execution/list requests", ""))
    rows.append(
        (
            "pass with the daily re-read",
            f"{deep} execution/list requests (+{deep - incremental})",
            f"about {per_day:,} executions a day over 2 categories, 100 a page",
        )
    )
    return rows


FIGURES = {"resume": kill_and_resume, "reread": deeper_reread}
