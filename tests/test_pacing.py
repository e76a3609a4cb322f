"""Requests are paced to the limits the exchanges document: per account and endpoint, and one
per-IP budget shared by every account and process on the host."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from filelock import FileLock

from exsync.pacing import Pacer
from exsync.profiles import BYBIT
from exsync.simulator import BybitSimulator, Scenario
from tests.conftest import KEY, SECRET, exchange_entry, rows, start, write_config

IP_LIMIT, IP_WINDOW = 600, 5.0  # Bybit: 600 requests per 5 s per IP


@pytest.fixture
def busy() -> BybitSimulator:
    # Enough history that six accounts backfilling at once could send well over the limit.
    scenario = Scenario(seed=31, trades=12_000, history_days=40, closed_orders=30)
    with BybitSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        sim.enforce_rate_limits = True  # per account and endpoint: retCode 10006 above 50/s
        yield sim


def test_one_ip_budget_holds_across_accounts_and_processes(busy, tmp_path: Path):
    db = tmp_path / "x.db"
    configs = []
    for process in range(3):
        accounts = {}
        for n in range(2):
            key = f"key-{process}-{n}"
            busy.state.add_api_key(key, SECRET)
            accounts[f"acct-{process}-{n}"] = exchange_entry(
                busy.url,
                types=["trades", "orders"],
                symbols=[],
                trades_since="41d",
                api_key_env=f"KEY_{process}_{n}",
                # an endpoint's 50 a second is paced as requests leave and counted as they
                # arrive: a loaded machine bunches arrivals, and the 10006 that follows is
                # retried after the reset the exchange names (two tries were too few)
                max_tries=5,
                max_time="30s",
            )
        configs.append(write_config(tmp_path / f"c{process}.yaml", db, accounts))
    env = {f"KEY_{p}_{n}": f"key-{p}-{n}" for p in range(3) for n in range(2)}
    procs = [start("sync", "-c", str(c), env=env) for c in configs]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert all(code == 0 for code, _ in results), results
    requests = sum(busy.counts.values())
    assert requests > 1.3 * IP_LIMIT  # six accounts unpaced by IP would go well over it
    peak = busy.peak_rate(IP_WINDOW)
    assert peak <= IP_LIMIT, f"{peak} requests within {IP_WINDOW} s"
    # every unit of every account completed (an occasional 10006 under a loaded machine's
    # scheduling jitter is retried, never a failure)
    assert rows(db, "SELECT count(*) FROM sync_runs WHERE status != 'ok'") == [(0,)]


def test_a_busy_ip_budget_holds_a_request_back_only_while_it_is_busy(tmp_path: Path) -> None:
    """The shared budget's file lock, held elsewhere for 5 ms, delays a request by about
    that, not by filelock's 50 ms between attempts (a stall of the whole event loop)."""
    shared = tmp_path / "ip.db"
    pacer = Pacer(BYBIT.limits, "acct", shared)
    base, path = "http://127.0.0.1:9/", "/v5/account/wallet-balance"

    async def waits() -> list[float]:
        await pacer.wait(base, path)  # opens the bucket and its file
        held, took = threading.Event(), []
        for _ in range(5):
            other = FileLock(f"{shared}.lock")  # as another process holds it

            def hold(lock: FileLock = other) -> None:
                with lock:
                    held.set()
                    time.sleep(0.005)

            thread = threading.Thread(target=hold)
            thread.start()
            held.wait()
            started = time.perf_counter()
            await pacer.wait(base, path)
            took.append(time.perf_counter() - started)
            thread.join()
            held.clear()
        return took

    try:
        took = asyncio.run(waits())
    finally:
        pacer.close()
    # 5 ms held: filelock's default would make each wait at least 50 ms
    assert min(took) < 0.04, took


def test_a_pass_paces_without_a_thread_per_bucket_and_leaves_the_budget_trimmed(
    tmp_path: Path,
) -> None:
    """Each bucket (an account's endpoint, the host's IP budget) is paced on the event loop:
    no clean-up thread per bucket (dozens a pass). What the shared budget no longer needs
    is dropped when the pass closes its pacer."""
    import sqlite3

    shared = tmp_path / "ip.db"
    pacer = Pacer(BYBIT.limits, "acct", shared)
    base = "http://127.0.0.1:9/"
    paths = ["/v5/execution/list", "/v5/order/history", "/v5/order/realtime"]
    paths += ["/v5/position/list", "/v5/account/wallet-balance", "/v5/market/tickers"]
    before = threading.active_count()

    async def requests() -> int:
        for path in paths:
            await pacer.wait(base, path)
        return threading.active_count()

    during = asyncio.run(requests())
    opened = len(pacer._limiters)
    with sqlite3.connect(shared) as conn:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        # as if the pass's requests were long past the budget's window
        for table in tables:
            conn.execute(f"UPDATE '{table}' SET item_timestamp = item_timestamp - 3600000")
    pacer.close()
    with sqlite3.connect(shared) as conn:
        left = sum(conn.execute(f"SELECT count(*) FROM '{t}'").fetchone()[0] for t in tables)
    assert opened >= 4 and during == before, (opened, before, during)
    assert tables and left == 0, (tables, left)
