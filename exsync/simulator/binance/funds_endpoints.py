"""Binance endpoints of the money side: deposit and withdrawal history, universal
transfers, USD-M income, Convert's trade flow, Simple Earn positions and the Funding
wallet, with Binance's windows, their defaults, page limits, paging and depth.

Windows, as Binance documents them: deposit and withdrawal history span less than 90
days, the last 90 days by default, newest first, paged by ``offset``; universal transfers
the last 7 days by default, 6 months deep, paged by ``current``; USD-M income the last 7
days by default, 3 months deep, oldest first, paged by ``page``; Convert's trade flow needs
both ends and answers an empty list, not an error, for more than 30 days between them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..market import DAY_MS
from .wire import BinanceError, Params, Route, bad_symbol, mandatory

if TYPE_CHECKING:
    from .state import BinanceState

CAPITAL_SPAN_MS = 90 * DAY_MS
DEFAULT_SPAN_MS = 7 * DAY_MS
CONVERT_SPAN_MS = 30 * DAY_MS
#: every universal transfer type Binance names (the simulator books the first six)
TRANSFER_KINDS = frozenset(
    {
        "MAIN_UMFUTURE",
        "UMFUTURE_MAIN",
        "MAIN_FUNDING",
        "FUNDING_MAIN",
        "FUNDING_UMFUTURE",
        "UMFUTURE_FUNDING",
        "MAIN_CMFUTURE",
        "CMFUTURE_MAIN",
        "MAIN_MARGIN",
        "MARGIN_MAIN",
        "UMFUTURE_MARGIN",
        "MARGIN_UMFUTURE",
        "CMFUTURE_MARGIN",
        "MARGIN_CMFUTURE",
        "MARGIN_FUNDING",
        "FUNDING_MARGIN",
        "FUNDING_CMFUTURE",
        "CMFUTURE_FUNDING",
        "ISOLATEDMARGIN_MARGIN",
        "MARGIN_ISOLATEDMARGIN",
        "ISOLATEDMARGIN_ISOLATEDMARGIN",
        "MAIN_OPTION",
        "OPTION_MAIN",
        "UMFUTURE_OPTION",
        "OPTION_UMFUTURE",
        "MARGIN_OPTION",
        "OPTION_MARGIN",
        "FUNDING_OPTION",
        "OPTION_FUNDING",
        "MAIN_PORTFOLIO_MARGIN",
        "PORTFOLIO_MARGIN_MAIN",
    }
)


def _too_long() -> BinanceError:
    return BinanceError(-1127, "Lookup interval is too big.")


def _capital_window(params: Params, now: int) -> tuple[int, int]:
    """[start, end] of a deposit or withdrawal query: startTime defaults to 90 days ago,
    endTime to now, and the two may lie 90 days apart at most."""
    start = params.integer("startTime")
    end = params.integer("endTime")
    start = now - CAPITAL_SPAN_MS if start is None else start
    end = now if end is None else end
    if end < start:
        raise BinanceError(-1023, "Start time is greater than end time.")
    # "less than 90 days" in the docs; ccxt asks for exactly 90 days from `since`, and
    # that is answered.
    if end - start > CAPITAL_SPAN_MS:
        raise _too_long()
    return start, end


def _open_window(params: Params, now: int) -> tuple[int, int]:
    """[start, end] of a query whose default is the last 7 days: one end given, the other
    is open (now, or the beginning)."""
    start = params.integer("startTime")
    end = params.integer("endTime")
    if start is None and end is None:
        return now - DEFAULT_SPAN_MS, now
    start = 0 if start is None else start
    end = now if end is None else end
    if end < start:
        raise BinanceError(-1023, "Start time is greater than end time.")
    return start, end


def _matcher(params: Params, fields: dict[str, str]) -> Any:
    """A row filter from the request's optional equality filters (param -> row field)."""
    wanted = {field: params.get(name) for name, field in fields.items()}
    wanted = {k: v for k, v in wanted.items() if v is not None}
    return lambda row: all(str(row.get(k)) == v for k, v in wanted.items())


def deposit_history(state: BinanceState, params: Params) -> Any:
    """/sapi/v1/capital/deposit/hisrec: newest first, ``offset`` and ``limit`` (1000)."""
    start, end = _capital_window(params, state.now_ms())
    offset = params.integer("offset") or 0
    limit = params.limit(1000, 1000)
    match = _matcher(params, {"coin": "coin", "status": "status", "txId": "txId"})
    return state.query_deposits(match, start, end, offset, limit)


def withdraw_history(state: BinanceState, params: Params) -> Any:
    """/sapi/v1/capital/withdraw/history: newest first, ``offset`` and ``limit`` (1000)."""
    start, end = _capital_window(params, state.now_ms())
    offset = params.integer("offset") or 0
    limit = params.limit(1000, 1000)
    match = _matcher(params, {"coin": "coin", "status": "status"})
    return state.query_withdrawals(match, start, end, offset, limit)


def transfer_history(state: BinanceState, params: Params) -> Any:
    """/sapi/v1/asset/transfer: one ``type`` (mandatory) at a time, newest first, pages
    of ``size`` (10, at most 100) numbered by ``current``. An empty answer has no rows."""
    kind = params.require("type")
    if kind not in TRANSFER_KINDS:
        raise BinanceError(-1100, "Illegal characters found in parameter 'type'.")
    start, end = _open_window(params, state.now_ms())
    current = params.limit(1, 10**9, "current")
    size = params.limit(10, 100, "size")
    total, rows = state.query_transfers(kind, start, end, current, size)
    return {"total": total, "rows": rows} if total else {"total": 0}


def income_history(state: BinanceState, params: Params) -> Any:
    """/fapi/v1/income: oldest first, pages of ``limit`` (100, at most 1000) numbered by
    ``page``; the last 7 days by default, three months deep."""
    symbol = params.get("symbol")
    if symbol is not None and state.instrument("linear", symbol) is None:
        raise bad_symbol()
    start, end = _open_window(params, state.now_ms())
    page = params.limit(1, 10**9, "page")
    limit = params.limit(100, 1000)
    return state.query_income(symbol, params.get("incomeType"), start, end, page, limit)


def convert_trade_flow(state: BinanceState, params: Params) -> Any:
    """/sapi/v1/convert/tradeFlow: both ends mandatory; more than 30 days between them
    gets an empty list (HTTP 200), not an error."""
    start = params.integer("startTime")
    end = params.integer("endTime")
    if start is None:
        raise mandatory("startTime")
    if end is None:
        raise mandatory("endTime")
    limit = params.limit(100, 1000)
    rows, more = ([], False)
    if 0 <= end - start <= CONVERT_SPAN_MS:
        rows, more = state.query_converts(start, end, limit)
    return {"list": rows, "startTime": start, "endTime": end, "limit": limit, "moreData": more}


def _earn(locked: bool) -> Any:
    def handler(state: BinanceState, params: Params) -> Any:
        current = params.limit(1, 10**9, "current")
        size = params.limit(10, 100, "size")
        total, rows = state.earn_positions(locked, params.get("asset"), current, size)
        return {"rows": rows, "total": total}

    kind = "locked" if locked else "flexible"
    handler.__doc__ = f"/sapi/v1/simple-earn/{kind}/position: pages of ``size`` (10, max 100)."
    return handler


def funding_asset(state: BinanceState, params: Params) -> Any:
    """POST /sapi/v1/asset/get-funding-asset: the Funding wallet's coins."""
    return state.funding_assets(params.get("asset"))


FUNDS_ROUTES: dict[str, Route] = {
    "/sapi/v1/capital/deposit/hisrec": Route(deposit_history, True, "sapi", 1),
    # Weight 18,000 of a per-second budget of 180,000: ten requests a second.
    "/sapi/v1/capital/withdraw/history": Route(withdraw_history, True, "sapi_1s", 18000),
    "/sapi/v1/asset/transfer": Route(transfer_history, True, "sapi", 1),
    "/fapi/v1/income": Route(income_history, True, "fapi", 30),
    "/sapi/v1/convert/tradeFlow": Route(convert_trade_flow, True, "sapi_uid", 3000),
    "/sapi/v1/simple-earn/flexible/position": Route(_earn(locked=False), True, "sapi", 150),
    "/sapi/v1/simple-earn/locked/position": Route(_earn(locked=True), True, "sapi", 150),
    "/sapi/v1/asset/get-funding-asset": Route(funding_asset, True, "sapi", 1, method="POST"),
}
