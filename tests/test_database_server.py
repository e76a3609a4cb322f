"""A PostgreSQL server's own trouble, as the hosts sharing it meet it: the server gone in the
middle of a pass (its connection terminated, or the network cut), several processes creating
the schema of an empty database at once, hosts whose clocks disagree sharing one lock."""

from __future__ import annotations

import contextlib
import selectors
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from exsync.simulator import BybitSimulator
from tests.conftest import (
    EXSYNC,
    PG_PASSWORD,
    PG_SERVER,
    exchange_entry,
    exsync_env,
    postgres_database,
    rows,
    run,
    start,
    write_config,
)
from tests.test_lock_theft import LIBFAKETIME, can_unshare


class Proxy:
    """A TCP relay in front of the database server whose connections can be cut at once,
    as a network partition or a server host lost would cut them."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self.lock:
                self.pairs.append((client, server))
            threading.Thread(target=self._relay, args=(client, server), daemon=True).start()

    @staticmethod
    def _relay(client: socket.socket, server: socket.socket) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(client, selectors.EVENT_READ, server)
            sel.register(server, selectors.EVENT_READ, client)
            while True:
                for key, _ in sel.select():
                    try:
                        data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                        if not data:
                            raise OSError
                        key.data.sendall(data)
                    except OSError:
                        for sock in (client, server):
                            sock.close()
                        return

    def cut(self) -> None:
        """Close every connection relayed so far, without a word to either side."""
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()
        self.cut()


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from postgres_database()


def via(url: str, proxy: Proxy) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))


def terminate(url: str) -> None:
    """End exsync's connections to the test's database, as an administrator (or a server
    restart) would."""
    name = urlsplit(url).path.strip("/")
    with psycopg.connect(PG_SERVER or "", password=PG_PASSWORD, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND application_name = 'exsync'",
            (name,),
        )


def recorded(url: str) -> list[str]:
    """The data types of the units recorded so far (none before the schema is there)."""
    try:
        return [t for (t,) in rows(url, "SELECT data_type FROM sync_runs ORDER BY id")]
    except psycopg.errors.UndefinedTable:
        return []


@pytest.mark.parametrize("how", ["terminated", "cut"])
def test_the_server_gone_mid_pass_ends_it_as_a_database_error_and_the_next_resumes(
    sim: BybitSimulator, tmp_path: Path, pg_url: str, how: str
):
    parts = urlsplit(pg_url)
    proxy = Proxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    url = via(pg_url, proxy)
    entry = exchange_entry(sim.url, failure_threshold=1)
    config = str(write_config(tmp_path / "c.yaml", url, {"bybit": entry}))
    # The trades unit hangs in slow answers while the others finish: the server goes away
    # under a pass that still has a unit to write.
    sim.fail_next("/v5/execution/list", times=10_000, kind="slow", delay=0.5)
    passing = start("sync", "-c", config)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and "balances" not in recorded(pg_url):
        assert passing.poll() is None, passing.communicate()
        time.sleep(0.05)
    terminate(pg_url) if how == "terminated" else proxy.cut()
    sim.clear_faults()
    out, err = passing.communicate(timeout=120)

    assert passing.returncode == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"exsync: error: {url}: lost the connection to the database"), lines
    assert "trades" not in recorded(pg_url)  # the unit under way when it went
    # No breaker counted the database's trouble; what was committed stays, nothing else.
    assert rows(pg_url, "SELECT coalesce(sum(failures), 0) FROM breakers") == [(0,)]
    assert not rows(
        pg_url, "SELECT 1 FROM sync_runs WHERE status <> 'ok' AND status <> 'unsupported'"
    )

    sim.reset_counts()
    again = run("sync", "-c", config)
    assert again.returncode == 0, again.stderr
    since = (time.time() - 40 * 86400) * 1000
    expected = {e["execId"] for e in sim.state.executions if int(e["execTime"]) >= since}
    assert {i for (i,) in rows(pg_url, "SELECT id FROM trades")} == expected
    proxy.close()


def on_host(name: str, offset: str | None, *args: str) -> list[str]:
    """`exsync ARGS` as on another host: its own host name and pids, and its wall clock
    `offset` from the real one (libfaketime, e.g. "-1h")."""
    clock = ["env", f"LD_PRELOAD={LIBFAKETIME}", f"FAKETIME={offset}"] if offset else []
    return [
        "unshare", "--uts", "--pid", "--fork", "--mount-proc", "--kill-child=SIGKILL",
        "sh", "-c", 'hostname "$0" && exec "$@"', name, *clock, EXSYNC, *args,
    ]  # fmt: skip


def spawn(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=exsync_env()
    )


def wait_for_holder(url: str, host: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if rows(url, "SELECT 1 FROM locks WHERE host = ?", (host,)):
                return
        except psycopg.errors.UndefinedTable:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{host} never took the lock")


@pytest.mark.skipif(LIBFAKETIME is None or not can_unshare(), reason="needs faketime, unshare")
@pytest.mark.parametrize(("holder_clock", "contender_clock"), [("-1h", None), (None, "+1h")])
def test_a_live_holder_keeps_its_lock_whatever_the_hosts_clocks_say(
    sim: BybitSimulator, tmp_path: Path, pg_url: str, holder_clock, contender_clock
):
    entry = exchange_entry(
        sim.url, types=["balances"], lock_lease="5s", timeout="60s", max_time="90s",
        options={"recvWindow": 3_600_000 * 2},  # a host an hour off is no stale request here
    )  # fmt: skip
    config = str(write_config(tmp_path / "c.yaml", pg_url, {"bybit": entry}))
    assert run("sync", "-c", config).returncode == 0  # markets cached, schema made
    sim.latency = 15.0  # the holder is at the exchange, renewing its lease, all along
    holder = spawn(on_host("host-a", holder_clock, "sync", "-c", config))
    wait_for_holder(pg_url, "host-a")
    # By the holder's clock (an hour behind) its lease lapsed long ago; by the contender's
    # (an hour ahead) likewise. By the server's, the one both share, it is live.
    contender = spawn(on_host("host-b", contender_clock, "sync", "-c", config))
    out, err = contender.communicate(timeout=120)
    alive = holder.poll() is None
    sim.latency = 0
    held_out, held_err = holder.communicate(timeout=120)
    assert alive, "the holder finished before the contender could try"
    assert contender.returncode == 75, out + err
    assert "another run holds the lock" in out and "host-a" in out
    assert holder.returncode == 0, held_out + held_err


@pytest.mark.skipif(LIBFAKETIME is None or not can_unshare(), reason="needs faketime, unshare")
@pytest.mark.parametrize(("holder_clock", "contender_clock"), [("+1h", None), (None, "-1h")])
def test_a_dead_holders_lease_lapses_by_the_servers_clock(
    sim: BybitSimulator, tmp_path: Path, pg_url: str, holder_clock, contender_clock
):
    entry = exchange_entry(
        sim.url, types=["balances"], lock_lease="3s",
        options={"recvWindow": 3_600_000 * 2},
    )  # fmt: skip
    config = str(write_config(tmp_path / "c.yaml", pg_url, {"bybit": entry}))
    assert run("sync", "-c", config).returncode == 0
    sim.latency = 15.0
    victim = spawn(on_host("host-a", holder_clock, "sync", "-c", config))
    wait_for_holder(pg_url, "host-a")
    victim.send_signal(signal.SIGKILL)  # and with it, the run inside the namespace
    victim.wait()
    sim.latency = 0
    # Its lease, three seconds by the server's clock, not an hour by either host's.
    taken = spawn(on_host("host-b", contender_clock, "sync", "-c", config, "--wait", "120s"))
    out, err = taken.communicate(timeout=180)
    assert taken.returncode == 0, out + err
    assert rows(pg_url, "SELECT count(*) FROM locks") == [(0,)]
