"""HTTP side of the simulator: a stdlib threading server speaking Bybit's v5 wire protocol.

The server runs in its own daemon thread, so a client's asyncio loop (ccxt's
``async_support``) stays completely independent of it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

from .endpoints import ROUTES, ApiError, Params, Route
from .scenario import Scenario
from .state import ExchangeState

FAULT_KINDS = ("http", "retcode", "drop", "slow", "malformed")
_DEFAULT_RECV_WINDOW = 5000


@dataclass
class Fault:
    """A scripted answer given to the next ``times`` requests matching ``path``.

    Kinds: ``http`` (status + body, e.g. a 503 HTML page from a load balancer),
    ``retcode`` (HTTP 200 with a Bybit error envelope), ``drop`` (close the socket
    without answering), ``slow`` (wait ``delay`` seconds, then answer normally),
    ``malformed`` (HTTP 200 with the real JSON cut in half).
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


def envelope(result: dict[str, Any], ret_code: int = 0, ret_msg: str = "OK") -> dict[str, Any]:
    """Bybit's response envelope around a ``result`` object."""
    return {
        "retCode": ret_code,
        "retMsg": ret_msg,
        "result": result,
        "retExtInfo": {},
        "time": int(time.time() * 1000),
    }


def _json_reply(payload: dict[str, Any], status: int = 200) -> Reply:
    return Reply(status, json.dumps(payload, separators=(",", ":")).encode())


def _error_reply(error: ApiError) -> Reply:
    return _json_reply(envelope({}, error.ret_code, error.ret_msg), error.http_status)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps client connections alive across requests, as a real API does.
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self.server.simulator.handle_request(self)

    def do_POST(self) -> None:
        # Drain the body so the connection stays usable, then answer "unknown route".
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.simulator.handle_request(self)

    def log_message(self, format: str, *args: Any) -> None:
        # Keep test output clean; requests are recorded in BybitSimulator.requests.
        pass

    def write_reply(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in (reply.headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], simulator: BybitSimulator) -> None:
        self.simulator = simulator
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, closed session) is normal here, not worth a
        # traceback on stderr; anything else still gets the default report.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class BybitSimulator:
    """A simulated Bybit v5 REST exchange on 127.0.0.1 for the real ccxt client.

    Use as a context manager (``with BybitSimulator(Scenario()) as sim:``) or call
    :meth:`start` / :meth:`stop`. ``sim.url`` is the base URL to give ccxt,
    ``sim.state`` the account to inspect and mutate, ``sim.counts`` / ``sim.requests``
    what was asked, ``sim.latency`` a delay added to every answer and
    :meth:`fail_next` scripts faults.
    """

    def __init__(
        self,
        scenario: Scenario | None = None,
        api_key: str = "demo-key",
        secret: str = "demo-secret",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.scenario = scenario if scenario is not None else Scenario()
        self.state = ExchangeState(self.scenario, api_key, secret)
        self.host = host
        self.port = port
        self.counts: Counter[str] = Counter()
        self.requests: list[tuple[str, str, str]] = []
        self._arrivals: list[tuple[str, float]] = []
        self.latency: float = 0.0
        # Off by default: ccxt's own throttle already stays below Bybit's limits.
        self.enforce_rate_limits = False
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._recent: dict[str, deque[float]] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (only once started)."""
        if self._server is None:
            raise RuntimeError("simulator not started")
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> BybitSimulator:
        """Bind the port and serve from a daemon thread."""
        if self._server is not None:
            return self
        self._server = _Server((self.host, self.port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"bybit-simulator:{self._server.server_address[1]}",
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

    def __enter__(self) -> BybitSimulator:
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

    def fail_next(
        self,
        path: str | None = None,
        times: int = 1,
        status: int | None = None,
        body: str | None = None,
        ret_code: int | None = None,
        ret_msg: str = "",
        kind: str | None = None,
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> Fault:
        """Answer the next ``times`` requests for ``path`` (None: any path) with a fault.

        Without ``kind``, ``ret_code`` gives a Bybit error (HTTP 200 JSON) and
        ``status`` an HTTP error with ``body``; ``headers`` go with either (e.g. a
        ``Retry-After``). Faulted requests are still counted.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        if kind is None:
            kind = "retcode" if ret_code is not None else "http" if status is not None else ""
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault needs ret_code, status or kind in {FAULT_KINDS}")
        if kind == "http" and status is None:
            status = 503
        if kind == "retcode" and ret_code is None:
            raise ValueError("kind='retcode' needs ret_code")
        fault = Fault(kind, path, times, status, body, ret_code, ret_msg, delay, headers)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Drop every scripted fault not yet used."""
        with self._lock:
            self._faults.clear()

    # ------------------------------------------------------------------ request handling

    def handle_request(self, handler: _Handler) -> None:
        """Count, delay, fault or answer one request (called on a server thread)."""
        path, _, query = handler.path.partition("?")
        with self._lock:
            self.counts[path] += 1
            self.requests.append((handler.command, path, query))
            self._arrivals.append((path, time.time()))
            fault = next((f for f in self._faults if f.matches(path)), None)
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
        if self.latency > 0:
            time.sleep(self.latency)
        if fault is not None:
            if fault.kind == "drop":
                # Close without a status line: the client sees a disconnect.
                handler.close_connection = True
                return
            if fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault.kind == "http":
                body = fault.body if fault.body is not None else f"<html>{fault.status}</html>"
                content_type = "application/json" if body.startswith("{") else "text/html"
                reply = Reply(fault.status or 503, body.encode(), content_type, fault.headers)
                handler.write_reply(reply)
                return
            elif fault.kind == "retcode":
                reply = _error_reply(ApiError(fault.ret_code or 10016, fault.ret_msg))
                reply.headers = fault.headers
                handler.write_reply(reply)
                return
        reply = self._answer(handler.command, path, query, handler)
        if fault is not None and fault.kind == "malformed":
            reply.body = reply.body[: max(1, len(reply.body) // 2)]
        handler.write_reply(reply)

    def _answer(self, method: str, path: str, query: str, handler: _Handler) -> Reply:
        route = ROUTES.get(path)
        if method != "GET" or route is None:
            return _error_reply(ApiError(10017, "Route not found", http_status=404))
        headers: dict[str, str] = {}
        try:
            if route.private:
                self._authenticate(handler, query)
                headers = self._limit_headers(path, route)
            params = Params(parse_qsl(query, keep_blank_values=True))
            reply = _json_reply(envelope(route.handler(self.state, params)))
        except ApiError as error:
            reply = _error_reply(error)
        reply.headers = headers
        return reply

    def _authenticate(self, handler: _Handler, query: str) -> None:
        """Check Bybit's v5 HMAC signature against the raw query string as received."""
        api_key = handler.headers.get("X-BAPI-API-KEY") or ""
        timestamp = handler.headers.get("X-BAPI-TIMESTAMP") or ""
        signature = (handler.headers.get("X-BAPI-SIGN") or "").lower()
        recv_window = handler.headers.get("X-BAPI-RECV-WINDOW") or str(_DEFAULT_RECV_WINDOW)
        secret = self.state.secret_for(api_key) if api_key else None
        if secret is None:
            raise ApiError(10003, "API key is invalid.")
        try:
            ts = int(timestamp)
            window = int(recv_window)
        except ValueError:
            raise ApiError(10001, "params error: timestamp or recv_window invalid") from None
        server_ms = int(time.time() * 1000)
        if not server_ms - window <= ts < server_ms + 1000:
            raise ApiError(
                10002,
                "invalid request, please check your server timestamp or recv_window param. "
                f"req_timestamp[{ts}],server_timestamp[{server_ms}],recv_window[{window}]",
            )
        payload = f"{timestamp}{api_key}{recv_window}{query}".encode()
        expected = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise ApiError(10004, "Error sign, please check your signature generation algorithm.")

    def _limit_headers(self, path: str, route: Route) -> dict[str, str]:
        """Bybit's per-UID rate-limit headers over a rolling one-second window."""
        now = time.time()
        with self._lock:
            recent = self._recent.setdefault(path, deque())
            while recent and recent[0] <= now - 1:
                recent.popleft()
            recent.append(now)
            used = len(recent)
            reset_ms = int((recent[0] + 1) * 1000)
        if self.enforce_rate_limits and used > route.rate_limit:
            raise ApiError(10006, "Too many visits. Exceeded the API Rate Limit.")
        return {
            "X-Bapi-Limit": str(route.rate_limit),
            "X-Bapi-Limit-Status": str(max(0, route.rate_limit - used)),
            "X-Bapi-Limit-Reset-Timestamp": str(reset_ms),
        }
