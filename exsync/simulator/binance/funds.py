"""Money moving in, out and around a simulated Binance account: deposits, withdrawals,
universal transfers between the account's own wallets, USD-M futures income, Convert
swaps, and their deterministic generation from the Scenario.

Income that follows from other records (a commission per USD-M trade, a TRANSFER per
transfer into or out of the USD-M wallet) is not stored here: the state derives it when
asked, so it always agrees with the trades and transfers it comes from.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ..funds_records import coin_amount, tx_hash
from ..market import DAY_MS, HOUR_MS, MINUTE_MS, PriceModel, make_uuid, mix, num, text_id
from ..scenario import Scenario

# Deposit status: 0 pending, 6 credited but cannot withdraw, 7 wrong deposit, 8 waiting
# user confirm, 1 success, 2 rejected.
DEPOSIT_PENDING, DEPOSIT_SUCCESS, DEPOSIT_REJECTED = 0, 1, 2
# Withdrawal status: 0 email sent, 1 cancelled, 2 awaiting approval, 3 rejected,
# 4 processing, 5 failure, 6 completed.
WITHDRAWAL_PROCESSING, WITHDRAWAL_FAILURE, WITHDRAWAL_COMPLETED = 4, 5, 6
WITHDRAWAL_CANCELLED = 1
#: universal transfer types between the wallets this simulator keeps, both ways
TRANSFER_TYPES = (
    "MAIN_UMFUTURE",
    "UMFUTURE_MAIN",
    "MAIN_FUNDING",
    "FUNDING_MAIN",
    "FUNDING_UMFUTURE",
    "UMFUTURE_FUNDING",
)
#: income types booked on their own (funding fees and realised PnL apart)
OTHER_INCOME = ("COMMISSION_REBATE", "API_REBATE", "REFERRAL_KICKBACK", "WELCOME_BONUS")
# Convert order status; the trade flow lists every one.
CONVERT_STATUSES = ("PROCESS", "ACCEPT_SUCCESS", "SUCCESS", "FAIL")
_NETWORKS = {"BTC": "BTC", "ETH": "ETH", "USDT": "TRX", "USDC": "ETH", "SOL": "SOL", "BNB": "BSC"}
_WITHDRAW_FEES = {"BTC": "0.0000025", "ETH": "0.0004", "SOL": "0.008", "USDT": "1"}
# tranId ranges of each kind of record (Binance numbers them in one growing sequence).
TRANSFER_BASE = 11_000_000_000
INCOME_BASE = {
    "COMMISSION": 5_000_000_000_000,
    "FUNDING_FEE": 6_000_000_000_000,
    "OTHER": 6_500_000_000_000,
}
CONVERT_BASE = 940_000_000_000_000_000


@dataclass(slots=True)
class Deposit:
    """A deposit: on-chain, or (``internal``) an off-chain transfer from another user."""

    uid: int
    coin: str
    amount: str
    network: str
    status: int
    created: int  # insertTime: what the windows filter on, and the order they come in
    address: str
    tx_id: str
    tag: str = ""
    internal: bool = False

    @property
    def deposit_id(self) -> str:
        return str(769_800_519_366_885_376 + self.uid * 7_919)


@dataclass(slots=True)
class Withdrawal:
    """A withdrawal, on-chain or (``internal``) to another Binance user."""

    uid: int
    coin: str
    amount: str
    fee: str
    status: int
    applied: int  # applyTime: what the windows filter on
    address: str
    network: str
    tx_id: str = ""
    internal: bool = False
    completed: int | None = None
    info: str = ""

    @property
    def withdraw_id(self) -> str:
        return f"{mix(self.uid, 61):016x}{mix(self.uid, 62):016x}"


@dataclass(slots=True)
class Transfer:
    """A universal transfer between two of the account's own wallets (``kind``:
    MAIN_UMFUTURE, FUNDING_MAIN, ...)."""

    uid: int
    coin: str
    amount: str
    kind: str
    status: str  # CONFIRMED, PENDING, FAILED
    created: int

    @property
    def tran_id(self) -> int:
        return TRANSFER_BASE + self.uid * 37

    @property
    def source(self) -> str:
        return self.kind.split("_", 1)[0]

    @property
    def target(self) -> str:
        return self.kind.split("_", 1)[1]


@dataclass(slots=True)
class Income:
    """A USD-M income entry booked on its own: a funding fee, realised PnL of a closing
    fill (sharing its commission's tranId), a rebate or a bonus."""

    uid: int
    kind: str
    coin: str
    income: str
    created: int
    symbol: str = ""
    trade_id: str = ""
    tran_id: int = 0


@dataclass(slots=True)
class Convert:
    """A swap made with Binance Convert: never a trade of myTrades."""

    uid: int
    from_asset: str
    from_amount: str
    to_asset: str
    to_amount: str
    status: str
    created: int

    @property
    def order_id(self) -> int:
        return CONVERT_BASE + self.uid * 104_729

    @property
    def quote_id(self) -> str:
        return make_uuid(self.uid, 63).replace("-", "")


@dataclass
class BinanceFundsRecords:
    """The money records of an account."""

    deposits: list[Deposit] = field(default_factory=list)
    withdrawals: list[Withdrawal] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    income: list[Income] = field(default_factory=list)
    converts: list[Convert] = field(default_factory=list)


def internal_tx(uid: int) -> str:
    """The txId Binance gives an off-chain deposit."""
    return f"Internal transfer {51_376_627_901 + uid}"


def network_of(coin: str) -> str:
    """The network a coin moves on here."""
    return _NETWORKS.get(coin, coin)


def withdraw_fee(coin: str) -> str:
    """The on-chain withdrawal fee of a coin, in the coin."""
    return _WITHDRAW_FEES.get(coin, "0.1")


def generate_binance_funds(
    scenario: Scenario, anchor: int, linear: list[str], prices: PriceModel
) -> BinanceFundsRecords:
    """Deposits, withdrawals, transfers, income and converts spread over ``history_days``
    before ``anchor``, every one settled. ``linear``: USD-M symbols income is booked on.

    Scenario counts: ``deposits`` on-chain and ``internal_deposits`` off-chain deposits,
    ``withdrawals``, ``transfers`` (between spot, USD-M and Funding, each way),
    ``booked_executions`` funding fees, ``ledger_entries`` rebates and bonuses,
    ``conversions`` Convert swaps. Realised PnL rows are added by the state, tied to
    closing fills of its USD-M trades (``closed_pnl`` of them).
    """
    seed = scenario.seed
    coins = sorted(scenario.balances) or ["USDT"]
    start = anchor - scenario.history_days * DAY_MS
    span = anchor - 2 * MINUTE_MS - start

    def rng(part: str) -> random.Random:
        return random.Random(f"{seed}:binance-funds:{part}")

    def times(part: str, count: int) -> list[int]:
        r = rng(f"{part}:times")
        return sorted(start + int(r.random() * span) for _ in range(count))

    funds = BinanceFundsRecords()
    r = rng("deposits")
    onchain = [(t, False) for t in times("deposits", scenario.deposits)]
    internal = [(t, True) for t in times("internal", scenario.internal_deposits)]
    for t, off_chain in sorted(onchain + internal):
        coin = r.choice(coins)
        uid = len(funds.deposits)
        status = DEPOSIT_REJECTED if not off_chain and r.random() < 0.1 else DEPOSIT_SUCCESS
        funds.deposits.append(
            Deposit(
                uid=uid,
                coin=coin,
                amount=coin_amount(coin, r, prices, t),
                network=network_of(coin),
                status=status,
                created=t,
                address=f"addr{text_id(coin) % 100_000:05d}binance",
                tx_id=internal_tx(uid) if off_chain else tx_hash(seed, 71, uid),
                internal=off_chain,
            )
        )
    r = rng("withdrawals")
    for t in times("withdrawals", scenario.withdrawals):
        coin = r.choice(coins)
        uid = len(funds.withdrawals)
        off_chain = r.random() < 0.3
        cancelled = r.random() < 0.1
        funds.withdrawals.append(
            Withdrawal(
                uid=uid,
                coin=coin,
                amount=coin_amount(coin, r, prices, t),
                fee="0" if off_chain else withdraw_fee(coin),
                status=WITHDRAWAL_CANCELLED if cancelled else WITHDRAWAL_COMPLETED,
                applied=t // 1000 * 1000,  # applyTime is printed to the second
                address=f"dest{uid:04d}",
                network=network_of(coin),
                tx_id="" if cancelled else tx_hash(seed, 72, uid),
                internal=off_chain,
                completed=None if cancelled else (t // 1000 + int(r.uniform(60, 1800))) * 1000,
            )
        )
    r = rng("transfers")
    for t in times("transfers", scenario.transfers):
        coin = r.choice(coins)
        funds.transfers.append(
            Transfer(
                uid=len(funds.transfers),
                coin=coin,
                amount=coin_amount(coin, r, prices, t),
                kind=r.choice(TRANSFER_TYPES),
                status="CONFIRMED",
                created=t // 1000 * 1000,
            )
        )
    r = rng("funding")
    for t in times("funding", scenario.booked_executions if linear else 0):
        # funding is settled at 00:00, 08:00 and 16:00 UTC
        settled = t // (8 * HOUR_MS) * 8 * HOUR_MS
        funds.income.append(
            Income(
                uid=len(funds.income),
                kind="FUNDING_FEE",
                coin="USDT",
                income=num(r.uniform(0.001, 4.0) * (-1 if r.random() < 0.6 else 1), 8),
                created=settled,
                symbol=r.choice(linear),
                tran_id=INCOME_BASE["FUNDING_FEE"] + len(funds.income) * 13,
            )
        )
    r = rng("other")
    for t in times("other", scenario.ledger_entries):
        kind = r.choice(OTHER_INCOME)
        funds.income.append(
            Income(
                uid=len(funds.income),
                kind=kind,
                coin="USDT",
                income=num(r.uniform(0.01, 5.0), 8),
                created=t,
                tran_id=INCOME_BASE["OTHER"] + len(funds.income) * 13,
            )
        )
    r = rng("converts")
    for t in times("converts", scenario.conversions):
        assets = sorted({*coins, "USDT", "BNB"})
        first, second = r.sample(assets, 2)
        amount = coin_amount(first, r, prices, t)
        value = float(amount) * prices.price(first, t) / prices.price(second, t)
        funds.converts.append(
            Convert(
                uid=len(funds.converts),
                from_asset=first,
                from_amount=amount,
                to_asset=second,
                to_amount=num(value, 8),
                status="SUCCESS",
                created=t,
            )
        )
    return funds
