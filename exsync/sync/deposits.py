"""Deposits: money that came into the exchange account, on-chain or from another user.

Each of the profile's sources (Bybit: on-chain deposit records and internal, off-chain
ones; Binance: one history of both, paged by offset) is walked in the exchange's windows
from `trades_since`, then incrementally. A deposit
still on its way is stored as pending and read again on every pass until it settles
(see `sourcewalk.pending_since`).
"""

from __future__ import annotations

from typing import Any

from exsync.sources import Source
from exsync.store import to_json, utc_now
from exsync.sync.sourcewalk import exact, walk_sources
from exsync.sync.unit import UnitContext


async def sync(ctx: UnitContext) -> int:
    """Every deposit since `trades_since`, pending ones updated until they settle."""
    return await sync_transactions(ctx, "deposits")


async def sync_transactions(ctx: UnitContext, kind: str) -> int:
    """Deposits or withdrawals (`kind`, also the table): ccxt's transaction structures."""
    return await walk_sources(
        ctx, kind, kind, lambda source, item: transaction_row(ctx, source, item)
    )


def transaction_row(ctx: UnitContext, source: Source, item: dict[str, Any]) -> dict[str, Any]:
    """A row of the deposits or withdrawals table from ccxt's transaction structure."""
    fee = item.get("fee") or {}
    return {
        "exchange": ctx.name,
        "source": source.name,
        "id": _id(item),
        "asset": item.get("currency"),
        "amount": exact(source, item, "amount", item.get("amount")),
        "network": item.get("network"),
        "address": item.get("addressTo") or item.get("address") or item.get("addressFrom"),
        "tag": item.get("tagTo") or item.get("tag") or None,
        "txid": item.get("txid") or None,
        "fee": exact(source, item, "fee", fee.get("cost")),
        "fee_asset": fee.get("currency"),
        "status": item.get("status"),
        "internal": _flag(item.get("internal")),
        "timestamp": item.get("timestamp"),
        "updated": item.get("updated") or item.get("timestamp"),
        "synced_at": utc_now(),
        "raw": to_json(item.get("info")),
    }


def _id(item: dict[str, Any]) -> str:
    # Older records may carry no id of their own: the transaction id stands in, which a
    # re-read finds again (a time would not: it changes while the deposit settles).
    if item.get("id"):
        return str(item["id"])
    info = item.get("info") if isinstance(item.get("info"), dict) else {}
    parts = [item.get("txid"), info.get("txIndex")]
    if not item.get("txid"):
        parts = [item.get("currency"), item.get("amount"), item.get("addressTo"), item.get("tag")]
    return "tx:" + ":".join(str(p) for p in parts if p not in (None, ""))


def _flag(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return 0 if value.strip().lower() in ("0", "false") else 1
    return 1 if value else 0
