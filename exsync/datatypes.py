"""The data types exsync mirrors, and how `all` expands."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class DataType(StrEnum):
    """A data type: one unit of work per exchange. The values are public names."""

    BALANCES = "balances"
    POSITIONS = "positions"
    ORDERS = "orders"
    TRADES = "trades"
    TICKERS = "tickers"
    OHLCV = "ohlcv"
    DEPOSITS = "deposits"
    WITHDRAWALS = "withdrawals"
    TRANSFERS = "transfers"
    LEDGER = "ledger"
    CLOSED_POSITIONS = "closed_positions"
    CONVERSIONS = "conversions"
    ALL = "all"


#: Every concrete type, in the order a pass reports them.
CONCRETE: tuple[DataType, ...] = tuple(t for t in DataType if t is not DataType.ALL)


def expand(
    requested: Iterable[DataType | str], all_means: Iterable[DataType | str]
) -> list[DataType]:
    """Resolve requested types into concrete ones; `all` means the exchange's configured types.

    Order follows `CONCRETE` and duplicates are dropped.
    """
    wanted: set[DataType] = set()
    for item in requested:
        data_type = DataType(item)
        if data_type is DataType.ALL:
            wanted.update(DataType(t) for t in all_means)
        else:
            wanted.add(data_type)
    return [t for t in CONCRETE if t in wanted]
