"""The Scenario (what the simulated account holds) and its deterministic generation."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from .market import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    Instrument,
    PriceModel,
    build_instrument,
    split_symbol,
)
from .records import ExecTable, Order, Position
from .render import order_id_for

_DEFAULT_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


@dataclass
class Scenario:
    """What a simulated account looks like. Same fields and seed, same data.

    Counts are totals for the whole account unless stated otherwise; history is
    spread over ``history_days`` before ``now_ms``. ``balances`` is the wallet that
    holds spot coins (Bybit's unified account, Binance's spot account);
    ``futures_balances`` is Binance's separate USD-M futures wallet, which Bybit's
    unified account does not have and ignores.
    """

    seed: int = 1
    spot_symbols: list[str] = field(default_factory=lambda: list(_DEFAULT_SYMBOLS))
    linear_symbols: list[str] = field(default_factory=lambda: list(_DEFAULT_SYMBOLS))
    inverse_symbols: list[str] = field(default_factory=lambda: ["BTCUSD"])
    balances: dict[str, float] = field(
        default_factory=lambda: {"USDT": 25_000.0, "BTC": 0.75, "ETH": 4.2, "SOL": 120.0}
    )
    # Open linear positions, each on a different linear symbol.
    positions: int = 2
    # Resting orders per category (spot and linear).
    open_orders: int = 5
    # order/history rows per category (spot and linear): filled ones own every execution,
    # about one in six are cancellations from the last 24 hours.
    closed_orders: int = 40
    # Own executions in total, split between spot and linear.
    trades: int = 500
    history_days: int = 30
    # Klines exist from now - candle_days up to now.
    candle_days: int = 3
    # The scenario's "now"; None means the wall clock when the simulator is built.
    now_ms: int | None = None
    # Binance's USD-M futures wallet (coin -> wallet balance); added last so that
    # positional construction keeps working.
    futures_balances: dict[str, float] = field(default_factory=lambda: {"USDT": 10_000.0})
    # Executions the exchange books by itself on linear markets (Bybit): funding settlements
    # at 00:00, 08:00 and 16:00 UTC, and now and then a liquidation, an auto-deleveraging, a
    # delivery or settlement, a block trade or a moved position. Binance keeps those in its
    # income history instead and ignores this.
    booked_executions: int = 0
    # Money moving in, out and around the account: on-chain deposits (now and then a
    # failed one), deposits from other users, withdrawals (on-chain and to other users),
    # transfers between the account's own wallets (Bybit: Funding and Unified; Binance:
    # spot, USD-M and Funding; both ways) and between the main account and its
    # sub-accounts (Bybit, both ways), closed positions with their realised PnL (Binance:
    # REALIZED_PNL income of closing USD-M fills), and ledger entries of their own
    # (Bybit: interest, bonuses, fee refunds, airdrops; Binance: rebates and bonuses).
    # All settled, spread over history_days. Binance books booked_executions as funding
    # fees in its income history.
    deposits: int = 6
    internal_deposits: int = 2
    withdrawals: int = 5
    transfers: int = 6
    sub_transfers: int = 4
    closed_pnl: int = 8
    ledger_entries: int = 6
    # The Funding wallet (where deposits land) and Earn positions (USDT and USDC flexible
    # savings, other coins on-chain staking), coin -> amount.
    funding_balances: dict[str, float] = field(
        default_factory=lambda: {"USDT": 1_250.0, "BTC": 0.02}
    )
    earn: dict[str, float] = field(default_factory=lambda: {"USDT": 500.0, "ETH": 0.5})
    # Swaps made with Binance Convert (Bybit ignores these): never trades of myTrades.
    conversions: int = 4

    def __post_init__(self) -> None:
        for name in (
            "positions",
            "open_orders",
            "closed_orders",
            "trades",
            "candle_days",
            "booked_executions",
            "deposits",
            "internal_deposits",
            "withdrawals",
            "transfers",
            "sub_transfers",
            "closed_pnl",
            "ledger_entries",
            "conversions",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"Scenario.{name} must be >= 0")
        if self.history_days < 1:
            raise ValueError("Scenario.history_days must be >= 1")
        for symbol in (*self.spot_symbols, *self.linear_symbols, *self.inverse_symbols):
            split_symbol(symbol)  # fail early on ids we cannot interpret


@dataclass
class Generated:
    """The initial contents of an account, as produced by :func:`generate`."""

    instruments: dict[str, list[Instrument]]
    orders: list[Order]
    executions: dict[str, ExecTable]
    positions: list[Position]


def lots_for(instrument: Instrument, notional_usd: float, price: float) -> int:
    """Lots that buy roughly ``notional_usd`` (inverse contracts are 1 USD each)."""
    if instrument.category == "inverse":
        return max(1, round(notional_usd))
    return instrument.to_lots(notional_usd / price)


def generate(scenario: Scenario, anchor_ms: int, prices: PriceModel) -> Generated:
    """Build the initial account deterministically from the scenario and its anchor time.

    Executions are produced in bulk as integer arrays (see ExecTable): a million of
    them take a couple of seconds and no per-row dicts.
    """
    return _Generator(scenario, anchor_ms, prices).run()


class _Generator:
    """One generation run; each part draws from its own seeded stream so that changing
    one count (say, open_orders) does not reshuffle everything else."""

    def __init__(self, scenario: Scenario, anchor_ms: int, prices: PriceModel) -> None:
        self.sc = scenario
        self.anchor = anchor_ms
        self.prices = prices
        launch = anchor_ms - 400 * DAY_MS
        instruments = {
            "spot": [build_instrument("spot", s, launch) for s in scenario.spot_symbols],
            "linear": [build_instrument("linear", s, launch) for s in scenario.linear_symbols],
            "inverse": [build_instrument("inverse", s, launch) for s in scenario.inverse_symbols],
            "option": [],
        }
        self.out = Generated(instruments, [], {c: ExecTable() for c in instruments}, [])

    def rng(self, part: str) -> random.Random:
        # Seeding with a string is stable across processes (unlike hash()).
        return random.Random(f"{self.sc.seed}:{part}")

    def new_order(self, inst: Instrument, **fields: Any) -> Order:
        uid = len(self.out.orders)
        order = Order(
            uid=uid, order_id=order_id_for(self.sc.seed, inst, uid), instrument=inst, **fields
        )
        self.out.orders.append(order)
        return order

    def run(self) -> Generated:
        instruments = self.out.instruments
        categories = [c for c in ("spot", "linear") if instruments[c]]
        per_category = dict.fromkeys(categories, 0)
        if categories:
            per_category[categories[0]] = self.sc.trades // len(categories)
            per_category[categories[-1]] += self.sc.trades - sum(per_category.values())
        for category in categories:
            self.fills(category, per_category[category])
            self.cancelled(category)
            self.open_orders(category)
        self.positions()
        return self.out

    def fills(self, category: str, count: int) -> None:
        """Executions of one category, grouped into consecutive runs sharing a filled order."""
        if not count:
            return
        cancelled = self.sc.closed_orders // 6
        # Every execution needs an order, even when closed_orders is tiny.
        filled_orders = max(1, min(self.sc.closed_orders - cancelled, count))
        instruments = self.out.instruments[category]
        rng = self.rng(f"fills:{category}")
        rand = rng.random
        start = self.anchor - self.sc.history_days * DAY_MS
        span = self.anchor - MINUTE_MS - start
        times = sorted(start + int(rand() * span) for _ in range(count))
        orders: list[int] = []
        lots: list[int] = []
        leaves: list[int] = []
        for k in range(filled_orders):
            lo = k * count // filled_orders
            hi = (k + 1) * count // filled_orders
            inst = rng.choice(instruments)
            price = self.prices.pair_price(inst, times[lo])
            usd = self.prices.price(inst.quote, times[lo])
            group = [lots_for(inst, (20 + 1980 * rand()) / usd, price) for _ in range(hi - lo)]
            total = sum(group)
            order = self.new_order(
                inst,
                side=rng.choice(("Buy", "Sell")),
                price_ticks=inst.to_ticks(price),
                qty_lots=total,
                filled_lots=total,
                status="Filled",
                created=max(start, times[lo] - int(rand() * 10 * MINUTE_MS)),
                updated=times[hi - 1],
                is_maker=rand() < 0.6,
            )
            orders.extend([order.uid] * (hi - lo))
            lots.extend(group)
            remaining = total
            for qty in group:
                remaining -= qty
                leaves.append(remaining)
        self.out.executions[category].extend_sorted(times, orders, lots, leaves)

    def cancelled(self, category: str) -> None:
        """Orders cancelled without fills during the last day (Bybit keeps those 24 hours)."""
        rng = self.rng(f"cancelled:{category}")
        for _ in range(self.sc.closed_orders // 6):
            inst = rng.choice(self.out.instruments[category])
            updated = self.anchor - MINUTE_MS - int(rng.uniform(0, 22 * HOUR_MS))
            side = rng.choice(("Buy", "Sell"))
            price = self.prices.pair_price(inst, updated) * (0.97 if side == "Buy" else 1.03)
            self.new_order(
                inst,
                side=side,
                price_ticks=inst.to_ticks(price),
                qty_lots=lots_for(inst, rng.uniform(50, 2_000), price),
                filled_lots=0,
                status="Cancelled",
                created=updated - int(rng.uniform(MINUTE_MS, 2 * HOUR_MS)),
                updated=updated,
                is_maker=True,
            )

    def open_orders(self, category: str) -> None:
        """Resting limit orders a few percent away from the market, so they stay unfilled."""
        rng = self.rng(f"open:{category}")
        for _ in range(self.sc.open_orders):
            inst = rng.choice(self.out.instruments[category])
            created = self.anchor - int(rng.uniform(MINUTE_MS, 3 * DAY_MS))
            side = rng.choice(("Buy", "Sell"))
            away = rng.uniform(0.02, 0.08)
            price = self.prices.pair_price(inst, self.anchor) * (
                1 - away if side == "Buy" else 1 + away
            )
            self.new_order(
                inst,
                side=side,
                price_ticks=inst.to_ticks(price),
                qty_lots=lots_for(inst, rng.uniform(50, 2_000), price),
                filled_lots=0,
                status="New",
                created=created,
                updated=created,
                is_maker=True,
            )

    def positions(self) -> None:
        """Open linear positions on distinct symbols, entered within the last five days."""
        rng = self.rng("positions")
        linear = self.out.instruments["linear"]
        for inst in rng.sample(linear, min(self.sc.positions, len(linear))):
            opened = self.anchor - int(rng.uniform(HOUR_MS, 5 * DAY_MS))
            entry = self.prices.pair_price(inst, opened)
            self.out.positions.append(
                Position(
                    uid=len(self.out.positions),
                    instrument=inst,
                    side=rng.choice(("Buy", "Sell")),
                    size_lots=lots_for(inst, rng.uniform(1_000, 20_000), entry),
                    entry_ticks=inst.to_ticks(entry),
                    leverage=rng.choice((5, 10, 20)),
                    created=opened,
                    updated=opened + int(rng.uniform(0, HOUR_MS)),
                )
            )
