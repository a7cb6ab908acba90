"""Ctrl-C, raised where it is safe to raise it, and never lost.

Python's own handler raises KeyboardInterrupt wherever the main thread happens to be. Three
kinds of places go wrong, and a sweep would run on, or hang, after a Ctrl-C:

- The import system. Raised between acquiring the global import lock and the ``try`` that
  releases it (in the weakref callback that cleans up a module's lock, say), the interrupt
  leaves the lock held for good: the next import in any other thread (the thread that imports
  the output libraries while the workers train, Dask's event loop) waits forever, and so does
  the sweep that joins it. `on_ctrl_c` does not raise inside the import system.
- Garbage-collection callbacks (distributed's GC diagnostics register one), weakref callbacks
  and ``__del__`` methods: Python cannot raise there, prints "Exception ignored in ..." and
  drops the interrupt. The hook of `install` / `kept` silences that message.
- Code that catches everything and goes on: C code that clears any error (a dict lookup whose
  key's ``__eq__`` was interrupted), or a library's broad ``except``. Seen: about one Ctrl-C in
  sixty, pressed as the first chunk was stored, let the sweep run to its end.

So a Ctrl-C is *pressed* from the moment it arrives until the code that handles it says so
(`handled`); `raise_if_pressed()` raises it again, if it is still pressed, at the points that
check: when a command's body starts and returns, after the sweep command's imports, before the
training, after each stored chunk, before each figure the process draws, after the outputs.
Imports nothing but the standard library: the commands set it up before they import anything.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

_pressed = False
# The signals a command treats as Ctrl-C: finished runs kept, tables written, exit 130.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def in_import_system(frame: FrameType | None) -> bool:
    """Whether the main thread, interrupted at `frame`, is inside the import system (an
    interrupt there can leave the global import lock held; see the module docstring)."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def press() -> None:
    """Remember a Ctrl-C until it is `handled`."""
    global _pressed
    _pressed = True


def handled() -> None:
    """Said by the code that caught the KeyboardInterrupt of the last Ctrl-C and acted on it."""
    global _pressed
    _pressed = False


def on_ctrl_c(signum: int, frame: FrameType | None) -> None:
    """The SIGINT handler of the commands and of a sweep run from Python: KeyboardInterrupt,
    as Python's own, except inside the import system; pressed in either case."""
    press()
    if not in_import_system(frame):
        raise KeyboardInterrupt


def raise_if_pressed() -> None:
    """Raise KeyboardInterrupt if a Ctrl-C is pressed that nothing has handled yet."""
    if _pressed:
        handled()  # this raise is the one to handle; the next Ctrl-C is pressed anew
        raise KeyboardInterrupt


def _hook(previous):
    def hook(unraisable) -> None:
        ctrl_c = issubclass(unraisable.exc_type, KeyboardInterrupt) or (
            isinstance(unraisable.exc_value, SystemExit) and unraisable.exc_value.code == 130
        )  # SystemExit(130): the commands' start-up handler
        if ctrl_c:
            press()  # pressed already (see on_ctrl_c): silence Python's message
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
        handled()  # raised already, or beside the point
        raise
    else:
        raise_if_pressed()  # pressed after the block's last check: not for a later block
    finally:
        sys.unraisablehook = previous_hook
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
