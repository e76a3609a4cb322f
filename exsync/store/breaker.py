"""A circuit breaker per exchange x data type that lives in the database.

Every run is a fresh process, so the breaker's state is read and changed in transactions
that hold its row (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: `SELECT ... FOR UPDATE`): two
processes, or two hosts, can never both take the half-open probe or lose a failure count.
The states are those of an in-process breaker:

- closed: units run; `failure_threshold` consecutive failed units open the breaker.
- open: units are skipped without touching the exchange until `next_probe_at`.
- half_open: one run probes; success closes the breaker, failure re-opens it with the
  cool-down doubled, up to `max_reset_timeout`.

Cool-downs and probe ages are measured by `store.now()`: the boot clock on SQLite (see
`clock.py`; a wall clock stepped back does not hold a breaker open for the size of the step),
the database server's clock on PostgreSQL (one clock for every host).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from exsync import clock
from exsync.config import Settings
from exsync.store import Store, where

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
#: how the reason of a breaker opened for an exchange's IP ban starts
IP_BAN = "IP ban"


@dataclass(frozen=True)
class Admission:
    """Whether a unit may run now, and why not."""

    allowed: bool
    probe: bool = False
    reason: str | None = None
    #: not allowed because the breaker is open (not because another run is probing)
    held: bool = False


#: what closing a breaker sets; its one parameter is updated_at
_CLOSE = (
    "state = 'closed', failures = 0, opened_at = NULL, next_probe_at = NULL, cooldown = NULL, "
    "probe_run_id = NULL, due_mono = NULL, probe_mono = NULL, updated_at = ?"
)


def admit(
    store: Store,
    exchange: str,
    data_type: str,
    run_id: str,
    probe_lease: float,
    now: datetime | None = None,
) -> Admission:
    """Decide whether a unit runs; an open breaker whose cool-down has passed becomes the probe.

    A half-open breaker belongs to the run probing it; another run takes the probe over only
    when that run is gone: it lost the exchange's run lock, or its probe outlived
    `probe_lease` seconds.
    """
    with store.transaction():
        at = _moment(store, now)
        row = _get(store, exchange, data_type)
        if row is None or row["state"] == CLOSED:
            return Admission(True)
        if row["state"] == OPEN and not _due(row, at):
            return Admission(
                False,
                reason=f"breaker open until {row['next_probe_at']} "
                f"after {row['failures']} failure(s): {row['last_error'] or 'tripped by hand'}",
                held=True,
            )
        if row["state"] == HALF_OPEN and row["probe_run_id"] != run_id:
            owner = store.fetchall("SELECT run_id FROM locks WHERE exchange = ?", [exchange])
            lapsed = (
                clock.elapsed(row["updated_at"], row["clock"], row["probe_mono"], at) > probe_lease
            )
            if not lapsed and (not owner or owner[0][0] == row["probe_run_id"]):
                return Admission(False, reason=f"run {row['probe_run_id']} is probing")
        store.execute(
            "UPDATE breakers SET state = ?, probe_run_id = ?, updated_at = ?, clock = ?, "
            "probe_mono = ? WHERE exchange = ? AND data_type = ?",
            [HALF_OPEN, run_id, at.iso(), at.clock, at.mono, exchange, data_type],
        )
        return Admission(True, probe=True)


def _due(row: dict[str, Any], at: clock.Instant) -> bool:
    """Whether an open breaker's cool-down is over.

    On the boot clock when the breaker was opened on this one; otherwise by the wall clock,
    where a probe time further away than the whole cool-down means the clock went back since,
    and the probe is due rather than held for the size of the step.
    """
    if row["clock"] is not None and row["clock"] == at.clock and row["due_mono"] is not None:
        return at.mono >= row["due_mono"]  # type: ignore[operator]
    if not row["next_probe_at"]:
        return True
    remaining = (datetime.fromisoformat(row["next_probe_at"]) - at.wall).total_seconds()
    return remaining <= 0 or remaining > (row["cooldown"] or 0)


def record(
    store: Store,
    exchange: str,
    data_type: str,
    ok: bool,
    error: str | None,
    settings: Settings,
    *,
    run_id: str | None = None,
    now: datetime | None = None,
) -> None:
    """Count a finished unit; call inside the transaction that records it in sync_runs.

    A breaker opened while the unit ran (tripped by hand, or by a probe of another run)
    or half-open for another run's probe is left as it is.
    """
    at = _moment(store, now)
    row = _get(store, exchange, data_type)
    if row is not None and (
        row["state"] == OPEN or (row["state"] == HALF_OPEN and row["probe_run_id"] != run_id)
    ):
        return
    if ok:
        if row is not None and (row["state"] != CLOSED or row["failures"]):
            store.execute(
                f"UPDATE breakers SET {_CLOSE} WHERE exchange = ? AND data_type = ?",
                [at.iso(), exchange, data_type],
            )
        return
    failures = (row["failures"] if row else 0) + 1
    state = row["state"] if row else CLOSED
    if state == HALF_OPEN:
        cooldown = min((row["cooldown"] or settings.reset_timeout) * 2, settings.max_reset_timeout)
        _open(store, exchange, data_type, failures, cooldown, error, at)
    elif failures >= settings.failure_threshold:
        _open(store, exchange, data_type, failures, settings.reset_timeout, error, at)
    else:
        store.upsert(
            "breakers",
            [
                {
                    "exchange": exchange,
                    "data_type": data_type,
                    "state": CLOSED,
                    "failures": failures,
                    "last_error": error,
                    "updated_at": at.iso(),
                }
            ],
        )


def release_probe(
    store: Store,
    exchange: str,
    data_type: str,
    run_id: str,
    now: datetime | None = None,
) -> None:
    """Hand back a half-open probe this run took but could not finish (it was interrupted):
    the breaker is open again with its probe due at once, so the next run probes."""
    at = _moment(store, now)
    store.execute(
        "UPDATE breakers SET state = ?, next_probe_at = ?, probe_run_id = NULL, updated_at = ?, "
        "clock = ?, due_mono = ? "
        "WHERE exchange = ? AND data_type = ? AND state = ? AND probe_run_id = ?",
        [OPEN, at.iso(), at.iso(), at.clock, at.mono, exchange, data_type, HALF_OPEN, run_id],
    )


def trip(
    store: Store,
    exchange: str,
    data_types: list[str],
    seconds: float,
    reason: str,
    now: datetime | None = None,
    *,
    keep_longer: bool = False,
) -> None:
    """Open breakers by hand, e.g. for an exchange's announced maintenance; `keep_longer`:
    never shorten a hold that already lasts longer."""
    with store.transaction():
        at = _moment(store, now)
        until = at.iso(seconds)
        for data_type in data_types:
            row = _get(store, exchange, data_type)
            if (
                keep_longer
                and row
                and row["state"] == OPEN
                and (row["next_probe_at"] or "") >= until
            ):
                continue
            failures = row["failures"] if row else 0
            _open(store, exchange, data_type, failures, seconds, reason, at)


def hold(
    store: Store,
    exchange: str,
    data_types: list[str],
    seconds: float,
    reason: str,
    now: datetime | None = None,
) -> None:
    """Open breakers until `seconds` from now (an IP ban), never shortening a longer hold."""
    trip(store, exchange, data_types, seconds, reason, now, keep_longer=True)


def reset(store: Store, exchange: str | None = None, data_type: str | None = None) -> int:
    """Close breakers (all, one exchange's, or one unit's); return how many changed."""
    clause, params = where(
        ["state != 'closed' OR failures > 0"], exchange=exchange, data_type=data_type
    )
    with store.transaction():
        cursor = store.execute(
            f"UPDATE breakers SET {_CLOSE} {clause}", [store.now().iso(), *params]
        )
        return cursor.rowcount


#: what `breaker show` and `status` print (the boot-clock readings mean nothing to people)
SHOWN = (
    "exchange, data_type, state, failures, opened_at, next_probe_at, cooldown, last_error, "
    "probe_run_id, updated_at"
)


def breakers(store: Store) -> list[dict[str, Any]]:
    """Every breaker row, for `exsync breaker show` and `status`."""
    return store.query(f"SELECT {SHOWN} FROM breakers ORDER BY exchange, data_type")


def _open(
    store: Store,
    exchange: str,
    data_type: str,
    failures: int,
    cooldown: float,
    error: str | None,
    at: clock.Instant,
) -> None:
    store.upsert(
        "breakers",
        [
            {
                "exchange": exchange,
                "data_type": data_type,
                "state": OPEN,
                "failures": failures,
                "opened_at": at.iso(),
                "next_probe_at": at.iso(cooldown),
                "cooldown": cooldown,
                "last_error": error,
                "probe_run_id": None,
                "updated_at": at.iso(),
                "clock": at.clock,
                "due_mono": at.mono + cooldown if at.mono is not None else None,
                "probe_mono": None,
            }
        ],
    )


def _moment(store: Store, now: datetime | None) -> clock.Instant:
    # `now`: a wall-clock time given by the caller (tests, tools); it has no boot-clock reading.
    return clock.at_wall(now) if now is not None else store.now()


def _get(store: Store, exchange: str, data_type: str) -> dict[str, Any] | None:
    # Locked for the rest of the transaction: another host deciding on the same breaker waits.
    rows = store.query(
        "SELECT * FROM breakers WHERE exchange = ? AND data_type = ?" + store.dialect.for_update,
        [exchange, data_type],
    )
    return rows[0] if rows else None
