"""Several hosts, one PostgreSQL: rounds of passes by four processes posing as hosts (each in
its own UTS and PID namespace, with its own host name and its own request budget) over twelve
accounts on the simulators. Every account is synced exactly once per round, nothing twice; a
host killed with SIGKILL holds its accounts only until its lease lapses; a breaker one host
opens holds every host off, and a due breaker gets exactly one probe among all hosts (one
request to its exchange)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from exsync.shards import shard_of
from exsync.simulator import BybitSimulator, Scenario
from exsync.store import breaker
from tests.conftest import (
    EXSYNC,
    KEY,
    SECRET,
    exchange_entry,
    exsync_env,
    open_store,
    postgres_database,
    rows,
    write_config,
)

ACCOUNTS = [f"acct-{n:02d}" for n in range(12)]
HOSTS = 4
TYPES = ["balances", "orders", "trades"]
LEASE = 3.0


def can_pose_as_hosts() -> bool:
    return (
        shutil.which("unshare") is not None
        and subprocess.run(
            ["unshare", "--uts", "--pid", "--fork", "--mount-proc", "hostname", "probe"],
            capture_output=True,
        ).returncode
        == 0
    )


pytestmark = pytest.mark.skipif(
    not can_pose_as_hosts(), reason="cannot create UTS and PID namespaces"
)


class Fleet:
    """Twelve accounts, each on a simulator of its own, and one database they share."""

    def __init__(self, tmp_path: Path, url: str, sims: dict[str, BybitSimulator]) -> None:
        self.tmp_path = tmp_path
        self.url = url
        self.sims = sims
        entries = {
            name: exchange_entry(
                sim.url,
                types=TYPES,
                trades_since="12d",
                lock_lease=f"{LEASE:g}s",
                failure_threshold=1,
                reset_timeout="1h",
                max_tries=1,
            )
            for name, sim in sims.items()
        }
        self.config = str(write_config(tmp_path / "fleet.yaml", url, entries))
        self.seen = 0

    def host(self, name: str, *args: str) -> subprocess.Popen[str]:
        """`exsync ARGS` on a host of its own: its host name, its pids, its state directory
        (where its per-IP request budget lives)."""
        state = self.tmp_path / "state" / name
        state.mkdir(parents=True, exist_ok=True)
        command = [
            "unshare", "--uts", "--pid", "--fork", "--mount-proc", "--kill-child=SIGKILL",
            "sh", "-c", 'hostname "$0" && exec "$@"', name,
            EXSYNC, *args, "-c", self.config,
        ]  # fmt: skip
        return subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=exsync_env({"XDG_STATE_HOME": str(state)}),
        )

    def round(self) -> list[tuple[Any, ...]]:
        """The units recorded since the last call: (id, run_id, exchange, data_type, status)."""
        found = rows(
            self.url,
            "SELECT id, run_id, exchange, data_type, status FROM sync_runs WHERE id > ? "
            "ORDER BY id",
            (self.seen,),
        )
        if found:
            self.seen = found[-1][0]
        return found

    def expected_trades(self, name: str) -> set[str]:
        since = (time.time() - 12 * 86400) * 1000
        state = self.sims[name].state
        return {e["execId"] for e in state.executions if int(e["execTime"]) >= since}


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    server = postgres_database()
    url = next(server)
    with ExitStack() as stack:
        sims = {
            name: stack.enter_context(
                BybitSimulator(
                    Scenario(seed=40 + n, trades=60, history_days=10, closed_orders=10),
                    api_key=KEY,
                    secret=SECRET,
                )
            )
            for n, name in enumerate(ACCOUNTS)
        }
        yield Fleet(tmp_path, url, sims)
    server.close()


def finish(procs: dict[str, subprocess.Popen[str]]) -> dict[str, int]:
    codes = {}
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=180)
        assert "Traceback" not in err, err
        codes[name] = proc.returncode
    return codes


def shard_of_account(name: str) -> int:
    return shard_of(name, HOSTS)


def check_once_each(units: list[tuple[Any, ...]], accounts: list[str]) -> None:
    """Each account synced once in the round: one ok row per type, all from one pass."""
    by_account = defaultdict(list)
    for _, run_id, exchange, data_type, status in units:
        by_account[exchange].append((run_id, data_type, status))
    assert sorted(by_account) == sorted(accounts)
    for name, done in by_account.items():
        assert sorted(t for _, t, s in done if s == "ok") == sorted(TYPES), (name, done)
        assert len(done) == len(TYPES) and len({r for r, _, _ in done}) == 1, (name, done)


def test_hosts_share_the_accounts_lock_them_and_their_breakers(fleet: Fleet):
    shards = {i: [a for a in ACCOUNTS if shard_of_account(a) == i] for i in range(1, HOSTS + 1)}
    assert all(shards.values())  # every host has accounts to sync

    # Round 1: every host its shard, all at once.
    reset_counts(fleet)
    codes = finish(
        {f"host-{i}": fleet.host(f"host-{i}", "sync", "--shard", f"{i}/{HOSTS}") for i in shards}
    )
    assert set(codes.values()) == {0}, codes
    units = fleet.round()
    check_once_each(units, ACCOUNTS)
    passes = {run_id for _, run_id, _, _, _ in units}
    assert len(passes) == HOSTS  # one pass per host, each over its own shard
    assert asked_once_each(fleet, ACCOUNTS)  # no account's exchange was read twice
    for name in ACCOUNTS:
        stored = {
            i for (i,) in rows(fleet.url, "SELECT id FROM trades WHERE exchange = ?", (name,))
        }
        assert stored == fleet.expected_trades(name)
    # each host paced its requests by a budget file of its own
    assert all((fleet.tmp_path / "state" / f"host-{i}" / "exsync").is_dir() for i in shards)

    # Round 2: host-2 is killed in the middle of its pass, holding its accounts' locks; host-5
    # takes its shard over at once: it waits for the dead host's leases, then syncs.
    for name in shards[2]:
        fleet.sims[name].latency = 0.6
    procs = {
        f"host-{i}": fleet.host(f"host-{i}", "sync", "--shard", f"{i}/{HOSTS}") for i in shards
    }
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(locked_by(fleet, "host-2")) < len(shards[2]):
        time.sleep(0.05)
    assert sorted(locked_by(fleet, "host-2")) == sorted(shards[2])
    procs["host-2"].send_signal(signal.SIGKILL)
    procs["host-2"].wait()
    dead = rows(fleet.url, "SELECT exchange, run_id, expires_at FROM locks WHERE host = 'host-2'")
    assert sorted(e for e, _, _ in dead) == sorted(shards[2])  # left behind by the kill
    for name in shards[2]:
        fleet.sims[name].latency = 0.0
    procs["host-5"] = fleet.host("host-5", "sync", "--shard", f"2/{HOSTS}", "--wait", "60s")
    codes = finish({k: p for k, p in procs.items() if k != "host-2"})
    assert set(codes.values()) == {0}, codes
    units = fleet.round()
    check_once_each(
        [u for u in units if u[2] not in shards[2]], [a for a in ACCOUNTS if a not in shards[2]]
    )
    dead_runs = {run_id for _, run_id, _ in dead}
    taken = [u for u in units if u[2] in shards[2] and u[1] not in dead_runs]
    check_once_each(taken, shards[2])  # every account of the dead host, by host-5
    lapsed = dict((e, x) for e, _, x in dead)
    for exchange, started in rows(
        fleet.url,
        f"SELECT exchange, started_at FROM sync_runs WHERE id IN ({', '.join('?' * len(taken))})",
        tuple(u[0] for u in taken),
    ):
        assert started >= lapsed[exchange], (exchange, started, lapsed[exchange])  # not before
    assert rows(fleet.url, "SELECT count(*) FROM locks") == [(0,)]

    # Round 3: every host its shard again: each account once, nothing missing.
    reset_counts(fleet)
    codes = finish(
        {f"host-{i}": fleet.host(f"host-{i}", "sync", "--shard", f"{i}/{HOSTS}") for i in shards}
    )
    assert set(codes.values()) == {0}, codes
    check_once_each(fleet.round(), ACCOUNTS)
    assert asked_once_each(fleet, ACCOUNTS)
    assert rows(fleet.url, "SELECT count(*) FROM locks") == [(0,)]
    for name in ACCOUNTS:
        stored = {
            i for (i,) in rows(fleet.url, "SELECT id FROM trades WHERE exchange = ?", (name,))
        }
        assert stored == fleet.expected_trades(name)

    # Round 4: host-1's balances fail for every account and open their breakers (for an
    # hour): the other hosts, syncing every account, are held off without asking.
    for sim in fleet.sims.values():
        sim.fail_next(
            "/v5/account/wallet-balance", times=10_000, ret_code=10003, ret_msg="API key is invalid"
        )
    assert finish({"host-1": fleet.host("host-1", "sync", "--type", "balances")}) == {"host-1": 1}
    assert Counter(u[4] for u in fleet.round()) == Counter({"failed": len(ACCOUNTS)})
    before = {name: sim.counts["/v5/account/wallet-balance"] for name, sim in fleet.sims.items()}
    codes = finish(
        {f"host-{i}": fleet.host(f"host-{i}", "sync", "--type", "balances") for i in (2, 3, 4)}
    )
    assert set(codes.values()) <= {69, 75}, codes
    assert {u[4] for u in fleet.round()} <= {"held", "skipped"}
    assert {
        name: sim.counts["/v5/account/wallet-balance"] for name, sim in fleet.sims.items()
    } == before

    # Round 5: the breakers come due at once; four hosts race over every account, and each
    # breaker gets exactly one probe among them (it fails: the others are held off).
    with open_store(fleet.url) as store:
        for name in ACCOUNTS:
            breaker.trip(store, name, ["balances"], 0.5, "due in half a second")
    time.sleep(1.0)
    before = {name: sim.counts["/v5/account/wallet-balance"] for name, sim in fleet.sims.items()}
    codes = finish(
        {
            f"host-{i}": fleet.host(f"host-{i}", "sync", "--type", "balances")
            for i in range(1, HOSTS + 1)
        }
    )
    assert set(codes.values()) <= {1, 69, 75}, codes
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    for _, _, exchange, _, status in fleet.round():
        outcomes[exchange][status] += 1
    for name in ACCOUNTS:
        assert outcomes[name]["failed"] == 1, (name, outcomes[name])  # the one probe
        assert outcomes[name]["ok"] == 0 and sum(outcomes[name].values()) == HOSTS
    # ... and one request to each exchange among all four hosts: the probe's.
    assert {
        name: sim.counts["/v5/account/wallet-balance"] - before[name]
        for name, sim in fleet.sims.items()
    } == dict.fromkeys(ACCOUNTS, 1)
    states = rows(fleet.url, "SELECT DISTINCT state FROM breakers WHERE data_type = 'balances'")
    assert states == [("open",)]


def trade_ids(fleet: Fleet, name: str) -> set[str]:
    return {i for (i,) in rows(fleet.url, "SELECT id FROM trades WHERE exchange = ?", (name,))}


def reset_counts(fleet: Fleet) -> None:
    for sim in fleet.sims.values():
        sim.reset_counts()


def asked_once_each(fleet: Fleet, accounts: list[str]) -> bool:
    """Whether each account's exchange was asked for its balances exactly once: one pass read
    it, not two hosts each."""
    asked = {name: fleet.sims[name].counts["/v5/account/wallet-balance"] for name in accounts}
    assert asked == dict.fromkeys(accounts, 1), asked
    return True


def locked_by(fleet: Fleet, host: str) -> list[str]:
    return [e for (e,) in rows(fleet.url, "SELECT exchange FROM locks WHERE host = ?", (host,))]
