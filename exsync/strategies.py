"""One fetch strategy per data type, side by side.

Each strategy fetches through ccxt's unified API and writes through the store. Snapshot
types (balances, positions, open orders, tickers) replace their picture of the exchange
in one transaction, so whatever disappeared on the exchange disappears from (or is marked
in) the copy. History types (closed orders, trades, candles) walk the exchange's time
windows and pages from their cursor to now; rows and the cursor that covers them commit
together, and the cursor only ever moves past rows already committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import ccxt

from exsync.capabilities import order_history_method
from exsync.config import ExchangeConfig
from exsync.datatypes import DataType
from exsync.durations import parse_since
from exsync.profiles import DAY_MS, Profile, market_type_of, symbols_for
from exsync.retry import Attempts, call
from exsync.store import Store, to_json, utc_now

log = logging.getLogger(__name__)

#: rows held in memory before they are written; bounds memory during a long backfill
FLUSH_ROWS = 20_000
#: how many candle series of one exchange are fetched at once (ccxt's limiter still paces them)
OHLCV_CONCURRENCY = 8
#: how many time windows of one history stream are read at once during a backfill
WINDOW_CONCURRENCY = 4


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


class PaginationError(Exception):
    """The exchange's pages do not lead to an end."""


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

    @property
    def name(self) -> str:
        """The exchange's configured name, the key of every row."""
        return self.exchange.name

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a ccxt method with retries; transient errors are retried with backoff."""
        settings = self.exchange.settings
        result = await call(
            getattr(self.client, method),
            *args,
            counter=self.attempts,
            max_tries=settings.max_tries,
            max_time=settings.max_time,
            **kwargs,
        )
        if self.on_rows is not None:
            self.on_rows(len(result) if isinstance(result, list | dict) else 1)
        return result

    async def pages(
        self, method: str, *args: Any, params: dict[str, Any], limit: int | None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield the pages of a cursor-paginated ccxt call until the exchange has no more."""
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
            if not rows or not cursor:
                return
            if cursor in seen:
                # Stopping here would silently drop the rest of the history.
                raise PaginationError(f"{self.name}: {method} repeated page cursor {cursor[:40]!r}")
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

    def __init__(self, store: Store) -> None:
        self.store = store
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.cursors: dict[tuple[str, str], int] = {}
        self.written = 0

    def add(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        self.rows[table].extend(rows)

    def move_cursor(self, exchange: str, stream: str, position: int) -> None:
        self.cursors[(exchange, stream)] = position

    def size(self) -> int:
        return sum(len(r) for r in self.rows.values())

    def flush(self, finish: Callable[[Store], None] | None = None) -> None:
        """Commit the pending rows, cursor moves and `finish` in one transaction."""
        if not self.rows and not self.cursors and finish is None:
            return
        with self.store.transaction():
            for table, rows in self.rows.items():
                # Rows repeated across overlapping pages are upserted in arrival order, so
                # the later (newer) one wins.
                self.written += self.store.upsert(table, rows)
            for (exchange, stream), position in self.cursors.items():
                self.store.set_cursor(exchange, stream, position)
            if finish is not None:
                finish(self.store)
        self.rows.clear()
        self.cursors.clear()


# -- balances -------------------------------------------------------------------------


async def sync_balances(ctx: UnitContext) -> int:
    """Latest balance per wallet and asset; assets no longer held are deleted; a snapshot
    per pass. Exchanges with separate wallets (Binance spot and futures) have one each."""
    wallets = [
        (name, params)
        for name, (market_type, params) in ctx.profile.wallets.items()
        if market_type is None or market_type in ctx.market_types
    ]
    balances = await together(*(ctx.call("fetch_balance", dict(p)) for _, p in wallets))
    now = utc_now()
    rows = []
    for (wallet, _), balance in zip(wallets, balances, strict=True):
        for asset, total in sorted((balance.get("total") or {}).items()):
            if total is None or float(total) == 0.0:
                continue
            rows.append(
                {
                    "exchange": ctx.name,
                    "wallet": wallet,
                    "asset": asset,
                    "free": _num((balance.get("free") or {}).get(asset)),
                    "used": _num((balance.get("used") or {}).get(asset)),
                    "total": _num(total),
                    "run_id": ctx.run_id,
                    "synced_at": now,
                }
            )
    held = [f"{r['wallet']}\x1f{r['asset']}" for r in rows]

    def finish(store: Store) -> None:
        marks = ",".join("?" * len(held))
        store.execute(
            f"DELETE FROM balances WHERE exchange = ? "
            f"AND wallet || char(31) || asset NOT IN ({marks})",
            [ctx.name, *held],
        )

    pending = Pending(ctx.store)
    pending.add("balances", rows)
    columns = ("exchange", "run_id", "wallet", "asset", "free", "used", "total")
    pending.add("balance_snapshots", [{k: r[k] for k in columns} | {"taken_at": now} for r in rows])
    pending.flush(finish)
    return len(rows)


# -- positions ------------------------------------------------------------------------


async def sync_positions(ctx: UnitContext) -> int:
    """Open positions; those gone from the exchange are marked closed, not left looking open."""
    found: list[dict[str, Any]] = []

    async def fetch(params: dict[str, Any]) -> None:
        async for page in ctx.pages("fetch_positions", None, params=params, limit=None):
            found.extend(page)

    contract_types = [t for t in ctx.market_types if t != "spot"]
    await together(*(fetch(p) for t in contract_types for p in _per_settle_coin(ctx, t)))
    now = utc_now()
    rows = []
    for position in found:
        contracts = _num(position.get("contracts"))
        if not contracts:
            continue
        rows.append(
            {
                "exchange": ctx.name,
                "symbol": position["symbol"],
                "side": position.get("side") or "both",
                "status": "open",
                "contracts": contracts,
                "contract_size": _num(position.get("contractSize")),
                "entry_price": _num(position.get("entryPrice")),
                "mark_price": _num(position.get("markPrice")),
                "notional": _num(position.get("notional")),
                "leverage": _num(position.get("leverage")),
                "unrealized_pnl": _num(position.get("unrealizedPnl")),
                "liquidation_price": _num(position.get("liquidationPrice")),
                "margin_mode": position.get("marginMode"),
                "timestamp": position.get("timestamp"),
                "synced_at": now,
                "closed_at": None,
                "raw": to_json(position.get("info")),
            }
        )
    open_keys = [(r["symbol"], r["side"]) for r in rows]

    def finish(store: Store) -> None:
        still_open = store.execute(
            "SELECT symbol, side FROM positions WHERE exchange = ? AND status = 'open'",
            [ctx.name],
        ).fetchall()
        for symbol, side in still_open:
            if (symbol, side) not in open_keys:
                store.execute(
                    "UPDATE positions SET status = 'closed', closed_at = ?, synced_at = ? "
                    "WHERE exchange = ? AND symbol = ? AND side = ?",
                    [now, now, ctx.name, symbol, side],
                )

    pending = Pending(ctx.store)
    pending.add("positions", rows)
    pending.flush(finish)
    return len(rows)


# -- orders ---------------------------------------------------------------------------


async def sync_orders(ctx: UnitContext) -> int:
    """Open orders, plus every order closed since the last pass with its final status.

    An order the copy holds as open that is neither open on the exchange nor in the history
    just read is looked up by id where the exchange allows it (its history windows follow
    creation time); otherwise it gets status 'unknown' (Bybit keeps fully cancelled orders
    for 24 h only).
    """
    open_orders: list[dict[str, Any]] = []

    async def fetch_open(params: dict[str, Any]) -> None:
        limit = ctx.profile.page("open_orders", 50)
        async for page in ctx.pages("fetch_open_orders", None, None, params=params, limit=limit):
            open_orders.extend(page)

    await together(*(fetch_open(p) for t in ctx.market_types for p in _per_settle_coin(ctx, t)))

    # Open orders were fetched first, so history (fetched after) holds the later state and
    # is written after them.
    pending = Pending(ctx.store)
    pending.add("orders", (_order_row(ctx, o) for o in open_orders))
    seen: set[tuple[str, str]] = set()

    def history_row(order: dict[str, Any]) -> dict[str, Any]:
        row = _order_row(ctx, order)
        seen.add((row["symbol"], row["id"]))
        return row

    await together(
        *(
            walk_history(
                ctx,
                pending,
                stream=stream,
                symbol=symbol,
                market_type=market_type,
                method=order_history_method(ctx.client.has),
                limit=ctx.profile.page("orders", 50),
                table="orders",
                to_row=history_row,
                timestamp=lambda order: order.get("lastUpdateTimestamp") or order.get("timestamp"),
            )
            for stream, symbol, market_type in history_streams(ctx, "orders")
        )
    )
    current = {(o["symbol"], str(o["id"])) for o in open_orders} | seen
    vanished = [
        (symbol, order_id)
        for symbol, order_id in ctx.store.execute(
            "SELECT symbol, id FROM orders WHERE exchange = ? AND status = 'open'", [ctx.name]
        ).fetchall()
        if (symbol, order_id) not in current
    ]
    if vanished and ctx.profile.history_per_symbol and ctx.client.has.get("fetchOrder"):
        found = await asyncio.gather(
            *(ctx.call("fetch_order", order_id, symbol) for symbol, order_id in vanished),
            return_exceptions=True,
        )
        lost = []
        for key, order in zip(vanished, found, strict=True):
            if isinstance(order, ccxt.OrderNotFound | ccxt.BadSymbol):
                lost.append(key)  # the exchange no longer knows it: 'unknown', not a failure
            elif isinstance(order, BaseException):
                raise order
            else:
                pending.add("orders", [_order_row(ctx, order)])
        vanished = lost

    def finish(store: Store) -> None:
        for symbol, order_id in vanished:
            store.execute(
                "UPDATE orders SET status = 'unknown', synced_at = ? "
                "WHERE exchange = ? AND symbol = ? AND id = ?",
                [utc_now(), ctx.name, symbol, order_id],
            )

    pending.flush(finish)
    return pending.written


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


def _order_row(ctx: UnitContext, order: dict[str, Any]) -> dict[str, Any]:
    fee = order.get("fee") or {}
    return {
        "exchange": ctx.name,
        "id": str(order["id"]),
        "client_order_id": order.get("clientOrderId"),
        "symbol": order.get("symbol"),
        "type": order.get("type"),
        "side": order.get("side"),
        "price": _num(order.get("price")),
        "average": _num(order.get("average")),
        "amount": _num(order.get("amount")),
        "filled": _num(order.get("filled")),
        "remaining": _num(order.get("remaining")),
        "cost": _num(order.get("cost")),
        "status": order.get("status"),
        "fee_cost": _num(fee.get("cost")),
        "fee_currency": fee.get("currency"),
        "timestamp": order.get("timestamp"),
        "updated": order.get("lastUpdateTimestamp") or order.get("timestamp"),
        "synced_at": utc_now(),
        "raw": to_json(order.get("info")),
    }


# -- trades ---------------------------------------------------------------------------


async def sync_trades(ctx: UnitContext) -> int:
    """Own executions, fees included, from the stored cursor (or `trades_since`) to now."""
    pending = Pending(ctx.store)
    await together(
        *(
            walk_history(
                ctx,
                pending,
                stream=stream,
                symbol=symbol,
                market_type=market_type,
                method="fetch_my_trades",
                limit=ctx.profile.page("trades", 100),
                table="trades",
                to_row=lambda trade: _trade_row(ctx, trade),
                timestamp=lambda trade: trade.get("timestamp"),
            )
            for stream, symbol, market_type in history_streams(ctx, "trades")
        )
    )
    pending.flush()
    return pending.written


def _trade_row(ctx: UnitContext, trade: dict[str, Any]) -> dict[str, Any]:
    fee = trade.get("fee") or {}
    return {
        "exchange": ctx.name,
        "id": str(trade["id"]),
        "order_id": trade.get("order"),
        "symbol": trade.get("symbol"),
        "side": trade.get("side"),
        "taker_or_maker": trade.get("takerOrMaker"),
        "price": _num(trade.get("price")),
        "amount": _num(trade.get("amount")),
        "cost": _num(trade.get("cost")),
        "fee_cost": _num(fee.get("cost")),
        "fee_currency": fee.get("currency"),
        "fee_rate": _num(fee.get("rate")),
        "timestamp": trade.get("timestamp"),
        "raw": to_json(trade.get("info")),
    }


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
    late-arriving rows are caught and re-read rows are upserted, never duplicated. When the
    newest row is older than one window, the cursor rests one window before now so an idle
    account costs one request per pass rather than a walk over its whole history.
    """
    settings = ctx.exchange.settings
    cursor = ctx.store.get_cursor(ctx.name, stream)
    if cursor is None:
        start = parse_since(settings.trades_since, ctx.now_ms)
    else:
        start = max(0, cursor - int(settings.overlap * 1000))
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
            async for page in _window_pages(ctx, method, symbol, since, window_params, limit):
                pending.add(table, (to_row(item) for item in page))
                seen = max([seen, *(t for t in (timestamp(item) for item in page) if t)])
                if pending.size() >= FLUSH_ROWS:
                    pending.flush()  # rows only: the cursor waits for the window to complete
        # Some exchanges filter windows by creation time while rows carry later update
        # times: a window never vouches for anything after its own end.
        finished[index] = min(seen, window_end)
        # Windows finish out of order; the cursor moves only over an unbroken run of finished
        # windows. Everything up to such a window's end is read, so any cursor up to there
        # is safe; the newest row's time keeps it still when nothing new arrived, and a floor
        # about one window back keeps an idle stream from re-walking its past.
        while committable in finished:
            newest = max(newest, finished.pop(committable))
            # The floor is aligned to whole windows so that it moves once a window, not on
            # every pass: a rerun when nothing changed moves no cursor.
            floor = (bounds[committable][1] - window + 1) // window * window
            pending.move_cursor(ctx.name, stream, max(newest, floor, start))
            committable += 1
        if pending.size() >= FLUSH_ROWS:
            pending.flush()

    await together(*(read_window(i, start_, end) for i, (start_, end) in enumerate(bounds)))


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


# -- tickers --------------------------------------------------------------------------


async def sync_tickers(ctx: UnitContext) -> int:
    """Latest ticker per configured symbol; one request per market type covers them all."""
    by_type: dict[str, list[str]] = defaultdict(list)
    for symbol in symbols_for(ctx.exchange):
        by_type[market_type_of(symbol)].append(symbol)
    tickers: list[dict[str, Any]] = []
    for market_type, symbols in by_type.items():
        result = await ctx.call("fetch_tickers", symbols, ctx.params_for(market_type))
        tickers.extend(t for s, t in result.items() if s in symbols)
    now = utc_now()
    rows = [
        {
            "exchange": ctx.name,
            "symbol": t["symbol"],
            "last": _num(t.get("last")),
            "bid": _num(t.get("bid")),
            "ask": _num(t.get("ask")),
            "high": _num(t.get("high")),
            "low": _num(t.get("low")),
            "base_volume": _num(t.get("baseVolume")),
            "quote_volume": _num(t.get("quoteVolume")),
            "percentage": _num(t.get("percentage")),
            "timestamp": t.get("timestamp") or ctx.now_ms,
            "synced_at": now,
            "raw": to_json(t.get("info")),
        }
        for t in tickers
    ]
    current = [r["symbol"] for r in rows]

    def finish(store: Store) -> None:
        marks = ",".join("?" * len(current))
        store.execute(
            f"DELETE FROM tickers WHERE exchange = ? AND symbol NOT IN ({marks})",
            [ctx.name, *current],
        )

    pending = Pending(ctx.store)
    pending.add("tickers", rows)
    pending.flush(finish)
    return len(rows)


# -- ohlcv ----------------------------------------------------------------------------


async def sync_ohlcv(ctx: UnitContext) -> int:
    """Candles per configured symbol, from each series' cursor (or `ohlcv_since`) to now."""
    gate = asyncio.Semaphore(OHLCV_CONCURRENCY)
    timeframe = ctx.exchange.settings.timeframe

    async def one(symbol: str) -> int:
        async with gate:
            return await _sync_series(ctx, symbol, timeframe)

    counts = await asyncio.gather(
        *(one(s) for s in symbols_for(ctx.exchange)), return_exceptions=True
    )
    errors = [c for c in counts if isinstance(c, BaseException)]
    if errors:
        raise errors[0]
    return sum(c for c in counts if isinstance(c, int))


async def _sync_series(ctx: UnitContext, symbol: str, timeframe: str) -> int:
    stream = f"ohlcv:{symbol}:{timeframe}"
    step = int(ctx.client.parse_timeframe(timeframe) * 1000)
    limit = ctx.profile.page("ohlcv", 500)
    cursor = ctx.store.get_cursor(ctx.name, stream)
    since = (
        cursor if cursor is not None else parse_since(ctx.exchange.settings.ohlcv_since, ctx.now_ms)
    )
    pending = Pending(ctx.store)
    while True:
        candles = await ctx.call("fetch_ohlcv", symbol, timeframe, since, limit)
        candles = [c for c in candles if c and c[0] >= since]
        if not candles:
            break
        pending.add(
            "ohlcv",
            (
                {
                    "exchange": ctx.name,
                    "symbol": symbol,
                    "timeframe": timeframe,
                    "timestamp": c[0],
                    "open": c[1],
                    "high": c[2],
                    "low": c[3],
                    "close": c[4],
                    "volume": c[5],
                }
                for c in candles
            ),
        )
        last = candles[-1][0]
        # The newest candle may still be forming: the cursor stays on it so the next pass
        # rewrites it.
        pending.move_cursor(ctx.name, stream, last)
        pending.flush()
        if len(candles) < limit or last + step > ctx.now_ms:
            break
        since = last + step
    return pending.written


STRATEGIES: dict[DataType, Callable[[UnitContext], Awaitable[int]]] = {
    DataType.BALANCES: sync_balances,
    DataType.POSITIONS: sync_positions,
    DataType.ORDERS: sync_orders,
    DataType.TRADES: sync_trades,
    DataType.TICKERS: sync_tickers,
    DataType.OHLCV: sync_ohlcv,
}


def _per_settle_coin(ctx: UnitContext, market_type: str) -> list[dict[str, Any]]:
    """Params for account-wide calls: one per settle coin where the exchange needs one."""
    params = ctx.params_for(market_type)
    if market_type == "spot" or not ctx.profile.settle_param:
        return [params]
    return [params | {ctx.profile.settle_param: coin} for coin in ctx.settle_coins(market_type)]


def _num(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
