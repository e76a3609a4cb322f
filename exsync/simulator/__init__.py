"""Simulated exchanges (Bybit v5; Binance spot + USD-M futures) served over HTTP on 127.0.0.1.

Each speaks its exchange's wire protocol (signed requests, error shapes, cursors and
time windows) so the real ccxt client can be pointed at it::

    from exsync.simulator import BybitSimulator, Scenario

    with BybitSimulator(Scenario(seed=1), api_key="demo-key", secret="demo-secret") as sim:
        exchange.urls["api"] = sim.ccxt_urls(exchange.urls["api"])

Both simulators share the :class:`Scenario`, the price path, the deterministic
history and the test controls (``counts``, ``requests``, ``latency``, ``fail_next``);
``sim.state.expected()`` gives, for either, what a correct sync should hold.
This package is standalone: it imports nothing else from exsync.
"""

from .binance import BinanceSimulator, BinanceState
from .httpbase import Fault
from .scenario import Scenario
from .server import BybitSimulator
from .state import ExchangeState

__all__ = [
    "BinanceSimulator",
    "BinanceState",
    "BybitSimulator",
    "ExchangeState",
    "Fault",
    "Scenario",
]
