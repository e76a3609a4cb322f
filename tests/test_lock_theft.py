"""Nobody steals a live run lock: not a run in another PID namespace with the same host name,
not a run whose wall clock stepped. A run that loses its lock stops writing at once. Clock
steps hold neither a breaker nor a stale lease longer than their time."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from exsync.simulator import BybitSimulator, Scenario
from tests.conftest import (
    EXSYNC,
    KEY,
    PG_PASSWORD,
    SECRET,
    exchange_entry,
    exsync_env,
    is_url,
    rows,
    run,
    write_config,
)


def can_unshare() -> bool:
    return (
        shutil.which("unshare") is not None
        and subprocess.run(
            ["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True
        ).returncode
        == 0
    )


LIBFAKETIME = next(
    (
        path
        for path in (
            "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
            "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
            "/usr/lib/faketime/libfaketime.so.1",
            "/usr/local/lib/faketime/libfaketime.so.1",
        )
        if Path(path).exists()
    ),
    None,
)


needs_namespaces = pytest.mark.skipif(not can_unshare(), reason="cannot create PID namespaces")
needs_faketime = pytest.mark.skipif(LIBFAKETIME is None, reason="libfaketime is not installed")


def in_other_namespace(*command: str) -> list[str]:
    """A command run in a new PID namespace, as in a container on the same host."""
    return ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child=SIGKILL", *command]


def with_clock(offset: str, *command: str) -> list[str]:
    """A command whose wall clock is stepped by `offset` (e.g. +3m); the boot clock is not.

    libfaketime is preloaded directly: its `faketime` wrapper names a semaphore after its
    pid, which collides across PID namespaces (pid 1 in each).
    """
    return [
        "env",
        f"LD_PRELOAD={LIBFAKETIME}",
        f"FAKETIME={offset}",
        "FAKETIME_DONT_FAKE_MONOTONIC=1",
        *command,
    ]


def start(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=exsync_env()
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def wait_for_lock(db: Path, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if rows(db, "SELECT count(*) FROM locks")[0][0]:
                return
        except sqlite3.OperationalError:
            pass
        time.sleep(0.02)
    raise AssertionError("no run took the lock")


@pytest.fixture
def slow(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A simulated account whose answers take long enough for a pass to be held up."""
    with BybitSimulator(Scenario(seed=31), api_key=KEY, secret=SECRET) as sim:
        yield sim


def holder_config(sim: BybitSimulator, tmp_path: Path, **settings: object) -> tuple[Path, str]:
    db = tmp_path / "x.db"
    entry = exchange_entry(sim.url, types=["balances", "positions"], **settings)
    config = str(write_config(tmp_path / "c.yaml", db, {"bybit": entry}))
    assert run("sync", "-c", config).returncode == 0  # markets cached, schema made
    return db, config


def plain(*command: str) -> list[str]:
    return list(command)


def stepped_forward(*command: str) -> list[str]:
    return with_clock("+5m", *command)


def elsewhere_stepped_forward(*command: str) -> list[str]:
    return in_other_namespace(*with_clock("+5m", *command))


THEFTS = [
    pytest.param(plain, in_other_namespace, id="contender-in-another-pid-namespace"),
    pytest.param(in_other_namespace, plain, id="holder-in-another-pid-namespace"),
    pytest.param(plain, stepped_forward, id="contender-clock-stepped-forward"),
    pytest.param(
        plain, elsewhere_stepped_forward, id="contender-elsewhere-with-clock-stepped-forward"
    ),
]


@needs_namespaces
@needs_faketime
@pytest.mark.parametrize(("holder", "contender"), THEFTS)
def test_a_live_lock_is_not_stolen(slow: BybitSimulator, tmp_path: Path, holder, contender):  # type: ignore[no-untyped-def]
    db, config = holder_config(
        slow,
        tmp_path,
        lock_lease="60s",
        timeout="60s",
        max_time="90s",
        options={"recvWindow": 60_000},  # the slow answers are not stale requests
    )
    slow.latency = 10.0  # the holder is at the exchange for the whole test
    first = start(holder(EXSYNC, "sync", "-c", config))
    wait_for_lock(db)
    second = start(contender(EXSYNC, "sync", "-c", config))
    code, out, err = finish(second)
    assert first.poll() is None, "the holder finished before the contender could try"
    slow.latency = 0
    held_code, _, held_err = finish(first)
    assert code == 75, out + err  # skipped: another run holds the lock
    assert "another run holds the lock" in out
    assert held_code == 0, held_err
    assert "taken over" not in held_err


def test_a_run_that_loses_its_lock_stops_writing_at_once(tmp_path: Path, database):
    db = database
    scenario = Scenario(seed=33, trades=12000, history_days=40)
    with BybitSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        sim.latency = 0.05
        entry = exchange_entry(sim.url, types=["trades"], trades_since="41d", lock_lease="3s")
        config = str(write_config(tmp_path / "c.yaml", db, {"bybit": entry}))
        proc = start([EXSYNC, "sync", "-c", config])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not written(db):
            time.sleep(0.05)
        assert proc.poll() is None, "the backfill ended before its lock could be taken"
        # Another run takes the lock over (as after a lapse it judged real).
        thief = connect(db)
        thief.execute("BEGIN" if is_url(db) else "BEGIN IMMEDIATE")
        thief.execute("UPDATE locks SET token = 'thief', run_id = 'thief-run', pid = 1")
        kept = thief.execute("SELECT count(*) FROM trades").fetchone()[0]
        cursors = [tuple(r) for r in thief.execute("SELECT stream, position FROM cursors")]
        thief.execute("COMMIT")
        thief.close()
        code, out, err = finish(proc)
    assert code == 1, out + err
    assert "taken over by run thief-run" in err
    assert rows(db, "SELECT count(*) FROM trades") == [(kept,)]  # not one row after it
    assert sorted(rows(db, "SELECT stream, position FROM cursors")) == sorted(cursors)
    status, error = rows(db, "SELECT status, error FROM sync_runs ORDER BY id DESC LIMIT 1")[0]
    assert status == "interrupted" and "taken over by run thief-run" in error
    assert rows(db, "SELECT coalesce(sum(failures), 0) FROM breakers") == [(0,)]
    assert rows(db, "SELECT run_id FROM locks") == [("thief-run",)]  # left to its holder


def written(db: Path | str) -> bool:
    try:
        return rows(db, "SELECT count(*) FROM trades")[0][0] > 0
    except Exception:  # no such table yet (either engine's error)
        return False


def connect(db: Path | str) -> Any:
    """A connection of the database's own driver, in autocommit mode."""
    if is_url(db):
        import psycopg

        return psycopg.connect(str(db), password=PG_PASSWORD, autocommit=True)
    return sqlite3.connect(db, isolation_level=None, timeout=30)


@needs_faketime
def test_a_clock_stepped_back_does_not_hold_a_breaker_open(slow: BybitSimulator, tmp_path: Path):
    db, config = holder_config(slow, tmp_path)
    # Opened while the wall clock read an hour ahead; it has since been set back. The
    # cool-down is long enough for the next process to start on a loaded machine.
    tripped_at = time.monotonic()
    tripped = subprocess.run(
        with_clock("+1h", EXSYNC, "breaker", "trip", "-c", config, "-e", "bybit", "--for", "10s"),
        capture_output=True,
        text=True,
        env=exsync_env(),
        check=False,
    )
    assert tripped.returncode == 0, tripped.stderr
    assert run("sync", "-c", config).returncode == 69  # held off: still cooling down
    time.sleep(max(0.0, tripped_at + 10.5 - time.monotonic()))
    probe = run("sync", "-c", config)
    assert probe.returncode == 0, probe.stdout + probe.stderr
    assert rows(db, "SELECT DISTINCT state FROM breakers") == [("closed",)]


@needs_faketime
@needs_namespaces
def test_a_clock_stepped_back_does_not_hold_a_dead_holders_lease(
    slow: BybitSimulator, tmp_path: Path
):
    db, config = holder_config(slow, tmp_path, lock_lease="3s")
    slow.latency = 5.0
    # The holder ran in a container (its pid means nothing here) with its clock an hour ahead,
    # and was killed: its lease names a time an hour away.
    victim = start(in_other_namespace(*with_clock("+1h", EXSYNC, "sync", "-c", config)))
    wait_for_lock(db)
    victim.send_signal(signal.SIGKILL)  # and with it, the run inside the namespace
    victim.wait()
    slow.latency = 0
    time.sleep(4)  # one lease, measured on the boot clock
    taken = run("sync", "-c", config)
    assert taken.returncode == 0, taken.stdout + taken.stderr


@needs_faketime
def test_the_retry_budget_is_not_cut_short_by_a_fast_wall_clock(tmp_path: Path):
    db = tmp_path / "x.db"
    # An exchange with no profile of its own: nothing but ccxt, the retries and their budget.
    entry = exchange_entry(
        "http://127.0.0.1:9",
        ccxt_id="kraken",
        types=["balances"],
        max_tries=100,
        max_time="4s",
        timeout="1s",
    )
    config = str(write_config(tmp_path / "c.yaml", db, {"bybit": entry}))
    started = time.monotonic()
    done = subprocess.run(
        with_clock("+0 x50", EXSYNC, "sync", "-c", config),
        capture_output=True,
        text=True,
        env=exsync_env(),
        check=False,
    )
    seconds = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    # The wall clock ran 50 times too fast: a budget read from it ends after ~0.1 s.
    assert seconds >= 3.5, f"retries stopped after {seconds:.1f} s of 4 s: {done.stdout}"
