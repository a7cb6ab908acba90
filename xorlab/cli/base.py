"""What every command shares: the argument parser, the exit codes and the one error boundary.

Commands raise; `run_command` is the only place that turns an error into what people see:
an `XorlabError` or an `OSError` becomes one line on stderr and exit status 2, Ctrl-C exit
status 130 with a line that says how to go on. A traceback means a bug in xorlab.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from xorlab import interrupts
from xorlab.cli import launch
from xorlab.errors import XorlabError
from xorlab.search.rules import shown

EXIT_OK = 0
EXIT_FAILED_RUNS = 1  # --fail-fast and some run failed
EXIT_USAGE = 2  # bad input: spec, arguments, results folder, backend
EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE, the status of a Unix tool whose reader went away
EXIT_INTERRUPTED = launch.EXIT_INTERRUPTED  # Ctrl-C (128 + SIGINT)


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line and exit status 2, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def program(command: str) -> str:
    """How the user started `command`: its console script (xorlab-sweep) or python -m."""
    script = os.path.basename(sys.argv[0]) if sys.argv else ""
    return script if script == f"xorlab-{command}" else f"python -m xorlab.{command}"


def checked(rule: Any, kind: type) -> Callable[[str], Any]:
    """An argparse type: the text as `kind`, accepted by `rule` (a settings-style rule with
    `accepts` and `allowed`), else an argparse error that says what is allowed."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = text
        if not rule.accepts(value):
            raise argparse.ArgumentTypeError(f"must be {rule.allowed}, got {shown(text)}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def describe_os_error(error: OSError) -> str:
    """'results/x/runs.csv: Permission denied' style wording."""
    return f"{error.filename}: {error.strerror}" if error.filename else str(error)


def _ignore_stops() -> None:
    for stop in interrupts.STOP_SIGNALS:
        signal.signal(stop, signal.SIG_IGN)


def run_command(body: Callable[[], int], on_interrupt: Callable[[], str] | None = None) -> int:
    """Run a command's body inside the error boundary; returns the exit status."""
    if signal.getsignal(signal.SIGINT) is launch.exit_interrupted:  # the boundary is up now
        for stop in interrupts.STOP_SIGNALS:  # SIGTERM and SIGHUP stop as Ctrl-C does
            signal.signal(stop, interrupts.on_ctrl_c)
    try:
        interrupts.raise_if_pressed()  # pressed while the command was imported
        status = body()
        interrupts.raise_if_pressed()  # pressed where it could not be raised at once
        if status == EXIT_INTERRUPTED:  # said so already; another Ctrl-C while exiting is quiet
            _ignore_stops()
        return status
    except BrokenPipeError:  # `... | head`: the reader has what it wanted; quiet, as Unix tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush
        return EXIT_CLOSED_PIPE
    except XorlabError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:  # the disk, not the input: a full disk, a read-only file...
        print(f"error: {describe_os_error(error)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        _ignore_stops()  # a second Ctrl-C while exiting is quiet
        hint = on_interrupt() if on_interrupt else ""
        print(f"\ninterrupted{'; ' + hint if hint else ''}", file=sys.stderr)
        return EXIT_INTERRUPTED
