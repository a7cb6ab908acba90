"""Registered through a spec's `[run] imports`: once the sweep has stored a chunk in the folder
named by $XORLAB_TEST_DROP_CTRL_C, press Ctrl-C (SIGINT to this process) from inside a
garbage-collection callback, and lose its KeyboardInterrupt there: with
$XORLAB_TEST_DROP_HOW = "python", Python drops it ("Exception ignored in ...", as CI saw with
distributed's GC diagnostics); with "swallowed", a broad `except` catches it and goes on (as C
code that clears any error does). Only in the process that handles Ctrl-C: the workers ignore it.
"""

from __future__ import annotations

import gc
import os
import signal
import time
from pathlib import Path

_folder = Path(os.environ["XORLAB_TEST_DROP_CTRL_C"])
_swallow = os.environ.get("XORLAB_TEST_DROP_HOW") == "swallowed"
_state = {"pressed": False, "next_look": 0.0}


def _press() -> None:
    signal.raise_signal(signal.SIGINT)
    for _ in range(1000):  # Python runs the handler here, inside the callback
        pass


def _press_inside(phase: str, info: dict) -> None:
    if _state["pressed"] or phase != "start" or time.monotonic() < _state["next_look"]:
        return
    _state["next_look"] = time.monotonic() + 0.05
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL):
        return
    if not any((_folder / "shards").glob("*.parquet")):
        return
    _state["pressed"] = True
    if _swallow:
        try:
            _press()
        except BaseException:
            pass
    else:
        _press()


gc.callbacks.append(_press_inside)
