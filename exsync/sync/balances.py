"""Balances: the latest balance per wallet and asset, and a snapshot per pass."""

from __future__ import annotations

from exsync.store import Store, utc_now
from exsync.sync.unit import UnitContext, number, together


async def sync(ctx: UnitContext) -> int:
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
                    "free": number((balance.get("free") or {}).get(asset)),
                    "used": number((balance.get("used") or {}).get(asset)),
                    "total": number(total),
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

    pending = ctx.pending()
    pending.add("balances", rows)
    columns = ("exchange", "run_id", "wallet", "asset", "free", "used", "total")
    pending.add("balance_snapshots", [{k: r[k] for k in columns} | {"taken_at": now} for r in rows])
    pending.flush(finish)
    return len(rows)
