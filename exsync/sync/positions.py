"""Positions: the open ones, and those gone from the exchange marked closed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exsync.ccxt_import import errors as ccxt
from exsync.store import Store, to_json, utc_now
from exsync.sync.symbols import attribute
from exsync.sync.unit import UnitContext, decimal_text, per_settle_coin, together


async def sync(ctx: UnitContext) -> int:
    """Open positions; those gone from the exchange are marked closed, not left looking open."""
    found: list[dict[str, Any]] = []

    async def fetch(market_type: str, params: dict[str, Any]) -> None:
        raw = await open_positions(ctx, market_type, params)
        found.extend(await attribute(ctx, raw, market_type, "fetch_positions"))

    contract_types = [t for t in ctx.market_types if t != "spot"]
    await together(*(fetch(t, p) for t in contract_types for p in per_settle_coin(ctx, t)))
    now = utc_now()
    rows = []
    for position in found:
        contracts = decimal_text(position.get("contracts"))
        if contracts is None or Decimal(contracts) == 0:
            continue
        rows.append(
            {
                "exchange": ctx.name,
                "symbol": position["symbol"],
                "side": position.get("side") or "both",
                "status": "open",
                "contracts": contracts,
                "contract_size": decimal_text(position.get("contractSize")),
                "entry_price": decimal_text(position.get("entryPrice")),
                "mark_price": decimal_text(position.get("markPrice")),
                "notional": _notional(ctx, position, contracts),
                "leverage": decimal_text(position.get("leverage")),
                "unrealized_pnl": decimal_text(position.get("unrealizedPnl")),
                "liquidation_price": decimal_text(position.get("liquidationPrice")),
                "margin_mode": position.get("marginMode"),
                "timestamp": position.get("timestamp"),
                "synced_at": now,
                "closed_at": None,
                "raw": to_json(position.get("info")),
            }
        )
    await _fill_in(ctx, rows)
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

    pending = ctx.pending()
    pending.add("positions", rows)
    await pending.commit(finish)
    return len(rows)


async def open_positions(
    ctx: UnitContext, market_type: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    """ccxt's positions of a market type (and settle coin), every page, read once a pass for
    every unit that asks (the positions unit, and the symbols a history walks)."""

    async def read() -> list[dict[str, Any]]:
        size = ctx.profile.page("positions", 200)  # ccxt asks for the largest page itself
        pages = ctx.pages("fetch_positions", None, params=params, limit=None, page_size=size)
        return [position async for page in pages for position in page]

    positions: list[dict[str, Any]] = await ctx.once(
        f"positions {market_type} {sorted(params.items())}", read
    )
    return positions


def _notional(ctx: UnitContext, position: dict[str, Any], contracts: str) -> str | None:
    """The position's value at the mark price in its quote currency, never signed.

    Exchanges differ: Bybit's positionValue is the value at entry, Binance's notional is
    signed by side; this is the same on every exchange.
    """
    mark = decimal_text(position.get("markPrice"))
    if mark is None:
        return None
    market = (ctx.client.markets or {}).get(position.get("symbol")) or {}
    size = abs(Decimal(contracts)) * Decimal(decimal_text(position.get("contractSize")) or "1")
    # An inverse contract is a fixed amount of the quote currency; a linear one of the base.
    value = size if market.get("inverse") else size * Decimal(mark)
    return format(+value, "f")


async def _fill_in(ctx: UnitContext, rows: list[dict[str, Any]]) -> None:
    """Leverage and margin mode where ccxt's position does not say them (Binance's USD-M
    positions carry no leverage; Bybit's unified account keeps its margin mode on the
    account): asked once per pass, through ccxt's own methods. What cannot be had stays
    empty, with a warning, never a failed unit."""
    try:
        needed = sorted({r["symbol"] for r in rows if r["leverage"] is None})
        if needed and ctx.client.has.get("fetchLeverages"):
            leverages = await ctx.call("fetch_leverages", needed)
            for row in rows:
                found = leverages.get(row["symbol"]) or {}
                side = "shortLeverage" if row["side"] == "short" else "longLeverage"
                row["leverage"] = row["leverage"] or decimal_text(found.get(side))
                row["margin_mode"] = row["margin_mode"] or found.get("marginMode")
        needed = [r for r in rows if r["margin_mode"] is None]
        if needed and ctx.profile.margin_mode_per_account:
            mode = await ctx.call("fetch_margin_mode", needed[0]["symbol"])
            for row in needed:
                row["margin_mode"] = mode.get("marginMode")
    except (ccxt.NetworkError, ccxt.ExchangeError) as exc:
        ctx.warn(f"leverage or margin mode not read: {exc.__class__.__name__}: {exc}"[:300])
