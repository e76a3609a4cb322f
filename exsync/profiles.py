"""Per-exchange differences, as data.

The strategies are written once against ccxt's unified API; what differs between exchanges
(how far one history query may reach, how pages are chained, which parameters select a
market type, which ccxt options avoid needless requests) lives here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from exsync.config import ExchangeConfig

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
    #: longest span one trades/orders history query may cover (None: unlimited)
    history_window_ms: int | None = None
    #: the same per market type, where they differ (Binance: spot 24 h, futures 7 days)
    history_windows: dict[str, int] = field(default_factory=dict)
    #: own trades and order history can only be asked per symbol (no account-wide query)
    history_per_symbol: bool = False
    #: wallets that hold balances: name -> (market type that needs it or None, ccxt params)
    wallets: dict[str, tuple[str | None, dict[str, Any]]] = field(
        default_factory=lambda: {"main": (None, {})}
    )
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
    #: ccxt's `rateLimit` (ms per cost unit) calibrated to the exchange's documented limits;
    #: None keeps ccxt's default
    rate_limit_ms: float | None = None
    #: the market types exsync knows how to sync here (None: every one)
    supported_market_types: tuple[str, ...] | None = None
    #: how far back the exchange keeps history, in days, by kind ("trades", "orders") or
    #: kind and market type ("trades:linear"); a backfill never asks for more
    history_days: dict[str, int] = field(default_factory=dict)
    #: the order history method's parameter that asks for one order by id (None: the
    #: exchange's order history cannot; ccxt's fetchOrder is used where it exists)
    order_id_param: str | None = None
    #: adjustments to ccxt's implicit API methods, by method name
    request_fixes: dict[str, RequestFix] = field(default_factory=dict)

    def ccxt_options(self, market_types: tuple[str, ...]) -> dict[str, Any]:
        """ccxt options for a client syncing `market_types`."""
        options = dict(self.options)
        if self.ccxt_id in ("bybit", "binance"):
            # Loading only the market types in use saves the option, margin and PreLaunch
            # requests of a full load.
            options["fetchMarkets"] = {"types": list(market_types)}
        return options

    def window_ms(self, market_type: str) -> int | None:
        """The longest span of one history query for a market type."""
        return self.history_windows.get(market_type, self.history_window_ms)

    def history_depth_ms(self, kind: str, market_type: str) -> int | None:
        """How far back the exchange keeps a kind of history for a market type (ms)."""
        days = self.history_days.get(f"{kind}:{market_type}", self.history_days.get(kind))
        return None if days is None else days * DAY_MS

    def page(self, kind: str, default: int = 100) -> int:
        """The page size for a kind of request ('trades', 'orders', 'open_orders', ...)."""
        return self.page_size.get(kind, default)


BYBIT = Profile(
    ccxt_id="bybit",
    default_market_types=("spot", "linear"),
    # execution/list and order/history answer at most 7 days per query.
    history_window_ms=7 * DAY_MS,
    page_size={
        "trades": 100,
        "orders": 50,
        "open_orders": 50,
        "positions": 200,
        "ohlcv": 1000,
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
    order_id_param="orderId",
    # Executions and order history go back two years on a unified account (older
    # startTimes are refused with retCode 10001).
    history_days={"trades": 730, "orders": 730},
    # A unified trading account is assumed, which saves two account-mode requests before
    # the first balance call.
    options={"enableUnifiedAccount": True, "enableUnifiedMargin": False},
    has={"fetchCurrencies": False},
    wallets={"unified": (None, {})},
    # ccxt paces every v5 read (cost 5) at 10 per second. Bybit documents 600 requests per
    # 5 s per IP and 50 per second per account for each of the order, execution, position
    # and wallet endpoints exsync reads: 5 ms per cost unit is 40 per second in all, inside
    # every one of those limits.
    rate_limit_ms=5,
    # ccxt asks execution/list for execType=Trade only; funding settlements, liquidations,
    # auto-deleveraging, deliveries and settlements are executions too. Rows of some of
    # those types carry no createType, from which ccxt's parser would take them for spot
    # trades: each row is tagged with the category asked for.
    request_fixes={
        "privateGetV5ExecutionList": RequestFix(drop=("execType",), tag_rows_with="category")
    },
)

BINANCE = Profile(
    ccxt_id="binance",
    default_market_types=("spot", "linear"),
    # myTrades and allOrders answer at most 24 h (spot) or 7 days (USD-M) per query, and
    # only for one symbol: there is no account-wide history.
    history_windows={"spot": DAY_MS, "linear": 7 * DAY_MS},
    history_per_symbol=True,
    page_size={"trades": 1000, "orders": 1000, "ohlcv": 1000},
    # No page cursor: a full page is followed from its last row's time (see UnitContext.pages).
    window_params=("startTime", "endTime"),
    market_params={"spot": {"type": "spot"}, "linear": {"type": "future"}},
    options={
        "fetchMargins": False,
        "fetchCurrencies": False,
        # Account-wide open orders cost more weight; exsync asks once per pass, not per symbol.
        "fetchOpenOrders": {"warnWithoutSymbol": False},
    },
    has={"fetchCurrencies": False},
    # The spot and USD-M futures wallets are separate.
    wallets={"spot": ("spot", {"type": "spot"}), "futures": ("linear", {"type": "future"})},
    # USD-M futures trades go back six months ("only support querying trade in the past 6
    # months").
    history_days={"trades:linear": 180},
    # COIN-M futures (inverse) have their own API, windows and wallet: not described yet.
    supported_market_types=("spot", "linear"),
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
