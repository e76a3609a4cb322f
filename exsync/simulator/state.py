"""Mutable state of the simulated account, shared by HTTP handler threads and tests.

Every public method takes the lock, so a test thread may mutate the account while
the server is answering a client.
"""

from __future__ import annotations

import heapq
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from .market import (
    DAY_MS,
    Instrument,
    PriceModel,
    candle_ceil,
    candle_floor,
    candle_next,
    candle_prev,
    kline_row,
    text_id,
    unit,
)
from .records import UNFILLED_END_STATUSES, ExecTable, Order, Position
from .render import (
    empty_position_row,
    exec_row,
    order_id_for,
    order_row,
    position_row,
)
from .scenario import Scenario, generate, lots_for
from .views import ticker_row, wallet_entry

T = TypeVar("T")
Key = tuple[int, int]


def _page(
    items: list[T], key: Callable[[T], Key], after: Key | None, limit: int
) -> tuple[list[T], Key | None]:
    """Cut one page out of ``items`` (sorted newest first) below the cursor key ``after``.

    Cursors carry the key of the last row served rather than an offset, so rows
    added or removed between two pages neither repeat nor go missing.
    """
    if after is not None:
        items = [item for item in items if key(item) < after]
    page = items[:limit]
    more = len(items) > limit
    return page, (key(page[-1]) if more else None)


class ExchangeState:
    """The account and markets behind the simulator.

    Time: the scenario's ``now_ms`` is the anchor the history was generated
    around, and the simulated clock (:meth:`now_ms`) runs forward from it at wall
    clock speed, so "now" keeps moving the way it does on a real exchange.
    """

    def __init__(self, scenario: Scenario, api_key: str, secret: str) -> None:
        self.scenario = scenario
        self.seed = scenario.seed
        self.lock = threading.RLock()
        self._wall0 = time.time()
        self.anchor_ms = scenario.now_ms if scenario.now_ms is not None else int(self._wall0 * 1000)
        self.prices = PriceModel(scenario.seed)
        generated = generate(scenario, self.anchor_ms, self.prices)
        self.instruments: dict[str, list[Instrument]] = generated.instruments
        self._instrument_index = {
            (inst.category, inst.symbol): inst
            for insts in self.instruments.values()
            for inst in insts
        }
        self._orders: list[Order] = generated.orders
        self._order_index = {order.order_id: order for order in self._orders}
        self._executions: dict[str, ExecTable] = generated.executions
        self._positions: dict[tuple[str, str], Position] = {
            (p.instrument.category, p.instrument.symbol): p for p in generated.positions
        }
        self._next_position_uid = len(self._positions)
        self._balances: dict[str, float] = dict(scenario.balances)
        self._credentials: dict[str, str] = {api_key: secret}
        self.kline_floor_ms = self.anchor_ms - scenario.candle_days * DAY_MS
        self._rng = random.Random(f"{scenario.seed}:mutations")

    # ------------------------------------------------------------------ clock & lookup

    def now_ms(self) -> int:
        """The simulated clock in ms: the scenario anchor plus wall time elapsed since build."""
        return self.anchor_ms + int((time.time() - self._wall0) * 1000)

    def instrument(self, category: str, symbol: str) -> Instrument | None:
        """The instrument ``symbol`` (Bybit id) of ``category``, or None."""
        return self._instrument_index.get((category, symbol))

    def _resolve(self, symbol: str, category: str | None, default: tuple[str, ...]) -> Instrument:
        # Accept Bybit ids ("BTCUSDT") and ccxt symbols ("BTC/USDT", "BTC/USDT:USDT").
        if "/" in symbol:
            base_quote, _, settle = symbol.partition(":")
            base, _, quote = base_quote.partition("/")
            symbol = base + quote
            if category is None:
                category = "spot" if not settle else ("inverse" if settle == base else "linear")
        for cat in (category,) if category else default:
            inst = self.instrument(cat, symbol)
            if inst is not None:
                return inst
        raise KeyError(f"unknown symbol {symbol!r} (category {category or default})")

    # ------------------------------------------------------------------ credentials

    def secret_for(self, api_key: str) -> str | None:
        """Secret of an API key, or None when the key is unknown."""
        with self.lock:
            return self._credentials.get(api_key)

    def set_api_key(self, key: str, secret: str) -> None:
        """Rotate credentials: afterwards only ``key`` / ``secret`` are accepted."""
        with self.lock:
            self._credentials = {key: secret}

    # ------------------------------------------------------------------ read views

    @property
    def balances(self) -> dict[str, float]:
        """Coin -> wallet balance (a copy)."""
        with self.lock:
            return dict(self._balances)

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
            orders = sorted((o for o in self._orders if o.is_open), key=_created_key, reverse=True)
            return [order_row(o) for o in orders]

    @property
    def history_orders(self) -> list[dict[str, Any]]:
        """Every finished order of every category, newest update first.

        order/history additionally hides unfilled cancellations older than 24 hours.
        """
        with self.lock:
            orders = sorted(
                (o for o in self._orders if not o.is_open), key=_updated_key, reverse=True
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
                if o.instrument.category == category and (o.is_open or not open_only)
            ]
            orders.sort(key=_created_key, reverse=True)
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

    # ------------------------------------------------------------------ mutations

    def add_trades(
        self,
        n: int,
        symbol: str | None = None,
        ts: int | None = None,
        category: str | None = None,
    ) -> list[dict[str, Any]]:
        """Add ``n`` own executions (each with its own Filled order) at ``ts`` (default now).

        ``symbol`` may be a Bybit id (linear first, then spot, unless ``category``
        says otherwise) or a ccxt symbol; by default symbols are drawn from the spot
        and linear markets. Returns the raw execution rows added.
        """
        with self.lock:
            t = self.now_ms() if ts is None else ts
            if symbol is not None:
                choices = [self._resolve(symbol, category, ("linear", "spot", "inverse"))]
            elif category is not None:
                choices = self.instruments[category]
            else:
                choices = self.instruments["spot"] + self.instruments["linear"]
            if not choices:
                raise ValueError("no instruments to trade")
            rows = []
            for _ in range(n):
                inst = self._rng.choice(choices)
                price = self.prices.pair_price(inst, t)
                lots = lots_for(inst, self._rng.uniform(20, 2_000), price)
                order = self._new_order(
                    inst,
                    side=self._rng.choice(("Buy", "Sell")),
                    price_ticks=inst.to_ticks(price),
                    qty_lots=lots,
                    filled_lots=lots,
                    status="Filled",
                    created=t,
                    updated=t,
                    is_maker=self._rng.random() < 0.5,
                )
                table = self._executions[inst.category]
                index = table.insert(t, order.uid, lots, 0)
                rows.append(self._exec_row(table, index))
            return rows

    def add_open_order(
        self,
        symbol: str,
        side: str = "Buy",
        qty: float | None = None,
        price: float | None = None,
        category: str | None = None,
        ts: int | None = None,
    ) -> dict[str, Any]:
        """Place a resting limit order (default 5% away from the market); returns its row."""
        with self.lock:
            inst = self._resolve(symbol, category, ("linear", "spot", "inverse"))
            t = self.now_ms() if ts is None else ts
            market = self.prices.pair_price(inst, t)
            if price is None:
                price = market * (0.95 if side == "Buy" else 1.05)
            lots = inst.to_lots(qty) if qty is not None else lots_for(inst, 500, market)
            order = self._new_order(
                inst,
                side=side,
                price_ticks=inst.to_ticks(price),
                qty_lots=lots,
                filled_lots=0,
                status="New",
                created=t,
                updated=t,
                is_maker=True,
            )
            return order_row(order)

    def fill_order(self, order_id: str) -> dict[str, Any]:
        """Fill the rest of an open order now; returns the execution row created."""
        with self.lock:
            order = self._open_order(order_id)
            t = max(self.now_ms(), order.created)
            lots = order.qty_lots - order.filled_lots
            order.filled_lots = order.qty_lots
            order.status = "Filled"
            order.updated = t
            table = self._executions[order.instrument.category]
            index = table.insert(t, order.uid, lots, 0)
            return self._exec_row(table, index)

    def cancel_order(self, order_id: str) -> None:
        """Cancel an open order now: it leaves order/realtime and shows in order/history."""
        with self.lock:
            order = self._open_order(order_id)
            order.status = "PartiallyFilledCanceled" if order.filled_lots else "Cancelled"
            order.updated = max(self.now_ms(), order.created)

    def open_position(
        self,
        symbol: str,
        side: str = "Buy",
        size: float | None = None,
        entry_price: float | None = None,
        leverage: int = 10,
        category: str | None = None,
    ) -> dict[str, Any]:
        """Open (or replace, one-way mode) a position; returns its row.

        ``size`` is in base coin for linear and in USD contracts for inverse;
        defaults are about 5,000 USD at the current price.
        """
        with self.lock:
            inst = self._resolve(symbol, category, ("linear", "inverse"))
            if not inst.is_contract:
                raise ValueError(f"{symbol} is not a contract market")
            now = self.now_ms()
            entry = entry_price if entry_price is not None else self.prices.pair_price(inst, now)
            lots = inst.to_lots(size) if size is not None else lots_for(inst, 5_000, entry)
            position = Position(
                uid=self._next_position_uid,
                instrument=inst,
                side=side,
                size_lots=lots,
                entry_ticks=inst.to_ticks(entry),
                leverage=leverage,
                created=now,
                updated=now,
            )
            self._next_position_uid += 1
            self._positions[(inst.category, inst.symbol)] = position
            return self._position_row(position, now)

    def close_position(self, symbol: str, category: str | None = None) -> None:
        """Close a position: it no longer appears in position/list by settleCoin."""
        with self.lock:
            inst = self._resolve(symbol, category, ("linear", "inverse"))
            if self._positions.pop((inst.category, inst.symbol), None) is None:
                raise KeyError(f"no open position on {inst.category} {inst.symbol}")

    def set_balance(self, coin: str, amount: float) -> None:
        """Set a coin's wallet balance (0 hides it from wallet-balance, as on Bybit)."""
        with self.lock:
            self._balances[coin] = float(amount)

    def remove_balance(self, coin: str) -> None:
        """Drop a coin from the wallet, e.g. after selling all of it."""
        with self.lock:
            self._balances.pop(coin, None)

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
    ) -> tuple[list[dict[str, Any]], Key | None]:
        """One page of executions with start <= execTime <= end, newest first."""
        with self.lock:
            table = self._executions[category]
            lo, hi = table.window(start, end)
            if after is not None:
                hi = min(hi, table.index_of_key(*after))
            if match is None:
                indices = list(range(hi - 1, max(lo, hi - limit) - 1, -1))
                more = hi - limit > lo
            else:
                indices, more = _scan_down(table, lo, hi, limit, self._orders, match)
            rows = [self._exec_row(table, i) for i in indices]
            next_key = (table.times[indices[-1]], table.uids[indices[-1]]) if more else None
            return rows, next_key

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
                key = _created_key
            else:
                cutoff = self.now_ms() - DAY_MS
                orders = [
                    o
                    for o in self._orders
                    if not o.is_open
                    and o.instrument.category == category
                    and (start is None or start <= o.updated)
                    and (end is None or o.updated <= end)
                    and not (o.status in UNFILLED_END_STATUSES and o.updated < cutoff)
                ]
                key = _updated_key
            orders = [o for o in orders if match(o)]
            orders.sort(key=key, reverse=True)
            page, next_key = _page(orders, key, after, limit)
            return [order_row(o) for o in page], next_key

    def recent_closed_orders(self, category: str) -> list[Order]:
        """Finished orders of a category, newest update first (order/realtime openOnly=1)."""
        with self.lock:
            orders = [
                o for o in self._orders if not o.is_open and o.instrument.category == category
            ]
            orders.sort(key=_updated_key, reverse=True)
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
            positions.sort(key=lambda p: (p.created, p.uid), reverse=True)
            page, next_key = _page(positions, lambda p: (p.created, p.uid), after, limit)
            return [self._position_row(p, now) for p in page], next_key

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
            )

    def coins(self) -> list[str]:
        """Every coin the markets or the wallet mention, sorted."""
        with self.lock:
            names = set(self._balances)
            for insts in self.instruments.values():
                for inst in insts:
                    names.update((inst.base, inst.quote))
            return sorted(names)

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

    def _new_order(self, inst: Instrument, **fields: Any) -> Order:
        uid = len(self._orders)
        order = Order(
            uid=uid, order_id=order_id_for(self.seed, inst, uid), instrument=inst, **fields
        )
        self._orders.append(order)
        self._order_index[order.order_id] = order
        return order

    def _open_order(self, order_id: str) -> Order:
        order = self._order_index.get(order_id)
        if order is None:
            raise KeyError(f"unknown order {order_id!r}")
        if not order.is_open:
            raise ValueError(f"order {order_id} is {order.status}, not open")
        return order

    def _exec_row(self, table: ExecTable, index: int) -> dict[str, Any]:
        return exec_row(self.seed, self._orders[table.orders[index]], table, index)

    def _all_executions(self) -> Iterable[tuple[int, dict[str, Any]]]:
        streams = [self._rows_of(table) for table in self._executions.values()]
        return heapq.merge(*streams, key=lambda pair: pair[0])

    def _rows_of(self, table: ExecTable) -> Iterable[tuple[int, dict[str, Any]]]:
        for i in range(len(table)):
            yield table.times[i], self._exec_row(table, i)

    def _mark(self, inst: Instrument, now: int) -> float:
        # Mark price sits a hair off the last price, as a funding basis would put it.
        return self.prices.pair_price(inst, now) * (1 + 0.0002 * (unit(text_id(inst.symbol)) - 0.5))

    def _position_row(self, position: Position, now: int) -> dict[str, Any]:
        return position_row(position, self._mark(position.instrument, now))


def _created_key(order: Order) -> Key:
    return order.created, order.uid


def _updated_key(order: Order) -> Key:
    return order.updated, order.uid


def _scan_down(
    table: ExecTable,
    lo: int,
    hi: int,
    limit: int,
    orders: list[Order],
    match: Callable[[Order], bool],
) -> tuple[list[int], bool]:
    """Up to ``limit`` matching row indices in [lo, hi), newest first, and whether more match."""
    found: list[int] = []
    order_of = table.orders
    for i in range(hi - 1, lo - 1, -1):
        if match(orders[order_of[i]]):
            if len(found) == limit:
                return found, True
            found.append(i)
    return found, False
