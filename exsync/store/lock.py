"""The per-exchange run lock: two invocations never sync one exchange at the same time.

The lock is a row held on a lease that its holder renews while it works. The holder is named
by a random token taken with the lock; renewals, the write fence and the release all go by
that token, never by host name or pid, which repeat across containers.

Leases are measured by `store.now()`: on SQLite the host's boot clock, on PostgreSQL the
database server's clock, which every host sharing the database shares (their own clocks
differ). Taking the lock is a compare-and-set on the row as it was read, so two processes,
or two hosts, that both find a holder gone can not both take its place.

A holder is judged gone only when that is certain:
- it is a process of this boot and PID namespace, and no process with its pid and start time
  exists (killed, or its pid reused): taken over at once;
- or its lease lapsed: measured on the boot clock when the holder renewed on the same one
  (a stepped wall clock changes nothing), else on the wall clock. A lapsed lease whose
  renewal time lies in the future (the clock went back) counts as lapsed.
A holder in another PID namespace with the same host name is therefore never taken over
while it renews.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from exsync import clock
from exsync.store import Store

#: tokens of the locks this process holds now (a library caller may run passes side by side)
_HELD: set[str] = set()


class LockLost(Exception):
    """The lock was taken over by another run: this run must stop writing the exchange."""


@dataclass(frozen=True)
class Holder:
    """Who holds an exchange's lock."""

    run_id: str
    pid: int | None
    host: str | None
    expires_at: str | None
    token: str | None = None
    process: str | None = None
    renewed_at: str | None = None
    clock: str | None = None
    renewed_mono: float | None = None
    lease: float | None = None

    def describe(self) -> str:
        """One line for sync_runs and the log."""
        return f"run {self.run_id} (pid {self.pid} on {self.host}) until {self.expires_at}"


_COLUMNS = "run_id, pid, host, expires_at, token, process, renewed_at, clock, renewed_mono, lease"


def new_token() -> str:
    """A random token naming one holding of a lock."""
    return uuid.uuid4().hex


def try_acquire(
    store: Store, exchange: str, run_id: str, token: str, lease: float
) -> Holder | None:
    """Take the lock, or return the live holder that has it. Runs on the store's thread."""
    # Marked held before the row can be seen: another run of this process that reads it
    # between the commit and the mark would take this process's own live lock for a
    # leftover of an earlier pass (`gone`), and take it over.
    added = token not in _HELD
    _HELD.add(token)
    try:
        holder = _take(store, exchange, run_id, token, lease)
    except BaseException:
        if added:
            _HELD.discard(token)
        raise
    if holder is not None and added:
        _HELD.discard(token)
    return holder


def _take(store: Store, exchange: str, run_id: str, token: str, lease: float) -> Holder | None:
    with store.transaction():
        at = store.now()
        holder = _holder(store, exchange)
        if holder is not None and holder.token != token and gone(holder, at) is None:
            return holder
        # Replaced only as it was read: another run that took it meanwhile keeps it.
        expected = (holder.token or "") if holder is not None else token
        taken = store.execute(
            "INSERT INTO locks (exchange, run_id, pid, host, acquired_at, expires_at, token, "
            "process, renewed_at, clock, renewed_mono, lease) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (exchange) DO UPDATE SET run_id = excluded.run_id, "
            "pid = excluded.pid, host = excluded.host, acquired_at = excluded.acquired_at, "
            "expires_at = excluded.expires_at, token = excluded.token, "
            "process = excluded.process, renewed_at = excluded.renewed_at, "
            "clock = excluded.clock, renewed_mono = excluded.renewed_mono, "
            "lease = excluded.lease WHERE coalesce(locks.token, '') = ?",
            [
                exchange,
                run_id,
                os.getpid(),
                socket.gethostname(),
                at.iso(),
                at.iso(lease),
                token,
                this_process(),
                at.iso(),
                at.clock,
                at.mono,
                lease,
                expected,
            ],
        ).rowcount
        if taken != 1:
            return _holder(store, exchange)
    return None


def renew(store: Store, exchange: str, token: str, lease: float) -> str | None:
    """Extend the lease; return None, or who has the lock now when it was lost."""
    with store.transaction():
        at = store.now()
        cursor = store.execute(
            "UPDATE locks SET expires_at = ?, renewed_at = ?, clock = ?, renewed_mono = ?, "
            "lease = ? WHERE exchange = ? AND token = ?",
            [at.iso(lease), at.iso(), at.clock, at.mono, lease, exchange, token],
        )
        if cursor.rowcount == 1:
            return None
        return _taken_by(store, exchange)


def check(store: Store, exchange: str, token: str) -> None:
    """Raise LockLost unless this run still holds the lock: the fence every commit of a
    unit passes, inside its transaction, so nothing is written after a takeover."""
    # Shared-locked until the commit: a takeover waits for this transaction's writes.
    holder = _holder(store, exchange, store.dialect.for_share)
    if holder is None or holder.token != token:
        raise LockLost(_taken_by(store, exchange))


def forget(token: str) -> None:
    """This process no longer holds the lock of `token` (a later pass of it may take over a
    row left behind when the database failed)."""
    _HELD.discard(token)


def release(store: Store, exchange: str, token: str) -> None:
    """Give the lock back (only if this run still holds it)."""
    forget(token)
    with store.transaction():
        store.execute("DELETE FROM locks WHERE exchange = ? AND token = ?", [exchange, token])


def gone(holder: Holder, at: clock.Instant) -> str | None:
    """Why `holder` is certainly no longer syncing, or None while it may be."""
    if holder.process:
        if holder.process == this_process() and holder.token not in _HELD:
            return "an earlier pass of this process"
        dead = _process_gone(holder.process)
        if dead:
            return dead
    if holder.lease is None:  # a lock written before leases were measured on a clock
        if not holder.expires_at:
            return "no lease"
        expires = datetime.fromisoformat(holder.expires_at)
        return "its lease expired" if at.wall > expires else None
    since = clock.elapsed(holder.renewed_at, holder.clock, holder.renewed_mono, at)
    return "its lease lapsed" if since > holder.lease else None


@cache
def this_process() -> str | None:
    """This process exactly: boot, PID namespace, pid and start time; None when /proc cannot
    tell (then other runs judge this one by its lease alone)."""
    boot = _read("/proc/sys/kernel/random/boot_id")
    pid = os.getpid()
    try:
        namespace = os.readlink("/proc/self/ns/pid")
        # /proc may belong to another PID namespace than this process (unshare without
        # remounting it): then pids seen there are not ours.
        same_view = os.readlink("/proc/self") == str(pid)
    except OSError:
        return None
    started = _start_time(pid)
    if not boot or not same_view or started is None:
        return None
    return f"{boot.strip()} {namespace} {pid} {started}"


def _process_gone(process: str) -> str | None:
    """Why the process named `process` is certainly gone, or None if it may be alive."""
    mine = this_process()
    parts = process.split(" ")
    if mine is None or len(parts) != 4 or mine.split(" ")[:2] != parts[:2]:
        return None  # another boot or PID namespace: only the lease can tell
    pid, started = int(parts[2]), parts[3]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return f"its process {pid} has exited"
    except PermissionError:
        pass  # alive, another user's
    now_started = _start_time(pid)
    if now_started is not None and now_started != started:
        return f"its process {pid} has exited (the pid now belongs to another process)"
    return None


def _start_time(pid: int) -> str | None:
    # Field 22 of /proc/<pid>/stat, in clock ticks since boot; the command name (field 2)
    # may hold spaces and parentheses, so fields are counted after its last ')'.
    stat = _read(f"/proc/{pid}/stat")
    if stat is None or ")" not in stat:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19] if len(fields) > 19 else None


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def _holder(store: Store, exchange: str, locking: str = "") -> Holder | None:
    rows = store.fetchall(f"SELECT {_COLUMNS} FROM locks WHERE exchange = ?{locking}", [exchange])
    return Holder(*rows[0]) if rows else None


def _taken_by(store: Store, exchange: str) -> str:
    holder = _holder(store, exchange)
    return holder.describe() if holder is not None else "nobody (the lock was removed)"
