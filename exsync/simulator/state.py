"""Mutable state of the simulated Bybit account, shared by HTTP handler threads and tests.

Every public method takes the lock, so a test thread may mutate the account while
the server is answering a client.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterable
from typing import Any

from .account import AccountState, Key, ccxt_symbol, created_key, page, updated_key
from .funds_state import FundsState
from .market import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    Instrument,
    candle_ceil,
    candle_floor,
    candle_next,
    candle_prev,
    kline_row,
)
from .records import EXEC_TYPES, UNFILLED_END_STATUSES, ExecTable, Order, Position
from .render import (
    empty_position_row,
    exec_row,
    order_id_for,
    order_row,
    position_row,
)
from .scenario import Generated, lots_for
from .views import ticker_row, wallet_entry

# ccxt's unified status of a finished Bybit order.
_CCXT_STATUS = {
    "Filled": "closed",
    "PartiallyFilledCanceled": "closed",
    "Cancelled": "canceled",
    "Deactivated": "canceled",
    "Rejected": "rejected",
}


class ExchangeState(FundsState, AccountState):
    """The Bybit account and markets behind the simulator (the money side: FundsState).

    Time: the scenario's ``now_ms`` is the anchor the history was generated
    around, and the simulated clock (:meth:`now_ms`) runs forward from it at wall
    clock speed, so "now" keeps moving the way it does on a real exchange.
    """

    def _adopt(self, generated: Generated) -> None:
        self._executions: dict[str, ExecTable] = generated.executions
        self._init_funds()
        self._book_history()

    def _book_history(self) -> None:
        """The scenario's booked executions: mostly funding, every 8 hours, on linear markets."""
        linear = self.instruments.get("linear") or []
        count = self.scenario.booked_executions
        if not linear or not count:
            return
        rng = random.Random(f"{self.seed}:booked")
        start = self.anchor_ms - self.scenario.history_days * DAY_MS
        first = start // (8 * HOUR_MS) + 1
        slots = range(first, (self.anchor_ms - MINUTE_MS) // (8 * HOUR_MS) + 1)
        kinds = EXEC_TYPES[1:]
        for slot in sorted(rng.sample(slots, min(count, len(slots)))):
            t = slot * 8 * HOUR_MS
            exec_type = "Funding" if rng.random() < 0.8 else rng.choice(kinds)
            if exec_type != "Funding":
                t += int(rng.uniform(MINUTE_MS, 7 * HOUR_MS))
            self._book(rng.choice(linear), exec_type, t, rng.choice(("Buy", "Sell")), rng)

    def add_booked_executions(
        self, exec_type: str, n: int = 1, symbol: str | None = None, ts: int | None = None
    ) -> list[dict[str, Any]]:
        """Add ``n`` executions the exchange books by itself (``exec_type``: Funding,
        BustTrade, AdlTrade, Delivery, Settle, BlockTrade, MovePosition) on a linear market
        (``symbol``, or one drawn at random) at ``ts`` (default now); returns their rows."""
        if exec_type not in EXEC_TYPES[1:]:
            raise ValueError(f"exec_type must be one of {EXEC_TYPES[1:]}, not {exec_type!r}")
        with self.lock:
            t = self.now_ms() if ts is None else ts
            if symbol is None:
                choices = self.instruments["linear"]
            else:
                choices = [self._resolve(symbol, "linear", ("linear",))]
            return [
                self._book(
                    self._rng.choice(choices),
                    exec_type,
                    t,
                    self._rng.choice(("Buy", "Sell")),
                    self._rng,
                )
                for _ in range(n)
            ]

    def _book(
        self, inst: Instrument, exec_type: str, t: int, side: str, rng: random.Random
    ) -> dict[str, Any]:
        # The exchange's own bookkeeping "order": no order endpoint lists it.
        price = self.prices.pair_price(inst, t)
        lots = lots_for(inst, rng.uniform(500, 20_000), price)
        uid = len(self._orders)
        funding = exec_type == "Funding"
        order = Order(
            uid=uid,
            order_id=f"{t // 1000}-{inst.symbol}-592334-{side}"
            if funding
            else order_id_for(self.seed, inst, uid),
            instrument=inst,
            side=side,
            price_ticks=inst.to_ticks(price),
            qty_lots=lots,
            filled_lots=lots,
            status="Filled",
            created=t,
            updated=t,
            is_maker=False,
            order_type="UNKNOWN" if funding else "Market",
            listed=False,
        )
        self._orders.append(order)
        if hasattr(self, "_order_index"):
            self._order_index[order.order_id] = order
        table = self._executions[inst.category]
        index = table.insert(t, uid, lots, 0, EXEC_TYPES.index(exec_type))
        self._note_booked(inst.category, t, table.uids[index])
        return self._exec_row(table, index)

    def _order_id(self, inst: Instrument, uid: int) -> str:
        return order_id_for(self.seed, inst, uid)

    def _record_fill(self, order: Order, t: int, lots: int, leaves: int) -> dict[str, Any]:
        table = self._executions[order.instrument.category]
        index = table.insert(t, order.uid, lots, leaves)
        return self._exec_row(table, index)

    def _order_row(self, order: Order) -> dict[str, Any]:
        return order_row(order)

    # ------------------------------------------------------------------ read views

    @property
    def positions(self) -> list[dict[str, Any]]:
        """Open positions as position/list serves them."""
        with self.lock:
            now = self.now_ms()
            return [self._position_row(p, now) for p in self._positions.values()]

    @property
    def open_orders(self) -> list[dict[str, Any]]:
        """Resting orders of every category, newest first, as order/realtime serves them."""
        with self.lock:
            orders = sorted(
                (o for o in self._orders if o.is_open and o.listed), key=created_key, reverse=True
            )
            return [order_row(o) for o in orders]

    @property
    def history_orders(self) -> list[dict[str, Any]]:
        """Every finished order of every category, newest update first.

        order/history additionally hides unfilled cancellations older than 24 hours.
        """
        with self.lock:
            orders = sorted(
                (o for o in self._orders if not o.is_open and o.listed),
                key=updated_key,
                reverse=True,
            )
            return [order_row(o) for o in orders]

    @property
    def executions(self) -> list[dict[str, Any]]:
        """Every execution of every category as execution/list serves them, oldest first."""
        with self.lock:
            return [row for _, row in self._all_executions()]

    def executions_in(self, category: str) -> list[dict[str, Any]]:
        """Executions of one category, oldest first."""
        with self.lock:
            table = self._executions[category]
            return [self._exec_row(table, i) for i in range(len(table))]

    def orders_in(self, category: str, open_only: bool = False) -> list[dict[str, Any]]:
        """Orders (open and finished, or open only) of one category, newest first."""
        with self.lock:
            orders = [
                o
                for o in self._orders
                if o.listed and o.instrument.category == category and (o.is_open or not open_only)
            ]
            orders.sort(key=created_key, reverse=True)
            return [order_row(o) for o in orders]

    def kline(
        self, symbol_id: str, interval: str, open_time_ms: int, category: str | None = None
    ) -> tuple[float, float, float, float, float]:
        """(open, high, low, close, volume) of one candle, as floats of the served strings.

        ``category`` defaults to the first of spot, linear, inverse listing the symbol;
        spot and linear differ only by their tick size.
        """
        row = self.kline_row(symbol_id, interval, open_time_ms, category)
        o, h, low, c, v = (float(x) for x in row[1:6])
        return o, h, low, c, v

    def kline_row(
        self, symbol_id: str, interval: str, open_time_ms: int, category: str | None = None
    ) -> list[str]:
        """One candle exactly as /v5/market/kline serves it."""
        inst = self._resolve(symbol_id, category, ("spot", "linear", "inverse"))
        return kline_row(self.seed, self.prices, inst, interval, open_time_ms)

    def expected(self) -> dict[str, Any]:
        """What a correct sync of this account holds right now, in ccxt's unified terms.

        Same keys as the Binance simulator's ``expected()``:

        - ``balances``: {coin: total} of ``fetch_balance()`` (the unified wallet's
          walletBalance), zeros left out; ``futures_balances``: {} (no separate wallet).
        - ``positions``: sorted (ccxt symbol, "long"|"short", contracts, entry price).
        - ``open_order_ids``: every resting order id; ``open_orders``: per category.
        - ``closed_orders``: {category: {id: ccxt status}} of finished orders order/history
          still returns (unfilled cancellations go after 24 hours; ccxt calls a partly
          filled cancellation "closed").
        - ``execution_ids``: {category: {execId: execTime ms}}; ``symbols``: {category:
          [ccxt symbols]}. Categories: those listing markets among spot, linear, inverse.
        """
        with self.lock:
            cutoff = self.now_ms() - DAY_MS
            categories = self.categories()
            open_orders: dict[str, set[str]] = {c: set() for c in categories}
            closed: dict[str, dict[str, str]] = {c: {} for c in categories}
            for order in self._orders:
                category = order.instrument.category
                if not order.listed:
                    continue
                if order.is_open:
                    open_orders[category].add(order.order_id)
                elif not (order.status in UNFILLED_END_STATUSES and order.updated < cutoff):
                    closed[category][order.order_id] = _CCXT_STATUS.get(order.status, "closed")
            return {
                "balances": {c: v for c, v in self._balances.items() if v},
                "futures_balances": {},
                "positions": self._expected_positions(),
                "open_order_ids": set().union(*open_orders.values()),
                "open_orders": open_orders,
                "closed_orders": closed,
                "execution_ids": {
                    c: {
                        row["execId"]: int(row["execTime"])
                        for row in (
                            self._exec_row(self._executions[c], i)
                            for i in range(len(self._executions[c]))
                        )
                    }
                    for c in categories
                },
                "symbols": {c: [ccxt_symbol(i) for i in self.instruments[c]] for c in categories},
            }

    # ------------------------------------------------------------------ queries (server side)

    def query_executions(
        self,
        category: str,
        start: int,
        end: int,
        *,
        match: Callable[[Order], bool] | None,
        after: Key | None,
        limit: int,
        kind: int | None = None,
    ) -> tuple[list[dict[str, Any]], Key | None]:
        """One page of executions with start <= execTime <= end, newest first, and the key of
        its last row; `kind`: only those of one execution type (an index into EXEC_TYPES)."""
        with self.lock:
            table = self._executions[category]
            lo, hi = table.window(start, end)
            if after is not None:
                hi = min(hi, table.index_of_key(*after))
            if match is None and kind is None:
                indices = list(range(hi - 1, max(lo, hi - limit) - 1, -1))
            else:
                indices, _ = _scan_down(table, lo, hi, limit, self._orders, match, kind)
            rows = [self._exec_row(table, i) for i in indices]
            # The cursor names the last row served, on the last page too (see account.page).
            last = (table.times[indices[-1]], table.uids[indices[-1]]) if indices else None
            return rows, last

    def query_orders(
        self,
        category: str,
        *,
        open_only: bool,
        match: Callable[[Order], bool],
        after: Key | None,
        limit: int,
        start: int | None = None,
        end: int | None = None,
    ) -> tuple[list[dict[str, Any]], Key | None]:
        """One page of open orders (by createdTime) or history (by updatedTime), newest first."""
        with self.lock:
            if open_only:
                orders = [
                    o for o in self._orders if o.is_open and o.instrument.category == category
                ]
                key = created_key
            else:
                now = self.now_ms()
                cutoff = now - DAY_MS
                orders = [
                    o
                    for o in self._orders
                    if not o.is_open
                    and o.listed
                    and o.published <= now
                    and o.instrument.category == category
                    and (start is None or start <= o.updated)
                    and (end is None or o.updated <= end)
                    and not (o.status in UNFILLED_END_STATUSES and o.updated < cutoff)
                ]
                key = updated_key
            orders = [o for o in orders if match(o)]
            chosen, next_key = page(orders, key, after, limit)
            return [order_row(o) for o in chosen], next_key

    def recent_closed_orders(self, category: str) -> list[Order]:
        """Finished orders of a category, newest update first (order/realtime openOnly=1)."""
        with self.lock:
            now = self.now_ms()
            orders = [
                o
                for o in self._orders
                if not o.is_open
                and o.listed
                and o.published <= now
                and o.instrument.category == category
            ]
            orders.sort(key=updated_key, reverse=True)
            return orders[:500]

    def query_positions(
        self,
        category: str,
        *,
        symbol: str | None,
        match: Callable[[Instrument], bool],
        after: Key | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], Key | None]:
        """One page of positions; a symbol query also answers for a flat symbol."""
        with self.lock:
            now = self.now_ms()
            if symbol is not None:
                inst = self.instrument(category, symbol)
                if inst is None:
                    return [], None
                position = self._positions.get((category, symbol))
                if position is None:
                    mark = self._mark(inst, now)
                    return [empty_position_row(inst, mark, now)], None
                return [self._position_row(position, now)], None
            positions = [
                p
                for (cat, _), p in self._positions.items()
                if cat == category and p.size_lots > 0 and match(p.instrument)
            ]
            chosen, next_key = page(positions, lambda p: (p.created, p.uid), after, limit)
            return [self._position_row(p, now) for p in chosen], next_key

    def wallet_balance(self, coins: set[str] | None) -> dict[str, Any]:
        """The UNIFIED account entry of wallet-balance (coins with a zero balance omitted)."""
        with self.lock:
            now = self.now_ms()
            return wallet_entry(
                self._balances,
                [o for o in self._orders if o.is_open],
                [(p, self._position_row(p, now)) for p in self._positions.values()],
                lambda coin: self.prices.price(coin, now),
                coins,
                self._exact_balances,
            )

    def tickers(self, category: str, symbol: str | None) -> list[dict[str, Any]]:
        """24h tickers of a category (or one symbol), computed from the price path."""
        with self.lock:
            now = self.now_ms()
            insts = self.instruments.get(category, [])
            if symbol is not None:
                insts = [i for i in insts if i.symbol == symbol]
            return [
                ticker_row(self.seed, self.prices, inst, now, self._mark(inst, now))
                for inst in insts
            ]

    def klines(
        self,
        inst: Instrument,
        interval: str,
        start: int | None,
        end: int | None,
        limit: int,
    ) -> list[list[str]]:
        """Candles newest first; only ``start`` given -> the first ``limit`` from start,
        otherwise the last ``limit`` up to ``end`` (or now). Candles exist from
        now - candle_days (fixed at build) up to the one forming now."""
        now = self.now_ms()
        first = candle_floor(interval, self.kline_floor_ms)
        last = candle_floor(interval, now)
        if end is not None:
            last = min(last, candle_floor(interval, end))
        if start is not None:
            first = max(first, candle_ceil(interval, start))
        opens: list[int] = []
        if start is not None and end is None:
            t = first
            while t <= last and len(opens) < limit:
                opens.append(t)
                t = candle_next(interval, t)
            opens.reverse()
        else:
            t = last
            while t >= first and len(opens) < limit:
                opens.append(t)
                t = candle_prev(interval, t)
        return [kline_row(self.seed, self.prices, inst, interval, t) for t in opens]

    # ------------------------------------------------------------------ internals

    def _exec_row(self, table: ExecTable, index: int) -> dict[str, Any]:
        return exec_row(self.seed, self._orders[table.orders[index]], table, index)

    def _all_executions(self) -> Iterable[tuple[int, dict[str, Any]]]:
        streams = [self._rows_of(table) for table in self._executions.values()]
        return heapq.merge(*streams, key=lambda pair: pair[0])

    def _rows_of(self, table: ExecTable) -> Iterable[tuple[int, dict[str, Any]]]:
        for i in range(len(table)):
            yield table.times[i], self._exec_row(table, i)

    def _position_row(self, position: Position, now: int) -> dict[str, Any]:
        return position_row(position, self._mark(position.instrument, now))


def _scan_down(
    table: ExecTable,
    lo: int,
    hi: int,
    limit: int,
    orders: list[Order],
    match: Callable[[Order], bool] | None,
    kind: int | None = None,
) -> tuple[list[int], bool]:
    """Up to ``limit`` matching row indices in [lo, hi), newest first, and whether more match."""
    found: list[int] = []
    order_of = table.orders
    kinds = table.kinds
    for i in range(hi - 1, lo - 1, -1):
        if (kind is None or kinds[i] == kind) and (match is None or match(orders[order_of[i]])):
            if len(found) == limit:
                return found, True
            found.append(i)
    return found, False
