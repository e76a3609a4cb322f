"""PostgreSQL figures: bulk upserts through the store against the driver's fastest paths.

They run against the server EXSYNC_TEST_POSTGRES names (a role that may create databases,
its password in EXSYNC_TEST_POSTGRES_PASSWORD; `.ci/postgres start` starts a throwaway one),
each in a database of its own that is dropped afterwards. Without a server each figure is
one row saying so.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from benchmarks.harness import ratio, timed
from exsync.store import Store
from exsync.store.schema import TABLES_BY_NAME

Row = tuple[str, str, str]

SERVER = os.environ.get("EXSYNC_TEST_POSTGRES")
PASSWORD = os.environ.get("EXSYNC_TEST_POSTGRES_PASSWORD")
#: the row a figure prints instead of its measurements when there is no server
NO_SERVER: Row = ("skipped", "no PostgreSQL server", "set EXSYNC_TEST_POSTGRES (.ci/postgres)")


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new, empty database on the server (its URL, without the password); dropped after."""
    import psycopg

    assert SERVER is not None
    name = f"exsync_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(SERVER, password=PASSWORD, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield urlunsplit(urlsplit(SERVER)._replace(path=f"/{name}"))
    finally:
        for attempt in range(20):
            try:
                with psycopg.connect(SERVER, password=PASSWORD, autocommit=True) as admin:
                    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                break
            except psycopg.errors.InsufficientPrivilege:  # autovacuum still in it
                if attempt == 19:
                    raise
                time.sleep(0.25)


def executions(size: int) -> list[dict[str, Any]]:
    """`size` rows of `trades` shaped as a real Bybit execution: 19-digit ids, decimal text
    amounts, and the exchange's own JSON of about half a kilobyte in `raw`."""
    rows = []
    for i in range(size):
        exec_id = str(2_100_000_000_000_000_000 + i * 7919)
        order_id = str(1_900_000_000_000_000_000 + i // 3 * 104_729)
        price, qty = f"{64_000 + i % 997}.{i % 100:02d}", f"0.{(i % 9000) + 1000:04d}"
        stamp = 1_700_000_000_000 + i * 37
        raw = {
            "symbol": "BTCUSDT",
            "orderType": "Limit",
            "underlyingPrice": "",
            "orderLinkId": f"exsync-bench-{i // 3:012d}",
            "side": "Buy" if i % 2 else "Sell",
            "indexPrice": "",
            "orderId": order_id,
            "stopOrderType": "UNKNOWN",
            "leavesQty": "0",
            "execTime": str(stamp),
            "feeCurrency": "",
            "isMaker": bool(i % 3),
            "execFee": "0.02304",
            "feeRate": "0.00055",
            "execId": exec_id,
            "tradeIv": "",
            "blockTradeId": "",
            "markPrice": f"{64_010 + i % 991}.25",
            "execPrice": price,
            "markIv": "",
            "orderQty": qty,
            "orderPrice": price,
            "execValue": "41.89672",
            "execType": "Trade",
            "execQty": qty,
            "closedSize": "0",
            "extraFees": "",
            "seq": 9_100_000_000 + i,
            "createType": "CreateByUser",
        }
        rows.append(
            {
                "exchange": "bybit",
                "id": exec_id,
                "order_id": order_id,
                "symbol": "BTC/USDT:USDT",
                "side": raw["side"].lower(),
                "taker_or_maker": "maker" if raw["isMaker"] else "taker",
                "price": price,
                "amount": qty,
                "cost": "41.89672",
                "fee_cost": "0.02304",
                "fee_currency": "USDT",
                "fee_rate": "0.00055",
                "timestamp": stamp,
                "exec_type": "Trade",
                "raw": json.dumps(raw, separators=(",", ":")),
            }
        )
    return rows


def upsert_sql(columns: list[str]) -> str:
    """The statement the store prepares for `trades`, written out by hand."""
    key = TABLES_BY_NAME["trades"].pk
    return (
        f"INSERT INTO trades ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    )


def through_store(store: Store, data: list[dict[str, Any]], batch: int) -> None:
    """Write `data` as a backfill does: pages handed to the store's thread, one commit per
    `batch` rows."""
    from exsync.sync.unit import Pending

    async def write() -> None:
        for start in range(0, len(data), batch):
            pending = Pending(store)
            pending.add("trades", data[start : start + batch])
            await pending.commit()

    asyncio.run(write())


def upsert(workdir: Path, quick: bool) -> list[Row]:
    """Rows per second into `trades` on PostgreSQL: the store's upsert against the raw
    driver's executemany of the same statement and against COPY, in the same run."""
    if not SERVER:
        return [NO_SERVER]
    import psycopg

    size, batch = (20_000, 5_000) if quick else (200_000, 20_000)
    data = executions(size)
    columns = list(data[0])
    values = [tuple(r[c] for c in columns) for r in data]
    with scratch_database() as url:
        store = Store(url, password=PASSWORD)
        raw = psycopg.connect(url, password=PASSWORD, autocommit=True)
        try:

            def empty() -> None:
                raw.execute("TRUNCATE trades")
                raw.execute("VACUUM ANALYZE trades")

            def executemany() -> None:
                sql = upsert_sql(columns)
                for start in range(0, size, batch):
                    with raw.transaction(), raw.cursor() as cursor:
                        cursor.executemany(sql, values[start : start + batch])

            def copy() -> None:
                statement = f"COPY trades ({', '.join(columns)}) FROM STDIN"
                for start in range(0, size, batch):
                    with raw.transaction(), raw.cursor() as cursor, cursor.copy(statement) as cp:
                        for row in values[start : start + batch]:
                            cp.write_row(row)

            timings = {}
            for name, action in (
                ("store", lambda: through_store(store, data, batch)),
                ("executemany", executemany),
                ("copy", copy),
            ):
                empty()
                timings[name], _ = timed(action)
                count = raw.execute("SELECT count(*) FROM trades").fetchone()
                assert count is not None and count[0] == size, (name, count)
            empty()
            through_store(store, data, batch)
            again, _ = timed(lambda: through_store(store, data, batch))  # every row a conflict
        finally:
            raw.close()
            store.close()
    rate = {name: size / seconds for name, seconds in timings.items()}
    return [
        (f"store upsert, {size:,} rows", f"{rate['store']:,.0f} rows/s", f"batches of {batch:,}"),
        (
            "raw executemany (same INSERT ... ON CONFLICT)",
            f"{rate['executemany']:,.0f} rows/s",
            "psycopg, pipelined",
        ),
        ("raw COPY into the empty table", f"{rate['copy']:,.0f} rows/s", "the driver's floor"),
        ("store / raw executemany", f"{ratio(timings['executemany'], timings['store']):.2f}x", ""),
        ("store / COPY", f"{ratio(timings['copy'], timings['store']):.2f}x", ""),
        (
            "store upsert, every row already there",
            f"{size / again:,.0f} rows/s",
            "a re-read: each row an update",
        ),
    ]


FIGURES = {"pg-upsert": upsert}
