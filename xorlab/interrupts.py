"""Ctrl-C, raised where it is safe to raise it.

Python's own handler raises KeyboardInterrupt wherever the main thread happens to be. Two
places go wrong, and a sweep would run on, or hang, after a Ctrl-C:

- The import system. Raised between acquiring the global import lock and the ``try`` that
  releases it (in the weakref callback that cleans up a module's lock, say), the interrupt
  leaves the lock held for good: the next import in any other thread (the thread that imports
  the output libraries while the workers train, Dask's event loop) waits forever, and so does
  the sweep that joins it. `on_ctrl_c` therefore keeps a Ctrl-C that arrives inside the import
  system pending, instead of raising it there.
- Garbage-collection callbacks (distributed's GC diagnostics register one), weakref callbacks
  and ``__del__`` methods: Python cannot raise there, prints "Exception ignored in ..." and
  drops the interrupt. While the hook of `install` / `kept` is set, such an interrupt is kept
  pending instead.

`raise_if_pending()` raises a pending Ctrl-C at the points that check: when a command's body
starts and returns, after the sweep command's imports, before the training, after each stored
chunk, before each figure the process draws, after the outputs.
Imports nothing but the standard library: the commands set it up before they import anything.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

_pending = False


def in_import_system(frame: FrameType | None) -> bool:
    """Whether the main thread, interrupted at `frame`, is inside the import system (an
    interrupt there can leave the global import lock held; see the module docstring)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def keep_pending() -> None:
    """Remember a Ctrl-C for the next `raise_if_pending`."""
    global _pending
    _pending = True


def on_ctrl_c(signum: int, frame: FrameType | None) -> None:
    """The SIGINT handler of the commands and of a sweep run from Python: KeyboardInterrupt,
    as Python's own, except inside the import system, where it is kept pending."""
    if in_import_system(frame):
        keep_pending()
        return
    raise KeyboardInterrupt


def raise_if_pending() -> None:
    """Raise the KeyboardInterrupt of a Ctrl-C kept pending since the last check."""
    global _pending
    if _pending:
        _pending = False
        raise KeyboardInterrupt


def _hook(previous):
    def hook(unraisable) -> None:
        ctrl_c = issubclass(unraisable.exc_type, KeyboardInterrupt) or (
            isinstance(unraisable.exc_value, SystemExit) and unraisable.exc_value.code == 130
        )  # SystemExit(130): the commands' start-up handler
        if ctrl_c:
            keep_pending()  # a Ctrl-C that Python could not raise where it arrived
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
    """Ctrl-C as the commands handle it, in this block (a sweep run from Python: a notebook's
    interrupt). Python's default handler is replaced only in the main thread; another handler
    someone installed is left alone."""
    previous_hook = sys.unraisablehook
    install()
    previous = None
    if threading.current_thread() is threading.main_thread():
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield
    except BaseException:
        global _pending
        _pending = False  # said already, or beside the point
        raise
    else:
        raise_if_pending()  # kept after the block's last check: not for a later block
    finally:
        sys.unraisablehook = previous_hook
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
