"""Operating exsync: check, metrics, pruning and retention, the foreground loop, logging."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from pathlib import Path

from exsync.simulator import BybitSimulator
from tests.conftest import KEY, SECRET, exchange_entry, rows, run, start, write_config


def synced(sim: BybitSimulator, tmp_path: Path, **top) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    db = tmp_path / "x.db"
    entry = exchange_entry(sim.url, types=["balances", "tickers"], symbols=["BTC/USDT"])
    config = write_config(tmp_path / "c.yaml", db, {"bybit": entry}, **top)
    done = run("sync", "-c", str(config))
    assert done.returncode == 0, done.stderr
    return db, config


def test_check_is_a_monitoring_plugin(sim: BybitSimulator, tmp_path: Path):
    _, config = synced(sim, tmp_path)
    ok = run("check", "-c", str(config))
    assert ok.returncode == 0 and ok.stdout.startswith("OK: 2 units fresh")
    assert "ccxt" not in ok.stderr
    assert run("breaker", "trip", "-c", str(config), "-e", "bybit", "--for", "1h").returncode == 0
    critical = run("check", "-c", str(config))
    assert critical.returncode == 2
    assert critical.stdout.startswith("CRITICAL: ") and "breaker open" in critical.stdout
    assert len(critical.stdout.strip().splitlines()) == 1
    missing = run("check", "--db", str(tmp_path / "none.db"))
    assert missing.returncode == 2


def test_metrics_file_after_each_pass(sim: BybitSimulator, tmp_path: Path):
    metrics = tmp_path / "metrics" / "exsync.prom"
    metrics.parent.mkdir()
    _, config = synced(sim, tmp_path)
    done = run("sync", "-c", str(config), "--metrics-file", str(metrics))
    assert done.returncode == 0, done.stderr
    text = metrics.read_text(encoding="utf-8")
    assert "# TYPE exsync_last_success_timestamp_seconds gauge" in text
    line = next(
        x
        for x in text.splitlines()
        if x.startswith('exsync_last_run_records{exchange="bybit",data_type="tickers"}')
    )
    assert float(line.split()[-1]) == 1.0
    assert list(metrics.parent.iterdir()) == [metrics]  # written atomically, no temp left


def test_history_prune_and_retention(sim: BybitSimulator, tmp_path: Path):
    db, config = synced(sim, tmp_path)
    assert run("sync", "-c", str(config)).returncode == 0
    first = rows(db, "SELECT run_id FROM sync_runs ORDER BY id LIMIT 1")[0][0]
    conn = sqlite3.connect(db)
    conn.execute(
        "UPDATE sync_runs SET finished_at = '2020-01-01T00:00:00.000+00:00' WHERE run_id = ?",
        (first,),
    )
    conn.execute(
        "UPDATE balance_snapshots SET taken_at = '2020-01-01T00:00:00.000+00:00' WHERE run_id = ?",
        (first,),
    )
    conn.commit()
    conn.close()
    pruned = run("history", "prune", "--older-than", "365d", "--db", str(db))
    assert pruned.returncode == 0, pruned.stderr
    assert "sync_runs: 2 row(s) deleted" in pruned.stdout
    assert rows(db, "SELECT count(*) FROM sync_runs WHERE run_id = ?", (first,)) == [(0,)]
    assert rows(db, "SELECT count(*) FROM balance_snapshots WHERE run_id = ?", (first,)) == [(0,)]
    assert rows(db, "SELECT count(*) FROM sync_runs")[0][0] == 2  # the newest pass stays

    # retention in the config prunes at the end of every pass
    conn = sqlite3.connect(db)
    conn.execute("UPDATE sync_runs SET finished_at = '2021-01-01T00:00:00.000+00:00'")
    conn.commit()
    conn.close()
    entry = exchange_entry(sim.url, types=["balances", "tickers"], symbols=["BTC/USDT"])
    config = write_config(tmp_path / "c2.yaml", db, {"bybit": entry}, retention="30d")
    assert run("sync", "-c", str(config)).returncode == 0
    assert rows(db, "SELECT count(*) FROM sync_runs WHERE finished_at < '2022'") == [(0,)]
    assert rows(db, "SELECT count(*) FROM sync_runs")[0][0] == 2


def test_history_still_lists(sim: BybitSimulator, tmp_path: Path):
    db, _ = synced(sim, tmp_path)
    listed = run("history", "--db", str(db), "--json", "-n", "1")
    assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 1


def test_foreground_loop_stops_cleanly_on_sigterm(sim: BybitSimulator, tmp_path: Path):
    db, config = synced(sim, tmp_path)
    proc = start("run", "--every", "1s", "-c", str(config))
    deadline = time.monotonic() + 60
    while rows(db, "SELECT count(DISTINCT run_id) FROM sync_runs")[0][0] < 3:
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    stderr = proc.stderr.read()
    assert "Traceback" not in stderr
    # every pass that started also finished: each run has both of its units
    per_run = rows(db, "SELECT run_id, count(*) FROM sync_runs GROUP BY run_id")
    assert all(count == 2 for _, count in per_run)
    assert rows(db, "SELECT count(*) FROM locks") == [(0,)]


def test_log_formats_and_no_secrets_even_in_debug(sim: BybitSimulator, tmp_path: Path):
    _, config = synced(sim, tmp_path)
    as_json = run("-vv", "--log-format", "json", "sync", "-c", str(config))
    assert as_json.returncode == 0
    records = [json.loads(line) for line in as_json.stderr.splitlines()]
    assert any(r["message"].startswith("bybit balances ok") for r in records)
    assert {"time", "level", "logger", "message"} <= set(records[0])
    journal = run("-v", "--log-format", "journal", "sync", "-c", str(config))
    lines = journal.stderr.splitlines()
    assert lines and all(line[:3] in ("<6>", "<4>", "<3>", "<7>") for line in lines)
    for output in (as_json.stderr, journal.stderr):
        assert KEY not in output and SECRET not in output
