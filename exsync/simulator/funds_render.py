"""Render the money records as Bybit v5 returns them (field names and shapes follow
Bybit's documentation and the examples ccxt's parsers were written against)."""

from __future__ import annotations

from typing import Any

from .funds_records import MEMBER_ID, ClosedPnl, Deposit, LedgerEntry, Transfer, Withdrawal
from .market import mix, num, unit
from .render import TAKER_FEE_RATE, trade_value

# A transaction log row's key is (time, seq); seq ranges keep the kinds of rows apart.
SEQ = {"booked": 10**12, "transfer": 2 * 10**12, "closed": 3 * 10**12, "entry": 4 * 10**12}


def deposit_row(deposit: Deposit) -> dict[str, Any]:
    """A row of /v5/asset/deposit/query-record."""
    return {
        "coin": deposit.coin,
        "chain": deposit.chain,
        "amount": deposit.amount,
        "txID": deposit.tx_id,
        "status": deposit.status,
        "toAddress": deposit.address,
        "tag": deposit.tag,
        "depositFee": deposit.fee,
        "successAt": str(deposit.updated),
        "confirmations": "50" if deposit.status == 3 else "3",
        "txIndex": str(deposit.uid % 7),
        "blockHash": f"{mix(deposit.uid, 46):016x}" * 4,
        "batchReleaseLimit": "-1",
        "depositType": "0",
        "fromAddress": "",
        "taxDepositRecordsId": "0",
        "taxStatus": 0,
        "id": str(160_000_000 + deposit.uid),
    }


def internal_deposit_row(deposit: Deposit) -> dict[str, Any]:
    """A row of /v5/asset/deposit/query-internal-record (createdTime in seconds)."""
    return {
        "id": str(1_100 + deposit.uid),
        "amount": deposit.amount,
        "type": 1,
        "coin": deposit.coin,
        "address": deposit.address,
        "status": deposit.status,
        "createdTime": str(deposit.created // 1000),
        "fromMemberId": deposit.from_member,
        "txID": deposit.tx_id,
        "complianceStatus": 0,
        "taxDepositRecordsId": "0",
        "taxStatus": 0,
    }


def withdrawal_row(withdrawal: Withdrawal) -> dict[str, Any]:
    """A row of /v5/asset/withdraw/query-record."""
    return {
        "coin": withdrawal.coin,
        "chain": withdrawal.chain,
        "amount": withdrawal.amount,
        "txID": withdrawal.tx_id,
        "status": withdrawal.status,
        "toAddress": withdrawal.address,
        "tag": withdrawal.tag,
        "withdrawFee": withdrawal.fee,
        "createTime": str(withdrawal.created),
        "updateTime": str(withdrawal.updated),
        "withdrawId": str(131_600_000 + withdrawal.uid),
        "withdrawType": 1 if withdrawal.internal else 0,
        "fee": "",
        "tax": "",
        "taxRate": "",
        "taxType": "",
    }


def transfer_row(transfer: Transfer) -> dict[str, Any]:
    """A row of the inter-transfer list, or of the universal transfer list."""
    row = {
        "transferId": transfer.transfer_id,
        "coin": transfer.coin,
        "amount": transfer.amount,
        "fromAccountType": transfer.from_account,
        "toAccountType": transfer.to_account,
        "timestamp": str(transfer.created),
        "status": transfer.status,
    }
    if transfer.universal:
        row["fromMemberId"] = transfer.from_member
        row["toMemberId"] = transfer.to_member
    return row


def closed_pnl_row(record: ClosedPnl) -> dict[str, Any]:
    """A row of /v5/position/closed-pnl."""
    inst = record.instrument
    qty = inst.qty_of(record.qty_lots)
    entry = inst.price_of(record.entry_ticks)
    exit_price = inst.price_of(record.exit_ticks)
    entry_value = trade_value(inst, qty, entry)
    exit_value = trade_value(inst, qty, exit_price)
    open_fee = entry_value * TAKER_FEE_RATE
    close_fee = exit_value * TAKER_FEE_RATE
    return {
        "symbol": inst.symbol,
        "orderType": "Market",
        "leverage": str(record.leverage),
        "updatedTime": str(record.created + 5),
        "side": record.side,
        "orderId": record.order_id,
        "closedPnl": num(realised(record) - open_fee - close_fee),
        "openFee": num(open_fee),
        "closeFee": num(close_fee),
        "avgEntryPrice": inst.price_str(record.entry_ticks),
        "qty": inst.qty_str(record.qty_lots),
        "cumEntryValue": num(entry_value),
        "createdTime": str(record.created),
        "orderPrice": inst.price_str(record.exit_ticks),
        "closedSize": inst.qty_str(record.qty_lots),
        "avgExitPrice": inst.price_str(record.exit_ticks),
        "execType": "Trade",
        "fillCount": str(record.fills),
        "cumExitValue": num(exit_value),
    }


def realised(record: ClosedPnl) -> float:
    """The price difference a closing realised, before fees (in the settle coin)."""
    inst = record.instrument
    qty = inst.qty_of(record.qty_lots)
    entry = inst.price_of(record.entry_ticks)
    exit_price = inst.price_of(record.exit_ticks)
    # The closing side is the opposite of the position's: a Sell closes a long.
    direction = 1 if record.side == "Sell" else -1
    if inst.category == "inverse":
        return direction * qty * (1 / entry - 1 / exit_price)
    return direction * qty * (exit_price - entry)


def ledger_row(
    seq: int,
    t: int,
    type_: str,
    coin: str,
    *,
    symbol: str = "",
    category: str = "",
    side: str = "None",
    change: float | str = 0.0,
    fee: float | str = 0.0,
    funding: float | str | None = None,
    cash_flow: float | str = 0.0,
    qty: str = "0",
    size: str = "0",
    price: str = "",
    trade_id: str = "",
    order_id: str = "",
    sub_type: str = "",
) -> dict[str, Any]:
    """A row of /v5/account/transaction-log; `seq` makes its id unique."""

    def text(value: float | str) -> str:
        return value if isinstance(value, str) else num(value)

    return {
        "transSubType": sub_type,
        "id": f"{MEMBER_ID}_{symbol or coin}_{seq}",
        "symbol": symbol,
        "side": side,
        "funding": "" if funding is None else text(funding),
        "orderLinkId": "",
        "orderId": order_id,
        "fee": text(fee),
        "change": text(change),
        "cashFlow": text(cash_flow),
        "transactionTime": str(t),
        "type": type_,
        "feeRate": "0",
        "bonusChange": "",
        "size": size,
        "qty": qty,
        # The wallet balance after the change: plausible, not a running sum.
        "cashBalance": num(5_000 + 20_000 * unit(seq, 47), 8),
        "currency": coin,
        "category": category,
        "tradePrice": price,
        "tradeId": trade_id,
        "extraFees": "",
    }


def negated(text: str) -> str:
    """The negation of a decimal text, digit for digit."""
    if text.startswith("-"):
        return text[1:]
    return text if text.strip("0.") == "" else "-" + text


def entry_row(seq: int, entry: LedgerEntry) -> dict[str, Any]:
    """A transaction log row of one of the account's own entries."""
    return ledger_row(seq, entry.created, entry.type, entry.coin, change=entry.change)


def transfer_ledger_row(record: Transfer) -> dict[str, Any] | None:
    """A transfer's entry in the main account's transaction log (UNIFIED wallet only)."""
    seq = SEQ["transfer"] + record.uid
    if record.to_member == MEMBER_ID and record.to_account == "UNIFIED":
        type_, change = "TRANSFER_IN", record.amount
    elif record.from_member == MEMBER_ID and record.from_account == "UNIFIED":
        type_, change = "TRANSFER_OUT", "-" + record.amount
    else:
        return None
    return ledger_row(seq, record.updated, type_, record.coin, change=change, cash_flow=change)


def closed_ledger_row(record: ClosedPnl) -> dict[str, Any]:
    """The closing trade's entry in the transaction log: its cash flow and its fee."""
    inst = record.instrument
    qty = inst.qty_of(record.qty_lots)
    fee = trade_value(inst, qty, inst.price_of(record.exit_ticks)) * TAKER_FEE_RATE
    cash = realised(record)
    return ledger_row(
        SEQ["closed"] + record.uid,
        record.created,
        "TRADE",
        inst.settle,
        symbol=inst.symbol,
        category=inst.category,
        side=record.side,
        change=cash - fee,
        fee=fee,
        cash_flow=cash,
        qty=inst.qty_str(record.qty_lots),
        size="0",
        price=inst.price_str(record.exit_ticks),
        order_id=record.order_id,
    )
