"""Mutable state of the simulated Binance account: a spot wallet, a USD-M futures
wallet with one-way-mode positions, and the orders and own trades of both.

The history is the same deterministic generation the Bybit simulator uses; only
ids and shapes are Binance's: orders and trades are numbered per symbol with
growing integers (``orderId`` / ``fromId`` cursors depend on that).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import Any

from ..account import AccountState, ccxt_symbol, created_key, updated_key
from ..market import DAY_MS, Instrument, candle_ceil, candle_floor, candle_next, mix, text_id
from ..records import Order, Position
from ..scenario import Generated, Scenario
from . import render
from .funds_state import BinanceFunds
from .records import IdSequence, TradeBook, pick

CATEGORIES = ("spot", "linear")
# Id ranges: each symbol gets its own block inside its category, so ids are unique per
# category in this simulator. (Real Binance only promises uniqueness per symbol.)
_ORDER_BASE = {"spot": 20_000_000_000, "linear": 500_000_000_000}
_ORDER_BLOCK = 10_000_000_000
_TRADE_BASE = {"spot": 1_000_000_000, "linear": 200_000_000_000}
_TRADE_BLOCK = 1_000_000_000
# Binance keeps an unfilled cancelled spot order for 90 days; USD-M futures forgets an
# unfilled cancelled order after 3 days and every order after 90 days.
SPOT_UNFILLED_RETENTION_MS = 90 * DAY_MS
FUTURES_UNFILLED_RETENTION_MS = 3 * DAY_MS
FUTURES_RETENTION_MS = 90 * DAY_MS
# USD-M futures answers own trades of the last 6 months only, whatever the parameters.
FUTURES_TRADE_RETENTION_MS = 180 * DAY_MS
# Assets the futures account always lists (zero and never used: updateTime 0).
_FUTURES_ASSETS = ("USDT", "USDC", "BTC", "BNB", "ETH", "FDUSD")
_UNFILLED_END = frozenset({"Cancelled", "Rejected", "Deactivated"})
_CCXT_STATUS = {"FILLED": "closed", "CANCELED": "canceled", "REJECTED": "rejected"}


class BinanceState(BinanceFunds, AccountState):
    """The Binance account and markets behind :class:`BinanceSimulator`.

    ``balances`` is the spot wallet (coin -> total) and ``futures_balances`` the
    USD-M futures wallet (coin -> wallet balance, without unrealised PnL). Positions
    are USD-M perpetuals in one-way mode. The money side (deposits, withdrawals,
    transfers, income, converts, the Funding wallet and Simple Earn) is
    :class:`BinanceFunds`. Every public method takes the lock.
    """

    def __init__(self, scenario: Scenario, api_key: str, secret: str) -> None:
        super().__init__(scenario, api_key, secret)
        self._init_funds()

    # ------------------------------------------------------------------ setup & hooks

    def _adopt(self, generated: Generated) -> None:
        # COIN-M futures live under other ids (BTCUSD_PERP) on another API (/dapi); this
        # simulator covers spot and USD-M only, so the scenario's inverse markets go.
        self.instruments = {c: list(self.instruments.get(c, [])) for c in CATEGORIES}
        self.instruments.update(inverse=[], option=[])
        self._instrument_index = {
            (inst.category, inst.symbol): inst for c in CATEGORIES for inst in self.instruments[c]
        }
        self._futures_balances: dict[str, float] = dict(self.scenario.futures_balances)
        self._order_seqs: dict[tuple[str, str], IdSequence] = {}
        self._trade_seqs: dict[tuple[str, str], IdSequence] = {}
        self._books: dict[tuple[str, str], TradeBook] = {}
        for category in CATEGORIES:
            for i, inst in enumerate(self.instruments[category]):
                self._number(inst, i)
        # Order ids grow with creation time per symbol, as the matching engine hands them out.
        by_symbol: dict[tuple[str, str], list[Order]] = {}
        for order in self._orders:
            by_symbol.setdefault(self._key(order.instrument), []).append(order)
        for key, orders in by_symbol.items():
            orders.sort(key=created_key)
            for order, order_id in zip(
                orders, self._order_seqs[key].take(len(orders)), strict=True
            ):
                order.order_id = str(order_id)
        # Trades arrive sorted by time per category; split them per symbol and number them.
        for category in CATEGORIES:
            table = generated.executions.get(category)
            if table is None or not len(table):
                continue
            groups: dict[str, tuple[list[int], list[int], list[int]]] = {}
            orders_list = self._orders
            for t, order_uid, lots in zip(table.times, table.orders, table.lots, strict=True):
                symbol = orders_list[order_uid].instrument.symbol
                group = groups.get(symbol)
                if group is None:
                    group = groups[symbol] = ([], [], [])
                group[0].append(t)
                group[1].append(order_uid)
                group[2].append(lots)
            for symbol, (times, order_uids, lots_list) in groups.items():
                key = (category, symbol)
                ids = self._trade_seqs[key].take(len(times))
                self._books[key].extend(ids, times, order_uids, lots_list)

    def _number(self, inst: Instrument, index: int) -> None:
        """Give a market its own blocks of order and trade ids, and an empty trade book."""
        category = inst.category
        key = (category, inst.symbol)
        salt = mix(self.seed, text_id(inst.symbol), text_id(category))
        self._order_seqs[key] = IdSequence(
            _ORDER_BASE[category] + index * _ORDER_BLOCK + salt % 1_000_000_000,
            f"{self.seed}:binance-orders:{category}:{inst.symbol}",
        )
        self._trade_seqs[key] = IdSequence(
            _TRADE_BASE[category] + index * _TRADE_BLOCK + salt % 100_000_000,
            f"{self.seed}:binance-trades:{category}:{inst.symbol}",
        )
        self._books[key] = TradeBook()

    def _listed(self, inst: Instrument) -> None:
        if inst.category not in CATEGORIES:
            raise ValueError(f"this simulator lists spot and linear markets, not {inst.category}")
        self._number(inst, len(self._order_seqs))

    @staticmethod
    def _key(inst: Instrument) -> tuple[str, str]:
        return inst.category, inst.symbol

    def _order_id(self, inst: Instrument, uid: int) -> str:
        return str(self._order_seqs[self._key(inst)].next())

    def _record_fill(self, order: Order, t: int, lots: int, leaves: int) -> dict[str, Any]:
        key = self._key(order.instrument)
        trade_id = self._trade_seqs[key].next()
        self._books[key].append(trade_id, t, order.uid, lots)
        return render.trade_row(order, trade_id, t, lots)

    def _order_row(self, order: Order) -> dict[str, Any]:
        return render.order_row(self.seed, order)

    def _position_row(self, position: Position, now: int) -> dict[str, Any]:
        inst = position.instrument
        return render.position_row(
            position, inst, self._mark(inst, now), self._order_margin().get(inst.symbol, 0.0)
        )

    # ------------------------------------------------------------------ read views

    @property
    def futures_balances(self) -> dict[str, float]:
        """USD-M futures wallet: coin -> wallet balance, unrealised PnL not included (a copy)."""
        with self.lock:
            return dict(self._futures_balances)

    @property
    def positions(self) -> list[dict[str, Any]]:
        """Open positions as /fapi/v3/positionRisk serves them (flat rows left out)."""
        with self.lock:
            now = self.now_ms()
            return [self._position_row(p, now) for p in self._positions.values()]

    @property
    def open_orders(self) -> list[dict[str, Any]]:
        """Resting orders of spot and futures, newest first, as openOrders serves them."""
        with self.lock:
            orders = sorted((o for o in self._orders if o.is_open), key=created_key, reverse=True)
            return [self._order_row(o) for o in orders]

    @property
    def history_orders(self) -> list[dict[str, Any]]:
        """Every finished order of spot and futures, newest update first, as allOrders
        serves them (allOrders itself forgets some, see :meth:`order_visible`)."""
        with self.lock:
            orders = sorted(
                (o for o in self._orders if not o.is_open), key=updated_key, reverse=True
            )
            return [self._order_row(o) for o in orders]

    @property
    def executions(self) -> list[dict[str, Any]]:
        """Every own trade of spot and futures, oldest first."""
        with self.lock:
            streams = [self._trades_of(category) for category in CATEGORIES]
            return [row for _, row in heapq.merge(*streams, key=lambda pair: pair[0])]

    def executions_in(self, category: str) -> list[dict[str, Any]]:
        """Own trades of one category ("spot" or "linear") as served, oldest first."""
        with self.lock:
            return [row for _, row in self._trades_of(category)]

    def orders_in(self, category: str, open_only: bool = False) -> list[dict[str, Any]]:
        """Orders (open and finished, or open only) of one category, newest first."""
        with self.lock:
            orders = [
                o
                for o in self._orders
                if o.instrument.category == category and (o.is_open or not open_only)
            ]
            orders.sort(key=created_key, reverse=True)
            return [self._order_row(o) for o in orders]

    def kline(
        self, symbol_id: str, interval: str, open_time_ms: int, category: str | None = None
    ) -> tuple[float, float, float, float, float]:
        """(open, high, low, close, volume) of one candle, as floats of the served strings.

        ``interval`` is Binance's notation ("1h"); ``category`` defaults to spot, then
        linear. Spot and futures differ only by their tick size.
        """
        row = self.kline_row(symbol_id, interval, open_time_ms, category)
        o, h, low, c, v = (float(x) for x in row[1:6])
        return o, h, low, c, v

    def kline_row(
        self, symbol_id: str, interval: str, open_time_ms: int, category: str | None = None
    ) -> list[Any]:
        """One candle exactly as /api/v3/klines or /fapi/v1/klines serves it."""
        inst = self._resolve(symbol_id, category, CATEGORIES)
        key = render.SPOT_INTERVALS.get(interval, interval)
        return render.kline(
            self.seed, self.prices, inst, key, open_time_ms, candle_next(key, open_time_ms)
        )

    def trade_horizon(self, category: str, now: int) -> int:
        """The oldest trade time myTrades / userTrades still serve: USD-M futures keeps
        6 months, spot everything."""
        return now - FUTURES_TRADE_RETENTION_MS if category == "linear" else -(2**62)

    def order_visible(self, order: Order, now: int) -> bool:
        """Whether allOrders still returns ``order``: spot archives unfilled cancellations
        after 90 days; USD-M futures drops them after 3 days and every order after 90."""
        unfilled_end = order.status in _UNFILLED_END and not order.filled_lots
        if order.instrument.category == "spot":
            return not (unfilled_end and order.updated < now - SPOT_UNFILLED_RETENTION_MS)
        if order.created < now - FUTURES_RETENTION_MS:
            return False
        return not (unfilled_end and order.created < now - FUTURES_UNFILLED_RETENTION_MS)

    def expected(self) -> dict[str, Any]:
        """What a correct sync of this account holds right now, in ccxt's unified terms.

        - ``balances``: {coin: total} of ``fetch_balance()`` (the spot wallet), zeros left
          out (Binance lists zero assets; ccxt keeps them as 0.0).
        - ``futures_balances``: {coin: wallet balance} of the USD-M wallet (what a mirror
          stores as its total); ``futures_equity``: the same plus unrealised PnL (ccxt's
          total, Binance's marginBalance), which follows the mark price: compare with a
          tolerance.
        - ``positions``: sorted (ccxt symbol, "long"|"short", contracts, entry price).
        - ``open_order_ids``: every resting order id; ``open_orders``: the same per category.
        - ``closed_orders``: {category: {id: ccxt status}} of finished orders allOrders
          still returns ("closed" for filled, "canceled" for cancelled, even when
          partly filled).
        - ``execution_ids``: {category: {trade id: time ms}} of the trades still served
          (USD-M: the last 6 months); ``symbols``: {category:
          [ccxt symbols]}. Categories are "spot" and "linear"; ids are strings.
        """
        with self.lock:
            now = self.now_ms()
            upl: dict[str, float] = {}
            for position in self._positions.values():
                inst = position.instrument
                numbers = render.position_numbers(position, self._mark(inst, now))
                upl[inst.settle] = upl.get(inst.settle, 0.0) + numbers["upl"]
            open_orders: dict[str, set[str]] = {c: set() for c in CATEGORIES}
            closed: dict[str, dict[str, str]] = {c: {} for c in CATEGORIES}
            for order in self._orders:
                category = order.instrument.category
                if order.is_open:
                    open_orders[category].add(order.order_id)
                elif self.order_visible(order, now):
                    status = _CCXT_STATUS.get(render.order_status(order), "expired")
                    closed[category][order.order_id] = status
            return {
                "balances": {c: round(v, 8) for c, v in self._balances.items() if round(v, 8)},
                "futures_balances": {
                    coin: round(wallet, 8)
                    for coin, wallet in self._futures_balances.items()
                    if round(wallet, 8)
                },
                "futures_equity": {
                    coin: round(wallet + upl.get(coin, 0.0), 8)
                    for coin, wallet in self._futures_balances.items()
                    if round(wallet + upl.get(coin, 0.0), 8)
                },
                "positions": self._expected_positions(),
                "open_order_ids": set().union(*open_orders.values()),
                "open_orders": open_orders,
                "closed_orders": closed,
                "execution_ids": {
                    c: {
                        str(trade_id): t
                        for i in self.instruments[c]
                        for trade_id, t in zip(
                            self._books[(c, i.symbol)].ids,
                            self._books[(c, i.symbol)].times,
                            strict=True,
                        )
                        if t >= self.trade_horizon(c, now)
                    }
                    for c in CATEGORIES
                },
                "symbols": {c: [ccxt_symbol(i) for i in self.instruments[c]] for c in CATEGORIES},
            }

    # ------------------------------------------------------------------ mutations

    def set_futures_balance(self, coin: str, amount: float) -> None:
        """Set a coin's USD-M futures wallet balance."""
        with self.lock:
            self._futures_balances[coin] = float(amount)

    def remove_futures_balance(self, coin: str) -> None:
        """Drop a coin from the USD-M futures wallet."""
        with self.lock:
            self._futures_balances.pop(coin, None)

    # ------------------------------------------------------------------ queries (server side)

    def spot_account(self, omit_zero: bool) -> dict[str, Any]:
        """/api/v3/account: every asset of the markets and the wallet, free and locked.

        Open spot orders lock what they would spend (quote for buys, base for sells).
        """
        with self.lock:
            locked: dict[str, float] = {}
            for order in self._orders:
                inst = order.instrument
                if not order.is_open or inst.category != "spot":
                    continue
                leaves = inst.qty_of(order.qty_lots - order.filled_lots)
                if order.side == "Buy":
                    coin, amount = inst.quote, leaves * inst.price_of(order.price_ticks)
                else:
                    coin, amount = inst.base, leaves
                locked[coin] = locked.get(coin, 0.0) + amount
            rows = []
            for coin in self.coins():
                total = self._balances.get(coin, 0.0)
                held = min(total, locked.get(coin, 0.0))
                if omit_zero and not total:
                    continue
                rows.append(
                    {"asset": coin, "free": render.dec8(total - held), "locked": render.dec8(held)}
                )
            return {
                "makerCommission": 10,
                "takerCommission": 10,
                "buyerCommission": 0,
                "sellerCommission": 0,
                "commissionRates": {
                    "maker": "0.00100000",
                    "taker": "0.00100000",
                    "buyer": "0.00000000",
                    "seller": "0.00000000",
                },
                "canTrade": True,
                "canWithdraw": True,
                "canDeposit": True,
                "brokered": False,
                "requireSelfTradePrevention": False,
                "preventSor": False,
                "updateTime": self.now_ms(),
                "accountType": "SPOT",
                "balances": rows,
                "permissions": ["SPOT"],
                "uid": 354937868,
            }

    def futures_account(self, version: int) -> dict[str, Any]:
        """/fapi/v3/account (``version`` 3) or /fapi/v2/account: single-asset mode, cross margin."""
        with self.lock:
            now = self.now_ms()
            order_im = self._order_margin()
            settle_im: dict[str, float] = {}
            for inst in self.instruments["linear"]:
                settle_im[inst.settle] = settle_im.get(inst.settle, 0.0) + order_im.get(
                    inst.symbol, 0.0
                )
            pos_rows = self._position_rows(None, now, version=3)
            per_asset: dict[str, dict[str, float]] = {}
            for row in pos_rows:
                inst = self.instrument("linear", row["symbol"])
                assert inst is not None
                totals = per_asset.setdefault(inst.settle, {"upl": 0.0, "im": 0.0, "mm": 0.0})
                totals["upl"] += float(row["unRealizedProfit"])
                totals["im"] += float(row["positionInitialMargin"])
                totals["mm"] += float(row["maintMargin"])
            assets = []
            totals_usdt: dict[str, float] = {}
            for coin in dict.fromkeys((*_FUTURES_ASSETS, *self._futures_balances)):
                wallet = self._futures_balances.get(coin, 0.0)
                numbers = per_asset.get(coin, {"upl": 0.0, "im": 0.0, "mm": 0.0})
                margin = wallet + numbers["upl"]
                open_im = settle_im.get(coin, 0.0)
                initial = numbers["im"] + open_im
                available = margin - initial
                entry = {
                    "asset": coin,
                    "walletBalance": render.dec8(wallet),
                    "unrealizedProfit": render.dec8(numbers["upl"]),
                    "marginBalance": render.dec8(margin),
                    "maintMargin": render.dec8(numbers["mm"]),
                    "initialMargin": render.dec8(initial),
                    "positionInitialMargin": render.dec8(numbers["im"]),
                    "openOrderInitialMargin": render.dec8(open_im),
                    "crossWalletBalance": render.dec8(wallet),
                    "crossUnPnl": render.dec8(numbers["upl"]),
                    "availableBalance": render.dec8(available),
                    "maxWithdrawAmount": render.dec8(max(0.0, min(wallet, available))),
                    # ccxt skips assets whose updateTime is 0 (never used on futures).
                    "updateTime": (
                        self.anchor_ms - 30 * DAY_MS if coin in self._futures_balances else 0
                    ),
                }
                if version == 2:
                    entry["marginAvailable"] = True
                assets.append(entry)
                if coin == "USDT":
                    totals_usdt = {
                        "im": initial,
                        "mm": numbers["mm"],
                        "wallet": wallet,
                        "upl": numbers["upl"],
                        "margin": margin,
                        "pos_im": numbers["im"],
                        "open_im": open_im,
                        "available": available,
                    }
            get = totals_usdt.get
            account: dict[str, Any] = {
                "totalInitialMargin": render.dec8(get("im", 0.0)),
                "totalMaintMargin": render.dec8(get("mm", 0.0)),
                "totalWalletBalance": render.dec8(get("wallet", 0.0)),
                "totalUnrealizedProfit": render.dec8(get("upl", 0.0)),
                "totalMarginBalance": render.dec8(get("margin", 0.0)),
                "totalPositionInitialMargin": render.dec8(get("pos_im", 0.0)),
                "totalOpenOrderInitialMargin": render.dec8(get("open_im", 0.0)),
                "totalCrossWalletBalance": render.dec8(get("wallet", 0.0)),
                "totalCrossUnPnl": render.dec8(get("upl", 0.0)),
                "availableBalance": render.dec8(get("available", 0.0)),
                "maxWithdrawAmount": render.dec8(
                    max(0.0, min(get("wallet", 0.0), get("available", 0.0)))
                ),
                "assets": assets,
                "positions": [
                    {
                        "symbol": row["symbol"],
                        "positionSide": "BOTH",
                        "positionAmt": row["positionAmt"],
                        "unrealizedProfit": row["unRealizedProfit"],
                        "isolatedMargin": "0",
                        "notional": row["notional"],
                        "isolatedWallet": "0",
                        "initialMargin": row["initialMargin"],
                        "maintMargin": row["maintMargin"],
                        "updateTime": row["updateTime"],
                    }
                    for row in pos_rows
                ],
            }
            if version == 2:
                account = {
                    "feeTier": 0,
                    "feeBurn": True,
                    "canTrade": True,
                    "canDeposit": True,
                    "canWithdraw": True,
                    "updateTime": 0,
                    "multiAssetsMargin": False,
                    "tradeGroupId": -1,
                    **account,
                }
            return account

    def futures_balance_rows(self) -> list[dict[str, Any]]:
        """/fapi/v2/balance and /fapi/v3/balance rows, derived from the account view."""
        account = self.futures_account(3)
        return [
            {
                "accountAlias": "SgsR",
                "asset": a["asset"],
                "balance": a["walletBalance"],
                "crossWalletBalance": a["crossWalletBalance"],
                "crossUnPnl": a["crossUnPnl"],
                "availableBalance": a["availableBalance"],
                "maxWithdrawAmount": a["maxWithdrawAmount"],
                "marginAvailable": True,
                "updateTime": a["updateTime"],
            }
            for a in account["assets"]
        ]

    def position_risk(self, symbol: str | None, version: int) -> list[dict[str, Any]]:
        """positionRisk rows: v3 lists symbols with a position or resting orders; v2 lists
        every symbol (flat ones with zeros)."""
        with self.lock:
            return self._position_rows(symbol, self.now_ms(), version)

    def symbol_configs(self, symbol: str | None) -> list[dict[str, Any]]:
        """/fapi/v1/symbolConfig entries: each USD-M symbol's leverage and margin type."""
        with self.lock:
            rows = []
            for inst in self.instruments["linear"]:
                if symbol not in (None, inst.symbol):
                    continue
                position = self._positions.get(("linear", inst.symbol))
                rows.append(render.symbol_config(inst, position))
            return rows

    def leverage_brackets(self, symbol: str | None) -> list[dict[str, Any]]:
        """/fapi/v1/leverageBracket entries, all symbols or one."""
        insts = self.instruments["linear"]
        return [render.leverage_brackets(i) for i in insts if symbol in (None, i.symbol)]

    def query_open_orders(self, category: str, inst: Instrument | None) -> list[dict[str, Any]]:
        """Resting orders of a category (one symbol or all), oldest first."""
        with self.lock:
            orders = [
                o
                for o in self._orders
                if o.is_open
                and o.instrument.category == category
                and (inst is None or o.instrument is inst)
            ]
            orders.sort(key=created_key)
            return [self._order_row(o) for o in orders]

    def query_orders(
        self,
        category: str,
        inst: Instrument | None,
        *,
        from_order_id: int | None,
        start: int | None,
        end: int | None,
        limit: int,
        newest: bool,
    ) -> list[dict[str, Any]]:
        """allOrders: orders created in [start, end] with id >= ``from_order_id``, oldest
        first; ``newest`` keeps the last ``limit`` instead of the first."""
        with self.lock:
            now = self.now_ms()
            orders = [
                o
                for o in self._orders
                if o.instrument.category == category
                and (inst is None or o.instrument is inst)
                and (from_order_id is None or int(o.order_id) >= from_order_id)
                and (start is None or start <= o.created)
                and (end is None or o.created <= end)
                and self.order_visible(o, now)
            ]
            orders.sort(key=created_key)
            picked = orders[-limit:] if newest else orders[:limit]
            return [self._order_row(o) for o in picked]

    def query_trades(
        self,
        inst: Instrument,
        *,
        from_id: int | None,
        order_id: int | None,
        start: int | None,
        end: int | None,
        limit: int,
        newest: bool,
    ) -> list[dict[str, Any]]:
        """myTrades / userTrades of one symbol, ascending ids: from ``from_id`` on, or
        inside [start, end]; ``newest`` keeps the last ``limit`` instead of the first.
        Trades before :meth:`trade_horizon` are no longer served."""
        with self.lock:
            book = self._books[self._key(inst)]
            horizon = self.trade_horizon(inst.category, self.now_ms())
            order_uid = None
            if order_id is not None:
                order = self._order_index.get(str(order_id))
                if order is None or order.instrument is not inst:
                    return []
                order_uid = order.uid
            indices: Iterable[int]
            if start is not None or end is not None:
                low = max(start if start is not None else -(2**62), horizon)
                high = end if end is not None else 2**62
                indices = book.in_window(low, high)
            else:
                first = book.from_id(from_id) if from_id is not None else 0
                indices = range(max(first, book.first_at(horizon)), len(book))

            def wanted(i: int) -> bool:
                return book.times[i] >= horizon and (
                    order_uid is None or book.orders[i] == order_uid
                )

            # Sorted books start at the horizon already; a filter is only needed otherwise.
            plain = order_uid is None and (book.time_sorted or horizon == -(2**62))
            match = None if plain else wanted
            picked = pick(indices, limit, newest, match)
            return [self._trade_row(book, i) for i in picked]

    def tickers(self, category: str, insts: list[Instrument] | None) -> list[dict[str, Any]]:
        """24hr tickers of a category (or the markets given)."""
        with self.lock:
            now = self.now_ms()
            chosen = self.instruments[category] if insts is None else insts
            return [render.ticker_row(self.seed, self.prices, i, now) for i in chosen]

    def klines(
        self, inst: Instrument, key: str, start: int | None, end: int | None, limit: int
    ) -> list[list[Any]]:
        """Candles oldest first: from ``start`` (the first ``limit``), else the last
        ``limit`` up to ``end`` or now. Candles exist from now - candle_days (fixed at
        build) up to the one forming now."""
        now = self.now_ms()
        first = candle_floor(key, self.kline_floor_ms)
        last = candle_floor(key, now)
        if end is not None:
            last = min(last, candle_floor(key, end))
        if start is not None:
            first = max(first, candle_ceil(key, start))
        opens: list[int] = []
        if start is not None:
            t = first
            while t <= last and len(opens) < limit:
                opens.append(t)
                t = candle_next(key, t)
        else:
            t = last
            while t >= first and len(opens) < limit:
                opens.append(t)
                t = candle_floor(key, t - 1)
            opens.reverse()
        return [
            render.kline(self.seed, self.prices, inst, key, t, candle_next(key, t)) for t in opens
        ]

    # ------------------------------------------------------------------ internals

    def _trade_row(self, book: TradeBook, index: int) -> dict[str, Any]:
        order = self._orders[book.orders[index]]
        return render.trade_row(order, book.ids[index], book.times[index], book.lots[index])

    def _trades_of(self, category: str) -> Iterable[tuple[tuple[int, int], dict[str, Any]]]:
        """(time, id) keyed rows of a category, oldest first across its symbols."""
        books = [self._books[(category, i.symbol)] for i in self.instruments[category]]

        def stream(book: TradeBook) -> Iterable[tuple[tuple[int, int], dict[str, Any]]]:
            indices: Iterable[int] = range(len(book))
            if not book.time_sorted:
                indices = sorted(indices, key=lambda i: (book.times[i], book.ids[i]))
            for i in indices:
                yield (book.times[i], book.ids[i]), self._trade_row(book, i)

        return heapq.merge(*(stream(b) for b in books), key=lambda pair: pair[0])

    def _order_margin(self) -> dict[str, float]:
        """Initial margin resting futures orders reserve, per symbol."""
        margin: dict[str, float] = {}
        for order in self._orders:
            inst = order.instrument
            if order.is_open and inst.category == "linear":
                leaves = inst.qty_of(order.qty_lots - order.filled_lots)
                value = leaves * inst.price_of(order.price_ticks) / render.ORDER_LEVERAGE
                margin[inst.symbol] = margin.get(inst.symbol, 0.0) + value
        return margin

    def _position_rows(self, symbol: str | None, now: int, version: int) -> list[dict[str, Any]]:
        order_im = self._order_margin()
        rows = []
        for inst in self.instruments["linear"]:
            if symbol is not None and inst.symbol != symbol:
                continue
            position = self._positions.get(("linear", inst.symbol))
            if version == 3 and position is None and inst.symbol not in order_im:
                continue
            make = render.position_row if version == 3 else render.position_row_v2
            rows.append(make(position, inst, self._mark(inst, now), order_im.get(inst.symbol, 0.0)))
        return rows
