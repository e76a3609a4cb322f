"""HTTP side of the Bybit simulator: Bybit's v5 wire protocol on the shared server."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import deque
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from .endpoints import ROUTES, ApiError, Params, Route
from .funds_endpoints import FUNDS_ROUTES
from .httpbase import TRANSPORT_FAULT_KINDS, BaseSimulator, Fault, Handler, Reply, json_reply
from .scenario import Scenario
from .state import ExchangeState

__all__ = ["FAULT_KINDS", "BybitSimulator", "Fault", "Reply", "envelope"]

FAULT_KINDS = ("retcode", *TRANSPORT_FAULT_KINDS)
_DEFAULT_RECV_WINDOW = 5000
# Bybit's IP limit: 600 requests in any 5-second window; over it, "403, access too frequent"
# and a ban of at least 10 minutes.
IP_LIMIT = (600, 5.0)
IP_BAN_S = 600.0


def envelope(
    result: dict[str, Any], ret_code: int = 0, ret_msg: str = "OK", now_ms: int | None = None
) -> dict[str, Any]:
    """Bybit's response envelope around a ``result`` object; ``time`` is the server's clock."""
    return {
        "retCode": ret_code,
        "retMsg": ret_msg,
        "result": result,
        "retExtInfo": {},
        "time": int(time.time() * 1000) if now_ms is None else now_ms,
    }


def _error_reply(error: ApiError, now_ms: int | None = None) -> Reply:
    if error.ret_code is None:
        # An answer of Bybit's gateway, not of the API: no envelope, no body.
        return Reply(error.http_status, b"")
    return json_reply(envelope({}, error.ret_code, error.ret_msg, now_ms), error.http_status)


class BybitSimulator(BaseSimulator[ExchangeState]):
    """A simulated Bybit v5 REST exchange on 127.0.0.1 for the real ccxt client.

    Use as a context manager (``with BybitSimulator(Scenario()) as sim:``) or call
    :meth:`start` / :meth:`stop`. ``sim.url`` is the base URL to give ccxt,
    ``sim.state`` the account to inspect and mutate, ``sim.counts`` / ``sim.requests``
    what was asked, ``sim.latency`` a delay added to every answer and
    :meth:`fail_next` scripts faults.
    """

    name = "bybit-simulator"
    paths: ClassVar[dict[str, tuple[str, ...]]] = {
        "markets": ("/v5/market/instruments-info",),
        "balance": ("/v5/account/wallet-balance",),
        "positions": ("/v5/position/list",),
        "open_orders": ("/v5/order/realtime",),
        "closed_orders": ("/v5/order/history",),
        "trades": ("/v5/execution/list",),
        "ohlcv": ("/v5/market/kline",),
        "tickers": ("/v5/market/tickers",),
        "time": ("/v5/market/time",),
        "deposits": ("/v5/asset/deposit/query-record", "/v5/asset/deposit/query-internal-record"),
        "withdrawals": ("/v5/asset/withdraw/query-record",),
        "transfers": (
            "/v5/asset/transfer/query-inter-transfer-list",
            "/v5/asset/transfer/query-universal-transfer-list",
        ),
        "ledger": ("/v5/account/transaction-log",),
        "closed_positions": ("/v5/position/closed-pnl",),
    }

    def __init__(
        self,
        scenario: Scenario | None = None,
        api_key: str = "demo-key",
        secret: str = "demo-secret",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(scenario, api_key, secret, host, port)
        self._recent: dict[str, deque[float]] = {}
        self._ip_recent: deque[float] = deque()
        #: (requests, seconds) per IP before a ban, and the ban's length, when
        #: ``enforce_rate_limits`` is on
        self.ip_limit = IP_LIMIT
        self.ip_ban_seconds = IP_BAN_S

    def _make_state(self, scenario: Scenario, api_key: str, secret: str) -> ExchangeState:
        return ExchangeState(scenario, api_key, secret)

    # ------------------------------------------------------------------ test controls

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
        return self._add_fault(fault)

    # ------------------------------------------------------------------ request handling

    def _exchange_error_reply(self, fault: Fault, path: str) -> Reply:
        reply = _error_reply(ApiError(fault.ret_code or 10016, fault.ret_msg))
        reply.headers = fault.headers
        return reply

    def _ban_reply(self, seconds_left: float) -> Reply:
        # Bybit's gateway, not the API: no JSON envelope and no time to wait; the docs ask
        # for at least 10 minutes away.
        return Reply(403, b"access too frequent", "text/plain")

    def _hollow_reply(self, path: str) -> Reply:
        body = envelope({}, now_ms=self.state.server_ms())
        del body["result"]
        return json_reply(body)

    def _answer(self, method: str, path: str, query: str, handler: Handler) -> Reply:
        route = ROUTES.get(path) or FUNDS_ROUTES.get(path)
        if method != "GET" or route is None:
            return _error_reply(ApiError(10017, "Route not found", http_status=404))
        if self._over_ip_limit():
            self.ban(self.ip_ban_seconds)
            return self._ban_reply(self.ip_ban_seconds)
        headers: dict[str, str] = {}
        now_ms = self.state.server_ms()
        try:
            if route.private:
                self._authenticate(handler, query)
                uid = handler.headers.get("X-BAPI-API-KEY") or ""
                headers = self._limit_headers(path, route, uid)
            params = Params(parse_qsl(query, keep_blank_values=True))
            reply = json_reply(envelope(route.handler(self.state, params), now_ms=now_ms))
        except ApiError as error:
            reply = _error_reply(error, now_ms)
        reply.headers = headers
        return reply

    def _over_ip_limit(self) -> bool:
        """Count a request against the per-IP window; True when it breaks the limit."""
        if not self.enforce_rate_limits:
            return False
        limit, window = self.ip_limit
        now = time.time()
        with self._lock:
            recent = self._ip_recent
            while recent and recent[0] <= now - window:
                recent.popleft()
            recent.append(now)
            return len(recent) > limit

    def _authenticate(self, handler: Handler, query: str) -> None:
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
        server_ms = self.state.server_ms()
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

    def _limit_headers(self, path: str, route: Route, uid: str) -> dict[str, str]:
        """Bybit's per-UID rate-limit headers over a rolling one-second window (each API key
        stands for an account here)."""
        now = time.time()
        with self._lock:
            recent = self._recent.setdefault(f"{uid} {path}", deque())
            while recent and recent[0] <= now - 1:
                recent.popleft()
            recent.append(now)
            used = len(recent)
            reset_ms = int((recent[0] + 1 + self.state.clock_offset) * 1000)
        if self.enforce_rate_limits and used > route.rate_limit:
            raise ApiError(10006, "Too many visits. Exceeded the API Rate Limit.")
        return {
            "X-Bapi-Limit": str(route.rate_limit),
            "X-Bapi-Limit-Status": str(max(0, route.rate_limit - used)),
            "X-Bapi-Limit-Reset-Timestamp": str(reset_ms),
        }
