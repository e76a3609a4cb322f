"""One module per data type, and the registry the pass looks them up in.

Each module fetches its data type through ccxt's unified API and writes through the store.
Snapshot types (balances, positions, open orders, tickers) replace their picture of the
exchange in one transaction; history types (closed orders, trades, candles, deposits,
withdrawals, transfers, the ledger, closed positions, conversions) walk the exchange's
windows and pages with the shared walker in `history.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from exsync.datatypes import DataType
from exsync.sync import (
    balances,
    closed_positions,
    conversions,
    deposits,
    ledger,
    ohlcv,
    orders,
    positions,
    tickers,
    trades,
    transfers,
    withdrawals,
)
from exsync.sync.unit import UnitContext

STRATEGIES: dict[DataType, Callable[[UnitContext], Awaitable[int]]] = {
    DataType.BALANCES: balances.sync,
    DataType.POSITIONS: positions.sync,
    DataType.ORDERS: orders.sync,
    DataType.TRADES: trades.sync,
    DataType.TICKERS: tickers.sync,
    DataType.OHLCV: ohlcv.sync,
    DataType.DEPOSITS: deposits.sync,
    DataType.WITHDRAWALS: withdrawals.sync,
    DataType.TRANSFERS: transfers.sync,
    DataType.LEDGER: ledger.sync,
    DataType.CLOSED_POSITIONS: closed_positions.sync,
    DataType.CONVERSIONS: conversions.sync,
}

__all__ = ["STRATEGIES", "UnitContext"]
