"""exsync's own exceptions and the documented exit codes. Imports nothing heavy."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; documented in the README and relied on by systemd units."""

    OK = 0  #: every requested unit succeeded
    FAILED = 1  #: at least one unit failed
    USAGE = 2  #: usage, configuration or database error; nothing was synced
    HELD = 69  #: units were held off by an open breaker (or an IP ban): EX_UNAVAILABLE
    NOTHING_ATTEMPTED = 75  #: every unit was skipped, another run holding the lock: EX_TEMPFAIL
    INTERRUPTED = 130  #: Ctrl-C (SIGINT) cut the pass short; what was committed is kept
    TERMINATED = 143  #: SIGTERM cut the pass short; what was committed is kept


class ExsyncError(Exception):
    """Base class of errors exsync reports as one line and an exit code."""

    exit_code: ExitCode = ExitCode.USAGE


class ConfigError(ExsyncError):
    """One or more problems in the configuration, each naming the file and the key path."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class DatabaseError(ExsyncError):
    """The database cannot be opened or used (corrupt, not SQLite, read-only, locked)."""
