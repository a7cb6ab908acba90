"""Activations that misbehave on purpose, registered through a spec's `[run] imports`.

Each acts like tanh until some pre-activation exceeds 5 in magnitude (e.g. init_scale = 10):
then `boom` raises (`boomlines` with a message of two lines), `kill` kills its worker process,
and `killonce` kills its worker only the first time (a marker file in $XORLAB_TEST_MARKERS
remembers it).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np

from xorlab.training.nn import ACTIVATIONS, Activation

tanh = ACTIVATIONS["tanh"]


def _misbehaves_when_large(action):
    def value(z, out=None):
        if np.nanmax(np.abs(z)) > 5:
            action()
        return tanh.value(z, out=out)

    return Activation(value, tanh.derivative)


def _raise() -> None:
    raise ValueError("boom: pre-activation too large")


def _raise_lines() -> None:
    raise ValueError('boom, over\ntwo lines, with "quotes"')


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_once() -> None:
    marker = Path(os.environ["XORLAB_TEST_MARKERS"]) / "killed-once"
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        _kill()


ACTIVATIONS["boom"] = _misbehaves_when_large(_raise)
ACTIVATIONS["boomlines"] = _misbehaves_when_large(_raise_lines)
ACTIVATIONS["kill"] = _misbehaves_when_large(_kill)
ACTIVATIONS["killonce"] = _misbehaves_when_large(_kill_once)
