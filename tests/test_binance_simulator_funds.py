"""The simulated Binance's money endpoints keep Binance's rules (driven by the real ccxt
client): windows and their defaults, page limits and paging, depth, statuses, the POST of
the Funding wallet, and the weight pools of /sapi."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ccxt.async_support as ccxt
import pytest

from exsync.simulator import BinanceSimulator, Scenario
from tests.test_binance_simulator import API_KEY, DAY, NOW, SECRET, drive, queries, unsigned


@pytest.fixture(scope="module")
def sim() -> Iterator[BinanceSimulator]:
    scenario = Scenario(
        seed=6,
        now_ms=NOW,
        deposits=60,
        internal_deposits=5,
        withdrawals=30,
        transfers=90,
        booked_executions=40,
        closed_pnl=10,
        conversions=12,
        history_days=60,
    )
    with BinanceSimulator(scenario, api_key=API_KEY, secret=SECRET) as server:
        yield server


def call(sim: BinanceSimulator, method: str, *args: Any) -> Any:
    async def body(exchange: ccxt.binance) -> Any:
        return await getattr(exchange, method)(*args)

    return drive(sim, body)


def now(sim: BinanceSimulator) -> int:
    return sim.state.now_ms()


def test_deposit_history_window_default_offset_and_statuses(sim):
    expected = sim.state.expected_funds()["deposits"]
    recent = {k for k, r in expected.items() if r["insertTime"] >= now(sim) - 90 * DAY}
    # no window: the last 90 days, newest first
    rows = call(sim, "sapiGetCapitalDepositHisrec", {})
    assert {r["id"] for r in rows} == recent
    assert [r["insertTime"] for r in rows] == sorted((r["insertTime"] for r in rows), reverse=True)
    # more than 90 days between the ends is refused
    with pytest.raises(ccxt.BadRequest):
        call(
            sim,
            "sapiGetCapitalDepositHisrec",
            {"startTime": now(sim) - 91 * DAY, "endTime": now(sim)},
        )
    with pytest.raises(ccxt.BadRequest):
        call(sim, "sapiGetCapitalDepositHisrec", {"limit": 1001})
    # offset pages through one window
    first = call(sim, "sapiGetCapitalDepositHisrec", {"limit": 10})
    second = call(sim, "sapiGetCapitalDepositHisrec", {"limit": 10, "offset": 10})
    assert len(first) == len(second) == 10 and not {r["id"] for r in first} & {
        r["id"] for r in second
    }
    # ccxt's parser: transferType 1 is internal, status 1 ok, 2 stays a number ccxt leaves
    parsed = call(sim, "fetch_deposits")
    assert {t["status"] for t in parsed} <= {"ok", "2"} and any(t["internal"] for t in parsed)
    internal = next(t for t in parsed if t["internal"])
    assert not internal["txid"].startswith("Internal transfer")


def test_ccxt_fetch_deposits_sends_a_90_day_window_from_since(sim):
    sim.reset_counts()
    since = now(sim) - 200 * DAY
    call(sim, "fetch_deposits", None, since)
    (query,) = queries(sim, "/sapi/v1/capital/deposit/hisrec")
    assert unsigned(query) == f"startTime={since}&endTime={since + 90 * DAY}"


def test_withdraw_history_times_and_fees(sim):
    expected = sim.state.expected_funds()["withdrawals"]
    parsed = call(sim, "fetch_withdrawals")
    assert {t["id"] for t in parsed} == set(expected)
    done = next(t for t in parsed if t["status"] == "ok")
    raw = expected[done["id"]]
    assert done["timestamp"] == ccxt.binance().parse8601(raw["applyTime"])
    assert raw["completeTime"] and done["fee"]["cost"] == float(raw["transactionFee"])
    assert {t["status"] for t in parsed} <= {"ok", "canceled"}


def test_transfers_one_type_a_request_paged_by_current(sim):
    expected = sim.state.expected_funds()["transfers"]
    sim.reset_counts()
    # ccxt's fetchTransfers asks one direction only: spot to USD-M futures
    default = call(sim, "fetch_transfers", None, now(sim) - 61 * DAY)
    (query,) = queries(sim, "/sapi/v1/asset/transfer")
    assert "type=MAIN_UMFUTURE" in query
    assert {t["info"]["type"] for t in default} == {"MAIN_UMFUTURE"}
    seen: dict[str, dict[str, Any]] = {}
    for kind in (
        "MAIN_UMFUTURE",
        "UMFUTURE_MAIN",
        "MAIN_FUNDING",
        "FUNDING_MAIN",
        "FUNDING_UMFUTURE",
        "UMFUTURE_FUNDING",
    ):
        current = 1
        while True:
            answer = call(
                sim,
                "sapiGetAssetTransfer",
                {
                    "type": kind,
                    "startTime": now(sim) - 61 * DAY,
                    "endTime": now(sim),
                    "size": 5,
                    "current": current,
                },
            )
            rows = answer.get("rows", [])
            seen.update({str(r["tranId"]): r for r in rows})
            if len(rows) < 5:
                break
            current += 1
    assert seen.keys() == expected.keys()
    # no window: the last 7 days; nothing of a type: no rows at all
    assert call(sim, "sapiGetAssetTransfer", {"type": "MAIN_CMFUTURE"}) == {"total": 0}
    with pytest.raises(ccxt.BadRequest):
        call(sim, "sapiGetAssetTransfer", {})


def test_income_pages_oldest_first_three_months_deep(sim):
    expected = sim.state.expected_funds()["income"]
    start = now(sim) - 100 * DAY
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        rows = call(
            sim,
            "fapiPrivateGetIncome",
            {"startTime": start, "endTime": now(sim), "limit": 100, "page": page},
        )
        found += rows
        if len(rows) < 100:
            break
        page += 1
    assert {(str(r["tranId"]), r["incomeType"]) for r in found} == set(expected)
    assert [r["time"] for r in found] == sorted(r["time"] for r in found)
    assert min(r["time"] for r in found) >= now(sim) - 90 * DAY
    kinds = {r["incomeType"] for r in found}
    assert {"COMMISSION", "FUNDING_FEE", "REALIZED_PNL", "TRANSFER"} <= kinds
    # a realised PnL shares its fill's tranId with the fill's commission
    pnl = next(r for r in found if r["incomeType"] == "REALIZED_PNL")
    assert (str(pnl["tranId"]), "COMMISSION") in expected
    # ccxt: fetchLedger reads it all, fetchFundingHistory the funding fees
    ledger = call(sim, "fetch_ledger", None, now(sim) - 6 * DAY, 1000, {"type": "future"})
    assert ledger and all(e["timestamp"] >= now(sim) - 6 * DAY for e in ledger)
    funding = call(sim, "fetch_funding_history", None, now(sim) - 30 * DAY, 1000)
    assert funding and {f["info"]["incomeType"] for f in funding} == {"FUNDING_FEE"}


def test_convert_trade_flow_needs_both_ends_and_answers_nothing_beyond_30_days(sim):
    expected = sim.state.expected_funds()["converts"]
    start = now(sim) - 60 * DAY
    raw = call(sim, "sapiGetConvertTradeFlow", {"startTime": start, "endTime": now(sim)})
    assert raw["list"] == [] and raw["moreData"] is False  # no error: an empty answer
    found = {}
    for since in (start, start + 30 * DAY):
        rows = call(
            sim, "fetch_convert_trade_history", None, since, 1000, {"until": since + 30 * DAY}
        )
        found.update({c["id"]: c for c in rows})
    assert found.keys() == expected.keys()
    one = next(iter(found.values()))
    assert one["fromCurrency"] and one["toAmount"] == float(expected[one["id"]]["toAmount"])
    page = call(
        sim,
        "sapiGetConvertTradeFlow",
        {"startTime": start, "endTime": start + 30 * DAY, "limit": 1},
    )
    assert len(page["list"]) == 1 and page["moreData"] is True
    with pytest.raises(ccxt.BadRequest):
        call(sim, "sapiGetConvertTradeFlow", {"startTime": start})


def test_funding_wallet_by_post_and_simple_earn_positions(sim):
    sim.reset_counts()
    funding = call(sim, "fetch_balance", {"type": "funding"})
    assert [m for m, p, _ in sim.requests if p == "/sapi/v1/asset/get-funding-asset"] == ["POST"]
    assert {c: funding["total"][c] for c in sim.state.expected_funds()["funding"]} == (
        sim.state.expected_funds()["funding"]
    )
    flexible = call(sim, "sapiGetSimpleEarnFlexiblePosition", {"size": 100})
    locked = call(sim, "sapiGetSimpleEarnLockedPosition", {"size": 100})
    assert {r["asset"]: float(r["totalAmount"]) for r in flexible["rows"]} == {"USDT": 500.0}
    assert {r["asset"]: float(r["amount"]) for r in locked["rows"]} == {"ETH": 0.5}
    with pytest.raises(ccxt.BadRequest):
        call(sim, "sapiGetSimpleEarnFlexiblePosition", {"size": 101})


def test_weights_count_in_their_own_pools(sim):
    sim.reset_rate_limits()
    call(sim, "sapiGetConvertTradeFlow", {"startTime": now(sim) - DAY, "endTime": now(sim)})
    call(sim, "sapiGetCapitalWithdrawHistory", {})
    call(sim, "sapiGetSimpleEarnLockedPosition", {})
    assert sim.used_weight("sapi_uid") == 3000
    assert sim.used_weight("sapi") == 150
    assert sim.used_weight("sapi_1s") in (0, 18000)  # a per-second budget
