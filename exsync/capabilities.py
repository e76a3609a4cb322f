"""Which data types an exchange can provide, read from ccxt's `has` and the market types.

A data type the exchange cannot provide is `unsupported`: reported, never a failure, never
counted by a breaker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from exsync.datatypes import DataType

#: per data type, groups of ccxt capabilities; each group needs one of its members
REQUIREMENTS: dict[DataType, tuple[tuple[str, ...], ...]] = {
    DataType.BALANCES: (("fetchBalance",),),
    DataType.POSITIONS: (("fetchPositions",),),
    DataType.ORDERS: (
        ("fetchOpenOrders",),
        ("fetchCanceledAndClosedOrders", "fetchClosedOrders", "fetchOrders"),
    ),
    DataType.TRADES: (("fetchMyTrades",),),
    DataType.TICKERS: (("fetchTickers",),),
    DataType.OHLCV: (("fetchOHLCV",),),
    DataType.DEPOSITS: (("fetchDeposits",),),
    DataType.WITHDRAWALS: (("fetchWithdrawals",),),
    DataType.TRANSFERS: (("fetchTransfers",),),
    DataType.LEDGER: (("fetchLedger",),),
    DataType.CLOSED_POSITIONS: (("fetchPositionsHistory",),),
    DataType.CONVERSIONS: (("fetchConvertTradeHistory",),),
}

#: data types that exist only on contract markets
CONTRACT_TYPES = (DataType.POSITIONS, DataType.CLOSED_POSITIONS)

#: the ccxt method that reads order history, best first: cancelled orders matter too
ORDER_HISTORY_METHODS = (
    ("fetchCanceledAndClosedOrders", "fetch_canceled_and_closed_orders"),
    ("fetchOrders", "fetch_orders"),
    ("fetchClosedOrders", "fetch_closed_orders"),
)


def unsupported_reason(
    data_type: DataType,
    has: Mapping[str, Any],
    market_types: tuple[str, ...],
    not_synced: Mapping[str, str] | None = None,
) -> str | None:
    """Why the exchange cannot provide `data_type`, or None when it can.

    `not_synced`: the data types exsync does not read from this exchange yet (its profile's
    `not_synced`), with the reason.
    """
    if not_synced and str(data_type) in not_synced:
        return not_synced[str(data_type)]
    if data_type in CONTRACT_TYPES and not set(market_types) & {"linear", "inverse"}:
        return f"{data_type} need a contract market type (linear or inverse) in market_types"
    for group in REQUIREMENTS[data_type]:
        if not any(has.get(name) for name in group):
            return f"the exchange has no {' or '.join(group)}"
    return None


def order_history_method(has: Mapping[str, Any]) -> str:
    """The ccxt method name exsync uses for order history on this exchange.

    A native method beats an emulated one: ccxt emulates cancelled-and-closed orders by
    calling fetchOrders without the limit and dropping expired and rejected orders, which
    hides full pages and final states.
    """
    native = [method for name, method in ORDER_HISTORY_METHODS if has.get(name) is True]
    emulated = [method for name, method in ORDER_HISTORY_METHODS if has.get(name)]
    if not native and not emulated:
        raise LookupError("no order history method")
    return (native or emulated)[0]
