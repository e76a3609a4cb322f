"""What the configured exchange accounts are and can do, checked without touching a network.

Used by `exsync exchanges` and `exsync config validate|show`. Imports ccxt (to read each
exchange class's capabilities), so the CLI imports this module only for those commands.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from exsync.capabilities import unsupported_reason
from exsync.config import Config, ExchangeConfig
from exsync.credentials import resolve
from exsync.durations import parse_since
from exsync.errors import ConfigError
from exsync.factory import check_ccxt_id, client_capabilities
from exsync.profiles import market_type_of, market_types_for, profile_for, symbols_for
from exsync.store import Store


@dataclass
class Account:
    """One configured account as `exsync exchanges` shows it."""

    name: str
    ccxt_id: str
    market_types: list[str]
    supported: list[str]
    unsupported: dict[str, str] = field(default_factory=dict)
    credentials: str = "none"  # present | none | the problem, never a value
    #: where history is asked per symbol (Binance): symbols listed in the config, walked at
    #: least once (listed or found), and with history; None where history is account-wide
    symbols: dict[str, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def describe(config: Config, store: Store | None = None) -> list[Account]:
    """Every configured account with its capabilities and whether its credentials resolve;
    with the database (`store`), how many symbols its per-symbol history covers."""
    accounts = []
    for exchange in config.exchanges.values():
        check_ccxt_id(exchange, config.source)
        market_types = market_types_for(exchange)
        has = client_capabilities(exchange)
        not_synced = profile_for(exchange.ccxt_id).not_synced
        supported, unsupported = [], {}
        for data_type in exchange.types:
            reason = unsupported_reason(data_type, has, market_types, not_synced)
            if reason is None:
                supported.append(str(data_type))
            else:
                unsupported[str(data_type)] = reason
        accounts.append(
            Account(
                name=exchange.name,
                ccxt_id=exchange.ccxt_id,
                market_types=list(market_types),
                supported=supported,
                unsupported=unsupported,
                credentials=_credential_state(exchange, config.source),
                symbols=_symbols(exchange, store),
            )
        )
    return accounts


def _symbols(exchange: ExchangeConfig, store: Store | None) -> dict[str, int] | None:
    if not profile_for(exchange.ccxt_id).history_per_symbol:
        return None
    walked = active = 0
    if store is not None:
        walked, active = store.execute(
            "SELECT count(DISTINCT symbol), count(DISTINCT CASE WHEN active = 1 THEN symbol END) "
            "FROM history_symbols WHERE exchange = ?",
            [exchange.name],
        ).fetchone()
    return {"listed": len(symbols_for(exchange)), "walked": walked, "with_history": active}


#: an exchange name -> the symbols of its cached markets and when they were fetched
CachedMarkets = Callable[[str], tuple[set[str], str] | None]


def validate(config: Config, cached: CachedMarkets | None = None) -> list[str]:
    """Check what loading the YAML cannot: ccxt ids, credentials, and (with `cached`) that
    the exchange lists every configured symbol, by its cached markets. Return warnings.

    Raises ConfigError for problems: those that would stop a pass, and symbols the exchange
    does not list (a pass skips them).
    """
    problems: list[str] = []
    warnings: list[str] = []
    for account in config.exchanges.values():
        try:
            check_ccxt_id(account, config.source)
            resolve(account, config.source)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    for exchange in config.exchanges.values():
        if cached is not None and exchange.symbols:
            found = _unlisted(config.source, exchange, cached(exchange.name))
            if isinstance(found, str):
                warnings.append(found)
            else:
                problems.extend(found)
    if problems:
        raise ConfigError(problems)
    for exchange in config.exchanges.values():
        synced = set(symbols_for(exchange))
        for index, symbol in enumerate(exchange.symbols):
            if symbol not in synced:
                warnings.append(
                    f"{config.source}: exchanges.{exchange.name}.symbols[{index}]: {symbol} is "
                    f"{_article(market_type_of(symbol))} market, which exsync does not sync on "
                    f"{exchange.ccxt_id} yet; it is left out"
                )
    warnings.extend(_depth_warnings(config))
    for account in describe(config):
        for data_type, reason in account.unsupported.items():
            warnings.append(
                f"{config.source}: exchanges.{account.name}.types: {data_type} is unsupported "
                f"({reason})"
            )
    return warnings


def _depth_warnings(config: Config) -> list[str]:
    """trades_since settings that reach further back than an exchange keeps history."""
    now_ms = int(time.time() * 1000)
    warnings = []
    for exchange in config.exchanges.values():
        profile = profile_for(exchange.ccxt_id)
        start = parse_since(exchange.settings.trades_since, now_ms)
        market_types = market_types_for(exchange)
        scopes: dict[str, tuple[str | None, ...]] = {
            "trades": market_types,
            "orders": market_types,
            "ledger": (None,),  # account-wide
            "transfers": (None,),
            "closed_positions": tuple(t for t in market_types if t in ("linear", "inverse")),
        }
        for kind, scope in scopes.items():
            if kind not in exchange.types:
                continue
            for market_type in scope:
                depth = profile.history_depth_ms(kind, market_type)
                if depth is not None and start < now_ms - depth:
                    what = f"{market_type} {kind}" if market_type else kind
                    warnings.append(
                        f"{config.source}: exchanges.{exchange.name}.trades_since: "
                        f"{exchange.settings.trades_since} reaches beyond the "
                        f"{depth // 86_400_000} days {exchange.ccxt_id} keeps of {what}; "
                        "their backfill starts there"
                    )
    return warnings


def cached_markets(store: Store) -> CachedMarkets:
    """Read cached markets from the database, whatever their age or settings."""

    def lookup(name: str) -> tuple[set[str], str] | None:
        row = store.execute(
            "SELECT markets, fetched_at FROM markets WHERE exchange = ?", [name]
        ).fetchone()
        if row is None:
            return None
        try:
            return {m["symbol"] for m in json.loads(row[0])}, row[1]
        except (ValueError, TypeError, KeyError):
            return None

    return lookup


def _unlisted(
    source: str, exchange: ExchangeConfig, cached: tuple[set[str], str] | None
) -> list[str] | str:
    """Problems for configured symbols the cached markets do not list, or a warning that
    they could not be checked."""
    where = f"{source}: exchanges.{exchange.name}.symbols"
    if cached is None:
        return (
            f"{where}: not checked against the exchange's markets: none cached yet "
            "(`exsync sync` caches them)"
        )
    symbols, fetched_at = cached
    # Markets of a type not synced when they were cached say nothing about its symbols.
    types = {market_type_of(s) for s in symbols}
    synced = set(symbols_for(exchange))
    return [
        f"{where}[{index}]: {symbol} is not listed by {exchange.ccxt_id} "
        f"(markets cached {fetched_at[:16].replace('T', ' ')} UTC)"
        for index, symbol in enumerate(exchange.symbols)
        if symbol in synced and market_type_of(symbol) in types and symbol not in symbols
    ]


def show(config: Config) -> dict[str, Any]:
    """The effective configuration, defaults filled in; credentials shown as *** or missing."""
    exchanges = {}
    for exchange in config.exchanges.values():
        entry: dict[str, Any] = {"ccxt_id": exchange.ccxt_id}
        refs = exchange.credentials
        entry.update({f.name: getattr(refs, f.name) for f in fields(refs) if getattr(refs, f.name)})
        entry["credentials"] = _credential_state(exchange, config.source)
        entry.update(
            {
                "api_url": exchange.api_url,
                "sandbox": exchange.sandbox,
                "options": dict(exchange.options),
                "market_types": list(market_types_for(exchange)),
                "symbols": list(exchange.symbols),
                "types": [str(t) for t in exchange.types],
            }
        )
        entry.update(asdict(exchange.settings))
        exchanges[exchange.name] = entry
    shown: dict[str, Any] = {
        "source": config.source,
        "database": str(config.database) if config.database else None,
    }
    # Where the database password comes from (a reference, never the password itself).
    password = config.database_password
    shown.update(
        {
            f"database_password_{f.name}": getattr(password, f.name)
            for f in fields(password)
            if getattr(password, f.name)
        }
    )
    shown["exchanges"] = exchanges
    return shown


def starter_config() -> str:
    """The commented starter config `exsync init` writes."""
    return resources.files("exsync").joinpath("config.example.yaml").read_text(encoding="utf-8")


def write_starter(path: Path) -> None:
    """Write the starter config; refuse to overwrite an existing file."""
    if path.exists():
        raise ConfigError([f"{path}: already exists; not overwriting it"])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as handle:
            handle.write(starter_config())
    except OSError as exc:
        raise ConfigError([f"{path}: cannot write: {exc.strerror}"]) from None


def _article(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _credential_state(exchange: ExchangeConfig, source: str) -> str:
    if not exchange.credentials.any():
        return "none"
    try:
        credentials = resolve(exchange, source)
    except ConfigError as exc:
        return "missing: " + "; ".join(p.split(": ", 2)[-1] for p in exc.problems)
    return "***" if credentials.present else "none"
