"""Where the database lives when the command line does not say, and the host's own files."""

from __future__ import annotations

import os
from pathlib import Path

from exsync.config import Config
from exsync.credentials import database_password
from exsync.errors import ConfigError
from exsync.store.target import Target, TargetError, parse_target


def database_target(config: Config | None, explicit: str | Path | None = None) -> Target:
    """--db, then the config's `database`, then $STATE_DIRECTORY (systemd), then XDG data;
    a PostgreSQL database with the password the config points at.

    Raises ConfigError for a location exsync can not use (a URL holding its password, an
    unknown scheme) or a password reference that can not be read.
    """
    location: str | Path
    if explicit:
        location = explicit
    elif config is not None and config.database is not None:
        location = config.database
    elif os.environ.get("STATE_DIRECTORY"):
        # systemd may pass several directories separated by ':'; the first is ours.
        location = Path(os.environ["STATE_DIRECTORY"].split(":")[0]) / "exsync.db"
    else:
        xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        location = Path(xdg) / "exsync" / "exsync.db"
    try:
        target = parse_target(location)
    except TargetError as exc:
        raise ConfigError([f"--db: {exc}" if explicit else f"database: {exc}"]) from None
    if target.postgres:
        return parse_target(target, database_password(config))
    return target


def database_path(config: Config | None, explicit: str | Path | None = None) -> Path:
    """The SQLite file of `database_target` (an error for a PostgreSQL database)."""
    target = database_target(config, explicit)
    if target.path is None:
        raise ConfigError([f"{target}: not a file"])
    return target.path


def budget_path(database: Target | Path) -> Path:
    """The host's shared request budgets (per IP, across processes).

    Next to an SQLite database, which every exsync process of the host already shares
    (systemd's StateDirectory). A PostgreSQL database is shared by several hosts, each with
    its own IP and so its own budget: that file stays on the host, in $STATE_DIRECTORY or
    the XDG state directory.
    """
    path = database.path if isinstance(database, Target) else database
    if path is not None:
        return path.with_name("exsync-budget.sqlite")
    if os.environ.get("STATE_DIRECTORY"):
        return Path(os.environ["STATE_DIRECTORY"].split(":")[0]) / "exsync-budget.sqlite"
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "exsync" / "exsync-budget.sqlite"
