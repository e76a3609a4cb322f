"""`exsync doctor`: each configured account checked against its exchange, two requests each.

Run after editing the config, before trusting the timers: is the exchange reachable, how far
off is this host's clock, are the credentials accepted, is the account in the mode exsync
reads (a Bybit classic account has no unified wallet), and what may the key do, from the
exchange's own key-info endpoint: exsync only reads, so a key that can trade or withdraw,
is not bound to an IP, or expires soon is worth a warning. Findings use `check`'s levels.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from exsync.ccxt_import import errors as ccxt
from exsync.config import Config, ExchangeConfig
from exsync.credentials import Credentials, resolve, scrub
from exsync.factory import check_ccxt_id, create_client
from exsync.health import Health
from exsync.profiles import market_types_for, profile_for
from exsync.retry import why

#: a key expiring within this many days is worth a warning
EXPIRY_WARNING_DAYS = 14
#: a clock further off than this is worth a warning (Bybit and Binance refuse timestamps
#: more than 1 s ahead of theirs)
CLOCK_WARNING_S = 0.5


@dataclass
class Finding:
    """One thing doctor found about one account."""

    account: str
    level: str  # ok | warning | critical
    text: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass
class KeyFacts:
    """What an exchange's key-info endpoint says, in exsync's terms."""

    can_trade: list[str]
    can_withdraw: bool
    ip_bound: bool
    expires_at: datetime | None
    #: the account is in the mode exsync reads (None: the exchange has no such modes)
    account_mode_ok: bool | None = None
    account_mode: str | None = None
    #: what `expires_at` is the end of
    expiring: str = "the key"


def exit_code(findings: list[Finding]) -> int:
    """0 when all is well, 1 with warnings, 2 with a critical finding (as `check`)."""
    levels = {f.level for f in findings}
    if "critical" in levels:
        return int(Health.CRITICAL)
    return int(Health.WARNING) if "warning" in levels else int(Health.OK)


def examine_all(config: Config, names: list[str] | None = None) -> list[Finding]:
    """Examine the named accounts (default: every configured one) side by side."""
    accounts = [config.exchange(n) for n in (names or list(config.exchanges))]
    for account in accounts:
        check_ccxt_id(account, config.source)
    prepared = [(a, resolve(a, config.source)) for a in accounts]

    async def run() -> list[list[Finding]]:
        return await asyncio.gather(*(examine(a, c) for a, c in prepared))

    return [f for found in asyncio.run(run()) for f in found]


async def examine(exchange: ExchangeConfig, credentials: Credentials) -> list[Finding]:
    """Examine one account: its exchange's clock, then its key (two requests)."""
    found: list[Finding] = []

    def say(level: str, text: str) -> None:
        found.append(Finding(exchange.name, level, scrub(text, credentials)))

    profile = profile_for(exchange.ccxt_id)
    client = create_client(exchange, credentials, profile, market_types_for(exchange))
    try:
        started = time.time()
        try:
            server_ms = await client.fetch_time()
        except Exception as exc:
            say("critical", f"{exchange.ccxt_id} not reachable: {_why(exc, exchange)}")
            return found
        finished = time.time()
        offset = server_ms / 1000 - (started + finished) / 2
        reach = f"{exchange.ccxt_id} reachable ({(finished - started) * 1000:.0f} ms)"
        if abs(offset) < CLOCK_WARNING_S:
            say("ok", f"{reach}; clock offset {offset:+.1f}s")
        else:
            say(
                "warning",
                f"{reach}; this host's clock is {-offset:+.1f}s off the exchange's: it "
                "refuses requests signed more than 1s ahead; exsync measures the offset when "
                "that happens, but the host's time synchronisation needs fixing",
            )
        # Sign with the exchange's time, so a skewed clock does not hide the key's state.
        client.options["timeDifference"] = int(-offset * 1000)
        if not credentials.api_key:
            say("warning", "no credentials: only tickers and candles can be synced")
            return found
        reader = KEY_READERS.get(exchange.ccxt_id)
        method = profile.key_info_method
        if reader is None or method is None:
            await _plain_check(client, exchange, say)
            return found
        try:
            answer = await getattr(client, method)()
        except (ccxt.AuthenticationError, ccxt.PermissionDenied) as exc:
            say("critical", f"credentials rejected: {_why(exc, exchange)}")
            return found
        except Exception as exc:
            say("critical", f"key information not available: {_why(exc, exchange)}")
            return found
        _judge(reader(answer), say)
    finally:
        await client.close()
    return found


def _judge(facts: KeyFacts, say: Callable[[str, str], None]) -> None:
    """Findings about a key from what its exchange says about it."""
    mode = f"; {facts.account_mode}" if facts.account_mode else ""
    say("ok", f"credentials accepted{mode}")
    if facts.account_mode_ok is False:
        say(
            "critical",
            f"account mode: {facts.account_mode}; exsync reads a unified trading account, "
            "and every balance request of this one fails (upgrade it, or leave balances out)",
        )
    if facts.can_withdraw:
        say("warning", "the key can withdraw: exsync only reads; a read-only key is safer")
    if facts.can_trade:
        say(
            "warning",
            f"the key can trade ({', '.join(facts.can_trade)}): exsync only reads; a "
            "read-only key is safer",
        )
    if not facts.ip_bound:
        say("warning", "the key is not bound to an IP address: anyone holding it can use it")
    if facts.expires_at is not None:
        days = (facts.expires_at - datetime.now(UTC)).total_seconds() / 86400
        when = facts.expires_at.strftime("%Y-%m-%d")
        if days <= 0:
            say("critical", f"{facts.expiring} expired on {when}")
        elif days <= EXPIRY_WARNING_DAYS:
            say("warning", f"{facts.expiring} expires on {when}, in {days:.0f} day(s)")
        else:
            say("ok", f"{facts.expiring} expires on {when}")


async def _plain_check(client: Any, exchange: ExchangeConfig, say: Callable[..., None]) -> None:
    """Credentials checked by a balance request, where exsync cannot read key information."""
    try:
        await client.fetch_balance()
    except Exception as exc:
        say("critical", f"credentials not accepted: {_why(exc, exchange)}")
        return
    say("ok", f"credentials accepted (key permissions not checked on {exchange.ccxt_id})")


def _why(exc: BaseException, exchange: ExchangeConfig) -> str:
    reason = why(exc, exchange.settings.timeout)
    text = " ".join(str(exc).split())[:200] or type(exc).__name__
    return f"{type(exc).__name__}" + (f" ({reason})" if reason else "") + f": {text}"


# --------------------------------------------------------------------------- key readers


def bybit_key(answer: dict[str, Any]) -> KeyFacts:
    """/v5/user/query-api: readOnly 0/1, permissions by product, ips ("*" when unbound),
    expiredAt (only for keys without an IP or after a password change), uta 0/1."""
    key = answer.get("result") or {}
    permissions = key.get("permissions") or {}
    read_only = str(key.get("readOnly")) == "1"
    trading = ("ContractTrade", "Spot", "Options", "Derivatives", "CopyTrading", "BlockTrade")
    can_trade = [] if read_only else [p for p in trading if permissions.get(p)]
    ips = [ip for ip in key.get("ips") or [] if ip and ip != "*"]
    expires = _iso(key.get("expiredAt"))
    unified = str(key.get("uta")) == "1"
    return KeyFacts(
        can_trade=can_trade,
        can_withdraw=not read_only and "Withdraw" in (permissions.get("Wallet") or []),
        ip_bound=bool(ips),
        expires_at=expires,
        account_mode_ok=unified,
        account_mode="unified trading account" if unified else "classic (non-unified) account",
    )


def binance_key(answer: dict[str, Any]) -> KeyFacts:
    """/sapi/v1/account/apiRestrictions: enable* flags, ipRestrict, and when the spot trading
    permission of a key without an IP restriction lapses."""
    trading = {
        "enableSpotAndMarginTrading": "spot and margin",
        "enableFutures": "futures",
        "enableMargin": "margin",
        "enableVanillaOptions": "options",
        "enablePortfolioMarginTrading": "portfolio margin",
        "enableFixApiTrade": "FIX API",
    }
    expires_ms = answer.get("tradingAuthorityExpirationTime")
    return KeyFacts(
        can_trade=[name for flag, name in trading.items() if answer.get(flag)],
        can_withdraw=bool(answer.get("enableWithdrawals")),
        ip_bound=bool(answer.get("ipRestrict")),
        expires_at=datetime.fromtimestamp(expires_ms / 1000, UTC) if expires_ms else None,
        expiring="the key's trading permission",
    )


KEY_READERS: dict[str, Callable[[dict[str, Any]], KeyFacts]] = {
    "bybit": bybit_key,
    "binance": binance_key,
}


def _iso(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
