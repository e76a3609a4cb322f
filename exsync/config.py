"""Loading and validating the YAML configuration.

Every problem is collected, not just the first, and each names the file and the key path
(`exchanges.bybit.symbols[2]: ...`) so an operator can fix a config in one go.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from exsync.datatypes import CONCRETE, DataType
from exsync.durations import EARLIEST_MS, parse_duration, parse_since
from exsync.errors import ConfigError
from exsync.store import BUSY_TIMEOUT
from exsync.store.target import TargetError, parse_target

CONFIG_ENV = "EXSYNC_CONFIG"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_CURRENCY = re.compile(r"^[A-Z0-9]{2,12}$")
_TIMEFRAME = re.compile(r"^[1-9]\d*[smhdwM]$")
_SYMBOL = re.compile(r"^[^\s/]+/[^\s/]+$")
# Keys that would hold a secret in the YAML itself: refused, secrets come by reference.
_LITERAL_SECRETS = {
    "api_key",
    "apikey",
    "apiKey",
    "secret",
    "password",
    "passphrase",
    "private_key",
    "privateKey",
    "token",
}
_MARKET_TYPES = ("spot", "linear", "inverse")


@dataclass(frozen=True)
class Settings:
    """Settings that have a global default and may be overridden per exchange."""

    timeframe: str = "1h"
    ohlcv_since: str = "7d"
    trades_since: str = "90d"
    markets_ttl: float = 6 * 3600.0
    stale_after: float = 3600.0
    overlap: float = 300.0
    quote: str = "USDT"
    reread: float = 86400.0
    reread_every: float = 86400.0
    timeout: float = 15.0
    max_tries: int = 4
    max_time: float = 60.0
    failure_threshold: int = 3
    reset_timeout: float = 300.0
    max_reset_timeout: float = 3600.0
    lock_lease: float = 120.0
    rate_limit_ms: float | None = None


_DURATION_SETTINGS = {
    "markets_ttl",
    "stale_after",
    "overlap",
    "reread",
    "reread_every",
    "timeout",
    "max_time",
    "reset_timeout",
    "max_reset_timeout",
    "lock_lease",
}
_POSITIVE_SETTINGS = {
    "timeout",
    "reset_timeout",
    "max_reset_timeout",
    "lock_lease",
    "reread_every",
}
# Longer leases would keep the lock of a run killed in another container for that long.
_LONGEST = {"lock_lease": 86400.0}
#: How deep a config may nest (options passed to ccxt are the deepest part, a few levels).
MAX_DEPTH = 32
_SINCE_SETTINGS = {"ohlcv_since", "trades_since"}
_SETTING_NAMES = {f.name for f in fields(Settings)}


@dataclass(frozen=True)
class CredentialRefs:
    """Where an exchange's credentials come from: names of environment variables or files."""

    api_key_env: str | None = None
    secret_env: str | None = None
    password_env: str | None = None
    api_key_file: str | None = None
    secret_file: str | None = None
    password_file: str | None = None
    api_key_credential: str | None = None
    secret_credential: str | None = None
    password_credential: str | None = None

    def any(self) -> bool:
        """True when the config names any credential source."""
        return any(getattr(self, f.name) for f in fields(self))


_CREDENTIAL_KEYS = {f.name for f in fields(CredentialRefs)}


@dataclass(frozen=True)
class ExchangeConfig:
    """One configured exchange account, keyed by its name on the CLI and in every table."""

    name: str
    ccxt_id: str
    credentials: CredentialRefs = field(default_factory=CredentialRefs)
    api_url: str | None = None
    sandbox: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)
    symbols: tuple[str, ...] = ()
    types: tuple[DataType, ...] = CONCRETE
    market_types: tuple[str, ...] = ()
    settings: Settings = field(default_factory=Settings)


@dataclass(frozen=True)
class SecretRef:
    """Where one secret comes from: an environment variable, a file, or a systemd credential
    (never the secret itself)."""

    env: str | None = None
    file: str | None = None
    credential: str | None = None


_PASSWORD_KEYS = ("database_password_env", "database_password_file", "database_password_credential")


@dataclass(frozen=True)
class Config:
    """A validated configuration."""

    source: str
    #: an SQLite file, or a postgresql:// URL (text, without its password)
    database: Path | str | None
    defaults: Settings
    exchanges: dict[str, ExchangeConfig]
    metrics_file: Path | None = None
    retention: float | None = None
    #: how long a write waits for another process's write to finish
    busy_timeout: float = BUSY_TIMEOUT
    #: where the PostgreSQL password comes from
    database_password: SecretRef = field(default_factory=SecretRef)

    def exchange(self, name: str) -> ExchangeConfig:
        """Return the named exchange or raise a ConfigError naming the known ones."""
        try:
            return self.exchanges[name]
        except KeyError:
            known = ", ".join(sorted(self.exchanges)) or "none"
            raise ConfigError(
                [f"{self.source}: no exchange named {name!r} (configured: {known})"]
            ) from None


#: the data types that follow the configured symbols and have nothing to do without them
_NEED_SYMBOLS = frozenset({DataType.TICKERS, DataType.OHLCV})

_EXCHANGE_KEYS = (
    {"ccxt_id", "api_url", "sandbox", "options", "symbols", "types", "market_types"}
    | _CREDENTIAL_KEYS
    | _SETTING_NAMES
)
_TOP_KEYS = {
    "busy_timeout",
    "database",
    "defaults",
    "exchanges",
    "metrics_file",
    "retention",
    *_PASSWORD_KEYS,
}


class _Problems:
    """Collects problems as `file: key.path: message` lines."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: list[str] = []

    def add(self, path: str, message: str) -> None:
        line = f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}"
        # Keys and values come from the file: control characters must not break the line.
        self.lines.append("".join(c if c.isprintable() else repr(c)[1:-1] for c in line))


def find_config(explicit: str | Path | None = None) -> Path | None:
    """Return the config path: --config, $EXSYNC_CONFIG, $CONFIGURATION_DIRECTORY, XDG, or None."""
    if explicit:
        return Path(explicit)
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    candidates = []
    if os.environ.get("CONFIGURATION_DIRECTORY"):
        candidates.append(Path(os.environ["CONFIGURATION_DIRECTORY"]) / "config.yaml")
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    candidates.append(Path(xdg) / "exsync" / "config.yaml")
    return next((c for c in candidates if c.is_file()), None)


def default_config_path() -> Path:
    """Where `exsync init` writes: $CONFIGURATION_DIRECTORY, else the XDG config directory."""
    if os.environ.get("CONFIGURATION_DIRECTORY"):
        return Path(os.environ["CONFIGURATION_DIRECTORY"].split(":")[0]) / "config.yaml"
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(xdg) / "exsync" / "config.yaml"


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file; raise ConfigError listing every problem."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{source}: config file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{source}: cannot read config: {_reason(exc)}"]) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError([f"{source}: {where}{problem}"]) from None
    except RecursionError:
        data = _TOO_DEEP
    if data is _TOO_DEEP or _depth(data) > MAX_DEPTH:
        raise ConfigError([f"{source}: nested too deeply (more than {MAX_DEPTH} levels)"])
    return parse_config(data if data is not None else {}, source=source, base_dir=path.parent)


_TOO_DEEP = object()


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (PyYAML keeps the last
    silently, so a setting written twice would quietly lose one of its values)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the base class reports it
                break
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _depth(data: object) -> int:
    """How deeply lists and mappings nest in `data` (without recursion)."""
    deepest = 0
    # YAML aliases make one node the child of many: each is walked again only when reached
    # deeper than before, so a few lines of anchors cannot make this exponential.
    reached: dict[int, int] = {}
    stack = [(data, 1)]
    while stack:
        node, level = stack.pop()
        if not isinstance(node, dict | list) or reached.get(id(node), 0) >= level:
            continue
        reached[id(node)] = level
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, level + 1) for child in children)
    return deepest


def parse_config(data: object, source: str = "<config>", base_dir: Path | None = None) -> Config:
    """Validate an already-parsed config mapping; raise ConfigError listing every problem."""
    problems = _Problems(source)
    if not isinstance(data, dict):
        problems.add("", "the top level must be a mapping with `exchanges:`")
        raise ConfigError(problems.lines)
    for key in data:
        if key == "database_password":
            problems.add(
                str(key),
                "secrets are not written into the config: use database_password_env "
                "(environment variable), database_password_file or database_password_credential",
            )
        elif key not in _TOP_KEYS:
            problems.add(str(key), f"unknown key (expected one of {', '.join(sorted(_TOP_KEYS))})")

    database: Path | str | None = None
    if data.get("database") is not None:
        if isinstance(data["database"], str) and data["database"].strip():
            database = _database(data["database"].strip(), base_dir, problems)
        else:
            problems.add("database", "must be a file path or a postgresql:// URL")
    password = _secret_source(data, _PASSWORD_KEYS, "database_password", problems)

    metrics_file = None
    if data.get("metrics_file") is not None:
        if isinstance(data["metrics_file"], str) and data["metrics_file"].strip():
            metrics_file = Path(os.path.expanduser(data["metrics_file"]))
        else:
            problems.add("metrics_file", "must be a file path")
    retention = None
    if data.get("retention") is not None:
        try:
            retention = parse_duration(data["retention"])
        except (ValueError, TypeError) as exc:
            problems.add("retention", str(exc) or "expected a duration such as 90d")
        else:
            if retention <= 0:
                problems.add("retention", "must be greater than zero")

    busy_timeout = BUSY_TIMEOUT
    if data.get("busy_timeout") is not None:
        try:
            busy_timeout = parse_duration(data["busy_timeout"])
        except (ValueError, TypeError) as exc:
            problems.add("busy_timeout", str(exc) or "expected a duration such as 30s")
        else:
            if not 0 < busy_timeout <= 3600:
                problems.add("busy_timeout", "must be more than 0s and at most 1h")

    defaults = _parse_settings(data.get("defaults"), "defaults", Settings(), problems, True)

    exchanges: dict[str, ExchangeConfig] = {}
    raw_exchanges = data.get("exchanges")
    if raw_exchanges is None:
        raw_exchanges = {}
    if not isinstance(raw_exchanges, dict):
        problems.add("exchanges", "must be a mapping of exchange names to settings")
        raw_exchanges = {}
    for name, entry in raw_exchanges.items():
        parsed = _parse_exchange(name, entry, defaults, problems)
        if parsed is not None:
            exchanges[parsed.name] = parsed
    if not raw_exchanges and not problems.lines:
        # A pass over nothing would exit 0 having synced nothing, every time.
        problems.add("exchanges", "no exchange configured: add one under `exchanges:`")

    if problems.lines:
        raise ConfigError(problems.lines)
    return Config(
        source=source,
        database=database,
        defaults=defaults,
        exchanges=exchanges,
        metrics_file=metrics_file,
        retention=retention,
        busy_timeout=busy_timeout,
        database_password=password,
    )


def _database(text: str, base_dir: Path | None, problems: _Problems) -> Path | str | None:
    """A file path (relative to the config file) or a postgresql:// URL without a password."""
    try:
        target = parse_target(text)
    except TargetError as exc:
        problems.add("database", str(exc))
        return None
    if target.url is not None:
        return target.url
    path = Path(os.path.expanduser(text))
    return base_dir / path if not path.is_absolute() and base_dir is not None else path


def _secret_source(
    data: Mapping[str, Any], keys: tuple[str, ...], what: str, problems: _Problems
) -> SecretRef:
    """The one source of a secret among `keys` (its _env, _file, _credential)."""
    given = {}
    for key in keys:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            problems.add(key, "must be a non-empty string")
        else:
            given[key] = value
    if len(given) > 1:
        # Named where the second source stands, as for an exchange's keys.
        sources = list(given)
        problems.add(sources[1], f"give {what} one source, not {' and '.join(sources)}")
    return SecretRef(**{key.rsplit("_", 1)[1]: value for key, value in given.items()})


def _parse_settings(
    raw: object, path: str, base: Settings, problems: _Problems, strict: bool
) -> Settings:
    if raw is None:
        return base
    if not isinstance(raw, dict):
        problems.add(path, "must be a mapping")
        return base
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        key_path = f"{path}.{key}"
        if key not in _SETTING_NAMES:
            if strict:
                problems.add(key_path, f"unknown key (expected one of {_sorted(_SETTING_NAMES)})")
            continue
        checked = _check_setting(key, value, key_path, problems)
        if checked is not None:
            changes[key] = checked
    return replace(base, **changes)


def _check_setting(key: str, value: object, path: str, problems: _Problems) -> Any:
    if key in _DURATION_SETTINGS:
        try:
            seconds = parse_duration(value)  # type: ignore[arg-type]
        except (ValueError, TypeError) as exc:
            problems.add(path, str(exc) or "expected a duration such as 30s, 15m, 2h or 7d")
            return None
        if key in _POSITIVE_SETTINGS and seconds <= 0:
            problems.add(path, "must be greater than zero")
            return None
        if seconds > _LONGEST.get(key, seconds):
            problems.add(path, f"must be at most {int(_LONGEST[key] // 3600)}h")
            return None
        return seconds
    if key in _SINCE_SETTINGS:
        try:
            since = parse_since(value, int(time.time() * 1000))
        except (ValueError, TypeError, OverflowError) as exc:
            problems.add(path, str(exc))
            return None
        if since < EARLIEST_MS:
            problems.add(path, f"{value!s} is before 2009-01-03: no exchange has history that old")
            return None
        return value if isinstance(value, str) else str(value)
    if key in ("max_tries", "failure_threshold"):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
            problems.add(path, "must be a whole number from 1 to 100")
            return None
        return value
    if key == "rate_limit_ms":
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            problems.add(path, "must be a positive number of milliseconds per request cost unit")
            return None
        return float(value)
    if key == "quote":
        if not isinstance(value, str) or not _CURRENCY.match(value):
            problems.add(path, f"{value!r} is not a currency code such as USDT, USDC or BTC")
            return None
        return value
    if key == "timeframe":
        if not isinstance(value, str) or not _TIMEFRAME.match(value):
            problems.add(path, f"{value!r} is not a timeframe such as 1m, 15m, 1h or 1d")
            return None
        return value
    return value


def _parse_exchange(
    name: object, entry: object, defaults: Settings, problems: _Problems
) -> ExchangeConfig | None:
    path = f"exchanges.{name}"
    if not isinstance(name, str) or not _NAME.match(name):
        problems.add(
            path, "exchange names use lowercase letters, digits, '-' and '_' (e.g. bybit-main)"
        )
        return None
    if entry is None:
        entry = {}
    if not isinstance(entry, dict):
        problems.add(path, "must be a mapping of settings")
        return None
    ok = True
    for key in entry:
        if key in _LITERAL_SECRETS:
            problems.add(
                f"{path}.{key}",
                "secrets are not written into the config: use "
                f"{_secret_ref(key)}_env (environment variable) or {_secret_ref(key)}_file",
            )
            ok = False
        elif key not in _EXCHANGE_KEYS:
            problems.add(
                f"{path}.{key}", f"unknown key (expected one of {_sorted(_EXCHANGE_KEYS)})"
            )
            ok = False

    ccxt_id = entry.get("ccxt_id", name)
    if not isinstance(ccxt_id, str) or not re.match(r"^[a-z0-9]+$", ccxt_id):
        problems.add(f"{path}.ccxt_id", "must be a ccxt exchange id such as bybit or binance")
        ok = False

    creds: dict[str, str] = {}
    for key in _CREDENTIAL_KEYS:
        if key in entry:
            value = entry[key]
            if not isinstance(value, str) or not value.strip():
                problems.add(f"{path}.{key}", "must be a non-empty string")
                ok = False
            else:
                creds[key] = value

    for what in ("api_key", "secret", "password"):
        sources = [
            f"{what}_{how}" for how in ("env", "file", "credential") if f"{what}_{how}" in creds
        ]
        if len(sources) > 1:
            problems.add(
                f"{path}.{sources[1]}", f"give {what} one source, not {' and '.join(sources)}"
            )
            ok = False

    api_url = entry.get("api_url")
    if api_url is not None and (
        not isinstance(api_url, str) or not re.match(r"^https?://[^\s/]+", api_url)
    ):
        problems.add(f"{path}.api_url", "must be an http:// or https:// base URL")
        ok = False

    sandbox = entry.get("sandbox", False)
    if not isinstance(sandbox, bool):
        problems.add(f"{path}.sandbox", "must be true or false")
        ok = False

    options = entry.get("options", {}) or {}
    if not isinstance(options, dict):
        problems.add(f"{path}.options", "must be a mapping passed to ccxt")
        ok = False
        options = {}
    for key in options:
        if key in _LITERAL_SECRETS:
            problems.add(f"{path}.options.{key}", "secrets are not written into the config")
            ok = False

    symbols = _string_list(entry.get("symbols", []), f"{path}.symbols", problems, _check_symbol)
    # Without symbols, the default types are those that need none: history finds its symbols
    # from the account; tickers and candles have nothing to follow.
    default_types = [t for t in CONCRETE if symbols or t not in _NEED_SYMBOLS]
    types = _string_list(entry.get("types", default_types), f"{path}.types", problems, _check_type)
    market_types = _string_list(
        entry.get("market_types", []), f"{path}.market_types", problems, _check_market_type
    )
    if symbols is None or types is None or market_types is None:
        ok = False
    elif not symbols and _NEED_SYMBOLS & set(types):
        problems.add(
            f"{path}.symbols",
            "tickers and ohlcv need symbols: list them, or leave those types out of `types`",
        )
        ok = False

    settings = _parse_settings(
        {k: v for k, v in entry.items() if k in _SETTING_NAMES}, path, defaults, problems, False
    )
    if not ok:
        return None
    return ExchangeConfig(
        name=name,
        ccxt_id=ccxt_id,
        credentials=CredentialRefs(**creds),
        api_url=api_url.rstrip("/") if api_url else None,
        sandbox=sandbox,
        options=options,
        symbols=tuple(dict.fromkeys(symbols or [])),
        types=tuple(dict.fromkeys(DataType(t) for t in types or [])),
        market_types=tuple(dict.fromkeys(market_types or [])),
        settings=settings,
    )


def _string_list(
    value: object, path: str, problems: _Problems, check: Callable[[str], str | None]
) -> list[str] | None:
    if not isinstance(value, list):
        problems.add(path, "must be a list")
        return None
    result = []
    ok = True
    for index, item in enumerate(value):
        if not isinstance(item, str):
            problems.add(f"{path}[{index}]", f"must be a string, not {type(item).__name__}")
            ok = False
            continue
        message = check(item)
        if message:
            problems.add(f"{path}[{index}]", message)
            ok = False
        result.append(item)
    return result if ok else None


def _check_symbol(symbol: str) -> str | None:
    if not _SYMBOL.match(symbol):
        return f"{symbol!r} is not a unified symbol such as BTC/USDT or BTC/USDT:USDT"
    return None


def _check_type(name: str) -> str | None:
    if name not in {t.value for t in CONCRETE}:
        return f"{name!r} is not a data type (one of {', '.join(t.value for t in CONCRETE)})"
    return None


def _check_market_type(name: str) -> str | None:
    if name not in _MARKET_TYPES:
        return f"{name!r} is not a market type (one of {', '.join(_MARKET_TYPES)})"
    return None


def _secret_ref(key: str) -> str:
    return {"apikey": "api_key", "apiKey": "api_key", "passphrase": "password"}.get(key, key)


def _sorted(names: set[str]) -> str:
    return ", ".join(sorted(names))


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or exc.__class__.__name__
