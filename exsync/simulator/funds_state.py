"""The money side of the simulated Bybit account: the Funding wallet, Earn, deposits,
withdrawals, transfers, closed positions and the transaction log, the queries the
endpoints answer from them, and the mutations tests apply.

Mixed into :class:`ExchangeState`; every public method takes the account's lock.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from typing import Any

from .account import Key, page
from .funds_changes import FundsChanges
from .funds_records import Funds, generate_funds
from .funds_render import (
    SEQ,
    closed_ledger_row,
    closed_pnl_row,
    deposit_row,
    entry_row,
    internal_deposit_row,
    ledger_row,
    negated,
    transfer_ledger_row,
    transfer_row,
    withdrawal_row,
)
from .market import Instrument, num
from .records import EXEC_TYPES

# The transaction log type of each execution the exchange books by itself.
_LEDGER_TYPES = {
    "Funding": "SETTLEMENT",
    "BustTrade": "LIQUIDATION",
    "AdlTrade": "ADL",
    "Delivery": "DELIVERY",
    "Settle": "DELIVERY",
    "BlockTrade": "TRADE",
    "MovePosition": "TRADE",
}
_CATEGORIES = ("spot", "linear", "inverse")


class FundsState(FundsChanges):
    """Deposits, withdrawals, transfers, closed PnL, the ledger, Funding and Earn wallets.

    Comes before :class:`AccountState` among ExchangeState's bases, whose clock, markets,
    executions and wallet it uses.
    """

    lock: Any
    scenario: Any
    seed: int
    anchor_ms: int
    prices: Any
    instruments: dict[str, list[Instrument]]
    _executions: dict[str, Any]
    _balances: dict[str, float]
    _exec_row: Callable[[Any, int], dict[str, Any]]

    def _init_funds(self) -> None:
        contracts = self.instruments.get("linear", []) + self.instruments.get("inverse", [])
        self._funds: Funds = generate_funds(self.scenario, self.anchor_ms, contracts, self.prices)
        self._funding: dict[str, float] = dict(self.scenario.funding_balances)
        coins = sorted(self.scenario.earn)
        self._earn: dict[tuple[str, str], float] = {
            ("FlexibleSaving" if coin in ("USDT", "USDC") else "OnChain", coin): amount
            for coin, amount in ((c, self.scenario.earn[c]) for c in coins)
        }
        self._booked_index: list[tuple[int, int, int]] = []  # (time, category, exec uid)
        self._denied: set[str] = set()

    def _note_booked(self, category: str, t: int, uid: int) -> None:
        bisect.insort(self._booked_index, (t, _CATEGORIES.index(category), uid))

    # ------------------------------------------------------------------ queries

    def permitted(self, permission: str) -> bool:
        """Whether the API key holds a permission ("Earn", "AccountTransfer")."""
        with self.lock:
            return permission not in self._denied

    def funding_balance(self, coins: set[str] | None) -> list[dict[str, Any]]:
        """The FUND account's coins as query-account-coins-balance lists them."""
        with self.lock:
            return [
                {
                    "coin": coin,
                    "transferBalance": num(amount),
                    "walletBalance": num(amount),
                    "bonus": "",
                }
                for coin, amount in sorted(self._funding.items())
                if coins is None or coin in coins
            ]

    def earn_positions(self, category: str, coin: str | None) -> list[dict[str, Any]]:
        """Staked positions of an Earn category (FlexibleSaving, OnChain)."""
        with self.lock:
            rows = []
            for (kind, name), amount in sorted(self._earn.items()):
                if kind != category or (coin and name != coin):
                    continue
                onchain = kind == "OnChain"
                rows.append(
                    {
                        "coin": name,
                        "productId": str(8 + len(rows)),
                        "amount": num(amount),
                        "totalPnl": "0" if onchain else "",
                        "claimableYield": "" if onchain else "0.0001",
                        "id": str(326 + len(rows)) if onchain else "",
                        "status": "Active" if onchain else "",
                        "orderId": "",
                        "estimateRedeemTime": "",
                        "estimateStakeTime": "",
                        "estimateInterestCalculationTime": "",
                        "settlementTime": "",
                        "autoReinvest": "",
                        "availableAmount": num(amount),
                        "freezeDetails": [],
                    }
                )
            return rows

    def query_deposits(
        self,
        internal: bool,
        start: int,
        end: int,
        match: Callable[[dict[str, Any]], bool],
        after: Key | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], Key | None]:
        """A page of (on-chain or internal) deposits created in [start, end] (seconds)."""
        render = internal_deposit_row if internal else deposit_row
        with self.lock:
            chosen = [
                d
                for d in self._funds.deposits
                if d.internal == internal
                and start // 1000 <= d.created // 1000 <= end // 1000
                and match(render(d))
            ]
            rows, next_key = page(chosen, lambda d: (d.created, d.uid), after, limit)
            return [render(d) for d in rows], next_key

    def query_withdrawals(
        self,
        kinds: tuple[bool, ...],
        start: int,
        end: int,
        match: Callable[[dict[str, Any]], bool],
        after: Key | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], Key | None]:
        """A page of withdrawals (internal in ``kinds``) created in [start, end]."""
        with self.lock:
            chosen = [
                w
                for w in self._funds.withdrawals
                if w.internal in kinds and start <= w.created <= end and match(withdrawal_row(w))
            ]
            rows, next_key = page(chosen, lambda w: (w.created, w.uid), after, limit)
            return [withdrawal_row(w) for w in rows], next_key

    def query_transfers(
        self,
        universal: bool,
        start: int,
        end: int,
        match: Callable[[dict[str, Any]], bool],
        after: Key | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], Key | None]:
        """A page of transfers between own wallets or (``universal``) between users."""
        with self.lock:
            chosen = [
                t
                for t in self._funds.transfers
                if t.universal == universal
                and start // 1000 <= t.created // 1000 <= end // 1000
                and match(transfer_row(t))
            ]
            rows, next_key = page(chosen, lambda t: (t.created, t.uid), after, limit)
            return [transfer_row(t) for t in rows], next_key

    def query_closed_pnl(
        self,
        category: str,
        symbol: str | None,
        start: int,
        end: int,
        after: Key | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], Key | None]:
        """A page of closed PnL records of a category created in [start, end]."""
        with self.lock:
            chosen = [
                c
                for c in self._funds.closed
                if c.instrument.category == category
                and (symbol is None or c.instrument.symbol == symbol)
                and start <= c.created <= end
            ]
            rows, next_key = page(chosen, lambda c: (c.created, c.uid), after, limit)
            return [closed_pnl_row(c) for c in rows], next_key

    def query_ledger(
        self,
        start: int,
        end: int,
        match: Callable[[dict[str, Any]], bool],
        after: Key | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], Key | None]:
        """A page of transaction log rows with transactionTime in [start, end]."""
        with self.lock:
            rows = [row for row in self._ledger(start, end) if match(row)]
            chosen, next_key = page(rows, _ledger_key, after, limit)
            return chosen, next_key

    def _ledger(self, start: int, end: int) -> Iterable[dict[str, Any]]:
        lo = bisect.bisect_left(self._booked_index, (start,))
        hi = bisect.bisect_right(self._booked_index, (end, len(_CATEGORIES), 2**62))
        for t, category, uid in self._booked_index[lo:hi]:
            yield self._booked_ledger_row(_CATEGORIES[category], t, uid)
        for record in self._funds.transfers:
            if start <= record.updated <= end and record.status == "SUCCESS":
                row = transfer_ledger_row(record)
                if row is not None:
                    yield row
        for closed in self._funds.closed:
            if start <= closed.created <= end:
                yield closed_ledger_row(closed)
        for entry in self._funds.entries:
            if start <= entry.created <= end:
                yield entry_row(SEQ["entry"] + entry.uid, entry)

    def _booked_ledger_row(self, category: str, t: int, uid: int) -> dict[str, Any]:
        table = self._executions[category]
        execution = self._exec_row(table, table.index_of_key(t, uid))
        kind = execution["execType"]
        fee = execution["execFee"]
        funding = kind == "Funding"
        signed = execution["execQty"] if execution["side"] == "Buy" else "-" + execution["execQty"]
        return ledger_row(
            SEQ["booked"] + _CATEGORIES.index(category) * 10**10 + uid,
            t,
            _LEDGER_TYPES[kind],
            _settle_coin(self.instruments, category, execution["symbol"]),
            symbol=execution["symbol"],
            category=category,
            side=execution["side"],
            # Bybit: funding received is positive here, execFee is what the position paid.
            change=negated(fee),
            fee="0" if funding else fee,
            funding=negated(fee) if funding else None,
            qty=execution["execQty"],
            size=signed,
            price=execution["execPrice"],
            trade_id=execution["execId"],
            order_id=execution["orderId"],
            sub_type="movePosition" if kind == "MovePosition" else "",
        )

    def expected_funds(self) -> dict[str, Any]:
        """What a correct sync of the money side holds, as the exchange serves it.

        ``deposits`` and ``internal_deposits``: {id: row}; ``withdrawals``: {withdrawId:
        row}; ``transfers``: {transferId: row} (both lists); ``closed_pnl``: {(symbol,
        orderId, createdTime): row}; ``ledger``: {id: row}; ``funding`` and ``earn``:
        {coin: amount} (Earn summed over its products).
        """
        with self.lock:
            earn: dict[str, float] = {}
            for (_, coin), amount in self._earn.items():
                earn[coin] = earn.get(coin, 0.0) + amount
            deposits = self._funds.deposits
            return {
                "deposits": {
                    r["id"]: r for r in (deposit_row(d) for d in deposits if not d.internal)
                },
                "internal_deposits": {
                    r["id"]: r for r in (internal_deposit_row(d) for d in deposits if d.internal)
                },
                "withdrawals": {
                    r["withdrawId"]: r for r in map(withdrawal_row, self._funds.withdrawals)
                },
                "transfers": {r["transferId"]: r for r in map(transfer_row, self._funds.transfers)},
                "closed_pnl": {
                    (r["symbol"], r["orderId"], r["createdTime"]): r
                    for r in map(closed_pnl_row, self._funds.closed)
                },
                "ledger": {r["id"]: r for r in self._ledger(0, 2**62)},
                "funding": {c: v for c, v in self._funding.items() if v},
                "earn": {c: v for c, v in earn.items() if v},
            }


def _ledger_key(row: dict[str, Any]) -> Key:
    return int(row["transactionTime"]), int(row["id"].rsplit("_", 1)[1])


def _settle_coin(instruments: dict[str, list[Instrument]], category: str, symbol: str) -> str:
    for inst in instruments.get(category, []):
        if inst.symbol == symbol:
            return inst.settle or inst.quote
    return "USDT"


# Execution types the exchange books by itself, as the ledger names them.
assert set(_LEDGER_TYPES) == set(EXEC_TYPES[1:])
