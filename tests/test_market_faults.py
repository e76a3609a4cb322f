"""Markets that change under a client: configured symbols the exchange does not list (a typo,
a delisting the cached markets do not know yet), and rows of markets the cached markets do
not know (a new listing) or know only as another market type (a delisted spot market whose
perpetual remains). Both simulated exchanges, through real HTTP and ccxt."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from exsync.datatypes import CONCRETE
from exsync.errors import ExitCode
from exsync.health import check
from exsync.orchestrator import Synchronizer
from exsync.simulator import BinanceSimulator, BybitSimulator, Scenario
from exsync.store import Store
from tests.conftest import KEY, SECRET, exchange_entry, rows, run

SIMULATORS = {"bybit": BybitSimulator, "binance": BinanceSimulator}
TYPO = "BTC/USTD"
GOOD = ["BTC/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT"]


@pytest.fixture(params=sorted(SIMULATORS))
def exchange(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    scenario = Scenario(
        seed=5,
        spot_symbols=["BTCUSDT", "ETHUSDT"],
        linear_symbols=["BTCUSDT", "ETHUSDT"],
        inverse_symbols=[],
    )
    with SIMULATORS[request.param](scenario, api_key=KEY, secret=SECRET) as sim:
        yield request.param, sim


def entry(ccxt_id: str, sim: Any, **overrides: Any) -> dict[str, Any]:
    settings = {"ccxt_id": ccxt_id, "trades_since": "2d", "symbols": GOOD}
    return exchange_entry(sim.url, **(settings | overrides))


def markets_downloads(sim: Any) -> int:
    """How many times the spot markets were downloaded (each download asks once for them)."""
    return sum(
        p == "/api/v3/exchangeInfo" or (p.endswith("instruments-info") and "category=spot" in q)
        for _, p, q in sim.requests
    )


def test_symbols_the_exchange_does_not_list_are_skipped_with_a_warning(
    exchange, make_config, db_path
):
    """A typo and a delisting the cached markets do not know yet: every unit of the other
    symbols succeeds, no breaker counts a failure, each skip is a warning on its unit."""
    ccxt_id, sim = exchange
    symbols = [*GOOD, "ETH/USDT", TYPO]
    config, _ = make_config({ccxt_id: entry(ccxt_id, sim, symbols=symbols)})
    first = Synchronizer(config).sync()
    assert first.exit_code is ExitCode.OK, [u.error for u in first.units if u.error]
    tickers = next(u for u in first.units if u.data_type == "tickers")
    said = "\n".join(tickers.warnings)
    assert TYPO in said and "ETH/USDT " not in said

    sim.state.delist("ETHUSDT", "spot")  # the cached markets still list ETH/USDT
    sim.reset_counts()
    result = Synchronizer(config).sync()
    assert result.exit_code is ExitCode.OK, [u.error for u in result.units if u.error]
    assert {u.status for u in result.units} <= {"ok", "unsupported"}
    for data_type in ("tickers", "ohlcv"):
        unit = next(u for u in result.units if u.data_type == data_type)
        said = "\n".join(unit.warnings)
        assert "ETH/USDT is not listed" in said and f"{TYPO} is not listed" in said, unit
    assert markets_downloads(sim) == 1  # refreshed once for the pass
    stored = {r[0] for r in rows(db_path, "SELECT symbol FROM tickers")}
    assert stored == set(GOOD)
    candles = {r[0] for r in rows(db_path, "SELECT DISTINCT symbol FROM ohlcv")}
    assert set(GOOD) <= candles
    assert rows(db_path, "SELECT count(*) FROM breakers WHERE failures > 0") == [(0,)]
    warned = rows(
        db_path, "SELECT data_type, last_warnings FROM sync_state WHERE data_type = ?", ("tickers",)
    )
    assert TYPO in warned[0][1]
    with Store(db_path) as store:
        code, line = check(store, config)
    assert code == 1 and f"{ccxt_id} tickers warning: " in line and TYPO in line, line

    # The refreshed markets no longer list it: the next pass skips it without downloading
    # the markets again.
    sim.reset_counts()
    result = Synchronizer(config).sync()
    assert result.exit_code is ExitCode.OK
    assert markets_downloads(sim) == 0


def test_config_validate_names_symbols_the_cached_markets_do_not_list(
    exchange, make_config, tmp_path
):
    ccxt_id, sim = exchange
    config, path = make_config({ccxt_id: entry(ccxt_id, sim, symbols=[*GOOD, TYPO])})
    before = run("config", "validate", "-c", str(path))
    assert before.returncode == 0
    assert "not checked against the exchange's markets" in before.stderr  # nothing cached
    assert Synchronizer(config).sync().exit_code is ExitCode.OK
    checked = run("config", "validate", "-c", str(path))
    assert checked.returncode == 2, checked.stderr
    assert f"exchanges.{ccxt_id}.symbols[3]: {TYPO} is not listed by {ccxt_id}" in checked.stderr


def test_a_spot_market_delisted_while_its_perpetual_remains(make_config, db_path):
    """Bybit's spot and linear SOLUSDT share an id: with spot delisted, ccxt reads the spot
    trades as trades of the perpetual. They stay spot trades."""
    with BybitSimulator(Scenario(seed=5), api_key=KEY, secret=SECRET) as sim:
        spot = sim.state.add_trades(6, "SOLUSDT", category="spot")
        sim.state.delist("SOLUSDT", "spot")
        config, _ = make_config({"bybit": entry("bybit", sim, types=["trades"])})
        result = Synchronizer(config).sync()
        assert result.exit_code is ExitCode.OK, result.units
        ids = tuple(t["execId"] for t in spot)
        marks = ",".join("?" * len(ids))
        stored = {
            r[0]: (r[1], r[2])
            for r in rows(
                db_path,
                f"SELECT id, symbol, fee_currency FROM trades WHERE id IN ({marks})",
                ids,
            )
        }
        # a spot trade, read against a spot market: its symbol and its fee coin
        assert stored == {t["execId"]: ("SOL/USDT", t["feeCurrency"]) for t in spot}
        perpetual = rows(db_path, "SELECT id FROM trades WHERE symbol = 'SOL/USDT:USDT'")
        assert not {r[0] for r in perpetual} & set(ids)


def test_a_new_listing_is_found_by_refreshing_the_markets_once(exchange, make_config, db_path):
    ccxt_id, sim = exchange
    types = ["positions", "orders"] + (["trades"] if ccxt_id == "bybit" else [])
    config, _ = make_config({ccxt_id: entry(ccxt_id, sim, types=types)})
    assert Synchronizer(config).sync().ok  # markets cached
    symbol = sim.state.list_market("DOGEUSDT", "linear")
    sim.state.open_position("DOGEUSDT", category="linear")
    if ccxt_id == "bybit":
        sim.state.add_trades(4, "DOGEUSDT", category="linear")
    sim.reset_counts()
    result = Synchronizer(config).sync()
    assert result.exit_code is ExitCode.OK, [u.error for u in result.units if u.error]
    assert markets_downloads(sim) == 1  # once for the pass
    assert rows(db_path, "SELECT status FROM positions WHERE symbol = ?", (symbol,)) == [("open",)]
    assert rows(db_path, "SELECT count(*) FROM positions WHERE symbol = 'DOGEUSDT'") == [(0,)]
    if ccxt_id == "bybit":
        assert rows(db_path, "SELECT count(*) FROM trades WHERE symbol = ?", (symbol,)) == [(4,)]
    assert all(u.status == "ok" for u in result.units)
    assert len(CONCRETE) >= len(types)
