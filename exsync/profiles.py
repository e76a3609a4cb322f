"""Per-exchange differences, as data.

The strategies are written once against ccxt's unified API; what differs between exchanges
(how far one history query may reach, how pages are chained, which parameters select a
market type, which ccxt options avoid needless requests) lives here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from exsync.config import ExchangeConfig
from exsync.pacing import Limit
from exsync.sources import (
    BINANCE_SOURCES,
    BYBIT_SOURCES,
    DEFAULT_SOURCES,
    BalanceFields,
    Holdings,
    OrderFee,
    Source,
)
from exsync.tradeparse import TradeShape

DAY_MS = 86_400_000


@dataclass(frozen=True)
class RequestFix:
    """How exsync adjusts one of ccxt's implicit API calls, and the rows it returns."""

    #: request parameters ccxt adds on its own that exsync removes
    drop: tuple[str, ...] = ()
    #: the request parameter each returned row is tagged with (under the same name), so
    #: ccxt's parser knows the market type of rows that do not say it
    tag_rows_with: str | None = None


@dataclass(frozen=True)
class Profile:
    """How exsync talks to one ccxt exchange class."""

    ccxt_id: str
    #: market types synced when the config names none
    default_market_types: tuple[str, ...] = ("spot",)
    #: longest span one history query may cover (None: unlimited)
    history_window_ms: int | None = None
    #: the same per kind of history ("deposits"), market type (Binance: spot 24 h, futures
    #: 7 days) or both ("trades:spot"), where they differ
    history_windows: dict[str, int] = field(default_factory=dict)
    #: own trades and order history can only be asked per symbol (no account-wide query)
    history_per_symbol: bool = False
    #: wallets that hold balances: name -> (market type that needs it or None, ccxt params)
    wallets: dict[str, tuple[str | None, dict[str, Any]]] = field(
        default_factory=lambda: {"main": (None, {})}
    )
    #: wallets ccxt's fetchBalance cannot read: name -> the lists of their holdings
    holdings: dict[str, tuple[Holdings, ...]] = field(default_factory=dict)
    #: positions share one margin mode, the account's (asked once with fetchMarginMode)
    margin_mode_per_account: bool = False
    #: one ticker request answers every market of its market type, at the cost of one
    #: (Bybit's category): it is made once a pass and shared by every unit that needs tickers
    tickers_by_market_type: bool = False
    #: the shapes of own-trade rows built without ccxt's general parser (tradeparse.py)
    trade_shapes: tuple[TradeShape, ...] = ()
    #: where each wallet's raw answer keeps the wallet balance, equity and unrealised PnL
    balance_fields: dict[str, BalanceFields] = field(default_factory=dict)
    #: wallets read only where the API key is allowed to: a key without the permission gets
    #: a warning and keeps the wallet's last known balances, not a failed unit
    optional_wallets: tuple[str, ...] = ()
    #: where each history data type is read from (default: DEFAULT_SOURCES)
    sources: dict[str, tuple[Source, ...]] = field(default_factory=dict)
    #: data types exsync does not read from this exchange yet, with the reason
    not_synced: dict[str, str] = field(default_factory=dict)
    #: page sizes the exchange allows at most, per kind of request
    page_size: dict[str, int] = field(default_factory=dict)
    #: request parameter carrying the next-page cursor, and where ccxt leaves it in `info`
    cursor_param: str | None = None
    cursor_field: str | None = None
    #: exchange parameters for a history window; passed as params (not `since`) so that ccxt
    #: does not drop orders created before the window but closed inside it
    window_params: tuple[str, str] | None = None
    #: ccxt params selecting each market type in account-wide calls
    market_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the param that names a settle coin, for calls that need one per contract family
    settle_param: str | None = None
    #: fixed ccxt options (merged under the config's `options`)
    options: dict[str, Any] = field(default_factory=dict)
    #: ccxt `has` overrides that switch off calls exsync never needs
    has: dict[str, bool] = field(default_factory=dict)
    #: the market types exsync knows how to sync here (None: every one)
    supported_market_types: tuple[str, ...] | None = None
    #: how far back the exchange keeps history, in days, by kind ("trades", "orders") or
    #: kind and market type ("trades:linear"); a backfill never asks for more
    history_days: dict[str, int] = field(default_factory=dict)
    #: where an order's raw answer keeps its fee when ccxt's parser gives none
    order_fee: OrderFee | None = None
    #: the order history method's parameter that asks for one order by id (None: the
    #: exchange's order history cannot; ccxt's fetchOrder is used where it exists)
    order_id_param: str | None = None
    #: the request limits the exchange documents; with them, exsync paces requests itself
    #: (exsync/pacing.py) instead of through ccxt's single bucket
    limits: tuple[Limit, ...] = ()
    #: request weight per endpoint path, for limits that count weight (default 1)
    weights: dict[str, int] = field(default_factory=dict)
    #: adjustments to ccxt's implicit API methods, by method name
    request_fixes: dict[str, RequestFix] = field(default_factory=dict)
    #: the field of an error answer that holds the exchange's own error code
    error_code_field: str | None = None
    #: error codes that mean "try again" although ccxt files them as permanent errors
    transient_codes: frozenset[str] = frozenset()
    #: HTTP statuses that mean the IP is banned -> the least seconds the ban lasts (the
    #: exchange's Retry-After, when longer, wins)
    bans: dict[int, float] = field(default_factory=dict)
    #: what a well-formed answer holds, by request path: (dotted key, "list", "object" or
    #: "value": a number or text); "" is the body itself, a path ending in "/" covers every
    #: path under it. An answer
    #: without it (a proxy's empty 200, an envelope without its data) is retried, never
    #: read as "no data".
    answer_shapes: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: what an HTTP error status usually means on this exchange, added to the error line
    http_hints: dict[int, str] = field(default_factory=dict)
    #: ccxt's implicit method for the exchange's API-key information (`exsync doctor`)
    key_info_method: str | None = None
    #: history kinds the exchange pages by its own ids, by kind ("trades", "orders") or kind
    #: and market type ("trades:linear"): the request parameter naming the first id a page
    #: starts from. Rows from that id on, oldest first, no time window: a quiet symbol costs
    #: one request however far back its history goes, and rows of one millisecond never
    #: hide behind a full page.
    id_params: dict[str, str] = field(default_factory=dict)

    def ccxt_options(self, market_types: tuple[str, ...]) -> dict[str, Any]:
        """ccxt options for a client syncing `market_types`."""
        options = dict(self.options)
        if self.ccxt_id in ("bybit", "binance"):
            # Loading only the market types in use saves the option, margin and PreLaunch
            # requests of a full load.
            options["fetchMarkets"] = {"types": list(market_types)}
        return options

    def window_ms(self, market_type: str | None, kind: str | None = None) -> int | None:
        """The longest span of one history query for a kind of history and market type
        (None: an account-wide stream)."""
        for key in (f"{kind}:{market_type}", kind, market_type):
            if key in self.history_windows:
                return self.history_windows[key]
        return self.history_window_ms

    def history_depth_ms(self, kind: str, market_type: str | None) -> int | None:
        """How far back the exchange keeps a kind of history for a market type (ms)."""
        days = self.history_days.get(f"{kind}:{market_type}", self.history_days.get(kind))
        return None if days is None else days * DAY_MS

    def sources_for(self, kind: str) -> tuple[Source, ...]:
        """Where a history data type is read from on this exchange."""
        return self.sources.get(kind, DEFAULT_SOURCES.get(kind, ()))

    def id_param(self, kind: str, market_type: str) -> str | None:
        """The parameter that pages a kind of history by id on a market type, if any."""
        return self.id_params.get(f"{kind}:{market_type}", self.id_params.get(kind))

    def page(self, kind: str, default: int = 100) -> int:
        """The page size for a kind of request ('trades', 'orders', 'open_orders', ...)."""
        return self.page_size.get(kind, default)


# Where each limit is documented: the exchange's API documentation, by page title.
_BYBIT_DOC = "Bybit V5 API documentation, Rate Limit"
# Bybit: 600 requests per 5 s per IP for everything; per account (UID), per second and per
# endpoint, 50 for the order, execution, position and wallet reads, 25 for the transaction
# log; the asset endpoints have their own, mostly per minute.
BYBIT_LIMITS = (
    Limit(600, 5, "ip", doc=f"{_BYBIT_DOC} (HTTP IP limit)"),
    Limit(
        50,
        1,
        "account",
        paths=(
            "/v5/order/realtime",
            "/v5/order/history",
            "/v5/execution/list",
            "/v5/position/list",
            "/v5/position/closed-pnl",
            "/v5/account/wallet-balance",
            "/v5/account/info",
        ),
        each_path=True,
        doc=f"{_BYBIT_DOC} (Trade, Position, Account)",
    ),
    Limit(25, 1, "account", paths=("/v5/account/transaction-log",), doc=_BYBIT_DOC),
    Limit(100, 60, "account", paths=("/v5/asset/deposit/query-record",), doc=_BYBIT_DOC),
    Limit(300, 60, "account", paths=("/v5/asset/withdraw/query-record",), doc=_BYBIT_DOC),
    Limit(
        60, 60, "account", paths=("/v5/asset/transfer/query-inter-transfer-list",), doc=_BYBIT_DOC
    ),
    Limit(
        5,
        1,
        "account",
        paths=(
            "/v5/asset/transfer/query-universal-transfer-list",
            "/v5/asset/transfer/query-account-coins-balance",
            "/v5/asset/coin/query-info",
        ),
        each_path=True,
        doc=_BYBIT_DOC,
    ),
    Limit(10, 1, "account", paths=("/v5/user/query-api",), doc=_BYBIT_DOC),
)

BYBIT = Profile(
    ccxt_id="bybit",
    default_market_types=("spot", "linear"),
    # execution/list, order/history, the transaction log, closed PnL and both transfer lists
    # answer at most 7 days per query; deposit and withdrawal records 30 days.
    history_window_ms=7 * DAY_MS,
    history_windows={"deposits": 30 * DAY_MS, "withdrawals": 30 * DAY_MS},
    page_size={
        "trades": 100,
        "orders": 50,
        "open_orders": 50,
        "positions": 200,
        "ohlcv": 1000,
        "deposits": 50,
        "withdrawals": 50,
        "transfers": 50,
        "ledger": 50,
        "closed_positions": 100,
    },
    cursor_param="cursor",
    cursor_field="nextPageCursor",
    window_params=("startTime", "endTime"),
    market_params={
        "spot": {"type": "spot"},
        "linear": {"type": "swap", "subType": "linear"},
        "inverse": {"type": "swap", "subType": "inverse"},
    },
    settle_param="settleCoin",
    # /v5/market/tickers answers a whole category; ccxt picks the symbols asked from it.
    tickers_by_market_type=True,
    order_id_param="orderId",
    # Spot order history gives an order's fee in cumExecFee alone: in the base coin for a
    # buy, the quote coin for a sell; contract orders pay in the settle coin.
    order_fee=OrderFee(
        "cumExecFee",
        {"spot:buy": "base", "spot:sell": "quote", "linear": "settle", "inverse": "settle"},
    ),
    # Executions, order history, the transaction log and closed PnL go back two years on a
    # unified account (older startTimes are refused with retCode 10001). Deposit, withdrawal
    # and transfer records document no such limit: they are walked from trades_since.
    history_days={"trades": 730, "orders": 730, "ledger": 730, "closed_positions": 730},
    # A unified trading account is assumed, which saves two account-mode requests before
    # the first balance call.
    options={"enableUnifiedAccount": True, "enableUnifiedMargin": False},
    has={"fetchCurrencies": False},
    # Deposits land in the Funding wallet (FUND); Earn positions are a wallet of their own,
    # which ccxt's fetchBalance does not read. Reading either needs a permission a read-only
    # trading key may lack (Wallet "Account Transfer"; "Earn").
    wallets={"unified": (None, {}), "funding": (None, {"type": "funding"})},
    # A unified account has one margin mode for every position (account/info).
    margin_mode_per_account=True,
    # The unified wallet lists walletBalance (ccxt's total), equity and unrealisedPnl per
    # coin; the Funding wallet its walletBalance.
    balance_fields={
        "unified": BalanceFields(
            "result.list.*.coin",
            "coin",
            total="walletBalance",
            equity="equity",
            unrealized_pnl="unrealisedPnl",
        ),
        "funding": BalanceFields("result.balance", "coin", total="walletBalance"),
    },
    holdings={
        "earn": (
            Holdings(
                "privateGetV5EarnPosition",
                requests=({"category": "FlexibleSaving"}, {"category": "OnChain"}),
            ),
        )
    },
    optional_wallets=("funding", "earn"),
    sources=BYBIT_SOURCES,
    limits=BYBIT_LIMITS,
    # ccxt asks execution/list for execType=Trade only; funding settlements, liquidations,
    # auto-deleveraging, deliveries and settlements are executions too. Rows of some of
    # those types carry no createType, from which ccxt's parser would take them for spot
    # trades: each row is tagged with the category asked for.
    request_fixes={
        "privateGetV5ExecutionList": RequestFix(drop=("execType",), tag_rows_with="category")
    },
    error_code_field="retCode",
    # 10000 server timeout, 10016 internal error or service restarting, 10019 service
    # restarting: ccxt files them as ExchangeError (or not at all).
    transient_codes=frozenset({"10000", "10016", "10019"}),
    # "403, access too frequent": over 600 requests in 5 s from one IP; Bybit asks for at
    # least 10 minutes away and names no time.
    bans={403: 600.0},
    answer_shapes={
        "/v5/": ("result", "object"),
        **dict.fromkeys(
            (
                "/v5/account/wallet-balance",
                "/v5/position/list",
                "/v5/order/realtime",
                "/v5/order/history",
                "/v5/execution/list",
                "/v5/market/tickers",
                "/v5/market/kline",
                "/v5/market/instruments-info",
            ),
            ("result.list", "list"),
        ),
    },
    http_hints={
        404: "Bybit answers 404 when the account mode does not match the request: a classic "
        "(non-unified) account has no unified wallet; `exsync doctor` shows the account mode",
    },
    key_info_method="private_get_v5_user_query_api",
    not_synced={"conversions": "not described for bybit yet"},
)

_BINANCE_DOC = "Binance API documentation"
_CONVERT_FLOW = "/sapi/v1/convert/tradeFlow"
_WITHDRAW_HISTORY = "/sapi/v1/capital/withdraw/history"
# Binance counts request weight per minute per IP: 6,000 for spot (/api), 2,400 for USD-M
# futures (/fapi), 12,000 for the wallet endpoints (/sapi), each on its own.
BINANCE_LIMITS = (
    Limit(
        6000,
        60,
        "ip",
        prefix="/api/",
        weighted=True,
        doc=f"{_BINANCE_DOC}, Spot REST API, Limits",
    ),
    Limit(
        2400,
        60,
        "ip",
        prefix="/fapi/",
        weighted=True,
        doc=f"{_BINANCE_DOC}, USDS-M Futures, General Info",
    ),
    # /sapi counts each endpoint either by IP (12,000 per minute; one budget for all of
    # them here, the cautious reading) or by account (UID, 180,000 per minute), as each
    # endpoint's page says; the withdrawal history has a per-second IP budget of 180,000
    # instead (10 requests a second at its weight of 18,000).
    Limit(
        12000,
        60,
        "ip",
        prefix="/sapi/",
        exclude=(_CONVERT_FLOW, _WITHDRAW_HISTORY),
        weighted=True,
        doc=f"{_BINANCE_DOC}, Wallet",
    ),
    Limit(
        180000,
        60,
        "account",
        paths=(_CONVERT_FLOW,),
        weighted=True,
        doc=f"{_BINANCE_DOC}, Convert, Get Convert Trade History",
    ),
    Limit(
        180000,
        1,
        "ip",
        paths=(_WITHDRAW_HISTORY,),
        weighted=True,
        doc=f"{_BINANCE_DOC}, Wallet, Withdraw History",
    ),
)
# The documented weight of each endpoint exsync reads (as exsync asks: open orders of every
# symbol at once, tickers of up to 20 symbols, 1,000 candles a page).
BINANCE_WEIGHTS = {
    "/api/v3/exchangeInfo": 20,
    "/api/v3/account": 20,
    "/api/v3/myTrades": 20,
    "/api/v3/allOrders": 20,
    "/api/v3/openOrders": 80,
    "/api/v3/order": 4,
    "/api/v3/ticker/24hr": 2,
    "/api/v3/klines": 2,
    "/fapi/v1/exchangeInfo": 1,
    "/fapi/v1/userTrades": 5,
    "/fapi/v1/allOrders": 5,
    "/fapi/v1/openOrders": 40,
    "/fapi/v1/order": 1,
    "/fapi/v1/income": 30,
    "/fapi/v1/ticker/24hr": 40,
    "/fapi/v1/klines": 5,
    "/fapi/v2/account": 5,
    "/fapi/v3/account": 5,
    "/fapi/v2/balance": 5,
    "/fapi/v3/balance": 5,
    "/fapi/v2/positionRisk": 5,
    "/fapi/v3/positionRisk": 5,
    "/sapi/v1/capital/config/getall": 10,
    # the money side
    "/sapi/v1/capital/deposit/hisrec": 1,
    _WITHDRAW_HISTORY: 18000,
    "/sapi/v1/asset/transfer": 1,
    _CONVERT_FLOW: 3000,
    "/sapi/v1/simple-earn/flexible/position": 150,
    "/sapi/v1/simple-earn/locked/position": 150,
    "/sapi/v1/asset/get-funding-asset": 1,
}

# Own trades as spot's myTrades and USD-M's userTrades send them ("Account Trade List"):
# built without ccxt's general parser, the same trade it builds (tradeparse.py). A row with
# any other key (COIN-M's baseQty, a margin or option trade's) goes to ccxt's parser.
_BINANCE_TRADE = {
    "id": "id",
    "order": "orderId",
    "timestamp": "time",
    "price": "price",
    "amount": "qty",
    "cost": "quoteQty",
    "fee_cost": "commission",
    "fee_currency": "commissionAsset",
}
BINANCE_TRADE_SHAPES = (
    TradeShape(
        keys=frozenset(
            {*_BINANCE_TRADE.values(), "symbol", "orderListId", "isBuyer", "isMaker", "isBestMatch"}
        ),
        market_type="spot",
        maker="isMaker",
        buyer="isBuyer",
        **_BINANCE_TRADE,
    ),
    TradeShape(
        keys=frozenset(
            {*_BINANCE_TRADE.values(), "symbol", "side", "buyer", "maker", "positionSide"}
            | {"realizedPnl", "marginAsset"}
        ),
        market_type="contract",
        maker="maker",
        side="side",
        **_BINANCE_TRADE,
    ),
)

BINANCE = Profile(
    ccxt_id="binance",
    default_market_types=("spot", "linear"),
    # myTrades and allOrders answer only one symbol: there is no account-wide history, so
    # the symbols to walk are found from what the account shows (sync/discovery.py).
    history_per_symbol=True,
    # Both page by id on spot and USD-M: myTrades/userTrades from a trade id (fromId),
    # allOrders from an order id (orderId: "orders >= that orderId"), up to 1,000 rows
    # oldest first. USD-M's fromId cannot go with a time window, and neither needs one; USD-M
    # serves trades of the last 6 months and orders of the last 90 days (3 for cancelled
    # orders that never filled), so a first walk from id 0 reads what is left of those.
    id_params={"trades": "fromId", "orders": "orderId"},
    # Time windows (24 h spot, 7 days USD-M per query) are what the id pages replace; kept
    # for a query by time. Deposit and withdrawal history answer at most 90 days a query,
    # Convert's trade flow 30 (an empty list beyond: never a wider window). Universal
    # transfers and USD-M income document no longest span: 30 days, and about the three
    # months the income history keeps.
    history_windows={
        "spot": DAY_MS,
        "linear": 7 * DAY_MS,
        "deposits": 90 * DAY_MS,
        "withdrawals": 90 * DAY_MS,
        "transfers": 30 * DAY_MS,
        "ledger": 92 * DAY_MS,
        "conversions": 30 * DAY_MS,
    },
    page_size={
        "trades": 1000,
        "orders": 1000,
        "ohlcv": 1000,
        "deposits": 1000,
        "withdrawals": 1000,
        "transfers": 100,
        "ledger": 1000,
        "conversions": 1000,
    },
    window_params=("startTime", "endTime"),
    market_params={"spot": {"type": "spot"}, "linear": {"type": "future"}},
    options={
        "fetchMargins": False,
        "fetchCurrencies": False,
        # Account-wide open orders cost more weight; exsync asks once per pass, not per symbol.
        "fetchOpenOrders": {"warnWithoutSymbol": False},
    },
    has={"fetchCurrencies": False},
    # The spot, USD-M futures and Funding wallets are separate (ccxt reads the Funding
    # wallet with a POST); Simple Earn positions, flexible and locked, are a wallet of their
    # own ccxt's fetchBalance does not read (its "savings" type is the retired lending API).
    wallets={
        "spot": ("spot", {"type": "spot"}),
        "futures": ("linear", {"type": "future"}),
        "funding": (None, {"type": "funding"}),
    },
    # ccxt's total for the USD-M wallet is its margin balance, unrealised PnL included; the
    # wallet balance is walletBalance.
    balance_fields={
        "spot": BalanceFields("balances", "asset"),
        "futures": BalanceFields(
            "assets",
            "asset",
            total="walletBalance",
            equity="marginBalance",
            unrealized_pnl="unrealizedProfit",
        ),
        "funding": BalanceFields("", "asset"),
    },
    holdings={
        "earn": tuple(
            Holdings(
                f"sapiGetSimpleEarn{kind}Position",
                rows="rows",
                asset="asset",
                amount=amount,
                page_param="current",
                size_param="size",
                page_size=100,
                total="total",
            )
            for kind, amount in (("Flexible", "totalAmount"), ("Locked", "amount"))
        )
    },
    sources=BINANCE_SOURCES,
    # USD-M futures trades go back six months ("only support querying trade in the past 6
    # months"), universal transfers six months, USD-M income three months (92 days: the
    # longest three months; older income is not there, which is no error).
    history_days={"trades:linear": 180, "transfers": 180, "ledger": 92},
    # COIN-M futures (inverse) have their own API, windows and wallet: not described yet.
    supported_market_types=("spot", "linear"),
    limits=BINANCE_LIMITS,
    weights=BINANCE_WEIGHTS,
    error_code_field="code",
    # -1000 unknown error, -1001 internal error ("try again"), -1007 backend timeout, -1008
    # server overloaded: ccxt files the first two as OperationFailed, -1008 as ExchangeError.
    transient_codes=frozenset({"-1000", "-1001", "-1007", "-1008"}),
    # 418: banned for ignoring 429s; Retry-After says how long (2 minutes up to 3 days).
    bans={418: 120.0},
    answer_shapes={
        "/api/v3/account": ("balances", "list"),
        "/fapi/v2/account": ("assets", "list"),
        "/fapi/v3/account": ("assets", "list"),
        "/api/v3/exchangeInfo": ("symbols", "list"),
        "/fapi/v1/exchangeInfo": ("symbols", "list"),
        **dict.fromkeys(
            (
                "/fapi/v2/positionRisk",
                "/fapi/v3/positionRisk",
                "/api/v3/myTrades",
                "/fapi/v1/userTrades",
                "/api/v3/allOrders",
                "/fapi/v1/allOrders",
                "/api/v3/openOrders",
                "/fapi/v1/openOrders",
                "/api/v3/klines",
                "/fapi/v1/klines",
                "/sapi/v1/capital/deposit/hisrec",
                _WITHDRAW_HISTORY,
                "/fapi/v1/income",
                "/sapi/v1/asset/get-funding-asset",
            ),
            ("", "list"),
        ),
        # an empty transfer history or Earn list may come without its rows: its count
        "/sapi/v1/asset/transfer": ("total", "value"),
        "/sapi/v1/simple-earn/": ("total", "value"),
        _CONVERT_FLOW: ("list", "list"),
    },
    trade_shapes=BINANCE_TRADE_SHAPES,
    key_info_method="sapi_get_account_apirestrictions",
    not_synced={
        "closed_positions": "Binance has no closed-PnL endpoint; realised PnL is in the "
        "ledger (USD-M income, REALIZED_PNL)",
    },
)

PROFILES: dict[str, Profile] = {p.ccxt_id: p for p in (BYBIT, BINANCE)}


def profile_for(ccxt_id: str) -> Profile:
    """The profile of a ccxt exchange id; a conservative generic one when none is known."""
    return PROFILES.get(ccxt_id) or Profile(
        ccxt_id=ccxt_id,
        market_params={"spot": {"type": "spot"}, "linear": {"type": "swap"}},
    )


def market_types_for(exchange: ExchangeConfig) -> tuple[str, ...]:
    """The configured market types (or the exchange's defaults) plus those of its symbols,
    less those the exchange's profile cannot sync."""
    profile = profile_for(exchange.ccxt_id)
    chosen = list(exchange.market_types or profile.default_market_types)
    for symbol in exchange.symbols:
        kind = market_type_of(symbol)
        if kind not in chosen:
            chosen.append(kind)
    supported = profile.supported_market_types
    return tuple(t for t in chosen if supported is None or t in supported)


def symbols_for(exchange: ExchangeConfig) -> tuple[str, ...]:
    """The configured symbols whose market type is synced on this exchange."""
    market_types = market_types_for(exchange)
    return tuple(s for s in exchange.symbols if market_type_of(s) in market_types)


def market_type_of(symbol: str) -> str:
    """Market type of a unified symbol: BTC/USDT spot, BTC/USDT:USDT linear, BTC/USD:BTC inverse."""
    if ":" not in symbol:
        return "spot"
    pair, settle = symbol.split(":", 1)
    quote = pair.split("/", 1)[1]
    return "linear" if settle.split("-", 1)[0] == quote else "inverse"
