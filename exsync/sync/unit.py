"""A unit's working context: the ccxt client with retries, page walking, and pending writes.

`UnitContext` is what every data type module receives; `Pending` holds rows and cursor moves
until they commit together, so the cursor never moves past rows that are not stored.
Database work is awaited (`await pending.commit()`, `await ctx.stream(name)`): it runs on
the store's thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from exsync.config import ExchangeConfig
from exsync.profiles import Profile
from exsync.retry import Attempts, ClockSync, call
from exsync.store import Store

log = logging.getLogger(__name__)

#: rows held in memory before they are written; bounds memory during a long backfill
FLUSH_ROWS = 20_000
#: the longest a backfill holds read rows uncommitted: a kill loses at most this much work
COMMIT_SECONDS = 2.0
#: how many candle series of one exchange are fetched at once (the pacer keeps them within
#: the documented limits; this bounds the connections and pages in flight)
OHLCV_CONCURRENCY = 32
#: how many time windows of one history stream are read at once during a backfill
WINDOW_CONCURRENCY = 4
#: exsync's own bookkeeping tables: written with the data, not counted as records
BOOKKEEPING = frozenset({"history_symbols"})


async def together(*coroutines: Awaitable[Any]) -> list[Any]:
    """Run coroutines concurrently; the first failure cancels the rest and is raised as is.

    A unit that failed must not keep fetching and writing in the background.
    """
    tasks: list[asyncio.Task[Any]] = []
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(c) for c in coroutines]  # type: ignore[arg-type]
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return [t.result() for t in tasks]


def background(work: Awaitable[Any]) -> asyncio.Future[Any]:
    """Start `work` for callers that await it later, if at all: each caller sees its failure,
    and a failure left with no caller (all cancelled by another unit's) is not logged by
    asyncio as a lost exception with its traceback."""
    task = asyncio.ensure_future(work)
    task.add_done_callback(lambda done: done.cancelled() or done.exception())
    return task


class PaginationError(Exception):
    """The exchange's pages do not lead to an end."""


class NothingCovered(Exception):
    """A history unit had no symbol to walk: it read nothing and cannot vouch for the history.

    Raised after the unit committed whatever else it did; the pass records it as `empty`.
    """


@dataclass
class UnitContext:
    """Everything a strategy needs for one exchange x data type unit."""

    exchange: ExchangeConfig
    client: Any
    store: Store
    profile: Profile
    market_types: tuple[str, ...]
    run_id: str
    now_ms: int
    attempts: Attempts = field(default_factory=Attempts)
    #: called with the number of rows each exchange call returned (progress display)
    on_rows: Callable[[int], None] | None = None
    #: called as a history stream's cursor moves: (stream, position, start, end) in ms
    on_reached: Callable[[str, int, int, int], None] | None = None
    #: rows this unit has committed so far (what an interrupted unit kept)
    written: int = 0
    #: stream -> the time (ms) up to which it has been read and committed
    positions: dict[str, int] = field(default_factory=dict)
    #: stream -> the time (ms) this pass started reading it from
    starts: dict[str, int] = field(default_factory=dict)
    #: runs first in every transaction of the unit; raises when the unit may no longer write
    #: (its exchange's run lock was taken over)
    fence: Callable[[Store], None] | None = None
    #: what the operator should know although the unit succeeded (one line each)
    warnings: list[str] = field(default_factory=list)
    #: re-measures the clock offset when the exchange rejects a request's timestamp
    clock: ClockSync | None = None
    #: downloads the markets again (once per pass) when a unit meets an unknown market
    refresh_markets: Callable[[Attempts], Awaitable[bool]] | None = None
    #: one dict shared by the units of one exchange in one pass (work they would each
    #: repeat, such as finding the symbols a per-symbol history walks, is done once)
    shared: dict[str, Any] = field(default_factory=dict)

    def once(self, key: str, make: Callable[[], Awaitable[Any]]) -> Awaitable[Any]:
        """Work the units of one exchange share in a pass (a wallet read, the symbols to
        walk): started by the first unit that asks, awaited by each. Shielded: one unit
        failing or cancelled does not take it from another."""
        task = self.shared.get(key)
        if task is None:
            task = self.shared[key] = background(make())
        return asyncio.shield(task)

    def warn(self, message: str) -> None:
        """Record a warning on this unit: logged, stored with the unit's run, shown by status."""
        if message not in self.warnings:
            log.warning("%s: %s", self.name, message)
            self.warnings.append(message)

    async def refresh(self) -> bool:
        """Download the markets again unless this pass already did; True when it did now."""
        if self.refresh_markets is None:
            return False
        return await self.refresh_markets(self.attempts)

    def pending(self) -> Pending:
        """A batch of writes for this unit; what it commits counts in `written`."""
        return Pending(self.store, self)

    async def cursor(self, stream: str) -> int | None:
        """Where a stream of this exchange resumes (ms), or None before its first pass."""
        return await self.store.run(self.store.get_cursor, self.name, stream)

    async def stream(self, stream: str) -> tuple[int, str, int | None] | None:
        """A stream's (cursor, its unit, when it was last re-read), or None before its first
        pass."""
        return await self.store.run(self.store.get_stream, self.name, stream)

    def reread_due(self, last: int | None) -> bool:
        """Whether a stream last re-read at `last` (ms) is due its deeper re-read: never
        re-read, `reread_every` has passed, or the clock stepped back."""
        settings = self.exchange.settings
        return settings.reread > 0 and (
            last is None or not 0 <= self.now_ms - last < settings.reread_every * 1000
        )

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query, read on the store's thread."""
        return await self.store.run(self.store.fetchall, sql, params)

    def reached(self, stream: str, position: int) -> None:
        """Record how far a history stream has been read and committed (progress display)."""
        self.positions[stream] = position
        if self.on_reached is not None:
            self.on_reached(stream, position, self.starts.get(stream, position), self.now_ms)

    @property
    def name(self) -> str:
        """The exchange's configured name, the key of every row."""
        return self.exchange.name

    async def call(
        self, method: str | Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any
    ) -> Any:
        """Call a ccxt method (by name, or a coroutine function over the client) with retries;
        transient errors are retried with backoff."""
        settings = self.exchange.settings
        result = await call(
            getattr(self.client, method) if isinstance(method, str) else method,
            *args,
            counter=self.attempts,
            max_tries=settings.max_tries,
            max_time=settings.max_time,
            transient=self.profile.transient_codes,
            bans=self.profile.bans,
            clock=self.clock,
            **kwargs,
        )
        if self.on_rows is not None:
            self.on_rows(len(result) if isinstance(result, list | dict) else 1)
        return result

    async def pages(
        self,
        method: str | Callable[..., Awaitable[Any]],
        *args: Any,
        params: dict[str, Any],
        limit: int | None,
        page_size: int | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield the pages of a cursor-paginated ccxt call until the exchange has no more.

        A page shorter than the page size (`limit`, or `page_size` where ccxt sets the
        limit itself) is the last: Bybit's last page carries a cursor too, and following
        it would cost every stream one empty request per pass.
        """
        size = limit if limit is not None else page_size
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page_params = dict(params)
            if cursor is not None and self.profile.cursor_param:
                page_params[self.profile.cursor_param] = cursor
            if limit is None:
                rows = await self.call(method, *args, page_params)
            else:
                rows = await self.call(method, *args, limit, page_params)
            cursor = self._take_cursor(rows)
            yield rows
            if not rows or not cursor or (size is not None and len(rows) < size):
                return
            if cursor in seen:
                # Stopping here would silently drop the rest of the history.
                name = getattr(method, "__name__", method)
                raise PaginationError(f"{self.name}: {name} repeated page cursor {cursor[:40]!r}")
            seen.add(cursor)

    def _take_cursor(self, rows: list[dict[str, Any]]) -> str | None:
        # ccxt leaves the next-page cursor in the `info` of one row; it is not exchange data,
        # so it is removed before the row is stored.
        field_name = self.profile.cursor_field
        if not field_name:
            return None
        found = None
        for row in rows:
            info = row.get("info")
            if isinstance(info, dict) and field_name in info:
                found = info.pop(field_name) or found
        return found or None

    def params_for(self, market_type: str) -> dict[str, Any]:
        """ccxt params selecting one market type in account-wide calls."""
        return dict(self.profile.market_params.get(market_type, {}))

    def settle_coins(self, market_type: str) -> list[str]:
        """Settle coins of the contract markets of a type (one request each where required)."""
        coins = {
            market.get("settle")
            for market in self.client.markets.values()
            if market.get(market_type) and market.get("contract") and market.get("active", True)
        }
        return sorted(c for c in coins if c)


class Pending:
    """Rows and cursor moves waiting to be committed together."""

    def __init__(self, store: Store, unit: UnitContext | None = None) -> None:
        self.store = store
        self.unit = unit
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.cursors: dict[tuple[str, str], tuple[int, str]] = {}
        self.reached: dict[str, int] = {}
        self.rereads: dict[tuple[str, str], int] = {}
        self.written = 0
        self.flushed_at = time.monotonic()
        # One batch is written at a time: walks reading faster than the store writes wait
        # for it here, instead of handing it batch after batch to hold in memory.
        self._writing = asyncio.Lock()

    def add(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        self.rows[table].extend(rows)

    def move_cursor(
        self,
        exchange: str,
        stream: str,
        position: int,
        reached: int | None = None,
        unit: str = "ms",
    ) -> None:
        """Move a stream's cursor with the next commit; `reached`: the time read up to;
        `unit`: 'ms', or 'id' when the position is the exchange's next id."""
        self.cursors[(exchange, stream)] = (position, unit)
        if reached is not None:
            self.reached[stream] = reached

    def mark_reread(self, exchange: str, stream: str, at: int) -> None:
        """Record with the next commit that a stream's recent past was read again at `at`."""
        self.rereads[(exchange, stream)] = at

    def size(self) -> int:
        return sum(len(r) for r in self.rows.values())

    def due(self) -> bool:
        """Whether it is time to commit: many rows held, or some held for COMMIT_SECONDS."""
        if not self.rows and not self.cursors:
            return False
        return self.size() >= FLUSH_ROWS or time.monotonic() - self.flushed_at >= COMMIT_SECONDS

    async def commit_if_due(self) -> None:
        """Commit when `due()`; called after every page of a backfill."""
        if self.due():
            await self.commit()

    async def commit(self, finish: Callable[[Store], None] | None = None) -> None:
        """Commit the pending rows, cursor moves and `finish` in one transaction.

        The rows are handed over at once, so the unit may go on reading while they are
        written on the store's thread.
        """
        async with self._writing:
            self.flushed_at = time.monotonic()
            if not self.rows and not self.cursors and not self.rereads and finish is None:
                return
            rows, cursors, reached = dict(self.rows), dict(self.cursors), dict(self.reached)
            rereads = dict(self.rereads)
            self.rows = defaultdict(list)
            self.cursors.clear()
            self.reached.clear()
            self.rereads.clear()
            await self.store.run(self._write, rows, cursors, reached, rereads, finish)

    def _write(
        self,
        rows: dict[str, list[dict[str, Any]]],
        cursors: dict[tuple[str, str], tuple[int, str | None]],
        reached: dict[str, int],
        rereads: dict[tuple[str, str], int],
        finish: Callable[[Store], None] | None,
    ) -> None:
        # Runs on the store's thread. The counts are kept here, not by the awaiting caller,
        # so that a unit interrupted while its commit runs still reports what it kept.
        written = 0
        fence = self.unit.fence if self.unit is not None else None
        with self.store.transaction():
            if fence is not None:
                fence(self.store)
            for table, batch in rows.items():
                # Rows repeated across overlapping pages are upserted in arrival order, so
                # the later (newer) one wins.
                count = self.store.upsert(table, batch)
                written += 0 if table in BOOKKEEPING else count
            for (exchange, stream), (position, unit) in cursors.items():
                self.store.set_cursor(exchange, stream, position, unit)
            for (exchange, stream), at in rereads.items():
                self.store.set_reread(exchange, stream, at)
            if finish is not None:
                finish(self.store)
        self.written += written
        if self.unit is not None:
            self.unit.written += written
            for stream, position in reached.items():
                self.unit.reached(stream, position)


def per_settle_coin(ctx: UnitContext, market_type: str) -> list[dict[str, Any]]:
    """Params for account-wide calls: one per settle coin where the exchange needs one."""
    params = ctx.params_for(market_type)
    if market_type == "spot" or not ctx.profile.settle_param:
        return [params]
    return [params | {ctx.profile.settle_param: coin} for coin in ctx.settle_coins(market_type)]


#: decimal text Decimal() reads as itself: the shape nearly every exchange amount has
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?").fullmatch


def decimal_text(value: Any) -> str | None:
    """An amount as exact decimal text: the exchange's own string where it sent one, a
    parsed number written back in positional notation, or None when missing or not a number.
    """
    if type(value) is str and _PLAIN_DECIMAL(value):
        return value  # the common case, without a Decimal: digits with at most one point
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, float):
        # repr gives the shortest text that reads back as this float: the exchange's digits
        # whenever it sent no more than a float holds.
        value = repr(value)
    text = str(value).strip()
    try:
        parsed = Decimal(text)
    except ArithmeticError:
        return None
    if not parsed.is_finite():
        return None
    return text if "e" not in text.lower() else format(parsed, "f")


def number(value: Any) -> float | None:
    """A float from an exchange value, or None when it is missing or not a number."""
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
