"""A simulated Bybit v5 REST exchange served over HTTP on 127.0.0.1.

It speaks Bybit's wire protocol (signed requests, envelopes, cursors, 7-day
windows) so the real ccxt client can be pointed at it::

    from exsync.simulator import BybitSimulator, Scenario

    with BybitSimulator(Scenario(seed=1), api_key="demo-key", secret="demo-secret") as sim:
        exchange.urls["api"] = {name: sim.url for name in exchange.urls["api"]}

This package is standalone: it imports nothing else from exsync.
"""

from .scenario import Scenario
from .server import BybitSimulator, Fault
from .state import ExchangeState

__all__ = ["BybitSimulator", "ExchangeState", "Fault", "Scenario"]
