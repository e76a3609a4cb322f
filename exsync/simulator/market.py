"""Instruments, the deterministic price path, kline arithmetic and id helpers.

Everything here is a pure function of the seed and its arguments, so the same
question always gets the same answer without storing anything.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import random
import zlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
# 1970-01-01 was a Thursday; Bybit's weekly candles open on Mondays.
_MONDAY_OFFSET_MS = 4 * DAY_MS

# Longest suffix first so that "BTCUSDT" is not read as quote "USD".
_QUOTES = ("USDT", "USDC", "USDE", "EUR", "BTC", "ETH", "USD")
_STABLE = frozenset({"USDT", "USDC", "USDE", "USD", "DAI"})
_KNOWN_PRICES = {
    "BTC": 65_000.0,
    "ETH": 3_200.0,
    "SOL": 150.0,
    "BNB": 580.0,
    "XRP": 0.55,
    "DOGE": 0.12,
    "ADA": 0.45,
    "AVAX": 30.0,
    "LINK": 14.0,
    "LTC": 75.0,
    "DOT": 6.0,
    "TRX": 0.12,
    "TON": 6.0,
    "EUR": 1.08,
}

CATEGORIES = ("spot", "linear", "inverse", "option")

# Bybit interval notation -> candle length in minutes ("M" is calendar based).
INTERVALS: dict[str, int | None] = {
    "1": 1,
    "3": 3,
    "5": 5,
    "15": 15,
    "30": 30,
    "60": 60,
    "120": 120,
    "240": 240,
    "360": 360,
    "720": 720,
    "D": 1440,
    "W": 10080,
    "M": None,
}


# Candle lengths that Binance offers and Bybit does not, by the same kind of key
# (minutes as text, "1s" for one second). Kept apart so Bybit's kline endpoint,
# which validates against INTERVALS, still rejects them.
_EXTRA_CANDLE_MS = {"1s": 1_000, "480": 480 * MINUTE_MS, "4320": 4320 * MINUTE_MS}


def candle_length(interval: str) -> int | None:
    """Length of a candle in ms (None for calendar months); KeyError for unknown keys."""
    extra = _EXTRA_CANDLE_MS.get(interval)
    if extra is not None:
        return extra
    minutes = INTERVALS[interval]
    return None if minutes is None else minutes * MINUTE_MS


# --------------------------------------------------------------------------- numbers


def fixed(units: int, decimals: int, strip: bool = False) -> str:
    """Format the integer ``units`` * 10**-decimals exactly (no float rounding).

    Prices are kept as integer ticks and quantities as integer lots so that the
    strings on the wire are exact multiples of tickSize / qtyStep.
    """
    sign = "-" if units < 0 else ""
    digits = str(abs(units))
    if decimals <= 0:
        return sign + digits + "0" * (-decimals)
    digits = digits.rjust(decimals + 1, "0")
    whole, frac = digits[:-decimals], digits[-decimals:]
    if strip:
        frac = frac.rstrip("0")
    return f"{sign}{whole}.{frac}" if frac else sign + whole


def num(value: float, decimals: int = 8) -> str:
    """Format a float the way Bybit prints amounts: fixed decimals, trailing zeros removed."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


def exact(value: float) -> str:
    """Plain decimal text that parses back to exactly ``value`` (no exponent, no noise)."""
    text = format(Decimal(repr(float(value))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


# --------------------------------------------------------------------------- hashing / ids


_MASK64 = (1 << 64) - 1


def mix(*parts: int) -> int:
    """Deterministic 64-bit hash of integers (splitmix64 steps, no PYTHONHASHSEED)."""
    h = 0x9E3779B97F4A7C15
    for part in parts:
        h = (h ^ (part & _MASK64)) & _MASK64
        h = (h + 0x9E3779B97F4A7C15) & _MASK64
        h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & _MASK64
        h ^= h >> 31
    return h


def unit(*parts: int) -> float:
    """Deterministic float in [0, 1) derived from integers."""
    return (mix(*parts) >> 11) / float(1 << 53)


def text_id(text: str) -> int:
    """Stable integer for a string (crc32; unlike hash() it does not vary per process)."""
    return zlib.crc32(text.encode())


def make_uuid(*parts: int) -> str:
    """A deterministic UUID-4-looking string, as Bybit uses for derivatives ids."""
    a = mix(*parts, 1)
    b = mix(*parts, 2)
    return (
        f"{a >> 32:08x}-{(a >> 16) & 0xFFFF:04x}-4{a & 0xFFF:03x}-"
        f"{8 | ((b >> 62) & 3):x}{(b >> 48) & 0xFFF:03x}-{b & 0xFFFFFFFFFFFF:012x}"
    )


def make_numeric_id(*parts: int) -> str:
    """A deterministic 19-digit id, as Bybit uses for spot orders and executions."""
    return str(10**18 + mix(*parts) % (9 * 10**18))


# --------------------------------------------------------------------------- symbols


def split_symbol(symbol: str) -> tuple[str, str]:
    """Split a Bybit symbol id such as ``BTCUSDT`` into (base, quote)."""
    for quote in _QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    raise ValueError(f"cannot split symbol {symbol!r} into base and quote")


@dataclass(frozen=True)
class Instrument:
    """One tradable market. Prices are integer ticks, quantities integer lots."""

    category: str
    symbol: str
    base: str
    quote: str
    settle: str
    price_decimals: int
    qty_decimals: int
    launch_time: int

    @property
    def is_contract(self) -> bool:
        """True for linear and inverse perpetuals."""
        return self.category != "spot"

    @property
    def tick(self) -> float:
        """Price step as a float."""
        return 10.0**-self.price_decimals

    @property
    def step(self) -> float:
        """Quantity step as a float."""
        return 10.0**-self.qty_decimals

    def to_ticks(self, price: float) -> int:
        """Round a float price to whole ticks (at least one tick)."""
        return max(1, round(price * 10.0**self.price_decimals))

    def to_lots(self, qty: float) -> int:
        """Round a float quantity to whole lots (at least one lot)."""
        return max(1, round(qty * 10.0**self.qty_decimals))

    def price_str(self, ticks: int) -> str:
        """Wire form of a price given in ticks (fixed decimals, like Bybit)."""
        return fixed(ticks, self.price_decimals)

    def qty_str(self, lots: int) -> str:
        """Wire form of a quantity given in lots."""
        return fixed(lots, self.qty_decimals, strip=True)

    def price_of(self, ticks: int) -> float:
        """Float value of a tick count, equal to float(price_str(ticks))."""
        return float(self.price_str(ticks))

    def qty_of(self, lots: int) -> float:
        """Float value of a lot count, equal to float(qty_str(lots))."""
        return float(self.qty_str(lots))

    def info(self) -> dict[str, Any]:
        """The instruments-info row for this market, shaped as Bybit v5 serves it."""
        tick = fixed(1, self.price_decimals)
        step = fixed(1, self.qty_decimals)
        ref = _KNOWN_PRICES.get(self.base) or reference_price(self.base)
        if self.category == "spot":
            min_qty = fixed(max(1, math.ceil(5 / ref * 10**self.qty_decimals)), self.qty_decimals)
            max_qty = fixed(self.to_lots(2_000_000 / ref), self.qty_decimals, strip=True)
            return {
                "symbol": self.symbol,
                "baseCoin": self.base,
                "quoteCoin": self.quote,
                "innovation": "0",
                "status": "Trading",
                "marginTrading": "utaOnly",
                "stTag": "0",
                "lotSizeFilter": {
                    "basePrecision": step,
                    "quotePrecision": "0.00000001",
                    "minOrderQty": min_qty,
                    "maxOrderQty": max_qty,
                    "minOrderAmt": "5",
                    "maxOrderAmt": "8000000",
                },
                "priceFilter": {"tickSize": tick},
                "riskParameters": {"priceLimitRatioX": "0.005", "priceLimitRatioY": "0.01"},
            }
        inverse = self.category == "inverse"
        max_qty = "1000000" if inverse else fixed(self.to_lots(1_000_000 / ref), self.qty_decimals)
        lot_filter: dict[str, str] = {
            "maxOrderQty": max_qty,
            "minOrderQty": step,
            "qtyStep": step,
            "postOnlyMaxOrderQty": max_qty,
            "maxMktOrderQty": max_qty,
        }
        if not inverse:
            lot_filter["minNotionalValue"] = "5"
        return {
            "symbol": self.symbol,
            "contractType": "InversePerpetual" if inverse else "LinearPerpetual",
            "status": "Trading",
            "baseCoin": self.base,
            "quoteCoin": self.quote,
            "launchTime": str(self.launch_time),
            "deliveryTime": "0",
            "deliveryFeeRate": "",
            "priceScale": str(self.price_decimals),
            "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
            "priceFilter": {
                "minPrice": tick,
                "maxPrice": fixed(self.to_ticks(ref * 50), self.price_decimals),
                "tickSize": tick,
            },
            "lotSizeFilter": lot_filter,
            "unifiedMarginTrade": True,
            "fundingInterval": 480,
            "settleCoin": self.settle,
            "copyTrading": "both",
            "upperFundingRate": "0.005",
            "lowerFundingRate": "-0.005",
            "isPreListing": False,
            "preListingInfo": None,
            "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
        }


def reference_price(coin: str) -> float:
    """Typical price of a coin in USD: known majors, else a stable made-up value."""
    if coin in _STABLE:
        return 1.0
    known = _KNOWN_PRICES.get(coin)
    if known is not None:
        return known
    # Unknown coins get a price between 0.5 and ~200 that depends only on the name.
    price: float = 0.5 * 400.0 ** unit(text_id(coin))
    return round(price, 4)


def build_instrument(category: str, symbol: str, launch_time: int) -> Instrument:
    """Derive realistic tick size / qty step for a Bybit symbol id from its typical price."""
    base, quote = split_symbol(symbol)
    price = reference_price(base) / reference_price(quote)
    magnitude = math.floor(math.log10(price))
    price_dec = _clamp(5 - magnitude, 1, 8)
    qty_dec = _clamp(-math.floor(math.log10(100 / price)), 0, 8)
    if category == "spot":
        # Spot ticks are coarser than contract ticks for majors (BTCUSDT 0.01 vs 0.10 on
        # linear) but spot quantities are much finer (basePrecision 0.000001 BTC).
        return Instrument(
            "spot",
            symbol,
            base,
            quote,
            "",
            _clamp(4 - magnitude, 2, 8),
            _clamp(qty_dec + 3, 0, 8),
            launch_time,
        )
    if category == "linear":
        return Instrument("linear", symbol, base, quote, quote, price_dec, qty_dec, launch_time)
    if category == "inverse":
        # Inverse contracts are quoted in USD contracts of 1 USD each and settle in the base coin.
        return Instrument("inverse", symbol, base, quote, base, price_dec, 0, launch_time)
    raise ValueError(f"unsupported category {category!r}")


# --------------------------------------------------------------------------- price path


class PriceModel:
    """A smooth, deterministic price path per coin: a few sine waves around a base price.

    Spot, linear and inverse markets of one base coin share the path, so their
    prices agree the way they do on a real exchange.
    """

    _PERIODS_MS = (9.3 * DAY_MS, 1.7 * DAY_MS, 3.1 * HOUR_MS, 23 * MINUTE_MS)
    _AMPLITUDES = (0.06, 0.03, 0.01, 0.004)

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._phases: dict[str, tuple[float, ...]] = {}

    def _phase(self, coin: str) -> tuple[float, ...]:
        phases = self._phases.get(coin)
        if phases is None:
            rng = random.Random(f"{self.seed}:price:{coin}")
            phases = tuple(rng.uniform(0, 2 * math.pi) for _ in self._PERIODS_MS)
            self._phases[coin] = phases
        return phases

    def price(self, coin: str, t_ms: int) -> float:
        """USD price of ``coin`` at ``t_ms``."""
        base = reference_price(coin)
        if coin in _STABLE:
            return base
        phases = self._phase(coin)
        wave = 0.0
        for period, amplitude, phase in zip(
            self._PERIODS_MS, self._AMPLITUDES, phases, strict=True
        ):
            wave += amplitude * math.sin(2 * math.pi * t_ms / period + phase)
        return base * math.exp(wave)

    def pair_price(self, instrument: Instrument, t_ms: int) -> float:
        """Price of an instrument's base in its quote coin at ``t_ms``."""
        return self.price(instrument.base, t_ms) / self.price(instrument.quote, t_ms)


# --------------------------------------------------------------------------- klines


def candle_floor(interval: str, t_ms: int) -> int:
    """Open time of the candle of ``interval`` that contains ``t_ms``."""
    length = candle_length(interval)
    if length is None:
        day = dt.datetime.fromtimestamp(t_ms // 1000, tz=dt.UTC)
        return int(dt.datetime(day.year, day.month, 1, tzinfo=dt.UTC).timestamp() * 1000)
    offset = _MONDAY_OFFSET_MS if interval == "W" else 0
    return (t_ms - offset) // length * length + offset


def candle_next(interval: str, open_ms: int) -> int:
    """Open time of the candle after the one opening at ``open_ms``."""
    length = candle_length(interval)
    if length is not None:
        return open_ms + length
    day = dt.datetime.fromtimestamp(open_ms // 1000, tz=dt.UTC)
    days = calendar.monthrange(day.year, day.month)[1]
    return open_ms + days * DAY_MS


def candle_prev(interval: str, open_ms: int) -> int:
    """Open time of the candle before the one opening at ``open_ms``."""
    length = candle_length(interval)
    if length is not None:
        return open_ms - length
    return candle_floor(interval, open_ms - 1)


def candle_ceil(interval: str, t_ms: int) -> int:
    """Open time of the first candle opening at or after ``t_ms``."""
    start = candle_floor(interval, t_ms)
    return start if start == t_ms else candle_next(interval, start)


def kline_row(
    seed: int, prices: PriceModel, instrument: Instrument, interval: str, open_ms: int
) -> list[str]:
    """One kline as Bybit serves it: [startTime, open, high, low, close, volume, turnover].

    Open and close follow the price path; high/low/volume add hash noise keyed on
    (seed, symbol, interval, open time), so any candle can be recomputed at will.
    """
    close_ms = candle_next(interval, open_ms)
    minutes = (close_ms - open_ms) / MINUTE_MS
    o = instrument.to_ticks(prices.pair_price(instrument, open_ms))
    c = instrument.to_ticks(prices.pair_price(instrument, close_ms))
    key = (seed, text_id(instrument.symbol), text_id(interval), open_ms)
    spread = min(0.08, 0.0004 * math.sqrt(minutes))
    hi_ticks = math.ceil(max(o, c) * (1 + spread * unit(*key, 1)))
    lo_ticks = max(1, math.floor(min(o, c) * (1 - spread * unit(*key, 2))))
    o_f, h_f, l_f, c_f = (instrument.price_of(x) for x in (o, hi_ticks, lo_ticks, c))
    mid = (o_f + h_f + l_f + c_f) / 4
    # Roughly 20k USD of volume per minute, so volume scales with candle length.
    notional = 20_000 * minutes * (0.5 + unit(*key, 3))
    if instrument.category == "inverse":
        volume = fixed(round(notional), 0)
        turnover = num(notional / mid)
    else:
        volume = instrument.qty_str(max(1, round(notional / mid * 10**instrument.qty_decimals)))
        turnover = num(float(volume) * mid, 4)
    return [
        str(open_ms),
        instrument.price_str(o),
        instrument.price_str(hi_ticks),
        instrument.price_str(lo_ticks),
        instrument.price_str(c),
        volume,
        turnover,
    ]
