"""Run a simulator standalone: ``python -m exsync.simulator [--exchange binance] --port 8900``."""

from __future__ import annotations

import argparse
import contextlib
import threading

from .binance import BinanceSimulator
from .scenario import Scenario
from .server import BybitSimulator

SIMULATORS = {"bybit": BybitSimulator, "binance": BinanceSimulator}


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, start the simulator, print its URL and serve until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m exsync.simulator",
        description="Simulated exchange (Bybit v5, or Binance spot + USD-M futures).",
    )
    parser.add_argument("--exchange", choices=sorted(SIMULATORS), default="bybit")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--api-key", default="demo-key")
    parser.add_argument("--secret", default="demo-secret")
    parser.add_argument("--trades", type=int, default=Scenario.trades)
    parser.add_argument("--history-days", type=int, default=Scenario.history_days)
    parser.add_argument("--candle-days", type=int, default=Scenario.candle_days)
    args = parser.parse_args(argv)
    scenario = Scenario(
        seed=args.seed,
        trades=args.trades,
        history_days=args.history_days,
        candle_days=args.candle_days,
    )
    simulator = SIMULATORS[args.exchange](
        scenario, api_key=args.api_key, secret=args.secret, host=args.host, port=args.port
    )
    with simulator:
        print(simulator.url, flush=True)
        # A plain wait on the main thread is interrupted by Ctrl-C (KeyboardInterrupt).
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
