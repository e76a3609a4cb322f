"""HTTP side of the Binance simulator: signed query strings, ``{"code","msg"}`` errors
with 4xx statuses, and per-minute request weights with 429 / 418 answers."""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from typing import ClassVar
from urllib.parse import parse_qsl

from ..httpbase import TRANSPORT_FAULT_KINDS, BaseSimulator, Fault, Handler, Reply, json_reply
from ..scenario import Scenario
from .endpoints import POOLS, ROUTES, BinanceError, Params, mandatory, status_for
from .state import BinanceState

FAULT_KINDS = ("code", *TRANSPORT_FAULT_KINDS)
_DEFAULT_RECV_WINDOW = 5000
_MAX_RECV_WINDOW = 60000
# An IP ban starts at 2 minutes and doubles for repeat offenders, up to 3 days.
_FIRST_BAN_S = 120
_MAX_BAN_S = 3 * 86400


def _error_reply(error: BinanceError, headers: dict[str, str] | None = None) -> Reply:
    return json_reply(
        {"code": error.code, "msg": error.msg}, error.status, {**(headers or {}), **error.headers}
    )


def _pool_of(path: str) -> str | None:
    route = ROUTES.get(path)
    if route is not None:
        return route.pool
    prefix = path.split("/")[1] if path.count("/") > 1 else ""
    return prefix if prefix in POOLS else None


class BinanceSimulator(BaseSimulator[BinanceState]):
    """A simulated Binance (spot + USD-M futures) REST exchange on 127.0.0.1 for ccxt.

    One base URL serves ``/api/v3``, ``/fapi/v1..v3``, ``/sapi/v1`` and ``/dapi/v1``;
    point ccxt at it with ``exchange.urls['api'] = sim.ccxt_urls(exchange.urls['api'])``
    (each entry keeps its path). ``sim.state`` is a :class:`BinanceState`.

    Rate limits: every answer carries the pool's used weight for the current minute
    (``X-MBX-USED-WEIGHT-1M``; ``X-SAPI-USED-IP-WEIGHT-1M`` for /sapi by IP,
    ``X-SAPI-USED-UID-WEIGHT-1M`` by account, ``X-SAPI-USED-IP-WEIGHT-1S`` for the
    withdrawal history's per-second budget). With
    ``enforce_rate_limits`` on, a request over ``weight_limits[pool]`` gets HTTP 429
    ``-1003`` with ``Retry-After``; any further request to that pool before then
    bans the IP (HTTP 418, 2 minutes, doubling). :meth:`reset_rate_limits` forgives.
    """

    name = "binance-simulator"
    paths: ClassVar[dict[str, tuple[str, ...]]] = {
        "markets": ("/api/v3/exchangeInfo", "/fapi/v1/exchangeInfo"),
        "balance": ("/api/v3/account", "/fapi/v3/account"),
        "positions": ("/fapi/v3/positionRisk",),
        "open_orders": ("/api/v3/openOrders", "/fapi/v1/openOrders"),
        "closed_orders": ("/api/v3/allOrders", "/fapi/v1/allOrders"),
        "trades": ("/api/v3/myTrades", "/fapi/v1/userTrades"),
        "ohlcv": ("/api/v3/klines", "/fapi/v1/klines"),
        "tickers": ("/api/v3/ticker/24hr", "/fapi/v1/ticker/24hr"),
        "time": ("/api/v3/time", "/fapi/v1/time"),
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
        #: Weight limit per pool ("api", "fapi", "dapi", "sapi", "sapi_uid", "sapi_1s"), per
        #: minute (sapi_1s: per second); lower it in tests.
        self.weight_limits: dict[str, int] = {pool: limit for pool, (limit, *_) in POOLS.items()}
        self._weights: dict[str, tuple[int, int]] = {}
        self._backoff_until: dict[str, float] = {}
        self._banned_until: dict[str, float] = {}
        self._bans: dict[str, int] = {}

    def _make_state(self, scenario: Scenario, api_key: str, secret: str) -> BinanceState:
        return BinanceState(scenario, api_key, secret)

    # ------------------------------------------------------------------ test controls

    def fail_next(
        self,
        path: str | None = None,
        times: int = 1,
        status: int | None = None,
        body: str | None = None,
        code: int | None = None,
        msg: str = "",
        kind: str | None = None,
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> Fault:
        """Answer the next ``times`` requests for ``path`` (None: any path) with a fault.

        Without ``kind``, ``code`` gives a Binance error ``{"code": code, "msg": msg}``
        with ``status`` (default: what Binance uses for that code, e.g. 429 for -1003,
        401 for -2015, else 400), and ``status`` alone an HTTP error with ``body``
        (default a small HTML page). ``headers`` go with either (e.g. ``Retry-After``).
        Other kinds: ``drop``, ``slow`` (``delay`` seconds), ``malformed``. Faulted
        requests are still counted.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        if kind is None:
            kind = "code" if code is not None else "http" if status is not None else ""
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault needs code, status or kind in {FAULT_KINDS}")
        if kind == "http" and status is None:
            status = 503
        if kind == "code":
            if code is None:
                raise ValueError("kind='code' needs code")
            if status is None:
                status = status_for(code)
        fault = Fault(kind, path, times, status, body, code, msg, delay, headers)
        return self._add_fault(fault)

    def reset_rate_limits(self) -> None:
        """Forget used weights, pending 429 back-offs and IP bans."""
        with self._lock:
            self._weights.clear()
            self._backoff_until.clear()
            self._banned_until.clear()
            self._bans.clear()

    def used_weight(self, pool: str = "api") -> int:
        """Weight used in the current interval by ``pool`` (see ``weight_limits``)."""
        with self._lock:
            interval, used = self._weights.get(pool, (0, 0))
            return used if interval == int(time.time() // POOLS[pool][2]) else 0

    # ------------------------------------------------------------------ request handling

    def _exchange_error_reply(self, fault: Fault, path: str) -> Reply:
        code = fault.ret_code if fault.ret_code is not None else -1000
        error = BinanceError(code, fault.ret_msg, fault.status)
        headers = {}
        pool = _pool_of(path)
        if pool is not None:
            headers = self._weight_headers(pool, self._count(pool, 1))
        return _error_reply(error, {**headers, **(fault.headers or {})})

    def _ban_reply(self, seconds_left: float) -> Reply:
        return _error_reply(self._ban_error(seconds_left))

    def _ban_error(self, seconds_left: float) -> BinanceError:
        """Binance's 418: the IP is banned for `seconds_left`, until a time of its clock."""
        until = int((time.time() + seconds_left + self.state.clock_offset) * 1000)
        return BinanceError(
            -1003,
            f"Way too much request weight used; IP banned until {until}. "
            "Please use WebSocket Streams for live updates to avoid bans.",
            418,
            {"Retry-After": str(math.ceil(seconds_left))},
        )

    def _hollow_reply(self, path: str) -> Reply:
        # A proxy's idea of success: valid JSON, none of the fields the endpoint returns.
        return json_reply({})

    def _answer(self, method: str, path: str, query: str, handler: Handler) -> Reply:
        route = ROUTES.get(path)
        if route is None or method != route.method:
            body = b"<html><body><h2>404 Not found</h2></body></html>"
            return Reply(404, body, "text/html")
        headers: dict[str, str] = {}
        # A POST's parameters may come in the query string, the form body or both; the
        # signature covers the two concatenated ("totalParams").
        form = handler.body.decode() if method == "POST" else ""
        try:
            pairs = parse_qsl(query, keep_blank_values=True)
            params = Params(pairs + parse_qsl(form, keep_blank_values=True))
            used = self._count(route.pool, route.weight_of(params))
            headers = self._weight_headers(route.pool, used)
            self._check_limits(route.pool, used)
            if route.signed:
                self._authenticate(handler, query + form, params)
            return json_reply(route.handler(self.state, params), headers=headers)
        except BinanceError as error:
            return _error_reply(error, headers)

    # ------------------------------------------------------------------ weights

    def _count(self, pool: str, weight: int) -> int:
        interval = int(time.time() // POOLS[pool][2])
        with self._lock:
            start, used = self._weights.get(pool, (interval, 0))
            used = (used if start == interval else 0) + weight
            self._weights[pool] = (interval, used)
            return used

    @staticmethod
    def _weight_headers(pool: str, used: int) -> dict[str, str]:
        name = POOLS[pool][1]
        headers = {name: str(used)}
        if name.startswith("X-MBX"):
            # The legacy header Binance still sends next to the interval-specific one.
            headers["X-MBX-USED-WEIGHT"] = str(used)
        return headers

    def _check_limits(self, pool: str, used: int) -> None:
        if not self.enforce_rate_limits:
            return
        now = time.time()
        with self._lock:
            banned_until = self._banned_until.get(pool, 0.0)
            if now >= banned_until and now < self._backoff_until.get(pool, 0.0):
                # Kept going after a 429 before Retry-After passed: ban the IP.
                self._bans[pool] = self._bans.get(pool, 0) + 1
                seconds = min(_FIRST_BAN_S * 2 ** (self._bans[pool] - 1), _MAX_BAN_S)
                banned_until = self._banned_until[pool] = now + seconds
                self._backoff_until.pop(pool, None)
            if now < banned_until:
                raise self._ban_error(banned_until - now)
            limit = self.weight_limits[pool]
            if used > limit:
                seconds = POOLS[pool][2]
                minute_end = (int(now // seconds) + 1) * seconds
                self._backoff_until[pool] = minute_end
                raise BinanceError(
                    -1003,
                    f"Too much request weight used; current limit is {limit} request weight "
                    "per 1 MINUTE. Please use WebSocket Streams for live updates to avoid "
                    "polling the API.",
                    429,
                    {"Retry-After": str(math.ceil(minute_end - now))},
                )

    # ------------------------------------------------------------------ authentication

    def _authenticate(self, handler: Handler, query: str, params: Params) -> None:
        """Binance's SIGNED rules: key header, timestamp inside recvWindow, HMAC-SHA256
        hex of the query string exactly as sent without its ``signature`` parameter."""
        api_key = handler.headers.get("X-MBX-APIKEY") or ""
        if not api_key:
            raise BinanceError(-2014, "API-key format invalid.")
        secret = self.state.secret_for(api_key)
        if secret is None:
            raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.")
        timestamp = params.integer("timestamp")
        if timestamp is None:
            raise mandatory("timestamp")
        if timestamp > 10**14:
            timestamp //= 1000  # sent in microseconds
        window_text = params.get("recvWindow")
        try:
            window = float(window_text) if window_text is not None else _DEFAULT_RECV_WINDOW
        except ValueError:
            raise mandatory("recvWindow") from None
        if window > _MAX_RECV_WINDOW:
            raise BinanceError(-1131, "recvWindow must be less than 60000")
        server_ms = self.state.server_ms()
        if timestamp >= server_ms + 1000:
            raise BinanceError(
                -1021, "Timestamp for this request was 1000ms ahead of the server's time."
            )
        if server_ms - timestamp > window:
            raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")
        parts = query.split("&")
        signatures = [p[len("signature=") :] for p in parts if p.startswith("signature=")]
        if not signatures or not signatures[-1]:
            raise mandatory("signature")
        payload = "&".join(p for p in parts if not p.startswith("signature="))
        expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        # HMAC signatures are not case-sensitive on Binance.
        if not hmac.compare_digest(expected, signatures[-1].lower()):
            raise BinanceError(-1022, "Signature for this request is not valid.")
