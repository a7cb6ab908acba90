"""Ctrl-C that Python drops, kept and raised again.

Python raises KeyboardInterrupt wherever the main thread happens to be when Ctrl-C arrives.
When that is a garbage-collection callback (distributed's GC diagnostics register one), a
weakref callback or a ``__del__`` method, Python cannot raise it there: it prints "Exception
ignored in ..." and drops it, and the sweep would run on as if nothing had been pressed.
While `kept()` is active, such a dropped KeyboardInterrupt (or SystemExit, which the commands'
start-up handler raises) is recorded instead of printed, and `raise_if_dropped()` raises it
again at the next point that checks: after each stored chunk, after the outputs, and when a
command's body returns. Imports nothing but the standard library: the commands install it
before they import anything else.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

_dropped = False


def _hook(previous):
    def hook(unraisable) -> None:
        global _dropped
        if issubclass(unraisable.exc_type, (KeyboardInterrupt, SystemExit)):
            _dropped = True
        else:
            previous(unraisable)

    hook.xorlab_keeps_ctrl_c = True
    return hook


def install() -> None:
    """Keep dropped Ctrl-C for the rest of the process (a command's process is xorlab's)."""
    if not getattr(sys.unraisablehook, "xorlab_keeps_ctrl_c", False):
        sys.unraisablehook = _hook(sys.unraisablehook)


@contextlib.contextmanager
def kept() -> Iterator[None]:
    """Keep dropped Ctrl-C in this block (a sweep run from Python: a notebook's interrupt)."""
    previous = sys.unraisablehook
    install()
    try:
        yield
    finally:
        sys.unraisablehook = previous


def raise_if_dropped() -> None:
    """Raise the KeyboardInterrupt of a Ctrl-C that Python dropped since the last check."""
    global _dropped
    if _dropped:
        _dropped = False
        raise KeyboardInterrupt
