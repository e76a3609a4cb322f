"""Compact in-memory records behind the simulated account: orders, positions, executions."""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from .market import Instrument

OPEN_STATUSES = frozenset({"New", "PartiallyFilled", "Untriggered"})
# Bybit only keeps orders that ended without any fill for 24 hours in order/history.
UNFILLED_END_STATUSES = frozenset({"Cancelled", "Rejected", "Deactivated"})
# Bybit's execution types (execType); an execution stores its index here. Only "Trade" comes
# from the account's own orders: funding settlements, liquidations (BustTrade),
# auto-deleveraging, delivery and settlement of expiring or delisted contracts, block trades
# and moved positions are executions the exchange books by itself.
EXEC_TYPES = (
    "Trade",
    "Funding",
    "BustTrade",
    "AdlTrade",
    "Delivery",
    "Settle",
    "BlockTrade",
    "MovePosition",
)


@dataclass(slots=True)
class Order:
    """An order; every execution points at one. Prices in ticks, sizes in lots."""

    uid: int
    order_id: str
    instrument: Instrument
    side: str
    price_ticks: int
    qty_lots: int
    filled_lots: int
    status: str
    created: int
    updated: int
    is_maker: bool
    order_type: str = "Limit"
    time_in_force: str = "GTC"
    link_id: str = ""
    # False for the exchange's own bookkeeping "orders" (a funding settlement's id): they own
    # executions but no order endpoint lists them.
    listed: bool = True
    # When a finished order shows in the order history (ms): Bybit's history "may delay".
    published: int = 0

    @property
    def is_open(self) -> bool:
        """Whether the order still rests on the book (order/realtime)."""
        return self.status in OPEN_STATUSES


@dataclass(slots=True)
class Position:
    """An open one-way-mode position on a contract market."""

    uid: int
    instrument: Instrument
    side: str
    size_lots: int
    entry_ticks: int
    leverage: int
    created: int
    updated: int
    realised_pnl: float = 0.0


class ExecTable:
    """Executions of one category as parallel integer arrays sorted by (execTime, uid).

    Rows are materialised into Bybit dicts only when served, so a million
    executions cost a few arrays of machine integers instead of a million dicts.
    ``uid`` grows with every insert and breaks execTime ties, which keeps cursors
    stable while new rows arrive.
    """

    __slots__ = ("kinds", "leaves", "lots", "next_uid", "orders", "times", "uids")

    def __init__(self) -> None:
        self.times = array("q")
        self.uids = array("q")
        self.orders = array("q")  # index into the state's order list (Order.uid)
        self.lots = array("q")  # executed quantity in lots
        self.leaves = array("q")  # order quantity still open after this fill, in lots
        self.kinds = array("b")  # index into EXEC_TYPES
        self.next_uid = 0

    def __len__(self) -> int:
        return len(self.times)

    def extend_sorted(
        self, times: list[int], orders: list[int], lots: list[int], leaves: list[int]
    ) -> None:
        """Bulk-load rows that are already sorted and newer than every existing row."""
        count = len(times)
        self.times.extend(times)
        self.orders.extend(orders)
        self.lots.extend(lots)
        self.leaves.extend(leaves)
        self.kinds.extend(bytes(count))
        self.uids.extend(range(self.next_uid, self.next_uid + count))
        self.next_uid += count

    def insert(self, t: int, order_uid: int, lots: int, leaves: int, kind: int = 0) -> int:
        """Insert one row at its sorted place; returns its index."""
        index = bisect_right(self.times, t)
        self.times.insert(index, t)
        self.uids.insert(index, self.next_uid)
        self.orders.insert(index, order_uid)
        self.lots.insert(index, lots)
        self.leaves.insert(index, leaves)
        self.kinds.insert(index, kind)
        self.next_uid += 1
        return index

    def window(self, start: int, end: int) -> tuple[int, int]:
        """Index range [lo, hi) of rows with start <= execTime <= end."""
        return bisect_left(self.times, start), bisect_right(self.times, end)

    def index_of_key(self, t: int, uid: int) -> int:
        """Index of the first row whose (execTime, uid) is >= (t, uid)."""
        index = bisect_left(self.times, t)
        size = len(self.times)
        while index < size and self.times[index] == t and self.uids[index] < uid:
            index += 1
        return index
