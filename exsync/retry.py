"""Retry with exponential backoff, and the one place that decides what is worth retrying.

The decision is made by ccxt's exception class: everything under NetworkError (timeouts,
rate limits, DDoS protection, exchange not available, maintenance, nonce drift) and
BadResponse (a garbled body from a proxy) is transient; every ExchangeError
(authentication, permission, bad request, bad symbol, not supported) is permanent and
retrying it only burns the rate limit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import backoff

from exsync.ccxt_import import errors as ccxt

log = logging.getLogger(__name__)
T = TypeVar("T")


def is_retryable(exc: BaseException) -> bool:
    """True when `exc` is transient and the same request may succeed if sent again."""
    if isinstance(exc, ccxt.NetworkError | ccxt.BadResponse):
        return True
    # ccxt wraps a body cut short in transit as a generic ExchangeError.
    return isinstance(exc.__cause__, aiohttp.ClientPayloadError)


def retry_after(headers: Mapping[str, str], now_ms: int) -> float | None:
    """Seconds the server asked us to wait, from `Retry-After` or Bybit's reset timestamp."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        if "retry-after" in lowered:
            return max(0.0, float(lowered["retry-after"]))
        if "x-bapi-limit-reset-timestamp" in lowered:
            return max(0.0, (int(lowered["x-bapi-limit-reset-timestamp"]) - now_ms) / 1000)
    except ValueError:
        return None
    return None


def _wait(factor: float = 0.5, max_value: float = 10.0) -> Generator[float, Any, None]:
    """backoff wait generator: jittered exponential, or the server's retry time when it gave one.

    backoff sends each exception in; backoff itself caps every wait at what `max_time` leaves.
    """
    expo = backoff.expo(factor=factor, max_value=max_value)
    next(expo)  # backoff's generators start with a bare yield
    exc = yield 0.0
    while True:
        delay = backoff.full_jitter(next(expo))
        asked = getattr(exc, "retry_after", None)
        exc = yield delay if asked is None else asked


@dataclass
class Attempts:
    """Counts the retries of one unit."""

    retries: int = 0

    @property
    def attempts(self) -> int:
        """1 for a unit that never retried, plus one per retry."""
        return 1 + self.retries


async def call(
    fn: Callable[..., Awaitable[T]],
    *args: Any,
    counter: Attempts,
    max_tries: int,
    max_time: float,
    **kwargs: Any,
) -> T:
    """Await `fn(*args, **kwargs)`, retrying transient errors with jittered exponential backoff."""

    def on_backoff(details: Any) -> None:
        counter.retries += 1
        exc = details.get("exception")
        log.info(
            "retrying %s in %.1fs after %s (try %d)",
            getattr(fn, "__name__", "call"),
            details.get("wait", 0.0),
            type(exc).__name__,
            details["tries"],
        )

    started = time.monotonic()

    def give_up(exc: Exception) -> bool:
        # Retrying before the time the server named only extends a rate-limit ban.
        asked = getattr(exc, "retry_after", None)
        too_late = asked is not None and asked > max_time - (time.monotonic() - started)
        return too_late or not is_retryable(exc)

    @backoff.on_exception(
        _wait,
        Exception,
        giveup=give_up,
        max_tries=max_tries,
        max_time=max_time,
        jitter=None,  # applied inside _wait, never to a server-given retry time
        on_backoff=on_backoff,
        logger=None,
    )
    async def attempt() -> T:
        return await fn(*args, **kwargs)

    return await attempt()
