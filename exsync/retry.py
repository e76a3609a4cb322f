"""Retry with exponential backoff, and the one place that decides what is worth retrying.

The decision is made by ccxt's exception class: everything under NetworkError (timeouts,
rate limits, DDoS protection, exchange not available, maintenance, nonce drift) and
BadResponse (a garbled body from a proxy, an answer without its data) is transient; every
ExchangeError (authentication, permission, bad request, bad symbol, not supported) is
permanent and retrying it only burns the rate limit. Two exceptions to the class rule come
from the exchange's profile: error codes that mean "try again" although ccxt files them as
permanent, and HTTP statuses that mean the IP is banned, which are never retried: every
request before the ban ends would only lengthen it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Collection, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import backoff

from exsync.ccxt_import import errors as ccxt

log = logging.getLogger(__name__)
T = TypeVar("T")


class HeldOff(Exception):
    """A request was not sent: the exchange banned this IP, and every account on it waits."""


def why(exc: BaseException, timeout: float | None = None) -> str | None:
    """Why a request got no answer, in a few words (connection refused, name not resolved,
    TLS failure, timed out, ...), read from the exception ccxt wrapped; None when it did get
    one."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, aiohttp.ClientConnectorDNSError | socket.gaierror):
            return "name not resolved"
        if isinstance(cause, aiohttp.ClientConnectorCertificateError):
            return "TLS failure: the server's certificate was not accepted"
        if isinstance(cause, ssl.SSLError):
            return f"TLS failure ({getattr(cause, 'reason', None) or cause})"
        if isinstance(cause, aiohttp.ClientSSLError):
            return "TLS failure"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError | aiohttp.ServerDisconnectedError):
            return "the server closed the connection"
        if isinstance(cause, aiohttp.ClientPayloadError):
            return "the answer was cut short"
        if isinstance(cause, TimeoutError | ccxt.RequestTimeout):
            return f"timed out after {timeout:g}s" if timeout else "timed out"
        cause = cause.__cause__ or cause.__context__
    return None


def ban_seconds(exc: BaseException, bans: Mapping[int, float]) -> float | None:
    """How long the IP is banned when `exc` is the exchange's ban answer, else None.

    The exchange's Retry-After wins when it asks for longer than the profile's least ban.
    """
    status = getattr(exc, "http_status", None)
    if status not in bans:
        return None
    asked = getattr(exc, "retry_after", None) or 0.0
    return max(float(bans[status]), float(asked))


def is_retryable(
    exc: BaseException, transient: Collection[str] = (), bans: Mapping[int, float] | None = None
) -> bool:
    """True when `exc` is transient and the same request may succeed if sent again.

    `transient`: the exchange's error codes that mean "try again" whatever ccxt's class;
    `bans`: the HTTP statuses of an IP ban, never retried.
    """
    if isinstance(exc, HeldOff) or (bans and ban_seconds(exc, bans) is not None):
        return False
    if isinstance(exc, ccxt.NetworkError | ccxt.BadResponse):
        return True
    if getattr(exc, "exchange_code", None) in transient:
        return True
    # ccxt wraps a body cut short in transit as a generic ExchangeError.
    return isinstance(exc.__cause__, aiohttp.ClientPayloadError)


@dataclass
class ClockSync:
    """Re-measures the offset between this host's clock and the exchange's when a signed
    request is rejected for its timestamp; concurrent rejections measure once.

    `measure` is ccxt's `load_time_difference`: it stores the offset in the client, which
    signs every later request with the exchange's time.
    """

    measure: Callable[[], Awaitable[Any]]
    exchange: str = ""
    generation: int = 0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def resync(self, seen: int) -> None:
        """Measure again unless someone has since the request that failed was sent."""
        async with self._lock:
            if self.generation != seen:
                return
            try:
                offset = await self.measure()
            except Exception as exc:
                log.warning("%s: could not measure the clock offset: %s", self.exchange, exc)
            else:
                log.warning(
                    "%s: this host's clock is %+.1fs off the exchange's; signing with the "
                    "exchange's time (check the host's time synchronisation)",
                    self.exchange,
                    (offset or 0) / 1000,
                )
            finally:
                self.generation += 1


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


def _wait(
    started: float, budget: float, factor: float = 0.5, max_value: float = 10.0
) -> Generator[float, Any, None]:
    """backoff wait generator: jittered exponential, or the server's retry time when it gave one,
    never past what is left of the retry budget (`budget` seconds from `started`, both on the
    monotonic clock).

    backoff sends each exception in.
    """

    def remaining() -> float:
        return budget - (time.monotonic() - started)

    expo = backoff.expo(factor=factor, max_value=max_value)
    next(expo)  # backoff's generators start with a bare yield
    exc = yield 0.0
    while True:
        delay = backoff.full_jitter(next(expo))
        asked = getattr(exc, "retry_after", None)
        exc = yield max(0.0, min(delay if asked is None else asked, remaining()))


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
    transient: Collection[str] = (),
    bans: Mapping[int, float] | None = None,
    clock: ClockSync | None = None,
    **kwargs: Any,
) -> T:
    """Await `fn(*args, **kwargs)`, retrying transient errors with jittered exponential backoff.

    `transient` and `bans` are the exchange's profile (see `is_retryable`); with a `clock`,
    a timestamp rejection (ccxt's InvalidNonce) measures the clock offset before the retry.
    """

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

    # The budget is measured here on the monotonic clock: backoff's own `max_time` reads the
    # wall clock, which a clock step would stretch or cut short.
    started = time.monotonic()

    def remaining() -> float:
        return max_time - (time.monotonic() - started)

    def give_up(exc: Exception) -> bool:
        # Retrying before the time the server named only extends a rate-limit ban.
        asked = getattr(exc, "retry_after", None)
        too_late = asked is not None and asked > remaining()
        return too_late or remaining() <= 0 or not is_retryable(exc, transient, bans)

    @backoff.on_exception(
        _wait,
        Exception,
        giveup=give_up,
        max_tries=max_tries,
        jitter=None,  # applied inside _wait, never to a server-given retry time
        on_backoff=on_backoff,
        logger=None,
        # to the wait generator, as is `budget` (not the `remaining` closure: backoff calls
        # any callable among these once, when the retries start)
        started=started,
        budget=max_time,
    )
    async def attempt() -> T:
        seen = clock.generation if clock is not None else 0
        try:
            return await fn(*args, **kwargs)
        except ccxt.InvalidNonce:
            if clock is not None:
                await clock.resync(seen)
            raise

    return await attempt()
