"""The per-exchange run lock: two invocations never sync one exchange at the same time.

The lock is a row in SQLite held on a lease that the holder renews while it works. A holder
killed with SIGKILL stops renewing, so its lock lapses after at most one lease; on the same
host a holder whose process is gone is recognised at once.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from exsync.store import Store


@dataclass(frozen=True)
class Holder:
    """Who holds an exchange's lock."""

    run_id: str
    pid: int
    host: str
    expires_at: str

    def describe(self) -> str:
        """One line for sync_runs and the log."""
        return f"run {self.run_id} (pid {self.pid} on {self.host}) until {self.expires_at}"


def try_acquire(store: Store, exchange: str, run_id: str, lease: float) -> Holder | None:
    """Take the lock, or return the live holder that has it."""
    now = datetime.now(UTC)
    host = socket.gethostname()
    with store.transaction():
        row = store.execute(
            "SELECT run_id, pid, host, expires_at FROM locks WHERE exchange = ?", [exchange]
        ).fetchone()
        if row is not None and row[0] != run_id:
            holder = Holder(*row)
            alive = now < datetime.fromisoformat(holder.expires_at) and not (
                holder.host == host and not _pid_alive(holder.pid)
            )
            if alive:
                return holder
        store.execute(
            "INSERT OR REPLACE INTO locks (exchange, run_id, pid, host, acquired_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [exchange, run_id, os.getpid(), host, _iso(now), _iso(now + timedelta(seconds=lease))],
        )
    return None


def renew(store: Store, exchange: str, run_id: str, lease: float) -> bool:
    """Extend the lease; False when the lock was lost (taken over after a lapse)."""
    expires = _iso(datetime.now(UTC) + timedelta(seconds=lease))
    with store.transaction():
        cursor = store.execute(
            "UPDATE locks SET expires_at = ? WHERE exchange = ? AND run_id = ?",
            [expires, exchange, run_id],
        )
        return cursor.rowcount == 1


def release(store: Store, exchange: str, run_id: str) -> None:
    """Give the lock back."""
    with store.transaction():
        store.execute("DELETE FROM locks WHERE exchange = ? AND run_id = ?", [exchange, run_id])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _iso(moment: datetime) -> str:
    # Stored times compare as text: every one must carry the same UTC offset.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")
