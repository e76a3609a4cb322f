"""The simulated Bybit's money endpoints keep Bybit's rules: windows and their defaults,
page limits, cursors, history depth and permissions (driven by the real ccxt client)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ccxt.async_support as ccxt
import pytest

from exsync.simulator import BybitSimulator, Scenario
from tests.test_simulator import API_KEY, DAY, HOUR, NOW, SECRET, drive


@pytest.fixture(scope="module")
def sim() -> Iterator[BybitSimulator]:
    scenario = Scenario(
        seed=5,
        now_ms=NOW,
        deposits=90,
        withdrawals=40,
        transfers=120,
        closed_pnl=40,
        booked_executions=30,
        history_days=30,
    )
    with BybitSimulator(scenario, api_key=API_KEY, secret=SECRET) as server:
        yield server


def call(sim: BybitSimulator, method: str, params: dict[str, Any]) -> dict[str, Any]:
    async def body(exchange: ccxt.bybit) -> dict[str, Any]:
        result: dict[str, Any] = await getattr(exchange, method)(params)
        return result

    return drive(sim, body)


def walk(sim: BybitSimulator, method: str, params: dict[str, Any], rows: str = "list") -> int:
    """Rows over every page of one query, following nextPageCursor."""
    total, cursor = 0, None
    while True:
        answer = call(sim, method, params | ({"cursor": cursor} if cursor else {}))["result"]
        total += len(answer[rows])
        cursor = answer["nextPageCursor"]
        if not cursor:
            return total


def now(sim: BybitSimulator) -> int:
    return sim.state.now_ms()


def test_deposit_records_window_limit_and_cursor(sim):
    method = "privateGetV5AssetDepositQueryRecord"
    with pytest.raises(ccxt.BadRequest, match="30 days"):
        call(sim, method, {"startTime": now(sim) - 31 * DAY, "endTime": now(sim)})
    with pytest.raises(ccxt.BadRequest, match="limit"):
        call(sim, method, {"limit": 51})
    # without a window: the last 30 days; pages of 50 at most, chained by the cursor
    first = call(sim, method, {})["result"]
    assert len(first["rows"]) == 50 and first["nextPageCursor"]
    expected = sim.state.expected_funds()["deposits"]
    assert walk(sim, method, {}, rows="rows") == len(expected) == 90
    # an id wins over the window
    oldest = min(expected.values(), key=lambda r: int(r["successAt"]))
    found = call(sim, method, {"id": oldest["id"], "startTime": now(sim) - HOUR})
    assert [r["id"] for r in found["result"]["rows"]] == [oldest["id"]]


def test_withdrawal_records_list_off_chain_ones_only_when_asked(sim):
    method = "privateGetV5AssetWithdrawQueryRecord"
    kinds = {
        kind: {
            r["withdrawType"] for r in call(sim, method, {"withdrawType": kind})["result"]["rows"]
        }
        for kind in (0, 1, 2)
    }
    assert kinds == {0: {0}, 1: {1}, 2: {0, 1}}
    default = call(sim, method, {})["result"]["rows"]
    assert {r["withdrawType"] for r in default} == {0}


def test_transfer_lists_answer_seven_days_twenty_a_page(sim):
    method = "privateGetV5AssetTransferQueryInterTransferList"
    with pytest.raises(ccxt.BadRequest, match="7 days"):
        call(sim, method, {"startTime": now(sim) - 8 * DAY, "endTime": now(sim)})
    page = call(sim, method, {})["result"]
    assert len(page["list"]) == 20  # the default page
    times = [int(r["timestamp"]) for r in page["list"]]
    assert times == sorted(times, reverse=True) and min(times) >= now(sim) - 7 * DAY - 1000
    start = now(sim) - 20 * DAY
    only_start = call(sim, method, {"startTime": start, "limit": 50})["result"]["list"]
    assert all(start <= int(r["timestamp"]) <= start + 7 * DAY for r in only_start)


def test_transaction_log_defaults_to_24_hours_and_keeps_two_years(sim):
    method = "privateGetV5AccountTransactionLog"
    start = now(sim) - 10 * DAY
    answer = call(sim, method, {"startTime": start, "limit": 50})["result"]["list"]
    assert answer and all(start <= int(r["transactionTime"]) <= start + DAY for r in answer)
    end = now(sim) - 5 * DAY
    answer = call(sim, method, {"endTime": end, "limit": 50})["result"]["list"]
    assert all(end - DAY <= int(r["transactionTime"]) <= end for r in answer)
    assert (
        len(call(sim, method, {"startTime": start, "endTime": start + 7 * DAY})["result"]["list"])
        == 20
    )
    with pytest.raises(ccxt.BadRequest, match="7 days"):
        call(sim, method, {"startTime": start, "endTime": start + 8 * DAY})
    with pytest.raises(ccxt.BadRequest, match="2 years"):
        call(sim, method, {"startTime": now(sim) - 731 * DAY, "endTime": now(sim) - 730 * DAY})
    with pytest.raises(ccxt.BadRequest):
        call(sim, method, {"accountType": "FUND"})


def test_closed_pnl_needs_a_contract_category(sim):
    method = "privateGetV5PositionClosedPnl"
    with pytest.raises(ccxt.BadRequest, match="category"):
        call(sim, method, {})
    with pytest.raises(ccxt.BadRequest, match="Illegal category"):
        call(sim, method, {"category": "spot"})
    rows = call(sim, method, {"category": "linear", "startTime": now(sim) - 7 * DAY})
    assert all(r["closedSize"] for r in rows["result"]["list"])
    with pytest.raises(ccxt.BadRequest, match="2 years"):
        call(sim, method, {"category": "linear", "startTime": now(sim) - 800 * DAY})


def test_wallet_endpoints_need_their_permissions(sim):
    earn = call(sim, "privateGetV5EarnPosition", {"category": "FlexibleSaving"})
    assert [r["coin"] for r in earn["result"]["list"]] == ["USDT"]
    with pytest.raises(ccxt.BadRequest, match="category"):
        call(sim, "privateGetV5EarnPosition", {})
    fund = call(sim, "privateGetV5AssetTransferQueryAccountCoinsBalance", {"accountType": "FUND"})
    assert {r["coin"] for r in fund["result"]["balance"]} == {"USDT", "BTC"}
    sim.state.deny("Earn")
    sim.state.deny("AccountTransfer")
    with pytest.raises(ccxt.PermissionDenied):
        call(sim, "privateGetV5EarnPosition", {"category": "OnChain"})
    with pytest.raises(ccxt.PermissionDenied):
        call(sim, "privateGetV5AssetTransferQueryAccountCoinsBalance", {"accountType": "FUND"})


def test_a_deposit_that_arrives_settled_is_in_the_funding_wallet_once() -> None:
    with BybitSimulator(Scenario(seed=6, now_ms=NOW), api_key=API_KEY, secret=SECRET) as fresh:

        def funding_usdt() -> float:
            fund = call(
                fresh, "privateGetV5AssetTransferQueryAccountCoinsBalance", {"accountType": "FUND"}
            )
            found = [r for r in fund["result"]["balance"] if r["coin"] == "USDT"]
            return float(found[0]["walletBalance"]) if found else 0.0

        before = funding_usdt()
        fresh.state.add_deposit("USDT", "0.1", pending=False)
        assert funding_usdt() == pytest.approx(before + 0.1)
        pending = fresh.state.add_deposit("USDT", "0.2")
        assert funding_usdt() == pytest.approx(before + 0.1)
        fresh.state.settle_deposit(pending["id"])
        assert funding_usdt() == pytest.approx(before + 0.3)
