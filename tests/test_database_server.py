"""A PostgreSQL server's own trouble, as the hosts sharing it meet it: the server gone in the
middle of a pass (its connection terminated, or the network cut), several processes creating
the schema of an empty database at once, hosts whose clocks disagree sharing one lock."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from exsync.simulator import BybitSimulator
from tests.conftest import (
    PG_PASSWORD,
    PG_SERVER,
    exchange_entry,
    postgres_database,
    rows,
    run,
    start,
    write_config,
)


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
