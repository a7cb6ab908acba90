"""Start a command as ``python -m xorlab.<command>``, quiet on Ctrl-C from its first lines.

Importing a command takes a moment; until its error boundary (`base.run_command`) is up, a
Ctrl-C exits with status 130 and no traceback (the ``python -m`` modules set a handler before
they import anything, this one takes over). One that arrives inside an import, or that Python
drops, is kept for the boundary to raise (see `xorlab.interrupts`). Imports nothing else on
purpose.
"""

from __future__ import annotations

import gc
import importlib
import signal
import sys
from types import FrameType
from typing import NoReturn

from xorlab import interrupts

EXIT_INTERRUPTED = 130


def exit_interrupted(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C before the boundary is up: exit 130, quietly; inside the import system (nearly
    all of start-up) it stays pressed, and the boundary raises it as soon as it is up."""
    interrupts.press()
    if not interrupts.in_import_system(frame):
        raise SystemExit(EXIT_INTERRUPTED)


def launch(command: str) -> NoReturn:
    """Run xorlab.cli.<command>'s main and exit with its status."""
    for stop in interrupts.STOP_SIGNALS:
        signal.signal(stop, exit_interrupted)
    interrupts.install()
    main = importlib.import_module(f"xorlab.cli.{command}").main
    status = main()
    # Exit without the interpreter's last garbage collections over every object still alive
    # (the tables, pandas, matplotlib: a quarter of a second after a large sweep); objects
    # are still freed, threads joined and files flushed as usual.
    gc.freeze()
    sys.exit(status)
