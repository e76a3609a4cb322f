"""The exchange factory: a configured ccxt asyncio client with its markets ready.

Markets come from the `markets` cache when it is fresh: a cold `load_markets()` costs a
dozen requests and megabytes on a real exchange, on every invocation of a one-shot process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

from exsync import ccxt_import
from exsync.ccxt_import import errors as ccxt
from exsync.config import ExchangeConfig
from exsync.credentials import Credentials
from exsync.errors import ConfigError
from exsync.pacing import Pacer
from exsync.pacing import install as install_pacer
from exsync.profiles import Profile, RequestFix, profile_for
from exsync.retry import Attempts, call, retry_after
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
) -> Any:
    """Build the ccxt asyncio client for one configured exchange (no request is sent).

    With a `pacer` (exchanges whose profile documents their limits), requests are paced by
    it; an operator's `rate_limit_ms` keeps ccxt's own bucket on top as an extra cap.
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
    rate_limit = exchange.settings.rate_limit_ms or profile.rate_limit_ms
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
    _instrument(client)
    for method, fix in profile.request_fixes.items():
        _fix_requests(client, method, fix)
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


def _instrument(client: Any) -> None:
    """Sharpen two of ccxt's answers, for every exchange, by wrapping its response checks.

    - A successful response whose body is not JSON raises ccxt.BadResponse: ccxt would hand
      it to the parser as an empty answer, and a truncated balance would then read as "no
      assets" and wipe the mirror.
    - A rate-limit error carries `retry_after`, the seconds the server asked for, which the
      retry policy waits instead of its own guess.
    """
    handle_errors, handle_status = client.handle_errors, client.handle_http_status_code
    last_headers: dict[str, str] = {}

    def checked_errors(code: int, reason: str, url: str, method: str, *rest: Any) -> Any:
        headers, body, response = rest[0], rest[1], rest[2]
        # ccxt calls handle_http_status_code right after this, with no await in between,
        # so the headers kept here belong to the same response.
        last_headers.clear()
        last_headers.update(headers or {})
        try:
            result = handle_errors(code, reason, url, method, *rest)
        except (ccxt.RateLimitExceeded, ccxt.DDoSProtection) as exc:
            exc.retry_after = retry_after(last_headers, int(time.time() * 1000))  # type: ignore[attr-defined]
            raise
        if 200 <= code < 300 and response is None and body not in (None, ""):
            raise ccxt.BadResponse(f"{client.id} {method} {url.split('?')[0]}: body is not JSON")
        return result

    def checked_status(*args: Any) -> Any:
        try:
            return handle_status(*args)
        except (ccxt.RateLimitExceeded, ccxt.DDoSProtection) as exc:
            exc.retry_after = retry_after(last_headers, int(time.time() * 1000))  # type: ignore[attr-defined]
            raise

    client.handle_errors = checked_errors
    client.handle_http_status_code = checked_status


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
    if isinstance(response, list):
        found = response
    elif isinstance(response, dict):
        result = response.get("result")
        found = result.get("list") if isinstance(result, dict) else None
    else:
        found = None
    return [row for row in found or [] if isinstance(row, dict)]


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
) -> bool:
    """Load markets from the cache or the exchange; return True when the cache served them."""
    fingerprint = markets_fingerprint(exchange, market_types)
    cached = store.load_markets(exchange.name, fingerprint, exchange.settings.markets_ttl)
    if cached is not None:
        markets, currencies = cached
        client.set_markets(markets, currencies)
        return True
    settings = exchange.settings
    await call(
        client.load_markets,
        counter=counter,
        max_tries=settings.max_tries,
        max_time=settings.max_time,
    )
    store.save_markets(
        exchange.name,
        exchange.ccxt_id,
        fingerprint,
        client.markets.values(),
        dict(client.currencies) if client.currencies else None,
    )
    log.debug("%s: cached %d markets", exchange.name, len(client.markets))
    return False


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
