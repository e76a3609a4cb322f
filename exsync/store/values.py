"""How exsync writes its own values: times, raw JSON, and the WHERE clauses it builds."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Context
from typing import Any

from exsync.clock import iso

#: arithmetic on exact amounts: every digit their sums and products need (Python's default
#: context keeps 28 significant digits and rounds the rest away)
EXACT = Context(prec=200)


def utc_now() -> str:
    """The current time as exsync stores its own timestamps (ISO-8601, UTC, milliseconds)."""
    return iso(datetime.now(UTC))


def utc_now_minus(seconds: float) -> str:
    """`utc_now()` of `seconds` ago, for comparisons with stored bookkeeping times."""
    return iso(datetime.now(UTC) - timedelta(seconds=seconds))


def to_json(value: Any) -> str:
    """Compact JSON for raw payload columns.

    orjson (which ccxt itself parses with) writes a raw execution about ten times faster
    than the standard library, which matters at one raw column per stored row; the few
    values it refuses (integers beyond 64 bits) go the standard way.
    """
    import orjson

    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value, separators=(",", ":"), default=str)


def where(conditions: Sequence[str] = (), **equal: Any) -> tuple[str, list[Any]]:
    """A WHERE clause of `conditions` and `column = ?` for each non-empty keyword."""
    parts = [f"({c})" for c in conditions]
    params = []
    for column, value in equal.items():
        if value:
            parts.append(f"{column} = ?")
            params.append(value)
    return (f"WHERE {' AND '.join(parts)}" if parts else ""), params
