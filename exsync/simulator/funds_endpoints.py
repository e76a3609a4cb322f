"""Bybit v5 endpoints of the money side: deposit, withdrawal and transfer records, closed
PnL, the transaction log and Earn positions, with Bybit's windows, limits and cursors.

Windows, as Bybit documents them: deposit and withdrawal records span at most 30 days (the
last 30 days by default) and filter at the second; transfer lists and closed PnL 7 days
(7 by default); the transaction log 7 days when both ends are given, else 24 hours from the
one given (the last 24 hours without either). Closed PnL and the transaction log go back two
years.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .endpoints import (
    ApiError,
    Params,
    Route,
    _cursor_text,
    bad_request,
    decode_cursor,
    within_history,
)
from .market import DAY_MS, HOUR_MS
from .state import ExchangeState

Row = dict[str, Any]


def span_window(
    params: Params, now: int, span: int, default: int | None = None, *, open_end: bool = False
) -> tuple[int, int]:
    """(start, end) of a query by Bybit's rules: neither given -> the last `default`; one
    given -> `default` from it (`open_end`: from start up to now); both -> at most `span`."""
    default = span if default is None else default
    start = params.integer("startTime")
    end = params.integer("endTime")
    if start is None and end is None:
        return now - default, now
    if end is None:
        assert start is not None
        end = now if open_end else start + default
    elif start is None:
        start = end - default
    if end < start:
        raise bad_request("params error: startTime must be less than endTime")
    if end - start > span:
        days = span // DAY_MS
        raise bad_request(
            f"The time range between startTime and endTime must be less than {days} days"
        )
    return start, end


def _equal(params: Params, *pairs: tuple[str, str]) -> Callable[[Row], bool]:
    """Rows whose fields equal the given parameters (request name, row field)."""
    wanted = [(field, params.get(name)) for name, field in pairs if params.get(name)]
    return lambda row: all(str(row.get(field)) == value for field, value in wanted)


def _permitted(state: ExchangeState, permission: str) -> None:
    if not state.permitted(permission):
        raise ApiError(10005, "Permission denied, please check your API key permissions.")


def deposit_record(state: ExchangeState, params: Params) -> dict[str, Any]:
    """/v5/asset/deposit/query-record: on-chain deposits, 50 a page, 30-day windows; an
    `id` wins over every other filter."""
    limit = params.limit(50, 50)
    after = decode_cursor("deposit", params.get("cursor"))
    if params.get("id"):
        start, end = 0, 2**62
        match = _equal(params, ("id", "id"))
    else:
        start, end = span_window(params, state.now_ms(), 30 * DAY_MS)
        match = _equal(params, ("txID", "txID"), ("coin", "coin"))
    rows, next_key = state.query_deposits(False, start, end, match, after, limit)
    return {"rows": rows, "nextPageCursor": _cursor_text("deposit", next_key)}


def internal_deposit_record(state: ExchangeState, params: Params) -> dict[str, Any]:
    """/v5/asset/deposit/query-internal-record: deposits from other Bybit users."""
    limit = params.limit(50, 50)
    after = decode_cursor("internal", params.get("cursor"))
    start, end = span_window(params, state.now_ms(), 30 * DAY_MS, open_end=True)
    match = _equal(params, ("txID", "txID"), ("coin", "coin"))
    rows, next_key = state.query_deposits(True, start, end, match, after, limit)
    return {"rows": rows, "nextPageCursor": _cursor_text("internal", next_key)}


def withdraw_record(state: ExchangeState, params: Params) -> dict[str, Any]:
    """/v5/asset/withdraw/query-record: withdrawType 0 (default) on-chain only, 1 off-chain
    only, 2 both."""
    limit = params.limit(50, 50)
    after = decode_cursor("withdraw", params.get("cursor"))
    kind = params.integer("withdrawType") or 0
    if kind not in (0, 1, 2):
        raise bad_request("params error: withdrawType invalid")
    kinds = {0: (False,), 1: (True,), 2: (False, True)}[kind]
    start, end = span_window(params, state.now_ms(), 30 * DAY_MS)
    match = _equal(params, ("withdrawID", "withdrawId"), ("txID", "txID"), ("coin", "coin"))
    rows, next_key = state.query_withdrawals(kinds, start, end, match, after, limit)
    return {"rows": rows, "nextPageCursor": _cursor_text("withdraw", next_key)}


def _transfers(state: ExchangeState, params: Params, universal: bool) -> dict[str, Any]:
    kind = "universal" if universal else "transfer"
    limit = params.limit(20, 50)
    after = decode_cursor(kind, params.get("cursor"))
    status = params.get("status")
    if status is not None and status not in ("SUCCESS", "FAILED", "PENDING"):
        raise bad_request("params error: status invalid")
    start, end = span_window(params, state.now_ms(), 7 * DAY_MS)
    match = _equal(params, ("transferId", "transferId"), ("coin", "coin"), ("status", "status"))
    rows, next_key = state.query_transfers(universal, start, end, match, after, limit)
    return {"list": rows, "nextPageCursor": _cursor_text(kind, next_key)}


def inter_transfer_list(state: ExchangeState, params: Params) -> dict[str, Any]:
    """/v5/asset/transfer/query-inter-transfer-list: between the user's own wallets."""
    return _transfers(state, params, universal=False)


def universal_transfer_list(state: ExchangeState, params: Params) -> dict[str, Any]:
    """/v5/asset/transfer/query-universal-transfer-list: between main and sub-accounts."""
    return _transfers(state, params, universal=True)


def closed_pnl(state: ExchangeState, params: Params) -> dict[str, Any]:
    """/v5/position/closed-pnl: closings of linear or inverse positions, newest first."""
    category = params.category(("linear", "inverse"))
    limit = params.limit(50, 100)
    after = decode_cursor("closedpnl", params.get("cursor"))
    now = state.now_ms()
    start, end = within_history(span_window(params, now, 7 * DAY_MS), now)
    rows, next_key = state.query_closed_pnl(
        category, params.get("symbol"), start, end, after, limit
    )
    return {
        "category": category,
        "list": rows,
        "nextPageCursor": _cursor_text("closedpnl", next_key),
    }


def transaction_log(state: ExchangeState, params: Params) -> dict[str, Any]:
    """/v5/account/transaction-log (unified account), 20 a page by default, 50 at most."""
    account_type = params.get("accountType")
    if account_type not in (None, "UNIFIED"):
        raise bad_request("accountType only support UNIFIED.")
    category = params.get("category")
    if category not in (None, "spot", "linear", "option", "inverse"):
        raise bad_request(f"Illegal category: {category}")
    limit = params.limit(20, 50)
    after = decode_cursor("translog", params.get("cursor"))
    now = state.now_ms()
    start, end = within_history(span_window(params, now, 7 * DAY_MS, 24 * HOUR_MS), now)
    base = params.get("baseCoin")
    pairs = _equal(
        params,
        ("category", "category"),
        ("currency", "currency"),
        ("type", "type"),
        ("transSubType", "transSubType"),
    )

    def match(row: Row) -> bool:
        return pairs(row) and (base is None or str(row["symbol"]).startswith(base))

    rows, next_key = state.query_ledger(start, end, match, after, limit)
    return {"list": rows, "nextPageCursor": _cursor_text("translog", next_key)}


def earn_position(state: ExchangeState, params: Params) -> dict[str, Any]:
    """/v5/earn/position: staked positions of one Earn category (needs "Earn")."""
    _permitted(state, "Earn")
    category = params.get("category")
    if category is None:
        raise bad_request("params error: category is required")
    if category not in ("FlexibleSaving", "OnChain"):
        raise bad_request(f"Illegal category: {category}")
    return {"list": state.earn_positions(category, params.get("coin"))}


def fund_balance(state: ExchangeState, params: Params) -> dict[str, Any]:
    """/v5/asset/transfer/query-account-coins-balance: the Funding wallet (FUND); needs the
    key's Wallet "AccountTransfer" permission."""
    _permitted(state, "AccountTransfer")
    account_type = params.get("accountType")
    if account_type is None:
        raise bad_request("params error: accountType is required")
    if account_type != "FUND":
        return {"memberId": "100200300", "accountType": account_type, "balance": []}
    coin = params.get("coin")
    coins = set(coin.split(",")) if coin else None
    return {
        "memberId": "100200300",
        "accountType": account_type,
        "balance": state.funding_balance(coins),
    }


FUNDS_ROUTES: dict[str, Route] = {
    "/v5/asset/deposit/query-record": Route(deposit_record, private=True, rate_limit=2),
    "/v5/asset/deposit/query-internal-record": Route(internal_deposit_record, private=True),
    "/v5/asset/withdraw/query-record": Route(withdraw_record, private=True, rate_limit=5),
    "/v5/asset/transfer/query-inter-transfer-list": Route(
        inter_transfer_list, private=True, rate_limit=1
    ),
    "/v5/asset/transfer/query-universal-transfer-list": Route(
        universal_transfer_list, private=True, rate_limit=5
    ),
    "/v5/asset/transfer/query-account-coins-balance": Route(
        fund_balance, private=True, rate_limit=5
    ),
    "/v5/position/closed-pnl": Route(closed_pnl, private=True),
    "/v5/account/transaction-log": Route(transaction_log, private=True, rate_limit=25),
    "/v5/earn/position": Route(earn_position, private=True, rate_limit=10),
}
