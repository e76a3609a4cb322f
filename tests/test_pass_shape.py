"""A pass asks what does not depend on another answer at once: the round trips of a warm
pass, not its request count, set its time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from exsync.orchestrator import Synchronizer
from exsync.simulator import BinanceSimulator, BybitSimulator, Scenario
from tests.conftest import KEY, SECRET, exchange_entry, rows

LATENCY = 0.25
FUTURES = "/fapi/v1/userTrades"
# Ten spot and ten linear symbols: more candle series than the old limit of 8 at once.
COINS = ["BTC", "ETH", "SOL"] + [f"C{i:02d}" for i in range(7)]


def test_tickers_and_candles_of_every_symbol_are_asked_at_once(
    make_config: Callable[..., tuple[Any, Path]],
) -> None:
    ids = [f"{c}USDT" for c in COINS]
    scenario = Scenario(seed=5, spot_symbols=ids, linear_symbols=ids, trades=50)
    symbols = [f"{c}/USDT" for c in COINS] + [f"{c}/USDT:USDT" for c in COINS]
    with BybitSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        entry = exchange_entry(sim.url, symbols=symbols, types=["tickers", "ohlcv"])
        config, _ = make_config({"bybit": entry})
        assert Synchronizer(config).sync().ok  # the backfill: candles from ohlcv_since
        sim.latency = LATENCY
        sim.reset_counts()
        assert Synchronizer(config).sync().ok
        tickers = sim.request_times("/v5/market/tickers")
        candles = sim.request_times("/v5/market/kline")
    assert len(tickers) == 2 and len(candles) == 20, (tickers, candles)
    # asked one after another, two requests are at least one answer (LATENCY) apart
    assert max(tickers) - min(tickers) < LATENCY / 2, tickers
    assert max(candles) - min(candles) < LATENCY / 2, sorted(candles)


def test_one_ticker_request_per_market_type_serves_tickers_and_valuation(
    make_config: Callable[..., tuple[Any, Path]], db_path: Path
) -> None:
    """Bybit answers every ticker of a category at once: the tickers unit and the balances'
    valuation share that answer instead of asking for it twice."""
    ids = [f"{c}USDT" for c in COINS[:3]]
    scenario = Scenario(seed=5, spot_symbols=ids, linear_symbols=ids, trades=50)
    symbols = [f"{c}/USDT" for c in COINS[:3]] + [f"{c}/USDT:USDT" for c in COINS[:3]]
    with BybitSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        entry = exchange_entry(sim.url, symbols=symbols, types=["tickers", "balances"])
        config, _ = make_config({"bybit": entry})
        assert Synchronizer(config).sync().ok
        sim.reset_counts()
        assert Synchronizer(config).sync().ok
        asked = [q for _, path, q in sim.requests if path == "/v5/market/tickers"]
    assert sorted(asked) == ["category=linear", "category=spot"], asked
    valued = rows(
        db_path, "SELECT count(*) FROM balances WHERE value IS NOT NULL AND asset != 'USDT'"
    )
    stored = rows(db_path, "SELECT count(*) FROM tickers")
    assert valued[0][0] > 0 and stored == [(6,)], (valued, stored)


def test_a_listed_symbols_history_does_not_wait_for_the_accounts_evidence(
    make_config: Callable[..., tuple[Any, Path]],
) -> None:
    """Binance history is walked symbol by symbol; a symbol the config lists is walked on
    every pass whatever balances and positions show, so its walk starts at once instead of
    after them (positions alone are two round trips: leverage brackets, then positions)."""
    scenario = Scenario(
        seed=6, spot_symbols=["BTCUSDT"], linear_symbols=["BTCUSDT"], trades=40, history_days=5
    )
    with BinanceSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        entry = exchange_entry(
            sim.url,
            ccxt_id="binance",
            symbols=["BTC/USDT", "BTC/USDT:USDT"],
            types=["trades"],
            trades_since="6d",
        )
        config, _ = make_config({"binance": entry})
        sim.latency = LATENCY
        assert Synchronizer(config).sync().ok
        first_walk = min(sim.request_times("/api/v3/myTrades") + sim.request_times(FUTURES))
        positions = min(sim.request_times("/fapi/v3/positionRisk"))
    assert first_walk < positions, (first_walk, positions)
