"""A process that runs for weeks (`exsync run`): each pass leaves nothing behind."""

from __future__ import annotations

import gc
import logging
import threading
from collections import Counter

from exsync.credentials import resolve
from exsync.factory import create_client
from exsync.orchestrator import Synchronizer
from exsync.profiles import market_types_for, profile_for
from exsync.simulator import BybitSimulator
from tests.conftest import exchange_entry


def test_clients_share_one_tls_context(make_config):
    # ccxt loads its whole CA bundle into a new context for every client it opens; a
    # process running a pass a minute never gave those back whole.
    entry = {"api_key_env": "SIM_API_KEY", "secret_env": "SIM_SECRET", "types": ["balances"]}
    config, _ = make_config({"bybit": entry})
    exchange = config.exchange("bybit")
    profile, types = profile_for("bybit"), market_types_for(exchange)
    one = create_client(exchange, resolve(exchange, config.source), profile, types)
    two = create_client(exchange, resolve(exchange, config.source), profile, types)
    assert one.ssl_context is not None and one.ssl_context is two.ssl_context


WATCHED = (
    "SSLContext",
    "ClientSession",
    "TCPConnector",
    "Store",
    "Connection",
    "ThreadPoolExecutor",
    "Thread",
    "bybit",
    "UnitContext",
    "ExchangePass",
)
#: pyrate-limiter's leak thread of a closed bucket notices within its leak interval (10 s)
LINGERING = "PyrateLimiter's Leaker"


def threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name != LINGERING)


def live() -> Counter[str]:
    gc.collect()
    return Counter(
        type(o).__name__
        for o in gc.get_objects()
        if type(o).__name__ in WATCHED and getattr(o, "name", None) != LINGERING
    )


def test_passes_leave_no_clients_sessions_threads_or_handlers_behind(
    sim: BybitSimulator, make_config
):
    config, _ = make_config({"bybit": exchange_entry(sim.url, types=["balances", "trades"])})
    synchronizer = Synchronizer(config)
    for _ in range(3):
        assert synchronizer.sync().ok
    before = live(), threads(), len(logging.getLogger().handlers)
    for _ in range(10):
        assert synchronizer.sync().ok
    after = live(), threads(), len(logging.getLogger().handlers)
    names = sorted(t.name for t in threading.enumerate())
    # Nothing grows over ten passes (a worker thread of an earlier pass may still have been
    # finishing when `before` was taken: fewer after is fine).
    assert not after[0] - before[0], (after[0], before[0])
    assert after[1] <= before[1], names
    assert after[2] == before[2]
