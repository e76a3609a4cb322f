"""A simulator in a process of its own, as an exchange is.

A simulator started in the measured process serves its answers on threads of that process:
the JSON of 20,000 trades it encodes competes with exsync for the same interpreter lock,
and its time is counted as exsync's. Figures that compare exsync with the least time the
exchange allows run the simulator here instead; it answers the same requests the same way.
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any

from exsync.simulator import BinanceSimulator, BybitSimulator, Scenario

KINDS: dict[str, type[Any]] = {"bybit": BybitSimulator, "binance": BinanceSimulator}


def _serve(kind: str, scenario: Scenario, key: str, secret: str, latency: float, pipe: Any) -> None:
    with KINDS[kind](scenario, api_key=key, secret=secret) as sim:
        sim.latency = latency
        pipe.send(sim.url)
        while True:
            asked = pipe.recv()
            if asked == "stop":
                break
            if asked == "reset":
                sim.reset_counts()
                pipe.send(None)
            elif asked == "counts":
                pipe.send(Counter(sim.counts))
            elif asked == "requests":
                pipe.send(list(sim.requests))


class RemoteSimulator:
    """A simulator (`kind`: "bybit" or "binance") serving from a child process: its `url`,
    and what it was asked (`counts`, `requests`, `reset_counts`), as a simulator has them."""

    def __init__(
        self, kind: str, scenario: Scenario, *, api_key: str, secret: str, latency: float = 0.0
    ) -> None:
        self._args = (kind, scenario, api_key, secret, latency)
        self._pipe: Connection | None = None
        self._process: Any = None
        self.url = ""

    def __enter__(self) -> RemoteSimulator:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(*self._args, theirs), daemon=True)
        self._process.start()
        self._pipe = ours
        self.url = ours.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pipe is not None:
            self._pipe.send("stop")
        if self._process is not None:
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()

    def _ask(self, what: str) -> Any:
        assert self._pipe is not None, "not started"
        self._pipe.send(what)
        return self._pipe.recv()

    @property
    def counts(self) -> Counter[str]:
        """Requests per path since the last reset."""
        counts: Counter[str] = self._ask("counts")
        return counts

    @property
    def requests(self) -> list[tuple[str, str, str]]:
        """(method, path, query) of every request since the last reset."""
        requests: list[tuple[str, str, str]] = self._ask("requests")
        return requests

    def reset_counts(self) -> None:
        """Forget the requests seen so far."""
        self._ask("reset")
