"""How many accounts one IP serves, and what they cost the PostgreSQL server.

A warm `sync --type all` pass of N accounts of each exchange on the simulators: its requests
(and request weight) per account, how many accounts the exchange's documented per-IP limits
then allow at one pass every 1, 5 and 15 minutes, and the server's side of the pass
(transactions, rows, WAL, time) per account, from pg_stat_database and the server's CPU.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from benchmarks.harness import KEY, SECRET, symbols, timed
from benchmarks.postgres import NO_SERVER, PASSWORD, SERVER, scratch_database
from exsync.config import load_config
from exsync.orchestrator import Synchronizer
from exsync.pacing import IP_HEADROOM
from exsync.profiles import BINANCE, BYBIT, Profile
from exsync.simulator import BinanceSimulator, BybitSimulator, Scenario

Row = tuple[str, str, str]

INTERVALS = (("1 min", 60), ("5 min", 300), ("15 min", 900))
PASSWORD_ENV = "BENCH_DB_PASSWORD"


def warm_pass_at_scale(workdir: Path, quick: bool) -> list[Row]:
    """Per exchange: a warm pass of N accounts, per account; accounts per IP; server load."""
    accounts = 3 if quick else 10
    rows: list[Row] = []
    for exchange in ("bybit", "binance"):
        rows.extend(_exchange(exchange, accounts, workdir))
    if not SERVER:
        rows.append(("PostgreSQL load", *NO_SERVER[1:]))
    return rows


def _exchange(exchange: str, accounts: int, workdir: Path) -> list[Row]:
    profile = BYBIT if exchange == "bybit" else BINANCE
    os.environ.update(BENCH_KEY=KEY, BENCH_SECRET=SECRET)
    os.environ[PASSWORD_ENV] = PASSWORD or ""
    # a PostgreSQL database keeps the host's request budget in its state directory
    os.environ["XDG_STATE_HOME"] = str(workdir / "state")
    with ExitStack() as stack:
        if exchange == "bybit":
            ids, unified = symbols(4)
            scenario = Scenario(seed=1, spot_symbols=ids, linear_symbols=ids)
            sim: Any = stack.enter_context(BybitSimulator(scenario, api_key=KEY, secret=SECRET))
            since = "35d"
        else:
            unified = ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT"]
            binance = BinanceSimulator(Scenario(seed=9), api_key=KEY, secret=SECRET)
            sim = stack.enter_context(binance)
            since = "40d"
        database: str = str(workdir / f"scale-{exchange}-{time.monotonic_ns()}.db")
        if SERVER:
            database = stack.enter_context(scratch_database())
        entry = {
            "ccxt_id": exchange,
            "api_url": sim.url,
            "api_key_env": "BENCH_KEY",
            "secret_env": "BENCH_SECRET",
            "symbols": unified,
            "trades_since": since,
            "ohlcv_since": "2d",
        }
        data: dict[str, Any] = {
            "database": database,
            "exchanges": {f"{exchange}-{n:02d}": entry for n in range(accounts)},
        }
        if SERVER:
            data["database_password_env"] = PASSWORD_ENV
        path = workdir / f"scale-{exchange}-{time.monotonic_ns()}.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        config = load_config(path)
        result = Synchronizer(config).sync()
        assert result.ok, [u for u in result.units if u.status != "ok"]
        sim.reset_counts()
        before = _server(database) if SERVER else None
        seconds, result = timed(lambda: Synchronizer(config).sync())
        assert result.ok, [u for u in result.units if u.status != "ok"]
        after = _server(database) if SERVER else None
        counts = Counter(sim.counts)
    requests = sum(counts.values()) / accounts
    rows: list[Row] = [
        (
            f"{exchange}: warm pass, {accounts} accounts",
            f"{seconds:.2f} s, {requests:g} requests per account",
            f"{len(unified)} symbols, every type",
        )
    ]
    rows.extend(_per_ip(exchange, profile, counts, accounts))
    if before is not None and after is not None:
        rows.extend(_server_rows(exchange, before, after, accounts))
    return rows


def _per_ip(exchange: str, profile: Profile, counts: Counter[str], accounts: int) -> list[Row]:
    """Each per-IP limit's load per account, and the accounts it allows per interval."""
    rows: list[Row] = []
    allowed: dict[str, int] = {}
    for limit in profile.limits:
        if limit.per != "ip":
            continue
        load = sum(
            n * (profile.weights.get(path, 1) if limit.weighted else 1)
            for path, n in counts.items()
            if limit.counts(path)
        )
        if not load:
            continue
        per_account = load / accounts
        what = "weight" if limit.weighted else "requests"
        name = ", ".join(limit.paths) or limit.prefix
        name = "every request" if name == "/" else name
        fits = {
            label: math.floor(limit.count * IP_HEADROOM * interval / limit.seconds / per_account)
            for label, interval in INTERVALS
        }
        for label, count in fits.items():
            allowed[label] = min(allowed.get(label, count), count)
        rows.append(
            (
                f"{exchange}: per IP, {name}",
                f"{per_account:g} {what} per account per pass",
                f"limit {limit.count:,} per {limit.seconds:g} s; "
                + ", ".join(f"{label}: {n:,}" for label, n in fits.items()),
            )
        )
    rows.append(
        (
            f"{exchange}: accounts per IP",
            ", ".join(f"{label}: {n:,}" for label, n in allowed.items()),
            f"the tightest per-IP limit at {IP_HEADROOM:.0%} of it",
        )
    )
    return rows


def _server(url: str) -> dict[str, float]:
    """The server's counters for the database of `url`, read from another database so that
    reading them counts in neither; and the server's CPU seconds, where it runs here."""
    import psycopg

    time.sleep(1.0)  # a closed connection's backend reports its statistics as it exits
    name = urlsplit(url).path.strip("/")
    assert SERVER is not None
    with psycopg.connect(SERVER, password=PASSWORD, autocommit=True) as admin:
        row = admin.execute(
            "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, "
            "active_time, pg_current_wal_lsn() - '0/0'::pg_lsn, "
            "pg_snapshot_xmax(pg_current_snapshot())::text::bigint "
            "FROM pg_stat_database WHERE datname = %s",
            [name],
        ).fetchone()
    assert row is not None
    keys = ("commits", "rollbacks", "inserted", "updated", "deleted", "active_ms", "wal", "xids")
    stats = {key: float(value) for key, value in zip(keys, row, strict=True)}
    stats["cpu"] = _server_cpu()
    return stats


def _server_cpu() -> float:
    """CPU seconds of the server's processes: the postmaster's own and its exited children's
    (backends), and those of its children still running; NaN where the server is not local."""
    data = os.environ.get("EXSYNC_TEST_PGDATA")
    try:
        assert data
        pid = int(Path(data, "data", "postmaster.pid").read_text().split()[0])
        fields = _stat(pid)
        total = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    child = _stat(int(entry.name))
                except OSError:
                    continue
                if int(child[1]) == pid:
                    total += int(child[11]) + int(child[12])
    except (AssertionError, OSError, ValueError):
        return math.nan
    return total / os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat after the command name: [state, ppid, ...] (field 3 on)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def _server_rows(
    exchange: str, before: dict[str, float], after: dict[str, float], accounts: int
) -> list[Row]:
    def each(key: str) -> float:
        return (after[key] - before[key]) / accounts

    cpu = each("cpu")
    return [
        (
            f"{exchange}: PostgreSQL per account per pass",
            f"{each('xids'):.0f} write transactions, {each('commits'):.0f} commits",
            "commits count every autocommit statement too",
        ),
        (
            f"{exchange}: rows per account per pass",
            f"{each('inserted'):.0f} inserted, {each('updated'):.0f} updated, "
            f"{each('deleted'):.0f} deleted",
            f"WAL {each('wal') / 1024:.0f} KiB",
        ),
        (
            f"{exchange}: server time per account per pass",
            f"{each('active_ms'):.0f} ms executing statements",
            "CPU " + ("n/a (server not local)" if math.isnan(cpu) else f"{cpu * 1000:.0f} ms"),
        ),
    ]


FIGURES = {"scale": warm_pass_at_scale}
