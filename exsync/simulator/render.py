"""Render records as the JSON objects Bybit v5 returns.

Field names and shapes follow Bybit's v5 documentation; where ccxt's parser
branches on the presence of a key, the comment says so.
"""

from __future__ import annotations

from typing import Any

from .market import Instrument, make_numeric_id, make_uuid, num, text_id, unit
from .records import EXEC_TYPES, ExecTable, Order, Position

SPOT_FEE_RATE = 0.001
MAKER_FEE_RATE = 0.0002
TAKER_FEE_RATE = 0.00055
MAINTENANCE_RATE = 0.005


def fee_rate(instrument: Instrument, is_maker: bool) -> float:
    """Fee rate Bybit's default (non-VIP) tier charges for this market and liquidity side."""
    if instrument.category == "spot":
        return SPOT_FEE_RATE
    return MAKER_FEE_RATE if is_maker else TAKER_FEE_RATE


def fee_for(
    instrument: Instrument, side: str, qty: float, price: float, rate: float
) -> tuple[float, str]:
    """Fee amount and coin of a fill.

    Spot buys pay the fee in the base coin they receive, spot sells in the quote
    coin; linear contracts pay in the settle coin; inverse contracts in the base coin.
    """
    if instrument.category == "spot":
        if side == "Buy":
            return qty * rate, instrument.base
        return qty * price * rate, instrument.quote
    if instrument.category == "inverse":
        return qty / price * rate, instrument.base
    return qty * price * rate, instrument.settle


def trade_value(instrument: Instrument, qty: float, price: float) -> float:
    """Notional of a fill: quote coin for spot/linear, base coin for inverse contracts."""
    if instrument.category == "inverse":
        return qty / price
    return qty * price


def order_id_for(seed: int, instrument: Instrument, uid: int) -> str:
    """Spot order ids are long numbers on Bybit; derivatives order ids are UUIDs."""
    if instrument.category == "spot":
        return make_numeric_id(seed, 11, uid)
    return make_uuid(seed, 12, uid)


def exec_id_for(seed: int, instrument: Instrument, uid: int) -> str:
    """Execution ids follow the same convention as order ids."""
    if instrument.category == "spot":
        return make_numeric_id(seed, 21, uid)
    return make_uuid(seed, 22 + text_id(instrument.category), uid)


def order_row(order: Order) -> dict[str, Any]:
    """An order as order/realtime and order/history return it."""
    inst = order.instrument
    price = inst.price_of(order.price_ticks)
    filled = inst.qty_of(order.filled_lots) if order.filled_lots else 0.0
    leaves_lots = order.qty_lots - order.filled_lots if order.is_open else 0
    leaves = inst.qty_of(leaves_lots) if leaves_lots else 0.0
    fee, fee_coin = fee_for(inst, order.side, filled, price, fee_rate(inst, order.is_maker))
    row: dict[str, Any] = {
        "orderId": order.order_id,
        "orderLinkId": order.link_id,
        "blockTradeId": "",
        "symbol": inst.symbol,
        "price": inst.price_str(order.price_ticks),
        "qty": inst.qty_str(order.qty_lots),
        "side": order.side,
        "isLeverage": "0" if inst.category == "spot" else "",
        "positionIdx": 0,
        "orderStatus": order.status,
        "cancelType": "CancelByUser" if order.status == "Cancelled" else "UNKNOWN",
        "rejectReason": "EC_NoError",
        "avgPrice": inst.price_str(order.price_ticks) if order.filled_lots else "",
        "leavesQty": inst.qty_str(leaves_lots),
        "leavesValue": num(trade_value(inst, leaves, price)) if leaves_lots else "0",
        "cumExecQty": inst.qty_str(order.filled_lots),
        "cumExecValue": num(trade_value(inst, filled, price)) if order.filled_lots else "0",
        "cumExecFee": num(fee),
        "timeInForce": order.time_in_force,
        "orderType": order.order_type,
        "stopOrderType": "",
        "orderIv": "",
        "triggerPrice": "0",
        "takeProfit": "0",
        "stopLoss": "0",
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "triggerDirection": 0,
        "triggerBy": "",
        "lastPriceOnCreated": inst.price_str(order.price_ticks),
        "reduceOnly": False,
        "closeOnTrigger": False,
        "placeType": "",
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "tpLimitPrice": "0",
        "slLimitPrice": "0",
        "slippageToleranceType": "UNKNOWN",
        "slippageTolerance": "0",
        "createdTime": str(order.created),
        "updatedTime": str(order.updated),
    }
    if order.filled_lots and inst.category != "spot":
        # Spot orders as recorded from Bybit carry their fee in cumExecFee alone (base coin
        # for a buy, quote coin for a sell); contract orders name it per coin as well.
        row["cumFeeDetail"] = {fee_coin: num(fee)}
    if inst.category == "spot":
        # Spot orders carry marketUnit; they must not carry tpslMode, which ccxt
        # takes as the sign of a contract order when no symbol was passed.
        row["marketUnit"] = ""
    else:
        row["tpslMode"] = ""
        row["createType"] = "CreateByUser"
    return row


# The order createType Bybit gives the executions it books by itself.
_CREATE_TYPES = {
    "BustTrade": "CreateByTakeOver_PassThrough",
    "AdlTrade": "CreateByAdl_PassThrough",
    "Delivery": "CreateBySettle_PassThrough",
    "Settle": "CreateBySettle_PassThrough",
    "BlockTrade": "CreateByBlockPassThrough",
    "MovePosition": "CreateByBlock_TradeMovePosition_PassThrough",
}


def funding_rate(seed: int, uid: int) -> float:
    """The funding rate of one settlement: -0.01% to +0.01%, deterministic."""
    return round((unit(seed, 31, uid) - 0.35) * 0.0002, 6)


def exec_row(seed: int, order: Order, table: ExecTable, index: int) -> dict[str, Any]:
    """An execution as execution/list returns it: an own trade, or one the exchange booked."""
    exec_type = EXEC_TYPES[table.kinds[index]]
    if exec_type == "Funding":
        return _funding_row(seed, order, table, index)
    inst = order.instrument
    lots = table.lots[index]
    qty = inst.qty_of(lots)
    price = inst.price_of(order.price_ticks)
    rate = fee_rate(inst, order.is_maker)
    fee, fee_coin = fee_for(inst, order.side, qty, price, rate)
    uid = table.uids[index]
    row: dict[str, Any] = {
        "symbol": inst.symbol,
        "orderId": order.order_id,
        "orderLinkId": order.link_id,
        "side": order.side,
        "orderPrice": inst.price_str(order.price_ticks),
        "orderQty": inst.qty_str(order.qty_lots),
        "leavesQty": inst.qty_str(table.leaves[index]),
        "orderType": order.order_type,
        "stopOrderType": "",
        "execFee": num(fee, 10),
        "execId": exec_id_for(seed, inst, uid),
        "execPrice": inst.price_str(order.price_ticks),
        "execQty": inst.qty_str(lots),
        "execType": exec_type,
        "execValue": num(trade_value(inst, qty, price), 10),
        "execTime": str(table.times[index]),
        "isMaker": order.is_maker,
        "feeRate": num(rate),
        "tradeIv": "",
        "markIv": "",
        "markPrice": "",
        "indexPrice": "",
        "underlyingPrice": "",
        "blockTradeId": "",
        "closedSize": "",
        "seq": 4_000_000_000 + uid,
        "extraFees": "",
    }
    if inst.category == "spot":
        row["feeCurrency"] = fee_coin
    else:
        # createType is absent on spot rows; ccxt uses its presence to tell a
        # contract execution from a spot one when no symbol was passed.
        row["createType"] = _CREATE_TYPES.get(exec_type, "CreateByUser")
        row["stopOrderType"] = "UNKNOWN"
        row["markPrice"] = inst.price_str(order.price_ticks)
        row["indexPrice"] = inst.price_str(order.price_ticks)
        row["closedSize"] = "0"
    return row


def _funding_row(seed: int, order: Order, table: ExecTable, index: int) -> dict[str, Any]:
    """A funding settlement as execution/list returns it (the form of Bybit's own example).

    execQty is the position's size, execPrice the mark price, feeRate the funding rate and
    execFee what the position paid (negative: received). The order id is a settlement id no
    order endpoint knows, and the row carries no createType: without the category, ccxt's
    parser takes such a row for a spot trade.
    """
    inst = order.instrument
    qty = inst.qty_of(order.qty_lots)
    mark = inst.price_of(order.price_ticks)
    uid = table.uids[index]
    rate = funding_rate(seed, uid)
    value = trade_value(inst, qty, mark)
    # Longs pay shorts when the rate is positive.
    paid = value * rate * (1 if order.side == "Buy" else -1)
    return {
        "symbol": inst.symbol,
        "orderId": order.order_id,
        "orderLinkId": "",
        "side": order.side,
        "orderPrice": "0",
        "orderQty": "0",
        "leavesQty": "0",
        "orderType": "UNKNOWN",
        "stopOrderType": "UNKNOWN",
        "execFee": num(paid, 10),
        "execId": exec_id_for(seed, inst, uid),
        "execPrice": inst.price_str(order.price_ticks),
        "execQty": inst.qty_str(order.qty_lots),
        "execType": "Funding",
        "execValue": num(value, 10),
        "execTime": str(table.times[index]),
        "isMaker": False,
        "feeRate": num(rate),
        "tradeIv": "",
        "markIv": "",
        "markPrice": inst.price_str(order.price_ticks),
        "indexPrice": "",
        "underlyingPrice": "",
        "blockTradeId": "",
        "closedSize": "0",
        "seq": 4_000_000_000 + uid,
    }


def position_row(position: Position, mark: float) -> dict[str, Any]:
    """A position as position/list returns it (never with closedSize: ccxt would flip its side)."""
    inst = position.instrument
    size = inst.qty_of(position.size_lots)
    entry = inst.price_of(position.entry_ticks)
    mark_ticks = inst.to_ticks(mark)
    mark = inst.price_of(mark_ticks)
    direction = 1 if position.side == "Buy" else -1
    value = trade_value(inst, size, entry)
    if inst.category == "inverse":
        upl = direction * size * (1 / entry - 1 / mark)
    else:
        upl = direction * size * (mark - entry)
    initial = value / position.leverage
    maintenance = value * MAINTENANCE_RATE
    bust = entry * (1 - direction / position.leverage)
    liq = entry * (1 - direction * (1 / position.leverage - MAINTENANCE_RATE))
    return {
        "positionIdx": 0,
        "riskId": 1,
        "riskLimitValue": "2000000",
        "symbol": inst.symbol,
        "side": position.side,
        "size": inst.qty_str(position.size_lots),
        "avgPrice": inst.price_str(position.entry_ticks),
        "positionValue": num(value),
        "tradeMode": 0,
        "positionStatus": "Normal",
        "autoAddMargin": 0,
        "adlRankIndicator": 2,
        "leverage": str(position.leverage),
        "positionBalance": num(initial),
        "markPrice": inst.price_str(mark_ticks),
        "liqPrice": inst.price_str(inst.to_ticks(max(liq, inst.tick))),
        "bustPrice": inst.price_str(inst.to_ticks(max(bust, inst.tick))),
        "positionMM": num(maintenance),
        "positionIM": num(initial),
        "tpslMode": "Full",
        "takeProfit": "0",
        "stopLoss": "0",
        "trailingStop": "0",
        "unrealisedPnl": num(upl),
        "curRealisedPnl": num(position.realised_pnl),
        "cumRealisedPnl": num(position.realised_pnl),
        "sessionAvgPrice": "",
        "createdTime": str(position.created),
        "updatedTime": str(position.updated),
        "seq": 9_000_000_000 + position.uid,
        "isReduceOnly": False,
        "mmrSysUpdatedTime": "",
        "leverageSysUpdatedTime": "",
    }


def empty_position_row(instrument: Instrument, mark: float, now: int) -> dict[str, Any]:
    """What position/list returns for a symbol queried by name while flat (one-way mode)."""
    return {
        "positionIdx": 0,
        "riskId": 1,
        "riskLimitValue": "2000000",
        "symbol": instrument.symbol,
        "side": "",
        "size": "0",
        "avgPrice": "0",
        "positionValue": "0",
        "tradeMode": 0,
        "positionStatus": "Normal",
        "autoAddMargin": 0,
        "adlRankIndicator": 0,
        "leverage": "10",
        "positionBalance": "0",
        "markPrice": instrument.price_str(instrument.to_ticks(mark)),
        "liqPrice": "",
        "bustPrice": "",
        "positionMM": "0",
        "positionIM": "0",
        "tpslMode": "Full",
        "takeProfit": "0",
        "stopLoss": "0",
        "trailingStop": "0",
        "unrealisedPnl": "0",
        "curRealisedPnl": "0",
        "cumRealisedPnl": "0",
        "sessionAvgPrice": "",
        "createdTime": str(now),
        "updatedTime": str(now),
        "seq": -1,
        "isReduceOnly": False,
        "mmrSysUpdatedTime": "",
        "leverageSysUpdatedTime": "",
    }
