"""What both simulated exchanges do to money the same way: credit a wallet with an amount
given as decimal text, and find a record a test names."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TypeVar

T = TypeVar("T")


def credit(wallet: dict[str, float], coin: str, amount: str, sign: int = 1) -> None:
    """Add (``sign`` -1: take) a decimal-text amount, without float residue."""
    wallet[coin] = round(wallet.get(coin, 0.0) + sign * float(Decimal(amount)), 12)


def find(records: Iterable[T], wanted: object, key: Callable[[T], object], what: str) -> T:
    """The record whose key is ``wanted``; KeyError naming it otherwise."""
    for record in records:
        if key(record) == wanted:
            return record
    raise KeyError(f"unknown {what} {wanted!r}")
