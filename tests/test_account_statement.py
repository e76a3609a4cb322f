"""The account statement (ledger), closed positions and every wallet, through the real ccxt
client over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from exsync.orchestrator import Synchronizer
from exsync.simulator import BinanceSimulator, BybitSimulator, Scenario
from tests.conftest import KEY, SECRET, exchange_entry, rows, sync_ok


@pytest.fixture
def statement() -> Iterator[BybitSimulator]:
    """An account with funding, liquidations, transfers, closed positions and bonuses."""
    scenario = Scenario(
        seed=12,
        trades=200,
        booked_executions=60,
        transfers=200,
        sub_transfers=40,
        closed_pnl=600,
        ledger_entries=40,
        history_days=30,
    )
    with BybitSimulator(scenario, api_key=KEY, secret=SECRET) as sim:
        yield sim


def unified(raw_symbol: str, category: str) -> str:
    base = raw_symbol.removesuffix("USDT").removesuffix("USD")
    return {"linear": f"{base}/USDT:USDT", "inverse": f"{base}/USD:{base}"}[category]


# --------------------------------------------------------------------------- ledger


def test_ledger_backfill_equals_the_transaction_log(statement, make_config, db_path):
    entry = exchange_entry(
        statement.url, types=["ledger"], market_types=["spot", "linear", "inverse"]
    )
    config, _ = make_config({"bybit": entry})
    sync_ok(config)
    expected = statement.state.expected_funds()["ledger"]
    found = rows(
        db_path, "SELECT id, type, asset, symbol, amount, fee, funding, balance FROM ledger"
    )
    stored = {r[0]: r[1:] for r in found}
    assert set(stored) == set(expected) and len(stored) > 300
    types = {r[0] for r in stored.values()}
    assert {"SETTLEMENT", "TRADE", "TRANSFER_IN", "TRANSFER_OUT", "INTEREST"} <= types
    for entry_id, raw in expected.items():
        kind, asset, symbol, amount, fee, funding, balance = stored[entry_id]
        assert (kind, asset, amount, balance) == (
            raw["type"],
            raw["currency"],
            raw["change"],
            raw["cashBalance"],
        )
        assert fee == raw["fee"] and funding == (raw["funding"] or None)
        if raw["symbol"]:
            assert symbol == unified(raw["symbol"], raw["category"])
    statement.reset_counts()
    sync_ok(config)
    assert rows(db_path, "SELECT count(*) FROM ledger") == [(len(expected),)]
    assert statement.counts["/v5/account/transaction-log"] == 1  # warm: one window


def test_new_ledger_entries_arrive_incrementally(statement, make_config, db_path):
    config, _ = make_config({"bybit": exchange_entry(statement.url, types=["ledger"])})
    sync_ok(config)
    state = statement.state
    state.add_booked_executions("Funding", 2, symbol="BTCUSDT")
    state.add_transfer("USDT", "12.5", "FUND", "UNIFIED")
    sync_ok(config)
    expected = state.expected_funds()["ledger"]
    assert {r[0] for r in rows(db_path, "SELECT id FROM ledger")} == set(expected)
    last = rows(db_path, "SELECT type, amount FROM ledger ORDER BY timestamp DESC LIMIT 1")
    assert last == [("TRANSFER_IN", "12.5")]


def test_funding_is_the_same_events_in_the_ledger_and_in_trades(statement, make_config, db_path):
    """The README's funding query over the ledger agrees with trades' Funding executions:
    either source, never both."""
    config, _ = make_config({"bybit": exchange_entry(statement.url, types=["trades", "ledger"])})
    sync_ok(config)
    ledger: dict[str, Decimal] = {}
    for symbol, funding in rows(
        db_path, "SELECT symbol, funding FROM ledger WHERE type = 'SETTLEMENT'"
    ):
        ledger[symbol] = ledger.get(symbol, Decimal(0)) - Decimal(funding)
    trades = dict(
        rows(
            db_path,
            "SELECT symbol, sum(fee_cost) FROM trades WHERE exec_type = 'Funding' GROUP BY symbol",
        )
    )
    assert ledger and set(ledger) == set(trades)
    for symbol, paid in ledger.items():
        assert float(paid) == pytest.approx(trades[symbol])


# --------------------------------------------------------------------------- closed positions


def test_closed_positions_backfill_equals_closed_pnl(statement, make_config, db_path):
    entry = exchange_entry(
        statement.url, types=["closed_positions"], market_types=["linear", "inverse"]
    )
    config, _ = make_config({"bybit": entry})
    sync_ok(config)
    expected = statement.state.expected_funds()["closed_pnl"]
    categories = {
        i.symbol: c for c in ("linear", "inverse") for i in statement.state.instruments[c]
    }
    stored = {
        (r[0], r[1], r[2]): r[3:]
        for r in rows(
            db_path,
            "SELECT symbol, order_id, timestamp, side, closed_size, realized_pnl, exit_price, "
            "close_fee FROM closed_positions",
        )
    }
    assert len(stored) == len(expected) == 600
    for (raw_symbol, order_id, created), raw in expected.items():
        key = (unified(raw_symbol, categories[raw_symbol]), order_id, int(created))
        side, size, pnl, exit_price, close_fee = stored[key]
        assert side == ("long" if raw["side"] == "Sell" else "short")
        assert (size, pnl, exit_price, close_fee) == (
            raw["closedSize"],
            raw["closedPnl"],
            raw["avgExitPrice"],
            raw["closeFee"],
        )
    assert {k[0] for k in stored} >= {"BTC/USDT:USDT", "BTC/USD:BTC"}
    sync_ok(config)
    assert rows(db_path, "SELECT count(*) FROM closed_positions") == [(600,)]


def test_a_position_closed_twice_keeps_both_results(statement, make_config, db_path):
    config, _ = make_config({"bybit": exchange_entry(statement.url, types=["closed_positions"])})
    sync_ok(config)
    state = statement.state
    state.open_position("ETHUSDT", "Buy", size=2, entry_price=3000)
    state.close_position("ETHUSDT")
    state.open_position("ETHUSDT", "Sell", size=1, entry_price=3500)
    state.close_position("ETHUSDT")
    sync_ok(config)
    latest = [
        r
        for r in state.expected_funds()["closed_pnl"].values()
        if r["symbol"] == "ETHUSDT" and r["avgEntryPrice"] in ("3000.00", "3500.00")
    ]
    assert len(latest) == 2
    stored = rows(
        db_path,
        "SELECT side, closed_size, entry_price, realized_pnl FROM closed_positions "
        "WHERE symbol = 'ETH/USDT:USDT' AND entry_price IN ('3000.00', '3500.00') "
        "ORDER BY entry_price",
    )
    assert [(r[0], Decimal(r[1]), r[2]) for r in stored] == [
        ("long", 2, "3000.00"),
        ("short", 1, "3500.00"),
    ]
    assert {r[3] for r in stored} == {r["closedPnl"] for r in latest}


# --------------------------------------------------------------------------- wallets


def wallets(db_path: Any) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {}
    for wallet, asset, total in rows(
        db_path, "SELECT wallet, asset, CAST(total AS REAL) FROM balances"
    ):
        found.setdefault(wallet, {})[asset] = total
    return found


def test_funding_wallet_and_earn_are_wallets_in_balances(statement, make_config, db_path):
    config, _ = make_config({"bybit": exchange_entry(statement.url, types=["balances"])})
    sync_ok(config)
    expected = statement.state.expected_funds()
    stored = wallets(db_path)
    assert stored["funding"] == pytest.approx(expected["funding"])
    assert stored["earn"] == pytest.approx(expected["earn"])
    assert stored["unified"] == pytest.approx(statement.state.expected()["balances"])

    statement.state.set_funding_balance("BTC", 0)
    statement.state.set_earn("SOL", 12.5, category="OnChain")
    sync_ok(config)
    stored = wallets(db_path)
    assert "BTC" not in stored["funding"]
    assert stored["earn"]["SOL"] == 12.5


def test_a_key_without_wallet_permissions_keeps_them_with_a_warning(
    statement, make_config, db_path
):
    config, _ = make_config({"bybit": exchange_entry(statement.url, types=["balances"])})
    sync_ok(config)
    before = wallets(db_path)
    statement.state.deny("AccountTransfer")
    statement.state.deny("Earn")
    statement.state.set_balance("USDT", 1.0)
    result = sync_ok(config)
    (unit,) = result.units
    assert unit.status == "ok"
    assert any("wallet funding not read" in w for w in unit.warnings)
    assert any("wallet earn not read" in w for w in unit.warnings)
    stored = wallets(db_path)
    assert stored["funding"] == before["funding"] and stored["earn"] == before["earn"]
    assert stored["unified"]["USDT"] == 1.0


def test_the_types_an_exchange_does_not_provide_are_unsupported(statement, make_config, db_path):
    with BinanceSimulator(Scenario(seed=3), api_key=KEY, secret=SECRET) as sim:
        entry = exchange_entry(sim.url, ccxt_id="binance", symbols=["BTC/USDT:USDT"])
        entry["types"] = ["deposits", "ledger", "closed_positions"]
        bybit = exchange_entry(statement.url, types=["closed_positions", "conversions"])
        config, _ = make_config({"binance": entry, "bybit": bybit})
        result = Synchronizer(config).sync()
    assert {(u.exchange, u.data_type, u.status) for u in result.units} == {
        ("binance", "deposits", "ok"),
        ("binance", "ledger", "ok"),
        ("binance", "closed_positions", "unsupported"),
        ("bybit", "closed_positions", "ok"),
        ("bybit", "conversions", "unsupported"),
    }
    assert result.ok


def test_the_ledger_and_closed_pnl_reach_back_two_years_at_most(statement, make_config, db_path):
    from urllib.parse import parse_qs

    from tests.conftest import run

    entry = exchange_entry(
        statement.url,
        types=["ledger", "closed_positions"],
        market_types=["linear"],
        symbols=[],
        trades_since="1100d",
    )
    config, path = make_config({"bybit": entry})
    checked = run("config", "validate", "-c", str(path))
    assert checked.returncode == 0
    assert "keeps of ledger" in checked.stderr and "keeps of linear closed_positions" in (
        checked.stderr
    )
    for _ in range(2):  # never an error loop
        result = sync_ok(config)
        assert all(any("730 days" in w for w in u.warnings) for u in result.units)
    oldest = statement.state.now_ms() - 730 * 86_400_000
    for path_ in ("/v5/account/transaction-log", "/v5/position/closed-pnl"):
        starts = [int(parse_qs(q)["startTime"][0]) for _, p, q in statement.requests if p == path_]
        assert starts and min(starts) >= oldest
    assert rows(db_path, "SELECT count(*) FROM closed_positions")[0][0] == len(
        [k for k in statement.state.expected_funds()["closed_pnl"] if k[0].endswith("USDT")]
    )
