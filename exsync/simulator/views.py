"""Derived views: the wallet-balance account entry and 24h tickers.

Both are computed on every request from the records and the price path, so they
always agree with the orders, positions and klines served at the same moment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from .market import DAY_MS, HOUR_MS, Instrument, PriceModel, exact, num, text_id, unit
from .records import Order, Position
from .render import trade_value

# Leverage assumed for the margin that resting contract orders reserve.
ORDER_LEVERAGE = 10
FUNDING_INTERVAL_MS = 8 * HOUR_MS


def _add(totals: dict[str, float], coin: str, amount: float) -> None:
    totals[coin] = totals.get(coin, 0.0) + amount


def wallet_entry(
    balances: dict[str, float],
    open_orders: Iterable[Order],
    positions: Iterable[tuple[Position, dict[str, Any]]],
    usd_price: Callable[[str], float],
    coins: set[str] | None,
    exact_balances: Mapping[str, Decimal] | None = None,
) -> dict[str, Any]:
    """The UNIFIED entry of /v5/account/wallet-balance.

    Spot orders lock what they would spend; contract orders and positions reserve
    initial margin in their settle coin. Coins with a zero balance are left out
    unless asked for by name, as on Bybit.
    """
    locked: dict[str, float] = {}
    order_im: dict[str, float] = {}
    for order in open_orders:
        inst = order.instrument
        leaves = inst.qty_of(order.qty_lots - order.filled_lots)
        price = inst.price_of(order.price_ticks)
        if inst.category == "spot":
            if order.side == "Buy":
                _add(locked, inst.quote, leaves * price)
            else:
                _add(locked, inst.base, leaves)
        else:
            _add(order_im, inst.settle, trade_value(inst, leaves, price) / ORDER_LEVERAGE)
    pos_im: dict[str, float] = {}
    pos_mm: dict[str, float] = {}
    upl: dict[str, float] = {}
    for position, row in positions:
        settle = position.instrument.settle
        _add(pos_im, settle, float(row["positionIM"]))
        _add(pos_mm, settle, float(row["positionMM"]))
        _add(upl, settle, float(row["unrealisedPnl"]))

    rows = []
    totals = dict.fromkeys(("equity", "wallet", "upl", "im", "mm"), 0.0)
    for coin in list(balances) if coins is None else sorted(coins):
        wallet = balances.get(coin, 0.0)
        coin_upl = upl.get(coin, 0.0)
        if coins is None and wallet == 0 and not coin_upl:
            continue
        usd = usd_price(coin)
        equity = wallet + coin_upl
        given = (exact_balances or {}).get(coin)
        wallet_text = format(given, "f") if given is not None and float(given) == wallet else None
        totals["equity"] += equity * usd
        totals["wallet"] += wallet * usd
        totals["upl"] += coin_upl * usd
        totals["im"] += (pos_im.get(coin, 0.0) + order_im.get(coin, 0.0)) * usd
        totals["mm"] += pos_mm.get(coin, 0.0) * usd
        rows.append(
            {
                "availableToBorrow": "",
                "bonus": "0",
                "accruedInterest": "0",
                # Deprecated for unified accounts and served empty; ccxt then derives
                # "used" from locked + totalPositionIM + totalOrderIM.
                "availableToWithdraw": "",
                "totalOrderIM": num(order_im.get(coin, 0.0)),
                "equity": exact(equity) if coin_upl or wallet_text is None else wallet_text,
                "totalPositionMM": num(pos_mm.get(coin, 0.0)),
                "usdValue": num(equity * usd, 6),
                "unrealisedPnl": num(coin_upl),
                "collateralSwitch": True,
                "spotHedgingQty": "0",
                "borrowAmount": "0",
                "totalPositionIM": num(pos_im.get(coin, 0.0)),
                "walletBalance": wallet_text or exact(wallet),
                "cumRealisedPnl": "0",
                "locked": num(min(wallet, locked.get(coin, 0.0))),
                "marginCollateral": True,
                "spotBorrow": "0",
                "coin": coin,
            }
        )
    margin = totals["wallet"] + totals["upl"]
    return {
        "accountType": "UNIFIED",
        "accountIMRate": num(totals["im"] / margin, 4) if margin else "0",
        "accountMMRate": num(totals["mm"] / margin, 4) if margin else "0",
        "accountLTV": "0",
        "totalEquity": num(totals["equity"], 4),
        "totalWalletBalance": num(totals["wallet"], 4),
        "totalMarginBalance": num(margin, 4),
        "totalAvailableBalance": num(margin - totals["im"], 4),
        "totalPerpUPL": num(totals["upl"], 4),
        "totalInitialMargin": num(totals["im"], 4),
        "totalMaintenanceMargin": num(totals["mm"], 4),
        "coin": rows,
    }


def ticker_row(
    seed: int, prices: PriceModel, inst: Instrument, now: int, mark: float
) -> dict[str, Any]:
    """One /v5/market/tickers row: last, 24h open/high/low from the price path,
    volumes and open interest from hash noise that changes hourly."""
    price = prices.pair_price
    last = inst.to_ticks(price(inst, now))
    prev = inst.to_ticks(price(inst, now - DAY_MS))
    samples = [inst.to_ticks(price(inst, now - k * 30 * 60_000)) for k in range(49)]
    key = (seed, text_id(inst.symbol), now // HOUR_MS)
    mid = inst.price_of(last)
    turnover_usd = 20_000 * 1440 * (0.5 + unit(*key, 1))
    if inst.category == "inverse":
        volume, turnover = num(round(turnover_usd), 0), num(turnover_usd / mid)
    else:
        volume = inst.qty_str(max(1, round(turnover_usd / mid * 10**inst.qty_decimals)))
        turnover = num(float(volume) * mid, 4)
    size_lots = round((1 + 9 * unit(*key, 2)) * 10 ** max(0, inst.qty_decimals - 2))
    size = inst.qty_str(max(1, size_lots))
    row: dict[str, Any] = {
        "symbol": inst.symbol,
        "bid1Price": inst.price_str(last - 1),
        "bid1Size": size,
        "ask1Price": inst.price_str(last + 1),
        "ask1Size": size,
        "lastPrice": inst.price_str(last),
        "prevPrice24h": inst.price_str(prev),
        "price24hPcnt": num(last / prev - 1, 4),
        "highPrice24h": inst.price_str(max(samples)),
        "lowPrice24h": inst.price_str(min(samples)),
        "turnover24h": turnover,
        "volume24h": volume,
    }
    if inst.category == "spot":
        row["usdIndexPrice"] = num(prices.price(inst.base, now), 6)
        return row
    open_interest = turnover_usd * (0.3 + unit(*key, 3))
    if inst.category == "inverse":
        contracts = num(round(open_interest), 0)
    else:
        contracts = num(open_interest / mid, 3)
    row.update(
        {
            "indexPrice": inst.price_str(last),
            "markPrice": inst.price_str(inst.to_ticks(mark)),
            "prevPrice1h": inst.price_str(inst.to_ticks(price(inst, now - HOUR_MS))),
            "openInterest": contracts,
            # ccxt tells contract tickers from spot ones by the presence of openInterestValue.
            "openInterestValue": num(open_interest, 2),
            "fundingRate": num(0.0001 * (0.5 + unit(*key, 4)), 8),
            "nextFundingTime": str((now // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS),
            "predictedDeliveryPrice": "",
            "basisRate": "",
            "deliveryFeeRate": "",
            "deliveryTime": "0",
            "basis": "",
            "preOpenPrice": "",
            "preQty": "",
            "curPreListingPhase": "",
            "fundingIntervalHour": "8",
            "fundingCap": "0.005",
        }
    )
    return row
