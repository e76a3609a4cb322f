"""Balances: the latest balance per wallet and asset, and a snapshot per pass."""

from __future__ import annotations

from collections.abc import Awaitable
from decimal import Decimal
from typing import Any

from exsync.ccxt_import import errors as ccxt
from exsync.sources import Holdings, rows_at, value_at
from exsync.store import EXACT, Store, to_json, utc_now
from exsync.sync.prices import price_assets
from exsync.sync.unit import UnitContext, decimal_text, together

#: what a wallet read returns: {"free": {...}, "used": {...}, "total": {...}} by asset, or
#: None when the API key may not read an optional wallet
Balance = dict[str, Any] | None


async def sync(ctx: UnitContext) -> int:
    """Latest balance per wallet and asset; assets no longer held are deleted; a snapshot
    per pass, each asset with its price in the quote currency. Exchanges with separate
    wallets (Binance spot and futures, Bybit's Funding wallet and Earn) have one each. A
    wallet the API key may not read (an optional one) keeps its last known balances, with
    a warning."""
    reads: list[tuple[str, Awaitable[Balance]]] = [
        (name, read_wallet(ctx, name, params))
        for name, (market_type, params) in ctx.profile.wallets.items()
        if market_type is None or market_type in ctx.market_types
    ]
    reads += [
        (name, _wallet(ctx, name, _holdings(ctx, holdings)))
        for name, holdings in ctx.profile.holdings.items()
    ]
    balances = await together(*(read for _, read in reads))
    now = utc_now()
    rows = []
    unread = []
    for (wallet, _), balance in zip(reads, balances, strict=True):
        if balance is None:
            unread.append(wallet)
            continue
        rows.extend(_rows(ctx, wallet, balance, now))
    await _value(ctx, rows, now)
    held = {(r["wallet"], r["asset"]) for r in rows}

    def finish(store: Store) -> None:
        stored = store.fetchall("SELECT wallet, asset FROM balances WHERE exchange = ?", [ctx.name])
        gone = [
            (ctx.name, wallet, asset)
            for wallet, asset in stored
            if (wallet, asset) not in held and wallet not in unread
        ]
        if gone:
            store.executemany(
                "DELETE FROM balances WHERE exchange = ? AND wallet = ? AND asset = ?", gone
            )

    pending = ctx.pending()
    pending.add("balances", rows)
    pending.add(
        "balance_snapshots",
        [{k: r[k] for k in SNAPSHOT_COLUMNS} | {"taken_at": now} for r in rows],
    )
    await pending.commit(finish)
    return len(rows)


#: what a snapshot keeps of each balance row
SNAPSHOT_COLUMNS = (
    "exchange",
    "run_id",
    "wallet",
    "asset",
    "free",
    "used",
    "total",
    "equity",
    "unrealized_pnl",
    "quote",
    "price",
    "value",
)


def _rows(ctx: UnitContext, wallet: str, balance: dict[str, Any], now: str) -> list[dict[str, Any]]:
    """The balance rows of one wallet: ccxt's amounts, and the exchange's own wallet balance,
    equity and unrealised PnL where the profile says where they are."""
    fields = ctx.profile.balance_fields.get(wallet)
    raw = {}
    if fields is not None:
        for entry in rows_at(balance.get("info"), fields.rows):
            if entry.get(fields.asset):
                raw[ctx.client.safe_currency_code(entry[fields.asset])] = entry
    rows = []
    for asset, total in sorted((balance.get("total") or {}).items()):
        entry = raw.get(asset, {})
        if fields is not None and fields.total and entry.get(fields.total) not in (None, ""):
            total = entry[fields.total]  # the wallet balance, never unrealised PnL
        exact = decimal_text(total)
        if exact is None or Decimal(exact) == 0:
            continue
        rows.append(
            {
                "exchange": ctx.name,
                "wallet": wallet,
                "asset": asset,
                "free": decimal_text((balance.get("free") or {}).get(asset)),
                "used": decimal_text((balance.get("used") or {}).get(asset)),
                "total": exact,
                "equity": _field(entry, fields and fields.equity),
                "unrealized_pnl": _field(entry, fields and fields.unrealized_pnl),
                "quote": None,
                "price": None,
                "value": None,
                "priced_at": None,
                "run_id": ctx.run_id,
                "synced_at": now,
                "raw": to_json(entry) if entry else None,
            }
        )
    return rows


def _field(entry: dict[str, Any], name: str | None) -> str | None:
    return decimal_text(entry.get(name)) if name else None


async def _value(ctx: UnitContext, rows: list[dict[str, Any]], now: str) -> None:
    """Price every held asset in the quote currency; a price that cannot be had is a
    warning, never a failed unit (the balances themselves are what matters)."""
    quote = ctx.exchange.settings.quote
    try:
        prices = await price_assets(ctx, (r["asset"] for r in rows), quote)
    except (ccxt.NetworkError, ccxt.ExchangeError) as exc:
        ctx.warn(f"no {quote} prices this pass: {exc.__class__.__name__}: {exc}"[:300])
        return
    unpriced = sorted({r["asset"] for r in rows} - set(prices))
    if unpriced:
        ctx.warn(f"no market prices {', '.join(unpriced)} in {quote}; left without a value")
    for row in rows:
        price = prices.get(row["asset"])
        if price is None:
            continue
        row.update(
            quote=quote,
            price=price,
            value=format(EXACT.multiply(Decimal(row["total"]), Decimal(price)), "f"),
            priced_at=now,
        )


async def read_wallet(ctx: UnitContext, name: str, params: dict[str, Any]) -> Balance:
    """A wallet of the profile, read once a pass for every unit that asks (the balances
    unit, and the symbols a history walks); None when the key may not read it (optional)."""
    read = ctx.once(f"wallet {name}", lambda: ctx.call("fetch_balance", dict(params)))
    return await _wallet(ctx, name, read)


async def _wallet(ctx: UnitContext, name: str, read: Awaitable[Balance]) -> Balance:
    """One wallet's balances; None when the key may not read this optional wallet."""
    try:
        return await read
    except ccxt.PermissionDenied as exc:
        if name not in ctx.profile.optional_wallets:
            raise
        ctx.warn(f"wallet {name} not read: the API key lacks the permission ({exc})"[:300])
        return None


async def _holdings(ctx: UnitContext, lists: tuple[Holdings, ...]) -> Balance:
    """A wallet listed by implicit API methods: amounts summed per asset."""
    reads = [(h, request) for h in lists for request in h.requests]
    answers = await together(*(_holding_rows(ctx, h, request) for h, request in reads))
    totals: dict[str, Decimal] = {}
    for (holdings, _), found in zip(reads, answers, strict=True):
        for row in found:
            amount = decimal_text(row.get(holdings.amount)) if isinstance(row, dict) else None
            if amount is None:
                continue
            asset = ctx.client.safe_currency_code(row.get(holdings.asset))
            totals[asset] = EXACT.add(totals.get(asset, Decimal(0)), Decimal(amount))
    total = {asset: str(amount) for asset, amount in totals.items()}
    return {"total": total, "free": {}, "used": {}}


async def _holding_rows(ctx: UnitContext, holdings: Holdings, request: dict[str, Any]) -> list[Any]:
    """Every row of one holdings list, page after page where it is paged."""
    rows: list[Any] = []
    page = 1
    while True:
        params = dict(request)
        if holdings.page_param and holdings.size_param:
            params |= {holdings.page_param: page, holdings.size_param: holdings.page_size}
        answer = await ctx.call(holdings.method, params)
        found = value_at(answer, holdings.rows)
        if found is None and holdings.total and value_at(answer, holdings.total) == 0:
            found = []  # an answer that counts no rows may leave them out
        if not isinstance(found, list):
            raise ccxt.BadResponse(f"{holdings.method}: no list at {holdings.rows}")
        rows += found
        if not holdings.page_param or len(found) < holdings.page_size:
            return rows
        page += 1
