"""Order fees as the exchanges answer them, stored exactly."""

from __future__ import annotations

from exsync.datatypes import DataType
from exsync.errors import ExitCode
from exsync.orchestrator import Synchronizer
from exsync.simulator import BybitSimulator
from tests.conftest import exchange_entry, rows


def test_bybit_spot_orders_keep_the_fee_of_cum_exec_fee(sim: BybitSimulator, make_config, db_path):
    """Bybit's spot order history gives an order's fee in cumExecFee alone (no
    cumFeeDetail): base coin for a buy, quote coin for a sell. ccxt reads the fee from
    cumFeeDetail only, so the order must not lose it."""
    config, _ = make_config({"bybit": exchange_entry(sim.url)})
    result = Synchronizer(config).sync(types=[DataType.ORDERS])
    assert result.exit_code is ExitCode.OK, [u for u in result.units if u.status != "ok"]
    raw = {o["orderId"]: o for o in [*sim.state.history_orders, *sim.state.open_orders]}
    stored = rows(
        db_path,
        "SELECT id, symbol, side, fee_cost, fee_currency FROM orders "
        "WHERE symbol NOT LIKE '%:%' AND CAST(filled AS REAL) > 0",
    )
    assert len(stored) > 10
    for order_id, symbol, side, fee_cost, fee_currency in stored:
        base, quote = symbol.split("/")
        assert "cumFeeDetail" not in raw[order_id]
        assert fee_cost == raw[order_id]["cumExecFee"], order_id
        assert fee_currency == (base if side == "buy" else quote), order_id
    contract = rows(
        db_path,
        "SELECT fee_cost, fee_currency FROM orders "
        "WHERE symbol LIKE '%:%' AND CAST(filled AS REAL) > 0",
    )
    assert contract and all(cost and currency == "USDT" for cost, currency in contract)
