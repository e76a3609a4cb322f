"""Pacing requests to the limits the exchanges document.

ccxt paces every request of a client through one bucket, which cannot express what the
exchanges publish: Bybit allows 50 requests per second per account on each of its history
endpoints and 600 per 5 seconds per IP for everything; Binance counts request weight per
minute per IP, separately for spot, USD-M futures and wallet endpoints. The profiles hold
those limits (exsync/profiles/); here each becomes a bucket of pyrate-limiter: one per
account and endpoint in memory, and one per IP in a small SQLite file next to the database,
shared by every account and every exsync process on the host (timers fire together).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

#: the share of a documented limit exsync uses by default: requests are counted when they
#: leave, the exchange counts them when they arrive, and the network moves them closer
HEADROOM = 0.95
#: the share of an IP limit: going over one is a ban of minutes to days, not a retry
IP_HEADROOM = 0.9
#: how often a busy IP budget's file lock is tried again (it is held for about a millisecond)
LOCK_POLL_S = 0.001


@dataclass(frozen=True)
class Limit:
    """One documented limit: `count` requests (or weight) per `seconds`.

    `per` is "account" (each account has its own) or "ip" (every account and process on
    the host share it). `paths` are the endpoint paths it counts (empty: every request under
    `prefix`); with `each_path` every one of them has its own budget of that size.
    """

    count: int
    seconds: float
    per: str
    paths: tuple[str, ...] = ()
    prefix: str = "/"
    #: paths under `prefix` that count against a limit of their own instead
    exclude: tuple[str, ...] = ()
    each_path: bool = False
    weighted: bool = False
    doc: str = ""

    def counts(self, path: str) -> bool:
        """Whether a request to `path` counts against this limit."""
        if self.paths:
            return path in self.paths
        return path.startswith(self.prefix) and path not in self.exclude


@dataclass
class Pacer:
    """The buckets of one client: its account's, and its host's IP budget."""

    limits: tuple[Limit, ...]
    account: str
    shared: Path | None
    weights: dict[str, int] = field(default_factory=dict)
    _limiters: dict[str, Any] = field(default_factory=dict)

    async def wait(self, base: str, path: str) -> None:
        """Wait until a request to `path` (on the API base URL `base`) is within every limit."""
        weight = self.weights.get(path, 1)
        for index, limit in enumerate(self.limits):
            if not limit.counts(path):
                continue
            if limit.per == "ip" and self.shared is not None:
                key = f"ip:{_origin(base)}:{index}"
            else:
                key = f"acct:{self.account}:{index}"
            if limit.each_path:
                key += f":{path}"
            limiter = self._limiters.get(key) or self._open(key, limit)
            await limiter.try_acquire_async(key, weight if limit.weighted else 1)

    def _open(self, key: str, limit: Limit) -> Any:
        from pyrate_limiter import InMemoryBucket, Limiter, Rate, SQLiteBucket
        from pyrate_limiter.limiter import SingleBucketFactory

        share = IP_HEADROOM if limit.per == "ip" else HEADROOM
        rates = [Rate(max(1, int(limit.count * share)), int(limit.seconds * 1000))]
        if key.startswith("ip:") and self.shared is not None:
            self.shared.parent.mkdir(parents=True, exist_ok=True)
            bucket = SQLiteBucket.init_from_file(
                rates, table=_table(key), db_path=str(self.shared), use_file_lock=True
            )
            # The file lock is taken on the event loop's thread, and a lock held elsewhere
            # (another process) is waited for by sleeping between attempts: filelock's
            # default of 50 ms stalled every request behind it.
            bucket.lock.poll_interval = LOCK_POLL_S
        else:
            bucket = InMemoryBucket(rates)
        # A pacer lives one pass: its buckets are emptied of old requests when it closes, not
        # by a clean-up thread each (a thread started per bucket, dozens a pass, and one that
        # held the shared file's lock while a request waited for it).
        limiter = Limiter(SingleBucketFactory(bucket, schedule_leak=False), buffer_ms=5)
        self._limiters[key] = limiter
        return limiter

    def close(self) -> None:
        """Drop the shared budget's requests older than its window, and close its file."""
        for key, limiter in self._limiters.items():
            try:
                if key.startswith("ip:") and self.shared is not None:
                    bucket = limiter.bucket_factory.bucket
                    bucket.leak(bucket.now())
                limiter.close()
            except Exception as exc:  # closing must never fail a pass
                log.debug("pacing: closing a bucket: %s", exc)
        self._limiters.clear()


def install(client: Any, pacer: Pacer) -> None:
    """Pace every request of a ccxt client through `pacer` instead of ccxt's own bucket."""
    original: Callable[..., Awaitable[Any]] = client.fetch2
    client.enableRateLimit = False

    async def paced(
        path: str,
        api: Any = "public",
        method: str = "GET",
        params: dict[str, Any] | None = None,
        config: dict[str, Any] | None = None,
    ) -> Any:
        # ccxt names the API of an implicit method as a list: its first entry is the key of
        # the base URL the request goes to.
        name = api[0] if isinstance(api, list | tuple) and api else api
        base = client.urls["api"].get(name) if isinstance(name, str) else None
        if isinstance(base, str):
            base = client.implode_hostname(base)
            await pacer.wait(base, urlsplit(base).path.rstrip("/") + "/" + path.lstrip("/"))
        return await original(path, api, method, params or {}, config or {})

    client.fetch2 = paced


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _table(key: str) -> str:
    # pyrate-limiter formats the table name into its SQL: letters, digits and _ only.
    readable = re.sub(r"[^A-Za-z0-9]+", "_", key)[:40]
    return f"b_{readable}_{hashlib.sha256(key.encode()).hexdigest()[:10]}"
