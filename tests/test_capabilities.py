from __future__ import annotations

from exsync.capabilities import order_history_method, unsupported_reason
from exsync.datatypes import DataType

FULL = {
    "fetchBalance": True,
    "fetchPositions": True,
    "fetchOpenOrders": True,
    "fetchCanceledAndClosedOrders": True,
    "fetchMyTrades": True,
    "fetchTickers": True,
    "fetchOHLCV": True,
    "fetchDeposits": True,
    "fetchWithdrawals": True,
    "fetchTransfers": True,
    "fetchLedger": True,
    "fetchPositionsHistory": True,
    "fetchConvertTradeHistory": True,
}


def test_everything_supported() -> None:
    for data_type in DataType:
        if data_type is not DataType.ALL:
            assert unsupported_reason(data_type, FULL, ("spot", "linear")) is None


def test_missing_capabilities_are_named() -> None:
    has = FULL | {"fetchMyTrades": False, "fetchCanceledAndClosedOrders": None}
    assert (
        unsupported_reason(DataType.TRADES, has, ("spot",)) == "the exchange has no fetchMyTrades"
    )
    assert unsupported_reason(DataType.ORDERS, has, ("spot",)) == (
        "the exchange has no fetchCanceledAndClosedOrders or fetchClosedOrders or fetchOrders"
    )
    assert "contract market type" in unsupported_reason(DataType.POSITIONS, FULL, ("spot",))
    assert "contract market type" in unsupported_reason(DataType.CLOSED_POSITIONS, FULL, ("spot",))
    assert unsupported_reason(DataType.LEDGER, FULL | {"fetchLedger": False}, ("spot",)) == (
        "the exchange has no fetchLedger"
    )


def test_types_a_profile_does_not_read_yet_are_unsupported_with_its_reason() -> None:
    not_synced = {"deposits": "not described for binance yet"}
    reason = unsupported_reason(DataType.DEPOSITS, FULL, ("spot",), not_synced)
    assert reason == "not described for binance yet"
    assert unsupported_reason(DataType.WITHDRAWALS, FULL, ("spot",), not_synced) is None


def test_order_history_prefers_methods_that_include_cancellations() -> None:
    assert order_history_method(FULL) == "fetch_canceled_and_closed_orders"
    assert order_history_method({"fetchOrders": True, "fetchClosedOrders": True}) == "fetch_orders"
    assert order_history_method({"fetchClosedOrders": "emulated"}) == "fetch_closed_orders"


def test_a_native_order_history_beats_an_emulated_one() -> None:
    binance = {"fetchCanceledAndClosedOrders": "emulated", "fetchOrders": True}
    assert order_history_method(binance) == "fetch_orders"
