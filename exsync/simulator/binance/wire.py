"""What every simulated Binance endpoint shares: the error answer, the parameters of a
request and their rules, and a route's method, rate-limit pool and weight."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# HTTP status Binance pairs with an error code; everything else is a 400.
_STATUS_OF_CODE = {
    -1000: 500,
    -1001: 503,
    -1003: 429,
    -1006: 503,
    -1007: 503,
    -1008: 503,
    -1015: 429,
    -1002: 401,
    -2014: 401,
    -2015: 401,
}


def status_for(code: int) -> int:
    """The HTTP status Binance answers an error ``code`` with."""
    return _STATUS_OF_CODE.get(code, 400)


class BinanceError(Exception):
    """A Binance error answer: ``{"code": -XXXX, "msg": "..."}`` with an HTTP 4xx/5xx."""

    def __init__(
        self,
        code: int,
        msg: str,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status if status is not None else status_for(code)
        self.headers = headers or {}


def mandatory(name: str) -> BinanceError:
    """-1102, Binance's "missing or malformed parameter" (ccxt: BadRequest)."""
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def bad_symbol() -> BinanceError:
    """-1121 for a symbol the market does not list (ccxt: BadSymbol)."""
    return BinanceError(-1121, "Invalid symbol.")


def bad_combination() -> BinanceError:
    """-1128 for optional parameters that cannot go together (ccxt: BadRequest)."""
    return BinanceError(-1128, "Combination of optional parameters invalid.")


class Params:
    """Query parameters of one request (first value per name)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._values: dict[str, str] = {}
        for name, value in pairs:
            self._values.setdefault(name, value)

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def get(self, name: str) -> str | None:
        """The parameter's text, or None when missing; -1105 when sent empty."""
        value = self._values.get(name)
        if value == "":
            raise BinanceError(-1105, f"Parameter '{name}' was empty.")
        return value

    def require(self, name: str) -> str:
        """A mandatory parameter's text; -1102 when missing."""
        value = self.get(name)
        if value is None:
            raise mandatory(name)
        return value

    def integer(self, name: str) -> int | None:
        """The parameter as an int, or None when missing; -1100 when not a number."""
        value = self.get(name)
        if value is None:
            return None
        if not value.lstrip("-").isdigit():
            raise BinanceError(
                -1100,
                f"Illegal characters found in parameter '{name}'; "
                "legal range is '^[0-9]{1,20}$'.",
            )
        return int(value)

    def limit(self, default: int, maximum: int, name: str = "limit") -> int:
        """Page size (or page number: `maximum` huge) with the endpoint's default and
        [1, maximum] range (-1130 outside)."""
        value = self.integer(name)
        if value is None:
            return default
        if not 1 <= value <= maximum:
            raise BinanceError(-1130, f"Data sent for parameter '{name}' is not valid.")
        return value


Weight = int | Callable[[Params], int]


@dataclass(frozen=True)
class Route:
    """One endpoint: handler (state, params) -> JSON body, whether it is signed, its
    rate-limit pool, weight and HTTP method."""

    handler: Callable[[Any, Params], Any]
    signed: bool
    pool: str
    weight: Weight = 1
    method: str = "GET"

    def weight_of(self, params: Params) -> int:
        """Request weight of this call (some endpoints weigh by their parameters)."""
        if callable(self.weight):
            try:
                return self.weight(params)
            except BinanceError:
                return 1
        return self.weight
