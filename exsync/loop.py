"""`exsync run --every`: the same pass, repeated in the foreground, for hosts without a timer."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TypeVar

log = logging.getLogger(__name__)
R = TypeVar("R")


def run_every(
    one_pass: Callable[[], R],
    every: float,
    after_pass: Callable[[R], None] = lambda result: None,
    stop: threading.Event | None = None,
) -> int:
    """Start `one_pass` every `every` seconds until SIGTERM or SIGINT; return the number of passes.

    Passes never overlap: a pass that runs longer than `every` is followed by the next one
    at once. The first signal lets the pass in flight finish (its units commit) and ends the
    loop; a second signal interrupts at once.
    """
    stop = stop or threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.warning("%s: finishing the pass in flight, then stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    passes = 0
    try:
        while not stop.is_set():
            started = time.monotonic()
            after_pass(one_pass())
            passes += 1
            _give_back_memory()
            stop.wait(max(0.0, every - (time.monotonic() - started)))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return passes


def _give_back_memory() -> None:
    """Return the memory a pass freed to the system (glibc keeps it otherwise)."""
    import ctypes
    import gc
    from contextlib import suppress

    gc.collect()
    with suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL(None).malloc_trim(0)
