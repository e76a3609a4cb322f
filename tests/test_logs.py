"""exsync.logs: format per destination (journal, terminal, text, JSON), one line per event,
redaction of secrets and signatures, and ccxt held at WARNING."""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest

from exsync import logs

log = logging.getLogger("exsync.test_logs")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    ccxt_level = logging.getLogger("ccxt").level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    logging.getLogger("ccxt").setLevel(ccxt_level)
    logs.clear_secrets()


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


_SGR = re.compile(r"\x1b\[([\d;]*)m")


def plain(text: str) -> str:
    """Text without ANSI escape sequences."""
    return _SGR.sub("", text)


def colour_codes(text: str) -> set[int]:
    """The SGR colour parameters (foreground, background) used in `text`."""
    codes = {int(p) for params in _SGR.findall(text) for p in params.split(";") if p}
    return {c for c in codes if 30 <= c <= 49 or 90 <= c <= 107}


def journal_env(stream: TextIO) -> dict[str, str]:
    info = os.fstat(stream.fileno())
    return {"JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}"}


# -- where stderr goes -------------------------------------------------------------------


def test_journal_is_detected_only_when_journal_stream_matches(tmp_path: Path) -> None:
    with (tmp_path / "a").open("w") as a, (tmp_path / "b").open("w") as b:
        env = journal_env(a)
        assert logs.stream_is_journal(a, env)
        assert not logs.stream_is_journal(b, env)  # inherited variable, stderr redirected
        assert not logs.stream_is_journal(a, {})
        for bad in ("", "12", "x:y", "1:2:3", ":"):
            assert not logs.stream_is_journal(a, {"JOURNAL_STREAM": bad})
        assert not logs.stream_is_journal(io.StringIO(), env)  # no file descriptor
        assert logs.resolve_format("auto", a, env) == "journal"
        assert logs.resolve_format("auto", b, env) == "text"
        assert logs.resolve_format("json", a, env) == "json"  # explicit wins
    assert logs.resolve_format("auto", FakeTerminal(), {}) == "rich"
    with pytest.raises(ValueError, match="unknown log format"):
        logs.resolve_format("xml")


def test_journal_lines_carry_syslog_priorities(tmp_path: Path) -> None:
    path = tmp_path / "stderr"
    with path.open("w") as stream:
        logs.setup_logging(2, False, "auto", stream=stream, environ=journal_env(stream))
        log.debug("debug line")
        log.info("info line")
        log.warning("warning line")
        log.error("error line")
        log.critical("critical line")
    lines = path.read_text().splitlines()
    assert lines == [
        "<7>exsync.test_logs: debug line",
        "<6>exsync.test_logs: info line",
        "<4>exsync.test_logs: warning line",
        "<3>exsync.test_logs: error line",
        "<2>exsync.test_logs: critical line",
    ]
    assert not any("\x1b" in line for line in lines)


def test_syslog_priority_of_levels_between_the_standard_ones() -> None:
    assert logs.syslog_priority(25) == 6
    assert logs.syslog_priority(5) == 7
    assert logs.syslog_priority(45) == 3


def test_text_lines_have_a_utc_timestamp_and_one_line_per_event() -> None:
    out = io.StringIO()
    logs.setup_logging(1, False, "text", stream=out)
    log.info("pass %s: %d exchange(s)", "r1", 2, extra={"exchange": "bybit", "records": 3})
    try:
        raise RuntimeError("first line\nsecond line")
    except RuntimeError:
        log.exception("bybit trades failed")
    log.debug("not shown at -v")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert re.fullmatch(
        rf"{stamp} INFO exsync.test_logs: pass r1: 2 exchange\(s\) exchange=bybit records=3",
        lines[0],
    )
    assert lines[1].endswith(
        "ERROR exsync.test_logs: bybit trades failed (RuntimeError: first line second line)"
    )
    assert "Traceback" not in out.getvalue()


def test_json_lines_parse_with_extra_fields() -> None:
    out = io.StringIO()
    logs.setup_logging(1, False, "json", stream=out)
    extra = {"exchange": "bybit", "data_type": "trades", "records": 12, "attempts": 2}
    log.info("unit done\nin %.1fs", 1.25, extra={**extra, "duration": 1.25})
    try:
        raise ValueError("bad")
    except ValueError:
        log.error("unit failed", exc_info=True, extra={"exchange": "bybit"})
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first.pop("time").endswith("Z")
    assert first == {
        "level": "info",
        "logger": "exsync.test_logs",
        "message": "unit done\nin 1.2s",
        **extra,
        "duration": 1.25,
    }
    assert second["level"] == "error" and second["exception"] == "ValueError: bad"


def test_terminal_gets_rich_and_no_colour_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    coloured = FakeTerminal()
    logs.setup_logging(0, False, "auto", stream=coloured, environ={})
    log.warning("look [BTC/USDT] 42")
    assert colour_codes(coloured.getvalue())
    assert "WARNING  look [BTC/USDT] 42" in plain(coloured.getvalue())  # markup off

    monkeypatch.setenv("NO_COLOR", "1")
    uncoloured = FakeTerminal()
    logs.setup_logging(0, False, "auto", stream=uncoloured)
    log.warning("look [BTC/USDT] 42")
    assert "WARNING  look [BTC/USDT] 42" in plain(uncoloured.getvalue())
    assert not colour_codes(uncoloured.getvalue())


def test_terminal_shows_no_traceback() -> None:
    out = FakeTerminal()
    logs.setup_logging(0, False, "auto", stream=out, environ={"NO_COLOR": "1"})
    secret_local = "a local that must not be shown"  # noqa: F841
    try:
        raise KeyError("missing")
    except KeyError:
        log.exception("boom")
    text = plain(out.getvalue())
    assert "boom (KeyError: 'missing')" in text
    assert "Traceback" not in text and "secret_local" not in text


# -- levels -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verbosity", "quiet", "level"),
    [
        (0, False, logging.WARNING),
        (1, False, logging.INFO),
        (2, False, logging.DEBUG),
        (5, False, logging.DEBUG),
        (2, True, logging.ERROR),
    ],
)
def test_levels(verbosity: int, quiet: bool, level: int) -> None:
    logs.setup_logging(verbosity, quiet, "text", stream=io.StringIO())
    assert logging.getLogger().level == level
    assert logging.getLogger("ccxt").level == max(level, logging.WARNING)


def test_ccxt_never_logs_below_warning() -> None:
    out = io.StringIO()
    logs.setup_logging(2, False, "text", stream=out)
    assert logging.getLogger("ccxt").level == logging.WARNING
    # Even if something lowers ccxt's level again, the handler drops its debug output.
    logging.getLogger("ccxt").setLevel(logging.DEBUG)
    logging.getLogger("ccxt.base.exchange").debug("GET headers X-BAPI-API-KEY: k")
    logging.getLogger("ccxt").info("info")
    logging.getLogger("ccxtfoo").debug("another library that only shares the prefix")
    logging.getLogger("ccxt.base.exchange").warning("a warning gets through")
    text = out.getvalue()
    assert "headers" not in text and " info" not in text
    assert "another library" in text and "a warning gets through" in text


def test_calling_setup_again_replaces_its_handler() -> None:
    first, second = io.StringIO(), io.StringIO()
    logs.setup_logging(0, False, "text", stream=first)
    logs.setup_logging(0, False, "text", stream=second)
    log.warning("once")
    assert first.getvalue() == "" and second.getvalue().count("once") == 1
    assert sum(h.get_name() == "exsync" for h in logging.getLogger().handlers) == 1


# -- redaction -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json", "journal"])
def test_registered_secrets_are_redacted_everywhere(fmt: str) -> None:
    out = io.StringIO()
    logs.setup_logging(1, False, fmt, stream=out)
    logs.register_secret("KEY-1234-abcd")
    logs.register_secret("s3cr3t-v4lue")
    log.info("key KEY-1234-abcd in the message")
    log.info("secret %s in the args, %r too", "s3cr3t-v4lue", "KEY-1234-abcd")
    log.info("in extras", extra={"exchange": "bybit", "note": "s3cr3t-v4lue", "n": 3})
    try:
        raise PermissionError("rejected key KEY-1234-abcd")
    except PermissionError:
        log.exception("auth failed")
    text = out.getvalue()
    assert "KEY-1234-abcd" not in text and "s3cr3t-v4lue" not in text
    assert text.count("***") >= 5
    assert len(text.splitlines()) == 4


def test_signatures_and_key_headers_are_redacted() -> None:
    out = io.StringIO()
    logs.setup_logging(2, False, "text", stream=out)
    log.debug("GET /v5/execution/list?apiKey=AK123&sign=9f8e7d6c&timestamp=1700000000000")
    log.debug("GET /api/v3/account?timestamp=1&signature=0a1b2c3d4e")
    log.debug(
        "headers %s",
        {"X-BAPI-API-KEY": "AK123", "X-BAPI-SIGN": "9f8e7d6c", "X-BAPI-SIGN-TYPE": "2"},
    )
    log.debug("X-MBX-APIKEY: BINANCEKEY")
    log.debug("body %s", '{"apiKey":"AK123","sign":"9f8e7d6c","category":"linear"}')
    log.debug("headers", extra={"headers": {"X-BAPI-SIGN": "9f8e7d6c", "Accept": "json"}})
    text = out.getvalue()
    for secret in ("AK123", "9f8e7d6c", "0a1b2c3d4e", "BINANCEKEY"):
        assert secret not in text, secret
    # What is not secret stays readable.
    for kept in ("timestamp=1700000000000", "'X-BAPI-SIGN-TYPE': '2'", '"category":"linear"'):
        assert kept in text, kept
    assert "Accept=" in text or "'Accept': 'json'" in text


def test_redaction_leaves_ordinary_messages_alone() -> None:
    for message in (
        "exchanges.bybit.secret: secrets are not written into the config",
        "design=fine, signed up, api_key_env: environment variable X is not set",
        "bybit trades ok records=12 attempts=1",
    ):
        assert logs.redact(message) == message


def test_short_secrets_are_not_registered() -> None:
    logs.register_secret("abc")
    logs.register_secret("")
    logs.register_secret(None)
    assert logs.redact("abc abc") == "abc abc"


def test_the_database_driver_says_only_errors() -> None:
    # psycopg warns when it cannot tidy up a connection that is already lost; exsync reports
    # the lost connection itself, in one line, and the driver's echo would be a second.
    out = io.StringIO()
    logs.setup_logging(0, False, "text", stream=out)
    logging.getLogger("psycopg").warning("error ignored terminating <psycopg.Pipeline [BAD]>")
    logging.getLogger("psycopg.pool").error("an error gets through")
    text = out.getvalue()
    assert "error ignored" not in text and "an error gets through" in text
