"""A first backfill that is killed or interrupted keeps what it read, and the next pass
resumes from there: completed windows commit every few seconds, rows and cursor together."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from pathlib import Path

import pytest

from exsync.orchestrator import PassResult
from exsync.simulator import BybitSimulator, Scenario
from tests.conftest import KEY, SECRET, exchange_entry, rows, run, start, write_config

PATH = "/v5/execution/list"


@pytest.fixture
def big() -> BybitSimulator:
    # 20,000 executions over 60 days: about 230 pages in 18 seven-day windows.
    scenario = Scenario(seed=21, trades=20_000, history_days=60, closed_orders=10)
    with BybitSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        sim.latency = 0.03
        yield sim


def backfill_config(tmp: Path, sim: BybitSimulator, db: Path) -> str:
    entry = exchange_entry(sim.url, types=["trades"], trades_since="61d")
    return str(write_config(tmp / f"{db.stem}.yaml", db, {"bybit": entry}))


def wait_for_requests(sim: BybitSimulator, count: int, proc, limit: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while sim.counts[PATH] < count and proc.poll() is None:
        assert time.monotonic() < deadline, "the backfill made too few requests"
        time.sleep(0.02)


def stored_ids(db: Path) -> set[str]:
    return {r[0] for r in rows(db, "SELECT id FROM trades")}


def test_backfill_killed_at_60_percent_keeps_its_rows_and_resumes(big, tmp_path):
    full_db = tmp_path / "full.db"
    assert run("sync", "-c", backfill_config(tmp_path, big, full_db)).returncode == 0
    full_requests = big.counts[PATH]
    everything = stored_ids(full_db)
    assert len(everything) == 20_000

    db = tmp_path / "killed.db"
    config = backfill_config(tmp_path, big, db)
    big.reset_counts()
    victim = start("sync", "-c", config)
    wait_for_requests(big, int(full_requests * 0.6), victim)
    assert victim.poll() is None, "the backfill ended before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.wait()

    kept = stored_ids(db)
    cursors = dict(rows(db, "SELECT stream, position FROM cursors"))
    assert kept and cursors, "a backfill killed at 60% kept nothing"
    # every cursor covers only stored rows
    for category in ("spot", "linear"):
        position = cursors.get(f"trades:{category}")
        if position is None:
            continue
        covered = {
            e["execId"] for e in big.state.executions_in(category) if int(e["execTime"]) <= position
        }
        assert covered <= kept

    big.reset_counts()
    resumed = run("sync", "-c", config)
    assert resumed.returncode == 0, resumed.stderr
    assert stored_ids(db) == everything
    # the resumed pass does not start over (how much less depends on when the kill landed)
    assert big.counts[PATH] < full_requests, (big.counts[PATH], full_requests)


def test_ctrl_c_says_what_was_kept_and_that_a_rerun_resumes(big, tmp_path):
    db = tmp_path / "x.db"
    config = backfill_config(tmp_path, big, db)
    proc = start("sync", "-c", config)
    wait_for_requests(big, 90, proc)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    lines = [line for line in err.splitlines() if "interrupted" in line]
    assert len(lines) == 1, err
    kept = len(stored_ids(db))
    assert kept > 0
    assert f"kept {kept:,} rows" in lines[0] and "rerun resumes" in lines[0]
    assert "Traceback" not in err
    status, records = rows(db, "SELECT status, records FROM sync_runs")[0]
    assert status == "interrupted" and records == kept
    # an interruption is not the exchange's fault
    assert rows(db, "SELECT count(*) FROM breakers WHERE failures > 0") == [(0,)]
    assert rows(db, "SELECT count(*) FROM locks") == [(0,)]


def test_sigterm_during_a_probe_hands_the_breaker_back_and_leaves_nothing_to_clean(big, tmp_path):
    db = tmp_path / "x.db"
    config = backfill_config(tmp_path, big, db)
    trip = run("breaker", "trip", "-c", config, "-e", "bybit", "-t", "trades", "--for", "1s")
    assert trip.returncode == 0, trip.stderr
    time.sleep(1.2)  # the cool-down is over: the next pass is the half-open probe
    proc = start("sync", "-c", config)
    wait_for_requests(big, 60, proc)
    assert rows(db, "SELECT state FROM breakers") == [("half_open",)]
    proc.send_signal(signal.SIGTERM)  # as `systemctl stop` does
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if "interrupted by SIGTERM" in line]
    assert rows(db, "SELECT count(*) FROM locks") == [(0,)]
    state, probe_run = rows(db, "SELECT state, probe_run_id FROM breakers")[0]
    assert (state, probe_run) == ("open", None)  # handed back, not left half-open
    assert rows(db, "SELECT status FROM sync_runs ORDER BY id DESC LIMIT 1") == [("interrupted",)]
    again = run("sync", "-c", config)  # probes at once and resumes
    assert again.returncode == 0, again.stderr
    assert rows(db, "SELECT state, failures FROM breakers") == [("closed", 0)]


def test_live_display_shows_the_date_reached_and_the_time_left():
    import io

    from rich.console import Console

    from exsync.render import LiveProgress

    day = 86_400_000
    start_ms, end_ms = 1_700_000_000_000, 1_700_000_000_000 + 60 * day
    out = io.StringIO()
    display = LiveProgress(Console(file=out, force_terminal=True, width=120))
    with display:
        display.started("bybit", "trades")
        display.received("bybit", "trades", 1200)
        for days in (10, 20, 30):
            display.reached(
                "bybit", "trades", "trades:linear", start_ms + days * day, start_ms, end_ms
            )
            time.sleep(0.3)
        shown = Console(file=io.StringIO(), width=120, force_terminal=False)
        shown.print(display._progress.get_renderable())
        text = shown.file.getvalue()  # type: ignore[attr-defined]
    assert "bybit trades" in text and "1,200 rows" in text
    assert "trades:linear" in text and "at 2023-12-14" in text
    stream = next(t for t in display._progress.tasks if "trades:linear" in t.description)
    assert stream.percentage == pytest.approx(50.0)
    assert stream.time_remaining is not None and stream.time_remaining > 0


def test_an_interrupted_unit_counts_the_commit_it_had_under_way(big, tmp_path, monkeypatch):
    # Interrupted while the store's thread writes its rows: the count it reports and
    # records is read after that write, so it is what the database holds.
    from exsync.config import load_config
    from exsync.orchestrator import Synchronizer
    from exsync.store import Store

    db = tmp_path / "x.db"
    config = load_config(Path(backfill_config(tmp_path, big, db)))
    writing = threading.Event()
    upsert = Store.upsert

    def slow_upsert(self: Store, table: str, batch: list[dict[str, object]]) -> int:
        if table == "trades":
            writing.set()
            time.sleep(0.5)
        return upsert(self, table, batch)

    monkeypatch.setenv("SIM_API_KEY", KEY)
    monkeypatch.setenv("SIM_SECRET", SECRET)
    monkeypatch.setattr(Store, "upsert", slow_upsert)

    async def interrupted() -> PassResult:
        task = asyncio.ensure_future(Synchronizer(config).sync_async(types=["trades"]))
        while not writing.is_set():
            await asyncio.sleep(0.005)
        task.cancel()
        return await task

    result = asyncio.run(interrupted())
    (unit,) = result.units
    assert unit.status == "interrupted"
    stored = len(stored_ids(db))
    assert stored > 0
    assert unit.records == stored
    assert rows(db, "SELECT records FROM sync_runs") == [(stored,)]
    assert f"kept {stored:,} rows" in result.kept()
