"""The exchange factory: a configured ccxt asyncio client with its markets ready.

Markets come from the `markets` cache when it is fresh: a cold `load_markets()` costs a
dozen requests and megabytes on a real exchange, on every invocation of a one-shot process.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import ssl
import time
from functools import cache
from typing import Any, Protocol
from urllib.parse import urlsplit

from exsync import ccxt_import, orderparse, tradeparse
from exsync.ccxt_import import errors as ccxt
from exsync.config import ExchangeConfig
from exsync.credentials import Credentials
from exsync.errors import ConfigError
from exsync.pacing import Pacer
from exsync.pacing import install as install_pacer
from exsync.profiles import Profile, RequestFix, profile_for
from exsync.retry import Attempts, ClockSync, ban_seconds, call, retry_after
from exsync.sources import rows_at, value_at
from exsync.store import Store

log = logging.getLogger(__name__)


def check_ccxt_id(exchange: ExchangeConfig, source: str) -> None:
    """Raise ConfigError when the exchange's ccxt id is not a ccxt exchange class."""
    if exchange.ccxt_id not in ccxt_import.exchange_ids():
        raise ConfigError(
            [
                f"{source}: exchanges.{exchange.name}.ccxt_id: {exchange.ccxt_id!r} "
                "is not an exchange ccxt knows"
            ]
        )


def client_capabilities(exchange: ExchangeConfig) -> dict[str, Any]:
    """ccxt's `has` for an exchange as exsync configures it (no request is sent)."""
    profile = profile_for(exchange.ccxt_id)
    klass = ccxt_import.exchange_class(exchange.ccxt_id)
    client = klass({"has": dict(profile.has)} if profile.has else {})
    return dict(client.has)


def create_client(
    exchange: ExchangeConfig,
    credentials: Credentials,
    profile: Profile,
    market_types: tuple[str, ...],
    pacer: Pacer | None = None,
    gate: Gate | None = None,
) -> Any:
    """Build the ccxt asyncio client for one configured exchange (no request is sent).

    With a `pacer` (exchanges whose profile documents their limits), requests are paced by
    it; an operator's `rate_limit_ms` keeps ccxt's own bucket on top as an extra cap.
    `gate`: where the client checks for, and reports, an IP ban (see `_instrument`).
    """
    klass = ccxt_import.exchange_class(exchange.ccxt_id)
    options = _deep_merge(profile.ccxt_options(market_types), dict(exchange.options))
    settings: dict[str, Any] = {
        "enableRateLimit": True,
        "timeout": int(exchange.settings.timeout * 1000),
        "options": options,
    }
    if profile.has:
        settings["has"] = dict(profile.has)
    rate_limit = exchange.settings.rate_limit_ms
    if rate_limit is not None:
        settings["rateLimit"] = rate_limit
    if credentials.api_key:
        settings["apiKey"] = credentials.api_key
        settings["secret"] = credentials.secret
    if credentials.password:
        settings["password"] = credentials.password
    if exchange.api_url and exchange.api_url.startswith("http://"):
        # Plain HTTP has no TLS to verify: no SSL context (and CA bundle) is built.
        settings["verify"] = False
    client = klass(settings)
    # ccxt hands back amounts as the exchange's own decimal strings instead of binary
    # floats: the mirror stores them exactly.
    client.number = str
    if client.verify and not client.safe_bool(client.options, "include_OS_certificates", False):
        client.ssl_context = _ssl_context(client.cafile)
    _instrument(client, profile, gate)
    for method, fix in profile.request_fixes.items():
        _fix_requests(client, method, fix)
    tradeparse.install(client, profile.trade_shapes)
    orderparse.install(client, profile.order_shapes)
    if exchange.sandbox and not exchange.api_url:
        client.set_sandbox_mode(True)
    if exchange.api_url:
        client.urls["api"] = _replace_urls(client.urls["api"], exchange.api_url)
        if exchange.api_url.startswith("http://"):
            # ccxt waits 250 ms on close so aiohttp can shut TLS connections down cleanly;
            # plain HTTP has nothing to shut down.
            client.timeout_on_exit = 0
    if pacer is not None:
        install_pacer(client, pacer)
        client.enableRateLimit = exchange.settings.rate_limit_ms is not None
    return client


@cache
def _ssl_context(cafile: str) -> ssl.SSLContext:
    """One TLS context per process, as ccxt would build it for every client.

    ccxt builds a new one (loading its whole CA bundle) each time a client opens; in a
    process that runs a pass every minute for weeks (`exsync run`) those contexts are never
    given back whole, and memory grows with every pass.
    """
    return ssl.create_default_context(cafile=cafile)


class Gate(Protocol):
    """Where a client learns that the exchange banned this IP, and reports a ban it met."""

    def check(self) -> None:
        """Raise retry.HeldOff when the IP this client uses is banned."""

    def banned(self, seconds: float, reason: str) -> None:
        """The exchange answered with a ban of `seconds`."""


def _instrument(client: Any, profile: Profile, gate: Gate | None = None) -> None:
    """Sharpen ccxt's reading of answers, for every exchange, by wrapping its response checks.

    - A successful response whose body is empty, not JSON, or without the shape the profile
      gives the endpoint raises ccxt.BadResponse: ccxt would hand it to the parser as an
      empty answer, and a balance would then read as "no assets" and wipe the mirror.
    - Every error carries what the exchange said: `http_status`, `exchange_code` (its own
      error code), and a rate limit's `retry_after` (the seconds it asked for, which the
      retry policy waits instead of its own guess).
    - With a gate, no request goes out while the IP is banned, and a ban is reported to it
      the moment it is answered.
    """
    handle_errors, handle_status = client.handle_errors, client.handle_http_status_code
    last: dict[str, Any] = {}

    def annotate(exc: Exception) -> None:
        exc.http_status = last.get("status")  # type: ignore[attr-defined]
        exc.exchange_code = last.get("code")  # type: ignore[attr-defined]
        if isinstance(exc, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
            # Only a rate limit's reset time is a time to wait: Bybit sends the header on
            # every private answer.
            headers = last.get("headers") or {}
            exc.retry_after = retry_after(headers, int(time.time() * 1000))  # type: ignore[attr-defined]

    def checked_errors(code: int, reason: str, url: str, method: str, *rest: Any) -> Any:
        headers, body, response = rest[0], rest[1], rest[2]
        # ccxt calls handle_http_status_code right after this, with no await in between,
        # so what is kept here belongs to the same response.
        last.clear()
        last.update(status=code, headers=headers or {}, code=_error_code(response, profile))
        try:
            result = handle_errors(code, reason, url, method, *rest)
        except ccxt.BaseError as exc:
            annotate(exc)
            raise
        if 200 <= code < 300:
            where = f"{client.id} {method} {url.split('?')[0]}"
            if body is None or not body.strip():
                raise ccxt.BadResponse(f"{where}: empty answer")
            if response is None:
                raise ccxt.BadResponse(f"{where}: body is not JSON")
            missing = _missing(response, urlsplit(url).path, profile.answer_shapes)
            if missing:
                raise ccxt.BadResponse(f"{where}: answer without {missing}")
        return result

    def checked_status(*args: Any) -> Any:
        try:
            return handle_status(*args)
        except ccxt.BaseError as exc:
            annotate(exc)
            hint = profile.http_hints.get(last.get("status") or 0)
            if hint:
                exc.args = (f"{exc.args[0] if exc.args else ''} ({hint})",)
            raise

    client.handle_errors = checked_errors
    client.handle_http_status_code = checked_status
    if gate is None:
        return
    fetch = client.fetch

    async def gated_fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None):  # type: ignore[no-untyped-def]
        gate.check()
        try:
            return await fetch(url, method, headers, body)
        except ccxt.BaseError as exc:
            seconds = ban_seconds(exc, profile.bans)
            if seconds is not None:
                gate.banned(seconds, f"HTTP {exc.http_status} from {client.id}")  # type: ignore[attr-defined]
            raise

    client.fetch = gated_fetch


def _error_code(response: Any, profile: Profile) -> str | None:
    """The exchange's own error code in an answer, as text."""
    if not isinstance(response, dict) or not profile.error_code_field:
        return None
    code = response.get(profile.error_code_field)
    return None if code is None else str(code)


def _missing(response: Any, path: str, shapes: dict[str, tuple[str, str]]) -> str | None:
    """What a well-formed answer for `path` would hold and this one lacks, or None."""
    for where, (key, kind) in shapes.items():
        applies = path.startswith(where) if where.endswith("/") else path.endswith(where)
        if not applies:
            continue
        value = value_at(response, key)
        if kind == "value":
            if value is None or isinstance(value, list | dict):
                return f"a value {key!r}"
            continue
        if not isinstance(value, list if kind == "list" else dict):
            return f"{kind} {key!r}" if key else f"a {kind}"
    return None


def _fix_requests(client: Any, method: str, fix: RequestFix) -> None:
    """Wrap one implicit API method of a client as the profile's RequestFix says."""
    original = getattr(client, method)

    async def fixed(params: dict[str, Any] | None = None, *args: Any, **kwargs: Any) -> Any:
        request = {k: v for k, v in (params or {}).items() if k not in fix.drop}
        response = await original(request, *args, **kwargs)
        tag = fix.tag_rows_with
        if tag and tag in request:
            for row in _rows_of(response):
                row.setdefault(tag, request[tag])
        return response

    setattr(client, method, fixed)


def _rows_of(response: Any) -> list[dict[str, Any]]:
    """The rows of an answer: a list, or the `list` inside its `result` (Bybit's envelope)."""
    return rows_at(response, "" if isinstance(response, list) else "result.list")


def markets_fingerprint(exchange: ExchangeConfig, market_types: tuple[str, ...]) -> str:
    """What the cached markets depend on; a change invalidates the cache."""
    key = {
        "ccxt": ccxt_import.version,
        "id": exchange.ccxt_id,
        "url": exchange.api_url,
        "sandbox": exchange.sandbox,
        "types": sorted(market_types),
        "options": exchange.options,
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]


async def prepare_markets(
    client: Any,
    exchange: ExchangeConfig,
    market_types: tuple[str, ...],
    store: Store,
    counter: Attempts,
    clock: ClockSync | None = None,
) -> bool:
    """Load markets from the cache or the exchange; return True when the cache served them."""
    fingerprint = markets_fingerprint(exchange, market_types)
    cached = await store.run(
        store.load_markets, exchange.name, fingerprint, exchange.settings.markets_ttl
    )
    if cached is not None:
        markets, currencies = cached
        client.set_markets(markets, currencies)
        return True
    await _load_markets(client, exchange, market_types, store, counter, False, clock)
    return False


async def _load_markets(
    client: Any,
    exchange: ExchangeConfig,
    market_types: tuple[str, ...],
    store: Store,
    counter: Attempts,
    reload: bool,
    clock: ClockSync | None,
) -> None:
    """Download the markets and replace the cached ones."""
    settings = exchange.settings
    profile = profile_for(exchange.ccxt_id)
    await call(
        client.load_markets,
        reload,
        counter=counter,
        max_tries=settings.max_tries,
        max_time=settings.max_time,
        transient=profile.transient_codes,
        bans=profile.bans,
        clock=clock,
    )
    await store.run(
        store.save_markets,
        exchange.name,
        exchange.ccxt_id,
        markets_fingerprint(exchange, market_types),
        list(client.markets.values()),
        dict(client.currencies) if client.currencies else None,
    )
    log.debug("%s: cached %d markets", exchange.name, len(client.markets))


class MarketRefresh:
    """Downloads an exchange's markets again, at most once per pass, when a unit meets a
    market the cached ones do not know (a new listing, a delisting, a typo in the config)."""

    def __init__(
        self,
        client: Any,
        exchange: ExchangeConfig,
        market_types: tuple[str, ...],
        store: Store,
        clock: ClockSync | None = None,
    ) -> None:
        self.client = client
        self.exchange = exchange
        self.market_types = market_types
        self.store = store
        self.clock = clock
        self.done = False
        self._lock = asyncio.Lock()

    async def __call__(self, counter: Attempts) -> bool:
        """Refresh unless this pass already did; True when the markets were downloaded now."""
        async with self._lock:
            if self.done:
                return False
            self.done = True
            log.info("%s: a market the cached markets do not know; refreshing them", self.name)
            await _load_markets(
                self.client, self.exchange, self.market_types, self.store, counter, True, self.clock
            )
            return True

    @property
    def name(self) -> str:
        return self.exchange.name


def _replace_urls(urls: Any, base: str) -> Any:
    """Point every API base URL ccxt knows for the exchange at `base`, keeping its path.

    Binance's bases carry the API version in the path (`.../api/v3`, `.../fapi/v1`);
    Bybit's are bare hosts. Only scheme and host are replaced.
    """
    if isinstance(urls, dict):
        return {key: _replace_urls(value, base) for key, value in urls.items()}
    if not isinstance(urls, str):
        return urls
    return base.rstrip("/") + urlsplit(urls).path.rstrip("/")


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
