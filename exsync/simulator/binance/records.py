"""Binance-specific storage: per-symbol id sequences and per-symbol trade books.

Binance numbers orders and trades per symbol with integers that only grow, and
its ``fromId`` / ``orderId`` cursors rely on that. Each (category, symbol) gets its
own :class:`IdSequence` and :class:`TradeBook`.
"""

from __future__ import annotations

import random
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator


class IdSequence:
    """Growing integer ids with small random gaps (other users' orders/trades in between).

    Each sequence draws from its own seeded stream, so the ids of one symbol do not
    depend on what happens on another.
    """

    __slots__ = ("_rng", "last")

    def __init__(self, start: int, seed_text: str) -> None:
        self.last = start
        self._rng = random.Random(seed_text)

    def next(self) -> int:
        """The next id, strictly greater than every id handed out before."""
        self.last += 1 + self._rng.randrange(40)
        return self.last

    def take(self, count: int) -> list[int]:
        """``count`` next ids in one go (bulk generation)."""
        gaps = self._rng.choices(range(1, 41), k=count)
        ids = []
        value = self.last
        for gap in gaps:
            value += gap
            ids.append(value)
        self.last = value
        return ids


class TradeBook:
    """Own trades of one symbol as parallel arrays in id order (= insertion order).

    Times normally grow with ids too; a trade added with a timestamp in the past
    (``add_trades(ts=...)``) breaks that, and queries then fall back to scanning.
    """

    __slots__ = ("ids", "lots", "orders", "time_sorted", "times")

    def __init__(self) -> None:
        self.ids = array("q")
        self.times = array("q")
        self.orders = array("q")  # Order.uid of the order this trade filled
        self.lots = array("q")  # executed quantity in lots
        self.time_sorted = True

    def __len__(self) -> int:
        return len(self.ids)

    def extend(self, ids: list[int], times: list[int], orders: list[int], lots: list[int]) -> None:
        """Bulk-append rows already in id and time order."""
        self.ids.extend(ids)
        self.times.extend(times)
        self.orders.extend(orders)
        self.lots.extend(lots)

    def append(self, trade_id: int, t: int, order_uid: int, lots: int) -> int:
        """Append one trade (its id must exceed every id so far); returns its index."""
        if self.times and t < self.times[-1]:
            self.time_sorted = False
        self.ids.append(trade_id)
        self.times.append(t)
        self.orders.append(order_uid)
        self.lots.append(lots)
        return len(self.ids) - 1

    def from_id(self, first_id: int) -> int:
        """Index of the first trade whose id is >= ``first_id``."""
        return bisect_left(self.ids, first_id)

    def first_at(self, t: int) -> int:
        """Index of the first trade at or after time ``t`` (0 when times are not sorted,
        so that a caller's own time filter still sees every row)."""
        return bisect_left(self.times, t) if self.time_sorted else 0

    def in_window(self, start: int, end: int) -> Iterator[int]:
        """Indices (ascending ids) of trades with start <= time <= end."""
        if self.time_sorted:
            yield from range(bisect_left(self.times, start), bisect_right(self.times, end))
            return
        times = self.times
        for i in range(len(times)):
            if start <= times[i] <= end:
                yield i


def pick(
    indices: Iterable[int],
    limit: int,
    newest: bool,
    match: Callable[[int], bool] | None = None,
) -> list[int]:
    """The first (oldest) or last (newest) ``limit`` matching indices, ascending."""
    if match is not None:
        indices = (i for i in indices if match(i))
    if isinstance(indices, range) and newest:
        return list(indices[len(indices) - limit :]) if limit else []
    if not newest:
        found = []
        for i in indices:
            found.append(i)
            if len(found) == limit:
                break
        return found
    tail = list(indices)
    return tail[-limit:] if limit else []
