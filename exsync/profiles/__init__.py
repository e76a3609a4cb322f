"""Per-exchange differences, as data.

The strategies are written once against ccxt's unified API; what differs between exchanges
(how far one history query may reach, how pages are chained, which parameters select a
market type, which ccxt options avoid needless requests) lives here.
"""

from __future__ import annotations

from exsync.config import ExchangeConfig
from exsync.profiles.base import DAY_MS, Profile, RequestFix
from exsync.profiles.binance import BINANCE
from exsync.profiles.bybit import BYBIT

__all__ = [
    "BINANCE",
    "BYBIT",
    "DAY_MS",
    "PROFILES",
    "Profile",
    "RequestFix",
    "market_type_of",
    "market_types_for",
    "profile_for",
    "symbols_for",
]

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
