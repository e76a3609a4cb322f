"""Logging for a program run by timers: one line per event on stderr, secrets redacted.

`setup_logging()` installs one handler on the root logger. Its format depends on where
stderr goes:

- ``journal`` (auto-detected under systemd): ``<4>exsync.orchestrator: message``. The
  ``<N>`` prefix is the syslog priority, which journald strips and stores (sd-daemon(3)),
  so ``journalctl -p warning`` works; no timestamp (journald adds its own), no colour.
- ``rich`` (auto-detected on a terminal): rich's handler, coloured unless ``NO_COLOR``.
- ``text`` (anything else, e.g. cron mail or a pipe): ``2026-11-25T08:00:00.123Z WARNING
  exsync.orchestrator: message``.
- ``json``: one JSON object per line with ``time``, ``level``, ``logger``, ``message`` and
  any ``extra=`` fields (``exchange``, ``data_type``, ``records``, ``attempts``, ...).

Every format writes exactly one line per record: an exception is folded into the line as
``(ValueError: text)``, never a multi-line traceback, so nothing can leak through the locals
of a frame and a journal entry is never split.

Every record passes through `RedactFilter` first: request signatures, API-key headers and
every value given to `register_secret()` become ``***``. ccxt's logger is held at WARNING
or above whatever the verbosity, because its debug output includes request headers.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

FORMATS = ("auto", "text", "json", "journal")
REDACTED = "***"
#: Loggers whose output may contain request headers or signed URLs; never below WARNING.
NOISY_LOGGERS = ("ccxt",)
#: Loggers that only echo what exsync reports itself (psycopg's "error ignored" while it
#: tidies up a connection already lost); errors only.
ECHOING_LOGGERS = ("psycopg",)

# Names whose value is a secret. A `name=value` query or form parameter, a quoted key
# (`'apiKey': '...'`, `"sign": "..."`, as in a dict's repr or JSON) and an HTTP header line
# (`X-BAPI-SIGN: ...`) are redacted. A bare `name: value` is not, because exsync's own
# messages say things like "exchanges.bybit.secret: secrets are not written into the config".
_PARAMS = (
    r"signature|sign|api[_-]?key|apikey|secret|secret[_-]?key|password|passphrase"
    r"|access[_-]?token|token"
)
# Exchange header names in full, so that X-BAPI-SIGN-TYPE (not secret) stays readable.
_HEADERS = (
    r"x-bapi-sign|x-bapi-api-key|x-mbx-apikey|ok-access-sign|ok-access-key"
    r"|ok-access-passphrase|kc-api-sign|kc-api-key|kc-api-passphrase|api-sign|api-key"
    r"|authorization"
)
_VALUE = r"(?:(?:bearer|basic)\s+)?[^\s\"'&,;}\]]+"
_SECRET_PATTERNS = (
    # `(?<![\w-])`: `design=` and `X-BAPI-SIGN-TYPE:` are no match.
    re.compile(rf"(?i)(?<![\w-])((?:{_PARAMS})=){_VALUE}"),
    re.compile(rf"(?i)([\"'](?:{_PARAMS}|{_HEADERS})[\"']\s*:\s*[\"']?){_VALUE}"),
    re.compile(rf"(?i)(?<![\w-])((?:{_HEADERS})\s*:\s*){_VALUE}"),
)
_SECRET_KEY = re.compile(rf"(?i)^(?:{_PARAMS}|{_HEADERS})$")
# Short values would redact ordinary words; exsync's own scrubbing uses the same floor.
_MIN_SECRET_LENGTH = 4

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_secrets_sorted: tuple[str, ...] = ()

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def register_secret(value: str | None) -> None:
    """Redact `value` from every log record from now on (e.g. an API key once it is read).

    Values shorter than 4 characters are ignored: they would redact ordinary text.
    """
    global _secrets_sorted
    if not value or len(value) < _MIN_SECRET_LENGTH:
        return
    with _secrets_lock:
        _secrets.add(value)
        # Longest first, so a secret that contains another is replaced whole.
        _secrets_sorted = tuple(sorted(_secrets, key=len, reverse=True))


def clear_secrets() -> None:
    """Forget every registered secret (for tests, and long-lived library callers)."""
    global _secrets_sorted
    with _secrets_lock:
        _secrets.clear()
        _secrets_sorted = ()


def redact(text: str) -> str:
    """`text` with registered secrets, signatures and API-key fields replaced by ***."""
    for secret in _secrets_sorted:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(rf"\1{REDACTED}", text)
    return text


class RedactFilter(logging.Filter):
    """Redacts every record in place: message, args, exception text and `extra=` values.

    Attach it to handlers, not loggers: a logger's filters do not see records propagated
    from its children. As it rewrites the record itself, handlers that run after it see the
    redacted record too; handlers that run before it (added to the root earlier) do not.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record; never drops it."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it, show the raw parts
            message = f"{record.msg!s} {record.args!r}"
        # Formatting first, then redacting, also catches a secret split between the format
        # string (`sign=%s`) and its argument.
        record.msg = redact(message)
        record.args = None
        exc = _exception(record)
        if exc is not None:
            # Formatters use exc_text when it is set: the traceback is never rendered.
            record.exc_text = redact(_exception_line(exc))
        for key, value in list(record.__dict__.items()):
            if key not in _RECORD_FIELDS:
                setattr(record, key, _redact_value(value))
        return True


class _QuietNoisyLoggers(logging.Filter):
    """Drops records below WARNING from ccxt, even if something lowered ccxt's level."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        return not any(
            record.name == name or record.name.startswith(name + ".") for name in NOISY_LOGGERS
        )


class _OneLineFormatter(logging.Formatter):
    """Base of the plain formats: the message, its extras and the exception on one line."""

    def body(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        extras = _extras(record)
        if extras:
            text += " " + " ".join(f"{k}={_plain(v)}" for k, v in extras.items())
        exception = _exception_text(record)
        if exception:
            text += f" ({exception})"
        return _single_line(text)


class TextFormatter(_OneLineFormatter):
    """``2026-11-25T08:00:00.123Z WARNING exsync.orchestrator: message key=value``."""

    def format(self, record: logging.LogRecord) -> str:
        """One line with a UTC timestamp."""
        return f"{_timestamp(record)} {record.levelname} {record.name}: {self.body(record)}"


class JournalFormatter(_OneLineFormatter):
    """``<4>exsync.orchestrator: message``: sd-daemon(3) priority prefix, no timestamp."""

    def format(self, record: logging.LogRecord) -> str:
        """One line with the syslog priority prefix journald understands."""
        return f"<{syslog_priority(record.levelno)}>{record.name}: {self.body(record)}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as compact JSON (newlines inside strings are escaped by JSON)."""
        data: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _extras(record).items():
            data.setdefault(key, _jsonable(value))
        exception = _exception_text(record)
        if exception:
            data["exception"] = exception
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)


class _RichLineFormatter(_OneLineFormatter):
    """The message part of rich's columns (rich prints time and level itself)."""

    def format(self, record: logging.LogRecord) -> str:
        return self.body(record)


def syslog_priority(levelno: int) -> int:
    """The syslog priority of a logging level: CRITICAL 2, ERROR 3, WARNING 4, INFO 6, DEBUG 7.

    Levels between the standard ones take the priority of the standard level below them.
    """
    if levelno >= logging.CRITICAL:
        return 2
    if levelno >= logging.ERROR:
        return 3
    if levelno >= logging.WARNING:
        return 4
    if levelno >= logging.INFO:
        return 6
    return 7


def stream_is_journal(
    stream: TextIO | None = None, environ: Mapping[str, str] | None = None
) -> bool:
    """True when `stream` (default: stderr) is connected to the systemd journal.

    systemd sets ``JOURNAL_STREAM=<device>:<inode>`` for a service whose stdout/stderr go to
    the journal; it only counts if it matches the stream's file, because the variable is
    inherited by children whose stderr was redirected elsewhere.
    """
    environ = os.environ if environ is None else environ
    value = environ.get("JOURNAL_STREAM", "")
    device, sep, inode = value.partition(":")
    if not sep or not device.isdigit() or not inode.isdigit():
        return False
    try:
        fd = (stream if stream is not None else sys.stderr).fileno()
        info = os.fstat(fd)
    except (AttributeError, OSError, ValueError):  # no real file behind the stream
        return False
    return info.st_dev == int(device) and info.st_ino == int(inode)


def resolve_format(
    fmt: str = "auto", stream: TextIO | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """What `fmt` means for `stream`: "journal", "rich", "text" or "json".

    "auto" is "journal" under systemd, "rich" on a terminal and "text" otherwise.
    Raises ValueError for an unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown log format {fmt!r} (one of {', '.join(FORMATS)})")
    if fmt != "auto":
        return fmt
    stream = stream if stream is not None else sys.stderr
    if stream_is_journal(stream, environ):
        return "journal"
    try:
        return "rich" if stream.isatty() else "text"
    except (AttributeError, ValueError):
        return "text"


def level_for(verbosity: int, quiet: bool) -> int:
    """The root log level: -q ERROR, default WARNING, -v INFO, -vv DEBUG."""
    if quiet:
        return logging.ERROR
    return (logging.WARNING, logging.INFO, logging.DEBUG)[max(0, min(verbosity, 2))]


def setup_logging(
    verbosity: int = 0,
    quiet: bool = False,
    fmt: str = "auto",
    *,
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Send log records to stderr (or `stream`), one line each, redacted.

    `verbosity` is the count of -v (0 WARNING, 1 INFO, 2+ DEBUG); `quiet` (-q) means ERROR
    and wins over -v. `fmt` is "auto", "text", "json" or "journal" (see the module doc).
    Calling it again replaces the handler it installed before; handlers installed by
    others are left alone. Raises ValueError for an unknown `fmt`.
    """
    stream = stream if stream is not None else sys.stderr
    environ = os.environ if environ is None else environ
    kind = resolve_format(fmt, stream, environ)
    level = level_for(verbosity, quiet)

    handler = _rich_handler(stream, environ) if kind == "rich" else logging.StreamHandler(stream)
    if kind == "journal":
        handler.setFormatter(JournalFormatter())
    elif kind == "json":
        handler.setFormatter(JsonFormatter())
    elif kind == "text":
        handler.setFormatter(TextFormatter())
    handler.addFilter(_QuietNoisyLoggers())
    handler.addFilter(RedactFilter())
    handler.set_name("exsync")

    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "exsync"]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    for name in ECHOING_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def _rich_handler(stream: TextIO, environ: Mapping[str, str]) -> logging.Handler:
    # Imported here: rich costs import time that the journal and text formats do not need.
    from rich.console import Console
    from rich.highlighter import NullHighlighter
    from rich.logging import RichHandler

    console = Console(
        file=stream,
        # NO_COLOR (https://no-color.org): set and not empty means no colour.
        no_color=True if environ.get("NO_COLOR") else None,
        highlight=False,
        soft_wrap=True,
    )
    handler = RichHandler(
        console=console,
        show_path=False,
        markup=False,  # messages carry exchange text such as "[BTC/USDT]": never markup
        highlighter=NullHighlighter(),  # keep the message as written; the level is coloured
        rich_tracebacks=False,
        tracebacks_show_locals=False,
        omit_repeated_times=False,
        log_time_format="%H:%M:%S",
    )
    handler.setFormatter(_RichLineFormatter())
    return handler


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {
        k: v
        for k, v in record.__dict__.items()
        if k not in _RECORD_FIELDS and not k.startswith("_")
    }


def _exception(record: logging.LogRecord) -> BaseException | None:
    # exc_info=True outside an except block gives (None, None, None): no exception.
    return record.exc_info[1] if record.exc_info else None


def _exception_text(record: logging.LogRecord) -> str | None:
    if record.exc_text:
        return " ".join(record.exc_text.split())
    exc = _exception(record)
    return redact(_exception_line(exc)) if exc is not None else None


def _exception_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _single_line(text: str) -> str:
    # A newline would start a new journal entry or a new "event" for a line-based reader.
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _plain(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if not text or any(c.isspace() or c in '"=' for c in text) else text


def _redact_value(value: Any) -> Any:
    """An `extra=` value with secrets redacted; numbers and the like are kept as they are."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {
            k: REDACTED if _SECRET_KEY.match(str(k)) else _redact_value(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(v) for v in value]
    text = str(value)
    cleaned = redact(text)
    return value if cleaned == text else cleaned


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, Iterable) and not isinstance(value, bytes | bytearray):
        return [_jsonable(v) for v in value]
    return str(value)
