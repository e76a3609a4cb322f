"""A Nagios-style health check: an exit code and one line naming everything that is wrong.

The rule, per exchange x data type unit (the threshold is `max_age`, or the exchange's
`stale_after` setting when `max_age` is None):

- CRITICAL (2): never succeeded; last success older than twice the threshold; breaker open
  (an IP ban says so: every account on the banned IP is held off until it ends).
- WARNING (1): last success older than the threshold; breaker half-open (a probe is running
  or was abandoned by a killed run); the last success left something out (a configured
  symbol the exchange does not list).
- OK (0): everything else. A failed last run that is still within the threshold is not
  reported: one failed pass is what retries and the next timer are for, and staleness is
  what matters to the reader of the data.

With a config, only the configured units are checked (units of an exchange or type removed
from the config would otherwise go stale and alert forever); without one, every unit the
database knows. The line starts with the state (`OK:`, `WARNING:`, `CRITICAL:`), lists the
CRITICAL units before the WARNING ones, and gives times in UTC.

Read-only and cheap (one row per unit); imports no ccxt, so monitoring never loads it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum

from exsync.config import Config
from exsync.status import UnitStatus, unit_statuses
from exsync.store import Store


class Health(IntEnum):
    """Nagios plugin exit codes."""

    OK = 0
    WARNING = 1
    CRITICAL = 2


#: A unit is CRITICAL once its last success is this many times the threshold old.
CRITICAL_FACTOR = 2.0


def check(
    store: Store,
    config: Config | None,
    max_age: float | None = None,
    exchange: str | None = None,
    now: datetime | None = None,
) -> tuple[int, str]:
    """Check every unit's freshness and breaker; return (exit code, one line).

    `max_age` is in seconds and overrides every exchange's `stale_after`; `exchange` limits
    the check to one exchange. Examples of the line:

        OK: 6 units fresh (oldest 4m)
        WARNING: bybit trades stale 1h10m (last ok 2026-11-25 08:00)
        CRITICAL: bybit trades stale 2h05m (last ok 2026-11-25 08:00); bybit orders breaker
        open until 09:00    (one line; wrapped here)

    Raises ValueError when `max_age` is not positive.
    """
    if max_age is not None and max_age <= 0:
        raise ValueError("max_age must be greater than zero")
    now = now or datetime.now(UTC)
    units = [
        u
        for u in unit_statuses(store, config, now)
        if (exchange is None or u.exchange == exchange) and _configured(config, u)
    ]
    if not units:
        where = f"for exchange {exchange!r}" if exchange else "configured"
        return int(Health.CRITICAL), f"CRITICAL: no units {where}"

    problems: list[tuple[Health, str]] = []
    for unit in units:
        threshold = max_age if max_age is not None else unit.stale_after_seconds
        state, text = _assess(unit, threshold, now)
        if state is not Health.OK:
            problems.append((state, text))

    if not problems:
        ages = [u.age_seconds for u in units if u.age_seconds is not None]
        oldest = f" (oldest {format_age(max(ages))})" if ages else ""
        return int(Health.OK), f"OK: {len(units)} unit{'s' * (len(units) != 1)} fresh{oldest}"
    worst = max(state for state, _ in problems)
    # Stable sort: CRITICAL first, each group in unit order (exchange, then type).
    ordered = sorted(problems, key=lambda p: -p[0])
    return int(worst), f"{worst.name}: " + "; ".join(text for _, text in ordered)


def _assess(unit: UnitStatus, threshold: float, now: datetime) -> tuple[Health, str]:
    """The state of one unit and what to say about it (empty when OK)."""
    name = f"{unit.exchange} {unit.data_type}"
    if unit.last_status == "unsupported":
        return Health.OK, ""  # the exchange cannot provide it: nothing is late
    findings: list[tuple[Health, str]] = []
    if unit.last_success_at is None:
        if unit.last_status is None:
            findings.append((Health.CRITICAL, "never ran"))
        else:
            findings.append((Health.CRITICAL, f"never succeeded (last {unit.last_status})"))
    elif unit.age_seconds is not None and unit.age_seconds > threshold:
        state = (
            Health.CRITICAL if unit.age_seconds > CRITICAL_FACTOR * threshold else Health.WARNING
        )
        last_ok = _when(unit.last_success_at, now, always_date=True)
        findings.append((state, f"stale {format_age(unit.age_seconds)} (last ok {last_ok})"))
    if unit.breaker == "open":
        until = f" until {_when(unit.next_probe_at, now)}" if unit.next_probe_at else ""
        why = f" ({_ban(unit.breaker_reason)})" if unit.ip_ban else ""
        findings.append((Health.CRITICAL, f"breaker open{until}{why}"))
    elif unit.breaker == "half_open":
        findings.append((Health.WARNING, "breaker half-open"))
    if unit.warnings and unit.last_status == "ok":
        said = "; ".join(line for line in unit.warnings.splitlines() if line)
        findings.append((Health.WARNING, f"warning: {said}"))
    if not findings:
        return Health.OK, ""
    return max(s for s, _ in findings), f"{name} " + ", ".join(t for _, t in findings)


def _ban(reason: str | None) -> str:
    """The cause of an IP ban, without the list of held accounts (the line names them)."""
    return (reason or "").split(";", 1)[0]


def _configured(config: Config | None, unit: UnitStatus) -> bool:
    if config is None:
        return True
    exchange = config.exchanges.get(unit.exchange)
    return exchange is not None and unit.data_type in {str(t) for t in exchange.types}


def format_age(seconds: float) -> str:
    """An age precise enough to compare with a threshold: 45s, 12m, 2h05m, 3d4h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        hours, minutes = divmod(seconds // 60, 60)
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    days, hours = divmod(seconds // 3600, 24)
    return f"{days}d{hours}h" if hours else f"{days}d"


def _when(iso: str | None, now: datetime, always_date: bool = False) -> str:
    """`HH:MM` (UTC) for a time on today's date, `YYYY-MM-DD HH:MM` otherwise."""
    if not iso:
        return "?"
    try:
        moment = datetime.fromisoformat(iso).astimezone(UTC)
    except ValueError:
        return iso
    if not always_date and moment.date() == now.astimezone(UTC).date():
        return moment.strftime("%H:%M")
    return moment.strftime("%Y-%m-%d %H:%M")
