"""Render records as the JSON Binance's spot (``/api/v3``) and USD-M futures
(``/fapi``) endpoints return.

Field names and shapes follow Binance's documentation; where ccxt's parser
branches on the presence of a key, the comment says so. Spot prints every decimal
with 8 places ("65000.10000000"); futures prints prices with the tick's decimals
and quantities with the step's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..market import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    Instrument,
    PriceModel,
    fixed,
    kline_row,
    mix,
    reference_price,
    text_id,
    unit,
)
from ..records import Order, Position

SPOT_FEE_RATE = 0.001
FUTURES_MAKER_RATE = 0.0002
FUTURES_TAKER_RATE = 0.0005
# Leverage assumed for the margin that resting futures orders reserve.
ORDER_LEVERAGE = 10

# Binance interval notation -> the candle key the shared price path uses.
SPOT_INTERVALS = {
    "1s": "1s",
    "1m": "1",
    "3m": "3",
    "5m": "5",
    "15m": "15",
    "30m": "30",
    "1h": "60",
    "2h": "120",
    "4h": "240",
    "6h": "360",
    "8h": "480",
    "12h": "720",
    "1d": "D",
    "3d": "4320",
    "1w": "W",
    "1M": "M",
}
FUTURES_INTERVALS = {k: v for k, v in SPOT_INTERVALS.items() if k != "1s"}

_STATUS = {
    "New": "NEW",
    "Untriggered": "NEW",
    "PartiallyFilled": "PARTIALLY_FILLED",
    "Filled": "FILLED",
    "Cancelled": "CANCELED",
    "PartiallyFilledCanceled": "CANCELED",
    "Rejected": "REJECTED",
    "Deactivated": "EXPIRED",
}

# (notionalFloor, notionalCap, initialLeverage, maintMarginRatio, cum): one table for
# every symbol, shaped like Binance's BTCUSDT brackets. cum makes the maintenance
# margin continuous across brackets: notional * ratio - cum.
BRACKETS = (
    (0, 50_000, 125, 0.004, 0.0),
    (50_000, 600_000, 100, 0.005, 50.0),
    (600_000, 3_000_000, 75, 0.0065, 950.0),
    (3_000_000, 12_000_000, 50, 0.01, 11_450.0),
    (12_000_000, 70_000_000, 25, 0.02, 131_450.0),
)


# --------------------------------------------------------------------------- numbers


def dec8(value: float) -> str:
    """A float with Binance's 8 fixed decimals ("0.00100000"), never "-0.00000000"."""
    text = f"{value:.8f}"
    return "0.00000000" if text == "-0.00000000" else text


def pad8(text: str) -> str:
    """An exact decimal string re-printed with 8 decimals, as Binance spot prints."""
    return f"{Decimal(text):.8f}"


def spot_price(inst: Instrument, ticks: int) -> str:
    """A spot price in ticks as Binance spot prints it."""
    return pad8(inst.price_str(ticks))


def spot_qty(inst: Instrument, lots: int) -> str:
    """A spot quantity in lots as Binance spot prints it."""
    return pad8(inst.qty_str(lots))


def futures_qty(inst: Instrument, lots: int) -> str:
    """A futures quantity with the step's decimals ("0.010")."""
    return fixed(lots, inst.qty_decimals)


def order_status(order: Order) -> str:
    """Binance's order status for a record status."""
    return _STATUS[order.status]


def client_order_id(seed: int, order: Order) -> str:
    """A stable, Binance-looking client order id (the web UI's "web_" prefix)."""
    return f"web_{mix(seed, 31, order.uid):016x}"


def fee_rate(inst: Instrument, is_maker: bool) -> float:
    """Default (VIP 0, no BNB discount) commission rate of a market and liquidity side."""
    if inst.category == "spot":
        return SPOT_FEE_RATE
    return FUTURES_MAKER_RATE if is_maker else FUTURES_TAKER_RATE


def commission(
    inst: Instrument, side: str, qty: float, price: float, rate: float
) -> tuple[float, str]:
    """Commission amount and asset: spot buys pay in the base coin received, spot sells
    in the quote coin; USD-M futures in the margin asset."""
    if inst.category == "spot":
        if side == "Buy":
            return qty * rate, inst.base
        return qty * price * rate, inst.quote
    return qty * price * rate, inst.settle


# --------------------------------------------------------------------------- orders


def spot_order_row(seed: int, order: Order) -> dict[str, Any]:
    """An order as /api/v3/openOrders and /api/v3/allOrders return it."""
    inst = order.instrument
    price = inst.price_of(order.price_ticks)
    filled = inst.qty_of(order.filled_lots) if order.filled_lots else 0.0
    return {
        "symbol": inst.symbol,
        "orderId": int(order.order_id),
        # Also how ccxt tells a spot order from a futures one when no symbol was given.
        "orderListId": -1,
        "clientOrderId": client_order_id(seed, order),
        "price": spot_price(inst, order.price_ticks),
        "origQty": spot_qty(inst, order.qty_lots),
        "executedQty": spot_qty(inst, order.filled_lots),
        "cummulativeQuoteQty": dec8(filled * price),
        "status": order_status(order),
        "timeInForce": order.time_in_force,
        "type": order.order_type.upper(),
        "side": order.side.upper(),
        "stopPrice": "0.00000000",
        "icebergQty": "0.00000000",
        "time": order.created,
        "updateTime": order.updated,
        "isWorking": True,
        "workingTime": order.created,
        "origQuoteOrderQty": "0.00000000",
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }


def futures_order_row(seed: int, order: Order) -> dict[str, Any]:
    """An order as /fapi/v1/openOrders and /fapi/v1/allOrders return it.

    ``positionSide`` and ``cumQuote`` are what ccxt looks for to tell a contract
    order from a spot one. Since 2026-08-05 USD-M answers COIN-M's ``cumBase`` too, as "0"
    (ccxt reads it for inverse markets only).
    """
    inst = order.instrument
    price = inst.price_of(order.price_ticks)
    filled = inst.qty_of(order.filled_lots) if order.filled_lots else 0.0
    return {
        "orderId": int(order.order_id),
        "symbol": inst.symbol,
        "status": order_status(order),
        "clientOrderId": client_order_id(seed, order),
        "price": inst.price_str(order.price_ticks),
        "avgPrice": inst.price_str(order.price_ticks) if order.filled_lots else "0",
        "origQty": futures_qty(inst, order.qty_lots),
        "executedQty": futures_qty(inst, order.filled_lots),
        "cumQuote": dec8(filled * price),
        "cumBase": "0",
        "timeInForce": order.time_in_force,
        "type": order.order_type.upper(),
        "reduceOnly": False,
        "closePosition": False,
        "side": order.side.upper(),
        "positionSide": "BOTH",
        "stopPrice": "0",
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": order.order_type.upper(),
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
        "time": order.created,
        "updateTime": order.updated,
    }


def order_row(seed: int, order: Order) -> dict[str, Any]:
    """The order in the shape of its market's endpoints."""
    if order.instrument.category == "spot":
        return spot_order_row(seed, order)
    return futures_order_row(seed, order)


# --------------------------------------------------------------------------- trades


def trade_row(order: Order, trade_id: int, t: int, lots: int) -> dict[str, Any]:
    """An own trade as /api/v3/myTrades (spot) or /fapi/v1/userTrades (futures) returns it.

    Spot rows carry ``isMaker``/``isBuyer``/``orderListId`` (ccxt's sign of a spot
    trade); futures rows ``maker``/``buyer``/``side``.
    """
    inst = order.instrument
    qty = inst.qty_of(lots)
    price = inst.price_of(order.price_ticks)
    fee, asset = commission(inst, order.side, qty, price, fee_rate(inst, order.is_maker))
    buyer = order.side == "Buy"
    if inst.category == "spot":
        return {
            "symbol": inst.symbol,
            "id": trade_id,
            "orderId": int(order.order_id),
            "orderListId": -1,
            "price": spot_price(inst, order.price_ticks),
            "qty": spot_qty(inst, lots),
            "quoteQty": dec8(qty * price),
            "commission": dec8(fee),
            "commissionAsset": asset,
            "time": t,
            "isBuyer": buyer,
            "isMaker": order.is_maker,
            "isBestMatch": True,
        }
    return {
        "buyer": buyer,
        "commission": dec8(fee),
        "commissionAsset": asset,
        "id": trade_id,
        "maker": order.is_maker,
        "orderId": int(order.order_id),
        "price": inst.price_str(order.price_ticks),
        "qty": futures_qty(inst, lots),
        "quoteQty": dec8(qty * price),
        "realizedPnl": "0",
        "side": order.side.upper(),
        "positionSide": "BOTH",
        "symbol": inst.symbol,
        "time": t,
    }


# --------------------------------------------------------------------------- positions


def maintenance(notional: float) -> tuple[float, float]:
    """(maintenance margin, ratio) of a position's absolute notional per BRACKETS."""
    for floor, cap, _, ratio, cum in BRACKETS:
        if floor <= notional < cap:
            return max(0.0, notional * ratio - cum), ratio
    _, _, _, ratio, cum = BRACKETS[-1]
    return notional * ratio - cum, ratio


def symbol_config(inst: Instrument, position: Position | None) -> dict[str, Any]:
    """One /fapi/v1/symbolConfig entry (Binance's documented shape)."""
    leverage = position.leverage if position is not None else ORDER_LEVERAGE
    cap = next(c for _, c, lev, _, _ in reversed(BRACKETS) if lev >= leverage)
    return {
        "symbol": inst.symbol,
        "marginType": "CROSSED",
        "isAutoAddMargin": "false",
        "leverage": leverage,
        "maxNotionalValue": str(cap),
    }


def leverage_brackets(inst: Instrument) -> dict[str, Any]:
    """One /fapi/v1/leverageBracket entry."""
    return {
        "symbol": inst.symbol,
        "notionalCoef": 1.0,
        "brackets": [
            {
                "bracket": i + 1,
                "initialLeverage": leverage,
                "notionalCap": cap,
                "notionalFloor": floor,
                "maintMarginRatio": ratio,
                "cum": cum,
            }
            for i, (floor, cap, leverage, ratio, cum) in enumerate(BRACKETS)
        ],
    }


def position_numbers(position: Position, mark: float) -> dict[str, float]:
    """Signed amount, notional and PnL, margins and liquidation price of a position."""
    inst = position.instrument
    direction = 1 if position.side == "Buy" else -1
    amount = direction * inst.qty_of(position.size_lots)
    entry = inst.price_of(position.entry_ticks)
    notional = amount * mark
    maint, ratio = maintenance(abs(notional))
    liq = entry * (1 - direction * (1 / position.leverage - ratio))
    return {
        "amount": amount,
        "entry": entry,
        "notional": notional,
        "upl": amount * (mark - entry),
        "initial": abs(notional) / position.leverage,
        "maint": maint,
        "liq": max(liq, inst.tick),
    }


def position_row(
    position: Position | None, inst: Instrument, mark: float, open_order_im: float
) -> dict[str, Any]:
    """A /fapi/v3/positionRisk row (one-way mode); ``position`` None gives the flat row
    a symbol with resting orders shows. v3 has no ``leverage`` or ``marginType``."""
    if position is None:
        amount, entry, notional, upl, initial, maint, liq, updated = (0.0,) * 7 + (0,)
        amount_text, entry_text, liq_text = futures_qty(inst, 0), "0.0", "0"
    else:
        n = position_numbers(position, mark)
        amount, entry, notional, upl = n["amount"], n["entry"], n["notional"], n["upl"]
        initial, maint, liq, updated = n["initial"], n["maint"], n["liq"], position.updated
        amount_text = fixed(round(amount * 10**inst.qty_decimals), inst.qty_decimals)
        entry_text = inst.price_str(position.entry_ticks)
        liq_text = dec8(liq)
    break_even = entry * (1 + (FUTURES_TAKER_RATE if amount > 0 else -FUTURES_TAKER_RATE))
    return {
        "symbol": inst.symbol,
        "positionSide": "BOTH",
        "positionAmt": amount_text,
        "entryPrice": entry_text,
        "breakEvenPrice": dec8(break_even) if amount else "0.0",
        "markPrice": dec8(mark),
        "unRealizedProfit": dec8(upl),
        "liquidationPrice": liq_text,
        "isolatedMargin": "0",
        "notional": dec8(notional),
        "marginAsset": inst.settle,
        "isolatedWallet": "0",
        "initialMargin": dec8(initial + open_order_im),
        "maintMargin": dec8(maint),
        "positionInitialMargin": dec8(initial),
        "openOrderInitialMargin": dec8(open_order_im),
        "adl": 2 if amount else 0,
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": updated,
    }


def position_row_v2(
    position: Position | None, inst: Instrument, mark: float, open_order_im: float
) -> dict[str, Any]:
    """A /fapi/v2/positionRisk row: v3's fields minus the margins, plus leverage and mode."""
    row = position_row(position, inst, mark, open_order_im)
    leverage = position.leverage if position is not None else ORDER_LEVERAGE
    cap = next(c for _, c, lev, _, _ in reversed(BRACKETS) if lev >= leverage)
    v2 = {k: row[k] for k in ("symbol", "positionAmt", "entryPrice", "breakEvenPrice")}
    v2.update(
        {
            "markPrice": row["markPrice"],
            "unRealizedProfit": row["unRealizedProfit"],
            "liquidationPrice": row["liquidationPrice"],
            "leverage": str(leverage),
            "maxNotionalValue": str(cap),
            "marginType": "cross",
            "isolatedMargin": "0.00000000",
            "isAutoAddMargin": "false",
            "positionSide": "BOTH",
            "notional": row["notional"],
            "isolatedWallet": "0",
            "updateTime": row["updateTime"],
            "isolated": False,
            "adlQuantile": row["adl"],
        }
    )
    return v2


# --------------------------------------------------------------------------- markets


def _filters_common(inst: Instrument, spot: bool) -> tuple[str, str, str]:
    """tickSize, maxPrice and stepSize as the market's exchangeInfo prints them."""
    ref = reference_price(inst.base) / reference_price(inst.quote)
    tick = fixed(1, inst.price_decimals)
    max_price = fixed(inst.to_ticks(ref * 50), inst.price_decimals)
    step = fixed(1, inst.qty_decimals)
    if spot:
        tick, max_price, step = pad8(tick), pad8(max_price), pad8(step)
    return tick, max_price, step


def _price_filter(tick: str, max_price: str) -> dict[str, str]:
    return {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": max_price, "tickSize": tick}


def spot_symbol_info(inst: Instrument) -> dict[str, Any]:
    """One /api/v3/exchangeInfo ``symbols`` entry."""
    tick, max_price, step = _filters_common(inst, spot=True)
    ref = reference_price(inst.base) / reference_price(inst.quote)
    max_qty = pad8(inst.qty_str(inst.to_lots(9_000_000 / ref)))
    return {
        "symbol": inst.symbol,
        "status": "TRADING",
        "baseAsset": inst.base,
        "baseAssetPrecision": 8,
        "quoteAsset": inst.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": [
            "LIMIT",
            "LIMIT_MAKER",
            "MARKET",
            "STOP_LOSS",
            "STOP_LOSS_LIMIT",
            "TAKE_PROFIT",
            "TAKE_PROFIT_LIMIT",
        ],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "opoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "amendAllowed": True,
        "pegInstructionsAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": True,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": tick,
                "maxPrice": max_price,
                "tickSize": tick,
            },
            {"filterType": "LOT_SIZE", "minQty": step, "maxQty": max_qty, "stepSize": step},
            {"filterType": "ICEBERG_PARTS", "limit": 10},
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": "0.00000000",
                "maxQty": max_qty,
                "stepSize": "0.00000000",
            },
            {
                "filterType": "TRAILING_DELTA",
                "minTrailingAboveDelta": 10,
                "maxTrailingAboveDelta": 2000,
                "minTrailingBelowDelta": 10,
                "maxTrailingBelowDelta": 2000,
            },
            {
                "filterType": "PERCENT_PRICE_BY_SIDE",
                "bidMultiplierUp": "5",
                "bidMultiplierDown": "0.2",
                "askMultiplierUp": "5",
                "askMultiplierDown": "0.2",
                "avgPriceMins": 5,
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": "5.00000000",
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
        ],
        "permissions": [],
        "permissionSets": [["SPOT", "MARGIN"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": [
            "EXPIRE_TAKER",
            "EXPIRE_MAKER",
            "EXPIRE_BOTH",
            "DECREMENT",
        ],
    }


def futures_symbol_info(inst: Instrument) -> dict[str, Any]:
    """One /fapi/v1/exchangeInfo ``symbols`` entry; ``contractType`` makes ccxt see a contract."""
    tick, max_price, step = _filters_common(inst, spot=False)
    ref = reference_price(inst.base) / reference_price(inst.quote)
    max_qty = fixed(inst.to_lots(1_000_000 / ref), inst.qty_decimals)
    return {
        "symbol": inst.symbol,
        "pair": inst.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": inst.launch_time,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": inst.base,
        "quoteAsset": inst.quote,
        "marginAsset": inst.settle,
        "pricePrecision": inst.price_decimals,
        "quantityPrecision": inst.qty_decimals,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": tick,
                "maxPrice": max_price,
                "tickSize": tick,
            },
            {"filterType": "LOT_SIZE", "minQty": step, "maxQty": max_qty, "stepSize": step},
            {"filterType": "MARKET_LOT_SIZE", "minQty": step, "maxQty": max_qty, "stepSize": step},
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": "5"},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": "4",
            },
        ],
        "orderTypes": [
            "LIMIT",
            "MARKET",
            "STOP",
            "STOP_MARKET",
            "TAKE_PROFIT",
            "TAKE_PROFIT_MARKET",
            "TRAILING_STOP_MARKET",
        ],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        "permissionSets": ["GRID", "COPY"],
    }


def ticker_row(seed: int, prices: PriceModel, inst: Instrument, now: int) -> dict[str, Any]:
    """One 24hr ticker: last and 24h open/high/low from the price path, volumes from hash
    noise that changes hourly. Spot tickers carry bid/ask (``bidQty`` is how ccxt tells
    a spot ticker from a futures one); futures tickers do not."""
    price = prices.pair_price
    spot = inst.category == "spot"
    fmt = (lambda ticks: spot_price(inst, ticks)) if spot else inst.price_str
    last = inst.to_ticks(price(inst, now))
    first = inst.to_ticks(price(inst, now - DAY_MS))
    samples = [inst.to_ticks(price(inst, now - k * 30 * MINUTE_MS)) for k in range(49)]
    key = (seed, text_id(inst.symbol), text_id(inst.category), now // HOUR_MS)
    mid = inst.price_of(last)
    quote_volume = 20_000 * 1440 * (0.5 + unit(*key, 1)) / reference_price(inst.quote)
    volume_lots = max(1, round(quote_volume / mid * 10**inst.qty_decimals))
    volume = inst.qty_of(volume_lots)
    change = inst.price_of(last) - inst.price_of(first)
    count = 50_000 + int(unit(*key, 2) * 1_000_000)
    last_id = 3_000_000_000 + int(now // 1000) % 1_000_000_000
    row: dict[str, Any] = {
        "symbol": inst.symbol,
        "priceChange": dec8(change) if spot else inst.price_str(last - first),
        "priceChangePercent": f"{100 * (last / first - 1):.3f}",
        "weightedAvgPrice": dec8(quote_volume / volume),
        "lastPrice": fmt(last),
        "lastQty": spot_qty(inst, 1) if spot else futures_qty(inst, 1),
        "openPrice": fmt(first),
        "highPrice": fmt(max(samples)),
        "lowPrice": fmt(min(samples)),
        "volume": spot_qty(inst, volume_lots) if spot else futures_qty(inst, volume_lots),
        "quoteVolume": dec8(quote_volume),
        "openTime": now - DAY_MS,
        "closeTime": now,
        "firstId": last_id - count + 1,
        "lastId": last_id,
        "count": count,
    }
    if spot:
        size = spot_qty(inst, max(1, round(10 ** max(0, inst.qty_decimals - 2))))
        row.update(
            {
                "prevClosePrice": fmt(first),
                "bidPrice": fmt(last - 1),
                "bidQty": size,
                "askPrice": fmt(last + 1),
                "askQty": size,
            }
        )
    return row


def kline(
    seed: int, prices: PriceModel, inst: Instrument, key: str, open_ms: int, close_ms: int
) -> list[Any]:
    """One kline: [openTime, open, high, low, close, volume, closeTime, quoteVolume,
    trades, takerBuyBase, takerBuyQuote, "0"], times as integers, the rest strings.

    Prices and volume come from the shared kline model, so spot and futures candles of
    one pair follow the same path (they differ only in tick size).
    """
    _, o, h, low, c, volume, quote = kline_row(seed, prices, inst, key, open_ms)
    noise = unit(seed, text_id(inst.symbol), text_id(key), open_ms, 7)
    taker = 0.35 + 0.3 * noise
    vol, quote_f = float(volume), float(quote)
    # Roughly one trade per 350 quote units.
    trades = max(1, int(quote_f / 350))
    if inst.category == "spot":
        o, h, low, c, volume = (pad8(x) for x in (o, h, low, c, volume))
        taker_base = dec8(vol * taker)
    else:
        taker_base = fixed(round(vol * taker * 10**inst.qty_decimals), inst.qty_decimals)
    return [
        open_ms,
        o,
        h,
        low,
        c,
        volume,
        close_ms - 1,
        dec8(quote_f),
        trades,
        taker_base,
        dec8(quote_f * taker),
        "0",
    ]


def coin_config(coin: str, free: float) -> dict[str, Any]:
    """One /sapi/v1/capital/config/getall entry with a single network."""
    fee = "0.0000025" if coin == "BTC" else "1"
    return {
        "coin": coin,
        "depositAllEnable": True,
        "withdrawAllEnable": True,
        "name": coin,
        "free": dec8(free),
        "locked": "0",
        "freeze": "0",
        "withdrawing": "0",
        "ipoing": "0",
        "ipoable": "0",
        "storage": "0",
        "isLegalMoney": False,
        "trading": True,
        "networkList": [
            {
                "network": coin,
                "coin": coin,
                "withdrawIntegerMultiple": "0.00000001",
                "isDefault": True,
                "depositEnable": True,
                "withdrawEnable": True,
                "depositDesc": "",
                "withdrawDesc": "",
                "specialTips": "",
                "name": coin,
                "resetAddressStatus": False,
                "addressRegex": "^[0-9A-Za-z]{20,64}$",
                "memoRegex": "",
                "withdrawFee": fee,
                "withdrawMin": "0.0001" if coin == "BTC" else "10",
                "withdrawMax": "9999999999",
                "depositDust": "0.00000001",
                "minConfirm": 1,
                "unLockConfirm": 2,
                "sameAddress": False,
                "estimatedArrivalTime": 5,
                "busy": False,
                "contractAddressUrl": "",
                "contractAddress": "",
            }
        ],
    }
