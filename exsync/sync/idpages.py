"""The id walker: a history stream read page by page from an exchange id, not by time.

Where an exchange serves a symbol's history "from this id on, oldest first" (Binance's
`fromId` for trades, `orderId` for orders), a stream needs no time window: a symbol with a
handful of rows costs one request however far back its history goes, and a page is
followed from its highest id + 1, so rows that share one millisecond never hide behind a
full page. The cursor is the next id to ask for (`unit = 'id'` in the cursors table).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from exsync.ccxt_import import errors as ccxt
from exsync.sync.symbols import attribute, rejected
from exsync.sync.unit import PaginationError, Pending, UnitContext


async def walk_ids(
    ctx: UnitContext,
    pending: Pending,
    *,
    stream: str,
    symbol: str,
    market_type: str,
    param: str,
    wanted: int,
    method: str,
    limit: int,
    table: str,
    to_row: Callable[[dict[str, Any]], dict[str, Any]],
    timestamp: Callable[[dict[str, Any]], int | None],
    settled: Callable[[dict[str, Any]], bool] | None = None,
) -> int:
    """Read a stream from its id cursor to its newest row; return the rows the exchange sent.

    `wanted` is where history starts (`trades_since`, within the exchange's depth). A first
    walk starts at id 0 and keeps only rows from `wanted` on; when a full page is still older
    than that, the newest row before it is asked for once and the walk jumps past it, so a
    long history before `trades_since` is not read page by page. A stream whose cursor is a
    time (a database from before id pages) starts after the newest row the mirror holds
    from before that time, less `overlap`: nothing is read twice, nothing is skipped.

    `settled` tells a row that can no longer change (an order filled or cancelled) from one
    that can (an open order): the cursor stays on the oldest unsettled row of the last page's
    worth, so the next pass reads it again with its new status. An order open for longer
    than that is left to the open-order list and the look-up of vanished orders.
    """
    settings = ctx.exchange.settings
    entry = await ctx.stream(stream)
    reread = ctx.reread_due(entry[2] if entry else None)
    keep_from: int | None = None  # rows older than this are not stored (before trades_since)
    jump_before: int | None = None  # a full page older than this jumps ahead once
    if entry is not None and entry[1] == "id":
        first = position = entry[0]
        if reread:
            window = ctx.now_ms - _ms(settings.reread)
            low = await _after_mirror(ctx, table, symbol, window)
            if low == 0:
                # Nothing stored from before the re-read's reach: it starts as a first walk
                # does, keeping only rows from `wanted` on and jumping over a long past.
                keep_from, jump_before = wanted, max(wanted, window)
            first = min(first, low)
        ctx.starts[stream] = ctx.now_ms
    else:
        floor = wanted if entry is None else entry[0] - _ms(settings.overlap)
        first = position = await _after_mirror(ctx, table, symbol, floor) if entry else 0
        keep_from, jump_before = wanted, max(floor, wanted)
        reread = True  # a first walk reads everything: it counts as a deep read
        ctx.starts[stream] = wanted

    sent = 0
    recent: deque[tuple[int, bool]] = deque(maxlen=limit)  # (id, settled) of the last rows
    while True:
        try:
            rows = await ctx.call(method, symbol, None, limit, {param: first})
        except ccxt.BadSymbol as exc:
            # One symbol the exchange does not list must not fail the others.
            await rejected(ctx, symbol, f"rejected by the exchange ({exc})")
            return sent
        sent += len(rows)
        page = await attribute(ctx, rows, market_type, method)
        if not page:
            break
        ids = [int(row["id"]) for row in page]
        if min(ids) < first:
            raise PaginationError(f"{ctx.name}: {method} answered ids below {param}={first}")
        kept = [row for row in page if keep_from is None or (timestamp(row) or 0) >= keep_from]
        pending.add(table, (to_row(row) for row in kept))
        for row in sorted(kept, key=lambda r: int(r["id"])):
            recent.append((int(row["id"]), settled is None or settled(row)))
        first = max(ids) + 1
        position = min((i for i, done in recent if not done), default=first)
        newest = max((t for t in map(timestamp, page) if t), default=ctx.now_ms)
        pending.move_cursor(ctx.name, stream, position, reached=newest, unit="id")
        await pending.commit_if_due()
        if len(page) < limit:
            break
        if jump_before is not None and newest < jump_before:
            # A long history before where this stream starts: the newest row before the
            # start is found with one query by time, and the walk goes on after it.
            jump_before, before = None, jump_before
            # An exchange that finds none (or looks only a little way back) leaves the walk
            # to go on page by page: slower, never incomplete.
            probe = await ctx.call(method, symbol, None, 1, {"until": before - 1})
            if probe:
                first = max(first, max(int(row["id"]) for row in probe) + 1)
                # Orders still open before the jump are left to the open-order list, as
                # those behind a full page are: the cursor never waits behind the jump.
                recent.clear()
                position = first
    pending.move_cursor(ctx.name, stream, position, reached=ctx.now_ms, unit="id")
    if reread:
        pending.mark_reread(ctx.name, stream, ctx.now_ms)
    return sent


async def _after_mirror(ctx: UnitContext, table: str, symbol: str, before: int) -> int:
    """The first id after the newest row the mirror holds from before `before` (ms), or 0.

    Ids grow with time per symbol, so every row from `before` on has a higher id.
    """
    ((newest,),) = await ctx.fetch(
        f"SELECT max(CAST(id AS BIGINT)) FROM {table} "
        "WHERE exchange = ? AND symbol = ? AND timestamp < ?",
        [ctx.name, symbol, before],
    )
    return 0 if newest is None else int(newest) + 1


def _ms(seconds: float) -> int:
    return int(seconds * 1000)
