"""Money in, out and around the account (deposits, withdrawals, transfers) through the real
ccxt client over HTTP: full backfills equal the exchange's records, reruns are idempotent,
new records arrive incrementally, and records still on their way are updated when they
settle."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from exsync.simulator import BybitSimulator, Scenario
from tests.conftest import KEY, SECRET, exchange_entry, rows, status_of, sync_ok, table

HOUR = 3_600_000


@pytest.fixture
def money() -> Iterator[BybitSimulator]:
    """An account whose records fill several pages of several windows."""
    scenario = Scenario(
        seed=11,
        trades=50,
        deposits=120,
        internal_deposits=6,
        withdrawals=70,
        transfers=300,
        sub_transfers=80,
        history_days=30,
    )
    with BybitSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        yield sim


# --------------------------------------------------------------------------- deposits


def test_deposits_backfill_equals_the_exchange_and_reruns_change_nothing(
    money, make_config, db_path
):
    config, _ = make_config({"bybit": exchange_entry(money.url, types=["deposits"])})
    sync_ok(config)
    expected = money.state.expected_funds()
    stored = table(db_path, "deposits")
    onchain = {k: v for k, v in stored.items() if v["source"] == "onchain"}
    internal = {k: v for k, v in stored.items() if v["source"] == "internal"}
    assert set(onchain) == set(expected["deposits"]) and len(onchain) == 120
    assert set(internal) == set(expected["internal_deposits"]) and internal
    for record_id, raw in expected["deposits"].items():
        row = onchain[record_id]
        assert row["amount"] == raw["amount"]  # the exchange's text, exactly
        assert row["asset"] == raw["coin"] and row["txid"] == raw["txID"]
        assert row["address"] == raw["toAddress"] and row["internal"] == 0
        assert row["status"] == {3: "ok", 4: "failed"}[raw["status"]]
        assert row["timestamp"] == int(raw["successAt"])
    for record_id, raw in expected["internal_deposits"].items():
        row = internal[record_id]
        assert (row["amount"], row["internal"], row["status"]) == (raw["amount"], 1, "ok")
        assert row["timestamp"] == int(raw["createdTime"]) * 1000  # seconds on the wire

    cursors = rows(db_path, "SELECT stream, position FROM cursors ORDER BY stream")
    assert [c[0] for c in cursors] == ["deposits:internal", "deposits:onchain"]
    money.reset_counts()
    sync_ok(config)
    assert table(db_path, "deposits").keys() == stored.keys()
    assert rows(db_path, "SELECT stream, position FROM cursors ORDER BY stream") == cursors
    # warm: one request per stream
    assert money.counts["/v5/asset/deposit/query-record"] == 1
    assert money.counts["/v5/asset/deposit/query-internal-record"] == 1


def test_new_deposits_and_withdrawals_arrive_incrementally(money, make_config, db_path):
    entry = exchange_entry(money.url, types=["deposits", "withdrawals"])
    config, _ = make_config({"bybit": entry})
    sync_ok(config)
    state = money.state
    deposit = state.add_deposit("USDT", "1000.000001", pending=False)
    internal = state.add_deposit("BTC", "0.00012345", pending=False, internal=True)
    withdrawal = state.add_withdrawal("ETH", "1.5", fee="0.0012", pending=False)
    sync_ok(config)
    deposits = table(db_path, "deposits")
    assert deposits[deposit["id"]]["amount"] == "1000.000001"
    assert deposits[internal["id"]]["amount"] == "0.00012345"
    stored = table(db_path, "withdrawals")[withdrawal["withdrawId"]]
    assert (stored["amount"], stored["fee"], stored["fee_asset"]) == ("1.5", "0.0012", "ETH")
    assert stored["status"] == "ok"


def _pending_then(state: Any, db_path: Any, config: Any, ok: bool) -> None:
    """A deposit and an internal deposit on their way for three hours when the backfill
    runs settle after the stream's cursor has moved well past them."""
    now = state.now_ms()
    onchain = state.add_deposit("USDT", "250.5", ts=now - 3 * HOUR)
    internal = state.add_deposit("ETH", "0.25", internal=True, ts=now - 3 * HOUR)
    sync_ok(config)
    assert status_of(db_path, "deposits", onchain["id"]) == "pending"
    assert status_of(db_path, "deposits", internal["id"]) == "pending"
    # newer deposits move both cursors far beyond the pending ones (and the overlap)
    state.add_deposit("BTC", "0.01", pending=False)
    state.add_deposit("BTC", "0.02", pending=False, internal=True)
    sync_ok(config)
    assert status_of(db_path, "deposits", onchain["id"]) == "pending"

    settled = state.settle_deposit(onchain["id"], ok=ok)
    state.settle_deposit(internal["id"], ok=ok)
    sync_ok(config)
    word = "ok" if ok else "failed"
    assert status_of(db_path, "deposits", onchain["id"]) == word
    assert status_of(db_path, "deposits", internal["id"]) == word
    stored = table(db_path, "deposits")[onchain["id"]]
    assert stored["timestamp"] == int(settled["successAt"])  # the settlement's time
    assert rows(db_path, "SELECT count(*) FROM deposits WHERE id = ?", (onchain["id"],)) == [(1,)]


def test_a_pending_deposit_is_updated_when_it_completes(money, make_config, db_path):
    config, _ = make_config({"bybit": exchange_entry(money.url, types=["deposits"])})
    _pending_then(money.state, db_path, config, ok=True)

    # settled: the stream no longer reads its past again
    money.reset_counts()
    sync_ok(config)
    assert money.counts["/v5/asset/deposit/query-record"] == 1


def test_a_pending_deposit_that_fails_is_updated(money, make_config, db_path):
    config, _ = make_config({"bybit": exchange_entry(money.url, types=["deposits"])})
    _pending_then(money.state, db_path, config, ok=False)


# --------------------------------------------------------------------------- withdrawals


def test_withdrawals_backfill_holds_on_chain_and_off_chain_ones(money, make_config, db_path):
    config, _ = make_config({"bybit": exchange_entry(money.url, types=["withdrawals"])})
    sync_ok(config)
    expected = money.state.expected_funds()["withdrawals"]
    stored = table(db_path, "withdrawals")
    assert set(stored) == set(expected) and len(stored) == 70
    kinds = {row["internal"] for row in stored.values()}
    assert kinds == {0, 1}  # Bybit lists off-chain ones only when asked for every type
    for record_id, raw in expected.items():
        row = stored[record_id]
        assert (row["amount"], row["fee"]) == (raw["amount"], raw["withdrawFee"])
        assert row["internal"] == raw["withdrawType"]
        assert row["timestamp"] == int(raw["createTime"])
        assert row["updated"] == int(raw["updateTime"])
    before = rows(db_path, "SELECT count(*) FROM withdrawals")
    sync_ok(config)
    assert rows(db_path, "SELECT count(*) FROM withdrawals") == before


@pytest.mark.parametrize("ok", [True, False])
def test_a_pending_withdrawal_is_updated_when_it_settles(money, make_config, db_path, ok):
    config, _ = make_config({"bybit": exchange_entry(money.url, types=["withdrawals"])})
    state = money.state
    now = state.now_ms()
    withdrawal = state.add_withdrawal("USDT", "99.9", ts=now - 2 * HOUR)
    sync_ok(config)
    assert status_of(db_path, "withdrawals", withdrawal["withdrawId"]) == "pending"
    state.add_withdrawal("USDT", "5", pending=False)
    sync_ok(config)
    settled = state.settle_withdrawal(withdrawal["withdrawId"], ok=ok)
    sync_ok(config)
    row = table(db_path, "withdrawals")[withdrawal["withdrawId"]]
    assert row["status"] == ("ok" if ok else "failed")
    assert row["updated"] == int(settled["updateTime"])
    assert (row["txid"] is not None) == ok


# --------------------------------------------------------------------------- transfers


def test_transfers_backfill_holds_both_lists_each_row_once(money, make_config, db_path):
    config, _ = make_config({"bybit": exchange_entry(money.url, types=["transfers"])})
    sync_ok(config)
    expected = money.state.expected_funds()["transfers"]
    stored = table(db_path, "transfers")
    assert set(stored) == set(expected) and len(stored) == 380
    for transfer_id, raw in expected.items():
        row = stored[transfer_id]
        assert row["amount"] == raw["amount"] and row["status"] == "ok"
        assert row["timestamp"] == int(raw["timestamp"])
        universal = "fromMemberId" in raw
        assert row["source"] == ("universal" if universal else "internal")
        if universal:
            assert (row["from_member"], row["to_member"]) == (
                raw["fromMemberId"],
                raw["toMemberId"],
            )
    sync_ok(config)
    assert rows(db_path, "SELECT count(*) FROM transfers") == [(380,)]


def test_a_transfer_in_each_direction_between_wallets_and_sub_accounts(money, make_config, db_path):
    config, _ = make_config({"bybit": exchange_entry(money.url, types=["transfers"])})
    sync_ok(config)
    state = money.state
    into = state.add_transfer("USDT", "100.25", "FUND", "UNIFIED")
    out = state.add_transfer("BTC", "0.005", "UNIFIED", "FUND")
    to_sub = state.add_sub_transfer("USDT", "42", outgoing=True)
    from_sub = state.add_sub_transfer("ETH", "0.3", outgoing=False)
    sync_ok(config)
    stored = table(db_path, "transfers")
    assert (
        stored[into["transferId"]]["from_account"],
        stored[into["transferId"]]["to_account"],
    ) == (
        "fund",
        "unified",
    )
    assert stored[out["transferId"]]["from_account"] == "unified"
    assert stored[out["transferId"]]["amount"] == "0.005"
    main, sub = to_sub["fromMemberId"], to_sub["toMemberId"]
    assert (
        stored[to_sub["transferId"]]["from_member"],
        stored[to_sub["transferId"]]["to_member"],
    ) == (
        main,
        sub,
    )
    assert (
        stored[from_sub["transferId"]]["from_member"],
        stored[from_sub["transferId"]]["to_member"],
    ) == (sub, main)


def test_a_pending_transfer_is_updated_when_it_settles(money, make_config, db_path):
    config, _ = make_config({"bybit": exchange_entry(money.url, types=["transfers"])})
    state = money.state
    now = state.now_ms()
    pending = state.add_sub_transfer("USDT", "10", status="PENDING", ts=now - 2 * HOUR)
    sync_ok(config)
    assert status_of(db_path, "transfers", pending["transferId"]) == "pending"
    state.add_sub_transfer("USDT", "11")
    sync_ok(config)
    state.settle_transfer(pending["transferId"], ok=False)
    sync_ok(config)
    assert status_of(db_path, "transfers", pending["transferId"]) == "failed"
