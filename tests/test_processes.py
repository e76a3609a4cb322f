"""Behaviour across separate processes: breaker lifecycle, probes, overlap, locks, SIGKILL."""

from __future__ import annotations

import random
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from exsync.datatypes import CONCRETE
from exsync.simulator import BybitSimulator, Scenario
from exsync.store import breaker, lock
from tests.conftest import (
    KEY,
    SECRET,
    exchange_entry,
    is_url,
    open_store,
    rows,
    run,
    start,
    write_config,
)


def sleep_until(iso: str, margin: float = 0.2) -> None:
    time.sleep(max(0.0, (datetime.fromisoformat(iso) - datetime.now(UTC)).total_seconds()) + margin)


def breaker_row(db: Path | str) -> tuple:
    return rows(db, "SELECT state, failures, cooldown, next_probe_at FROM breakers")[0]


def test_breaker_lifecycle_across_processes(sim: BybitSimulator, tmp_path: Path, database):
    db = database
    entry = exchange_entry(
        sim.url,
        types=["balances"],
        secret_env="MAYBE_SECRET",
        failure_threshold=2,
        reset_timeout="3s",
        max_reset_timeout="5s",
    )
    config = str(write_config(tmp_path / "c.yaml", db, {"bybit": entry}))
    wrong = {"MAYBE_SECRET": "wrong-secret"}

    assert run("sync", "-c", config, env=wrong).returncode == 1
    assert breaker_row(db)[:2] == ("closed", 1)
    assert run("sync", "-c", config, env=wrong).returncode == 1
    state, failures, cooldown, probe_at = breaker_row(db)
    assert (state, failures, cooldown) == ("open", 2, 3.0)

    requests = sim.counts["/v5/account/wallet-balance"]
    held = run("sync", "-c", config, env=wrong)
    # Not done, not a failure of this pass, and not "another run has it" (75, which the
    # systemd units count as success): held off, with a line naming what was held.
    assert held.returncode == 69
    assert "exsync: warning: held off by an open breaker: bybit balances" in held.stderr
    assert sim.counts["/v5/account/wallet-balance"] == requests  # the exchange was not touched
    status, error = rows(db, "SELECT status, error FROM sync_runs ORDER BY id DESC LIMIT 1")[0]
    assert status == "held" and f"breaker open until {probe_at}" in error

    sleep_until(probe_at)
    assert run("sync", "-c", config, env=wrong).returncode == 1  # the probe fails
    state, failures, cooldown, probe_at = breaker_row(db)
    assert (state, failures, cooldown) == ("open", 3, 5.0)  # doubled, capped at 5s
    assert run("sync", "-c", config, env=wrong).returncode == 69

    sleep_until(probe_at)
    probe = run("sync", "-c", config, env={"MAYBE_SECRET": SECRET})
    assert probe.returncode == 0, probe.stderr
    assert breaker_row(db)[:2] == ("closed", 0)
    shown = run("breaker", "show", "-c", config)
    assert "state=closed failures=0" in shown.stdout


def test_half_open_admits_exactly_one_probe_among_racing_connections(database):
    db = database
    with open_store(db) as store:
        breaker.trip(store, "bybit", ["trades"], 0.0, "test")
    admitted: list[bool] = []
    barrier = threading.Barrier(8)

    def contend(n: int) -> None:
        with open_store(db) as store:
            barrier.wait()
            admitted.append(breaker.admit(store, "bybit", "trades", f"run-{n}", 60).probe)

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(admitted) == [False] * 7 + [True]
    with open_store(db) as store:
        assert store.execute("SELECT state FROM breakers").fetchone()[0] == "half_open"


def test_the_lock_goes_to_exactly_one_of_racing_connections(database):
    taken: list[bool] = []
    barrier = threading.Barrier(8)
    with open_store(database) as store:  # the schema, made before the race
        lock.try_acquire(store, "bybit", "gone-run", "gone", 0.001)
    time.sleep(0.01)  # its lease lapsed: every contender may take it over

    def contend(n: int) -> None:
        with open_store(database) as store:
            barrier.wait()
            holder = lock.try_acquire(store, "bybit", f"run-{n}", f"token-{n}", 60)
            taken.append(holder is None)

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == [False] * 7 + [True]


def test_concurrent_runs_make_exactly_one_probe(tmp_path: Path, database):
    db = database
    with BybitSimulator(Scenario(seed=3), api_key=KEY, secret=SECRET) as sim:
        entry = exchange_entry(sim.url, types=["balances"], reset_timeout="1s")
        config = str(write_config(tmp_path / "c.yaml", db, {"bybit": entry}))
        assert run("sync", "-c", config).returncode == 0  # markets cached
        assert (
            run("breaker", "trip", "-c", config, "--exchange", "bybit", "--for", "1s").returncode
            == 0
        )
        time.sleep(1.2)
        sim.latency = 2.5  # the probe holds the exchange while the others start
        sim.reset_counts()
        procs = [start("sync", "-c", config) for _ in range(4)]
        codes = sorted(p.wait(timeout=60) for p in procs)
    assert codes == [0, 75, 75, 75]
    assert sim.counts["/v5/account/wallet-balance"] == 1  # one probe reached the exchange
    outcomes = rows(db, "SELECT status FROM sync_runs ORDER BY id DESC LIMIT 4")
    assert sorted(o[0] for o in outcomes) == ["ok", "skipped", "skipped", "skipped"]
    assert breaker_row(db)[:2] == ("closed", 0)


def test_overlapping_invocations_one_syncs_the_rest_skip(tmp_path: Path, database):
    db = database
    with BybitSimulator(Scenario(seed=4), api_key=KEY, secret=SECRET) as sim:
        # Slow answers keep the first run inside its pass while the others start.
        sim.latency = 1.0
        config = str(write_config(tmp_path / "c.yaml", db, {"bybit": exchange_entry(sim.url)}))
        procs = [start("sync", "-c", config) for _ in range(5)]
        results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    assert sorted(code for code, _ in results) == [0, 75, 75, 75, 75]
    assert not any("Traceback" in err for _, err in results)
    skipped = rows(db, "SELECT error FROM sync_runs WHERE status = 'skipped'")
    assert len(skipped) == 4 * len(CONCRETE)
    assert all("another run holds the lock" in e for (e,) in skipped)
    assert rows(db, "SELECT count(*) FROM locks") == [(0,)]  # released


def test_lock_of_a_killed_run_does_not_block(sim: BybitSimulator, tmp_path: Path, database):
    db = database
    config = str(write_config(tmp_path / "c.yaml", db, {"bybit": exchange_entry(sim.url)}))
    sim.latency = 0.5
    victim = start("sync", "-c", config)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not holds_lock(db):
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert rows(db, "SELECT pid FROM locks") == [(victim.pid,)]  # left behind
    sim.latency = 0
    after = run("sync", "-c", config, "--type", "balances")
    assert after.returncode == 0, after.stdout + after.stderr


def holds_lock(db: Path | str) -> bool:
    """Whether some run holds a lock (the database may exist before its tables do)."""
    try:
        return (is_url(db) or Path(db).exists()) and rows(db, "SELECT count(*) FROM locks")[0][
            0
        ] > 0
    except Exception:  # no such table yet (either engine's error)
        return False


def test_lock_held_elsewhere_lapses_after_its_lease_and_wait_waits(
    sim: BybitSimulator, tmp_path: Path, database
):
    db = database
    entry = exchange_entry(sim.url, types=["balances"])
    config = str(write_config(tmp_path / "c.yaml", db, {"bybit": entry}))
    # A lease long enough to outlast a slow process start on a loaded machine...
    with open_store(db) as store, store.transaction():
        store.execute(
            "INSERT INTO locks (exchange, run_id, pid, host, acquired_at, expires_at) "
            "VALUES ('bybit', 'other-run', 1, ?, ?, ?)",
            [
                "another-host",
                datetime.now(UTC).isoformat(),
                (datetime.now(UTC) + timedelta(seconds=60)).isoformat(),
            ],
        )
    busy = run("sync", "-c", config)
    assert busy.returncode == 75
    assert "other-run" in busy.stdout and "another-host" in busy.stdout
    # ...then one that lapses while the next run waits for it.
    expires = datetime.now(UTC) + timedelta(seconds=2)
    with open_store(db) as store, store.transaction():
        store.execute("UPDATE locks SET expires_at = ?", [expires.isoformat()])
    waited = run("sync", "-c", config, "--wait", "30s")
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert datetime.now(UTC) >= expires


def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path, database):
    db = database
    kills = 0
    rng = random.Random(20261125)
    scenario = Scenario(seed=11, trades=6000, history_days=30)
    with BybitSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        sim.latency = 0.01
        entry = exchange_entry(sim.url, trades_since="35d", overlap="1m")
        config = str(write_config(tmp_path / "c.yaml", db, {"bybit": entry}))
        expected = {
            category: {e["execId"]: int(e["execTime"]) for e in sim.state.executions_in(category)}
            for category in ("spot", "linear")
        }
        for _ in range(15):
            # Killed after a random number of its requests, however fast the machine is.
            sim.reset_counts()
            target = rng.randint(1, 60)
            proc = start("sync", "-c", config)
            while proc.poll() is None and sum(sim.counts.values()) < target:
                time.sleep(0.005)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
            check_consistent(db, expected)
        final = run("sync", "-c", config)
        assert final.returncode == 0, final.stdout + final.stderr
        check_consistent(db, expected)
    stored = {r[0] for r in rows(db, "SELECT id FROM trades")}
    assert stored == set(expected["spot"]) | set(expected["linear"])  # nothing lost
    assert kills >= 10


def check_consistent(db: Path | str, expected: dict[str, dict[str, int]]) -> None:
    """The database is sound (SQLite: integrity_check) and no cursor claims rows that are
    not stored."""
    if is_url(db):
        tables = {r[0] for r in rows(db, "SELECT tablename FROM pg_tables")}
    elif not Path(db).exists():
        return
    else:
        assert rows(db, "PRAGMA integrity_check") == [("ok",)]
        tables = {r[0] for r in rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "trades" not in tables:
        return  # killed before the schema's one transaction committed: nothing half-made
    stored = {r[0] for r in rows(db, "SELECT id FROM trades")}
    for category, executions in expected.items():
        cursor = rows(db, "SELECT position FROM cursors WHERE stream = ?", (f"trades:{category}",))
        if not cursor:
            continue
        covered = {i for i, t in executions.items() if t <= cursor[0][0]}
        # the first backfill started 35 days back: everything before the cursor is stored
        assert covered <= stored, f"{category}: cursor ahead of {len(covered - stored)} rows"
    for symbol, position in rows(
        db, "SELECT stream, position FROM cursors WHERE stream LIKE 'ohlcv:%'"
    ):
        series = symbol.split(":", 1)[1].rsplit(":", 1)[0]
        have = rows(
            db,
            "SELECT count(*), max(timestamp) FROM ohlcv WHERE symbol = ? AND timestamp <= ?",
            (series, position),
        )[0]
        assert have[1] == position


def test_a_breaker_tripped_during_a_pass_stays_open(database):
    from exsync.config import Settings

    with open_store(database) as store:
        breaker.trip(store, "bybit", ["trades"], 3600, "maintenance")
        with store.transaction():  # a unit of a pass that started before the trip ends well
            breaker.record(store, "bybit", "trades", True, None, Settings(), run_id="earlier")
        state = store.execute("SELECT state FROM breakers").fetchone()[0]
    assert state == "open"
