"""A circuit breaker per exchange x data type that lives in SQLite.

Every run is a fresh process, so the breaker's state is read and changed in `BEGIN
IMMEDIATE` transactions: two processes can never both take the half-open probe or lose a
failure count. The states are those of an in-process breaker:

- closed: units run; `failure_threshold` consecutive failed units open the breaker.
- open: units are skipped without touching the exchange until `next_probe_at`.
- half_open: one run probes; success closes the breaker, failure re-opens it with the
  cool-down doubled, up to `max_reset_timeout`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

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
    now = now or datetime.now(UTC)
    with store.transaction():
        row = _get(store, exchange, data_type)
        if row is None or row["state"] == CLOSED:
            return Admission(True)
        if row["state"] == OPEN and now < datetime.fromisoformat(row["next_probe_at"]):
            return Admission(
                False,
                reason=f"breaker open until {row['next_probe_at']} "
                f"after {row['failures']} failure(s): {row['last_error'] or 'tripped by hand'}",
                held=True,
            )
        if row["state"] == HALF_OPEN and row["probe_run_id"] != run_id:
            holder = store.execute("SELECT run_id FROM locks WHERE exchange = ?", [exchange])
            owner = holder.fetchone()
            lapsed = now > datetime.fromisoformat(row["updated_at"]) + timedelta(
                seconds=probe_lease
            )
            if not lapsed and (owner is None or owner[0] == row["probe_run_id"]):
                return Admission(False, reason=f"run {row['probe_run_id']} is probing")
        store.execute(
            "UPDATE breakers SET state = ?, probe_run_id = ?, updated_at = ? "
            "WHERE exchange = ? AND data_type = ?",
            [HALF_OPEN, run_id, _iso(now), exchange, data_type],
        )
        return Admission(True, probe=True)


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
    now = now or datetime.now(UTC)
    row = _get(store, exchange, data_type)
    if row is not None and (
        row["state"] == OPEN or (row["state"] == HALF_OPEN and row["probe_run_id"] != run_id)
    ):
        return
    if ok:
        if row is not None and (row["state"] != CLOSED or row["failures"]):
            store.execute(
                "UPDATE breakers SET state = ?, failures = 0, opened_at = NULL, "
                "next_probe_at = NULL, cooldown = NULL, probe_run_id = NULL, updated_at = ? "
                "WHERE exchange = ? AND data_type = ?",
                [CLOSED, _iso(now), exchange, data_type],
            )
        return
    failures = (row["failures"] if row else 0) + 1
    state = row["state"] if row else CLOSED
    if state == HALF_OPEN:
        cooldown = min((row["cooldown"] or settings.reset_timeout) * 2, settings.max_reset_timeout)
        _open(store, exchange, data_type, failures, cooldown, error, now)
    elif failures >= settings.failure_threshold:
        _open(store, exchange, data_type, failures, settings.reset_timeout, error, now)
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
                    "updated_at": _iso(now),
                }
            ],
        )


def release_probe(
    store: Store, exchange: str, data_type: str, run_id: str, now: datetime | None = None
) -> None:
    """Hand back a half-open probe this run took but could not finish (it was interrupted):
    the breaker is open again with its probe due at once, so the next run probes."""
    now = now or datetime.now(UTC)
    store.execute(
        "UPDATE breakers SET state = ?, next_probe_at = ?, probe_run_id = NULL, updated_at = ? "
        "WHERE exchange = ? AND data_type = ? AND state = ? AND probe_run_id = ?",
        [OPEN, _iso(now), _iso(now), exchange, data_type, HALF_OPEN, run_id],
    )


def trip(
    store: Store,
    exchange: str,
    data_types: list[str],
    seconds: float,
    reason: str,
    now: datetime | None = None,
) -> None:
    """Open breakers by hand, e.g. for an exchange's announced maintenance."""
    now = now or datetime.now(UTC)
    with store.transaction():
        for data_type in data_types:
            row = _get(store, exchange, data_type)
            failures = row["failures"] if row else 0
            _open(store, exchange, data_type, failures, seconds, reason, now)


def hold(
    store: Store,
    exchange: str,
    data_types: list[str],
    seconds: float,
    reason: str,
    now: datetime | None = None,
) -> None:
    """Open breakers until `seconds` from now (an IP ban), never shortening a longer hold."""
    now = now or datetime.now(UTC)
    until = _iso(now + timedelta(seconds=seconds))
    with store.transaction():
        for data_type in data_types:
            row = _get(store, exchange, data_type)
            if row is not None and row["state"] == OPEN and (row["next_probe_at"] or "") >= until:
                continue
            failures = row["failures"] if row else 0
            _open(store, exchange, data_type, failures, seconds, reason, now)


def reset(store: Store, exchange: str | None = None, data_type: str | None = None) -> int:
    """Close breakers (all, one exchange's, or one unit's); return how many changed."""
    clause, params = where(
        ["state != 'closed' OR failures > 0"], exchange=exchange, data_type=data_type
    )
    with store.transaction():
        cursor = store.execute(
            "UPDATE breakers SET state = 'closed', failures = 0, opened_at = NULL, "
            "next_probe_at = NULL, cooldown = NULL, probe_run_id = NULL, updated_at = ? " + clause,
            [_iso(datetime.now(UTC)), *params],
        )
        return cursor.rowcount


def breakers(store: Store) -> list[dict[str, Any]]:
    """Every breaker row, for `exsync breaker show` and `status`."""
    return list(store.db.query("SELECT * FROM breakers ORDER BY exchange, data_type"))


def _open(
    store: Store,
    exchange: str,
    data_type: str,
    failures: int,
    cooldown: float,
    error: str | None,
    now: datetime,
) -> None:
    store.upsert(
        "breakers",
        [
            {
                "exchange": exchange,
                "data_type": data_type,
                "state": OPEN,
                "failures": failures,
                "opened_at": _iso(now),
                "next_probe_at": _iso(now + timedelta(seconds=cooldown)),
                "cooldown": cooldown,
                "last_error": error,
                "probe_run_id": None,
                "updated_at": _iso(now),
            }
        ],
    )


def _get(store: Store, exchange: str, data_type: str) -> dict[str, Any] | None:
    rows = list(
        store.db.query(
            "SELECT * FROM breakers WHERE exchange = ? AND data_type = ?", [exchange, data_type]
        )
    )
    return rows[0] if rows else None


def _iso(moment: datetime) -> str:
    # Stored times compare as text: every one must carry the same UTC offset.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")
