"""Retry with exponential backoff, and the one place that decides what is worth retrying.

The decision is made by ccxt's exception class: everything under NetworkError (timeouts,
rate limits, DDoS protection, exchange not available, maintenance, nonce drift) and
BadResponse (a garbled body from a proxy) is transient; every ExchangeError
(authentication, permission, bad request, bad symbol, not supported) is permanent and
retrying it only burns the rate limit.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import backoff
import ccxt

log = logging.getLogger(__name__)
T = TypeVar("T")


def is_retryable(exc: BaseException) -> bool:
    """True when `exc` is transient and the same request may succeed if sent again."""
    return isinstance(exc, ccxt.NetworkError | ccxt.BadResponse)


@dataclass
class Attempts:
    """Counts requests sent by one unit, retries included."""

    calls: int = 0
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

    @backoff.on_exception(
        backoff.expo,
        Exception,
        giveup=lambda exc: not is_retryable(exc),
        max_tries=max_tries,
        max_time=max_time,
        jitter=backoff.full_jitter,
        on_backoff=on_backoff,
        factor=0.5,
        max_value=10,
        logger=None,
    )
    async def attempt() -> T:
        counter.calls += 1
        return await fn(*args, **kwargs)

    return await attempt()
