"""The systemd units under systemd/: their commands parse with the installed CLI, their
paths match how exsync finds its config and database, and systemd itself accepts them."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import typer
import typer.main

from exsync.cli import app
from exsync.config import find_config
from exsync.errors import ExitCode
from exsync.paths import database_path
from tests.conftest import EXSYNC

ROOT = Path(__file__).resolve().parent.parent
UNIT_DIR = ROOT / "systemd"
SERVICES = ("exsync@.service", "exsync.service")
TIMERS = ("exsync@.timer", "exsync.timer")
INSTALLED = "/usr/bin/exsync"

Unit = dict[str, list[tuple[str, str]]]


def parse_unit(path: Path) -> Unit:
    """A unit file as {section: [(key, value), ...]}, keeping repeated keys in order.

    configparser would keep only the last of a repeated key (SystemCallFilter=,
    LoadCredential=), and an empty assignment resets a list in systemd, so order matters.
    """
    sections: Unit = {}
    current: list[tuple[str, str]] | None = None
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = pending + raw.strip()
        pending = ""
        if not line or line[0] in "#;":
            continue
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"{path.name}: {line!r} outside a section"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: {line!r} is not key=value"
        current.append((key.strip(), value.strip()))
    return sections


def values(unit: Unit, section: str, key: str) -> list[str]:
    """Every value of a key in a section, in file order."""
    return [v for k, v in unit.get(section, []) if k == key]


def value(unit: Unit, section: str, key: str) -> str:
    """The value of a key that must be set exactly once."""
    found = values(unit, section, key)
    assert len(found) == 1, f"[{section}] {key}= set {len(found)} times"
    return found[0]


@pytest.fixture(scope="module")
def units() -> dict[str, Unit]:
    return {path.name: parse_unit(path) for path in sorted(UNIT_DIR.iterdir())}


def test_the_four_units_exist(units: dict[str, Unit]) -> None:
    assert set(units) == {*SERVICES, *TIMERS}


def _parse_command_line(argv: list[str]) -> dict[str, object]:
    """Parse argv (without the program) as the installed CLI would; return the subcommand's
    parameters. Raises click's usage errors for an unknown option or a bad value."""
    group = typer.main.get_command(app)
    ctx = group.make_context("exsync", list(argv))
    protected = getattr(ctx, "_protected_args", None)
    if protected is None:  # older click spells it without the underscore
        protected = ctx.protected_args
    name, command, rest = group.resolve_command(ctx, [*protected, *ctx.args])
    assert command is not None, f"unknown command {name!r}"
    return command.make_context(name, rest, parent=ctx).params


@pytest.mark.parametrize("name", SERVICES)
def test_exec_start_parses_with_the_cli(units: dict[str, Unit], name: str) -> None:
    commands = values(units[name], "Service", "ExecStart")
    assert commands, "no ExecStart="
    for command in commands:
        argv = shlex.split(command.replace("%i", "bybit"))
        assert argv[0] == INSTALLED
        params = _parse_command_line(argv[1:])
        if name.startswith("exsync@"):
            assert list(params["exchange"]) == ["bybit"]
        else:
            assert not params["exchange"], "the all-exchanges unit must not name one"


def test_the_command_line_check_catches_a_bad_option() -> None:
    # Guards the check above: if parsing silently accepted anything it would prove nothing.
    # TyperException is what exsync.cli.main catches for usage errors.
    with pytest.raises(typer.TyperException, match="no-such-option"):
        _parse_command_line(["sync", "--exchange", "bybit", "--no-such-option"])
    with pytest.raises(typer.TyperException):
        _parse_command_line(["sync", "--type", "candles"])


@pytest.mark.parametrize("name", SERVICES)
def test_service_is_a_hardened_oneshot(units: dict[str, Unit], name: str) -> None:
    unit = units[name]
    assert value(unit, "Service", "Type") == "oneshot"
    success = " ".join(values(unit, "Service", "SuccessExitStatus")).split()
    assert str(int(ExitCode.NOTHING_ATTEMPTED)) in success
    # `systemctl stop` during a backfill: exsync exits 143 having cleaned up after itself
    assert str(int(ExitCode.TERMINATED)) in success
    # One shared dynamic user: see the comment in the unit about chown of the state dir.
    assert value(unit, "Service", "DynamicUser") == "yes"
    assert value(unit, "Service", "User") == "exsync"
    expected = {
        "StateDirectory": "exsync",
        "ConfigurationDirectory": "exsync",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "NoNewPrivileges": "yes",
        "CapabilityBoundingSet": "",
        "LockPersonality": "yes",
        "RestrictRealtime": "yes",
        "RestrictNamespaces": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes",
        "ProtectClock": "yes",
        "ProtectHostname": "yes",
        "UMask": "0077",
        "Nice": "10",
    }
    for key, want in expected.items():
        assert value(unit, "Service", key) == want, key
    families = set(value(unit, "Service", "RestrictAddressFamilies").split())
    assert families == {"AF_INET", "AF_INET6", "AF_UNIX"}
    assert values(unit, "Service", "SystemCallFilter")[0] == "@system-service"
    # Left off on purpose (see the unit's comment): some Python builds need W+X memory.
    assert values(unit, "Service", "MemoryDenyWriteExecute") == []
    assert "MemoryDenyWriteExecute" in (UNIT_DIR / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", SERVICES)
def test_credentials_are_shown_as_load_credential_examples(name: str) -> None:
    text = (UNIT_DIR / name).read_text(encoding="utf-8")
    examples = re.findall(r"^#LoadCredential=([^:\s]+):(/\S+)$", text, re.M)
    assert examples, "no commented LoadCredential= example"
    assert "api_key_credential" in text and "secret_credential" in text


@pytest.mark.parametrize("name", TIMERS)
def test_timer_runs_regularly_and_catches_up(units: dict[str, Unit], name: str) -> None:
    unit = units[name]
    timer = dict(unit["Timer"])
    assert timer.get("OnCalendar") or timer.get("OnUnitActiveSec")
    assert timer["Persistent"] == "true"
    assert "RandomizedDelaySec" in timer and "AccuracySec" in timer
    assert "Unit" not in timer  # each timer starts the service of the same name
    assert value(unit, "Install", "WantedBy") == "timers.target"


def test_unit_directories_match_exsync_path_discovery(
    units: dict[str, Unit], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What systemd does for StateDirectory=exsync / ConfigurationDirectory=exsync:
    service = units["exsync@.service"]
    state = tmp_path / "var/lib" / value(service, "Service", "StateDirectory")
    conf = tmp_path / "etc" / value(service, "Service", "ConfigurationDirectory")
    state.mkdir(parents=True)
    conf.mkdir(parents=True)
    (conf / "config.yaml").write_text("exchanges: {}\n", encoding="utf-8")
    monkeypatch.delenv("EXSYNC_CONFIG", raising=False)
    monkeypatch.setenv("STATE_DIRECTORY", str(state))
    monkeypatch.setenv("CONFIGURATION_DIRECTORY", str(conf))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "nowhere"))
    assert find_config() == conf / "config.yaml"
    assert database_path(None) == state / "exsync.db"


def _units_for_systemd(tmp_path: Path) -> Path:
    """Copies of the units whose ExecStart points at this venv's exsync: `verify` insists
    that the binary exists, and /usr/bin/exsync does not on a development machine."""
    target = tmp_path / "units"
    target.mkdir()
    for path in UNIT_DIR.iterdir():
        text = path.read_text(encoding="utf-8").replace(INSTALLED, EXSYNC)
        (target / path.name).write_text(text, encoding="utf-8")
    return target


_ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(_ANALYZE is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    assert _ANALYZE is not None
    target = _units_for_systemd(tmp_path)
    names = ["exsync@bybit.service", "exsync@bybit.timer", "exsync.service", "exsync.timer"]
    done = subprocess.run(
        [_ANALYZE, "verify", *(str(target / n) for n in names)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    # verify only warns (exit 0) about unknown keys and bad values: fail on any line about
    # our units, but not on complaints about unrelated units of the host.
    ours = [line for line in output.splitlines() if "exsync" in line]
    assert done.returncode == 0 and not ours, output


@pytest.mark.skipif(_ANALYZE is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("name", ["exsync@bybit.service", "exsync.service"])
def test_systemd_analyze_security_rates_the_services_ok(tmp_path: Path, name: str) -> None:
    assert _ANALYZE is not None
    target = _units_for_systemd(tmp_path)
    done = subprocess.run(
        [_ANALYZE, "security", "--offline=true", str(target / name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", done.stdout)
    if match is None:  # systemd < 250 has no --offline
        pytest.skip(f"systemd-analyze security --offline unsupported: {done.stderr.strip()}")
    # 1.1 with systemd 252; the remaining points are network access, which exsync needs.
    assert float(match.group(1)) <= 2.0, done.stdout
