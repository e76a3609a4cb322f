"""The walkers every history stream shares.

A history stream (own trades, order history, deposits, the ledger...) is read from its
cursor to now: page by page from an id where the exchange pages that history by id
(`idpages.py`), else window by window and page by page in time. Rows and the cursor that
covers them commit together, and the cursor only ever moves past rows already committed.
Where the exchange has no account-wide history of trades and orders, the streams are one
per symbol, found from the account (`discovery.walk_streams`). Data types read from the
profile's sources walk one stream per source (`sourcewalk.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from exsync.ccxt_import import errors as ccxt
from exsync.durations import parse_since
from exsync.profiles import DAY_MS
from exsync.sync.idpages import walk_ids
from exsync.sync.symbols import attribute, rejected
from exsync.sync.unit import (
    WINDOW_CONCURRENCY,
    PaginationError,
    Pending,
    UnitContext,
    together,
)

Row = dict[str, Any]


#: a backfill starts this far inside the exchange's history depth: the limit moves with the
#: clock while a long backfill runs
DEPTH_MARGIN_MS = DAY_MS


def since(ctx: UnitContext, setting: str) -> int:
    """A `*_since` setting of the unit's exchange, in ms."""
    return parse_since(getattr(ctx.exchange.settings, setting), ctx.now_ms)


def clamp_to_depth(ctx: UnitContext, stream: str, market_type: str | None, start: int) -> int:
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
    market_type: str | None,
    method: str | Callable[..., Awaitable[Any]],
    limit: int,
    table: str,
    to_row: Callable[[Row], Row],
    timestamp: Callable[[Row], int | None],
    params: dict[str, Any] | None = None,
    reread_from: int | None = None,
    settled: Callable[[Row], bool] | None = None,
    paging: Paging | None = None,
) -> int:
    """Fetch a history stream from its cursor to now; return the rows the exchange sent.

    By id where the exchange pages this kind of history by id and the stream is one
    symbol's (see `idpages.py`; `settled` tells rows that can still change from those that
    cannot), else window by window and page by page in time, as follows.

    The cursor is the newest timestamp stored; the next pass starts `overlap` before it, so
    rows that appear a little late are caught and re-read rows are upserted, never
    duplicated. Rows can appear later than that (Bybit: order history "may delay"), so once
    every `reread_every` the stream reads its last `reread` again. When the newest row is
    older than one window, the cursor rests one window before now so an idle account costs
    one request per pass rather than a walk over its whole history.

    `market_type` None: an account-wide stream; `params`: request parameters of every call
    (default: the market type's); `reread_from`: a time (ms) this pass must read from at
    least, whatever the cursor says (rows still pending there); `paging`: how a full page
    of a window is followed (see `Paging`; default: by time).
    """
    settings = ctx.exchange.settings
    # Checked on every pass, not only the first: as long as the config asks for history the
    # exchange no longer has, the unit says so.
    wanted = clamp_to_depth(ctx, stream, market_type, since(ctx, "trades_since"))
    kind = stream.split(":", 1)[0]
    id_param = ctx.profile.id_param(kind, market_type) if market_type else None
    if id_param and symbol is not None:
        return await walk_ids(
            ctx,
            pending,
            stream=stream,
            symbol=symbol,
            market_type=market_type,
            param=id_param,
            wanted=wanted,
            method=method,
            limit=limit,
            table=table,
            to_row=to_row,
            timestamp=timestamp,
            settled=settled,
        )
    entry = await ctx.stream(stream)
    cursor = entry[0] if entry else None
    reread_due = False
    if entry is None:
        start = wanted
        reread_due = True  # a first backfill reads everything: it counts as a deep read
    else:
        start = max(0, entry[0] - int(settings.overlap * 1000))
        if ctx.reread_due(entry[2]):
            start = min(start, ctx.now_ms - int(settings.reread * 1000))
            reread_due = True
        if reread_from is not None:
            start = min(start, reread_from)
        start = clamp_to_depth(ctx, stream, market_type, start)
    ctx.starts[stream] = start
    if params is None:
        params = ctx.params_for(market_type) if symbol is None and market_type else {}
    window = ctx.profile.window_ms(market_type, kind) or max(ctx.now_ms - start, DAY_MS)
    bounds = []
    window_start = start
    while window_start <= ctx.now_ms:
        bounds.append((window_start, min(window_start + window - 1, ctx.now_ms)))
        window_start = bounds[-1][1] + 1

    newest = cursor or 0
    sent = 0
    finished: dict[int, int] = {}  # window index -> newest timestamp seen in it
    committable = 0  # windows before this index are complete, in order
    gate = asyncio.Semaphore(WINDOW_CONCURRENCY)

    async def read_window(index: int, window_start: int, window_end: int) -> None:
        nonlocal newest, committable, sent
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
            pages = _window_pages(ctx, method, symbol, since, window_params, limit, paging)
            async for rows in pages:
                sent += len(rows)
                page = await attribute(ctx, rows, market_type, method)
                pending.add(table, (to_row(item) for item in page))
                seen = max([seen, *(t for t in (timestamp(item) for item in page) if t)])
                # Rows of a window still being read may commit before its cursor moves: they
                # are upserts, so a pass that re-reads them never duplicates them.
                await pending.commit_if_due()
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
            await pending.commit()  # the end of a time window: its rows and the cursor, together
        else:
            await pending.commit_if_due()

    try:
        await together(*(read_window(i, start_, end) for i, (start_, end) in enumerate(bounds)))
    except ccxt.BadSymbol as exc:
        if symbol is None:
            raise
        # One configured symbol the exchange does not list must not fail the others.
        await rejected(ctx, symbol, f"rejected by the exchange ({exc})")
        return sent
    if reread_due:
        pending.mark_reread(ctx.name, stream, ctx.now_ms)
    return sent


@dataclass(frozen=True)
class Paging:
    """How a full page of one history window is followed where the profile has no page
    cursor: "time" (from its newest row's time), "offset" (rows skipped) or "page" (page
    number from 1) in the request parameter `param`, or "split" (the window in two)."""

    mode: str = "time"
    param: str | None = None


async def _window_pages(
    ctx: UnitContext,
    method: str | Callable[..., Awaitable[Any]],
    symbol: str | None,
    since: int | None,
    params: dict[str, Any],
    limit: int,
    paging: Paging | None = None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """The pages of one history window.

    With a page cursor (Bybit) the cursor is followed. Without one, a full page is followed
    by asking again from its newest row's time: rows of that millisecond come twice and are
    upserted once. A full page of one millisecond cannot be followed by time at all: that
    is an error, never a silent skip of the rest of that millisecond. Where the exchange
    pages a window by offset or page number (`paging`), those are followed instead; where
    it does not say which end of the window a full page holds, the window is split.
    """
    if ctx.profile.cursor_param:
        async for page in ctx.pages(method, symbol, since, params=params, limit=limit):
            yield page
        return
    mode = paging.mode if paging else "time"
    if mode in ("offset", "page") and paging and paging.param:
        position = 0 if mode == "offset" else 1
        while True:
            page = await ctx.call(method, symbol, since, limit, params | {paging.param: position})
            yield page
            if len(page) < limit:
                return
            position += len(page) if mode == "offset" else 1
    if mode == "split" and ctx.profile.window_params:
        async for page in _split_pages(ctx, method, symbol, params, limit):
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
        following = max(stamps)
        if following <= current:
            raise PaginationError(
                f"{ctx.name}: {_name(method)} {symbol or ''}: more than {limit} rows at one "
                f"millisecond ({following}); they cannot be paged by time"
            )
        if start_key:
            params = params | {start_key: following}
        else:
            since = following


async def _split_pages(
    ctx: UnitContext,
    method: str | Callable[..., Awaitable[Any]],
    symbol: str | None,
    params: dict[str, Any],
    limit: int,
) -> AsyncIterator[list[dict[str, Any]]]:
    """The pages of a window that is split in two, oldest half first, until no page is
    full: whichever end of the window a full page holds, no row is skipped."""
    start_key, end_key = ctx.profile.window_params or ("startTime", "endTime")
    spans = [(int(params[start_key]), int(params[end_key]))]
    while spans:
        low, high = spans.pop()
        page = await ctx.call(method, symbol, None, limit, params | {start_key: low, end_key: high})
        if len(page) < limit:
            yield page
            continue
        if high <= low:
            raise PaginationError(
                f"{ctx.name}: {_name(method)}: more than {limit} rows at one millisecond "
                f"({low}); they cannot be paged by time"
            )
        middle = (low + high) // 2
        spans += [(middle + 1, high), (low, middle)]


def _name(method: str | Callable[..., Awaitable[Any]]) -> str:
    return method if isinstance(method, str) else getattr(method, "__name__", "fetch")
