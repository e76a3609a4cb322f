"""Rendering results for people: rich tables on a terminal, plain lines elsewhere."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from rich.console import Console
from rich.table import Table

from exsync.durations import format_age
from exsync.status import UnitStatus

_STYLE = {
    "ok": "green",
    "failed": "red",
    "held": "red",
    "skipped": "yellow",
    "interrupted": "yellow",
    "empty": "yellow",
}


class UnitLike(Protocol):
    exchange: str
    data_type: str
    status: str
    records: int
    attempts: int
    error: str | None
    seconds: float


def console() -> Console:
    """A stdout console; colours and boxes only when stdout is a terminal."""
    return Console(highlight=False, soft_wrap=True)


def pass_summary(out: Console, run_id: str, units: Sequence[UnitLike], seconds: float) -> None:
    """The short summary printed after `exsync sync`."""
    if out.is_terminal:
        table = Table(title=f"pass {run_id} ({seconds:.1f}s)", title_justify="left")
        for column in ("exchange", "type", "status", "records", "attempts", "time", "error"):
            table.add_column(column, justify="right" if column in {"records", "attempts"} else None)
        for u in units:
            warning = "; ".join(getattr(u, "warnings", None) or [])
            table.add_row(
                u.exchange,
                u.data_type,
                f"[{_STYLE.get(u.status, '')}]{u.status}[/]",
                str(u.records),
                str(u.attempts),
                f"{u.seconds:.2f}s",
                u.error or (f"warning: {warning}" if warning else ""),
            )
        out.print(table)
        return
    for u in units:
        line = (
            f"{u.exchange} {u.data_type} {u.status} records={u.records} "
            f"attempts={u.attempts} seconds={u.seconds:.2f}"
        )
        note = f" error={u.error}" if u.error else ""
        warning = "; ".join(getattr(u, "warnings", None) or [])
        out.print(line + note + (f" warnings={warning}" if warning else ""), markup=False)
    out.print(f"pass {run_id} finished in {seconds:.1f}s", markup=False)


def status_table(out: Console, statuses: Iterable[UnitStatus]) -> None:
    """`exsync status`: one row per exchange x data type."""
    statuses = list(statuses)
    if not statuses:
        out.print("no sync has run yet", markup=False)
        return
    if not out.is_terminal:
        for s in statuses:
            out.print(
                f"{s.exchange} {s.data_type} last={s.last_status or 'never'} "
                f"success={s.last_success_at or '-'} age={format_age(s.age_seconds)} "
                f"stale={'yes' if s.stale else 'no'} records={_dash(s.records)} "
                f"breaker={s.breaker}"
                + (f" held={s.breaker_reason}" if s.ip_ban else "")
                + (f" symbols={_symbols(s)}" if s.symbols is not None else "")
                + (f" error={s.error}" if s.last_status in _EXPLAINED and s.error else "")
                + (f" warnings={_one_line(s.warnings)}" if s.warnings else ""),
                markup=False,
            )
        return
    table = Table(title="exsync status", title_justify="left")
    errors = [_note(s) for s in statuses]
    columns = ["exchange", "type", "last outcome", "last success", "age", "records", "breaker"]
    with_symbols = any(s.symbols is not None for s in statuses)
    if with_symbols:
        columns.append("symbols")
    for column in columns + (["error / warning"] if any(errors) else []):
        table.add_column(column, no_wrap=column != "error / warning")
    today = datetime.now(UTC).date().isoformat()
    for s, error in zip(statuses, errors, strict=True):
        outcome = s.last_status or "never"
        age = format_age(s.age_seconds)
        success = (s.last_success_at or "-")[:19].replace("T", " ")
        cells = [
            s.exchange,
            s.data_type,
            f"[{_STYLE.get(outcome, 'dim')}]{outcome}[/]",
            success[11:] if success.startswith(today) else success,
            f"[red]{age} stale[/]" if s.stale else age,
            _dash(s.records),
            _breaker_cell(s),
        ]
        if with_symbols:
            cells.append("-" if s.symbols is None else _symbols(s))
        table.add_row(*cells, *([error] if any(errors) else []))
    out.print(table)


#: outcomes whose error text the plain status line shows
_EXPLAINED = ("failed", "empty")


def _symbols(s: UnitStatus) -> str:
    """How many symbols a per-symbol history covers, and how many had history."""
    return f"{s.symbols} ({s.symbols_active or 0} with history)"


def portfolio_lines(out: Console, totals: Sequence[Any]) -> None:
    """`exsync status`: what each exchange's holdings are worth, and all of them."""
    if not totals:
        return
    for total in totals:
        unpriced = f" ({total.unpriced} asset(s) without a price)" if total.unpriced else ""
        worth = f"{Decimal(total.value):,.2f} {total.quote}" if total.quote else "no price"
        out.print(f"portfolio {total.exchange}: {worth}{unpriced}", markup=False)
    quotes = {t.quote for t in totals}
    if len(totals) > 1 and len(quotes) == 1 and None not in quotes:
        overall = sum((Decimal(t.value) for t in totals), Decimal(0))
        out.print(f"portfolio, all exchanges: {overall:,.2f} {quotes.pop()}", markup=False)


def history_table(out: Console, rows: Sequence[dict[str, Any]]) -> None:
    """`exsync history`: the latest units, newest first."""
    columns = [
        "finished_at",
        "exchange",
        "data_type",
        "status",
        "records",
        "attempts",
        "error",
        "warnings",
    ]
    rows_table(out, "exsync history", columns, rows, "status", _STYLE, "no sync has run yet")


def breaker_table(out: Console, rows: Sequence[dict[str, Any]]) -> None:
    """`exsync breaker show`: every breaker that has ever counted a failure."""
    columns = ["exchange", "data_type", "state", "failures", "next_probe_at", "last_error"]
    colours = {"closed": "green", "open": "red", "half_open": "yellow"}
    empty = "no breaker has counted a failure yet"
    rows_table(out, "exsync breakers", columns, rows, "state", colours, empty)


def rows_table(
    out: Console,
    title: str,
    columns: Sequence[str],
    rows: Sequence[dict[str, Any]],
    coloured: str,
    colours: dict[str, str],
    empty: str,
) -> None:
    """Database rows as a table on a terminal, `column=value` lines elsewhere.

    Times are shortened to the second; the last column (an error) may wrap.
    """
    if not rows:
        out.print(empty, markup=False)
        return
    if not out.is_terminal:
        for r in rows:
            out.print(" ".join(f"{c}={_dash(r.get(c))}" for c in columns), markup=False)
        return
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column.replace("_", " "), no_wrap=column != columns[-1])
    for r in rows:
        cells = []
        for column in columns:
            value = r.get(column)
            if column == coloured:
                cells.append(f"[{colours.get(value or '', '')}]{value}[/]")
            elif column.endswith("_at") and value:
                cells.append(str(value)[:19].replace("T", " "))
            else:
                cells.append("" if value is None and column == columns[-1] else _dash(value))
        table.add_row(*cells)
    out.print(table)


def accounts_table(out: Console, accounts: Sequence[Any]) -> None:
    """`exsync exchanges`: one row per configured account."""
    rows = [
        {
            "name": a.name,
            "ccxt_id": a.ccxt_id,
            "market_types": ",".join(a.market_types),
            "supported": ",".join(a.supported),
            "unsupported": ",".join(a.unsupported) or "-",
            "credentials": a.credentials,
            "symbols": _coverage(a.symbols),
        }
        for a in accounts
    ]
    columns = ["name", "ccxt_id", "market_types", "supported", "unsupported", "credentials"]
    if any(a.symbols is not None for a in accounts):
        columns.append("symbols")
    rows_table(out, "exsync exchanges", columns, rows, "", {}, "no exchange is configured")


def _coverage(symbols: dict[str, int] | None) -> str:
    if symbols is None:
        return "-"
    return (
        f"{symbols['listed']} listed, {symbols['walked']} walked, "
        f"{symbols['with_history']} with history"
    )


class LiveProgress:
    """A live display of the units in flight, on stderr, for long passes such as backfills.

    One line per unit with the rows received, and one per history stream with the date it
    has been read and committed up to and an estimate of the time left.
    Use as a context manager and pass it to `Synchronizer(progress=...)`.
    """

    def __init__(self, out: Console | None = None) -> None:
        from rich.progress import (
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=out or Console(stderr=True),
            transient=True,
        )
        self._tasks: dict[tuple[str, ...], Any] = {}
        self._rows: dict[tuple[str, str], int] = {}

    def __enter__(self) -> LiveProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def started(self, exchange: str, data_type: str) -> None:
        self._tasks[(exchange, data_type)] = self._progress.add_task(
            f"{exchange} {data_type}", total=None, detail=_rows_text(0)
        )

    def received(self, exchange: str, data_type: str, rows: int) -> None:
        key = (exchange, data_type)
        if key in self._tasks:
            self._rows[key] = self._rows.get(key, 0) + rows
            self._progress.update(self._tasks[key], detail=_rows_text(self._rows[key]))

    def reached(
        self, exchange: str, data_type: str, stream: str, position: int, start: int, end: int
    ) -> None:
        key = (exchange, data_type, stream)
        if end - start < 2 * 86_400_000:
            return  # an incremental read: nothing worth a line of its own
        if key not in self._tasks:
            self._tasks[key] = self._progress.add_task(f"  {stream}", total=end - start, detail="")
        day = datetime.fromtimestamp(min(position, end) / 1000, UTC).strftime("%Y-%m-%d")
        self._progress.update(
            self._tasks[key], completed=max(0, min(position, end) - start), detail=f"at {day}"
        )

    def finished(self, unit: Any) -> None:
        for key in [k for k in self._tasks if k[:2] == (unit.exchange, unit.data_type)]:
            self._progress.remove_task(self._tasks.pop(key))


def _rows_text(rows: int) -> str:
    return f"{rows:>10,} rows"


def print_json(data: Any) -> None:
    """Machine-readable output on stdout, never styled or wrapped."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _breaker_cell(s: UnitStatus) -> str:
    if s.breaker == "closed":
        return f"closed ({s.failures} failed)" if s.failures else "closed"
    until = (s.next_probe_at or "")[11:19]
    cell = f"[red]{s.breaker}[/]" + (f" until {until}" if s.breaker == "open" else "")
    return cell + (" (IP ban)" if s.ip_ban else "")


def _note(s: UnitStatus) -> str:
    """The status table's last column: why a unit is not ok, or what an ok one left out."""
    if s.ip_ban:
        return s.breaker_reason or ""
    if s.last_status != "ok":
        return s.error or ""
    return f"warning: {_one_line(s.warnings)}" if s.warnings else ""


def _one_line(text: str) -> str:
    return "; ".join(line for line in text.splitlines() if line)


def _dash(value: Any) -> str:
    return "-" if value is None else str(value)
