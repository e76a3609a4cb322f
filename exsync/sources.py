"""Where history data types are read from: each a list of sources, as data.

A profile names, per data type, the exchange endpoints it is read from (`Source`) and the
wallets ccxt's fetchBalance cannot read (`Holdings`); exchanges without such a description
read each data type through its unified ccxt method (`DEFAULT_SOURCES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Source:
    """One exchange endpoint a history data type (deposits, the ledger, ...) is read from.

    A unified ccxt method (`fetch_deposits`) is called as ccxt documents it. An implicit API
    method (`privateGetV5...`), for what no unified method reaches, gets the request
    parameters only; its rows are taken from the answer at `rows` and each is parsed by one
    of ccxt's own parsers (`parse`), or, where ccxt has none that fits, mapped by `fields`.
    """

    #: names the stream and its cursor: "<data type>:<name>" ("<data type>:<market type>"
    #: for sources read per market type)
    name: str
    method: str
    #: request parameters sent with every call
    params: dict[str, Any] = field(default_factory=dict)
    #: read once per configured contract market type (closed PnL), with these parameters
    #: per market type (default: the profile's market_params)
    per_market_type: bool = False
    market_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: implicit methods: the dotted path of the rows in the answer, and ccxt's parser
    rows: str = "result.list"
    parse: str | None = None
    #: keys of ccxt's structure taken from the raw row (structure key -> raw field): what
    #: ccxt's parser leaves out, or everything where there is no parser
    fields: dict[str, str] = field(default_factory=dict)
    #: structure keys whose raw value is in seconds, not milliseconds
    seconds: tuple[str, ...] = ()
    #: fixed structure values (a source of internal deposits: {"internal": True})
    values: dict[str, Any] = field(default_factory=dict)
    #: columns whose exact decimal text is read from the raw row (column -> raw field);
    #: other amounts come from ccxt's parsed numbers
    exact: dict[str, str] = field(default_factory=dict)
    #: statuses (as ccxt or the raw row gives them) in ccxt's unified words: ok, pending,
    #: failed, canceled, rejected
    statuses: dict[str, str] = field(default_factory=dict)
    #: structure keys whose raw value is a UTC date text ("2019-10-12 11:12:02"), not ms
    dates: tuple[str, ...] = ()
    #: the exchange's (or ccxt's) names of wallets in a transfer -> the names `balances`
    #: gives them, so a transfer joins the balances of its wallets
    accounts: dict[str, str] = field(default_factory=dict)
    #: ledger types whose amount is a funding fee (the ledger's `funding` column)
    funding_types: tuple[str, ...] = ()
    #: how a full page of one window is followed (without the profile's page cursor):
    #: "time" from its newest row's time (rows oldest first); "offset" by rows skipped, or
    #: "page" by page number, in the request parameter `page_param` (order kept by the
    #: exchange); "split": the window is split in two until no page is full, for an
    #: exchange that does not document which end of a window a full page comes from
    paging: str = "time"
    page_param: str | None = None

    @property
    def implicit(self) -> bool:
        """Whether `method` is one of ccxt's implicit API methods rather than a unified one."""
        return not self.method.startswith("fetch_")


#: the unified ccxt method each history data type is read with where a profile names none
DEFAULT_SOURCES: dict[str, tuple[Source, ...]] = {
    "deposits": (Source("main", "fetch_deposits"),),
    "withdrawals": (Source("main", "fetch_withdrawals"),),
    "transfers": (Source("main", "fetch_transfers"),),
    "ledger": (Source("main", "fetch_ledger"),),
    "closed_positions": (Source("main", "fetch_positions_history", per_market_type=True),),
    "conversions": (Source("main", "fetch_convert_trade_history"),),
}


@dataclass(frozen=True)
class Holdings:
    """A list of holdings ccxt's fetchBalance cannot read, from an implicit API method.

    One request per entry of `requests` (and per page, where the list is paged); the rows
    at `rows` hold an asset and an amount each. A wallet is one or more such lists, summed
    per asset (Bybit Earn: one position per product; Binance Simple Earn: flexible and
    locked positions).
    """

    method: str
    requests: tuple[dict[str, Any], ...] = ({},)
    rows: str = "result.list"
    asset: str = "coin"
    amount: str = "amount"
    #: pages numbered from 1 in `page_param`, `page_size` rows each in `size_param`
    page_param: str | None = None
    size_param: str | None = None
    page_size: int = 100
    #: the answer's count of all rows: an answer that counts none may leave its rows out
    total: str | None = None


# Bybit v5: deposits, withdrawals, transfers, the transaction log and closed PnL.
BYBIT_SOURCES: dict[str, tuple[Source, ...]] = {
    "deposits": (
        Source(
            "onchain",
            "fetch_deposits",
            values={"internal": False},
            exact={"amount": "amount", "fee": "depositFee"},
            # Bybit's depositStatus: ccxt names 0-4 (1 and 2 still on their way); the
            # rollback (7, 700xx) and funding-pool (100xx) states it leaves as numbers.
            statuses={
                "unknown": "pending",
                "processing": "pending",
                "fail": "failed",
                "7": "pending",
                "70011": "failed",
                "70012": "ok",
                "70013": "pending",
                "10011": "pending",
                "10012": "ok",
            },
        ),
        # Deposits from another Bybit user (off-chain): ccxt has no parser for them.
        Source(
            "internal",
            "privateGetV5AssetDepositQueryInternalRecord",
            rows="result.rows",
            fields={
                "id": "id",
                "txid": "txID",
                "currency": "coin",
                "amount": "amount",
                "status": "status",
                "address": "address",
                "timestamp": "createdTime",
            },
            seconds=("timestamp",),
            values={"type": "deposit", "internal": True},
            exact={"amount": "amount"},
            statuses={"1": "pending", "2": "ok", "3": "failed"},
        ),
    ),
    "withdrawals": (
        Source(
            "main",
            "fetch_withdrawals",
            # withdrawType 0 (the default) lists on-chain withdrawals only; 2 lists all.
            params={"withdrawType": 2},
            fields={"internal": "withdrawType"},
            exact={"amount": "amount", "fee": "withdrawFee"},
            statuses={"MoreInformationRequired": "pending", "Unknown": "pending"},
        ),
    ),
    "transfers": (
        # Between the account's own wallets (FUND <-> UNIFIED).
        Source(
            "internal",
            "fetch_transfers",
            exact={"amount": "amount"},
            statuses={"PENDING": "pending", "FAILED": "failed"},
        ),
        # Between the main account and its sub-accounts, either way.
        Source(
            "universal",
            "privateGetV5AssetTransferQueryUniversalTransferList",
            parse="parse_transfer",
            fields={"fromMember": "fromMemberId", "toMember": "toMemberId"},
            exact={"amount": "amount"},
            statuses={"PENDING": "pending", "FAILED": "failed"},
        ),
    ),
    "ledger": (
        Source(
            "main",
            "fetch_ledger",
            fields={
                "exchangeType": "type",
                "marketId": "symbol",
                "category": "category",
                "referenceId": "tradeId",
            },
            exact={
                "amount": "change",
                "fee": "fee",
                "balance": "cashBalance",
                "funding": "funding",
            },
        ),
    ),
    # ccxt's fetchPositionsHistory drops closed-pnl's page cursor: the implicit method
    # with ccxt's parser reads every page.
    "closed_positions": (
        Source(
            "closed_pnl",
            "privateGetV5PositionClosedPnl",
            per_market_type=True,
            market_params={
                "linear": {"category": "linear"},
                "inverse": {"category": "inverse"},
            },
            parse="parse_position",
            fields={"orderId": "orderId", "execType": "execType", "fills": "fillCount"},
            exact={
                "closed_size": "closedSize",
                "entry_price": "avgEntryPrice",
                "exit_price": "avgExitPrice",
                "entry_value": "cumEntryValue",
                "exit_value": "cumExitValue",
                "realized_pnl": "closedPnl",
                "open_fee": "openFee",
                "close_fee": "closeFee",
                "leverage": "leverage",
            },
        ),
    ),
}

#: Binance's wallets as universal transfers name them -> the names `balances` gives them
_BINANCE_WALLETS = {"MAIN": "spot", "UMFUTURE": "futures", "FUNDING": "funding"}


def _binance_transfer(source: str, target: str) -> Source:
    """One direction of Binance's universal transfers: the history answers one `type`
    (MAIN_UMFUTURE...) a request, and ccxt's fetchTransfers asks for spot -> USD-M alone
    unless told another."""
    return Source(
        f"{_BINANCE_WALLETS[source]}_{_BINANCE_WALLETS[target]}",
        "fetch_transfers",
        params={"type": f"{source}_{target}"},
        exact={"amount": "amount"},
        statuses={"PENDING": "pending", "FAILED": "failed"},
        # ccxt names the wallets by market type (spot, linear, funding)
        accounts={"spot": "spot", "linear": "futures", "funding": "funding"},
        paging="page",
        page_param="current",
    )


# Binance: the wallet endpoints (deposits, withdrawals, universal transfers, Convert) and
# the USD-M income history.
BINANCE_SOURCES: dict[str, tuple[Source, ...]] = {
    "deposits": (
        Source(
            "main",
            "fetch_deposits",
            exact={"amount": "amount"},
            # ccxt names 0 (pending), 1 and 6 (credited); 2 rejected, 7 a wrong deposit
            # (credited once the user's recovery succeeds) and 8 (waiting for the user to
            # confirm) it leaves as numbers.
            statuses={"2": "rejected", "7": "pending", "8": "pending"},
            paging="offset",
            page_param="offset",
        ),
    ),
    "withdrawals": (
        Source(
            "main",
            "fetch_withdrawals",
            fields={"updated": "completeTime"},
            dates=("updated",),
            exact={"amount": "amount", "fee": "transactionFee"},
            paging="offset",
            page_param="offset",
        ),
    ),
    "transfers": tuple(
        _binance_transfer(source, target)
        for source, target in (
            ("MAIN", "UMFUTURE"),
            ("UMFUTURE", "MAIN"),
            ("MAIN", "FUNDING"),
            ("FUNDING", "MAIN"),
            ("FUNDING", "UMFUTURE"),
            ("UMFUTURE", "FUNDING"),
        )
    ),
    # USD-M income: funding fees, realised PnL, commissions, rebates, transfers. Read per
    # contract market type (USD-M only: COIN-M has its own API).
    "ledger": (
        Source(
            "income",
            "fetch_ledger",
            per_market_type=True,
            market_params={"linear": {"type": "future"}},
            fields={"exchangeType": "incomeType", "marketId": "symbol"},
            values={"category": "linear"},
            exact={"amount": "income"},
            funding_types=("FUNDING_FEE",),
            paging="page",
            page_param="page",
        ),
    ),
    # Convert documents neither the order of its trade flow nor how to page it ("moreData"):
    # a full page splits its window.
    "conversions": (
        Source(
            "convert",
            "fetch_convert_trade_history",
            fields={"status": "orderStatus"},
            exact={"from_amount": "fromAmount", "to_amount": "toAmount", "price": "ratio"},
            statuses={
                "SUCCESS": "ok",
                "PROCESS": "pending",
                "ACCEPT_SUCCESS": "pending",
                "FAIL": "failed",
            },
            paging="split",
        ),
    ),
}


@dataclass(frozen=True)
class BalanceFields:
    """Where a wallet's raw answer lists its assets, and the exchange's own fields for what
    ccxt's balance does not keep apart: the wallet balance (ccxt's `total` includes
    unrealised PnL on some futures wallets), equity and unrealised PnL.

    `rows` is a dotted path into ccxt's `info`; `*` walks every entry of a list; empty: the
    answer itself is the list.
    """

    rows: str
    asset: str
    total: str | None = None
    equity: str | None = None
    unrealized_pnl: str | None = None


@dataclass(frozen=True)
class OrderFee:
    """Where an order's raw answer keeps its cumulative fee, for orders ccxt's parser gives
    no fee (Bybit: spot orders carry cumExecFee without cumFeeDetail, ccxt's only source).

    `currency` names the market's currency the fee is paid in ("base", "quote", "settle"),
    by market type and side ("spot:buy") or by market type ("linear").
    """

    cost: str
    currency: dict[str, str]


def value_at(answer: Any, path: str) -> Any:
    """What a dotted path ("result.list") leads to in an answer, or None; "" is the answer."""
    for key in path.split(".") if path else ():
        answer = answer.get(key) if isinstance(answer, dict) else None
    return answer


def rows_at(answer: Any, path: str) -> list[dict[str, Any]]:
    """The dict rows found at a dotted path (with `*` for every list entry) in an answer."""
    found: list[Any] = [answer]
    for key in [k for k in path.split(".") if k]:
        step: list[Any] = []
        for node in found:
            if key == "*" and isinstance(node, list):
                step.extend(node)
            elif isinstance(node, dict) and key in node:
                step.append(node[key])
        found = step
    rows: list[dict[str, Any]] = []
    for node in found:
        rows.extend(n for n in (node if isinstance(node, list) else [node]) if isinstance(n, dict))
    return rows
