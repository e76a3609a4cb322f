"""The database's own trouble: never a unit's failure, never a breaker's count, always one line
and exit 2, and the data as it was."""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import os
import resource
import shutil
import sqlite3
import subprocess
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from exsync.config import load_config
from exsync.orchestrator import Synchronizer
from exsync.simulator import BybitSimulator, Scenario
from exsync.store import Store
from tests.conftest import (
    ENGINES,
    EXSYNC,
    KEY,
    SECRET,
    exchange_entry,
    exsync_env,
    open_store,
    postgres_database,
    rows,
    run,
    write_config,
)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_error_line(done: subprocess.CompletedProcess[str], db: Path) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"exsync: error: {db}: "), lines[0]
    return lines[0]


def breaker_failures(db: Path) -> int:
    return rows(db, "SELECT coalesce(sum(failures), 0) FROM breakers")[0][0]


# -- first boot: processes opening a fresh database at once ----------------------------------


def _open_at_once(path: str, barrier: multiprocessing.synchronize.Barrier, out) -> None:  # type: ignore[no-untyped-def,name-defined]
    from exsync.errors import DatabaseError

    barrier.wait()
    try:
        open_store(path).close()
        out.put("")
    except DatabaseError as exc:
        out.put(str(exc))


ROUNDS, PROCESSES = 30, 3


@pytest.mark.parametrize("engine", ENGINES)
def test_processes_opening_a_fresh_database_at_once_wait_their_turn(tmp_path: Path, engine: str):
    context = multiprocessing.get_context("fork")
    failures = []
    for n in range(ROUNDS):
        with ExitStack() as stack:
            if engine == "sqlite":
                path = str(tmp_path / f"fresh-{n}.db")
            else:
                path = stack.enter_context(contextmanager(postgres_database)())
            failures += _race_to_open(context, path)
    assert failures == [], f"{len(failures)} of {ROUNDS * PROCESSES} opens failed: {failures[0]}"


def _race_to_open(context: Any, path: str) -> list[str]:
    """PROCESSES open one fresh database at the same moment; the errors they met."""
    barrier, out = context.Barrier(PROCESSES), context.Queue()
    workers = [
        context.Process(target=_open_at_once, args=(path, barrier, out)) for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    return [e for e in (out.get(timeout=5) for _ in workers) if e]


# -- a write lock held past the busy timeout ----------------------------------------------


def test_a_database_locked_past_the_busy_timeout_ends_the_pass_and_spares_the_breakers(
    sim: BybitSimulator, tmp_path: Path
):
    db = tmp_path / "x.db"
    entry = exchange_entry(sim.url, types=["balances", "positions"], failure_threshold=1)
    config = write_config(tmp_path / "c.yaml", db, {"bybit": entry}, busy_timeout="1s")
    assert run("sync", "-c", str(config)).returncode == 0  # markets cached
    sim.latency = 0.5  # the pass is at the exchange when the other writer takes the lock
    for _ in range(3):
        proc = subprocess.Popen(
            [EXSYNC, "sync", "-c", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=exsync_env(),
        )
        wait_for_lock_row(db)
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        out, err = proc.communicate(timeout=60)
        holder.execute("ROLLBACK")
        holder.close()
        done = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        assert done.returncode == 2, done.stdout + done.stderr
        line = one_error_line(done, db)
        assert "locked by another process" in line and "after waiting 1." in line
    assert breaker_failures(db) == 0
    assert rows(db, "SELECT count(*) FROM sync_runs WHERE status = 'failed'") == [(0,)]
    sim.latency = 0
    assert run("sync", "-c", str(config)).returncode == 0  # nothing holds it off afterwards


def wait_for_lock_row(db: Path, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if rows(db, "SELECT count(*) FROM locks")[0][0]:
                return
        except sqlite3.OperationalError:
            pass
        time.sleep(0.02)
    raise AssertionError("the pass never took its lock")


# -- the disk is full --------------------------------------------------------------------


def test_a_full_disk_ends_the_pass_with_one_line_and_spares_the_breakers(tmp_path: Path):
    db = tmp_path / "x.db"
    scenario = Scenario(seed=9, trades=4000, history_days=20)
    with BybitSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        entry = exchange_entry(sim.url, trades_since="21d", failure_threshold=1)
        config = write_config(tmp_path / "c.yaml", db, {"bybit": entry})
        assert run("sync", "-c", str(config), "--type", "balances").returncode == 0
        size = db.stat().st_size

        def small_disk() -> None:  # no file of the run may grow past 64 KiB more
            limit = size + 64 * 1024
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        for _ in range(2):
            done = subprocess.run(
                [EXSYNC, "sync", "-c", str(config)],
                capture_output=True,
                text=True,
                env=exsync_env(),
                preexec_fn=small_disk,
                timeout=120,
                check=False,
            )
            assert done.returncode == 2, done.stdout + done.stderr
            line = one_error_line(done, db)
            assert "disk" in line and "rolled back" in line
        assert rows(db, "PRAGMA integrity_check") == [("ok",)]
        assert breaker_failures(db) == 0
        assert rows(db, "SELECT count(*) FROM sync_runs WHERE status = 'failed'") == [(0,)]
        # a cursor never claims rows the full disk did not let in
        stored = {r[0] for r in rows(db, "SELECT id FROM trades")}
        for category in ("spot", "linear"):
            cursor = rows(
                db, "SELECT position FROM cursors WHERE stream = ?", (f"trades:{category}",)
            )
            if cursor:
                covered = {
                    e["execId"]
                    for e in sim.state.executions_in(category)
                    if int(e["execTime"]) <= cursor[0][0]
                }
                assert covered <= stored
        again = run("sync", "-c", str(config))  # room again: the pass completes
        assert again.returncode == 0, again.stderr


# -- corruption --------------------------------------------------------------------------


@pytest.fixture
def synced(sim: BybitSimulator, tmp_path: Path) -> tuple[Path, Path]:
    db = tmp_path / "x.db"
    config = write_config(tmp_path / "c.yaml", db, {"bybit": exchange_entry(sim.url)})
    assert run("sync", "-c", str(config)).returncode == 0
    return db, config


def pages_of(db: Path, names: tuple[str, ...]) -> list[tuple[str, int]]:
    conn = sqlite3.connect(db)
    try:
        found = conn.execute(
            f"SELECT name, pageno FROM dbstat WHERE name IN ({','.join('?' * len(names))}) "
            "AND pagetype IN ('leaf', 'internal') ORDER BY pageno",
            names,
        ).fetchall()
    except sqlite3.OperationalError:
        pytest.skip("this SQLite has no dbstat table")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    return [(name, (page - 1) * page_size) for name, page in found]


def scribble(db: Path, offset: int, length: int) -> None:
    with db.open("r+b") as handle:
        handle.seek(offset)
        handle.write(os.urandom(length))


def test_garbage_in_a_table_or_index_page_is_refused_untouched(synced: tuple[Path, Path]):
    db, config = synced
    clean = db.with_name("clean.db")
    shutil.copy(db, clean)
    for name in ("trades", "idx_trades_exchange_timestamp", "orders"):
        shutil.copy(clean, db)
        _, offset = pages_of(db, (name,))[0]
        scribble(db, offset + 8, 1024)  # past the page header: cell pointers and cells
        before = digest(db)
        done = run("sync", "-c", str(config))
        assert done.returncode == 2, (name, done.stdout, done.stderr)
        line = one_error_line(done, db)
        assert "corrupt" in line and "nothing was written" in line
        assert "backup" in line and "rebuild the mirror from the exchange" in line
        assert digest(db) == before, f"{name}: the file was written"


def test_every_damaged_page_of_a_mirror_is_caught_at_start(synced: tuple[Path, Path], tmp_path):
    db, _ = synced
    size = db.stat().st_size
    page_size = rows(db, "PRAGMA page_size")[0][0]
    caught = tried = 0
    for page in range(2, size // page_size + 1):
        copy = tmp_path / f"page-{page}.db"
        shutil.copy(db, copy)
        scribble(copy, (page - 1) * page_size, page_size)
        tried += 1
        try:
            Store(copy, check=True).close()
        except Exception as exc:
            assert "corrupt" in str(exc) or "not a valid" in str(exc), str(exc)
            caught += 1
        copy.unlink()
    print(f"damaged pages tried: {tried}, caught: {caught}")
    assert tried >= 20 and caught == tried


# -- read-only users ----------------------------------------------------------------------


def _up(path: str) -> list[Path]:
    """The directories another user must pass through to reach `path`."""
    return list(Path(path).resolve().parents)


def as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run as another user")
    if not all(os.access(p, os.X_OK) and p.stat().st_mode & 0o001 for p in _up(EXSYNC)):
        # a checkout in a private directory (mktemp -d makes it 0700): no other user can
        # start its exsync, whatever the database allows
        pytest.skip("another user cannot reach the installed exsync here")
    return subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", EXSYNC, *args],
        capture_output=True,
        text=True,
        env={**exsync_env(), "HOME": "/nonexistent"},
        timeout=60,
        check=False,
    )


def test_showing_commands_work_for_a_user_who_may_only_read(synced: tuple[Path, Path]):
    db, config = synced
    assert run("breaker", "trip", "-c", str(config), "-e", "bybit", "-t", "trades").returncode == 0
    folder = db.parent
    folder.chmod(0o755)  # the monitoring user may enter and read, not create files
    db.chmod(0o644)
    for parent in folder.parents:
        if not os.access(parent, os.X_OK, effective_ids=False) or parent == Path("/"):
            break
        parent.chmod(parent.stat().st_mode | 0o005)
    before = digest(db)
    for command in (
        ["status", "--db", str(db)],
        ["status", "--db", str(db), "--json"],
        ["history", "--db", str(db), "--limit", "3"],
        ["check", "--db", str(db), "--max-age", "1h"],
        ["breaker", "show", "--db", str(db)],
        ["exchanges", "-c", str(config)],
        ["config", "validate", "-c", str(config)],
    ):
        done = as_nobody(*command)
        # nothing on stderr but `config validate`'s warnings about the config itself
        errors = [e for e in done.stderr.splitlines() if not e.startswith("exsync: warning: ")]
        assert errors == [], (command, done.stderr)
        # `check` says CRITICAL (2) for the tripped breaker; the others exit 0
        assert done.returncode == (2 if command[0] == "check" else 0), command
        assert ("ok, 1 exchange" if command[0] == "config" else "bybit") in done.stdout, (
            command,
            done.stdout,
        )
    assert digest(db) == before
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith("x.db")) == ["x.db"]


# -- the event loop keeps running while the database waits ---------------------------------


def test_the_event_loop_keeps_running_while_a_write_waits_for_another_process(
    tmp_path: Path, credentials_env: None
):
    db = tmp_path / "x.db"
    scenario = Scenario(seed=12, trades=3000, history_days=30)
    with BybitSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        sim.latency = 0.02
        exchanges = {
            "slow": exchange_entry(sim.url, trades_since="31d"),
            "other": exchange_entry(sim.url, trades_since="31d"),
        }
        config = load_config(write_config(tmp_path / "c.yaml", db, exchanges))
        held: list[float] = []

        def hold_the_write_lock() -> None:
            wait_for_lock_row(db)
            holder = sqlite3.connect(db, isolation_level=None, timeout=30)
            holder.execute("BEGIN IMMEDIATE")
            held.append(time.monotonic())
            time.sleep(3.0)
            held.append(time.monotonic())
            holder.execute("COMMIT")
            holder.close()

        async def measured() -> tuple[object, list[float]]:
            ticks: list[float] = []

            async def heartbeat() -> None:
                while True:
                    ticks.append(time.monotonic())
                    await asyncio.sleep(0.05)

            beat = asyncio.create_task(heartbeat())
            result = await Synchronizer(config).sync_async()
            beat.cancel()
            return result, ticks

        thread = threading.Thread(target=hold_the_write_lock)
        thread.start()
        result, ticks = asyncio.run(measured())
        thread.join()
    assert result.ok, result.units  # type: ignore[attr-defined]
    start, end = held
    during = [t for t in ticks if start + 0.5 < t < end - 0.5]
    # ~40 ticks if the loop runs; none if it is blocked waiting for the lock
    assert len(during) >= 5, f"{len(during)} heartbeats in 2 s while the lock was held"


def test_a_pass_after_a_database_error_in_the_same_process_is_not_locked_out(
    sim: BybitSimulator, make_config, monkeypatch: pytest.MonkeyPatch
):
    """`exsync run`: the pass that met the error left its lock row; the next one goes on."""
    from exsync.datatypes import DataType
    from exsync.errors import DatabaseError
    from exsync.sync import STRATEGIES

    config, _ = make_config({"bybit": exchange_entry(sim.url, types=["balances"])})
    real = STRATEGIES[DataType.BALANCES]

    async def disk_full(ctx):  # type: ignore[no-untyped-def]
        def write() -> None:
            raise DatabaseError("x.db: the disk is full")

        await ctx.store.run(write)  # as a commit that meets a full disk

    monkeypatch.setitem(STRATEGIES, DataType.BALANCES, disk_full)
    synchronizer = Synchronizer(config)
    with pytest.raises(DatabaseError, match="disk is full"):
        synchronizer.sync()
    monkeypatch.setitem(STRATEGIES, DataType.BALANCES, real)
    result = synchronizer.sync()
    assert [(u.data_type, u.status) for u in result.units] == [("balances", "ok")]
