"""The command line: a thin Typer layer over the library.

Each command loads what it needs, calls one library function and renders the result.
Errors exsync knows about become one line on stderr and a documented exit code.
ccxt is imported only by the commands that talk to an exchange (`sync`, `demo`).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from exsync import __version__
from exsync.datatypes import CONCRETE, DataType
from exsync.errors import ExitCode, ExsyncError

T = TypeVar("T")

app = typer.Typer(
    name="exsync",
    help="Keep a local SQLite mirror of exchange account and market data, one pass per run.",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _group(name: str, help: str) -> typer.Typer:
    """A command group that prints its help when called without a command."""
    group = typer.Typer(help=help, rich_markup_mode=None)
    app.add_typer(group, name=name)

    @group.callback(invoke_without_command=True)
    def show_help(ctx: typer.Context) -> None:
        if ctx.invoked_subcommand is None:
            typer.echo(ctx.get_help())
            raise typer.Exit(0)

    show_help.__doc__ = help
    return group


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="PATH",
        help="Config file (default: $EXSYNC_CONFIG, $CONFIGURATION_DIRECTORY/config.yaml, "
        "~/.config/exsync/config.yaml).",
        dir_okay=False,
    ),
]
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="PATH|URL",
        help="SQLite file or postgresql:// URL (default: the config's `database`).",
    ),
]
ShardOption = Annotated[
    str | None,
    typer.Option(
        "--shard",
        metavar="I/N",
        help="Only the accounts of shard I of N (1 <= I <= N), by a stable hash of their "
        "names: each of N hosts syncs its own share.",
        callback=lambda value: _shard(value),
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
MetricsOption = Annotated[
    Path | None,
    typer.Option(
        "--metrics-file",
        metavar="PATH",
        help="Write Prometheus textfile-collector metrics here after each pass "
        "(default: the config's metrics_file).",
        dir_okay=False,
    ),
]
ExchangesOption = Annotated[
    list[str] | None,
    typer.Option(
        "--exchange", "-e", metavar="NAME", help="Exchange name from the config (repeatable)."
    ),
]
TypesOption = Annotated[
    list[DataType] | None,
    typer.Option(
        "--type",
        "-t",
        metavar="TYPE",
        help=f"{', '.join(t.value for t in CONCRETE)} or all (repeatable; default: all).",
    ),
]
ExchangeFilter = Annotated[str | None, typer.Option("--exchange", "-e", help="Only this exchange.")]
TypeFilter = Annotated[DataType | None, typer.Option("--type", "-t", help="Only this type.")]


class LogFormat(StrEnum):
    """Values of --log-format."""

    AUTO = "auto"
    TEXT = "text"
    JSON = "json"
    JOURNAL = "journal"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"exsync {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def main_options(
    ctx: typer.Context,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log output (-vv: debug).")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
    log_format: Annotated[
        LogFormat,
        typer.Option(
            "--log-format",
            help="auto: journal priorities under systemd, colours on a terminal, text "
            "otherwise; or text, json, journal.",
        ),
    ] = LogFormat.AUTO,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Keep a local SQLite mirror of exchange account and market data, one pass per run."""
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    from exsync.logs import setup_logging

    setup_logging(verbose, quiet, log_format.value)


@app.command()
def sync(
    ctx: typer.Context,
    exchange: ExchangesOption = None,
    data_type: TypesOption = None,
    wait: Annotated[
        str | None,
        typer.Option(
            "--wait",
            metavar="DURATION",
            help="Wait up to DURATION (e.g. 2m) for an exchange another run is syncing, "
            "instead of skipping it.",
        ),
    ] = None,
    metrics_file: MetricsOption = None,
    shard: ShardOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Run one synchronization pass.

    Example: exsync sync --exchange bybit --type trades --type orders
    """
    from exsync.orchestrator import Synchronizer
    from exsync.render import console, pass_summary

    wait_seconds = _duration(wait, "--wait") if wait else 0.0
    cfg = _guard(lambda: _load(config, required=True))
    names = _accounts(cfg, exchange, shard)
    with _live_progress(ctx) as progress:
        synchronizer = _guard(
            lambda: Synchronizer(cfg, db, metrics_file=metrics_file, progress=progress)
        )
        result = _guard(lambda: synchronizer.sync(names, data_type or [DataType.ALL], wait_seconds))
    pass_summary(console(), result.run_id, result.units, result.seconds)
    _warn_held(result.held())
    if result.interrupted:
        by = f" by {result.interrupted}" if result.interrupted.startswith("SIG") else ""
        typer.echo(f"exsync: interrupted{by}: {result.kept()}", err=True)
    raise typer.Exit(int(result.exit_code))


def _warn_held(held: list[Any]) -> None:
    """One line naming the units an open breaker (or an IP ban) held off."""
    if held:
        names = ", ".join(f"{u.exchange} {u.data_type}" for u in held)
        typer.echo(
            f"exsync: warning: held off by an open breaker: {names}; `exsync breaker show` "
            "says why and until when",
            err=True,
        )


@app.command()
def run(
    every: Annotated[str, typer.Option("--every", help="Start a pass every DURATION, e.g. 5m.")],
    exchange: ExchangesOption = None,
    data_type: TypesOption = None,
    metrics_file: MetricsOption = None,
    shard: ShardOption = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Run passes in the foreground, one every DURATION, for hosts without a scheduler.

    Passes never overlap. SIGTERM or Ctrl-C lets the pass in flight finish, then exits 0;
    a second one stops at once.

    Example: exsync run --every 5m
    """
    from exsync.loop import run_every
    from exsync.orchestrator import Synchronizer
    from exsync.render import console, pass_summary

    seconds = _duration(every, "--every")
    cfg = _guard(lambda: _load(config, required=True))
    names = _accounts(cfg, exchange, shard)
    synchronizer = _guard(lambda: Synchronizer(cfg, db, metrics_file=metrics_file))
    out = console()
    _guard(
        lambda: run_every(
            lambda: synchronizer.sync(names, data_type or [DataType.ALL]),
            seconds,
            lambda result: pass_summary(out, result.run_id, result.units, result.seconds),
        )
    )


@app.command()
def check(
    max_age: Annotated[
        str | None,
        typer.Option(
            "--max-age",
            help="Stale after DURATION (default: each exchange's stale_after).",
        ),
    ] = None,
    exchange: ExchangeFilter = None,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """For monitoring: exit 0 OK, 1 WARNING, 2 CRITICAL, with one line naming every stale
    unit and open breaker (Nagios plugin convention).

    Example: exsync check --max-age 30m --exchange bybit
    """
    from exsync.health import check as check_health

    seconds = _duration(max_age, "--max-age") if max_age else None
    cfg = _guard(lambda: _load(config, required=False))
    with _guard(lambda: _open_store(cfg, db, readonly=True)) as store:
        code, line = _guard(lambda: check_health(store, cfg, seconds, exchange))
    typer.echo(line)
    raise typer.Exit(int(code))


@app.command()
def doctor(
    exchange: ExchangesOption = None,
    config: ConfigOption = None,
    json: JsonOption = False,
) -> None:
    """Check each account against its exchange, two requests each: reachable, clock offset,
    credentials, account mode, and what the key may do (exsync only reads). Exit 0 OK,
    1 WARNING, 2 CRITICAL, as `check`.

    Example: exsync doctor --exchange bybit
    """
    from exsync.doctor import examine_all, exit_code
    from exsync.render import print_json

    cfg = _guard(lambda: _load(config, required=True))
    findings = _guard(lambda: examine_all(cfg, exchange or None))
    if json:
        print_json([f.to_dict() for f in findings])
    else:
        for finding in findings:
            typer.echo(f"{finding.account}: {finding.level}: {finding.text}")
    raise typer.Exit(exit_code(findings))


@app.command()
def status(config: ConfigOption = None, db: DbOption = None, json: JsonOption = False) -> None:
    """Show the last outcome, age and staleness of every exchange x data type.

    Example: exsync status --json
    """
    from exsync.render import console, portfolio_lines, print_json, status_table
    from exsync.status import portfolio_totals, unit_statuses

    cfg = _guard(lambda: _load(config, required=False))
    with _guard(lambda: _open_store(cfg, db, readonly=True)) as store:
        statuses = _guard(lambda: unit_statuses(store, cfg))
        totals = _guard(lambda: portfolio_totals(store))
    if json:
        print_json(
            {"units": [s.to_dict() for s in statuses], "portfolio": [t.to_dict() for t in totals]}
        )
    else:
        out = console()
        status_table(out, statuses)
        portfolio_lines(out, totals)


history_app = typer.Typer(help="Show or prune the sync history.", rich_markup_mode=None)
app.add_typer(history_app, name="history")


@history_app.callback(invoke_without_command=True)
def history(
    ctx: typer.Context,
    exchange: ExchangeFilter = None,
    data_type: TypeFilter = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many rows.")] = 50,
    config: ConfigOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Show the latest units run, newest first.

    Example: exsync history --exchange bybit --type trades --limit 10
    """
    if ctx.invoked_subcommand is not None:
        return
    from exsync.render import console, history_table, print_json
    from exsync.status import history as load_history

    cfg = _guard(lambda: _load(config, required=False))
    with _guard(lambda: _open_store(cfg, db, readonly=True)) as store:
        rows = _guard(
            lambda: load_history(store, exchange, str(data_type) if data_type else None, limit)
        )
    if json:
        print_json(rows)
    else:
        history_table(console(), rows)


@history_app.command("prune")
def history_prune(
    older_than: Annotated[
        str, typer.Option("--older-than", help="Delete history older than DURATION, e.g. 90d.")
    ],
    only_runs: Annotated[
        bool,
        typer.Option("--only-runs", help="Keep balance_snapshots (the portfolio history)."),
    ] = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Delete old sync_runs and balance_snapshots rows; each unit's latest row stays.

    The file shrinks only after `sqlite3 exsync.db VACUUM`; freed pages are reused anyway.

    Example: exsync history prune --older-than 90d
    """
    from exsync.store.housekeeping import PRUNABLE, prune

    seconds = _duration(older_than, "--older-than")
    tables = ("sync_runs",) if only_runs else PRUNABLE
    cfg = _guard(lambda: _load(config, required=False))
    with _guard(lambda: _open_store(cfg, db)) as store:
        removed = _guard(lambda: prune(store, seconds, tables=tables))
    typer.echo(", ".join(f"{table}: {count} row(s) deleted" for table, count in removed.items()))


breaker_app = _group("breaker", "Show, reset or trip the circuit breakers.")


@breaker_app.command("show")
def breaker_show(
    config: ConfigOption = None, db: DbOption = None, json: JsonOption = False
) -> None:
    """Show every breaker: state, consecutive failures, next probe, last error.

    Example: exsync breaker show --json
    """
    from exsync.render import breaker_table, console, print_json
    from exsync.store.breaker import breakers

    cfg = _guard(lambda: _load(config, required=False))
    with _guard(lambda: _open_store(cfg, db, readonly=True)) as store:
        rows = _guard(lambda: breakers(store))
    if json:
        print_json(rows)
    else:
        breaker_table(console(), rows)


@breaker_app.command("reset")
def breaker_reset(
    exchange: ExchangeFilter = None,
    data_type: TypeFilter = None,
    all_: Annotated[bool, typer.Option("--all", help="Every breaker.")] = False,
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Close breakers so the next run syncs again.

    Example: exsync breaker reset --exchange bybit
    """
    from exsync.store.breaker import breakers, reset

    if not (exchange or all_):
        _usage("say which breakers: --exchange NAME [--type TYPE], or --all")
    cfg = _guard(lambda: _load(config, required=False))
    only = str(data_type) if data_type and data_type is not DataType.ALL else None
    with _guard(lambda: _open_store(cfg, db, create=True)) as store:
        if exchange:
            # A breaker left by an exchange since removed from the config may still be reset.
            known = {(r["exchange"], r["data_type"]) for r in _guard(lambda: breakers(store))}
            if not any(e == exchange and only in (None, t) for e, t in known):
                _known_unit(cfg, exchange, only)
        count = _guard(lambda: reset(store, exchange, only))
    typer.echo(f"reset {count} breaker(s)")


@breaker_app.command("trip")
def breaker_trip(
    exchange: Annotated[str, typer.Option("--exchange", "-e", help="The exchange to hold off.")],
    data_type: Annotated[
        DataType | None, typer.Option("--type", "-t", help="Only this type (default: all).")
    ] = None,
    for_: Annotated[
        str, typer.Option("--for", help="How long, e.g. 2h for announced maintenance.")
    ] = "1h",
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Open breakers by hand: runs skip the exchange until the time is up, then probe it.

    Example: exsync breaker trip --exchange bybit --for 2h
    """
    from exsync.store.breaker import trip

    seconds = _duration(for_, "--for")
    cfg = _guard(lambda: _load(config, required=True))
    only = str(data_type) if data_type and data_type is not DataType.ALL else None
    types = _known_unit(cfg, exchange, only)
    with _guard(lambda: _open_store(cfg, db, create=True)) as store:
        _guard(lambda: trip(store, exchange, types, seconds, f"tripped by hand for {for_}"))
    typer.echo(f"tripped {len(types)} breaker(s) of {exchange} for {for_}")


@app.command()
def exchanges(config: ConfigOption = None, db: DbOption = None, json: JsonOption = False) -> None:
    """List the configured accounts: ccxt id, supported data types, credentials present, and
    (Binance) how many symbols the history covers.

    Example: exsync exchanges --json
    """
    from exsync.accounts import describe
    from exsync.paths import database_target
    from exsync.render import accounts_table, console, print_json

    cfg = _guard(lambda: _load(config, required=True))
    target = _guard(lambda: database_target(cfg, db))
    if target.postgres or (target.path is not None and target.path.exists()):
        with _guard(lambda: _open_store(cfg, db, readonly=True)) as store:
            accounts = _guard(lambda: describe(cfg, store))
    else:
        accounts = _guard(lambda: describe(cfg))
    if json:
        print_json([a.to_dict() for a in accounts])
    else:
        accounts_table(console(), accounts)


db_app = _group("db", "Move the mirror to another database.")


@db_app.command("copy")
def db_copy(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="PATH|URL",
            help="The empty database to copy into: a postgresql:// URL (its password from the "
            "config's database_password_*, PGPASSWORD or ~/.pgpass) or an SQLite file.",
        ),
    ],
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Copy the whole mirror (history, cursors, breakers, markets) into another database, so
    that moving to PostgreSQL needs no new backfill. The target must be empty; it is written
    in one transaction.

    Example: exsync db copy --db /var/lib/exsync/exsync.db --to postgresql://exsync@db/exsync
    """
    from exsync.store.target import TargetError, parse_target
    from exsync.store.transfer import copy_database

    cfg = _guard(lambda: _load(config, required=False))
    try:
        target = parse_target(to)  # its password, as for --db, when the store opens it
    except TargetError as exc:
        _usage(f"--to: {exc}")
    with (
        _guard(lambda: _open_store(cfg, db, readonly=True)) as source,
        _guard(lambda: _open_store(cfg, target, create=True)) as into,
    ):
        counts = _guard(lambda: copy_database(source, into))
    total = sum(counts.values())
    typer.echo(f"copied {total:,} rows of {len(counts)} tables from {source.name} to {into.name}")


config_app = _group("config", "Check or show the configuration.")


@config_app.command("validate")
def config_validate(config: ConfigOption = None) -> None:
    """Check the config file, ccxt ids, credentials, and the symbols against the cached
    markets; warn about unsupported data types.

    Example: exsync config validate --config /etc/exsync/config.yaml
    """
    from exsync.accounts import cached_markets, validate
    from exsync.errors import DatabaseError
    from exsync.paths import database_target

    cfg = _guard(lambda: _load(config, required=True))
    unread = None  # why a database that is there could not be read
    try:
        store = _open_store(cfg, None, readonly=True)
    except DatabaseError as exc:
        store = None
        target = _guard(lambda: database_target(cfg))
        if target.postgres or (target.path is not None and target.path.exists()):
            unread = str(exc)
    try:
        cached = cached_markets(store) if store is not None else lambda name: None
        # With a database that cannot be read, the symbols are not checked: it says why once.
        warnings = _guard(lambda: validate(cfg, None if unread else cached))
    finally:
        if store is not None:
            store.close()
    if unread:
        warnings.insert(0, f"symbols not checked against the cached markets: {unread}")
    for warning in warnings:
        typer.echo(f"exsync: warning: {warning}", err=True)
    typer.echo(f"{cfg.source}: ok, {len(cfg.exchanges)} exchange(s)")


@config_app.command("show")
def config_show(config: ConfigOption = None) -> None:
    """Print the effective configuration with defaults filled in; credentials as ***.

    Example: exsync config show
    """
    import yaml

    from exsync.accounts import show

    cfg = _guard(lambda: _load(config, required=True))
    typer.echo(yaml.safe_dump(_guard(lambda: show(cfg)), sort_keys=False).rstrip())


@app.command()
def init(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Where to write it (default: where exsync looks for its config).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Write a commented starter config where exsync will find it; never overwrites.

    Example: exsync init && exsync config validate
    """
    from exsync.accounts import write_starter
    from exsync.config import default_config_path

    target = config or default_config_path()
    _guard(lambda: write_starter(target))
    typer.echo(f"wrote {target}; edit it, then run: exsync config validate")


@app.command()
def demo(
    ctx: typer.Context,
    db: Annotated[
        str,
        typer.Option(
            "--db",
            metavar="PATH|URL",
            help="SQLite file or postgresql:// URL the demo writes (a database of its own).",
        ),
    ] = "exsync-demo.db",
) -> None:
    """Sync a built-in simulated exchange into a database and show the status. No keys needed.

    Example: exsync demo --db /tmp/demo.db
    """
    from exsync.demo import run_demo
    from exsync.paths import database_target
    from exsync.render import console, pass_summary, status_table
    from exsync.status import unit_statuses
    from exsync.store import Store

    out = console()
    target = _guard(lambda: database_target(None, db))
    with _live_progress(ctx) as progress:
        result, cfg = _guard(lambda: run_demo(target, progress))
    pass_summary(out, result.run_id, result.units, result.seconds)
    _warn_held(result.held())
    with _guard(lambda: Store(target, readonly=True)) as store:
        status_table(out, unit_statuses(store, cfg))
    out.print(f"database: {target}", markup=False)
    raise typer.Exit(int(result.exit_code))


@contextmanager
def _live_progress(ctx: typer.Context) -> Iterator[Any]:
    """A live display of the units in flight, when a person is watching stderr."""
    options = ctx.find_root().params
    wanted = (
        sys.stderr.isatty()
        and not options.get("quiet")
        and options.get("log_format") in (None, LogFormat.AUTO)
        and not os.environ.get("JOURNAL_STREAM")
    )
    if not wanted:
        yield None
        return
    from exsync.render import LiveProgress

    with LiveProgress() as progress:
        yield progress


def _load(path: Path | None, required: bool):  # type: ignore[no-untyped-def]
    from exsync.config import find_config, load_config
    from exsync.errors import ConfigError

    found = find_config(path)
    if found is None:
        if required:
            raise ConfigError(
                [
                    "no config file: pass --config, set $EXSYNC_CONFIG, or create "
                    "$CONFIGURATION_DIRECTORY/config.yaml (systemd: /etc/exsync/config.yaml) "
                    "or ~/.config/exsync/config.yaml; `exsync init` writes a starter"
                ]
            )
        return None
    return load_config(found)


def _open_store(cfg, db: Any, create: bool = False, readonly: bool = False):  # type: ignore[no-untyped-def]
    """The database: read-only for the commands that only show it, so that they never
    write (and work for a user who may only read the file)."""
    from exsync.paths import database_target
    from exsync.store import BUSY_TIMEOUT, Store

    timeout = cfg.busy_timeout if cfg is not None else BUSY_TIMEOUT
    return Store(
        database_target(cfg, db),
        create=create,
        readonly=readonly,
        check=not readonly,
        busy_timeout=timeout,
    )


def _shard(value: str | None) -> tuple[int, int] | None:
    """`I/N` as (I, N); a usage error otherwise."""
    if value is None:
        return None
    index, _, count = value.partition("/")
    if not (index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
        raise typer.BadParameter(f"{value!r}: give I/N with 1 <= I <= N, e.g. 2/3")
    return int(index), int(count)


def _accounts(cfg: Any, exchange: list[str] | None, shard: Any) -> list[str] | None:
    """The accounts a pass syncs: those named (default: every one), of the shard if given."""
    if shard is None:
        return exchange or None
    from exsync.shards import in_shard

    names = in_shard(exchange or list(cfg.exchanges), *shard)
    if not names:
        typer.echo(f"exsync: warning: no account is in shard {shard[0]}/{shard[1]}", err=True)
    return names


def _duration(text: str, option: str) -> float:
    from exsync.durations import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        _usage(f"{option}: {exc}")
    if seconds <= 0:
        _usage(f"{option}: must be greater than zero")
    return seconds


def _known_unit(cfg: Any, exchange: str, data_type: str | None) -> list[str]:
    """The configured types of `exchange` (only `data_type` when given); a usage error for
    an exchange or type the config does not have, which no run would ever sync."""
    if cfg is None:
        _usage(f"no exchange named {exchange!r}: no config file to find it in")
    account = _guard(lambda: cfg.exchange(exchange))
    types = [str(t) for t in account.types]
    if data_type is None:
        return types
    if data_type not in types:
        _usage(f"{exchange} does not sync {data_type} (its types: {', '.join(types)})")
    return [data_type]


def _usage(message: str) -> NoReturn:
    typer.echo(f"exsync: error: {message}", err=True)
    raise typer.Exit(int(ExitCode.USAGE))


def _guard(action: Callable[[], T]) -> T:
    """Run `action`; turn exsync's errors into one line on stderr and their exit code."""
    try:
        return action()
    except ExsyncError as exc:
        for line in str(exc).splitlines() or [exc.__class__.__name__]:
            typer.echo(f"exsync: error: {line}", err=True)
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        typer.echo("exsync: interrupted", err=True)
        raise typer.Exit(130) from None


def main() -> None:
    """Console-script entry point: usage errors, like every other error, are one line."""
    from typer.exceptions import TyperException

    try:
        code = app(standalone_mode=False)
    except TyperException as exc:  # usage errors: unknown option, bad value, missing file
        ctx = getattr(exc, "ctx", None)
        where = f"{ctx.command_path}: " if ctx is not None else ""
        typer.echo(f"exsync: error: {where}{exc.format_message()}", err=True)
        _exit(int(ExitCode.USAGE) if exc.exit_code == 2 else exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("exsync: interrupted", err=True)
        _exit(130)
    except Exception as exc:  # a bug: still one line, never a traceback with locals
        from exsync.logs import redact

        line = " ".join(f"{exc.__class__.__name__}: {exc}".split())
        typer.echo(f"exsync: internal error: {redact(line)}", err=True)
        _exit(int(ExitCode.FAILED))
    _exit(code if isinstance(code, int) else 0)


def _exit(code: int) -> NoReturn:
    """End the process once its output is out.

    Everything that must outlive the process is committed and closed by then (the database
    in transactions, the exchange clients by the pass); tearing down the interpreter's
    modules would only add a fifth of a second to every timer run.
    """
    import logging

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    logging.shutdown()
    os._exit(code)
