"""The symbols a per-symbol history walks, found from what the account shows.

Binance has no account-wide trade or order history: each symbol is asked on its own, so
which symbols to ask is found, not guessed. Each pass gathers evidence from
`EVIDENCE_SOURCES` (a short list: add one to add evidence) and crosses it with the
exchange's markets. A unit walks:

- every listed symbol (`symbols` in the config adds symbols; it is never required);
- every symbol that ever had history here (`history_symbols.active`);
- every symbol a source names (a position, an order or a trade in the mirror, a ledger entry
  or a closed position);
- once, every market whose base asset the account holds, held (a balance now or in any
  stored snapshot) or moved (a deposit, withdrawal, transfer, ledger entry or conversion):
  SOL held makes SOL/USDT, SOL/BTC, SOL/USDT:USDT... candidates, which covers every pair of
  two held assets. An asset held only as a quote (USDT) makes no market a candidate: that would be
  every USDT market, hundreds of them, for an account that holds nothing else.

A candidate found quiet is walked again when both assets a trade there moves (spot: base
and quote) have a different balance than at its last check, since a trade moves both, and in
any case after `RECHECK_SECONDS`. Each walk of a quiet symbol costs one request per kind.

What no source shows stays unseen: an asset bought and sold again between two passes, a
futures position opened and closed between two passes, unless the exchange's deposits,
withdrawals, transfers, ledger (the futures income ledger), closed positions or
conversions are synced: they are read as evidence as soon as their tables hold rows of the
exchange.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from exsync.profiles import market_type_of, symbols_for
from exsync.store import utc_now, utc_now_minus
from exsync.sync.balances import read_wallet
from exsync.sync.history import walk_history
from exsync.sync.positions import open_positions
from exsync.sync.unit import (
    Pending,
    UnitContext,
    background,
    number,
    per_settle_coin,
    together,
)

#: a candidate found quiet is checked again after this long even if no balance moved
RECHECK_SECONDS = 7 * 86_400
#: what a unit that covers no symbol says
NOTHING_COVERED = (
    "no symbol to walk: the account holds no asset that is a market's base, has no position "
    "and no order or trade in the mirror, and `symbols` lists none; list the symbols it "
    "trades under `symbols`"
)


@dataclass
class Evidence:
    """What the account shows: assets (that name markets by their base) and symbols."""

    #: asset -> where it was seen
    assets: dict[str, str] = field(default_factory=dict)
    #: unified symbol -> where it was seen
    symbols: dict[str, str] = field(default_factory=dict)
    #: asset -> total held now, over every wallet
    totals: dict[str, float] = field(default_factory=dict)

    def merge(self, other: Evidence) -> None:
        for asset, why in other.assets.items():
            self.assets.setdefault(asset, why)
        for symbol, why in other.symbols.items():
            self.symbols.setdefault(symbol, why)
        for asset, total in other.totals.items():
            self.totals[asset] = self.totals.get(asset, 0.0) + total


EvidenceSource = Callable[[UnitContext], Awaitable[Evidence]]


async def held_now(ctx: UnitContext) -> Evidence:
    """Assets held now, in every wallet of the synced market types."""
    found = Evidence()
    wallets = [
        (name, params)
        for name, (market_type, params) in ctx.profile.wallets.items()
        if market_type is None or market_type in ctx.market_types
    ]
    # Every wallet at once (discovery stands before every history walk of the pass), read
    # once for this and the balances unit.
    balances = await together(*(read_wallet(ctx, name, params) for name, params in wallets))
    for balance in balances:
        if balance is None:
            continue
        for asset, total in (balance.get("total") or {}).items():
            if number(total):
                found.assets.setdefault(asset, "held")
                found.totals[asset] = found.totals.get(asset, 0.0) + float(total)
    return found


async def held_before(ctx: UnitContext) -> Evidence:
    """Assets in any stored balance snapshot (what the account held at earlier passes)."""
    rows = await ctx.fetch(
        "SELECT DISTINCT asset FROM balance_snapshots WHERE exchange = ? "
        "UNION SELECT asset FROM balances WHERE exchange = ?",
        [ctx.name, ctx.name],
    )
    return Evidence(assets={asset: "held before" for (asset,) in rows})


async def positions(ctx: UnitContext) -> Evidence:
    """Symbols of open positions now, and of every position the mirror has stored."""
    found = Evidence()
    if ctx.client.has.get("fetchPositions"):
        for market_type in (t for t in ctx.market_types if t != "spot"):
            for params in per_settle_coin(ctx, market_type):
                for position in await open_positions(ctx, market_type, params):
                    if number(position.get("contracts")) and position.get("symbol"):
                        found.symbols.setdefault(position["symbol"], "position")
    stored = await ctx.fetch("SELECT DISTINCT symbol FROM positions WHERE exchange = ?", [ctx.name])
    for (symbol,) in stored:
        found.symbols.setdefault(symbol, "position")
    return found


async def in_the_mirror(ctx: UnitContext) -> Evidence:
    """Symbols with orders (open ones included) or trades in the mirror."""
    rows = await ctx.fetch(
        "SELECT DISTINCT symbol FROM orders WHERE exchange = ? "
        "UNION SELECT DISTINCT symbol FROM trades WHERE exchange = ?",
        [ctx.name, ctx.name],
    )
    return Evidence(symbols={symbol: "in the mirror" for (symbol,) in rows if symbol})


#: (table, asset column) of every record of money moving
_MOVED = (
    ("deposits", "asset"),
    ("withdrawals", "asset"),
    ("transfers", "asset"),
    ("ledger", "asset"),
    ("conversions", "from_asset"),
    ("conversions", "to_asset"),
)


async def money_moved(ctx: UnitContext) -> Evidence:
    """Assets the mirror saw deposited, withdrawn, transferred, booked in the ledger or
    swapped (a Convert swap is never a trade of myTrades), and symbols of ledger entries
    (funding, realised PnL) and closed positions."""
    assets = await ctx.fetch(
        " UNION ".join(
            f"SELECT DISTINCT {column} FROM {table} WHERE exchange = ?" for table, column in _MOVED
        ),
        [ctx.name] * len(_MOVED),
    )
    symbols = await ctx.fetch(
        "SELECT DISTINCT symbol FROM ledger WHERE exchange = ? "
        "UNION SELECT DISTINCT symbol FROM closed_positions WHERE exchange = ?",
        [ctx.name, ctx.name],
    )
    return Evidence(
        assets={asset: "moved" for (asset,) in assets if asset},
        symbols={symbol: "in the ledger" for (symbol,) in symbols if symbol},
    )


#: where candidate symbols come from, in order (the first reason given for a symbol is kept)
EVIDENCE_SOURCES: tuple[EvidenceSource, ...] = (
    held_now,
    held_before,
    positions,
    in_the_mirror,
    money_moved,
)


@dataclass
class Walk:
    """One history stream a unit walks this pass."""

    stream: str
    symbol: str
    market_type: str
    reason: str
    prior: dict[str, Any] | None
    #: totals of the assets a trade on this market moves, now
    balances: dict[str, float]

    def record(self, ctx: UnitContext, kind: str, rows: int) -> dict[str, Any]:
        """The history_symbols row after walking it: `rows` the exchange sent."""
        prior = self.prior or {}
        now = utc_now()
        return {
            "exchange": ctx.name,
            "kind": kind,
            "symbol": self.symbol,
            "market_type": self.market_type,
            "reason": self.reason,
            "first_checked": prior.get("first_checked") or now,
            "last_checked": now,
            "rows": (prior.get("rows") or 0) + rows,
            "active": 1 if prior.get("active") or rows else 0,
            "balances": json.dumps(self.balances, sort_keys=True),
        }


@dataclass
class Plan:
    """The streams a unit walks this pass, and how many symbols it covers in all."""

    walks: list[Walk]
    covered: int


async def plan(
    ctx: UnitContext, kind: str, seen: dict[str, str] | None = None, *, evidence: bool = True
) -> Plan:
    """The streams of `kind` ("trades", "orders") to walk this pass.

    `seen`: symbols the unit itself has just seen (an orders unit: its open orders).
    Without `evidence`, only the streams walked on every pass whatever the account shows
    (listed symbols, and those that had history here): they need not wait for it.
    """
    found = Evidence()
    if evidence:
        found.merge(await _evidence(ctx))
    for symbol, why in (seen or {}).items():
        found.symbols.setdefault(symbol, why)
    markets = {
        symbol: market
        for symbol, market in (ctx.client.markets or {}).items()
        if market_type_of(symbol) in ctx.market_types
    }
    candidates: dict[str, tuple[str, bool]] = {}  # symbol -> (why, walk on every pass)
    for symbol in symbols_for(ctx.exchange):
        candidates[symbol] = ("listed", True)
    for symbol, why in found.symbols.items():
        if symbol in markets:
            candidates.setdefault(symbol, (why, True))
    for symbol, market in markets.items():
        base = market.get("base")
        if base in found.assets:
            candidates.setdefault(symbol, (f"{base} {found.assets[base]}", False))

    rows = await ctx.store.run(
        ctx.store.query, "SELECT * FROM history_symbols WHERE exchange = ?", [ctx.name]
    )
    prior = {r["symbol"]: r for r in rows if r["kind"] == kind}
    active = {r["symbol"] for r in rows if r["active"]}
    recheck_before = utc_now_minus(RECHECK_SECONDS)
    walks = []
    for symbol in dict.fromkeys([*candidates, *prior]):
        before = prior.get(symbol)
        why, always = candidates.get(symbol) or (before["reason"] if before else "", False)
        if symbol not in markets and why != "listed":
            continue  # the exchange no longer lists it: there is nothing to ask
        moved = _moved_assets(markets.get(symbol))
        now_balances = {asset: round(found.totals.get(asset, 0.0), 12) for asset in moved}
        due = (
            always
            or symbol in active
            or before is None
            or (before["last_checked"] or "") < recheck_before
            or _both_moved(before.get("balances"), now_balances)
        )
        if due and (evidence or always or symbol in active):
            market_type = market_type_of(symbol)
            stream = f"{kind}:{market_type}:{symbol}"
            walks.append(Walk(stream, symbol, market_type, why, before, now_balances))
    covered = len({*candidates, *prior})
    return Plan(walks, covered)


async def walk_streams(
    ctx: UnitContext,
    pending: Pending,
    kind: str,
    *,
    seen: dict[str, str] | None = None,
    **walk: Any,
) -> int:
    """Walk every history stream of a unit of `kind` ("trades", "orders"); return how many
    symbols it covers (or market types, where history is account-wide).

    Account-wide where the exchange allows it, one stream per market type; else one per
    symbol, found from what the account shows (`plan`; `seen`: symbols the unit
    itself has just seen). The streams walked on every pass start at once; the others when
    the account's evidence is in. `walk`: the keyword arguments of `history.walk_history`.
    """
    if not ctx.profile.history_per_symbol:
        await together(
            *(
                walk_history(ctx, pending, stream=f"{kind}:{t}", symbol=None, market_type=t, **walk)
                for t in ctx.market_types
            )
        )
        return len(ctx.market_types)
    early = await plan(ctx, kind, seen, evidence=False)
    planned = background(plan(ctx, kind, seen))
    started = {step.stream for step in early.walks}

    async def one(step: Walk) -> None:
        rows = await walk_history(
            ctx,
            pending,
            stream=step.stream,
            symbol=step.symbol,
            market_type=step.market_type,
            **walk,
        )
        # Recorded as the whole plan sees it (its reason, the balances now), and committed
        # with the stream's last cursor move: a symbol counts as checked once its walk is
        # stored.
        full = {w.stream: w for w in (await asyncio.shield(planned)).walks}
        pending.add("history_symbols", [full.get(step.stream, step).record(ctx, kind, rows)])

    async def the_rest() -> None:
        found = await asyncio.shield(planned)
        await together(*(one(step) for step in found.walks if step.stream not in started))

    try:
        await together(*(one(step) for step in early.walks), the_rest())
    finally:
        planned.cancel()  # a failed walk leaves nothing running behind the unit
    return planned.result().covered


async def _evidence(ctx: UnitContext) -> Evidence:
    """The sources' evidence, gathered once per exchange and pass for all its units."""
    evidence: Evidence = await ctx.once("history evidence", lambda: _gather(ctx))
    return evidence


async def _gather(ctx: UnitContext) -> Evidence:
    found = Evidence()
    # Concurrently, merged in the list's order: the first source to name a symbol gives its why.
    for evidence in await together(*(source(ctx) for source in EVIDENCE_SOURCES)):
        found.merge(evidence)
    return found


def _moved_assets(market: dict[str, Any] | None) -> tuple[str, ...]:
    """The assets whose balances a trade on this market changes (spot: base and quote)."""
    if not market or not market.get("spot"):
        return ()
    return tuple(a for a in (market.get("base"), market.get("quote")) if a)


def _both_moved(before: str | None, now: dict[str, float]) -> bool:
    if not now or not before:
        return False
    try:
        then = json.loads(before)
    except ValueError:
        return True
    return all(abs(now[a] - float(then.get(a, 0.0))) > 1e-12 for a in now)
