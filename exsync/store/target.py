"""Where a database lives: an SQLite file, or a PostgreSQL database named by a URL.

A PostgreSQL URL never carries its password: the password is given by reference (the
config's `database_password_env`, `_file` or `_credential`, or libpq's own PGPASSWORD and
~/.pgpass), so that it can not reach a log line, an error, `status` or `config show`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

SCHEMES = ("postgresql", "postgres")
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
#: libpq's key=value connection string ("host=db dbname=exsync ..."), by its usual keywords
_CONNINFO = re.compile(
    r"^\s*(host|hostaddr|port|dbname|user|password|passfile|sslmode|service|options)\s*=",
    re.IGNORECASE,
)


class TargetError(ValueError):
    """A database location that can not be used (the message names why)."""


@dataclass(frozen=True)
class Target:
    """An SQLite file (`path`) or a PostgreSQL database (`url`, without its password)."""

    path: Path | None = None
    url: str | None = None
    password: str | None = field(default=None, repr=False, compare=False)

    @property
    def postgres(self) -> bool:
        """Whether this is a PostgreSQL database."""
        return self.url is not None

    def __str__(self) -> str:
        return self.url if self.url is not None else str(self.path)


def parse_target(value: str | Path | Target, password: str | None = None) -> Target:
    """A Target from a path or a URL; raise TargetError for a URL exsync can not use or one
    that holds a password."""
    if isinstance(value, Target):
        return value if password is None else Target(value.path, value.url, password)
    text = str(value)
    if isinstance(value, str) and _CONNINFO.match(text):
        # Taken as a file name, it would become an SQLite file, its password in the name.
        raise TargetError(
            "a libpq key=value string is not taken: give a postgresql:// URL "
            "(postgresql://user@host:port/database) and the password by reference "
            "(database_password_env, database_password_file or database_password_credential)"
        )
    match = _URL.match(text) if isinstance(value, str) else None
    if match is None or (len(match.group(1)) == 1 and text[2:3] in ("\\", "/")):
        return Target(path=Path(text))  # a path (a Windows drive letter is no scheme)
    scheme = match.group(1).lower()
    if scheme not in SCHEMES:
        raise TargetError(
            f"{scheme}: is not a database exsync can use: give an SQLite file path or a "
            "postgresql:// URL"
        )
    check_url(text)
    return Target(url=text, password=password)


def check_url(url: str) -> None:
    """Raise TargetError when a PostgreSQL URL holds a password or names no database."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise TargetError(f"not a valid postgresql:// URL ({exc})") from None
    if parts.password is not None or any(k == "password" for k, _ in parse_qsl(parts.query)):
        raise TargetError(
            "the URL holds a password: give it by reference instead "
            "(database_password_env, database_password_file or database_password_credential)"
        )
    if not parts.path.strip("/") and not any(k == "dbname" for k, _ in parse_qsl(parts.query)):
        raise TargetError("the URL names no database (postgresql://user@host/DATABASE)")
