"""Money moving in, out and around a simulated Bybit account: deposits, withdrawals,
transfers, closed positions and the account statement's own entries, and their
deterministic generation from the Scenario."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .market import DAY_MS, MINUTE_MS, Instrument, PriceModel, make_uuid, num, text_id
from .scenario import Scenario, lots_for

#: the simulated main account's user id, and its sub-accounts'
MEMBER_ID = "100200300"
SUB_MEMBER_IDS = ("100200301", "100200302")

# Bybit's depositStatus: 1 toBeConfirmed, 2 processing (on the way); 3 success, 4 failed.
DEPOSIT_PENDING = (1, 2)
# Bybit's withdrawStatus values still on the way.
WITHDRAWAL_PENDING = ("SecurityCheck", "Pending")

_CHAINS = {"BTC": "BTC", "ETH": "ETH", "USDT": "TRX", "USDC": "ETH", "SOL": "SOL"}
# On-chain withdrawal fees, in the coin withdrawn.
_FEES = {"BTC": "0.0002", "ETH": "0.0015", "SOL": "0.01"}


@dataclass(slots=True)
class Deposit:
    """An on-chain deposit (``internal`` False) or one from another Bybit user."""

    uid: int
    coin: str
    amount: str
    status: int  # depositStatus; internal deposits: 1 processing, 2 success, 3 failed
    created: int  # ms: what the record windows filter on
    updated: int  # successAt: the last update
    tx_id: str
    address: str
    chain: str = ""
    tag: str = ""
    fee: str = ""
    internal: bool = False
    from_member: str = ""


@dataclass(slots=True)
class Withdrawal:
    """A withdrawal, on-chain or (``internal``) to another Bybit user."""

    uid: int
    coin: str
    amount: str
    fee: str
    status: str  # withdrawStatus
    created: int
    updated: int
    address: str
    chain: str
    tx_id: str = ""
    tag: str = ""
    internal: bool = False


@dataclass(slots=True)
class Transfer:
    """A move between wallets of one user, or (``universal``) between users."""

    uid: int
    transfer_id: str
    coin: str
    amount: str
    from_account: str
    to_account: str
    status: str  # SUCCESS, PENDING, FAILED
    created: int
    updated: int  # when it settled (its transaction log entry's time)
    from_member: str = MEMBER_ID
    to_member: str = MEMBER_ID
    universal: bool = False


@dataclass(slots=True)
class ClosedPnl:
    """One closing of a contract position: its entry, its exit and what it realised."""

    uid: int
    instrument: Instrument
    side: str  # the closing order's side: Sell closes a long
    qty_lots: int
    entry_ticks: int
    exit_ticks: int
    leverage: int
    created: int
    order_id: str
    fills: int = 1


@dataclass(slots=True)
class LedgerEntry:
    """A transaction log entry of its own (interest, bonus, fee refund, airdrop)."""

    uid: int
    type: str
    coin: str
    change: str
    created: int


@dataclass
class Funds:
    """The money records of an account."""

    deposits: list[Deposit]
    withdrawals: list[Withdrawal]
    transfers: list[Transfer]
    closed: list[ClosedPnl]
    entries: list[LedgerEntry]


def coin_amount(coin: str, rng: random.Random, prices: PriceModel, t: int) -> str:
    """A plausible amount of ``coin`` worth 50 to 5,000 USD, as exact text."""
    usd = rng.uniform(50, 5_000)
    decimals = 2 if prices.price(coin, t) < 2 else 6
    return num(usd / prices.price(coin, t), decimals)


def tx_hash(*parts: int) -> str:
    """A deterministic 64-hex-digit chain transaction id."""
    return make_uuid(*parts).replace("-", "") * 2


def generate_funds(
    scenario: Scenario, anchor: int, contracts: list[Instrument], prices: PriceModel
) -> Funds:
    """The account's history of deposits, withdrawals, transfers, closed positions and
    ledger entries, spread over ``history_days`` before ``anchor``; every one settled."""
    seed = scenario.seed
    coins = sorted(scenario.balances) or ["USDT"]
    start = anchor - scenario.history_days * DAY_MS
    span = anchor - 2 * MINUTE_MS - start

    def rng(part: str) -> random.Random:
        return random.Random(f"{seed}:funds:{part}")

    def times(part: str, count: int) -> list[int]:
        r = rng(f"{part}:times")
        return sorted(start + int(r.random() * span) for _ in range(count))

    funds = Funds([], [], [], [], [])
    r = rng("deposits")
    for t in times("deposits", scenario.deposits):
        coin = r.choice(coins)
        uid = len(funds.deposits)
        funds.deposits.append(
            Deposit(
                uid=uid,
                coin=coin,
                amount=coin_amount(coin, r, prices, t),
                # now and then one fails
                status=4 if r.random() < 0.1 else 3,
                created=t,
                updated=t + int(r.uniform(MINUTE_MS, 40 * MINUTE_MS)),
                tx_id=tx_hash(seed, 41, uid),
                address=f"addr-{text_id(coin) % 100_000:05d}",
                chain=_CHAINS.get(coin, coin),
            )
        )
    r = rng("internal")
    for t in times("internal", scenario.internal_deposits):
        coin = r.choice(coins)
        uid = len(funds.deposits)
        funds.deposits.append(
            Deposit(
                uid=uid,
                coin=coin,
                amount=coin_amount(coin, r, prices, t),
                status=2,
                created=t // 1000 * 1000,  # internal records keep seconds only
                updated=t // 1000 * 1000,
                tx_id=make_uuid(seed, 42, uid)[:32],
                address="user***@example.com",
                internal=True,
                from_member=str(200_000_000 + uid),
            )
        )
    r = rng("withdrawals")
    for t in times("withdrawals", scenario.withdrawals):
        coin = r.choice(coins)
        uid = len(funds.withdrawals)
        internal = r.random() < 0.3
        status = "CancelByUser" if r.random() < 0.1 else "success"
        funds.withdrawals.append(
            Withdrawal(
                uid=uid,
                coin=coin,
                amount=coin_amount(coin, r, prices, t),
                fee="0" if internal else _FEES.get(coin, "1"),
                status=status,
                created=t,
                updated=t + int(r.uniform(MINUTE_MS, 30 * MINUTE_MS)),
                address=str(300_000_000 + uid) if internal else f"dest-{uid:04d}",
                chain="" if internal else _CHAINS.get(coin, coin),
                tx_id="" if internal or status != "success" else tx_hash(seed, 43, uid),
                internal=internal,
            )
        )
    r = rng("transfers")
    for t in times("transfers", scenario.transfers):
        coin = r.choice(coins)
        into_unified = r.random() < 0.5
        funds.transfers.append(
            transfer(
                len(funds.transfers),
                coin,
                coin_amount(coin, r, prices, t),
                t,
                from_account="FUND" if into_unified else "UNIFIED",
                to_account="UNIFIED" if into_unified else "FUND",
            )
        )
    r = rng("sub-transfers")
    for t in times("sub-transfers", scenario.sub_transfers):
        coin = r.choice(coins)
        sub = r.choice(SUB_MEMBER_IDS)
        outgoing = r.random() < 0.5
        funds.transfers.append(
            transfer(
                len(funds.transfers),
                coin,
                coin_amount(coin, r, prices, t),
                t,
                from_member=MEMBER_ID if outgoing else sub,
                to_member=sub if outgoing else MEMBER_ID,
            )
        )
    r = rng("closed")
    for t in times("closed", scenario.closed_pnl if contracts else 0):
        inst = r.choice(contracts)
        opened = t - int(r.uniform(10 * MINUTE_MS, 3 * DAY_MS))
        entry = prices.pair_price(inst, opened)
        funds.closed.append(
            closed_pnl(
                seed,
                len(funds.closed),
                inst,
                side=r.choice(("Buy", "Sell")),
                qty_lots=lots_for(inst, r.uniform(500, 20_000), entry),
                entry=entry,
                exit=prices.pair_price(inst, t),
                leverage=r.choice((5, 10, 20)),
                t=t,
            )
        )
    r = rng("entries")
    for t in times("entries", scenario.ledger_entries):
        kind = r.choice(("INTEREST", "BONUS", "FEE_REFUND", "AIRDROP"))
        coin = "USDT" if kind != "AIRDROP" else r.choice(coins)
        change = num(r.uniform(0.01, 25) * (-1 if kind == "INTEREST" else 1), 8)
        funds.entries.append(LedgerEntry(len(funds.entries), kind, coin, change, t))
    return funds


def transfer(
    uid: int,
    coin: str,
    amount: str,
    t: int,
    *,
    from_account: str = "UNIFIED",
    to_account: str = "UNIFIED",
    from_member: str = MEMBER_ID,
    to_member: str = MEMBER_ID,
    status: str = "SUCCESS",
) -> Transfer:
    """A transfer record; universal when it crosses users."""
    universal = from_member != to_member
    prefix = "universalTransfer" if universal else "selfTransfer"
    return Transfer(
        uid=uid,
        transfer_id=f"{prefix}_{make_uuid(uid, 44, text_id(coin))}",
        coin=coin,
        amount=amount,
        from_account=from_account,
        to_account=to_account,
        status=status,
        created=t,
        updated=t,
        from_member=from_member,
        to_member=to_member,
        universal=universal,
    )


def closed_pnl(
    seed: int,
    uid: int,
    inst: Instrument,
    *,
    side: str,
    qty_lots: int,
    entry: float,
    exit: float,
    leverage: int,
    t: int,
) -> ClosedPnl:
    """A closed PnL record: ``side`` is the closing order's."""
    return ClosedPnl(
        uid=uid,
        instrument=inst,
        side=side,
        qty_lots=qty_lots,
        entry_ticks=inst.to_ticks(entry),
        exit_ticks=inst.to_ticks(exit),
        leverage=leverage,
        created=t,
        order_id=make_uuid(seed, 45, uid),
    )
