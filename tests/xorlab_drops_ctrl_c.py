"""Registered through a spec's `[run] imports`: once the sweep has stored a chunk in the folder
named by $XORLAB_TEST_DROP_CTRL_C, press Ctrl-C (SIGINT to this process) from inside a
garbage-collection callback, where Python cannot raise the KeyboardInterrupt: it prints
"Exception ignored in ..." and drops it (as CI saw with distributed's GC diagnostics).
Only in the process that handles Ctrl-C: the workers ignore it.
"""

from __future__ import annotations

import gc
import os
import signal
import time
from pathlib import Path

_folder = Path(os.environ["XORLAB_TEST_DROP_CTRL_C"])
_state = {"pressed": False, "next_look": 0.0}


def _press_inside(phase: str, info: dict) -> None:
    if _state["pressed"] or phase != "start" or time.monotonic() < _state["next_look"]:
        return
    _state["next_look"] = time.monotonic() + 0.05
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL):
        return
    if not any((_folder / "shards").glob("*.parquet")):
        return
    _state["pressed"] = True
    signal.raise_signal(signal.SIGINT)
    for _ in range(1000):  # Python runs the handler here, inside the callback
        pass


gc.callbacks.append(_press_inside)
