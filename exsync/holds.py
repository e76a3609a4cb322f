"""IP bans: every account that shares the banned IP is held off until the ban ends.

An exchange bans the IP, not the key: once one account of a host is banned, any request of
any account on the same host only lengthens the ban. A ban met during a pass closes the
host's gate for the rest of the pass (no request goes out) and opens the breakers of every
configured account on that host until the ban ends, so later runs skip them too.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from exsync.config import Config, ExchangeConfig
from exsync.retry import HeldOff
from exsync.store import Store, breaker

log = logging.getLogger(__name__)

Host = tuple[str, str]


def host_of(exchange: ExchangeConfig) -> Host:
    """What accounts that share an IP ban have in common: the exchange and the API host."""
    if exchange.api_url:
        where = urlsplit(exchange.api_url).netloc
    else:
        where = "sandbox" if exchange.sandbox else "default"
    return exchange.ccxt_id, where


class IpHolds:
    """The IP bans met during one pass, shared by every exchange of the pass."""

    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        self._until: dict[Host, tuple[float, str]] = {}

    def gate(self, exchange: ExchangeConfig) -> Gate:
        """The gate a client of `exchange` checks before each request and reports bans to."""
        return Gate(self, exchange)

    def check(self, exchange: ExchangeConfig) -> None:
        """Raise HeldOff when the IP `exchange` uses was banned during this pass."""
        held = self._until.get(host_of(exchange))
        if held is not None and time.monotonic() < held[0]:
            raise HeldOff(held[1])

    def ban(self, exchange: ExchangeConfig, seconds: float, reason: str) -> None:
        """Hold every configured account on `exchange`'s host off for `seconds`."""
        host = host_of(exchange)
        if host in self._until and self._until[host][0] >= time.monotonic() + seconds:
            return  # already held at least as long
        until = datetime.now(UTC) + timedelta(seconds=seconds)
        accounts = [e for e in self.config.exchanges.values() if host_of(e) == host]
        text = (
            f"{breaker.IP_BAN}: {reason}; every account on this IP is held off until "
            f"{until:%Y-%m-%d %H:%M:%S} UTC ({', '.join(a.name for a in accounts)})"
        )
        self._until[host] = (time.monotonic() + seconds, text)
        log.error("%s: %s", exchange.name, text)
        for account in accounts:
            # Written on the store's thread: the ban is met on the event loop, mid-request.
            self.store.submit(
                breaker.hold,
                self.store,
                account.name,
                [str(t) for t in account.types],
                seconds,
                text,
                failed=f"{account.name}: could not record the IP ban",
            )


@dataclass
class Gate:
    """One client's view of its host's bans (see factory.Gate)."""

    holds: IpHolds
    exchange: ExchangeConfig

    def check(self) -> None:
        self.holds.check(self.exchange)

    def banned(self, seconds: float, reason: str) -> None:
        self.holds.ban(self.exchange, seconds, reason)
