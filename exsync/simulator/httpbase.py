"""Exchange-neutral HTTP side of the simulators: a stdlib threading server, request
counting, latency and scripted faults.

Each exchange subclasses :class:`BaseSimulator` and supplies its state, its routing
and authentication (:meth:`BaseSimulator._answer`) and the shape of its own error
answers (:meth:`BaseSimulator._exchange_error_reply`). The server runs in its own
daemon thread, so a client's asyncio loop (ccxt's ``async_support``) stays
completely independent of it.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar
from urllib.parse import urlsplit

from .scenario import Scenario

S = TypeVar("S")

# Kinds every simulator understands; each exchange adds its own error kind
# ("retcode" for Bybit, "code" for Binance).
TRANSPORT_FAULT_KINDS = ("http", "drop", "slow", "malformed", "empty", "hollow")


@dataclass
class Fault:
    """A scripted answer given to the next ``times`` requests matching ``path``.

    Kinds: ``http`` (status + body, e.g. a 503 HTML page from a load balancer),
    ``retcode`` / ``code`` (the exchange's own error answer, see each simulator's
    ``fail_next``), ``drop`` (close the socket without answering), ``slow`` (wait
    ``delay`` seconds, then answer normally), ``malformed`` (the real JSON cut in half),
    ``empty`` (HTTP 200 with an empty body), ``hollow`` (HTTP 200 with the exchange's
    success envelope and no data in it: Bybit's ``retCode: 0`` without ``result``).
    """

    kind: str
    path: str | None = None
    times: int = 1
    status: int | None = None
    body: str | None = None
    ret_code: int | None = None
    ret_msg: str = ""
    delay: float = 0.0
    headers: dict[str, str] | None = None

    def matches(self, path: str) -> bool:
        """Whether this fault applies to a request for ``path``."""
        return self.times > 0 and (self.path is None or self.path == path)


@dataclass
class Reply:
    """One HTTP answer about to be written."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] | None = None


def json_reply(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    """A compact JSON answer."""
    return Reply(status, json.dumps(payload, separators=(",", ":")).encode(), headers=headers)


class Handler(BaseHTTPRequestHandler):
    """Hands every request to the owning simulator."""

    # HTTP/1.1 keeps client connections alive across requests, as a real API does.
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: with Nagle's algorithm the body waited for the
    # client's delayed ACK of the headers, 40 ms on Linux, on a share of the answers.
    disable_nagle_algorithm = True
    server: Server

    #: the request's body (a POST's form-encoded parameters), empty for a GET
    body: bytes = b""

    def do_GET(self) -> None:
        self.body = b""
        self.server.simulator.handle_request(self)

    def do_POST(self) -> None:
        # Read the body whole: the connection stays usable, and a route that takes a POST
        # finds its parameters there.
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        self.server.simulator.handle_request(self)

    do_PUT = do_POST
    do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        # Keep test output clean; requests are recorded in BaseSimulator.requests.
        pass

    def write_reply(self, reply: Reply) -> None:
        """Send status line, headers and body."""
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in (reply.headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)


class Server(ThreadingHTTPServer):
    """A threading HTTP server that knows its simulator."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: a pass opening a few dozen connections at once
    # had some refused until the client's SYN was sent again, a second later.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], simulator: BaseSimulator[Any]) -> None:
        self.simulator = simulator
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, closed session) is normal here, not worth a
        # traceback on stderr; anything else still gets the default report.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class BaseSimulator(Generic[S]):
    """Lifecycle, request log, latency and fault injection shared by every simulator.

    Use as a context manager or call :meth:`start` / :meth:`stop`. ``sim.url`` is
    the base URL to give ccxt, ``sim.state`` the account to inspect and mutate,
    ``sim.counts`` / ``sim.requests`` what was asked, ``sim.latency`` a delay added
    to every answer.
    """

    #: Prefix of the server thread's name.
    name = "simulator"
    #: Paths serving each role ("markets", "balance", "positions", "open_orders",
    #: "closed_orders", "trades", "ohlcv", "tickers", "time"), spot first, so tests can
    #: script faults or count requests without knowing the exchange.
    paths: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init__(
        self,
        scenario: Scenario | None = None,
        api_key: str = "demo-key",
        secret: str = "demo-secret",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.scenario = scenario if scenario is not None else Scenario()
        self.state: S = self._make_state(self.scenario, api_key, secret)
        self.host = host
        self.port = port
        self.counts: Counter[str] = Counter()
        self.requests: list[tuple[str, str, str]] = []
        self._arrivals: list[tuple[str, float]] = []
        self.latency: float = 0.0
        # Off by default: ccxt's own throttle already stays below the exchanges' limits.
        self.enforce_rate_limits = False
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ip_banned_until = 0.0
        #: requests answered with the ban reply so far
        self.banned_requests = 0
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ exchange hooks

    def _make_state(self, scenario: Scenario, api_key: str, secret: str) -> S:
        raise NotImplementedError

    def _answer(self, method: str, path: str, query: str, handler: Handler) -> Reply:
        """The exchange's real answer to one request."""
        raise NotImplementedError

    def _exchange_error_reply(self, fault: Fault, path: str) -> Reply:
        """The exchange's own error answer for a scripted error-code fault."""
        raise NotImplementedError

    def _ban_reply(self, seconds_left: float) -> Reply:
        """The exchange's answer to a request from a banned IP."""
        raise NotImplementedError

    def _hollow_reply(self, path: str) -> Reply:
        """A success answer without its data (the ``hollow`` fault)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (only once started)."""
        if self._server is None:
            raise RuntimeError("simulator not started")
        return f"http://{self.host}:{self._server.server_address[1]}"

    def ccxt_urls(self, template: dict[str, str]) -> dict[str, str]:
        """``exchange.urls['api']`` rewritten to point at this simulator.

        Keeps each entry's path (Binance's ``public`` ends in ``/api/v3``)
        and swaps scheme and host, so ``exchange.urls['api'] = sim.ccxt_urls(exchange.urls['api'])``
        works for any exchange.
        """
        return {name: self.url + urlsplit(url).path.rstrip("/") for name, url in template.items()}

    def start(self) -> Self:
        """Bind the port and serve from a daemon thread."""
        if self._server is not None:
            return self
        self._server = Server((self.host, self.port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name}:{self._server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ test controls

    def reset_counts(self) -> None:
        """Forget the requests seen so far."""
        with self._lock:
            self.counts.clear()
            self.requests.clear()
            self._arrivals.clear()

    def request_times(self, path: str) -> list[float]:
        """Wall-clock arrival times (epoch seconds) of the requests for ``path``."""
        with self._lock:
            return [t for p, t in self._arrivals if p == path]

    def arrival_times(self) -> list[float]:
        """Wall-clock arrival times (epoch seconds) of every request, in order."""
        with self._lock:
            return [t for _, t in self._arrivals]

    def peak_rate(self, window: float) -> int:
        """The most requests that arrived within any `window` seconds."""
        times = sorted(self.arrival_times())
        peak, first = 0, 0
        for last, moment in enumerate(times):
            while moment - times[first] >= window:
                first += 1
            peak = max(peak, last - first + 1)
        return peak

    def _add_fault(self, fault: Fault) -> Fault:
        if fault.times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Drop every scripted fault not yet used."""
        with self._lock:
            self._faults.clear()

    @property
    def clock_offset(self) -> float:
        """Seconds the exchange's clock runs ahead of this host's (negative: behind).

        A client on a host whose clock is off by -offset signs timestamps the exchange
        rejects; the exchange's time endpoint and its answers carry its own clock.
        """
        return float(self.state.clock_offset)  # type: ignore[attr-defined]

    @clock_offset.setter
    def clock_offset(self, seconds: float) -> None:
        self.state.clock_offset = float(seconds)  # type: ignore[attr-defined]

    def ban(self, seconds: float) -> None:
        """Ban the client's IP: every request gets the exchange's ban answer for ``seconds``."""
        with self._lock:
            self._ip_banned_until = time.time() + seconds

    def lift_ban(self) -> None:
        """End an IP ban early."""
        with self._lock:
            self._ip_banned_until = 0.0

    def ban_left(self) -> float:
        """Seconds left of the current IP ban (0 when none)."""
        with self._lock:
            return max(0.0, self._ip_banned_until - time.time())

    # ------------------------------------------------------------------ request handling

    def handle_request(self, handler: Handler) -> None:
        """Count, delay, fault or answer one request (called on a server thread)."""
        path, _, query = handler.path.partition("?")
        with self._lock:
            now = time.time()
            self.counts[path] += 1
            self.requests.append((handler.command, path, query))
            self._arrivals.append((path, now))
            banned = self._ip_banned_until - now
            if banned > 0:
                self.banned_requests += 1
                fault = None
            else:
                fault = next((f for f in self._faults if f.matches(path)), None)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
        if self.latency > 0:
            time.sleep(self.latency)
        if banned > 0:
            handler.write_reply(self._ban_reply(banned))
            return
        if fault is not None:
            if fault.kind == "drop":
                # Close without a status line: the client sees a disconnect.
                handler.close_connection = True
                return
            if fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault.kind == "http":
                body = fault.body if fault.body is not None else f"<html>{fault.status}</html>"
                content_type = "application/json" if body.startswith(("{", "[")) else "text/html"
                reply = Reply(fault.status or 503, body.encode(), content_type, fault.headers)
                handler.write_reply(reply)
                return
            elif fault.kind == "empty":
                handler.write_reply(Reply(200, b""))
                return
            elif fault.kind == "hollow":
                handler.write_reply(self._hollow_reply(path))
                return
            elif fault.kind != "malformed":
                handler.write_reply(self._exchange_error_reply(fault, path))
                return
        reply = self._answer(handler.command, path, query, handler)
        if fault is not None and fault.kind == "malformed":
            reply.body = reply.body[: max(1, len(reply.body) // 2)]
        handler.write_reply(reply)
