"""Ctrl-C where Python's own handler goes wrong: inside the import system, and where Python
drops the KeyboardInterrupt (garbage-collection callbacks). See xorlab/interrupts.py."""

from __future__ import annotations

import _imp
import contextlib
import gc
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from xorlab import interrupts


@pytest.fixture
def fresh_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Names of modules that exist and were never imported."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def make() -> str:
        name = f"xorlab_fresh_{uuid.uuid4().hex}"
        (tmp_path / f"{name}.py").write_text("VALUE = 1\n")
        return name

    return make


@contextlib.contextmanager
def handler(function):
    previous = signal.signal(signal.SIGINT, function)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        interrupts.handled()  # none left for the next test
        while _imp.lock_held():  # a planted bug must not leave the suite's imports stuck
            try:
                _imp.release_lock()
            except RuntimeError:
                break


def imports_in_a_thread(name: str) -> bool:
    """Whether another thread can import `name` within 5 s (it cannot while the main thread
    still holds the global import lock)."""
    thread = threading.Thread(target=__import__, args=(name,), daemon=True)
    thread.start()
    thread.join(5)
    return not thread.is_alive()


def test_ctrl_c_inside_the_import_system_is_raised_after_it_not_inside(fresh_modules) -> None:
    """Ctrl-C arrives while the main thread waits for the global import lock: Python's own
    handler would raise it right after the lock is taken, before the `try` that releases it,
    and every later import in another thread would wait forever (a sweep hung so)."""
    main = threading.main_thread().ident
    held = threading.Event()
    name = fresh_modules()

    def hold_the_import_lock_and_press() -> None:
        _imp.acquire_lock()
        held.set()
        while not interrupts.in_import_system(sys._current_frames()[main]):
            time.sleep(0.01)
        time.sleep(0.1)  # the main thread now waits for the lock
        signal.pthread_kill(main, signal.SIGINT)
        time.sleep(0.05)
        _imp.release_lock()

    with handler(interrupts.on_ctrl_c):
        helper = threading.Thread(target=hold_the_import_lock_and_press)
        helper.start()
        held.wait()
        with pytest.raises(KeyboardInterrupt):
            module = __import__(name)  # Ctrl-C arrives in here: kept, not raised
            assert module.VALUE == 1
            interrupts.raise_if_pressed()  # raised at the next check instead
        helper.join()
        assert imports_in_a_thread(fresh_modules())
        interrupts.raise_if_pressed()  # raised once only


def test_ctrl_c_elsewhere_is_raised_at_once_and_again_if_something_swallowed_it() -> None:
    """Code that catches everything and goes on (C code that clears any error, a library's
    broad except) must not lose a Ctrl-C: it is raised again at the next check, once."""
    with handler(interrupts.on_ctrl_c):
        try:
            signal.raise_signal(signal.SIGINT)
            for _ in range(1000):
                pass
            pytest.fail("not raised")
        except KeyboardInterrupt:
            pass  # swallowed
        with pytest.raises(KeyboardInterrupt):
            interrupts.raise_if_pressed()
        interrupts.raise_if_pressed()  # once only
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
            for _ in range(1000):
                pass
        interrupts.handled()  # what the code that acts on it says
        interrupts.raise_if_pressed()


@pytest.mark.parametrize(
    "error, is_ctrl_c",
    [(KeyboardInterrupt(), True), (SystemExit(130), True), (SystemExit(3), False)],
)
def test_a_ctrl_c_that_python_drops_is_kept(error: BaseException, is_ctrl_c: bool) -> None:
    """Raised in a garbage-collection callback, Python prints "Exception ignored" and drops it.
    SystemExit(130) is the commands' start-up handler's Ctrl-C; another exit is not one."""

    def press(phase: str, info: dict) -> None:
        if phase == "start":
            raise error

    unraisable: list = []
    gc.callbacks.append(press)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sys, "unraisablehook", unraisable.append)  # Python's printing
            with interrupts.kept():
                gc.collect()
                if is_ctrl_c:
                    with pytest.raises(KeyboardInterrupt):
                        interrupts.raise_if_pressed()
            assert bool(unraisable) is not is_ctrl_c  # passed on to Python's hook, or not
            gc.collect()  # outside kept(): Python's own behaviour
        assert unraisable[-1].exc_value is error
        interrupts.raise_if_pressed()  # nothing kept outside the block
    finally:
        gc.callbacks.remove(press)


def test_a_ctrl_c_kept_after_the_last_check_is_raised_as_the_block_ends() -> None:
    """Not left over for the next sweep run from the same notebook."""
    with pytest.raises(KeyboardInterrupt), interrupts.kept():
        interrupts.press()
    interrupts.raise_if_pressed()  # raised once only
    with pytest.raises(ValueError), interrupts.kept():
        interrupts.press()
        raise ValueError("the block's own error goes first")
    interrupts.raise_if_pressed()
