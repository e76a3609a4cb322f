"""exsync.metrics: Prometheus text from a real database, and the atomic textfile write."""

from __future__ import annotations

import os
import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from exsync.config import Config, Settings
from exsync.metrics import render_metrics, write_metrics
from exsync.store import Store, breaker

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"^({_NAME})(?:\{{(.*)\}})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}

Labels = frozenset[tuple[str, str]]


def parse_exposition(text: str) -> dict[str, dict[str, object]]:
    """A strict reading of the text format: {family: {"type", "help", "samples"}}.

    Fails on anything the format forbids: a sample before its family's TYPE, a family
    split in two, a duplicate series, a malformed label set or value, no final newline.
    """
    assert text.endswith("\n")
    families: dict[str, dict[str, object]] = {}
    current: str | None = None
    seen: set[tuple[str, Labels]] = set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            assert name not in families, f"family {name} split or repeated"
            families[name] = {"help": help_text, "type": None, "samples": {}}
            current = name
            continue
        if line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert name == current and kind in ("gauge", "counter"), line
            families[name]["type"] = kind
            continue
        assert not line.startswith("#") and line.strip(), repr(line)
        match = _SAMPLE.match(line)
        assert match, f"malformed sample: {line!r}"
        name, label_text, value = match.groups()
        assert name == current and families[name]["type"], f"{name} outside its family"
        if families[name]["type"] == "counter":
            assert name.endswith("_total")
        labels: dict[str, str] = {}
        rest = label_text or ""
        while rest:
            label = _LABEL.match(rest)
            assert label, f"malformed labels: {label_text!r}"
            labels[label.group(1)] = re.sub(
                r"\\[\\\"n]", lambda m: _ESCAPES[m.group(0)], label.group(2)
            )
            rest = rest[label.end() :]
            assert rest == "" or rest.startswith(","), label_text
            rest = rest[1:]
        key = frozenset(labels.items())
        assert (name, key) not in seen, f"duplicate series {line!r}"
        seen.add((name, key))
        samples = families[name]["samples"]
        assert isinstance(samples, dict)
        samples[key] = float(value)
    return families


def sample(families: dict[str, dict[str, object]], name: str, **labels: str) -> float | None:
    samples = families[name]["samples"]
    assert isinstance(samples, dict)
    return samples.get(frozenset(labels.items()))


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def record(
    store: Store,
    exchange: str,
    data_type: str,
    finished: datetime,
    status: str = "ok",
    records: int = 0,
    seconds: float = 2.5,
    attempts: int = 1,
) -> None:
    with store.transaction():
        store.record_run(
            run_id=f"run-{finished:%H%M%S}",
            exchange=exchange,
            data_type=data_type,
            started_at=iso(finished - timedelta(seconds=seconds)),
            finished_at=iso(finished),
            status=status,
            records=records,
            attempts=attempts,
            error=None if status == "ok" else "boom",
        )
        if status != "skipped":  # as the orchestrator does
            breaker.record(store, exchange, data_type, status == "ok", "boom", Settings(), now=NOW)


def test_metrics_of_each_unit(store: Store, config: Config) -> None:
    ok_at = NOW - timedelta(minutes=5)
    record(store, "bybit", "trades", ok_at - timedelta(minutes=5), records=3)
    record(store, "bybit", "trades", ok_at, records=12, seconds=2.5, attempts=2)
    record(store, "bybit", "orders", NOW - timedelta(hours=2), records=4)
    for minutes in (30, 20, 10):
        record(store, "bybit", "orders", NOW - timedelta(minutes=minutes), status="failed")
    # The third consecutive failure opened the breaker (failure_threshold 3).
    record(store, "okx", "balances", NOW - timedelta(minutes=1), status="skipped", seconds=0)

    families = parse_exposition(render_metrics(store, config, now=NOW))
    assert all(f["type"] and f["help"] for f in families.values())
    trades = {"exchange": "bybit", "data_type": "trades"}
    orders = {"exchange": "bybit", "data_type": "orders"}
    okx = {"exchange": "okx", "data_type": "balances"}
    balances = {"exchange": "bybit", "data_type": "balances"}

    assert sample(families, "exsync_last_success_timestamp_seconds", **trades) == (
        ok_at.timestamp()
    )
    assert sample(families, "exsync_last_run_timestamp_seconds", **trades) == ok_at.timestamp()
    assert sample(families, "exsync_last_run_duration_seconds", **trades) == 2.5
    assert sample(families, "exsync_last_run_records", **trades) == 12
    assert sample(families, "exsync_last_run_attempts", **trades) == 2
    assert sample(families, "exsync_last_run_status", **trades, status="ok") == 1
    assert sample(families, "exsync_last_run_status", **trades, status="failed") == 0
    assert sample(families, "exsync_breaker_state", **trades) == 0
    assert sample(families, "exsync_stale_after_seconds", **trades) == 3600

    assert sample(families, "exsync_last_run_status", **orders, status="failed") == 1
    assert sample(families, "exsync_breaker_state", **orders) == 2
    assert sample(families, "exsync_breaker_consecutive_failures", **orders) == 3
    assert sample(families, "exsync_last_success_timestamp_seconds", **orders) == (
        (NOW - timedelta(hours=2)).timestamp()
    )

    assert sample(families, "exsync_last_run_status", **okx, status="skipped") == 1
    assert sample(families, "exsync_last_success_timestamp_seconds", **okx) == 0
    assert sample(families, "exsync_stale_after_seconds", **okx) == 600

    # Configured but never ran: success 0 (so age alerts fire), no last-run samples.
    assert sample(families, "exsync_last_success_timestamp_seconds", **balances) == 0
    assert sample(families, "exsync_last_run_records", **balances) is None
    assert sample(families, "exsync_last_run_status", **balances, status="ok") is None
    assert "exsync_unit_failures_total" not in families


def test_failures_total_on_request(store: Store, config: Config) -> None:
    for minutes, status in ((40, "failed"), (30, "ok"), (20, "failed"), (10, "failed")):
        record(store, "bybit", "trades", NOW - timedelta(minutes=minutes), status=status)
    families = parse_exposition(render_metrics(store, config, count_failures=True, now=NOW))
    assert families["exsync_unit_failures_total"]["type"] == "counter"
    assert sample(families, "exsync_unit_failures_total", exchange="bybit", data_type="trades") == 3
    assert sample(families, "exsync_unit_failures_total", exchange="okx", data_type="balances") == 0


def test_half_open_breaker_is_1(store: Store, config: Config) -> None:
    breaker.trip(store, "okx", ["balances"], 60, "by hand", now=NOW - timedelta(minutes=2))
    assert breaker.admit(store, "okx", "balances", "probe", 120, now=NOW).probe
    families = parse_exposition(render_metrics(store, config, now=NOW))
    assert sample(families, "exsync_breaker_state", exchange="okx", data_type="balances") == 1


def test_unconfigured_units_only_without_a_config(store: Store, config: Config) -> None:
    record(store, "binance", "balances", NOW)
    with_config = parse_exposition(render_metrics(store, config, now=NOW))
    key = {"exchange": "binance", "data_type": "balances"}
    assert sample(with_config, "exsync_last_run_records", **key) is None
    without = parse_exposition(render_metrics(store, None, now=NOW))
    assert sample(without, "exsync_last_run_records", **key) == 0
    assert sample(without, "exsync_last_run_records", exchange="bybit", data_type="trades") is None


def test_label_values_are_escaped(store: Store) -> None:
    odd = 'we"ird\\name\nx'
    record(store, odd, "balances", NOW, records=7)
    text = render_metrics(store, None, now=NOW)
    assert 'exchange="we\\"ird\\\\name\\nx"' in text
    families = parse_exposition(text)
    assert sample(families, "exsync_last_run_records", exchange=odd, data_type="balances") == 7


def test_empty_database_has_headers_only(store: Store) -> None:
    families = parse_exposition(render_metrics(store, None, now=NOW))
    assert families and all(not f["samples"] for f in families.values())


def test_prometheus_client_parses_it_when_installed(store: Store, config: Config) -> None:
    parser = pytest.importorskip("prometheus_client.parser")
    record(store, "bybit", "trades", NOW, records=5)
    text = render_metrics(store, config, count_failures=True, now=NOW)
    names = {family.name for family in parser.text_string_to_metric_families(text)}
    assert "exsync_last_run_records" in names


# -- the textfile ----------------------------------------------------------------------------


def test_write_metrics_replaces_the_file_atomically(tmp_path: Path) -> None:
    target = tmp_path / "exsync.prom"
    write_metrics(target, "a 1\n")
    first_inode = target.stat().st_ino
    write_metrics(target, "a 2\n")
    assert target.read_text() == "a 2\n"
    assert target.stat().st_ino != first_inode  # a new file renamed over the old one
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # node_exporter is another user
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exsync.prom"]


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "exsync.prom"
    write_metrics(target, "old 1\n")

    def refuse(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space"):
        write_metrics(target, "new 1\n")
    assert target.read_text() == "old 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exsync.prom"]


def test_missing_directory_is_an_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        write_metrics(tmp_path / "missing" / "exsync.prom", "a 1\n")


def test_temporary_file_is_hidden_from_the_collector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # node_exporter reads *.prom only: the temporary name must not end in .prom.
    seen: list[str] = []
    real_replace = os.replace

    def spy(source: str, target: str) -> None:
        seen.append(Path(source).name)
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", spy)
    write_metrics(tmp_path / "exsync.prom", "a 1\n")
    assert seen and seen[0].startswith(".") and not seen[0].endswith(".prom")
