"""Mutations of the simulated Bybit account's money side, for tests: deposits and
withdrawals that arrive pending and settle later, transfers either way, closed positions,
the Funding and Earn wallets, and API key permissions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .funds_records import (
    MEMBER_ID,
    SUB_MEMBER_IDS,
    Deposit,
    Funds,
    Transfer,
    Withdrawal,
    closed_pnl,
    transfer,
    tx_hash,
)
from .funds_render import deposit_row, internal_deposit_row, transfer_row, withdrawal_row
from .money import credit, find
from .records import Position

_DEPOSIT_STATUS = {"pending": 1, "success": 3, "failed": 4}
_INTERNAL_STATUS = {"pending": 1, "success": 2, "failed": 3}


class FundsChanges:
    """What tests do to the money side; mixed into FundsState."""

    lock: Any
    seed: int
    prices: Any
    _funds: Funds
    _funding: dict[str, float]
    _earn: dict[tuple[str, str], float]
    _denied: set[str]
    _balances: dict[str, float]
    now_ms: Callable[[], int]

    def add_deposit(
        self,
        coin: str,
        amount: str,
        *,
        pending: bool = True,
        internal: bool = False,
        ts: int | None = None,
    ) -> dict[str, Any]:
        """A deposit arriving now (or at ``ts``), still on its way unless ``pending`` is
        False; returns its row (on-chain or internal form). Settle it with settle_deposit."""
        with self.lock:
            t = self.now_ms() if ts is None else ts
            uid = len(self._funds.deposits)
            statuses = _INTERNAL_STATUS if internal else _DEPOSIT_STATUS
            deposit = Deposit(
                uid=uid,
                coin=coin,
                amount=amount,
                status=statuses["pending" if pending else "success"],
                created=t // 1000 * 1000 if internal else t,
                updated=t // 1000 * 1000 if internal else t,
                tx_id=tx_hash(self.seed, 48, uid),
                address="user***@example.com" if internal else f"addr-{uid:05d}",
                chain="" if internal else coin,
                internal=internal,
                from_member="200000999" if internal else "",
            )
            self._funds.deposits.append(deposit)
            if not pending:
                credit(self._funding, coin, amount)
            return _deposit_row(deposit)

    def settle_deposit(self, deposit_id: str, ok: bool = True) -> dict[str, Any]:
        """Complete (or fail) a pending deposit now, by the id its row carries."""
        with self.lock:
            deposit = find(
                self._funds.deposits, deposit_id, lambda d: _deposit_row(d)["id"], "deposit"
            )
            statuses = _INTERNAL_STATUS if deposit.internal else _DEPOSIT_STATUS
            deposit.status = statuses["success" if ok else "failed"]
            if not deposit.internal:
                deposit.updated = self.now_ms()
            if ok:
                credit(self._funding, deposit.coin, deposit.amount)
            return _deposit_row(deposit)

    def add_withdrawal(
        self,
        coin: str,
        amount: str,
        *,
        fee: str = "1",
        internal: bool = False,
        pending: bool = True,
        ts: int | None = None,
    ) -> dict[str, Any]:
        """A withdrawal asked for now (or at ``ts``); pending until settle_withdrawal."""
        with self.lock:
            t = self.now_ms() if ts is None else ts
            uid = len(self._funds.withdrawals)
            withdrawal = Withdrawal(
                uid=uid,
                coin=coin,
                amount=amount,
                fee="0" if internal else fee,
                status="Pending" if pending else "success",
                created=t,
                updated=t,
                address=str(300_000_000 + uid) if internal else f"dest-{uid:04d}",
                chain="" if internal else coin,
                internal=internal,
            )
            self._funds.withdrawals.append(withdrawal)
            return withdrawal_row(withdrawal)

    def settle_withdrawal(self, withdraw_id: str, ok: bool = True) -> dict[str, Any]:
        """Complete (success) or fail (Fail) a pending withdrawal now."""
        with self.lock:
            withdrawal = find(
                self._funds.withdrawals,
                withdraw_id,
                lambda w: withdrawal_row(w)["withdrawId"],
                "withdrawal",
            )
            withdrawal.status = "success" if ok else "Fail"
            withdrawal.updated = self.now_ms()
            if ok and not withdrawal.internal:
                withdrawal.tx_id = tx_hash(self.seed, 49, withdrawal.uid)
            return withdrawal_row(withdrawal)

    def add_transfer(
        self,
        coin: str,
        amount: str,
        from_account: str = "FUND",
        to_account: str = "UNIFIED",
        *,
        status: str = "SUCCESS",
        ts: int | None = None,
    ) -> dict[str, Any]:
        """Move ``amount`` between the account's own wallets (FUND, UNIFIED) now."""
        return self._transfer(coin, amount, ts, status, from_account, to_account)

    def add_sub_transfer(
        self,
        coin: str,
        amount: str,
        *,
        outgoing: bool = True,
        sub: str = SUB_MEMBER_IDS[0],
        status: str = "SUCCESS",
        ts: int | None = None,
    ) -> dict[str, Any]:
        """A universal transfer between the main account's and a sub-account's UNIFIED
        wallets: to the sub-account (``outgoing``) or from it."""
        members = (MEMBER_ID, sub) if outgoing else (sub, MEMBER_ID)
        return self._transfer(coin, amount, ts, status, "UNIFIED", "UNIFIED", *members)

    def settle_transfer(self, transfer_id: str, ok: bool = True) -> dict[str, Any]:
        """Complete (SUCCESS) or fail (FAILED) a pending transfer now."""
        with self.lock:
            record = find(self._funds.transfers, transfer_id, lambda t: t.transfer_id, "transfer")
            record.status = "SUCCESS" if ok else "FAILED"
            record.updated = self.now_ms()
            if ok:
                self._move(record)
            return transfer_row(record)

    def set_funding_balance(self, coin: str, amount: float) -> None:
        """Set a coin's balance in the Funding wallet (0 removes it)."""
        with self.lock:
            self._funding[coin] = float(amount)

    def set_earn(self, coin: str, amount: float, category: str = "FlexibleSaving") -> None:
        """Set a coin's staked amount in an Earn category (0 removes it)."""
        with self.lock:
            self._earn[(category, coin)] = float(amount)

    def deny(self, permission: str) -> None:
        """Take a permission from the API key: its endpoints answer retCode 10005."""
        with self.lock:
            self._denied.add(permission)

    # ------------------------------------------------------------------ internals

    def _transfer(
        self,
        coin: str,
        amount: str,
        ts: int | None,
        status: str,
        from_account: str,
        to_account: str,
        from_member: str = MEMBER_ID,
        to_member: str = MEMBER_ID,
    ) -> dict[str, Any]:
        with self.lock:
            t = self.now_ms() if ts is None else ts
            record = transfer(
                len(self._funds.transfers),
                coin,
                amount,
                t,
                from_account=from_account,
                to_account=to_account,
                from_member=from_member,
                to_member=to_member,
                status=status,
            )
            self._funds.transfers.append(record)
            if status == "SUCCESS":
                self._move(record)
            return transfer_row(record)

    def _move(self, record: Transfer) -> None:
        for member, account, sign in (
            (record.from_member, record.from_account, -1),
            (record.to_member, record.to_account, 1),
        ):
            if member == MEMBER_ID:
                wallet = self._balances if account == "UNIFIED" else self._funding
                credit(wallet, record.coin, record.amount, sign)

    def _closed(self, position: Position, now: int) -> None:
        """Book the closed PnL (and its transaction log entry) of a position closed now."""
        inst = position.instrument
        self._funds.closed.append(
            closed_pnl(
                self.seed,
                len(self._funds.closed),
                inst,
                side="Sell" if position.side == "Buy" else "Buy",
                qty_lots=position.size_lots,
                entry=inst.price_of(position.entry_ticks),
                exit=self.prices.pair_price(inst, now),
                leverage=position.leverage,
                t=now,
            )
        )


def _deposit_row(deposit: Deposit) -> dict[str, Any]:
    """A deposit as its endpoint answers it: the internal form for an off-chain one."""
    return internal_deposit_row(deposit) if deposit.internal else deposit_row(deposit)
