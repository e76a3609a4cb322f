"""Binance's money side through the real ccxt client over HTTP: deposits, withdrawals,
transfers between its wallets, the USD-M income ledger, Convert swaps, the Funding wallet
and Simple Earn. Full backfills equal the exchange's records, reruns are idempotent, new
records arrive incrementally, and records still on their way are updated when they settle."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from exsync.orchestrator import Synchronizer
from exsync.simulator import BinanceSimulator, Scenario
from tests.conftest import KEY, SECRET, exchange_entry, rows, status_of, sync_ok, table

HOUR = 3_600_000
DAY = 24 * HOUR
README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.fixture
def money() -> Iterator[BinanceSimulator]:
    """An account whose records fill several pages (deposits: over one 1,000-row page)."""
    scenario = Scenario(
        seed=13,
        trades=2200,
        deposits=1100,
        internal_deposits=6,
        withdrawals=60,
        transfers=700,
        booked_executions=60,
        closed_pnl=20,
        ledger_entries=10,
        conversions=40,
        history_days=30,
    )
    with BinanceSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        yield sim


def entry(sim: BinanceSimulator, **overrides: Any) -> dict[str, Any]:
    return exchange_entry(sim.url, **({"ccxt_id": "binance", "symbols": []} | overrides))


# --------------------------------------------------------------------------- deposits


def test_deposits_backfill_equals_the_exchange_and_reruns_change_nothing(
    money, make_config, db_path
):
    config, _ = make_config({"binance": entry(money, types=["deposits"])})
    sync_ok(config)
    expected = money.state.expected_funds()["deposits"]
    stored = table(db_path, "deposits")
    assert set(stored) == set(expected) and len(stored) == 1106  # more than a page
    for record_id, raw in expected.items():
        row = stored[record_id]
        assert row["amount"] == raw["amount"]  # the exchange's text, exactly
        assert (row["asset"], row["address"], row["txid"]) == (
            raw["coin"],
            raw["address"],
            raw["txId"].removeprefix("Internal transfer "),
        )
        assert row["network"]  # ccxt's network code (ETH: ERC20)
        assert row["status"] == {1: "ok", 2: "rejected"}[raw["status"]]
        assert row["internal"] == raw["transferType"]
        assert row["timestamp"] == raw["insertTime"]
    assert {r["source"] for r in stored.values()} == {"main"}
    cursors = rows(db_path, "SELECT stream, position FROM cursors ORDER BY stream")
    assert [c[0] for c in cursors] == ["deposits:main"]
    money.reset_counts()
    sync_ok(config)
    assert table(db_path, "deposits").keys() == stored.keys()
    assert rows(db_path, "SELECT stream, position FROM cursors ORDER BY stream") == cursors
    assert money.counts["/sapi/v1/capital/deposit/hisrec"] == 1  # warm: one request


def test_new_deposits_and_withdrawals_arrive_incrementally(money, make_config, db_path):
    config, _ = make_config({"binance": entry(money, types=["deposits", "withdrawals"])})
    sync_ok(config)
    state = money.state
    deposit = state.add_deposit("USDT", "1000.000001", pending=False)
    internal = state.add_deposit("BTC", "0.00012345", pending=False, internal=True)
    withdrawal = state.add_withdrawal("ETH", "1.5", fee="0.0012", pending=False)
    sync_ok(config)
    deposits = table(db_path, "deposits")
    assert deposits[deposit["id"]]["amount"] == "1000.000001"
    assert deposits[internal["id"]]["internal"] == 1
    stored = table(db_path, "withdrawals")[withdrawal["id"]]
    assert (stored["amount"], stored["fee"], stored["fee_asset"]) == ("1.5", "0.0012", "ETH")
    assert stored["status"] == "ok"


@pytest.mark.parametrize("ok", [True, False])
def test_a_pending_deposit_is_updated_when_it_completes_or_fails(money, make_config, db_path, ok):
    config, _ = make_config({"binance": entry(money, types=["deposits"])})
    state = money.state
    pending = state.add_deposit("USDT", "250.5", ts=state.now_ms() - 3 * HOUR)
    sync_ok(config)
    assert status_of(db_path, "deposits", pending["id"]) == "pending"
    # newer deposits move the cursor beyond the pending one (and the overlap)
    state.add_deposit("BTC", "0.01", pending=False)
    sync_ok(config)
    assert status_of(db_path, "deposits", pending["id"]) == "pending"
    state.settle_deposit(pending["id"], ok=ok)
    sync_ok(config)
    assert status_of(db_path, "deposits", pending["id"]) == ("ok" if ok else "rejected")
    assert rows(db_path, "SELECT count(*) FROM deposits WHERE id = ?", (pending["id"],)) == [(1,)]


# --------------------------------------------------------------------------- withdrawals


def test_withdrawals_backfill_holds_on_chain_and_off_chain_ones(money, make_config, db_path):
    config, _ = make_config({"binance": entry(money, types=["withdrawals"])})
    sync_ok(config)
    expected = money.state.expected_funds()["withdrawals"]
    stored = table(db_path, "withdrawals")
    assert set(stored) == set(expected) and len(stored) == 60
    assert {row["internal"] for row in stored.values()} == {0, 1}
    for record_id, raw in expected.items():
        row = stored[record_id]
        assert (row["amount"], row["fee"]) == (raw["amount"], raw["transactionFee"])
        assert row["internal"] == raw["transferType"]
        assert row["status"] == {6: "ok", 1: "canceled"}[raw["status"]]
        if "completeTime" in raw:
            assert row["updated"] > row["timestamp"]
    money.reset_counts()
    sync_ok(config)
    assert rows(db_path, "SELECT count(*) FROM withdrawals") == [(60,)]
    assert money.counts["/sapi/v1/capital/withdraw/history"] == 1


@pytest.mark.parametrize("ok", [True, False])
def test_a_pending_withdrawal_is_updated_when_it_settles(money, make_config, db_path, ok):
    config, _ = make_config({"binance": entry(money, types=["withdrawals"])})
    state = money.state
    withdrawal = state.add_withdrawal("USDT", "99.9", ts=state.now_ms() - 2 * HOUR)
    sync_ok(config)
    assert status_of(db_path, "withdrawals", withdrawal["id"]) == "pending"
    state.add_withdrawal("USDT", "5", pending=False)
    sync_ok(config)
    state.settle_withdrawal(withdrawal["id"], ok=ok)
    sync_ok(config)
    row = table(db_path, "withdrawals")[withdrawal["id"]]
    assert row["status"] == ("ok" if ok else "failed")
    assert (row["txid"] is not None) == ok


# --------------------------------------------------------------------------- transfers


def test_transfers_backfill_holds_every_direction_each_row_once(money, make_config, db_path):
    config, _ = make_config({"binance": entry(money, types=["transfers"])})
    sync_ok(config)
    expected = money.state.expected_funds()["transfers"]
    stored = table(db_path, "transfers")
    assert set(stored) == set(expected) and len(stored) == 700
    wallets = {"MAIN": "spot", "UMFUTURE": "futures", "FUNDING": "funding"}
    for transfer_id, raw in expected.items():
        row = stored[transfer_id]
        source, target = raw["type"].split("_")
        assert (row["from_account"], row["to_account"]) == (wallets[source], wallets[target])
        assert row["amount"] == raw["amount"] and row["status"] == "ok"
    money.reset_counts()
    sync_ok(config)
    assert rows(db_path, "SELECT count(*) FROM transfers") == [(700,)]
    assert money.counts["/sapi/v1/asset/transfer"] == 6  # one per direction


def test_a_transfer_in_each_direction(money, make_config, db_path):
    config, _ = make_config({"binance": entry(money, types=["transfers"])})
    sync_ok(config)
    made = {
        kind: money.state.add_transfer("USDT", f"1{i}.5", kind)
        for i, kind in enumerate(
            (
                "MAIN_UMFUTURE",
                "UMFUTURE_MAIN",
                "MAIN_FUNDING",
                "FUNDING_MAIN",
                "FUNDING_UMFUTURE",
                "UMFUTURE_FUNDING",
            )
        )
    }
    pending = money.state.add_transfer("BTC", "0.1", "MAIN_UMFUTURE", status="PENDING")
    sync_ok(config)
    stored = table(db_path, "transfers")
    for kind, raw in made.items():
        row = stored[str(raw["tranId"])]
        assert (row["amount"], row["status"]) == (raw["amount"], "ok"), kind
    assert stored[str(pending["tranId"])]["status"] == "pending"
    money.state.settle_transfer(pending["tranId"], ok=False)
    sync_ok(config)
    assert status_of(db_path, "transfers", str(pending["tranId"])) == "failed"


# --------------------------------------------------------------------------- ledger


def test_ledger_backfill_equals_the_income_history(money, make_config, db_path):
    config, _ = make_config({"binance": entry(money, types=["ledger"])})
    sync_ok(config)
    expected = money.state.expected_funds()["income"]
    found = rows(db_path, "SELECT id, type, asset, symbol, amount, funding, reference FROM ledger")
    stored = {(r[0], r[1]): r[2:] for r in found}
    assert set(stored) == set(expected) and len(stored) > 1000  # more than a page
    kinds = {k[1] for k in stored}
    assert {"COMMISSION", "FUNDING_FEE", "REALIZED_PNL", "TRANSFER"} <= kinds
    for (tran_id, kind), raw in expected.items():
        asset, symbol, amount, funding, reference = stored[(tran_id, kind)]
        assert (asset, amount) == (raw["asset"], raw["income"])
        assert funding == (raw["income"] if kind == "FUNDING_FEE" else None)
        assert reference == (raw["tradeId"] or None)
        if raw["symbol"]:
            assert symbol == raw["symbol"].removesuffix("USDT") + "/USDT:USDT"
    # a fill's commission and its realised PnL share a tranId: both are kept
    shared = {k[0] for k in stored if k[1] == "REALIZED_PNL"}
    assert shared and all((t, "COMMISSION") in stored for t in shared)
    money.reset_counts()
    sync_ok(config)
    assert rows(db_path, "SELECT count(*) FROM ledger") == [(len(expected),)]
    assert money.counts["/fapi/v1/income"] == 1  # warm: one request


def test_new_income_arrives_incrementally(money, make_config, db_path):
    config, _ = make_config({"binance": entry(money, types=["ledger"])})
    sync_ok(config)
    added = money.state.add_income("FUNDING_FEE", "-0.12345678", symbol="ETHUSDT")
    sync_ok(config)
    row = rows(
        db_path,
        "SELECT symbol, amount, funding FROM ledger WHERE id = ? AND type = 'FUNDING_FEE'",
        (str(added["tranId"]),),
    )
    assert row == [("ETH/USDT:USDT", "-0.12345678", "-0.12345678")]


def readme_query(title: str) -> str:
    """The first SQL block of the README after the paragraph starting with `title`."""
    after = README[README.index(title) :]
    block = re.search(r"```sql\n(.*?)```", after, re.S)
    assert block is not None
    return block.group(1)


def test_funding_is_counted_once_by_the_readme_query(money, make_config, db_path):
    """Binance books funding in its income history only: the README's funding query over
    the ledger sums each funding fee once, with trades and the ledger both synced."""
    config, _ = make_config(
        {"binance": entry(money, types=["trades", "ledger"], symbols=["BTC/USDT:USDT"])}
    )
    sync_ok(config)
    paid: dict[str, Decimal] = {}
    for raw in money.state.expected_funds()["income"].values():
        if raw["incomeType"] == "FUNDING_FEE":
            symbol = raw["symbol"].removesuffix("USDT") + "/USDT:USDT"
            paid[symbol] = paid.get(symbol, Decimal(0)) - Decimal(raw["income"])
    found = {
        (exchange, symbol): value
        for exchange, symbol, value in rows(db_path, readme_query("Funding paid per symbol"))
    }
    assert paid and found.keys() == {("binance", s) for s in paid}
    for symbol, value in paid.items():
        assert found[("binance", symbol)] == pytest.approx(float(value))


# --------------------------------------------------------------------------- conversions


def test_conversions_backfill_equals_the_trade_flow(money, make_config, db_path):
    config, _ = make_config({"binance": entry(money, types=["conversions"])})
    sync_ok(config)
    expected = money.state.expected_funds()["converts"]
    stored = table(db_path, "conversions")
    assert set(stored) == set(expected) and len(stored) == 40
    for order_id, raw in expected.items():
        row = stored[order_id]
        assert (row["from_asset"], row["from_amount"], row["to_asset"], row["to_amount"]) == (
            raw["fromAsset"],
            raw["fromAmount"],
            raw["toAsset"],
            raw["toAmount"],
        )
        assert (row["status"], row["timestamp"]) == ("ok", raw["createTime"])
    money.reset_counts()
    sync_ok(config)
    assert rows(db_path, "SELECT count(*) FROM conversions") == [(40,)]
    assert money.counts["/sapi/v1/convert/tradeFlow"] == 1


def test_new_converts_arrive_and_one_processing_is_updated_when_it_settles(
    money, make_config, db_path
):
    config, _ = make_config({"binance": entry(money, types=["conversions"])})
    sync_ok(config)
    state = money.state
    done = state.add_conversion("USDT", "20", "BNB", "0.03448276")
    processing = state.add_conversion(
        "BTC", "0.001", "USDT", "65.1", status="PROCESS", ts=state.now_ms() - 2 * HOUR
    )
    sync_ok(config)
    stored = table(db_path, "conversions")
    assert stored[str(done["orderId"])]["to_amount"] == "0.03448276"
    assert stored[str(processing["orderId"])]["status"] == "pending"
    state.add_conversion("USDT", "5", "ETH", "0.0015")  # the cursor moves past it
    sync_ok(config)
    state.settle_conversion(processing["orderId"], ok=True)
    sync_ok(config)
    assert status_of(db_path, "conversions", str(processing["orderId"])) == "ok"


def test_a_window_of_more_converts_than_a_page_is_split_until_none_is_full(make_config, db_path):
    """The trade flow's order is not documented: a full page is never followed by time,
    its window is split in two until no page is full."""
    scenario = Scenario(seed=14, trades=0, conversions=1500, history_days=10)
    with BinanceSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        config, _ = make_config({"binance": entry(sim, types=["conversions"])})
        sync_ok(config)
        expected = sim.state.expected_funds()["converts"]
    assert set(table(db_path, "conversions")) == set(expected)


def test_a_convert_makes_its_assets_symbols_candidates(make_config, db_path):
    """USDT -> SOL by Convert, SOL traded on SOL/USDT, SOL -> USDT by Convert: nothing the
    account holds shows SOL, the convert history does."""
    scenario = Scenario(
        seed=15,
        spot_symbols=["BTCUSDT", "SOLUSDT", "ETHUSDT"],
        linear_symbols=[],
        balances={"USDT": 5_000.0},
        positions=0,
        open_orders=0,
        closed_orders=0,
        trades=0,
        deposits=0,
        internal_deposits=0,
        withdrawals=0,
        transfers=0,
        conversions=0,
        history_days=30,
    )
    with BinanceSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        state, now = sim.state, sim.state.now_ms()
        state.add_conversion("USDT", "300", "SOL", "2", ts=now - 6 * DAY)
        sol = state.add_trades(3, symbol="SOL/USDT", ts=now - 5 * DAY)
        state.add_conversion("SOL", "2", "USDT", "305", ts=now - 4 * DAY)
        state.remove_balance("SOL")
        sol_trades = "SELECT id FROM trades WHERE symbol = 'SOL/USDT'"
        config, _ = make_config({"binance": entry(sim, types=["trades"], market_types=["spot"])})
        for _ in range(2):
            sync_ok(config)
        assert rows(db_path, sol_trades) == []  # nothing the account holds shows SOL
        config, _ = make_config(
            {"binance": entry(sim, types=["conversions", "trades"], market_types=["spot"])}
        )
        for _ in range(2):  # the pass that stores the converts may walk its symbols first
            sync_ok(config)
    assert {r[0] for r in rows(db_path, sol_trades)} == {str(r["id"]) for r in sol}


# --------------------------------------------------------------------------- wallets


def wallets(db_path: Any) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {}
    for wallet, asset, total in rows(
        db_path, "SELECT wallet, asset, CAST(total AS REAL) FROM balances"
    ):
        found.setdefault(wallet, {})[asset] = total
    return found


def test_funding_wallet_and_simple_earn_are_wallets_in_balances(money, make_config, db_path):
    config, _ = make_config({"binance": entry(money, types=["balances"])})
    sync_ok(config)
    expected = money.state.expected_funds()
    stored = wallets(db_path)
    assert stored["funding"] == pytest.approx(expected["funding"])
    assert stored["earn"] == pytest.approx(expected["earn"])
    assert stored["spot"] == pytest.approx(money.state.expected()["balances"])

    money.state.set_funding_balance("BTC", 0)
    money.state.set_earn("SOL", 12.5, locked=True)
    money.state.set_earn("USDC", 7.25)
    sync_ok(config)
    stored = wallets(db_path)
    assert "BTC" not in stored["funding"]
    assert stored["earn"] == pytest.approx({"USDT": 500.0, "ETH": 0.5, "SOL": 12.5, "USDC": 7.25})


def test_earn_positions_beyond_a_page_are_all_read(money, make_config, db_path):
    for i in range(130):
        money.state.set_earn(f"C{i:03d}", 1.0 + i, locked=i % 2 == 0)
    config, _ = make_config({"binance": entry(money, types=["balances"])})
    sync_ok(config)
    assert len(wallets(db_path)["earn"]) == 132


def test_closed_positions_are_unsupported_with_the_reason(money, make_config, db_path):
    config, _ = make_config(
        {"binance": entry(money, types=["closed_positions"], market_types=["linear"])}
    )
    result = Synchronizer(config).sync()
    (unit,) = result.units
    assert unit.status == "unsupported"
    assert "closed-PnL" in unit.error and "ledger" in unit.error


# --------------------------------------------------------------------------- pacing


def test_withdrawal_history_keeps_to_its_per_second_budget(make_config, db_path):
    """Each withdrawal-history request weighs 18,000 of a budget of 180,000 a second: a
    backfill over many 90-day windows is paced to it, never answered 429."""
    with BinanceSimulator(Scenario(seed=16, trades=0), api_key=KEY, secret=SECRET) as sim:
        sim.enforce_rate_limits = True
        config, _ = make_config(
            {"binance": entry(sim, types=["withdrawals"], trades_since="1350d")}
        )
        sync_ok(config)
        times = sim.request_times("/sapi/v1/capital/withdraw/history")
    assert len(times) == 16  # one per 90-day window, none answered 429 and sent again
    per_second = Counter(int(t) for t in times)  # Binance counts per second
    assert max(per_second.values()) <= 10
    assert rows(db_path, "SELECT attempts FROM sync_runs") == [(1,)]
