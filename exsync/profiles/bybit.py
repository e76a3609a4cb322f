"""Bybit (v5, unified and classic accounts) as data: limits, pages, parameters, wallets."""

from __future__ import annotations

from exsync.pacing import Limit
from exsync.profiles.base import DAY_MS, Profile, RequestFix
from exsync.sources import BYBIT_SOURCES, BalanceFields, Holdings, OrderFee

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
