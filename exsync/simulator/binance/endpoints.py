"""Binance REST endpoints (spot ``/api/v3``, USD-M futures ``/fapi``, and the few
``/sapi`` / ``/dapi`` ones ccxt's ``load_markets`` touches): parameter rules, time
windows, request weights and result shapes.

Each handler takes the state and the request's parameters and returns the JSON
body, or raises :class:`BinanceError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..market import DAY_MS, HOUR_MS, Instrument
from . import render
from .funds_endpoints import FUNDS_ROUTES
from .state import BinanceState
from .wire import (
    BinanceError,
    Params,
    Route,
    bad_combination,
    bad_symbol,
    mandatory,
    status_for,
)

__all__ = ["POOLS", "ROUTES", "BinanceError", "Params", "Route", "mandatory", "status_for"]

SPOT_WINDOW_MS = 24 * HOUR_MS
FUTURES_WINDOW_MS = 7 * DAY_MS


def _instrument(state: BinanceState, category: str, symbol: str) -> Instrument:
    inst = state.instrument(category, symbol)
    if inst is None:
        raise bad_symbol()
    return inst


def _optional_instrument(state: BinanceState, category: str, params: Params) -> Instrument | None:
    symbol = params.get("symbol")
    return None if symbol is None else _instrument(state, category, symbol)


def _window(
    params: Params, span: int, default_span: bool, now: int, spot: bool
) -> tuple[int | None, int | None, bool]:
    """(start, end, newest) of a startTime/endTime query with a maximum ``span``.

    With only startTime Binance answers the oldest rows from there, with only endTime
    (or neither) the newest ones. ``default_span`` (futures) closes an open side at
    ``span`` from the other one, and a query without either at the last ``span``.
    """
    start = params.integer("startTime")
    end = params.integer("endTime")
    if start is not None and end is not None:
        if end < start:
            if spot:
                raise mandatory("endTime")
            raise BinanceError(-1023, "Start time is greater than end time.")
        if end - start > span:
            if spot:
                raise BinanceError(
                    -1127, f"More than {span // HOUR_MS} hours between startTime and endTime."
                )
            raise BinanceError(-1127, "Lookup interval is too big.")
        return start, end, False
    if not default_span:
        return start, end, start is None
    if start is not None:
        return start, start + span, False
    if end is not None:
        return end - span, end, True
    return now - span, now, True


# --------------------------------------------------------------------------- public


def ping(state: BinanceState, params: Params) -> Any:
    """/ping: an empty object."""
    return {}


def server_time(state: BinanceState, params: Params) -> Any:
    """/time: the server's wall clock (what a client signs with)."""
    return {"serverTime": state.server_ms()}


_SPOT_RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]
_FUTURES_RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
    {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
]


def _symbols_param(state: BinanceState, category: str, params: Params) -> list[Instrument] | None:
    """``symbol`` or ``symbols`` (a JSON array) as markets; None when neither is given."""
    symbol = params.get("symbol")
    raw = params.get("symbols")
    if symbol is not None and raw is not None:
        raise bad_combination()
    if symbol is not None:
        return [_instrument(state, category, symbol)]
    if raw is None:
        return None
    try:
        names = json.loads(raw)
    except ValueError:
        raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'.") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise BinanceError(-1100, "Illegal characters found in parameter 'symbols'.")
    return [_instrument(state, category, name) for name in names]


def spot_exchange_info(state: BinanceState, params: Params) -> Any:
    """/api/v3/exchangeInfo, all markets or the ones named by symbol / symbols."""
    insts = _symbols_param(state, "spot", params)
    return {
        "timezone": "UTC",
        "serverTime": state.server_ms(),
        "rateLimits": _SPOT_RATE_LIMITS,
        "exchangeFilters": [],
        "symbols": [
            render.spot_symbol_info(i)
            for i in (state.instruments["spot"] if insts is None else insts)
        ],
    }


def futures_exchange_info(state: BinanceState, params: Params) -> Any:
    """/fapi/v1/exchangeInfo: every USD-M perpetual."""
    settles = sorted({i.settle for i in state.instruments["linear"]} | {"USDT"})
    return {
        "timezone": "UTC",
        "serverTime": state.server_ms(),
        "futuresType": "U_MARGINED",
        "rateLimits": _FUTURES_RATE_LIMITS,
        "exchangeFilters": [],
        "assets": [
            {"asset": a, "marginAvailable": True, "autoAssetExchange": "-10000"} for a in settles
        ],
        "symbols": [render.futures_symbol_info(i) for i in state.instruments["linear"]],
    }


def coinm_exchange_info(state: BinanceState, params: Params) -> Any:
    """/dapi/v1/exchangeInfo: COIN-M is not simulated, so it lists no market."""
    return {
        "timezone": "UTC",
        "serverTime": state.server_ms(),
        "rateLimits": _FUTURES_RATE_LIMITS,
        "exchangeFilters": [],
        "symbols": [],
    }


def _mini(row: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "symbol openPrice highPrice lowPrice lastPrice volume quoteVolume "
        "openTime closeTime firstId lastId count"
    )
    return {k: row[k] for k in keep.split()}


def spot_ticker(state: BinanceState, params: Params) -> Any:
    """/api/v3/ticker/24hr: one object for ``symbol``, else an array (type FULL or MINI)."""
    kind = params.get("type") or "FULL"
    if kind not in ("FULL", "MINI"):
        raise BinanceError(-1130, "Data sent for parameter 'type' is not valid.")
    insts = _symbols_param(state, "spot", params)
    rows = state.tickers("spot", insts)
    if kind == "MINI":
        rows = [_mini(r) for r in rows]
    return rows[0] if params.get("symbol") is not None else rows


def futures_ticker(state: BinanceState, params: Params) -> Any:
    """/fapi/v1/ticker/24hr: one object for ``symbol``, else an array."""
    inst = _optional_instrument(state, "linear", params)
    rows = state.tickers("linear", None if inst is None else [inst])
    return rows[0] if inst is not None else rows


def _klines(category: str, intervals: dict[str, str], maximum: int) -> Callable[..., Any]:
    def handler(state: BinanceState, params: Params) -> Any:
        inst = _instrument(state, category, params.require("symbol"))
        interval = params.require("interval")
        key = intervals.get(interval)
        if key is None:
            raise BinanceError(-1120, "Invalid interval.")
        start = params.integer("startTime")
        end = params.integer("endTime")
        if start is not None and end is not None and start > end:
            raise BinanceError(-1023, "Start time is greater than end time.")
        limit = params.limit(500, maximum)
        return state.klines(inst, key, start, end, limit)

    handler.__doc__ = f"/{'api/v3' if category == 'spot' else 'fapi/v1'}/klines, oldest first."
    return handler


# --------------------------------------------------------------------------- spot private


def spot_account(state: BinanceState, params: Params) -> Any:
    """/api/v3/account: balances of every asset (zeros too unless omitZeroBalances=true)."""
    return state.spot_account(omit_zero=params.get("omitZeroBalances") == "true")


def spot_open_orders(state: BinanceState, params: Params) -> Any:
    """/api/v3/openOrders: one symbol, or every symbol when none is given (weight 80)."""
    return state.query_open_orders("spot", _optional_instrument(state, "spot", params))


def spot_all_orders(state: BinanceState, params: Params) -> Any:
    """/api/v3/allOrders: one symbol; orderId cursor or a window of at most 24 hours."""
    inst = _instrument(state, "spot", params.require("symbol"))
    order_id = params.integer("orderId")
    limit = params.limit(500, 1000)
    start, end, newest = _window(params, SPOT_WINDOW_MS, False, state.now_ms(), spot=True)
    if order_id is not None and start is None and end is None:
        newest = False
    return state.query_orders(
        "spot", inst, from_order_id=order_id, start=start, end=end, limit=limit, newest=newest
    )


# Combinations myTrades accepts besides symbol (Binance's documented list).
_MY_TRADES_COMBOS = {
    frozenset(),
    frozenset({"orderId"}),
    frozenset({"startTime"}),
    frozenset({"endTime"}),
    frozenset({"fromId"}),
    frozenset({"startTime", "endTime"}),
    frozenset({"orderId", "fromId"}),
}


def spot_my_trades(state: BinanceState, params: Params) -> Any:
    """/api/v3/myTrades: one symbol; fromId cursor, orderId, or a window of at most 24 h."""
    inst = _instrument(state, "spot", params.require("symbol"))
    sent = frozenset(n for n in ("orderId", "startTime", "endTime", "fromId") if n in params)
    if sent not in _MY_TRADES_COMBOS:
        raise bad_combination()
    limit = params.limit(500, 1000)
    start, end, newest = _window(params, SPOT_WINDOW_MS, False, state.now_ms(), spot=True)
    from_id = params.integer("fromId")
    order_id = params.integer("orderId")
    if from_id is not None or (order_id is not None and start is None and end is None):
        newest = False
    return state.query_trades(
        inst,
        from_id=from_id,
        order_id=order_id,
        start=start,
        end=end,
        limit=limit,
        newest=newest,
    )


# --------------------------------------------------------------------------- futures private


def futures_account_v2(state: BinanceState, params: Params) -> Any:
    """/fapi/v2/account."""
    return state.futures_account(2)


def futures_account_v3(state: BinanceState, params: Params) -> Any:
    """/fapi/v3/account (what ccxt's fetch_balance uses for type future/swap)."""
    return state.futures_account(3)


def futures_balance(state: BinanceState, params: Params) -> Any:
    """/fapi/v2/balance and /fapi/v3/balance."""
    return state.futures_balance_rows()


def _position_risk(version: int) -> Callable[..., Any]:
    def handler(state: BinanceState, params: Params) -> Any:
        inst = _optional_instrument(state, "linear", params)
        return state.position_risk(None if inst is None else inst.symbol, version)

    handler.__doc__ = f"/fapi/v{version}/positionRisk."
    return handler


def symbol_config(state: BinanceState, params: Params) -> Any:
    """/fapi/v1/symbolConfig: leverage and margin type, one symbol or all."""
    inst = _optional_instrument(state, "linear", params)
    return state.symbol_configs(None if inst is None else inst.symbol)


def leverage_bracket(state: BinanceState, params: Params) -> Any:
    """/fapi/v1/leverageBracket: notional brackets (ccxt loads them before positions)."""
    inst = _optional_instrument(state, "linear", params)
    rows = state.leverage_brackets(None if inst is None else inst.symbol)
    return rows[0] if inst is not None else rows


def futures_open_orders(state: BinanceState, params: Params) -> Any:
    """/fapi/v1/openOrders: one symbol, or every symbol when none is given (weight 40)."""
    return state.query_open_orders("linear", _optional_instrument(state, "linear", params))


def _query_order(category: str) -> Callable[[BinanceState, Params], Any]:
    """GET /api/v3/order, /fapi/v1/order: one order of one symbol by orderId."""

    def query_order(state: BinanceState, params: Params) -> Any:
        inst = _instrument(state, category, params.require("symbol"))
        order_id = params.integer("orderId")
        if order_id is None:
            raise BinanceError(-1102, "Mandatory parameter 'orderId' was not sent.")
        found = state.query_orders(
            category, inst, from_order_id=order_id, start=None, end=None, limit=1, newest=False
        )
        if not found or str(found[0]["orderId"]) != str(order_id):
            raise BinanceError(-2013, "Order does not exist.")
        return found[0]

    return query_order


def futures_all_orders(state: BinanceState, params: Params) -> Any:
    """/fapi/v1/allOrders: orderId cursor or a window of at most 7 days (the last 7 days
    by default). The symbol became optional on 2026-08-25."""
    inst = _optional_instrument(state, "linear", params)
    order_id = params.integer("orderId")
    limit = params.limit(500, 1000)
    if order_id is not None and "startTime" not in params and "endTime" not in params:
        start, end, newest = None, None, False
    else:
        start, end, newest = _window(params, FUTURES_WINDOW_MS, True, state.now_ms(), spot=False)
    return state.query_orders(
        "linear", inst, from_order_id=order_id, start=start, end=end, limit=limit, newest=newest
    )


def futures_user_trades(state: BinanceState, params: Params) -> Any:
    """/fapi/v1/userTrades: one symbol; fromId (not with a window), orderId, or a window
    of at most 7 days (the last 7 days by default)."""
    inst = _instrument(state, "linear", params.require("symbol"))
    from_id = params.integer("fromId")
    order_id = params.integer("orderId")
    limit = params.limit(500, 1000)
    has_window = "startTime" in params or "endTime" in params
    if from_id is not None and has_window:
        raise bad_combination()
    if from_id is not None or (order_id is not None and not has_window):
        start, end, newest = None, None, False
    else:
        start, end, newest = _window(params, FUTURES_WINDOW_MS, True, state.now_ms(), spot=False)
    return state.query_trades(
        inst,
        from_id=from_id,
        order_id=order_id,
        start=start,
        end=end,
        limit=limit,
        newest=newest,
    )


# --------------------------------------------------------------------------- sapi


def capital_config(state: BinanceState, params: Params) -> Any:
    """/sapi/v1/capital/config/getall: every coin with one network (ccxt's currencies)."""
    balances = state.balances
    return [render.coin_config(coin, balances.get(coin, 0.0)) for coin in state.coins()]


def api_restrictions(state: BinanceState, params: Params) -> Any:
    """/sapi/v1/account/apiRestrictions: the key in use, as ``state.key_info`` describes it."""
    key = state.key_info
    answer: dict[str, Any] = {
        "ipRestrict": bool(key.ips),
        "createTime": state.anchor_ms - 200 * DAY_MS,
        "enableReading": True,
        "enableWithdrawals": key.withdraw,
        "enableInternalTransfer": False,
        "enableMargin": False,
        "enableFutures": not key.read_only,
        "permitsUniversalTransfer": False,
        "enableVanillaOptions": False,
        "enableFixApiTrade": False,
        "enableFixReadOnly": False,
        "enableSpotAndMarginTrading": not key.read_only,
        "enablePortfolioMarginTrading": False,
    }
    if key.expires_at_ms is not None:
        # Spot trading on a key without an IP restriction lapses at this time.
        answer["tradingAuthorityExpirationTime"] = key.expires_at_ms
    return answer


def margin_pairs(isolated: bool) -> Callable[..., Any]:
    def handler(state: BinanceState, params: Params) -> Any:
        rows = []
        for i, inst in enumerate(state.instruments["spot"]):
            row: dict[str, Any] = {
                "symbol": inst.symbol,
                "base": inst.base,
                "quote": inst.quote,
                "isMarginTrade": True,
                "isBuyAllowed": True,
                "isSellAllowed": True,
            }
            if not isolated:
                row = {"id": str(351637150141315861 + i), **row}
            rows.append(row)
        return rows

    handler.__doc__ = f"/sapi/v1/margin/{'isolated/' if isolated else ''}allPairs."
    return handler


# --------------------------------------------------------------------------- routing


def _spot_ticker_weight(params: Params) -> int:
    if params.get("symbol") is not None:
        return 2
    raw = params.get("symbols")
    if raw is None:
        return 80
    try:
        count = len(json.loads(raw))
    except (ValueError, TypeError):
        return 2
    return 2 if count <= 20 else 40 if count <= 100 else 80


def _futures_kline_weight(params: Params) -> int:
    limit = params.integer("limit") or 500
    return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10


def _with_symbol(cheap: int, costly: int) -> Callable[[Params], int]:
    return lambda params: cheap if params.get("symbol") is not None else costly


ROUTES: dict[str, Route] = {
    # spot
    "/api/v3/ping": Route(ping, False, "api"),
    "/api/v3/time": Route(server_time, False, "api"),
    "/api/v3/exchangeInfo": Route(spot_exchange_info, False, "api", 20),
    "/api/v3/ticker/24hr": Route(spot_ticker, False, "api", _spot_ticker_weight),
    "/api/v3/klines": Route(_klines("spot", render.SPOT_INTERVALS, 1000), False, "api", 2),
    "/api/v3/account": Route(spot_account, True, "api", 20),
    "/api/v3/openOrders": Route(spot_open_orders, True, "api", _with_symbol(6, 80)),
    "/api/v3/allOrders": Route(spot_all_orders, True, "api", 20),
    "/api/v3/order": Route(_query_order("spot"), True, "api", 4),
    "/fapi/v1/order": Route(_query_order("linear"), True, "fapi", 1),
    "/api/v3/myTrades": Route(
        spot_my_trades, True, "api", lambda p: 5 if p.get("orderId") is not None else 20
    ),
    # USD-M futures
    "/fapi/v1/ping": Route(ping, False, "fapi"),
    "/fapi/v1/time": Route(server_time, False, "fapi"),
    "/fapi/v1/exchangeInfo": Route(futures_exchange_info, False, "fapi"),
    "/fapi/v1/ticker/24hr": Route(futures_ticker, False, "fapi", _with_symbol(1, 40)),
    "/fapi/v1/klines": Route(
        _klines("linear", render.FUTURES_INTERVALS, 1500), False, "fapi", _futures_kline_weight
    ),
    "/fapi/v1/leverageBracket": Route(leverage_bracket, True, "fapi"),
    "/fapi/v1/symbolConfig": Route(symbol_config, True, "fapi", 5),
    "/fapi/v2/account": Route(futures_account_v2, True, "fapi", 5),
    "/fapi/v3/account": Route(futures_account_v3, True, "fapi", 5),
    "/fapi/v2/balance": Route(futures_balance, True, "fapi", 5),
    "/fapi/v3/balance": Route(futures_balance, True, "fapi", 5),
    "/fapi/v2/positionRisk": Route(_position_risk(2), True, "fapi", 5),
    "/fapi/v3/positionRisk": Route(_position_risk(3), True, "fapi", 5),
    "/fapi/v1/openOrders": Route(futures_open_orders, True, "fapi", _with_symbol(1, 40)),
    "/fapi/v1/allOrders": Route(futures_all_orders, True, "fapi", 5),
    "/fapi/v1/userTrades": Route(futures_user_trades, True, "fapi", 5),
    # COIN-M: only what load_markets asks for with ccxt's default market types
    "/dapi/v1/ping": Route(ping, False, "dapi"),
    "/dapi/v1/time": Route(server_time, False, "dapi"),
    "/dapi/v1/exchangeInfo": Route(coinm_exchange_info, False, "dapi"),
    # wallet / margin: what load_markets asks for with an API key and default options
    "/sapi/v1/capital/config/getall": Route(capital_config, True, "sapi", 10),
    "/sapi/v1/account/apiRestrictions": Route(api_restrictions, True, "sapi", 1),
    "/sapi/v1/margin/allPairs": Route(margin_pairs(isolated=False), True, "sapi"),
    "/sapi/v1/margin/isolated/allPairs": Route(margin_pairs(isolated=True), True, "sapi", 10),
    # the money side: deposits, withdrawals, transfers, income, converts, Funding, Earn
    **FUNDS_ROUTES,
}

# Request-weight limit, the header reporting its use and the interval it counts over (s),
# per pool. /sapi counts each endpoint by IP or by account (UID) as its page says; the
# withdrawal history has a per-second budget of its own.
POOLS: dict[str, tuple[int, str, int]] = {
    "api": (6000, "X-MBX-USED-WEIGHT-1M", 60),
    "fapi": (2400, "X-MBX-USED-WEIGHT-1M", 60),
    "dapi": (2400, "X-MBX-USED-WEIGHT-1M", 60),
    "sapi": (12000, "X-SAPI-USED-IP-WEIGHT-1M", 60),
    "sapi_uid": (180000, "X-SAPI-USED-UID-WEIGHT-1M", 60),
    "sapi_1s": (180000, "X-SAPI-USED-IP-WEIGHT-1S", 1),
}
