"""Time that survives a clock step.

Inside a process exsync measures durations on the monotonic clock. Times that another
process must judge (a lock's lease, a breaker's cool-down, a probe's age) are stored twice:
as wall-clock text for people, and as a reading of the host's boot clock (CLOCK_BOOTTIME:
monotonic, counts suspend, untouched when the wall clock is set). Two processes of the same
boot and time namespace compare boot-clock readings, so a wall clock stepped forward steals
no live lock and one stepped back holds nothing an hour longer. A stored reading from
another boot (or a host without a boot clock) falls back to the wall clock.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache


@dataclass(frozen=True)
class Instant:
    """One moment, on the wall clock and on the boot clock when the host has one."""

    wall: datetime
    #: which boot clock `mono` was read from: boot id and time namespace; None without one
    clock: str | None
    mono: float | None

    def iso(self, plus: float = 0.0) -> str:
        """The wall-clock time (plus `plus` seconds) as exsync stores its times."""
        return iso(self.wall + timedelta(seconds=plus))


def now() -> Instant:
    """The current moment on both clocks."""
    clock = clock_id()
    mono = time.clock_gettime(time.CLOCK_BOOTTIME) if clock is not None else None
    return Instant(datetime.now(UTC), clock, mono)


def at_wall(moment: datetime) -> Instant:
    """A moment known only on the wall clock (e.g. one given by a caller or a test)."""
    return Instant(moment if moment.tzinfo else moment.replace(tzinfo=UTC), None, None)


def elapsed(
    since_wall: str | None, since_clock: str | None, since_mono: float | None, at: Instant
) -> float:
    """Seconds from a stored moment to `at`.

    On the same boot clock this is exact whatever the wall clock did. Otherwise it is the
    wall-clock difference; a stored time in the future means the wall clock went back since,
    and the moment counts as long past rather than holding anything for the size of the step.
    """
    if since_mono is not None and since_clock is not None and since_clock == at.clock:
        return max(0.0, at.mono - since_mono)  # type: ignore[operator]
    if not since_wall:
        return float("inf")
    seconds = (at.wall - datetime.fromisoformat(since_wall)).total_seconds()
    return seconds if seconds >= 0 else float("inf")


@cache
def clock_id() -> str | None:
    """The boot clock's identity: this boot's id and the time namespace, or None."""
    if not hasattr(time, "CLOCK_BOOTTIME"):
        return None
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            boot = handle.read().strip()
    except OSError:
        return None
    return f"{boot}/{_namespace('time')}"


def _namespace(kind: str) -> str:
    try:
        return os.readlink(f"/proc/self/ns/{kind}")
    except OSError:
        return f"{kind}:?"


def iso(moment: datetime) -> str:
    """`moment` as exsync stores its times: ISO-8601 UTC with milliseconds (sorts as text)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")
