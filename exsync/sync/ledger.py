"""The ledger: the exchange's own account statement, every change of a wallet balance.

Bybit's transaction log (unified account): trades' fees and cash flows, funding
settlements, transfers in and out, interest, bonuses, liquidations, deliveries. Walked in
7-day windows over the two years Bybit keeps. Binance's USD-M income history: funding
fees, realised PnL, commissions, rebates, transfers in and out of the USD-M wallet, over
the three months Binance keeps, paged by page number. Rows never change: a re-read
upserts them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from exsync.sources import Source
from exsync.store import to_json
from exsync.sync.sourcewalk import exact, walk_sources
from exsync.sync.unit import UnitContext, decimal_text


async def sync(ctx: UnitContext) -> int:
    """Every ledger entry since `trades_since` (or as far back as the exchange keeps)."""
    return await walk_sources(ctx, "ledger", "ledger", lambda s, e: _row(ctx, s, e))


def _row(ctx: UnitContext, source: Source, entry: dict[str, Any]) -> dict[str, Any]:
    info = entry.get("info") if isinstance(entry.get("info"), dict) else {}
    fee = entry.get("fee") or {}
    market_id = entry.get("marketId")
    kind = entry.get("exchangeType") or entry.get("type")
    amount = exact(source, entry, "amount", _signed(entry))
    funding = exact(source, entry, "funding", None)
    if funding is None and kind in source.funding_types:
        funding = amount  # a ledger type that is funding alone (Binance's FUNDING_FEE)
    return {
        "exchange": ctx.name,
        "id": _id(entry, info),
        "type": kind,
        "kind": entry.get("type"),
        "asset": entry.get("currency"),
        "symbol": _symbol(ctx, market_id, entry.get("category")) if market_id else None,
        "amount": amount,
        "fee": exact(source, entry, "fee", fee.get("cost")),
        "funding": funding,
        "balance": exact(source, entry, "balance", entry.get("after")),
        "reference": entry.get("referenceId") or None,
        "timestamp": entry.get("timestamp"),
        "raw": to_json(info),
    }


def _signed(entry: dict[str, Any]) -> str | None:
    """ccxt's ledger amount is unsigned; its direction gives the sign."""
    amount = decimal_text(entry.get("amount"))
    if amount is None or entry.get("direction") != "out" or amount.startswith("-"):
        return amount
    return "-" + amount


def _symbol(ctx: UnitContext, market_id: str, category: Any) -> str:
    """The unified symbol of an exchange market id; the category tells spot BTCUSDT from
    the linear contract of the same id."""
    market_type = category if category in ("spot", "linear", "inverse", "option") else None
    return str(ctx.client.safe_symbol(market_id, None, None, market_type))


def _id(entry: dict[str, Any], info: dict[str, Any]) -> str:
    # Entries from before the exchange gave each its id: a digest of the raw entry, which
    # never changes, stands in.
    if entry.get("id"):
        return str(entry["id"])
    digest = hashlib.sha256(to_json(info).encode()).hexdigest()[:24]
    return f"raw:{digest}"
