"""Bybit v5 REST endpoints: parameter rules, time windows, cursors and result shapes.

Each handler takes the state and the request's parameters and returns the
``result`` object of Bybit's envelope, or raises :class:`ApiError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from .market import DAY_MS, INTERVALS, Instrument
from .records import EXEC_TYPES, Order
from .state import ExchangeState, Key

SEVEN_DAYS_MS = 7 * DAY_MS
HISTORY_MS = 730 * DAY_MS


class ApiError(Exception):
    """A Bybit error answer: HTTP 200 with a non-zero retCode (unless ``http_status`` says);
    ``ret_code`` None: an empty answer with ``http_status`` from Bybit's gateway."""

    def __init__(self, ret_code: int | None, ret_msg: str, http_status: int = 200) -> None:
        super().__init__(f"{ret_code}: {ret_msg}")
        self.ret_code = ret_code
        self.ret_msg = ret_msg
        self.http_status = http_status


def bad_request(message: str) -> ApiError:
    """retCode 10001, Bybit's generic parameter error (ccxt: BadRequest)."""
    return ApiError(10001, message)


class Params:
    """Query parameters of one request (first value per name; empty counts as absent)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._values: dict[str, str] = {}
        for name, value in pairs:
            self._values.setdefault(name, value)

    def get(self, name: str) -> str | None:
        """The parameter's text, or None when missing or empty."""
        value = self._values.get(name)
        return value if value else None

    def integer(self, name: str) -> int | None:
        """The parameter as an int, or None when missing; 10001 when not a number."""
        value = self.get(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            raise bad_request(f"params error: {name} invalid") from None

    def limit(self, default: int, maximum: int) -> int:
        """Page size with Bybit's per-endpoint default and [1, maximum] range."""
        value = self.integer("limit")
        if value is None:
            return default
        if not 1 <= value <= maximum:
            raise bad_request(f"params error: limit must be between 1 and {maximum}")
        return value

    def category(self, allowed: tuple[str, ...]) -> str:
        """The mandatory ``category`` parameter, checked against ``allowed``."""
        value = self.get("category")
        if value is None:
            raise bad_request("params error: category is required")
        if value not in allowed:
            raise bad_request(f"Illegal category: {value}")
        return value


# --------------------------------------------------------------------------- cursors


def encode_cursor(kind: str, key: Key) -> str:
    """An opaque, Bybit-looking cursor: percent-encoded ``page_args=...&kind=...``.

    The escapes are part of the value, as in Bybit's own cursors, so a client has
    to pass it back without decoding it (ccxt does).
    """
    return quote(f"page_args={key[0]}:{key[1]}&kind={kind}", safe="")


def decode_cursor(kind: str, raw: str | None) -> Key | None:
    """Key of the last row served, from a cursor as sent back (escaped or not)."""
    if raw is None:
        return None
    text = raw
    # The query parser already removed one level of escapes; tolerate both forms.
    for _ in range(3):
        if "%" not in text:
            break
        text = unquote(text)
    fields = dict(parse_qsl(text))
    first, _, second = fields.get("page_args", "").partition(":")
    if fields.get("kind") != kind or not first.lstrip("-").isdigit() or not second.isdigit():
        raise bad_request("params error: cursor invalid")
    return int(first), int(second)


def _cursor_text(kind: str, key: Key | None) -> str:
    return encode_cursor(kind, key) if key is not None else ""


def seven_day_window(params: Params, now: int) -> tuple[int, int]:
    """Bybit's rule for startTime/endTime on execution/list and order/history.

    Neither: the last 7 days; only start: [start, start + 7d]; only end:
    [end - 7d, end]; both: the span may not exceed 7 days.
    """
    start = params.integer("startTime")
    end = params.integer("endTime")
    if start is None and end is None:
        return now - SEVEN_DAYS_MS, now
    if end is None:
        assert start is not None
        return start, start + SEVEN_DAYS_MS
    if start is None:
        return end - SEVEN_DAYS_MS, end
    if end < start:
        raise bad_request("params error: startTime must be less than endTime")
    if end - start > SEVEN_DAYS_MS:
        raise bad_request("The time range between startTime and endTime must be less than 7 days")
    return start, end


def within_history(window: tuple[int, int], now: int) -> tuple[int, int]:
    """Bybit keeps two years of executions and orders: a window reaching further back is
    refused, as the real exchange does."""
    if window[0] < now - HISTORY_MS:
        raise bad_request(
            "Can't query order earlier than 2 years, please check your params: "
            "startTime or endTime!"
        )
    return window


# Bybit's documented priority when several are given: orderId > orderLinkId > symbol > baseCoin.
_ORDER_FIELDS: tuple[tuple[str, Callable[[Order], str]], ...] = (
    ("orderId", lambda o: o.order_id),
    ("orderLinkId", lambda o: o.link_id),
    ("symbol", lambda o: o.instrument.symbol),
    ("baseCoin", lambda o: o.instrument.base),
    ("settleCoin", lambda o: o.instrument.settle),
)


def _order_matcher(params: Params) -> Callable[[Order], bool]:
    wanted, field_of = None, None
    for name, getter in _ORDER_FIELDS:
        value = params.get(name)
        if value is not None:
            wanted, field_of = value, getter
            break
    status = params.get("orderStatus")

    def match(order: Order) -> bool:
        if status is not None and order.status != status:
            return False
        return field_of is None or field_of(order) == wanted

    return match


def _never(order: Order) -> bool:
    """Matcher for queries that cannot match here (conditional orders, funding rows...)."""
    return False


def _require_linear_filter(params: Params, category: str, names: tuple[str, ...]) -> None:
    if category == "linear" and not any(params.get(n) for n in names):
        raise bad_request(f"Missing some parameters that must be filled in, {' or '.join(names)}")


# --------------------------------------------------------------------------- public


def market_time(state: ExchangeState, params: Params) -> dict[str, Any]:
    """Server wall-clock time (what a client should sign with)."""
    ns = time.time_ns() + int(state.clock_offset * 1e9)
    return {"timeSecond": str(ns // 1_000_000_000), "timeNano": str(ns)}


def instruments_info(state: ExchangeState, params: Params) -> dict[str, Any]:
    """/v5/market/instruments-info; spot is unpaginated, option and PreLaunch are empty here."""
    category = params.category(("spot", "linear", "inverse", "option"))
    limit = params.limit(500, 1000)
    status = params.get("status")
    symbol = params.get("symbol")
    base = params.get("baseCoin")
    insts: list[Instrument] = list(state.instruments.get(category, []))
    if status is not None and status != "Trading":
        insts = []
    if symbol:
        insts = [i for i in insts if i.symbol == symbol]
    if base and category != "spot":
        insts = [i for i in insts if i.base == base]
    next_cursor = ""
    if category != "spot":
        after = decode_cursor("instruments", params.get("cursor"))
        offset = after[0] if after else 0
        page = insts[offset : offset + limit]
        if offset + limit < len(insts):
            next_cursor = encode_cursor("instruments", (offset + limit, 0))
        insts = page
    return {
        "category": category,
        "list": [i.info() for i in insts],
        "nextPageCursor": next_cursor,
    }


def tickers(state: ExchangeState, params: Params) -> dict[str, Any]:
    """/v5/market/tickers for a whole category or one symbol."""
    category = params.category(("spot", "linear", "inverse", "option"))
    symbol = params.get("symbol")
    if category == "option":
        return {"category": category, "list": []}
    if symbol is not None and state.instrument(category, symbol) is None:
        raise bad_request("Not supported symbols")
    return {"category": category, "list": state.tickers(category, symbol)}


def kline(state: ExchangeState, params: Params) -> dict[str, Any]:
    """/v5/market/kline: rows newest first, arrays of strings."""
    category = params.get("category") or "linear"
    if category not in ("spot", "linear", "inverse"):
        raise bad_request(f"Illegal category: {category}")
    symbol = params.get("symbol")
    if symbol is None:
        raise bad_request("params error: symbol is required")
    interval = params.get("interval")
    if interval not in INTERVALS:
        raise bad_request("Invalid period!")
    limit = params.limit(200, 1000)
    inst = state.instrument(category, symbol)
    if inst is None:
        raise bad_request("Not supported symbols")
    rows = state.klines(inst, interval, params.integer("start"), params.integer("end"), limit)
    return {"category": category, "symbol": symbol, "list": rows}


# --------------------------------------------------------------------------- private


def wallet_balance(state: ExchangeState, params: Params) -> dict[str, Any]:
    """/v5/account/wallet-balance (unified trading account only)."""
    account_type = params.get("accountType")
    if account_type is None:
        raise bad_request("params error: accountType is required")
    if not state.unified and account_type == "UNIFIED":
        # A classic account has no unified wallet: Bybit answers an empty 404.
        raise ApiError(None, "", http_status=404)
    if account_type != "UNIFIED":
        raise bad_request("accountType only support UNIFIED.")
    coin = params.get("coin")
    coins = set(coin.split(",")) if coin else None
    return {"list": [state.wallet_balance(coins)]}


def coin_info(state: ExchangeState, params: Params) -> dict[str, Any]:
    """/v5/asset/coin/query-info: one chain per coin."""
    wanted = params.get("coin")
    rows = []
    for coin in state.coins():
        if wanted and coin != wanted:
            continue
        rows.append(
            {
                "name": coin,
                "coin": coin,
                "remainAmount": "1000000",
                "chains": [
                    {
                        "chainType": coin,
                        "confirmation": "12",
                        "withdrawFee": "0.0005" if coin == "BTC" else "1",
                        "depositMin": "0",
                        "withdrawMin": "0.001" if coin == "BTC" else "2",
                        "chain": coin,
                        "chainDeposit": "1",
                        "chainWithdraw": "1",
                        "minAccuracy": "8",
                        "withdrawPercentageFee": "0",
                        "contractAddress": "",
                    }
                ],
            }
        )
    return {"rows": rows}


def query_api(state: ExchangeState, params: Params) -> dict[str, Any]:
    """/v5/user/query-api: the key in use, as ``state.key_info`` describes it."""
    key = state.key_info
    wallet = ["AccountTransfer"] + (["Withdraw"] if key.withdraw else [])
    if key.expires_at_ms is None:
        deadline_day, expired_at = -1, ""
    else:
        deadline_day = max(0, (key.expires_at_ms - state.server_ms()) // DAY_MS)
        expired_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(key.expires_at_ms / 1000))
    return {
        "id": "13770661",
        "note": "exsync simulator",
        "apiKey": "",
        "readOnly": 1 if key.read_only else 0,
        "secret": "",
        "permissions": {
            "ContractTrade": ["Order", "Position"],
            "Spot": ["SpotTrade"],
            "Wallet": wallet,
            "Options": ["OptionsTrade"],
            "Derivatives": ["DerivativesTrade"] if state.unified else [],
            "CopyTrading": [],
            "BlockTrade": [],
            "Exchange": [],
            "NFT": [],
            "Affiliate": [],
            "Earn": [],
        },
        "ips": list(key.ips) or ["*"],
        "type": 1,
        "deadlineDay": deadline_day,
        "expiredAt": expired_at,
        "createdAt": "2024-01-01T00:00:00Z",
        "unified": 0,
        "uta": 1 if state.unified else 0,
        "userID": 100200300,
        "inviterID": 0,
        "vipLevel": "No VIP",
        "mktMakerLevel": "0",
        "affiliateID": 0,
        "rsaPublicKey": "",
        "isMaster": True,
        "parentUid": "0",
        "kycLevel": "LEVEL_1",
        "kycRegion": "",
    }


def account_info(state: ExchangeState, params: Params) -> dict[str, Any]:
    """/v5/account/info: unifiedMarginStatus 6 is UTA 2.0 Pro, 1 a classic account."""
    return {
        "marginMode": "REGULAR_MARGIN",
        "updatedTime": str(state.anchor_ms - 30 * DAY_MS),
        "unifiedMarginStatus": 6 if state.unified else 1,
        "dcpStatus": "OFF",
        "timeWindow": 10,
        "smpGroup": 0,
        "isMasterTrader": False,
        "spotHedgingStatus": "OFF",
    }


def position_list(state: ExchangeState, params: Params) -> dict[str, Any]:
    """/v5/position/list: by symbol (even when flat) or every open position of a settle coin."""
    category = params.category(("linear", "inverse", "option"))
    limit = params.limit(20, 200)
    _require_linear_filter(params, category, ("symbol", "baseCoin", "settleCoin"))
    after = decode_cursor("position", params.get("cursor"))
    if category == "option":
        return {"category": category, "list": [], "nextPageCursor": ""}
    settle = params.get("settleCoin")
    base = params.get("baseCoin")

    def match(inst: Instrument) -> bool:
        return (settle is None or inst.settle == settle) and (base is None or inst.base == base)

    rows, next_key = state.query_positions(
        category, symbol=params.get("symbol"), match=match, after=after, limit=limit
    )
    return {
        "category": category,
        "list": rows,
        "nextPageCursor": _cursor_text("position", next_key),
    }


def order_realtime(state: ExchangeState, params: Params) -> dict[str, Any]:
    """/v5/order/realtime: resting orders (openOnly=0) or the latest 500 finished ones."""
    category = params.category(("spot", "linear", "inverse", "option"))
    limit = params.limit(20, 50)
    _require_linear_filter(params, category, ("symbol", "baseCoin", "settleCoin"))
    after = decode_cursor("realtime", params.get("cursor"))
    order_filter = params.get("orderFilter")
    match = _order_matcher(params)
    if order_filter not in (None, "Order"):
        match = _never  # no conditional / TP-SL / OCO orders exist here
    open_only = params.get("openOnly") in (None, "0")
    if open_only:
        rows, next_key = state.query_orders(
            category, open_only=True, match=match, after=after, limit=limit
        )
    else:
        closed = {o.uid for o in state.recent_closed_orders(category)}
        rows, next_key = state.query_orders(
            category,
            open_only=False,
            match=lambda order: order.uid in closed and match(order),
            after=after,
            limit=limit,
        )
    return {
        "category": category,
        "list": rows,
        "nextPageCursor": _cursor_text("realtime", next_key),
    }


def order_history(state: ExchangeState, params: Params) -> dict[str, Any]:
    """/v5/order/history: finished orders by updatedTime inside a window of at most 7 days."""
    category = params.category(("spot", "linear", "inverse", "option"))
    limit = params.limit(20, 50)
    start, end = within_history(seven_day_window(params, state.now_ms()), state.now_ms())
    after = decode_cursor("history", params.get("cursor"))
    match = _order_matcher(params)
    if params.get("orderFilter") not in (None, "Order"):
        match = _never  # no conditional / TP-SL / OCO orders exist here
    rows, next_key = state.query_orders(
        category, open_only=False, match=match, after=after, limit=limit, start=start, end=end
    )
    return {"category": category, "list": rows, "nextPageCursor": _cursor_text("history", next_key)}


def execution_list(state: ExchangeState, params: Params) -> dict[str, Any]:
    """/v5/execution/list: own trades by execTime inside a window of at most 7 days."""
    category = params.category(("spot", "linear", "inverse", "option"))
    limit = params.limit(50, 100)
    start, end = within_history(seven_day_window(params, state.now_ms()), state.now_ms())
    after = decode_cursor("execution", params.get("cursor"))
    exec_type = params.get("execType")
    # Without execType every type comes back: trades, funding, liquidations, settlements...
    kind = None
    if exec_type is not None:
        if exec_type not in EXEC_TYPES:
            raise bad_request("params error: execType invalid")
        kind = EXEC_TYPES.index(exec_type)
    filtered = any(
        params.get(n) for n in ("orderId", "orderLinkId", "symbol", "baseCoin", "settleCoin")
    )
    match: Callable[[Order], bool] | None = _order_matcher(params) if filtered else None
    if category == "option":
        match = _never  # no option executions exist here
    rows, next_key = state.query_executions(
        category, start, end, match=match, after=after, limit=limit, kind=kind
    )
    return {
        "category": category,
        "list": rows,
        "nextPageCursor": _cursor_text("execution", next_key),
    }


# --------------------------------------------------------------------------- routing


@dataclass(frozen=True)
class Route:
    """One GET endpoint: its handler, whether it is signed, and its per-second limit."""

    handler: Callable[[ExchangeState, Params], dict[str, Any]]
    private: bool
    rate_limit: int = 50


ROUTES: dict[str, Route] = {
    "/v5/market/time": Route(market_time, private=False, rate_limit=120),
    "/v5/market/instruments-info": Route(instruments_info, private=False, rate_limit=120),
    "/v5/market/tickers": Route(tickers, private=False, rate_limit=120),
    "/v5/market/kline": Route(kline, private=False, rate_limit=120),
    "/v5/account/wallet-balance": Route(wallet_balance, private=True),
    "/v5/account/info": Route(account_info, private=True),
    "/v5/asset/coin/query-info": Route(coin_info, private=True, rate_limit=5),
    "/v5/user/query-api": Route(query_api, private=True, rate_limit=10),
    "/v5/position/list": Route(position_list, private=True),
    "/v5/order/realtime": Route(order_realtime, private=True),
    "/v5/order/history": Route(order_history, private=True),
    "/v5/execution/list": Route(execution_list, private=True),
}
