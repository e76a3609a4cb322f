from __future__ import annotations

import datetime as dt

import pytest

from exsync.datatypes import DataType, expand
from exsync.durations import format_age, parse_duration, parse_since


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("2h", 7200), ("7d", 604800), (90, 90)]
)
def test_parse_duration(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5 minutes", "-3m", True])
def test_parse_duration_rejects(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)  # type: ignore[arg-type]


def test_parse_since_absolute_and_relative() -> None:
    now = 1_700_000_000_000
    assert parse_since("2024-01-01", now) == 1_704_067_200_000
    assert parse_since(dt.date(2024, 1, 1), now) == 1_704_067_200_000
    assert parse_since("1d", now) == now - 86_400_000
    with pytest.raises(ValueError):
        parse_since("yesterday", now)


def test_format_age() -> None:
    assert [format_age(s) for s in (None, 5, 125, 7300, 200000)] == ["-", "5s", "2m", "2h", "2d"]


def test_expand_all_uses_the_exchange_types() -> None:
    assert expand(["all"], [DataType.TRADES, DataType.BALANCES]) == [
        DataType.BALANCES,
        DataType.TRADES,
    ]
    assert expand(["ohlcv", "all"], [DataType.BALANCES]) == [DataType.BALANCES, DataType.OHLCV]
