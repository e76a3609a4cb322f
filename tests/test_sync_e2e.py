"""End to end: the real ccxt bybit client against the simulated exchange over HTTP."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from exsync.datatypes import CONCRETE, DataType
from exsync.errors import ExitCode
from exsync.orchestrator import Synchronizer
from exsync.profiles import BYBIT
from exsync.simulator import BybitSimulator
from tests.conftest import SYMBOLS, exchange_entry, rows

DAY_MS = 86_400_000

#: the data types the simulated Bybit account syncs (the rest its profile does not describe)
SYNCED = tuple(t for t in CONCRETE if str(t) not in BYBIT.not_synced)


def sync(config, *types: DataType | str):  # type: ignore[no-untyped-def]
    result = Synchronizer(config).sync(types=list(types) or [DataType.ALL])
    return result


def table_counts(db_path: Path) -> dict[str, int]:
    return {
        table: rows(db_path, f"SELECT count(*) FROM {table}")[0][0]
        for table in ("balances", "positions", "orders", "trades", "tickers", "ohlcv")
    }


def test_full_pass_stores_what_the_exchange_holds(sim: BybitSimulator, make_config, database):
    config, _ = make_config({"bybit": exchange_entry(sim.url)}, db=database)
    result = sync(config)
    assert result.exit_code is ExitCode.OK, [u for u in result.units if u.status != "ok"]
    assert sorted(u.data_type for u in result.units) == sorted(str(t) for t in CONCRETE)
    state = sim.state

    stored = dict(
        rows(
            database,
            "SELECT asset, CAST(total AS FLOAT) FROM balances WHERE wallet = 'unified'",
        )
    )
    assert stored == pytest.approx({c: v for c, v in state.balances.items() if v})

    positions = rows(
        database,
        "SELECT symbol, side, CAST(contracts AS FLOAT), CAST(entry_price AS FLOAT), status "
        "FROM positions",
    )
    assert len(positions) == len(state.positions) > 0
    for raw in state.positions:
        symbol = raw["symbol"].replace("USDT", "/USDT:USDT")
        side = "long" if raw["side"] == "Buy" else "short"
        match = [p for p in positions if p[0] == symbol and p[1] == side]
        assert match, (symbol, side, positions)
        assert match[0][2] == pytest.approx(float(raw["size"]))
        assert match[0][3] == pytest.approx(float(raw["avgPrice"]))
        assert match[0][4] == "open"

    open_ids = {o["orderId"] for o in state.open_orders}
    stored_open = {r[0] for r in rows(database, "SELECT id FROM orders WHERE status = 'open'")}
    assert stored_open == open_ids and open_ids

    since = result_since(config)
    day_ago = int(time.time() * 1000) - DAY_MS
    visible = {  # what order/history still serves: fills, and cancellations of the last 24 h
        o["orderId"]: o["orderStatus"]
        for o in state.history_orders
        if int(o["updatedTime"]) >= since
        and (float(o["cumExecQty"]) > 0 or int(o["updatedTime"]) >= day_ago)
    }
    stored_closed = dict(rows(database, "SELECT id, status FROM orders WHERE status != 'open'"))
    assert set(stored_closed) == set(visible) and len(visible) > 20
    ccxt_status = {
        "Filled": "closed",
        "Cancelled": "canceled",
        "PartiallyFilledCanceled": "canceled",
    }
    assert {i: ccxt_status.get(s, s) for i, s in visible.items()} == stored_closed

    expected = {e["execId"]: e for e in state.executions if int(e["execTime"]) >= since}
    stored_trades = {
        r[0]: r
        for r in rows(
            database,
            "SELECT id, CAST(price AS FLOAT), CAST(amount AS FLOAT), CAST(fee_cost AS FLOAT), "
            "timestamp FROM trades",
        )
    }
    assert set(stored_trades) == set(expected)
    assert len(expected) > 300  # several pages and 7-day windows
    for exec_id, raw in list(expected.items())[:50]:
        _, price, amount, fee, ts = stored_trades[exec_id]
        assert price == pytest.approx(float(raw["execPrice"]))
        assert amount == pytest.approx(float(raw["execQty"]))
        assert fee == pytest.approx(abs(float(raw["execFee"])))
        assert ts == int(raw["execTime"])

    tickers = {r[0] for r in rows(database, "SELECT symbol FROM tickers WHERE last > 0")}
    assert tickers == set(SYMBOLS)

    candles = rows(
        database,
        "SELECT timestamp, CAST(open AS FLOAT), CAST(close AS FLOAT) FROM ohlcv "
        "WHERE symbol = 'BTC/USDT' AND timeframe = '1h' "
        "ORDER BY timestamp",
    )
    assert 47 <= len(candles) <= 50  # 2 days of hourly candles, the last one forming
    stamps = [c[0] for c in candles]
    assert stamps == sorted(set(stamps)) and all(
        b - a == 3_600_000 for a, b in itertools.pairwise(stamps)
    )
    first = state.kline("BTCUSDT", "60", candles[0][0], category="spot")
    assert candles[0][1] == pytest.approx(first[0]) and candles[0][2] == pytest.approx(first[3])

    runs = rows(database, "SELECT data_type, status, records, attempts FROM sync_runs")
    assert {(r[0], r[1]) for r in runs} == {(str(t), "ok") for t in SYNCED} | {
        (str(t), "unsupported") for t in CONCRETE if t not in SYNCED
    }
    assert all(r[3] == 1 for r in runs if r[1] == "ok")


def result_since(config) -> int:  # type: ignore[no-untyped-def]
    from exsync.durations import parse_since

    return parse_since(config.exchange("bybit").settings.trades_since, int(time.time() * 1000))


def test_rerun_is_idempotent_and_warm(sim: BybitSimulator, make_config, database):
    config, _ = make_config({"bybit": exchange_entry(sim.url)}, db=database)
    first_requests = sim.counts.copy()
    assert sync(config).ok
    cold = sum(sim.counts.values()) - sum(first_requests.values())
    counts = table_counts(database)
    cursors = dict(
        rows(database, "SELECT stream, position FROM cursors WHERE stream NOT LIKE 'ohlcv:%'")
    )
    sim.reset_counts()

    assert sync(config).ok
    assert table_counts(database) == counts
    after = dict(
        rows(database, "SELECT stream, position FROM cursors WHERE stream NOT LIKE 'ohlcv:%'")
    )
    assert after == cursors
    # Warm: no instrument download; one page per incremental stream. Bybit's last page
    # carries a cursor too: a short page ends the walk, not an empty one.
    assert sim.counts["/v5/market/instruments-info"] == 0
    assert sim.counts["/v5/execution/list"] == 2  # spot + linear, one window each
    assert sim.counts["/v5/order/history"] == 2
    assert sim.counts["/v5/order/realtime"] == 2  # spot + linear open orders
    assert sim.counts["/v5/position/list"] == 1
    warm = sum(sim.counts.values())
    assert warm < cold
    snapshots = rows(database, "SELECT count(DISTINCT run_id) FROM balance_snapshots")[0][0]
    assert snapshots == 2


def test_second_pass_fetches_only_new_pages(sim: BybitSimulator, make_config, db_path):
    config, _ = make_config({"bybit": exchange_entry(sim.url)})
    assert sync(config, "trades").ok
    before = rows(db_path, "SELECT count(*) FROM trades")[0][0]
    added = sim.state.add_trades(150, category="linear")
    sim.reset_counts()

    assert sync(config, "trades").ok
    assert rows(db_path, "SELECT count(*) FROM trades")[0][0] == before + 150
    stored = {r[0] for r in rows(db_path, "SELECT id FROM trades")}
    assert {t["execId"] for t in added} <= stored
    # linear: 150 new rows = 2 pages of 100; spot: one empty page
    assert sim.counts["/v5/execution/list"] == 3


def test_disappeared_things_disappear_from_the_copy(sim: BybitSimulator, make_config, database):
    config, _ = make_config({"bybit": exchange_entry(sim.url)}, db=database)
    assert sync(config).ok
    state = sim.state
    gone_position = state.positions[0]
    symbol = gone_position["symbol"].replace("USDT", "/USDT:USDT")
    state.close_position(gone_position["symbol"])
    sold = next(c for c in state.balances if c != "USDT")
    state.remove_balance(sold)
    filled, cancelled = state.open_orders[0]["orderId"], state.open_orders[1]["orderId"]
    state.fill_order(filled)
    state.cancel_order(cancelled)

    assert sync(config).ok
    unified = "SELECT asset FROM balances WHERE asset = ? AND wallet = 'unified'"
    assert rows(database, unified, (sold,)) == []
    status = rows(database, "SELECT status, closed_at FROM positions WHERE symbol = ?", (symbol,))
    assert status[0][0] == "closed" and status[0][1]
    still_open = rows(database, "SELECT count(*) FROM positions WHERE status = 'open'")[0][0]
    assert still_open == len(state.positions)
    final = dict(
        rows(database, "SELECT id, status FROM orders WHERE id IN (?, ?)", (filled, cancelled))
    )
    assert final == {filled: "closed", cancelled: "canceled"}
    # the sold asset is still in the history of snapshots, but not in the latest balances
    snapshots = "SELECT count(*) FROM balance_snapshots WHERE asset = ? AND wallet = 'unified'"
    assert rows(database, snapshots, (sold,))[0][0] == 1


def test_one_failing_exchange_does_not_stop_the_other(
    sim: BybitSimulator, make_config, db_path, monkeypatch
):
    monkeypatch.setenv("WRONG_SECRET", "not-the-secret")
    config, _ = make_config(
        {
            "bybit": exchange_entry(sim.url),
            "broken": exchange_entry(sim.url, secret_env="WRONG_SECRET"),
        }
    )
    result = sync(config)
    assert result.exit_code is ExitCode.FAILED
    by_exchange = {(u.exchange, u.data_type): u for u in result.units}
    assert all(by_exchange[("bybit", str(t))].status == "ok" for t in SYNCED)
    public = {DataType.TICKERS, DataType.OHLCV}
    private = [t for t in SYNCED if t not in public]
    for data_type in private:
        unit = by_exchange[("broken", str(data_type))]
        assert unit.status == "failed"
        assert unit.error.startswith("AuthenticationError")
        assert unit.attempts == 1  # permanent: not retried
    # public market data needs no key and still arrives
    assert by_exchange[("broken", "tickers")].status == "ok"
    assert rows(db_path, "SELECT count(*) FROM trades WHERE exchange = 'broken'")[0][0] == 0
    assert rows(db_path, "SELECT count(*) FROM trades WHERE exchange = 'bybit'")[0][0] > 0
    failed = rows(db_path, "SELECT count(*) FROM sync_runs WHERE status = 'failed'")[0][0]
    assert failed == len(private)
    errors = " ".join(
        r[0] for r in rows(db_path, "SELECT error FROM sync_runs WHERE error IS NOT NULL")
    )
    assert "not-the-secret" not in errors


def test_unreachable_exchange_is_retried_then_failed(sim: BybitSimulator, make_config, db_path):
    config, _ = make_config(
        {
            "bybit": exchange_entry(sim.url, types=["balances"]),
            "down": exchange_entry("http://127.0.0.1:9", types=["balances"], max_tries=3),
        }
    )
    result = sync(config)
    by_exchange = {u.exchange: u for u in result.units}
    assert by_exchange["bybit"].status == "ok"
    assert by_exchange["down"].status == "failed"
    assert by_exchange["down"].error.startswith(("NetworkError", "ExchangeNotAvailable"))
    assert by_exchange["down"].attempts == 3
    assert result.exit_code is ExitCode.FAILED


def test_transient_error_is_retried_and_recorded(sim: BybitSimulator, make_config, db_path):
    config, _ = make_config({"bybit": exchange_entry(sim.url, types=["positions"])})
    assert sync(config).ok  # warm the market cache
    sim.fail_next(path="/v5/position/list", times=1, status=503, body="<html>503</html>")
    result = sync(config)
    assert result.ok
    assert result.units[0].attempts == 2
    assert rows(db_path, "SELECT attempts FROM sync_runs ORDER BY id DESC LIMIT 1") == [(2,)]


def test_backfill_walks_every_window_from_trades_since(sim: BybitSimulator, make_config, db_path):
    config, _ = make_config(
        {"bybit": exchange_entry(sim.url, trades_since="35d", types=["trades"])}
    )
    sim.reset_counts()
    assert sync(config).ok
    windows = [q for m, p, q in sim.requests if p == "/v5/execution/list"]
    for category in ("spot", "linear"):
        starts = sorted(
            {int(_param(q, "startTime")) for q in windows if _param(q, "category") == category}
        )
        assert len(starts) == 6  # 35 days in 7-day windows, the last one reaching now
        assert all(b - a == 7 * DAY_MS for a, b in itertools.pairwise(starts))
    for query in windows:
        span = int(_param(query, "endTime")) - int(_param(query, "startTime"))
        assert 0 <= span <= 7 * DAY_MS


def _param(query: str, name: str) -> str:
    from urllib.parse import parse_qs

    return parse_qs(query)[name][0]


def test_garbled_response_never_wipes_the_mirror(sim: BybitSimulator, make_config, database):
    config, _ = make_config(
        {"bybit": exchange_entry(sim.url, types=["balances"], max_tries=3)}, db=database
    )
    assert sync(config).ok
    before = rows(database, "SELECT asset, total FROM balances ORDER BY asset")
    assert before

    sim.fail_next(path="/v5/account/wallet-balance", times=1, kind="malformed")
    retried = sync(config)
    assert retried.ok and retried.units[0].attempts == 2

    sim.fail_next(path="/v5/account/wallet-balance", times=3, kind="malformed")
    failed = sync(config)
    assert failed.exit_code is ExitCode.FAILED
    assert failed.units[0].error.startswith("BadResponse")
    assert rows(database, "SELECT asset, total FROM balances ORDER BY asset") == before


def test_unsupported_type_is_reported_not_failed(sim: BybitSimulator, make_config, db_path):
    config, _ = make_config(
        {"bybit": exchange_entry(sim.url, market_types=["spot"], symbols=["BTC/USDT"])}
    )
    result = sync(config)
    assert result.exit_code is ExitCode.OK
    positions = next(u for u in result.units if u.data_type == "positions")
    assert positions.status == "unsupported"
    assert "contract market type" in positions.error
    assert sim.counts["/v5/position/list"] == 0
    assert rows(db_path, "SELECT count(*) FROM breakers WHERE data_type = 'positions'") == [(0,)]
    from exsync.status import unit_statuses
    from exsync.store import Store

    with Store(db_path) as store:
        status = {s.data_type: s for s in unit_statuses(store, config)}
    assert status["positions"].last_status == "unsupported" and not status["positions"].stale


class Recorder:
    def __init__(self, broken: bool = False) -> None:
        self.events: list[tuple[str, str, str]] = []
        self.rows: dict[str, int] = {}
        self.broken = broken

    def started(self, exchange: str, data_type: str) -> None:
        self.events.append(("started", exchange, data_type))

    def received(self, exchange: str, data_type: str, rows: int) -> None:
        if self.broken:
            raise RuntimeError("display gone")
        self.rows[data_type] = self.rows.get(data_type, 0) + rows

    def finished(self, unit) -> None:  # type: ignore[no-untyped-def]
        self.events.append(("finished", unit.exchange, unit.data_type))


def test_progress_is_reported_and_never_fails_a_unit(sim: BybitSimulator, make_config, db_path):
    config, _ = make_config({"bybit": exchange_entry(sim.url)})
    recorder = Recorder()
    assert Synchronizer(config, progress=recorder).sync().ok
    for data_type in SYNCED:
        assert ("started", "bybit", str(data_type)) in recorder.events
        assert ("finished", "bybit", str(data_type)) in recorder.events
    assert recorder.rows["trades"] >= rows(db_path, "SELECT count(*) FROM trades")[0][0]
    assert Synchronizer(config, progress=Recorder(broken=True)).sync().ok


def test_trouble_in_one_exchange_keeps_the_units_it_finished(
    sim: BybitSimulator, make_config, db_path, monkeypatch
):
    from exsync.orchestrator import ExchangePass

    config, _ = make_config(
        {
            "bybit": exchange_entry(sim.url, types=["balances"]),
            "other": exchange_entry(sim.url, types=["balances", "tickers"]),
        }
    )
    original = ExchangePass._run_units

    async def then_fail(self, data_types):  # type: ignore[no-untyped-def]
        units = await original(self, data_types)
        if self.name == "other":
            raise RuntimeError("the client could not be closed")
        return units

    monkeypatch.setattr(ExchangePass, "_run_units", then_fail)
    result = sync(config)
    assert result.exit_code is ExitCode.OK  # both of "other"'s units had finished
    assert sorted((u.exchange, u.data_type, u.status) for u in result.units) == [
        ("bybit", "balances", "ok"),
        ("other", "balances", "ok"),
        ("other", "tickers", "ok"),
    ]
    # recorded once each: no second, failed row for a unit that had finished
    assert rows(db_path, "SELECT count(*) FROM sync_runs") == [(3,)]
