"""One synchronization pass: every requested exchange x data type, concurrently.

Exchanges run side by side; inside an exchange the data types run side by side too,
paced by the one rate limiter of that exchange's ccxt client. A failing unit is recorded
and never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from exsync.capabilities import unsupported_reason
from exsync.config import Config, ExchangeConfig
from exsync.credentials import Credentials, resolve, scrub
from exsync.datatypes import DataType, expand
from exsync.errors import DatabaseError, ExitCode
from exsync.factory import MarketRefresh, check_ccxt_id, create_client, prepare_markets
from exsync.holds import IpHolds
from exsync.metrics import render_metrics, write_metrics
from exsync.pacing import Pacer
from exsync.paths import budget_path, database_target
from exsync.profiles import market_types_for, profile_for
from exsync.retry import Attempts, ClockSync, HeldOff, why
from exsync.store import Store, breaker, lock, utc_now
from exsync.store.housekeeping import prune
from exsync.sync import STRATEGIES, UnitContext
from exsync.sync.unit import NothingCovered

log = logging.getLogger(__name__)
T = TypeVar("T")
OUTCOMES = ("ok", "failed", "held", "skipped")


@dataclass
class UnitResult:
    """The outcome of one exchange x data type unit."""

    exchange: str
    data_type: str
    status: str  # ok | failed | held | skipped | unsupported | interrupted | empty
    records: int = 0
    attempts: int = 0
    error: str | None = None
    seconds: float = 0.0
    #: for an interrupted unit: the date its slowest history stream was committed up to
    reached: str | None = None
    #: what the operator should know although the unit ran (one line each)
    warnings: list[str] = field(default_factory=list)


class Progress(Protocol):
    """Receives a pass's progress as it happens (e.g. a live display on a terminal)."""

    def started(self, exchange: str, data_type: str) -> None: ...

    def received(self, exchange: str, data_type: str, rows: int) -> None: ...

    def reached(
        self, exchange: str, data_type: str, stream: str, position: int, start: int, end: int
    ) -> None:
        """A history stream has been read and committed up to `position` (ms) of start..end."""

    def finished(self, unit: UnitResult) -> None: ...


@dataclass
class PassResult:
    """The outcome of one pass."""

    run_id: str
    units: list[UnitResult] = field(default_factory=list)
    seconds: float = 0.0
    #: the signal that cut the pass short (SIGINT, SIGTERM), if one did
    interrupted: str | None = None

    @property
    def exit_code(self) -> ExitCode:
        """0 when no unit failed or was held off; 1 when any failed or was stopped (its lock
        taken over); 69 when units were held off by an open breaker (or an IP ban); 75 when
        every unit was skipped because another run holds the lock; 130 or 143 when a signal
        cut the pass short.

        An unsupported unit is neither: the exchange cannot provide it, nothing to retry. Nor
        is an empty one (a history with no symbol to walk): retrying would not help; it is
        no success either, so `status` and `check` keep showing it.
        """
        if self.interrupted:
            return ExitCode.TERMINATED if self.interrupted == "SIGTERM" else ExitCode.INTERRUPTED
        # Without a signal, a unit is interrupted only when its exchange's lock was taken.
        if any(u.status in ("failed", "interrupted") for u in self.units):
            return ExitCode.FAILED
        if self.held():
            return ExitCode.HELD
        if self.units and all(u.status == "skipped" for u in self.units):
            return ExitCode.NOTHING_ATTEMPTED
        return ExitCode.OK

    def held(self) -> list[UnitResult]:
        """The units an open breaker (or an IP ban) held off."""
        return [u for u in self.units if u.status == "held"]

    @property
    def ok(self) -> bool:
        """True when every requested unit succeeded."""
        return self.exit_code is ExitCode.OK

    def kept(self) -> str:
        """What an interrupted pass committed, in one line."""
        stopped = [u for u in self.units if u.status == "interrupted"]
        rows = sum(u.records for u in stopped)
        reached = sorted({u.reached for u in stopped if u.reached})
        where = f", history read up to {reached[0]}" if reached else ""
        return f"kept {rows:,} rows{where}; a rerun resumes from there"


class Synchronizer:
    """Runs passes for a configuration against one database.

    >>> result = Synchronizer(config).sync(exchanges=["bybit"], types=[DataType.ALL])
    >>> result.exit_code
    """

    def __init__(
        self,
        config: Config,
        db_path: str | Path | None = None,
        metrics_file: str | Path | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.config = config
        self.progress = progress
        #: the database: an SQLite file or a PostgreSQL database (see exsync.store.target)
        self.target = database_target(config, db_path)
        metrics = metrics_file or config.metrics_file
        self.metrics_file = Path(metrics) if metrics else None
        #: the file is checked for damage once per process, before its first pass writes
        self._checked = False

    def sync(
        self,
        exchanges: Sequence[str] | None = None,
        types: Iterable[DataType | str] = (DataType.ALL,),
        wait: float = 0.0,
    ) -> PassResult:
        """Run one pass and return its result; raises ConfigError/DatabaseError before any work.

        `wait`: seconds to wait for an exchange another run is syncing, instead of skipping it.
        SIGINT or SIGTERM cuts the pass short: what was committed stays, the units in flight
        are recorded as interrupted and the result says which signal came.
        """
        return asyncio.run(self._interruptible(self.sync_async(exchanges, types, wait)))

    async def _interruptible(self, work: Awaitable[PassResult]) -> PassResult:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(work)
        came: list[str] = []

        def interrupt(sig: signal.Signals) -> None:
            if came:  # a second signal: stop at once
                raise KeyboardInterrupt
            log.warning("%s: stopping; what was committed is kept", sig.name)
            came.append(sig.name)
            task.cancel()

        watched = (signal.SIGINT, signal.SIGTERM)
        installed = []
        for sig in watched:
            if signal.getsignal(sig) not in (signal.SIG_DFL, signal.default_int_handler):
                continue  # the caller handles it (`exsync run` lets the pass finish)
            try:
                loop.add_signal_handler(sig, interrupt, sig)
                installed.append(sig)
            except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
                pass
        try:
            result = await task
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
        if came:
            result.interrupted = came[0]
        return result

    async def sync_async(
        self,
        exchanges: Sequence[str] | None = None,
        types: Iterable[DataType | str] = (DataType.ALL,),
        wait: float = 0.0,
    ) -> PassResult:
        """The pass itself, for callers that already run an event loop."""
        # An empty list (a shard without accounts) is a pass over nothing, not over all.
        names = list(dict.fromkeys(self.config.exchanges if exchanges is None else exchanges))
        selected = [self.config.exchange(name) for name in names]
        requested = list(types)
        plans = []
        for exchange in selected:
            check_ccxt_id(exchange, self.config.source)
            credentials = resolve(exchange, self.config.source)
            plans.append((exchange, credentials, expand(requested, exchange.types)))
        started = time.monotonic()
        result = PassResult(run_id=_new_run_id())
        store = Store(self.target, check=not self._checked, busy_timeout=self.config.busy_timeout)
        self._checked = True
        try:
            log.info("pass %s: %d exchange(s)", result.run_id, len(plans))
            budget = budget_path(self.target)
            holds = IpHolds(self.config, store)
            passes = [
                ExchangePass(
                    store, result.run_id, exchange, credentials, self.progress, budget, holds
                )
                for exchange, credentials, _ in plans
            ]
            try:
                outcomes = await all_or_database_error(
                    one.run(data_types, wait)
                    for one, (_, _, data_types) in zip(passes, plans, strict=True)
                )
            except asyncio.CancelledError:
                # Interrupted: each exchange recorded its units as they stopped.
                outcomes = [one.recorded for one in passes]
                result.interrupted = "interrupted"
            await store.run(self._after_pass, store)
        finally:
            store.close()
        for units in outcomes:
            result.units.extend(units or [])
        result.seconds = time.monotonic() - started
        log.info(
            "pass %s finished in %.1fs: %d ok, %d failed, %d held, %d skipped",
            result.run_id,
            result.seconds,
            *(sum(u.status == s for u in result.units) for s in OUTCOMES),
        )
        return result

    def _after_pass(self, store: Store) -> None:
        """Housekeeping and metrics; their failures are logged, never the pass's outcome."""
        if self.config.retention:
            try:
                removed = prune(store, self.config.retention)
            except Exception as exc:
                log.warning("retention: could not prune the history: %s", exc)
            else:
                log.info("retention: %s", removed)
        if self.metrics_file:
            try:
                write_metrics(self.metrics_file, render_metrics(store, self.config))
            except Exception as exc:
                log.warning("metrics: could not write %s: %s", self.metrics_file, exc)


@dataclass
class ExchangePass:
    """One exchange's part of a pass: its lock, its breakers, its units.

    Every database call goes through `store.run`. A database error ends the whole pass
    (raised, never recorded against a unit or a breaker). A lock taken over by another run
    stops this exchange's units at once: nothing more is written for it.
    """

    store: Store
    run_id: str
    exchange: ExchangeConfig
    credentials: Credentials
    progress: Progress | None = None
    #: the host's shared request budgets (per IP), a file next to the database
    budget: Path | None = None
    #: the IP bans of the pass, shared by every exchange in it
    holds: IpHolds | None = None
    #: the units recorded so far, in the order they finished
    recorded: list[UnitResult] = field(default_factory=list)
    #: who took the lock over, once this run has lost it
    lost: str | None = None
    token: str = field(default_factory=lock.new_token)
    _units: list[asyncio.Task[UnitResult]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.exchange.name

    async def run(self, data_types: list[DataType], wait: float) -> list[UnitResult]:
        """Sync this exchange; whatever goes wrong here, except the database, never stops
        the other exchanges."""
        try:
            return await self._run(data_types, wait)
        except asyncio.CancelledError:
            await self._record_rest(data_types, "interrupted", "interrupted before it started")
            raise
        except DatabaseError:
            raise
        except Exception as exc:
            message = _one_line(exc, self.credentials, self.exchange.settings.timeout)
            log.error("%s failed: %s", self.name, message)
            return await self._record_rest(data_types, "failed", message)

    async def _record_rest(
        self, data_types: list[DataType], status: str, error: str
    ) -> list[UnitResult]:
        """Record the units not recorded yet; return every unit's result."""
        results = []
        done = {u.data_type: u for u in self.recorded}
        for data_type in data_types:
            if str(data_type) in done:  # finished and recorded before
                results.append(done[str(data_type)])
                continue
            try:
                results.append(await self._record(data_type, status, error=error))
            except DatabaseError:  # the pass ends with the database's error; do not mask it
                results.append(UnitResult(self.name, str(data_type), status, error=error))
        return results

    async def _run(self, data_types: list[DataType], wait: float) -> list[UnitResult]:
        """Lock the exchange, ask each unit's breaker, run the admitted units."""
        lease = self.exchange.settings.lock_lease
        holder = await self._acquire(lease, wait)
        if holder is not None:
            reason = f"another run holds the lock: {holder.describe()}"
            log.warning("%s skipped: %s", self.name, reason)
            return [await self._record(t, "skipped", error=reason) for t in data_types]
        renewer = asyncio.create_task(self._keep_lock(lease))
        try:
            results: dict[DataType, UnitResult] = {}
            admitted = []
            for data_type in data_types:
                admission = await self.store.run(
                    breaker.admit, self.store, self.name, data_type, self.run_id, lease
                )
                if admission.allowed:
                    admitted.append(data_type)
                    if admission.probe:
                        log.info("%s %s: half-open probe", self.name, data_type)
                else:
                    status = "held" if admission.held else "skipped"
                    log.warning("%s %s %s: %s", self.name, data_type, status, admission.reason)
                    results[data_type] = await self._record(
                        data_type, status, error=admission.reason
                    )
            if admitted:
                for unit in await self._run_units(admitted):
                    results[DataType(unit.data_type)] = unit
            return [results[t] for t in data_types]
        finally:
            renewer.cancel()
            lock.forget(self.token)  # whatever happens below, this pass holds it no more
            if self.store.broken is None:  # else the lease lapses, or the pid check frees it
                try:
                    await self.store.run(lock.release, self.store, self.name, self.token)
                except Exception as exc:
                    # Nothing for the operator to do: the lease lapses on its own, and a
                    # database that failed here has already failed the pass with its own line.
                    log.info(
                        "%s: could not release the run lock (its lease lapses): %s", self.name, exc
                    )

    async def _acquire(self, lease: float, wait: float) -> lock.Holder | None:
        """Take the exchange's lock, polling for up to `wait` seconds while another run has it."""
        deadline = time.monotonic() + wait
        while True:
            holder = await self.store.run(
                lock.try_acquire, self.store, self.name, self.run_id, self.token, lease
            )
            if holder is None or time.monotonic() >= deadline:
                return holder
            await asyncio.sleep(min(0.5, max(0.0, deadline - time.monotonic())))

    async def _keep_lock(self, lease: float) -> None:
        """Renew the lock's lease while the exchange is being synced; stop the units the
        moment the lock turns out to be taken over.

        A renewal that fails (the database busy beyond its timeout) is tried again at the next
        tick: the lease is three ticks long.
        """
        while True:
            await asyncio.sleep(lease / 3)
            try:
                taken = await self.store.run(lock.renew, self.store, self.name, self.token, lease)
            except Exception as exc:
                log.warning("%s: could not renew the run lock, trying again: %s", self.name, exc)
                continue
            if taken is not None:
                self._lose(taken)
                return

    def _lose(self, taken_by: str) -> None:
        """The lock was taken over: stop every unit of this exchange now."""
        if self.lost is not None:
            return
        self.lost = taken_by
        log.error(
            "%s: the run lock was taken over by %s; stopping this exchange's units, "
            "nothing more is written for it",
            self.name,
            taken_by,
        )
        current = asyncio.current_task()
        for task in self._units:
            if task is not current:
                task.cancel()

    def _fence(self, store: Store) -> None:
        lock.check(store, self.name, self.token)

    async def _run_units(self, data_types: list[DataType]) -> list[UnitResult]:
        profile = profile_for(self.exchange.ccxt_id)
        market_types = market_types_for(self.exchange)
        pacer = (
            Pacer(profile.limits, self.name, self.budget, profile.weights)
            if profile.limits
            else None
        )
        gate = self.holds.gate(self.exchange) if self.holds is not None else None
        client = create_client(self.exchange, self.credentials, profile, market_types, pacer, gate)
        clock = ClockSync(client.load_time_difference, self.name)
        started_at = utc_now()
        results = []
        runnable = []
        for data_type in data_types:
            reason = unsupported_reason(data_type, client.has, market_types, profile.not_synced)
            if reason is None:
                runnable.append(data_type)
            else:
                # said once by `config validate` and `exchanges`; every pass would be noise
                log.info("%s %s unsupported: %s", self.name, data_type, reason)
                results.append(await self._record(data_type, "unsupported", error=reason))
        data_types = runnable
        try:
            if not data_types:
                return results
            counter = Attempts()
            try:
                await prepare_markets(
                    client, self.exchange, market_types, self.store, counter, clock
                )
            except DatabaseError:
                raise
            except Exception as exc:
                # Without markets no unit can run: each is recorded as failed with the cause.
                message = _one_line(exc, self.credentials, self.exchange.settings.timeout)
                status = "held" if isinstance(exc, HeldOff) else "failed"
                log.error("%s: cannot load markets: %s", self.name, message)
                return results + [
                    await self._record(
                        t, status, started_at, attempts=counter.attempts, error=message
                    )
                    for t in data_types
                ]
            refresh = MarketRefresh(client, self.exchange, market_types, self.store, clock)
            now_ms = int(time.time() * 1000)
            shared: dict[str, Any] = {}  # work the units of this exchange share in this pass
            self._units = [
                asyncio.create_task(
                    self._run_unit(
                        UnitContext(
                            exchange=self.exchange,
                            client=client,
                            store=self.store,
                            profile=profile,
                            market_types=market_types,
                            run_id=self.run_id,
                            now_ms=now_ms,
                            clock=clock,
                            refresh_markets=refresh,
                            shared=shared,
                            fence=self._fence,
                        ),
                        data_type,
                    )
                )
                for data_type in data_types
            ]
            outcomes = await all_or_database_error(self._units)
            stopped = {u.data_type: u for u in self.recorded}
            return results + [
                unit if unit is not None else stopped[str(data_type)]
                for unit, data_type in zip(outcomes, data_types, strict=True)
            ]
        finally:
            await client.close()
            if pacer is not None:
                pacer.close()

    async def _run_unit(self, ctx: UnitContext, data_type: DataType) -> UnitResult:
        started_at = utc_now()
        started = time.monotonic()
        if self.progress is not None:
            progress = self.progress
            _quietly(progress, "started", self.name, str(data_type))
            ctx.on_rows = lambda rows: _quietly(
                progress, "received", self.name, str(data_type), rows
            )
            ctx.on_reached = lambda stream, position, start, end: _quietly(
                progress, "reached", self.name, str(data_type), stream, position, start, end
            )
        try:
            try:
                records = await STRATEGIES[data_type](ctx)
            except self.store.errors as exc:  # a strategy that used the connection directly
                raise self.store.error(exc) from None
        except (asyncio.CancelledError, lock.LockLost) as exc:
            if isinstance(exc, lock.LockLost):
                self._lose(str(exc))
            reached = _date(min(ctx.positions.values())) if ctx.positions else None
            log.info(
                "%s %s stopped: %d rows kept%s",
                self.name,
                data_type,
                ctx.written,
                f", read up to {reached}" if reached else "",
            )
            unit = await self._record_stopped(
                data_type,
                started_at,
                # Read on the store's thread, behind the commits the unit had handed over.
                records=lambda: ctx.written,
                attempts=ctx.attempts.attempts,
                seconds=time.monotonic() - started,
                reached=reached,
                warnings=ctx.warnings,
            )
            if isinstance(exc, lock.LockLost):
                return unit
            raise
        except DatabaseError:
            raise  # the database's trouble, not the exchange's: it ends the pass
        except NothingCovered as exc:
            # Nothing went wrong, but the unit cannot vouch for any history: not `ok`.
            log.warning("%s %s covers nothing: %s", self.name, data_type, exc)
            return await self._record(
                data_type,
                "empty",
                started_at,
                records=ctx.written,
                attempts=ctx.attempts.attempts,
                error=str(exc),
                seconds=time.monotonic() - started,
                warnings=ctx.warnings,
            )
        except Exception as exc:
            message = _one_line(exc, self.credentials, self.exchange.settings.timeout)
            # A unit stopped because another one met an IP ban was held off, not failed.
            status = "held" if isinstance(exc, HeldOff) else "failed"
            log.error("%s %s %s: %s", self.name, data_type, status, message)
            return await self._record(
                data_type,
                status,
                started_at,
                attempts=ctx.attempts.attempts,
                error=message,
                seconds=time.monotonic() - started,
                warnings=ctx.warnings,
            )
        seconds = time.monotonic() - started
        log.info(
            "%s %s ok: %d records, %d attempt(s), %.2fs",
            self.name,
            data_type,
            records,
            ctx.attempts.attempts,
            seconds,
        )
        return await self._record(
            data_type,
            "ok",
            started_at,
            records=records,
            attempts=ctx.attempts.attempts,
            seconds=seconds,
            warnings=ctx.warnings,
        )

    async def _record_stopped(
        self, data_type: DataType, started_at: str, **details: Any
    ) -> UnitResult:
        """Record a unit stopped part-way; when the database is what failed, only report it."""
        error = (
            f"stopped: the run lock was taken over by {self.lost}; what was committed before "
            "is kept"
            if self.lost
            else "interrupted; what was committed is kept"
        )
        try:
            return await self._record(data_type, "interrupted", started_at, error=error, **details)
        except DatabaseError:
            unit = UnitResult(self.name, str(data_type), "interrupted", error=error)
            self.recorded.append(unit)
            return unit

    async def _record(
        self,
        data_type: DataType,
        status: str,
        started_at: str | None = None,
        *,
        records: int | Callable[[], int] = 0,
        attempts: int = 0,
        error: str | None = None,
        seconds: float = 0.0,
        reached: str | None = None,
        warnings: Sequence[str] = (),
    ) -> UnitResult:
        """Record a unit in sync_runs and count it in its breaker, in one transaction.

        Held, skipped and interrupted units are not counted: none says anything new about
        the exchange. An interrupted probe hands its breaker back, ready to probe again.
        `records` may be a callable, read when the record is written.
        """
        finished_at = utc_now()

        def write(store: Store) -> int:
            count = records() if callable(records) else records
            with store.transaction():
                store.record_run(
                    run_id=self.run_id,
                    exchange=self.name,
                    data_type=str(data_type),
                    started_at=started_at or finished_at,
                    finished_at=finished_at,
                    status=status,
                    records=count,
                    attempts=attempts,
                    error=error,
                    warnings="\n".join(warnings) or None,
                )
                if status == "interrupted":
                    breaker.release_probe(store, self.name, str(data_type), self.run_id)
                elif status not in ("skipped", "held"):
                    # unsupported and empty close a breaker like success: nothing to retry
                    breaker.record(
                        store,
                        self.name,
                        str(data_type),
                        status != "failed",
                        error,
                        self.exchange.settings,
                        run_id=self.run_id,
                    )
            return count

        count = await self.store.run(write, self.store)
        unit = UnitResult(
            self.name,
            str(data_type),
            status,
            count,
            attempts,
            error,
            seconds,
            reached,
            list(warnings),
        )
        self.recorded.append(unit)
        if self.progress is not None:
            _quietly(self.progress, "finished", unit)
        return unit


async def all_or_database_error(work: Iterable[Awaitable[T]]) -> list[T | None]:
    """Await every piece of work together and return their results in order.

    The first DatabaseError (or any error that escaped) cancels the rest at once and is
    raised: the database's trouble ends the pass. A piece cancelled on its own (a unit
    stopped after its lock was taken over) gives None; a cancellation from outside cancels
    every piece and propagates.
    """
    tasks = [asyncio.ensure_future(w) for w in work]
    if not tasks:
        return []
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception()]
        if failed:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
            raise failed[0].exception()  # type: ignore[misc]
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
        raise
    return [None if t.cancelled() else t.result() for t in tasks]


def _quietly(progress: Progress, event: str, *args: Any) -> None:
    """Tell a progress display about an event; a display that breaks never fails a unit."""
    try:
        getattr(progress, event)(*args)
    except Exception as exc:
        log.debug("progress display: %s", exc)


def _one_line(exc: BaseException, credentials: Credentials, timeout: float | None = None) -> str:
    """A one-line description of an error, with any credential scrubbed out; a request that
    got no answer says why (connection refused, name not resolved, TLS, timeout)."""
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    reason = why(exc, timeout)
    # The reason goes first: a long URL must not push it past the truncation.
    kind = f"{exc.__class__.__name__} ({reason})" if reason else exc.__class__.__name__
    # Scrub first: a secret cut in half by the truncation would no longer match.
    text = scrub(f"{kind}: {text}", credentials)
    return text if len(text) <= 300 else text[:297] + "..."


def _date(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ms / 1000))


def _new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
