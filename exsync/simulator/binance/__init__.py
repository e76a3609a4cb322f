"""A simulated Binance (spot + USD-M futures) REST exchange served over HTTP on 127.0.0.1.

It speaks Binance's wire protocol (signed query strings, ``{"code","msg"}`` errors,
per-symbol integer ids, 24-hour / 7-day windows, request weights) so the real ccxt
client can be pointed at it::

    from exsync.simulator import BinanceSimulator, Scenario

    with BinanceSimulator(Scenario(seed=1), api_key="k", secret="s") as sim:
        exchange.urls["api"] = sim.ccxt_urls(exchange.urls["api"])
"""

from .server import BinanceSimulator
from .state import BinanceState

__all__ = ["BinanceSimulator", "BinanceState"]
