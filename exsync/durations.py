"""Parsing of durations ("90s", "15m", "2h", "7d") and points in time for the config and CLI."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
#: The longest duration exsync accepts anywhere: ten years. Longer ones are typing mistakes,
#: and would overflow date arithmetic.
MAX_DURATION = 3650 * 86400.0
#: No exchange has data before Bitcoin's first block (2009-01-03): a backfill from an earlier
#: date would only walk empty windows.
EARLIEST_MS = 1_230_940_800_000


def parse_duration(text: str | int | float) -> float:
    """Return seconds for "30s", "15m", "2h", "7d", "1w" or a bare number of seconds.

    Raises ValueError with a message fit for a config error.
    """
    if isinstance(text, bool):
        raise ValueError("expected a duration such as 30s, 15m, 2h or 7d")
    if isinstance(text, int | float):
        seconds = float(text)
        if seconds < 0:
            raise ValueError("a duration cannot be negative")
    else:
        match = _DURATION.match(str(text))
        if not match:
            raise ValueError(f"{text!r} is not a duration such as 30s, 15m, 2h or 7d")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if not math.isfinite(seconds):
        raise ValueError("must be a finite duration such as 30s, 15m, 2h or 7d")
    if seconds > MAX_DURATION:
        raise ValueError(f"{text!r} is too long: at most {int(MAX_DURATION // 86400)}d")
    return seconds


def parse_since(value: object, now_ms: int) -> int:
    """Return ms for a date ("2024-01-01", ISO 8601) or a look-back ("90d").

    Relative values are resolved against `now_ms` so that the same config keeps meaning
    "the last 90 days" on every first backfill.
    """
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    if hasattr(value, "isoformat") and not isinstance(value, str):  # a YAML date
        moment = datetime.fromisoformat(value.isoformat()).replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    if isinstance(value, str):
        if _DURATION.match(value):
            return now_ms - int(parse_duration(value) * 1000)
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is neither a date (2024-01-01) nor a look-back (90d)"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    raise ValueError("expected a date (2024-01-01) or a look-back such as 90d")


def format_age(seconds: float | None) -> str:
    """Render an age compactly for tables: 42s, 5m, 3h, 2d."""
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"
