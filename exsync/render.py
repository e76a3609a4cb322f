"""Rendering results for people: rich tables on a terminal, plain lines elsewhere."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from rich.console import Console
from rich.table import Table

from exsync.durations import format_age
from exsync.status import UnitStatus

_STYLE = {"ok": "green", "failed": "red", "skipped": "yellow"}


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
            table.add_row(
                u.exchange,
                u.data_type,
                f"[{_STYLE.get(u.status, '')}]{u.status}[/]",
                str(u.records),
                str(u.attempts),
                f"{u.seconds:.2f}s",
                u.error or "",
            )
        out.print(table)
        return
    for u in units:
        line = (
            f"{u.exchange} {u.data_type} {u.status} records={u.records} "
            f"attempts={u.attempts} seconds={u.seconds:.2f}"
        )
        out.print(line + (f" error={u.error}" if u.error else ""), markup=False)
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
                + (f" error={s.error}" if s.last_status == "failed" and s.error else ""),
                markup=False,
            )
        return
    table = Table(title="exsync status", title_justify="left")
    columns = ("exchange", "type", "last outcome", "last success", "age", "records", "breaker")
    for column in (*columns, "error"):
        table.add_column(column, no_wrap=column != "error")
    for s in statuses:
        outcome = s.last_status or "never"
        age = format_age(s.age_seconds)
        table.add_row(
            s.exchange,
            s.data_type,
            f"[{_STYLE.get(outcome, 'dim')}]{outcome}[/]",
            (s.last_success_at or "-")[:19].replace("T", " "),
            f"[red]{age} stale[/]" if s.stale else age,
            _dash(s.records),
            _breaker_cell(s),
            (s.error or "") if s.last_status != "ok" else "",
        )
    out.print(table)


def history_table(out: Console, rows: Sequence[dict[str, Any]]) -> None:
    """`exsync history`: the latest units, newest first."""
    columns = ["finished_at", "exchange", "data_type", "status", "records", "attempts", "error"]
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
        }
        for a in accounts
    ]
    columns = ["name", "ccxt_id", "market_types", "supported", "unsupported", "credentials"]
    rows_table(out, "exsync exchanges", columns, rows, "", {}, "no exchange is configured")


def print_json(data: Any) -> None:
    """Machine-readable output on stdout, never styled or wrapped."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _breaker_cell(s: UnitStatus) -> str:
    if s.breaker == "closed":
        return f"closed ({s.failures} failed)" if s.failures else "closed"
    until = (s.next_probe_at or "")[11:19]
    return f"[red]{s.breaker}[/]" + (f" until {until}" if s.breaker == "open" else "")


def _dash(value: Any) -> str:
    return "-" if value is None else str(value)
