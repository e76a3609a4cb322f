"""Binance REST endpoints (spot ``/api/v3``, USD-M futures ``/fapi``, and the few
``/sapi`` / ``/dapi`` ones ccxt's ``load_markets`` touches): parameter rules, time
windows, request weights and result shapes.

Each handler takes the state and the request's parameters and returns the JSON
body, or raises :class:`BinanceError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..market import DAY_MS, HOUR_MS, Instrument
from . import render
from .state import BinanceState

SPOT_WINDOW_MS = 24 * HOUR_MS
FUTURES_WINDOW_MS = 7 * DAY_MS

# HTTP status Binance pairs with an error code; everything else is a 400.
_STATUS_OF_CODE = {
    -1000: 500,
    -1001: 503,
    -1003: 429,
    -1006: 503,
    -1007: 503,
    -1008: 503,
    -1015: 429,
    -1002: 401,
    -2014: 401,
    -2015: 401,
}


def status_for(code: int) -> int:
    """The HTTP status Binance answers an error ``code`` with."""
    return _STATUS_OF_CODE.get(code, 400)


class BinanceError(Exception):
    """A Binance error answer: ``{"code": -XXXX, "msg": "..."}`` with an HTTP 4xx/5xx."""

    def __init__(
        self,
        code: int,
        msg: str,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status if status is not None else status_for(code)
        self.headers = headers or {}


def mandatory(name: str) -> BinanceError:
    """-1102, Binance's "missing or malformed parameter" (ccxt: BadRequest)."""
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def bad_symbol() -> BinanceError:
    """-1121 for a symbol the market does not list (ccxt: BadSymbol)."""
    return BinanceError(-1121, "Invalid symbol.")


def bad_combination() -> BinanceError:
    """-1128 for optional parameters that cannot go together (ccxt: BadRequest)."""
    return BinanceError(-1128, "Combination of optional parameters invalid.")


class Params:
    """Query parameters of one request (first value per name)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._values: dict[str, str] = {}
        for name, value in pairs:
            self._values.setdefault(name, value)

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def get(self, name: str) -> str | None:
        """The parameter's text, or None when missing; -1105 when sent empty."""
        value = self._values.get(name)
        if value == "":
            raise BinanceError(-1105, f"Parameter '{name}' was empty.")
        return value

    def require(self, name: str) -> str:
        """A mandatory parameter's text; -1102 when missing."""
        value = self.get(name)
        if value is None:
            raise mandatory(name)
        return value

    def integer(self, name: str) -> int | None:
        """The parameter as an int, or None when missing; -1100 when not a number."""
        value = self.get(name)
        if value is None:
            return None
        if not value.lstrip("-").isdigit():
            raise BinanceError(
                -1100,
                f"Illegal characters found in parameter '{name}'; "
                "legal range is '^[0-9]{1,20}$'.",
            )
        return int(value)

    def limit(self, default: int, maximum: int) -> int:
        """Page size with the endpoint's default and [1, maximum] range (-1130 outside)."""
        value = self.integer("limit")
        if value is None:
            return default
        if not 1 <= value <= maximum:
            raise BinanceError(-1130, "Data sent for parameter 'limit' is not valid.")
        return value


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

Weight = int | Callable[[Params], int]


@dataclass(frozen=True)
class Route:
    """One GET endpoint: handler, whether it is signed, its rate-limit pool and weight."""

    handler: Callable[[BinanceState, Params], Any]
    signed: bool
    pool: str
    weight: Weight = 1

    def weight_of(self, params: Params) -> int:
        """Request weight of this call (some endpoints weigh by their parameters)."""
        if callable(self.weight):
            try:
                return self.weight(params)
            except BinanceError:
                return 1
        return self.weight


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
}

# Per-minute request-weight limit and the header reporting its use, per pool.
POOLS: dict[str, tuple[int, str]] = {
    "api": (6000, "X-MBX-USED-WEIGHT-1M"),
    "fapi": (2400, "X-MBX-USED-WEIGHT-1M"),
    "dapi": (2400, "X-MBX-USED-WEIGHT-1M"),
    "sapi": (12000, "X-SAPI-USED-IP-WEIGHT-1M"),
}
