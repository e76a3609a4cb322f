"""The money side of the simulated Binance account: the Funding wallet, Simple Earn,
deposits, withdrawals, universal transfers, USD-M income and Convert swaps, and the
queries its endpoints answer from them.

Mixed into :class:`BinanceState`; every public method takes the account's lock. How far
back each history goes is Binance's: universal transfers 6 months, USD-M income 3 months;
deposits, withdrawals and converts as far as the account goes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any

from ..market import DAY_MS, num
from . import render
from .funds import (
    INCOME_BASE,
    BinanceFundsRecords,
    Income,
    generate_binance_funds,
)
from .funds_changes import BinanceFundsChanges
from .funds_render import (
    convert_row,
    deposit_row,
    flexible_row,
    funding_asset_row,
    income_row,
    locked_row,
    own_income_row,
    transfer_income_row,
    transfer_row,
    withdrawal_row,
)

Row = dict[str, Any]
#: universal transfer history: "Support query within the last 6 months only"
TRANSFER_RETENTION_MS = 180 * DAY_MS
#: "Income history only contains data for the last three months"
INCOME_RETENTION_MS = 90 * DAY_MS
#: Simple Earn: flexible products for these coins, locked ones for the others
FLEXIBLE_COINS = ("USDT", "USDC", "FDUSD")


def commission_tran_id(trade_id: int) -> int:
    """The tranId of a USD-M fill's COMMISSION (and REALIZED_PNL) income entries."""
    return INCOME_BASE["COMMISSION"] + trade_id


class BinanceFunds(BinanceFundsChanges):
    """Deposits, withdrawals, transfers, income, converts, the Funding wallet and Earn."""

    lock: Any
    scenario: Any
    seed: int
    anchor_ms: int
    prices: Any
    instruments: dict[str, list[Any]]
    _books: dict[tuple[str, str], Any]
    _orders: list[Any]
    now_ms: Callable[[], int]

    def _init_funds(self) -> None:
        linear = [inst.symbol for inst in self.instruments.get("linear", [])]
        self._funds: BinanceFundsRecords = generate_binance_funds(
            self.scenario, self.anchor_ms, linear, self.prices
        )
        self._funding: dict[str, float] = dict(self.scenario.funding_balances)
        self._flexible: dict[str, float] = {}
        self._locked: dict[str, float] = {}
        for coin, amount in sorted(self.scenario.earn.items()):
            wallet = self._flexible if coin in FLEXIBLE_COINS else self._locked
            wallet[coin] = amount
        self._realised_pnl(self.scenario.closed_pnl)

    def _realised_pnl(self, count: int) -> None:
        """REALIZED_PNL entries of ``count`` closing USD-M fills, each sharing the tranId
        of its fill's COMMISSION, as Binance books them."""
        fills = [
            (symbol, i)
            for (category, symbol), book in sorted(self._books.items())
            if category == "linear"
            for i in range(len(book))
        ]
        rng = random.Random(f"{self.seed}:binance-funds:pnl")
        for symbol, i in sorted(rng.sample(fills, min(count, len(fills)))):
            book = self._books[("linear", symbol)]
            self._funds.income.append(
                Income(
                    uid=len(self._funds.income),
                    kind="REALIZED_PNL",
                    coin="USDT",
                    income=num(rng.uniform(-80, 120), 8),
                    created=book.times[i],
                    symbol=symbol,
                    trade_id=str(book.ids[i]),
                    tran_id=commission_tran_id(book.ids[i]),
                )
            )

    # ------------------------------------------------------------------ queries

    def funding_assets(self, asset: str | None) -> list[Row]:
        """The Funding wallet as /sapi/v1/asset/get-funding-asset lists it (held coins)."""
        with self.lock:
            return [
                funding_asset_row(coin, num(amount))
                for coin, amount in sorted(self._funding.items())
                if amount and asset in (None, coin)
            ]

    def earn_positions(
        self, locked: bool, asset: str | None, current: int, size: int
    ) -> tuple[int, list[Row]]:
        """(total, one page of) Simple Earn flexible or locked positions."""
        with self.lock:
            held = sorted((self._locked if locked else self._flexible).items())
            rows = []
            for coin, amount in held:
                if not amount or asset not in (None, coin):
                    continue
                if locked:
                    position = 123_123 + len(rows)
                    rows.append(locked_row(position, coin, num(amount), self.anchor_ms - DAY_MS))
                else:
                    rows.append(flexible_row(coin, num(amount)))
            return len(rows), rows[(current - 1) * size : current * size]

    def query_deposits(
        self, match: Callable[[Row], bool], start: int, end: int, offset: int, limit: int
    ) -> list[Row]:
        """Deposits inserted in [start, end], newest first, from ``offset`` on."""
        with self.lock:
            chosen = [d for d in self._funds.deposits if start <= d.created <= end]
            chosen.sort(key=lambda d: (d.created, d.uid), reverse=True)
            rows = [r for r in map(deposit_row, chosen) if match(r)]
            return rows[offset : offset + limit]

    def query_withdrawals(
        self, match: Callable[[Row], bool], start: int, end: int, offset: int, limit: int
    ) -> list[Row]:
        """Withdrawals applied for in [start, end], newest first, from ``offset`` on."""
        with self.lock:
            chosen = [w for w in self._funds.withdrawals if start <= w.applied <= end]
            chosen.sort(key=lambda w: (w.applied, w.uid), reverse=True)
            rows = [r for r in map(withdrawal_row, chosen) if match(r)]
            return rows[offset : offset + limit]

    def query_transfers(
        self, kind: str, start: int, end: int, current: int, size: int
    ) -> tuple[int, list[Row]]:
        """(total, one page of) transfers of one type in [start, end], newest first;
        nothing older than six months."""
        with self.lock:
            horizon = self.now_ms() - TRANSFER_RETENTION_MS
            chosen = [
                t
                for t in self._funds.transfers
                if t.kind == kind and max(start, horizon) <= t.created <= end
            ]
            chosen.sort(key=lambda t: (t.created, t.uid), reverse=True)
            page = chosen[(current - 1) * size : current * size]
            return len(chosen), [transfer_row(t) for t in page]

    def query_income(
        self,
        symbol: str | None,
        kind: str | None,
        start: int,
        end: int,
        page: int,
        limit: int,
    ) -> list[Row]:
        """USD-M income in [start, end] (never older than three months), oldest first,
        page ``page`` of ``limit`` rows."""
        with self.lock:
            low = max(start, self.now_ms() - INCOME_RETENTION_MS)
            rows = [
                r
                for r in self._income(low, end)
                if (symbol is None or r["symbol"] == symbol)
                and (kind is None or r["incomeType"] == kind)
            ]
            rows.sort(key=lambda r: (r["time"], r["tranId"], r["incomeType"]))
            return rows[(page - 1) * limit : page * limit]

    def query_converts(self, start: int, end: int, limit: int) -> tuple[list[Row], bool]:
        """(up to ``limit`` converts created in [start, end], newest first; whether more
        are left)."""
        with self.lock:
            chosen = [c for c in self._funds.converts if start <= c.created <= end]
            chosen.sort(key=lambda c: (c.created, c.uid), reverse=True)
            return [convert_row(c) for c in chosen[:limit]], len(chosen) > limit

    # ------------------------------------------------------------------ income

    def _income(self, start: int, end: int) -> Iterable[Row]:
        """Every income entry in [start, end]: fills' commissions, USD-M transfers and the
        entries booked on their own."""
        for (category, _), book in self._books.items():
            if category != "linear":
                continue
            for i in book.in_window(start, end):
                yield self._commission_row(book, i)
        for transfer in self._funds.transfers:
            if start <= transfer.created <= end:
                row = transfer_income_row(transfer)
                if row is not None:
                    yield row
        for entry in self._funds.income:
            if start <= entry.created <= end:
                yield own_income_row(entry)

    def _commission_row(self, book: Any, index: int) -> Row:
        order = self._orders[book.orders[index]]
        trade = render.trade_row(order, book.ids[index], book.times[index], book.lots[index])
        return income_row(
            "COMMISSION",
            "-" + trade["commission"],
            trade["time"],
            commission_tran_id(trade["id"]),
            coin=trade["commissionAsset"],
            symbol=trade["symbol"],
            trade_id=str(trade["id"]),
        )

    def expected_funds(self) -> dict[str, Any]:
        """What a correct sync of the money side holds, as the exchange serves it.

        ``deposits`` and ``withdrawals``: {id: row}; ``transfers``: {tranId: row} (the
        last six months); ``income``: {(tranId, incomeType): row} (the last three months);
        ``converts``: {orderId: row}; ``funding`` and ``earn``: {coin: amount} (Earn:
        flexible and locked summed).
        """
        with self.lock:
            now = self.now_ms()
            earn: dict[str, float] = {}
            for wallet in (self._flexible, self._locked):
                for coin, amount in wallet.items():
                    earn[coin] = earn.get(coin, 0.0) + amount
            transfers = [
                t for t in self._funds.transfers if t.created >= now - TRANSFER_RETENTION_MS
            ]
            return {
                "deposits": {r["id"]: r for r in map(deposit_row, self._funds.deposits)},
                "withdrawals": {r["id"]: r for r in map(withdrawal_row, self._funds.withdrawals)},
                "transfers": {str(r["tranId"]): r for r in map(transfer_row, transfers)},
                "income": {
                    (str(r["tranId"]), r["incomeType"]): r
                    for r in self._income(now - INCOME_RETENTION_MS, 2**62)
                },
                "converts": {str(r["orderId"]): r for r in map(convert_row, self._funds.converts)},
                "funding": {c: v for c, v in self._funding.items() if v},
                "earn": {c: v for c, v in earn.items() if v},
            }
