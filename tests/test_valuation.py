"""Exact amounts and what the portfolio is worth: amounts stored as the exchange sent them,
every held asset priced in the quote currency, snapshots that keep the price of their time."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from exsync.orchestrator import Synchronizer
from exsync.simulator import BybitSimulator, Scenario
from tests.conftest import KEY, SECRET, exchange_entry, rows, run


@pytest.fixture
def held() -> Iterator[BybitSimulator]:
    """ETH trades only against BTC here; FOO has no market at all."""
    scenario = Scenario(
        seed=3,
        spot_symbols=["BTCUSDT", "ETHBTC", "SOLUSDT"],
        linear_symbols=["BTCUSDT"],
        balances={"USDT": 1000.0, "BTC": 0.5, "ETH": 2.0, "SOL": 30.0, "FOO": 10.0},
    )
    with BybitSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        yield sim


def test_amounts_are_stored_exactly_as_the_exchange_sent_them(sim, make_config, db_path):
    config, _ = make_config({"bybit": exchange_entry(sim.url, types=["trades"])})
    assert Synchronizer(config).sync().ok
    sent = {e["execId"]: e for e in sim.state.executions}
    stored = rows(db_path, "SELECT id, amount, price, fee_cost FROM trades")
    assert stored
    for exec_id, amount, price, _fee in stored:
        assert amount == sent[exec_id]["execQty"] and price == sent[exec_id]["execPrice"]
    # a sum over the stored amounts is exact
    total = sum(Decimal(amount) for _, amount, _, _ in stored)
    assert total == sum(Decimal(sent[i]["execQty"]) for i, *_ in stored)
    assert str(total) == str(sum(Decimal(e["execQty"]) for e in sent.values()))


def test_every_held_asset_is_valued_in_the_quote_currency(held, make_config, db_path):
    # no symbol is configured: the prices come from the markets the assets trade on
    entry = exchange_entry(held.url, types=["balances"], symbols=[], quote="USDT")
    config, path = make_config({"bybit": entry})
    result = Synchronizer(config).sync()
    assert result.ok, result.units
    portfolio = {
        r[0]: r[1:]
        for r in rows(
            db_path,
            "SELECT asset, amount, quote, price, value FROM portfolio WHERE wallet = 'unified'",
        )
    }
    tickers = {t["symbol"]: Decimal(t["lastPrice"]) for t in held.state.tickers("spot", None)}
    btc = tickers["BTCUSDT"]
    want = {
        "USDT": Decimal(1),
        "BTC": btc,
        "SOL": tickers["SOLUSDT"],
        "ETH": tickers["ETHBTC"] * btc,  # one hop, through BTC
    }
    for asset, price in want.items():
        amount, quote, stored_price, value = portfolio[asset]
        assert quote == "USDT"
        # the simulator's prices move with its clock: within a second's drift
        assert float(stored_price) == pytest.approx(float(price), rel=1e-3), asset
        assert Decimal(value) == Decimal(amount) * Decimal(stored_price)  # exact
    # an asset no market prices is kept, without a value, and said
    assert portfolio["FOO"][2:] == (None, None)
    warnings = rows(db_path, "SELECT warnings FROM sync_runs")[0][0]
    assert "FOO" in warnings
    # the snapshot keeps the price of its time
    snapshot = rows(
        db_path,
        "SELECT price, value FROM balance_snapshots WHERE asset = 'BTC' AND wallet = 'unified'",
    )
    assert snapshot == [(portfolio["BTC"][2], portfolio["BTC"][3])]
    # and status prints what each exchange's holdings are worth
    shown = run("status", "-c", str(path))
    every = rows(db_path, "SELECT value FROM portfolio WHERE value IS NOT NULL")
    total = sum(Decimal(v) for (v,) in every)
    assert f"portfolio bybit: {total:,.2f} USDT (1 asset(s) without a price)" in shown.stdout


def test_the_usdm_wallet_total_is_its_wallet_balance(make_config, db_path):
    from exsync.simulator import BinanceSimulator

    scenario = Scenario(seed=5, spot_symbols=["BTCUSDT"], linear_symbols=["BTCUSDT", "ETHUSDT"])
    with BinanceSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        entry = exchange_entry(sim.url, ccxt_id="binance", types=["balances"], symbols=[])
        config, _ = make_config({"binance": entry})
        assert Synchronizer(config).sync().ok
        expected = sim.state.expected()
    stored = {
        r[0]: r[1:]
        for r in rows(
            db_path,
            "SELECT asset, total, equity, unrealized_pnl FROM balances WHERE wallet = 'futures'",
        )
    }
    for asset, wallet in expected["futures_balances"].items():
        total, equity, pnl = stored[asset]
        assert Decimal(total) == Decimal(str(wallet))  # never unrealised PnL
        assert Decimal(equity) == Decimal(total) + Decimal(pnl)


@pytest.mark.parametrize("ccxt_id", ["bybit", "binance"])
def test_positions_mean_the_same_on_every_exchange(ccxt_id, make_config, db_path):
    from exsync.simulator import BinanceSimulator

    simulator = {"bybit": BybitSimulator, "binance": BinanceSimulator}[ccxt_id]
    with simulator(Scenario(seed=5), api_key=KEY, secret=SECRET) as sim:
        entry = exchange_entry(sim.url, ccxt_id=ccxt_id, types=["positions"], symbols=[])
        config, _ = make_config({ccxt_id: entry})
        assert Synchronizer(config).sync().ok
        leverage = {p.instrument.symbol: p.leverage for p in sim.state._positions.values()}
    stored = rows(
        db_path,
        "SELECT symbol, contracts, mark_price, notional, leverage, margin_mode FROM positions",
    )
    assert stored
    for symbol, contracts, mark, notional, lev, mode in stored:
        # the value at the mark price, never signed
        assert Decimal(notional) == abs(Decimal(contracts)) * Decimal(mark)
        assert Decimal(lev) == leverage[symbol.split("/")[0] + "USDT"]
        assert mode == "cross"
