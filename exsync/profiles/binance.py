"""Binance (spot and USD-M futures) as data: limits and weights, pages by id, wallets, and
the shapes of its own-trade rows."""

from __future__ import annotations

from exsync.orderparse import OrderShape
from exsync.pacing import Limit
from exsync.profiles.base import DAY_MS, Profile
from exsync.sources import BINANCE_SOURCES, BalanceFields, Holdings
from exsync.tradeparse import TradeShape

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

# Orders as spot's and USD-M's allOrders send them ("All Orders"), likewise (orderparse.py).
_BINANCE_ORDER = {
    "id": "orderId",
    "client_id": "clientOrderId",
    "status": "status",
    "price": "price",
    "amount": "origQty",
    "filled": "executedQty",
    "type": "type",
    "side": "side",
    "time_in_force": "timeInForce",
    "stop_price": "stopPrice",
    "created": "time",
    "updated": "updateTime",
}
BINANCE_ORDER_SHAPES = (
    OrderShape(
        keys=frozenset(
            {*_BINANCE_ORDER.values(), "symbol", "cummulativeQuoteQty", "orderListId"}
            | {"icebergQty", "isWorking", "workingTime", "origQuoteOrderQty"}
            | {"selfTradePreventionMode", "preventedMatchId", "preventedQuantity"}
        ),
        market_type="spot",
        cost="cummulativeQuoteQty",
        **_BINANCE_ORDER,
    ),
    OrderShape(
        keys=frozenset(
            # cumBase: COIN-M's cost, in USD-M answers too since 2026-08-05 (as "0")
            {*_BINANCE_ORDER.values(), "symbol", "cumQuote", "cumBase", "avgPrice", "reduceOnly"}
            | {"positionSide", "closePosition", "origType", "workingType", "priceProtect"}
            | {"activatePrice", "priceRate", "priceMatch", "selfTradePreventionMode"}
            | {"goodTillDate"}
        ),
        market_type="contract",
        cost="cumQuote",
        average="avgPrice",
        reduce_only="reduceOnly",
        **_BINANCE_ORDER,
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
    order_shapes=BINANCE_ORDER_SHAPES,
    key_info_method="sapi_get_account_apirestrictions",
    not_synced={
        "closed_positions": "Binance has no closed-PnL endpoint; realised PnL is in the "
        "ledger (USD-M income, REALIZED_PNL)",
    },
)
