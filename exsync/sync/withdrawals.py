"""Withdrawals: money that left the exchange account, on-chain or to another user.

Read as deposits are (`deposits.sync_transactions`): the profile's sources walked in the
exchange's windows, a withdrawal still on its way read again until it settles. Bybit lists
off-chain withdrawals only when asked for every withdrawal type.
"""

from __future__ import annotations

from exsync.sync.deposits import sync_transactions
from exsync.sync.unit import UnitContext


async def sync(ctx: UnitContext) -> int:
    """Every withdrawal since `trades_since`, pending ones updated until they settle."""
    return await sync_transactions(ctx, "withdrawals")
