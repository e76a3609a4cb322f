"""Mutations of the simulated Binance account's money side, for tests: deposits and
withdrawals that arrive pending and complete or fail later, transfers between the spot,
USD-M and Funding wallets either way, income entries, Convert swaps, and the Funding and
Simple Earn wallets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..funds_records import tx_hash
from ..money import credit, find
from .funds import (
    DEPOSIT_PENDING,
    DEPOSIT_REJECTED,
    DEPOSIT_SUCCESS,
    INCOME_BASE,
    TRANSFER_TYPES,
    WITHDRAWAL_COMPLETED,
    WITHDRAWAL_FAILURE,
    WITHDRAWAL_PROCESSING,
    BinanceFundsRecords,
    Convert,
    Deposit,
    Income,
    Transfer,
    Withdrawal,
    internal_tx,
    network_of,
    withdraw_fee,
)
from .funds_render import (
    convert_row,
    deposit_row,
    own_income_row,
    transfer_row,
    withdrawal_row,
)


class BinanceFundsChanges:
    """What tests do to the money side; mixed into BinanceFunds."""

    lock: Any
    seed: int
    _funds: BinanceFundsRecords
    _funding: dict[str, float]
    _flexible: dict[str, float]
    _locked: dict[str, float]
    _balances: dict[str, float]
    _futures_balances: dict[str, float]
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
        """A deposit arriving now (or at ``ts``), status 0 (pending) unless ``pending`` is
        False; returns its row. Complete or reject it with settle_deposit."""
        with self.lock:
            t = self.now_ms() if ts is None else ts
            uid = len(self._funds.deposits)
            deposit = Deposit(
                uid=uid,
                coin=coin,
                amount=amount,
                network=network_of(coin),
                status=DEPOSIT_PENDING if pending else DEPOSIT_SUCCESS,
                created=t,
                address=f"addr{uid:05d}binance",
                tx_id=internal_tx(uid) if internal else tx_hash(self.seed, 73, uid),
                internal=internal,
            )
            self._funds.deposits.append(deposit)
            if not pending:
                credit(self._balances, coin, amount)
            return deposit_row(deposit)

    def settle_deposit(
        self, deposit_id: str, ok: bool = True, status: int | None = None
    ) -> dict[str, Any]:
        """Credit (status 1) or reject (2, or ``status``: 7 a wrong deposit) a pending
        deposit now, by its id."""
        with self.lock:
            deposit = find(self._funds.deposits, deposit_id, lambda d: d.deposit_id, "deposit")
            failed = DEPOSIT_REJECTED if status is None else status
            deposit.status = DEPOSIT_SUCCESS if ok else failed
            if ok:
                credit(self._balances, deposit.coin, deposit.amount)
            return deposit_row(deposit)

    def add_withdrawal(
        self,
        coin: str,
        amount: str,
        *,
        fee: str | None = None,
        internal: bool = False,
        pending: bool = True,
        ts: int | None = None,
    ) -> dict[str, Any]:
        """A withdrawal applied for now (or at ``ts``): processing (4) until
        settle_withdrawal, or completed (6) when ``pending`` is False."""
        with self.lock:
            t = (self.now_ms() if ts is None else ts) // 1000 * 1000
            uid = len(self._funds.withdrawals)
            withdrawal = Withdrawal(
                uid=uid,
                coin=coin,
                amount=amount,
                fee="0" if internal else (fee or withdraw_fee(coin)),
                status=WITHDRAWAL_PROCESSING if pending else WITHDRAWAL_COMPLETED,
                applied=t,
                address=f"dest{uid:04d}",
                network=network_of(coin),
                tx_id="" if pending else tx_hash(self.seed, 74, uid),
                internal=internal,
                completed=None if pending else t,
            )
            self._funds.withdrawals.append(withdrawal)
            return withdrawal_row(withdrawal)

    def settle_withdrawal(self, withdraw_id: str, ok: bool = True) -> dict[str, Any]:
        """Complete (6, with its txId) or fail (5) a pending withdrawal now."""
        with self.lock:
            withdrawal = find(
                self._funds.withdrawals, withdraw_id, lambda w: w.withdraw_id, "withdrawal"
            )
            withdrawal.status = WITHDRAWAL_COMPLETED if ok else WITHDRAWAL_FAILURE
            if ok:
                withdrawal.completed = self.now_ms() // 1000 * 1000
                withdrawal.tx_id = tx_hash(self.seed, 75, withdrawal.uid)
            else:
                withdrawal.info = "The address is not valid. Please confirm with the recipient"
            return withdrawal_row(withdrawal)

    def add_transfer(
        self,
        coin: str,
        amount: str,
        kind: str = "MAIN_UMFUTURE",
        *,
        status: str = "CONFIRMED",
        ts: int | None = None,
    ) -> dict[str, Any]:
        """Move ``amount`` between two of the account's wallets now (``kind``:
        MAIN_UMFUTURE, UMFUTURE_MAIN, MAIN_FUNDING, ...); returns its row."""
        if kind not in TRANSFER_TYPES:
            raise ValueError(f"kind must be one of {TRANSFER_TYPES}")
        with self.lock:
            t = (self.now_ms() if ts is None else ts) // 1000 * 1000
            record = Transfer(len(self._funds.transfers), coin, amount, kind, status, t)
            self._funds.transfers.append(record)
            if status == "CONFIRMED":
                self._move(record)
            return transfer_row(record)

    def settle_transfer(self, tran_id: int, ok: bool = True) -> dict[str, Any]:
        """Confirm (CONFIRMED) or fail (FAILED) a pending transfer now."""
        with self.lock:
            record = find(self._funds.transfers, int(tran_id), lambda t: t.tran_id, "transfer")
            record.status = "CONFIRMED" if ok else "FAILED"
            if ok:
                self._move(record)
            return transfer_row(record)

    def add_income(
        self,
        kind: str,
        income: str,
        *,
        symbol: str = "",
        coin: str = "USDT",
        ts: int | None = None,
    ) -> dict[str, Any]:
        """A USD-M income entry booked now (a FUNDING_FEE of ``symbol``, a rebate...)."""
        with self.lock:
            uid = len(self._funds.income)
            base = INCOME_BASE["FUNDING_FEE" if kind == "FUNDING_FEE" else "OTHER"]
            entry = Income(
                uid=uid,
                kind=kind,
                coin=coin,
                income=income,
                created=self.now_ms() if ts is None else ts,
                symbol=symbol,
                tran_id=base + 500_000 + uid * 13,
            )
            self._funds.income.append(entry)
            credit(self._futures_balances, coin, income)
            return own_income_row(entry)

    def add_conversion(
        self,
        from_asset: str,
        from_amount: str,
        to_asset: str,
        to_amount: str,
        *,
        status: str = "SUCCESS",
        ts: int | None = None,
    ) -> dict[str, Any]:
        """A Convert swap made now (or at ``ts``) from the spot wallet; returns its row."""
        with self.lock:
            uid = len(self._funds.converts)
            t = self.now_ms() if ts is None else ts
            record = Convert(uid, from_asset, from_amount, to_asset, to_amount, status, t)
            self._funds.converts.append(record)
            if status == "SUCCESS":
                self._swap(record)
            return convert_row(record)

    def settle_conversion(self, order_id: int, ok: bool = True) -> dict[str, Any]:
        """Finish (SUCCESS) or fail (FAIL) a convert still processing."""
        with self.lock:
            record = find(self._funds.converts, int(order_id), lambda c: c.order_id, "convert")
            record.status = "SUCCESS" if ok else "FAIL"
            if ok:
                self._swap(record)
            return convert_row(record)

    def set_funding_balance(self, coin: str, amount: float) -> None:
        """Set a coin's balance in the Funding wallet (0 removes it)."""
        with self.lock:
            self._funding[coin] = float(amount)

    def set_earn(self, coin: str, amount: float, locked: bool = False) -> None:
        """Set a coin's Simple Earn position, flexible or ``locked`` (0 removes it)."""
        with self.lock:
            (self._locked if locked else self._flexible)[coin] = float(amount)

    # ------------------------------------------------------------------ internals

    def _wallet(self, name: str) -> dict[str, float]:
        return {"MAIN": self._balances, "UMFUTURE": self._futures_balances}.get(name, self._funding)

    def _move(self, record: Transfer) -> None:
        credit(self._wallet(record.source), record.coin, record.amount, -1)
        credit(self._wallet(record.target), record.coin, record.amount)

    def _swap(self, record: Convert) -> None:
        credit(self._balances, record.from_asset, record.from_amount, -1)
        credit(self._balances, record.to_asset, record.to_amount)
