"""Resolving credentials from the references in the config, without ever showing them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from exsync.config import Config, ExchangeConfig, SecretRef
from exsync.errors import ConfigError
from exsync.logs import redact, register_secret


@dataclass(frozen=True)
class Credentials:
    """An exchange's API key, secret and (for some exchanges) password.

    The values are excluded from repr so that no log line or traceback can print them.
    """

    api_key: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @property
    def present(self) -> bool:
        """True when both an API key and a secret are available."""
        return bool(self.api_key and self.secret)

    def values(self) -> list[str]:
        """The secret strings themselves, for scrubbing error messages."""
        return [v for v in (self.api_key, self.secret, self.password) if v]


def resolve(
    exchange: ExchangeConfig, source: str, environ: Mapping[str, str] | None = None
) -> Credentials:
    """Read the credentials the config points at; raise ConfigError when one is missing."""
    environ = os.environ if environ is None else environ
    refs = exchange.credentials
    problems: list[str] = []
    values: dict[str, str | None] = {}
    for what in ("api_key", "secret", "password"):
        ref = SecretRef(
            getattr(refs, f"{what}_env"),
            getattr(refs, f"{what}_file"),
            getattr(refs, f"{what}_credential"),
        )
        values[what] = read_secret(
            ref, f"{source}: exchanges.{exchange.name}.{what}", problems, environ
        )
    if (values["api_key"] is None) != (values["secret"] is None) and not problems:
        problems.append(
            f"{source}: exchanges.{exchange.name}: an API key needs a secret and vice versa"
        )
    if problems:
        raise ConfigError(problems)
    return Credentials(**values)


def read_secret(
    ref: SecretRef, key_path: str, problems: list[str], environ: Mapping[str, str]
) -> str | None:
    """The secret `ref` points at, or None when it names none; a problem, naming
    `key_path`, when it can not be read. Whatever is read is masked in every log line from
    here on."""
    value = _read(ref, key_path, problems, environ)
    if value:
        register_secret(value)
    return value


def _read(
    ref: SecretRef, key_path: str, problems: list[str], environ: Mapping[str, str]
) -> str | None:
    file_name = ref.file
    if ref.credential:
        # systemd's LoadCredential= puts each credential in a file of this directory.
        directory = environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            problems.append(
                f"{key_path}_credential: $CREDENTIALS_DIRECTORY is not set "
                "(LoadCredential= in the unit)"
            )
            return None
        file_name = str(Path(directory) / ref.credential)
        key_path = f"{key_path}_credential"
    if ref.env:
        value = environ.get(ref.env)
        if not value:
            problems.append(f"{key_path}_env: environment variable {ref.env} is not set")
        return value or None
    if not file_name:
        return None
    path = Path(os.path.expanduser(file_name))
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        problems.append(f"{_file_key(key_path)}: cannot read {path}: {reason}")
        return None
    if not value:
        problems.append(f"{_file_key(key_path)}: {path} is empty")
    return value or None


def database_password(
    config: Config | None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The PostgreSQL password the config points at (None: libpq's own PGPASSWORD or
    ~/.pgpass, or none); raise ConfigError when it can not be read."""
    if config is None:
        return None
    problems: list[str] = []
    value = read_secret(
        config.database_password,
        f"{config.source}: database_password",
        problems,
        os.environ if environ is None else environ,
    )
    if problems:
        raise ConfigError(problems)
    return value


def _file_key(key_path: str) -> str:
    return key_path if key_path.endswith("_credential") else f"{key_path}_file"


def scrub(message: str, credentials: Credentials) -> str:
    """Replace credentials and request signatures that slipped into a message with ***."""
    for value in credentials.values():
        if len(value) >= 4:
            message = message.replace(value, "***")
    return redact(message)
