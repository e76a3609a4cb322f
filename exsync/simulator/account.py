"""Exchange-neutral account behind every simulator: clock, markets, credentials,
wallet, orders and positions, and the mutations tests apply to them.

Each exchange subclasses :class:`AccountState` and decides how ids look, how a
fill is stored and how records are rendered on its wire. Every public method
takes the lock, so a test thread may mutate the account while the server is
answering a client.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from .market import DAY_MS, Instrument, PriceModel, build_instrument, text_id, unit
from .records import Order, Position
from .scenario import Generated, Scenario, generate, lots_for

Key = tuple[int, int]
T = TypeVar("T")


def page(
    items: list[T], key: Callable[[T], Key], after: Key | None, limit: int
) -> tuple[list[T], Key | None]:
    """Cut one page out of ``items`` (newest first) below the cursor key ``after``; return
    it and the key of its last row (None for an empty page).

    Cursors carry the key of the last row served rather than an offset, so rows
    added or removed between two pages neither repeat nor go missing. As on Bybit,
    the last page carries a cursor too: only an empty page ends the chain.
    """
    items = sorted(items, key=key, reverse=True)
    if after is not None:
        items = [item for item in items if key(item) < after]
    chosen = items[:limit]
    return chosen, (key(chosen[-1]) if chosen else None)


@dataclass
class KeyInfo:
    """What the exchange knows about the API key in use (its key-info endpoint's answer)."""

    #: the key may only read (no trading)
    read_only: bool = True
    #: the key may withdraw
    withdraw: bool = False
    #: IP addresses the key is bound to; empty: usable from anywhere
    ips: tuple[str, ...] = ("127.0.0.1",)
    #: when the key (Bybit) or its trading permission (Binance) expires, ms; None: never
    expires_at_ms: int | None = None


def created_key(order: Order) -> Key:
    """Sort key: creation time, ties broken by insertion order."""
    return order.created, order.uid


def updated_key(order: Order) -> Key:
    """Sort key: last update time, ties broken by insertion order."""
    return order.updated, order.uid


def ccxt_symbol(inst: Instrument) -> str:
    """The unified ccxt symbol of a market ("BTC/USDT", "BTC/USDT:USDT", "BTC/USD:BTC")."""
    symbol = f"{inst.base}/{inst.quote}"
    return symbol if inst.category == "spot" else f"{symbol}:{inst.settle}"


def normalise_side(side: str) -> str:
    """Accept "Buy", "BUY", "buy", "long" (and the sell forms) as the record's "Buy"/"Sell"."""
    lowered = side.lower()
    if lowered in ("buy", "long"):
        return "Buy"
    if lowered in ("sell", "short"):
        return "Sell"
    raise ValueError(f"side must be Buy or Sell, not {side!r}")


class AccountState:
    """The account and markets behind a simulator.

    Time: the scenario's ``now_ms`` is the anchor the history was generated
    around, and the simulated clock (:meth:`now_ms`) runs forward from it at wall
    clock speed, so "now" keeps moving the way it does on a real exchange.
    """

    def __init__(self, scenario: Scenario, api_key: str, secret: str) -> None:
        self.scenario = scenario
        self.seed = scenario.seed
        self.lock = threading.RLock()
        self._wall0 = time.time()
        #: seconds the exchange's clock runs ahead of this host's (negative: behind)
        self.clock_offset = 0.0
        #: what the key-info endpoint says about the API key
        self.key_info = KeyInfo()
        #: a unified trading account (Bybit); False: a classic account
        self.unified = True
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
        self._positions: dict[tuple[str, str], Position] = {
            (p.instrument.category, p.instrument.symbol): p for p in generated.positions
        }
        self._next_position_uid = len(self._positions)
        self._balances: dict[str, float] = dict(scenario.balances)
        #: balances given as decimal text, served with every digit while they stand
        self._exact_balances: dict[str, Decimal] = {}
        self._credentials: dict[str, str] = {api_key: secret}
        self.kline_floor_ms = self.anchor_ms - scenario.candle_days * DAY_MS
        self._rng = random.Random(f"{scenario.seed}:mutations")
        self._adopt(generated)
        self._order_index = {order.order_id: order for order in self._orders}

    # ------------------------------------------------------------------ exchange hooks

    def _adopt(self, generated: Generated) -> None:
        """Take over the generated executions (and re-id orders if the exchange must)."""
        raise NotImplementedError

    def _order_id(self, inst: Instrument, uid: int) -> str:
        """The id a new order gets on this exchange."""
        raise NotImplementedError

    def _record_fill(self, order: Order, t: int, lots: int, leaves: int) -> dict[str, Any]:
        """Store one execution of ``order`` at ``t`` and return its row as served."""
        raise NotImplementedError

    def _order_row(self, order: Order) -> dict[str, Any]:
        """An order as the exchange serves it."""
        raise NotImplementedError

    def _position_row(self, position: Position, now: int) -> dict[str, Any]:
        """A position as the exchange serves it."""
        raise NotImplementedError

    def _closed(self, position: Position, now: int) -> None:
        """Book what a position closed at ``now`` realised (where the exchange reports it)."""

    # ------------------------------------------------------------------ clock & lookup

    def now_ms(self) -> int:
        """The simulated clock in ms: the scenario anchor plus wall time elapsed since build."""
        return self.anchor_ms + int((time.time() - self._wall0) * 1000)

    def server_ms(self) -> int:
        """The exchange's wall clock in ms: what it signs its answers with and checks request
        timestamps against (this host's clock plus ``clock_offset``)."""
        return int((time.time() + self.clock_offset) * 1000)

    def instrument(self, category: str, symbol: str) -> Instrument | None:
        """The instrument ``symbol`` (exchange id) of ``category``, or None."""
        return self._instrument_index.get((category, symbol))

    def _resolve(self, symbol: str, category: str | None, default: tuple[str, ...]) -> Instrument:
        # Accept exchange ids ("BTCUSDT") and ccxt symbols ("BTC/USDT", "BTC/USDT:USDT").
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

    def categories(self) -> list[str]:
        """Categories that list at least one market, in spot, linear, inverse order."""
        return [c for c in ("spot", "linear", "inverse") if self.instruments.get(c)]

    # ------------------------------------------------------------------ credentials

    def secret_for(self, api_key: str) -> str | None:
        """Secret of an API key, or None when the key is unknown."""
        with self.lock:
            return self._credentials.get(api_key)

    def add_api_key(self, key: str, secret: str) -> None:
        """Accept another key as well, e.g. a second account's key on the same simulator."""
        with self.lock:
            self._credentials[key] = secret

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

    def coins(self) -> list[str]:
        """Every coin the markets or the wallet mention, sorted."""
        with self.lock:
            names = set(self._balances)
            for insts in self.instruments.values():
                for inst in insts:
                    names.update((inst.base, inst.quote))
            return sorted(names)

    def _expected_positions(self) -> list[tuple[str, str, float, float]]:
        """Open positions as sorted (ccxt symbol, "long"|"short", contracts, entry price)."""
        rows = []
        for position in self._positions.values():
            inst = position.instrument
            side = "long" if position.side == "Buy" else "short"
            qty, entry = inst.qty_of(position.size_lots), inst.price_of(position.entry_ticks)
            rows.append((ccxt_symbol(inst), side, qty, entry))
        return sorted(rows)

    # ------------------------------------------------------------------ mutations

    def add_trades(
        self,
        n: int,
        symbol: str | None = None,
        ts: int | None = None,
        category: str | None = None,
    ) -> list[dict[str, Any]]:
        """Add ``n`` own executions (each with its own Filled order) at ``ts`` (default now).

        ``symbol`` may be an exchange id (linear first, then spot, unless ``category``
        says otherwise) or a ccxt symbol; by default symbols are drawn from the spot
        and linear markets. Returns the raw execution rows added.
        """
        with self.lock:
            t = self.now_ms() if ts is None else ts
            if symbol is not None:
                choices = [self._resolve(symbol, category, ("linear", "spot", "inverse"))]
            elif category is not None:
                choices = self.instruments.get(category, [])
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
                rows.append(self._record_fill(order, t, lots, 0))
            return rows

    def add_fills(
        self,
        symbol: str,
        fills: int,
        ts: int | None = None,
        category: str | None = None,
        side: str = "Buy",
    ) -> list[dict[str, Any]]:
        """One taker order swept through the book: ``fills`` executions, all in the same
        millisecond ``ts`` (default now), each with its own growing id, as a matching engine
        reports a large market order. Returns the raw execution rows added."""
        if fills < 1:
            raise ValueError("fills must be >= 1")
        with self.lock:
            t = self.now_ms() if ts is None else ts
            inst = self._resolve(symbol, category, ("linear", "spot", "inverse"))
            price = self.prices.pair_price(inst, t)
            lots = [lots_for(inst, self._rng.uniform(20, 200), price) for _ in range(fills)]
            order = self._new_order(
                inst,
                side=normalise_side(side),
                price_ticks=inst.to_ticks(price),
                qty_lots=sum(lots),
                filled_lots=sum(lots),
                status="Filled",
                created=t,
                updated=t,
                is_maker=False,
                order_type="Market",
            )
            rows = []
            leaves = sum(lots)
            for qty in lots:
                leaves -= qty
                rows.append(self._record_fill(order, t, qty, leaves))
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
            side = normalise_side(side)
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
            return self._order_row(order)

    def fill_order(self, order_id: str | int) -> dict[str, Any]:
        """Fill the rest of an open order now; returns the execution row created."""
        with self.lock:
            order = self._open_order(str(order_id))
            t = max(self.now_ms(), order.created)
            lots = order.qty_lots - order.filled_lots
            order.filled_lots = order.qty_lots
            order.status = "Filled"
            order.updated = t
            return self._record_fill(order, t, lots, 0)

    def cancel_order(
        self, order_id: str | int, ts: int | None = None, history_delay: float = 0.0
    ) -> None:
        """Cancel an open order (now, or at ``ts``): it leaves the open orders and shows in
        the history, ``history_delay`` seconds later where the exchange delays it (Bybit)."""
        with self.lock:
            order = self._open_order(str(order_id))
            order.status = "PartiallyFilledCanceled" if order.filled_lots else "Cancelled"
            order.updated = max(self.now_ms() if ts is None else ts, order.created)
            order.published = self.now_ms() + int(history_delay * 1000)

    def publish_delayed(self) -> None:
        """Let every finished order whose history entry was delayed show now."""
        with self.lock:
            for order in self._orders:
                order.published = 0

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
            side = normalise_side(side)
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
        """Close a position at the market: it no longer appears among the open positions
        (where the exchange reports closed PnL, its result is booked)."""
        with self.lock:
            inst = self._resolve(symbol, category, ("linear", "inverse"))
            position = self._positions.pop((inst.category, inst.symbol), None)
            if position is None:
                raise KeyError(f"no open position on {inst.category} {inst.symbol}")
            self._closed(position, self.now_ms())

    def delist(self, symbol: str, category: str) -> None:
        """Take a market off the exchange: the markets, tickers and candles no longer know
        it; orders, executions and positions already booked on it stay in the history."""
        with self.lock:
            inst = self._resolve(symbol, category, (category,))
            self.instruments[inst.category] = [
                i for i in self.instruments[inst.category] if i is not inst
            ]
            del self._instrument_index[(inst.category, inst.symbol)]

    def list_market(self, symbol: str, category: str) -> str:
        """List a new market (an exchange id such as ``DOGEUSDT``); returns its ccxt symbol."""
        with self.lock:
            inst = build_instrument(category, symbol, self.now_ms())
            self.instruments.setdefault(category, []).append(inst)
            self._instrument_index[(category, inst.symbol)] = inst
            self._listed(inst)
            return ccxt_symbol(inst)

    def _listed(self, inst: Instrument) -> None:
        """Set up what a newly listed market needs (id sequences on some exchanges)."""

    def set_balance(self, coin: str, amount: float | str | Decimal) -> None:
        """Set a coin's wallet balance; given as decimal text (or a Decimal) it is served
        with every digit, as the exchange prints amounts finer than a float holds."""
        with self.lock:
            self._balances[coin] = float(amount)
            if isinstance(amount, str | Decimal):
                self._exact_balances[coin] = Decimal(amount)
            else:
                self._exact_balances.pop(coin, None)

    def remove_balance(self, coin: str) -> None:
        """Drop a coin from the wallet, e.g. after selling all of it."""
        with self.lock:
            self._balances.pop(coin, None)
            self._exact_balances.pop(coin, None)

    # ------------------------------------------------------------------ internals

    def _new_order(self, inst: Instrument, **fields: Any) -> Order:
        uid = len(self._orders)
        order = Order(uid=uid, order_id=self._order_id(inst, uid), instrument=inst, **fields)
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

    def _mark(self, inst: Instrument, now: int) -> float:
        # Mark price sits a hair off the last price, as a funding basis would put it.
        return self.prices.pair_price(inst, now) * (1 + 0.0002 * (unit(text_id(inst.symbol)) - 0.5))
