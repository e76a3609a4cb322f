"""Data types read from the profile's sources (deposits, withdrawals, transfers, the
ledger, closed positions, conversions): one history stream per source, account-wide or per
contract market type, each walked by `history.walk_history`; rows still pending are read
again until they settle."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from exsync.ccxt_import import errors as ccxt
from exsync.profiles import DAY_MS
from exsync.sources import Source, value_at
from exsync.store.schema import TABLES_BY_NAME
from exsync.sync.history import Paging, walk_history
from exsync.sync.unit import (
    UnitContext,
    decimal_text,
    together,
)

#: statuses after which a deposit, withdrawal or transfer changes no more
FINAL_STATUSES = ("ok", "failed", "canceled", "rejected")
#: how long a row still pending is read again; older ones are reported instead
CHASE_DAYS = 90

RowBuilder = Callable[[Source, dict[str, Any]], dict[str, Any]]


async def walk_sources(ctx: UnitContext, kind: str, table: str, to_row: RowBuilder) -> int:
    """Walk every source of a data type (the profile's `sources`) into `table`.

    Tables with a `status` column hold rows that can still change (a deposit on its way):
    while one is pending, its stream reads again from a window before it, so the pass that
    sees it settle updates it. Returns the rows written.
    """
    pending = ctx.pending()
    limit = ctx.profile.page(kind, 50)
    settles = "status" in TABLES_BY_NAME[table].columns

    async def walk(stream: str, source: Source, market_type: str | None) -> None:
        await walk_history(
            ctx,
            pending,
            stream=stream,
            symbol=None,
            market_type=market_type,
            method=source_method(ctx, source),
            limit=limit,
            table=table,
            to_row=lambda item: to_row(source, refine(ctx, source, item)),
            timestamp=lambda item: item.get("timestamp"),
            params=source_params(ctx, source, market_type),
            reread_from=await pending_since(ctx, kind, table, source.name) if settles else None,
            paging=Paging(source.paging, source.page_param),
        )

    await together(*(walk(*stream) for stream in source_streams(ctx, kind)))
    await pending.commit()
    return pending.written


def source_streams(ctx: UnitContext, kind: str) -> list[tuple[str, Source, str | None]]:
    """(stream, source, market type or None) of each stream of a source-read data type.

    A source read per market type gets one stream per configured contract market type.
    """
    streams: list[tuple[str, Source, str | None]] = []
    for source in ctx.profile.sources_for(kind):
        if not source.per_market_type:
            streams.append((f"{kind}:{source.name}", source, None))
            continue
        for market_type in ctx.market_types:
            if market_type in ("linear", "inverse"):
                streams.append((f"{kind}:{market_type}", source, market_type))
    return streams


def source_params(ctx: UnitContext, source: Source, market_type: str | None) -> dict[str, Any]:
    """The request parameters of a source's calls for one market type (or account-wide)."""
    params = dict(source.params)
    if market_type is not None:
        if source.market_params:
            params.update(source.market_params.get(market_type, {}))
        else:
            params.update(ctx.params_for(market_type))
    return params


def source_method(ctx: UnitContext, source: Source) -> str | Callable[..., Awaitable[Any]]:
    """What the walker calls for a source: the unified method's name, or, for an implicit
    API method, a call in the unified form (code, since, limit, params) that returns the
    answer's rows parsed, the next-page cursor left where ccxt leaves it."""
    if not source.implicit:
        return source.method
    implicit = getattr(ctx.client, source.method)
    cursor_field = ctx.profile.cursor_field
    parent, _, _ = source.rows.rpartition(".")

    async def fetch(
        code: str | None, since: int | None, limit: int | None = None, params: Any = None
    ) -> list[dict[str, Any]]:
        request = dict(params or {})
        if limit is not None:
            request["limit"] = limit
        answer = await implicit(request)
        rows = value_at(answer, source.rows)
        if not isinstance(rows, list):
            raise ccxt.BadResponse(f"{source.method}: no list at {source.rows} in the answer")
        rows = [row for row in rows if isinstance(row, dict)]
        cursor = value_at(answer, f"{parent}.{cursor_field}" if parent else cursor_field or "")
        if cursor and rows and cursor_field:
            rows[0][cursor_field] = cursor
        parser = getattr(ctx.client, source.parse) if source.parse else None
        return [parser(row) if parser else {"info": row} for row in rows]

    fetch.__name__ = source.method
    return fetch


def refine(ctx: UnitContext, source: Source, item: dict[str, Any]) -> dict[str, Any]:
    """Complete a parsed row with what the source's profile says: raw fields ccxt leaves
    out, fixed values, statuses in ccxt's words. Reads the raw row each time: idempotent."""
    info = item.get("info") if isinstance(item.get("info"), dict) else {}
    for key, raw in source.fields.items():
        value = info.get(raw)
        if key in source.seconds:
            value = _milliseconds(value)
        item[key] = value
    for key in source.dates:
        if isinstance(item.get(key), str):
            item[key] = ctx.client.parse8601(item[key])
    for key in ("fromAccount", "toAccount"):
        if item.get(key) in source.accounts:
            item[key] = source.accounts[item[key]]
    item.update(source.values)
    if "currency" in source.fields and item.get("currency"):
        item["currency"] = ctx.client.safe_currency_code(item["currency"])
    status = item.get("status")
    if status is not None:
        item["status"] = source.statuses.get(str(status), status)
    return item


def exact(source: Source, item: dict[str, Any], column: str, parsed: Any) -> str | None:
    """A column's amount as exact decimal text: from the raw row where the source says
    which field holds it, else from ccxt's parsed value `parsed`."""
    raw = source.exact.get(column)
    if raw is not None:
        info = item.get("info") if isinstance(item.get("info"), dict) else {}
        return decimal_text(info.get(raw))
    return decimal_text(parsed)


async def pending_since(ctx: UnitContext, kind: str, table: str, source: str) -> int | None:
    """Where a stream must read from again so that its rows still pending are seen to
    settle: a window before the oldest of them (the exchange may file a row by a time
    before the one it shows). Rows pending for over CHASE_DAYS are reported instead."""
    finals = ",".join("?" * len(FINAL_STATUSES))
    unsettled = (
        f"FROM {table} WHERE exchange = ? AND source = ? AND status NOT IN ({finals}) "
        "AND timestamp IS NOT NULL"
    )
    since = ctx.now_ms - CHASE_DAYS * DAY_MS
    args = [ctx.name, source, *FINAL_STATUSES, since]
    ((first,),) = await ctx.fetch(f"SELECT min(timestamp) {unsettled} AND timestamp >= ?", args)
    ((count, example),) = await ctx.fetch(
        f"SELECT count(*), min(id) {unsettled} AND timestamp < ?", args
    )
    if count:
        ctx.warn(
            f"{table}: {count} still pending after {CHASE_DAYS} days (e.g. {example}); "
            "no longer read again"
        )
    if first is None:
        return None
    return int(first) - (ctx.profile.window_ms(None, kind) or DAY_MS)


def _milliseconds(seconds: Any) -> int | None:
    try:
        return int(Decimal(str(seconds)) * 1000)
    except (ArithmeticError, ValueError):
        return None
