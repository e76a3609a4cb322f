"""The figures of docs/performance.md, one function each. Each returns printable rows."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TypeVar

from benchmarks import history_by_id, host
from benchmarks.binance_warm import FIGURES as BINANCE_WARM_FIGURES
from benchmarks.harness import (
    EXSYNC,
    KEY,
    SECRET,
    documented_floor,
    fleet,
    longest_chain,
    median_time,
    ratio,
    run_measured,
    symbols,
    timed,
)
from benchmarks.history import FIGURES as HISTORY_FIGURES
from benchmarks.naive_sync import naive_pass
from benchmarks.pacing import FIGURES as PACING_FIGURES
from benchmarks.postgres import FIGURES as POSTGRES_FIGURES
from benchmarks.postgres import NO_SERVER, executions, scratch_database, through_store
from benchmarks.postgres import PASSWORD as POSTGRES_PASSWORD
from benchmarks.postgres import SERVER as POSTGRES_SERVER
from benchmarks.scale import FIGURES as SCALE_FIGURES
from exsync.orchestrator import Synchronizer
from exsync.profiles import BYBIT
from exsync.store import Store
from exsync.store.schema import TABLES_BY_NAME

Row = tuple[str, str, str]  # figure, value, target / remark
#: Bybit's per-IP window: 600 requests per 5 s
BYBIT_IP_WINDOW = 5.0
_Where = TypeVar("_Where", Path, str)  # an SQLite file or a PostgreSQL URL


def pass_latency(workdir: Path, quick: bool) -> list[Row]:
    """3 exchanges x 20 symbols, every data type, 50 ms per response, each exchange in a
    process of its own."""
    rows: list[Row] = []
    with fleet(3, 20, workdir, latency=0.05, remote=True) as f:
        config = f.config()
        cold, result = timed(lambda: Synchronizer(config).sync())
        assert result.ok, result.units
        cold_requests = f.requests()
        f.reset_counts()
        cpu = time.process_time()
        warm, result = timed(lambda: Synchronizer(config).sync())
        cpu = time.process_time() - cpu
        assert result.ok, result.units
        per_sim = [Counter(s.counts) for s in f.sims]
        chains = [longest_chain(list(s.requests)) for s in f.sims]
        f.reset_counts()
        _, unified = symbols(20)
        naive, _ = timed(
            lambda: asyncio.run(naive_pass([s.url for s in f.sims], unified, KEY, SECRET))
        )
        bound = max(
            documented_floor(BYBIT, counts, 0.05, chain)
            for counts, chain in zip(per_sim, chains, strict=True)
        )
    rows.append(("pass, first (backfill)", f"{cold:.2f} s, {cold_requests} requests", ""))
    rows.append(
        (
            "pass, warm",
            f"{warm:.2f} s, {sum(sum(c.values()) for c in per_sim)} requests",
            f"{cpu:.2f} s CPU in this process",
        )
    )
    rows.append(("naive sequential script", f"{naive:.2f} s", "same fetches, one by one"))
    rows.append(
        (
            "lower bound (busiest exchange)",
            f"{bound:.2f} s",
            "its requests under Bybit's documented limits, or its longest chain of pages",
        )
    )
    rows.append(("naive / exsync", f"{ratio(naive, warm):.1f}x", "target >= 5x"))
    rows.append(("exsync / lower bound", f"{ratio(warm, bound):.2f}x", "target <= 1.3x"))
    return rows


# The same exsync with the whole of ccxt imported and a full interpreter teardown: how a
# warm process ran before exsync imported one exchange class at a time.
_WHOLE_CCXT = (
    "import sys, ccxt.async_support; from exsync.cli import app; "
    "sys.exit(app(sys.argv[1:], prog_name='exsync', standalone_mode=False))"
)


def warm_invocation(workdir: Path, quick: bool) -> list[Row]:
    """A whole `exsync sync` process, cold then warm, against one exchange; then warm ones
    side by side with the same pass importing all of ccxt."""
    with fleet(1, 4, workdir) as f:
        env = {**os.environ, "BENCH_KEY": KEY, "BENCH_SECRET": SECRET}
        args = ["sync", "-c", str(f.config_path)]
        command = [EXSYNC, *args]
        cold, code, _ = run_measured(command, env)
        assert code == 0
        cold_requests = f.requests()
        instruments_cold = sum(s.counts["/v5/market/instruments-info"] for s in f.sims)
        f.reset_counts()
        warm, code, _ = run_measured(command, env)
        assert code == 0
        warm_requests = f.requests()
        instruments_warm = sum(s.counts["/v5/market/instruments-info"] for s in f.sims)
        pairs = []
        for _ in range(3 if quick else 9):
            light = run_measured(command, env)
            whole = run_measured([sys.executable, "-c", _WHOLE_CCXT, *args], env)
            assert light[1] == 0 and whole[1] == 0
            pairs.append((light, whole))
    wall = statistics.median(light[0] / whole[0] for light, whole in pairs)
    memory = statistics.median(light[2] / whole[2] for light, whole in pairs)
    light_wall = statistics.median(light[0] for light, _ in pairs)
    whole_wall = statistics.median(whole[0] for _, whole in pairs)
    return [
        (
            "process, cold",
            f"{cold:.2f} s, {cold_requests} requests",
            f"{instruments_cold} instrument pages",
        ),
        (
            "process, warm",
            f"{warm:.2f} s, {warm_requests} requests",
            f"{instruments_warm} instrument pages",
        ),
        (
            "requests warm / cold",
            f"{ratio(warm_requests, cold_requests):.2f}",
            "21 + N = 25 is the minimum",
        ),
        (
            "warm process / with all of ccxt",
            f"wall {wall:.2f}x ({light_wall:.2f} s vs {whole_wall:.2f} s), memory {memory:.2f}x",
            "target <= 0.6x each",
        ),
    ]


# exsync with Bybit's documented limits lifted: the ingest figures measure exsync's own
# pipeline (ccxt, parsing, the store), not the exchange's pacing.
_UNPACED = (
    "import dataclasses, sys; from exsync import profiles; "
    "profiles.PROFILES['bybit'] = dataclasses.replace(profiles.BYBIT, limits=()); "
    "from exsync.cli import main; sys.argv[0] = 'exsync'; main()"
)


def ingest_and_memory(workdir: Path, quick: bool) -> list[Row]:
    """A first backfill of many own trades through the simulator; rows/s and peak RSS."""
    rows: list[Row] = []
    sizes = (25_000, 100_000) if quick else (250_000, 1_000_000)
    peaks, rates = [], []
    for size in sizes:
        scenario = {"trades": size, "history_days": 30, "closed_orders": 10}
        with fleet(1, 2, workdir, scenario=scenario, settings={"rate_limit_ms": 0.001}) as f:
            env = {**os.environ, "BENCH_KEY": KEY, "BENCH_SECRET": SECRET}
            args = ["sync", "-c", str(f.config_path), "--type", "trades"]
            command = [sys.executable, "-c", _UNPACED, *args]
            seconds, code, peak = run_measured(command, env)
            assert code == 0
            stored = sqlite3.connect(f.db_path).execute("SELECT count(*) FROM trades").fetchone()[0]
            assert stored == size, (stored, size)
            pages = f.sims[0].counts["/v5/execution/list"]
        peaks.append(peak)
        rates.append(size / seconds)
        rows.append(
            (
                f"backfill {size:,} trades",
                f"{size / seconds:,.0f} rows/s, {seconds:.1f} s",
                f"{pages} pages",
            )
        )
        rows.append((f"peak RSS, {size:,} trades", f"{peak} MiB", "target < 200 MiB"))
    rows.append(("rate x4 trades", f"{ratio(rates[1], rates[0]):.2f}x", "flat: nothing grows"))
    rows.append(
        ("RSS growth x4 trades", f"{ratio(peaks[1], peaks[0]):.2f}x", "flat: pages are not held")
    )
    rows.extend(_store_versus_raw(workdir, 200_000 if quick else 1_000_000))
    return rows


def _store_versus_raw(workdir: Path, size: int, rounds: int = 3) -> list[Row]:
    """The store's upsert path against raw sqlite3 executemany into the same schema, rows
    shaped as real Bybit executions (19-digit ids, half a kilobyte of raw JSON). Each round
    writes a new database with each, in turn; the medians are compared."""
    data = executions(size)
    batch = 20_000
    columns = list(data[0])
    key = TABLES_BY_NAME["trades"].pk
    sql = (
        f"INSERT INTO trades ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    )
    # the driver's floor: its parameters ready-made, outside the timing
    values = [tuple(r[c] for c in columns) for r in data]

    def through(path: Path) -> float:
        store = Store(path)
        try:
            return timed(lambda: through_store(store, data, batch))[0]
        finally:
            store.close()

    def raw(path: Path) -> float:
        raw_store = Store(path)
        conn = raw_store.conn

        def write() -> None:
            for start in range(0, size, batch):
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(sql, values[start : start + batch])
                conn.execute("COMMIT")

        try:
            return timed(write)[0]
        finally:
            raw_store.close()

    store_s, raw_s = [], []
    for n in range(rounds):
        store_s.append(through(workdir / f"store-{n}-{time.monotonic_ns()}.db"))
        raw_s.append(raw(workdir / f"raw-{n}-{time.monotonic_ns()}.db"))
    store_m, raw_m = statistics.median(store_s), statistics.median(raw_s)
    return [
        (f"store upsert, {size:,} rows", f"{size / store_m:,.0f} rows/s", f"median of {rounds}"),
        (f"raw executemany, {size:,} rows", f"{size / raw_m:,.0f} rows/s", "in turn with it"),
        ("store / raw", f"{ratio(raw_m, store_m):.2f}x", "goal >= 0.8x"),
    ]


def startup(workdir: Path, quick: bool) -> list[Row]:
    """`--help` and `status` against the bare interpreter; status on a day vs a year of history."""
    env = {**os.environ}
    small = _history_db(workdir / "day.db", passes=24 * 60)
    big = _history_db(workdir / "year.db", passes=(30 if quick else 365) * 24 * 60)
    bare = median_time([sys.executable, "-c", "pass"])
    help_s = median_time([EXSYNC, "--help"], env=env)
    status_day = median_time([EXSYNC, "status", "--db", str(small)], env=env)
    status_year = median_time([EXSYNC, "status", "--db", str(big)], env=env)
    span = "a month" if quick else "a year"
    return [
        ("python -c pass", f"{bare * 1000:.0f} ms", ""),
        ("exsync --help", f"{help_s * 1000:.0f} ms", f"+{(help_s - bare) * 1000:.0f} ms"),
        ("exsync status, a day of history", f"{status_day * 1000:.0f} ms", ""),
        (
            f"exsync status, {span} of history",
            f"{status_year * 1000:.0f} ms",
            f"+{(status_year - bare) * 1000:.0f} ms over bare; target <= +300 ms",
        ),
        (
            "status: long / short history",
            f"{ratio(status_year, status_day):.2f}x",
            "flat: indexes and sync_state",
        ),
        *_startup_postgres(bare),
    ]


def _startup_postgres(bare: float) -> list[Row]:
    """`status` on PostgreSQL (a day of history): the same over the bare interpreter, with
    the connection to the server and psycopg's import."""
    if not POSTGRES_SERVER:
        return [("exsync status on PostgreSQL", *NO_SERVER[1:])]
    with scratch_database() as url:
        _history_db(url, passes=24 * 60, password=POSTGRES_PASSWORD)
        env = {**os.environ, "PGPASSWORD": POSTGRES_PASSWORD or ""}
        status = median_time([EXSYNC, "status", "--db", url], env=env)
    return [
        (
            "exsync status on PostgreSQL, a day of history",
            f"{status * 1000:.0f} ms",
            f"+{(status - bare) * 1000:.0f} ms over bare; target <= +300 ms",
        )
    ]


def _history_db(path: _Where, passes: int, password: str | None = None) -> _Where:
    """A database (a file, or a PostgreSQL URL) holding `passes` one-minute passes of 6 units
    and 4 balance snapshots each."""
    with Store(path, password=password) as store:
        conn = store.conn
        types = ("balances", "positions", "orders", "trades", "tickers", "ohlcv")
        start = time.time() - passes * 60
        conn.execute("BEGIN")
        for n in range(passes):
            moment = time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime(start + n * 60))
            run_id = f"run-{n}"
            conn.executemany(
                "INSERT INTO sync_runs (run_id, exchange, data_type, started_at, finished_at, "
                "status, records, attempts) VALUES (?, 'bybit', ?, ?, ?, 'ok', 3, 1)",
                [(run_id, t, moment, moment) for t in types],
            )
            conn.executemany(
                "INSERT INTO balance_snapshots (exchange, run_id, wallet, asset, free, used, "
                "total, taken_at) VALUES ('bybit', ?, 'unified', ?, '1', '0', '1', ?)",
                [(run_id, asset, moment) for asset in ("USDT", "BTC", "ETH", "SOL")],
            )
        for t in types:
            store.record_run(
                run_id="last",
                exchange="bybit",
                data_type=t,
                started_at=moment,
                finished_at=moment,
                status="ok",
                records=3,
                attempts=1,
                error=None,
            )
        conn.execute("COMMIT")
    return path


def growth(workdir: Path, quick: bool) -> list[Row]:
    """Warm pass time and database size as exchanges and symbols grow."""
    rows: list[Row] = []
    shapes = [(1, 10), (10, 10), (50, 10), (1, 100)] if not quick else [(1, 10), (5, 10), (1, 40)]
    base = None
    for exchanges, count in shapes:
        with fleet(exchanges, count, workdir, latency=0.02, accounts_per_sim=5) as f:
            config = f.config()
            result = Synchronizer(config).sync()
            assert result.ok, [u for u in result.units if u.status != "ok"]
            # Five accounts share each simulator's IP budget (600 requests per 5 s), which
            # the backfill has just spent: the warm pass is measured as a timer runs it, a
            # window later, or it would measure Bybit's IP limit.
            time.sleep(BYBIT_IP_WINDOW)
            f.reset_counts()
            seconds, result = timed(lambda config=config: Synchronizer(config).sync())
            assert result.ok
            requests = f.requests()
            size = f.db_path.stat().st_size / 1e6
        per_request = seconds / requests * 1000
        base = base or per_request
        rows.append(
            (
                f"{exchanges} exchange(s) x {count} symbols",
                f"{seconds:.2f} s, {requests} requests, {size:.1f} MB",
                f"{per_request:.1f} ms/request ({ratio(per_request, base):.2f}x of 1 x 10)",
            )
        )
    return rows


FIGURES = {
    "latency": pass_latency,
    "binance-first-pass": history_by_id.first_pass,
    "same-millisecond": history_by_id.same_millisecond,
    "warm": warm_invocation,
    "ingest": ingest_and_memory,
    "startup": startup,
    "growth": growth,
    "stall": host.loop_stall,
    "memory": host.run_memory,
    "check": host.start_check,
    **HISTORY_FIGURES,
    **BINANCE_WARM_FIGURES,
    **PACING_FIGURES,
    **POSTGRES_FIGURES,
    **SCALE_FIGURES,
}
