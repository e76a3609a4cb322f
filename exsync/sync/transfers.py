"""Transfers: moves between the account's own wallets and between sub-accounts.

Bybit keeps them in two lists: between the wallets of one user (FUND <-> UNIFIED) and
between the main account and its sub-accounts, either direction. A transfer listed by both
is one row (keyed by its transfer id). Binance answers one direction a request (MAIN to
UMFUTURE, UMFUTURE to MAIN, ...): each direction between its spot, USD-M and Funding
wallets is a source of its own. Pending ones are read again until they settle.
"""

from __future__ import annotations

from typing import Any

from exsync.sources import Source
from exsync.store import to_json, utc_now
from exsync.sync.sourcewalk import exact, walk_sources
from exsync.sync.unit import UnitContext


async def sync(ctx: UnitContext) -> int:
    """Every transfer since `trades_since`, in both directions."""
    return await walk_sources(ctx, "transfers", "transfers", lambda s, t: _row(ctx, s, t))


def _row(ctx: UnitContext, source: Source, transfer: dict[str, Any]) -> dict[str, Any]:
    return {
        "exchange": ctx.name,
        "id": str(transfer.get("id")),
        "source": source.name,
        "asset": transfer.get("currency"),
        "amount": exact(source, transfer, "amount", transfer.get("amount")),
        "from_account": transfer.get("fromAccount"),
        "to_account": transfer.get("toAccount"),
        "from_member": _text(transfer.get("fromMember")),
        "to_member": _text(transfer.get("toMember")),
        "status": transfer.get("status"),
        "timestamp": transfer.get("timestamp"),
        "synced_at": utc_now(),
        "raw": to_json(transfer.get("info")),
    }


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)
