"""The window/page walker every history stream shares.

A history stream (own trades, order history, later deposits and the ledger) is read window by
window and page by page from its cursor to now; a window's rows and the cursor that covers
them commit together, and the cursor only ever moves past rows already committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from exsync.ccxt_import import errors as ccxt
from exsync.durations import parse_since
from exsync.profiles import DAY_MS, market_type_of, symbols_for
from exsync.sync.symbols import attribute, rejected
from exsync.sync.unit import WINDOW_CONCURRENCY, Pending, UnitContext, together


def history_streams(ctx: UnitContext, kind: str) -> list[tuple[str, str | None, str]]:
    """(stream, symbol or None, market type) of each history stream of a unit.

    Account-wide where the exchange allows it, else one stream per configured symbol.
    """
    if not ctx.profile.history_per_symbol:
        return [(f"{kind}:{t}", None, t) for t in ctx.market_types]
    streams = []
    for symbol in symbols_for(ctx.exchange):
        market_type = market_type_of(symbol)
        streams.append((f"{kind}:{market_type}:{symbol}", symbol, market_type))
    return streams


#: a backfill starts this far inside the exchange's history depth: the limit moves with the
#: clock while a long backfill runs
DEPTH_MARGIN_MS = DAY_MS


def since(ctx: UnitContext, setting: str) -> int:
    """A `*_since` setting of the unit's exchange, in ms."""
    return parse_since(getattr(ctx.exchange.settings, setting), ctx.now_ms)


def clamp_to_depth(ctx: UnitContext, stream: str, market_type: str, start: int) -> int:
    """`start`, or the oldest time the exchange still serves for this stream, with a warning.

    Asking for more only gets an error on every pass; the warning makes the gap visible.
    """
    kind = stream.split(":", 1)[0]
    depth = ctx.profile.history_depth_ms(kind, market_type)
    if depth is None:
        return start
    oldest = ctx.now_ms - depth + DEPTH_MARGIN_MS
    if start >= oldest:
        return start
    days = depth // DAY_MS
    ctx.warn(
        f"{stream}: {ctx.exchange.ccxt_id} keeps {days} days of {kind}; history before "
        f"{_day(oldest)} cannot be read (asked from {_day(start)}: trades_since, or a long pause)"
    )
    return oldest


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


async def walk_history(
    ctx: UnitContext,
    pending: Pending,
    *,
    stream: str,
    symbol: str | None,
    market_type: str,
    method: str,
    limit: int,
    table: str,
    to_row: Callable[[dict[str, Any]], dict[str, Any]],
    timestamp: Callable[[dict[str, Any]], int | None],
) -> None:
    """Fetch a history stream window by window and page by page, from its cursor to now.

    The cursor is the newest timestamp stored; the next pass starts `overlap` before it, so
    rows that appear a little late are caught and re-read rows are upserted, never
    duplicated. Rows can appear later than that (Bybit: order history "may delay"), so once
    every `reread_every` the stream reads its last `reread` again. When the newest row is
    older than one window, the cursor rests one window before now so an idle account costs
    one request per pass rather than a walk over its whole history.
    """
    settings = ctx.exchange.settings
    cursor = ctx.store.get_cursor(ctx.name, stream)
    reread_due = False
    # Checked on every pass, not only the first: as long as the config asks for history the
    # exchange no longer has, the unit says so.
    wanted = clamp_to_depth(ctx, stream, market_type, since(ctx, "trades_since"))
    if cursor is None:
        start = wanted
        reread_due = True  # a first backfill reads everything: it counts as a deep read
    else:
        start = max(0, cursor - int(settings.overlap * 1000))
        last = ctx.store.get_reread(ctx.name, stream)
        if settings.reread > 0 and (
            last is None
            or not 0 <= ctx.now_ms - last < settings.reread_every * 1000  # due, or clock stepped
        ):
            start = min(start, ctx.now_ms - int(settings.reread * 1000))
            reread_due = True
        start = clamp_to_depth(ctx, stream, market_type, start)
    ctx.starts[stream] = start
    params = ctx.params_for(market_type) if symbol is None else {}
    window = ctx.profile.window_ms(market_type) or max(ctx.now_ms - start, DAY_MS)
    bounds = []
    window_start = start
    while window_start <= ctx.now_ms:
        bounds.append((window_start, min(window_start + window - 1, ctx.now_ms)))
        window_start = bounds[-1][1] + 1

    newest = cursor or 0
    finished: dict[int, int] = {}  # window index -> newest timestamp seen in it
    committable = 0  # windows before this index are complete, in order
    gate = asyncio.Semaphore(WINDOW_CONCURRENCY)

    async def read_window(index: int, window_start: int, window_end: int) -> None:
        nonlocal newest, committable
        window_params = dict(params)
        if ctx.profile.window_params:
            start_key, end_key = ctx.profile.window_params
            window_params[start_key] = window_start
            window_params[end_key] = window_end
            since = None
        else:
            window_params["until"] = window_end
            since = window_start
        seen = 0
        async with gate:
            async for rows in _window_pages(ctx, method, symbol, since, window_params, limit):
                page = await attribute(ctx, rows, market_type, method)
                pending.add(table, (to_row(item) for item in page))
                seen = max([seen, *(t for t in (timestamp(item) for item in page) if t)])
                # Rows of a window still being read may commit before its cursor moves: they
                # are upserts, so a pass that re-reads them never duplicates them.
                pending.flush_if_due()
        # Some exchanges filter windows by creation time while rows carry later update
        # times: a window never vouches for anything after its own end.
        finished[index] = min(seen, window_end)
        # Windows finish out of order; the cursor moves only over an unbroken run of finished
        # windows. Everything up to such a window's end is read, so any cursor up to there
        # is safe; the newest row's time keeps it still when nothing new arrived, and a floor
        # about one window back keeps an idle stream from re-walking its past.
        moved = committable in finished
        while committable in finished:
            newest = max(newest, finished.pop(committable))
            # The floor is aligned to whole windows so that it moves once a window, not on
            # every pass: a rerun when nothing changed moves no cursor.
            floor = (bounds[committable][1] - window + 1) // window * window
            reached = bounds[committable][1]
            pending.move_cursor(ctx.name, stream, max(newest, floor, start), reached)
            committable += 1
        if moved:
            pending.flush()  # the end of a time window: its rows and the cursor, together
        else:
            pending.flush_if_due()

    try:
        await together(*(read_window(i, start_, end) for i, (start_, end) in enumerate(bounds)))
    except ccxt.BadSymbol as exc:
        if symbol is None:
            raise
        # One configured symbol the exchange does not list must not fail the others.
        await rejected(ctx, symbol, f"rejected by the exchange ({exc})")
        return
    if reread_due:
        pending.mark_reread(ctx.name, stream, ctx.now_ms)


async def _window_pages(
    ctx: UnitContext,
    method: str,
    symbol: str | None,
    since: int | None,
    params: dict[str, Any],
    limit: int,
) -> AsyncIterator[list[dict[str, Any]]]:
    """The pages of one history window.

    With a page cursor (Bybit) the cursor is followed. Without one (Binance) a full page is
    followed by asking again from its newest row's time: rows of that millisecond come
    twice and are upserted once.
    """
    if ctx.profile.cursor_param:
        async for page in ctx.pages(method, symbol, since, params=params, limit=limit):
            yield page
        return
    # Without a page cursor, a full page is followed from its newest row's time, through
    # the exchange's window parameter (Binance) or ccxt's `since` (any other exchange).
    start_key = ctx.profile.window_params[0] if ctx.profile.window_params else None
    while True:
        page = await ctx.call(method, symbol, since, limit, params)
        yield page
        stamps = [row["timestamp"] for row in page if row.get("timestamp")]
        if len(page) < limit or not stamps:
            return
        current = params[start_key] if start_key else since or 0
        # A page of one millisecond could not move on; step past it.
        following = max(stamps) if max(stamps) > current else current + 1
        if start_key:
            params = params | {start_key: following}
        else:
            since = following
