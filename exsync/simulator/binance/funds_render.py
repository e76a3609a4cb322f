"""The money records of the simulated Binance as its wallet (``/sapi``) and USD-M
(``/fapi/v1/income``) endpoints print them: field names and formats from Binance's
documentation (dates of withdrawals as "YYYY-MM-DD HH:MM:SS" UTC text, amounts as decimal
strings, ids as numbers or text as Binance prints each)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .funds import Convert, Deposit, Income, Transfer, Withdrawal


def utc_text(ms: int) -> str:
    """A time as Binance prints withdrawal times: "2019-10-12 11:12:02" (UTC)."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def deposit_row(deposit: Deposit) -> dict[str, Any]:
    """One /sapi/v1/capital/deposit/hisrec row (Binance documents no completion time)."""
    row: dict[str, Any] = {
        "id": deposit.deposit_id,
        "amount": deposit.amount,
        "coin": deposit.coin,
        "network": deposit.network,
        "status": deposit.status,
        "address": deposit.address,
        "addressTag": deposit.tag,
        "txId": deposit.tx_id,
        "insertTime": deposit.created,
        # 1: an off-chain transfer from another Binance user
        "transferType": 1 if deposit.internal else 0,
        "confirmTimes": "12/12" if deposit.status != 0 else "1/12",
        "unlockConfirm": 0,
        "walletType": 0,
    }
    return row


def withdrawal_row(withdrawal: Withdrawal) -> dict[str, Any]:
    """One /sapi/v1/capital/withdraw/history row."""
    row: dict[str, Any] = {
        "id": withdrawal.withdraw_id,
        "amount": withdrawal.amount,
        "transactionFee": withdrawal.fee,
        "coin": withdrawal.coin,
        "status": withdrawal.status,
        "address": withdrawal.address,
        "txId": withdrawal.tx_id,
        "applyTime": utc_text(withdrawal.applied),
        "network": withdrawal.network,
        "transferType": 1 if withdrawal.internal else 0,
        "info": withdrawal.info,
        "confirmNo": 12 if withdrawal.status == 6 else 0,
        "walletType": 0,
        "txKey": "",
    }
    if withdrawal.completed is not None:
        row["completeTime"] = utc_text(withdrawal.completed)
    return row


def transfer_row(transfer: Transfer) -> dict[str, Any]:
    """One /sapi/v1/asset/transfer row."""
    return {
        "asset": transfer.coin,
        "amount": transfer.amount,
        "type": transfer.kind,
        "status": transfer.status,
        "tranId": transfer.tran_id,
        "timestamp": transfer.created,
    }


def income_row(
    kind: str,
    income: str,
    t: int,
    tran_id: int,
    *,
    coin: str = "USDT",
    symbol: str = "",
    trade_id: str = "",
) -> dict[str, Any]:
    """One /fapi/v1/income row; ``info`` repeats the type as Binance does."""
    return {
        "symbol": symbol,
        "incomeType": kind,
        "income": income,
        "asset": coin,
        "info": kind,
        "time": t,
        "tranId": tran_id,
        "tradeId": trade_id,
    }


def own_income_row(entry: Income) -> dict[str, Any]:
    """The income row of an entry booked on its own."""
    return income_row(
        entry.kind,
        entry.income,
        entry.created,
        entry.tran_id,
        coin=entry.coin,
        symbol=entry.symbol,
        trade_id=entry.trade_id,
    )


def transfer_income_row(transfer: Transfer) -> dict[str, Any] | None:
    """A transfer's TRANSFER entry in the USD-M income history (when it moved USD-M money)."""
    if transfer.status != "CONFIRMED" or "UMFUTURE" not in (transfer.source, transfer.target):
        return None
    sign = "" if transfer.target == "UMFUTURE" else "-"
    return income_row(
        "TRANSFER", sign + transfer.amount, transfer.created, transfer.tran_id, coin=transfer.coin
    )


def convert_row(convert: Convert) -> dict[str, Any]:
    """One /sapi/v1/convert/tradeFlow ``list`` entry."""
    ratio = float(convert.to_amount) / float(convert.from_amount)
    return {
        "quoteId": convert.quote_id,
        "orderId": convert.order_id,
        "orderStatus": convert.status,
        "fromAsset": convert.from_asset,
        "fromAmount": convert.from_amount,
        "toAsset": convert.to_asset,
        "toAmount": convert.to_amount,
        "ratio": f"{ratio:.8f}",
        "inverseRatio": f"{1 / ratio:.8f}",
        "createTime": convert.created,
    }


def flexible_row(asset: str, amount: str) -> dict[str, Any]:
    """A Simple Earn flexible position."""
    return {
        "totalAmount": amount,
        "tierAnnualPercentageRate": {"0-5BTC": 0.05, "5-10BTC": 0.03},
        "latestAnnualPercentageRate": "0.02599895",
        "asset": asset,
        "canRedeem": True,
        "collateralAmount": "0",
        "productId": f"{asset}001",
        "yesterdayRealTimeRewards": "0.00000000",
        "cumulativeBonusRewards": "0.00000000",
        "cumulativeRealTimeRewards": "0.00000000",
        "cumulativeTotalRewards": "0.00000000",
        "autoSubscribe": True,
    }


def locked_row(position_id: int, asset: str, amount: str, purchased: int) -> dict[str, Any]:
    """A Simple Earn locked position."""
    return {
        "positionId": position_id,
        "parentPositionId": position_id - 1,
        "projectId": f"{asset}*90",
        "asset": asset,
        "amount": amount,
        "purchaseTime": str(purchased),
        "duration": "90",
        "accrualDays": "4",
        "rewardAsset": asset,
        "APY": "0.0432",
        "rewardAmt": "0",
        "nextPay": "0",
        "payPeriod": "1",
        "redeemAmountEarly": amount,
        "redeemingAmt": "0",
        "redeemTo": "SPOT",
        "canRedeemEarly": True,
        "canFastRedemption": False,
        "autoSubscribe": True,
        "type": "NORMAL",
        "status": "HOLDING",
        "canReStake": False,
    }


def funding_asset_row(asset: str, amount: str) -> dict[str, Any]:
    """One /sapi/v1/asset/get-funding-asset entry."""
    return {
        "asset": asset,
        "free": amount,
        "locked": "0",
        "freeze": "0",
        "withdrawing": "0",
        "btcValuation": "0",
    }
