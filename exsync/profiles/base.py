"""What a profile says about one exchange: the `Profile` dataclass, filled in per exchange
by the modules beside this one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from exsync.orderparse import OrderShape
from exsync.pacing import Limit
from exsync.sources import DEFAULT_SOURCES, BalanceFields, Holdings, OrderFee, Source
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
    #: the shapes of order-history rows built without ccxt's general parser (orderparse.py)
    order_shapes: tuple[OrderShape, ...] = ()
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
