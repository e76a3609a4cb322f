"""A process starts light and several start at once: ccxt is imported one exchange class at a
time, and processes creating a fresh database together wait their turn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import sys
from exsync import ccxt_import
klass = ccxt_import.exchange_class("bybit")
loaded = sorted(
    name for name in sys.modules
    if name.startswith("ccxt.async_support.") and name.count(".") == 2 and "base" not in name
)
client = klass({})
print(loaded, client.has["fetchMyTrades"], ccxt_import.version)
import ccxt
print(len(ccxt.exchanges), ccxt.exchanges == ccxt_import.exchange_ids())
"""


def test_a_pass_imports_only_the_exchange_classes_it_uses():
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    light, whole = done.stdout.splitlines()
    import importlib.metadata

    assert light == f"['ccxt.async_support.bybit'] True {importlib.metadata.version('ccxt')}"
    count, same = whole.split()
    # what needs all of ccxt still gets it, on first use
    assert int(count) > 50 and same == "True"


def test_processes_creating_a_fresh_database_at_once_wait_their_turn(tmp_path: Path):
    code = "import sys\nfrom exsync.store import Store\nwith Store(sys.argv[1]): pass"
    for round_ in range(8):
        db = tmp_path / f"fresh-{round_}.db"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code, str(db)], stderr=subprocess.PIPE, text=True
            )
            for _ in range(5)
        ]
        failures = [err for p in procs if (err := p.communicate(timeout=60)[1]) and p.returncode]
        assert not failures, failures[0]


def test_the_exchange_class_stands_where_ccxt_puts_it():
    code = (
        "from exsync import ccxt_import\n"
        "ccxt_import.exchange_class('bybit')\n"
        "import ccxt.async_support as ccxt\n"
        "print(isinstance(ccxt.bybit, type), ccxt.bybit.__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["True", "bybit"]
