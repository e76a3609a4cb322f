"""Where the database lives when the command line does not say."""

from __future__ import annotations

import os
from pathlib import Path

from exsync.config import Config


def database_path(config: Config | None, explicit: str | Path | None = None) -> Path:
    """--db, then the config's `database`, then $STATE_DIRECTORY (systemd), then XDG data."""
    if explicit:
        return Path(explicit)
    if config is not None and config.database is not None:
        return config.database
    if os.environ.get("STATE_DIRECTORY"):
        # systemd may pass several directories separated by ':'; the first is ours.
        return Path(os.environ["STATE_DIRECTORY"].split(":")[0]) / "exsync.db"
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "exsync" / "exsync.db"


def budget_path(database: Path) -> Path:
    """The host's shared request budgets (per IP, across processes): next to the database,
    which every exsync process of the host already shares (systemd's StateDirectory)."""
    return database.with_name("exsync-budget.sqlite")
