"""What one training run produces: its metrics and its logged curve."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from xorlab.training.config import RunConfig
from xorlab.training.diagnosis import Diagnosis

STATUSES = ("ok", "diverged", "failed")  # a run trained, blew up, or raised
BLOWN_UP_LOSS = 1e3  # chance is ln 2 = 0.69; a final loss past this means the run blew up


# what a run yields besides its curve: the columns of runs.csv after the settings
METRICS = (
    "status",
    "final_loss",
    "final_accuracy",
    "solved",
    "epochs_to_solve",
    "train_seconds",
    "error",
)
DIAGNOSIS = tuple(f.name for f in fields(Diagnosis))  # added in 0.2: a run of 0.1 has none


@dataclass
class RunResult:
    """Metrics of one finished run (see the README for each field) and its curve."""

    config: RunConfig
    status: str
    final_loss: float = math.nan
    final_accuracy: float = math.nan
    solved: bool = False
    epochs_to_solve: int | None = None
    train_seconds: float = 0.0
    error: str = ""
    curve_epoch: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    curve_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    curve_accuracy: np.ndarray = field(default_factory=lambda: np.zeros(0))
    weights: dict[str, np.ndarray] | None = None  # final parameters, only when asked for
    diagnosis: Diagnosis | None = None  # why it ended as it did (the batched engine's runs)
    trace: np.ndarray | None = None  # parameters after every epoch, only when asked for

    @property
    def run_id(self) -> str:
        """The run_id of the run's configuration."""
        return self.config.run_id


def logged_epochs(epochs: int, log_every: int) -> np.ndarray:
    """Epochs at which the curve is logged: 0, log_every, 2 log_every, ... and always `epochs`."""
    points = np.arange(0, epochs + 1, log_every)
    if points[-1] != epochs:
        points = np.append(points, epochs)
    return points


def summarize_curve(
    config: RunConfig,
    epoch: np.ndarray,
    loss: np.ndarray,
    accuracy: np.ndarray,
    weights_finite: bool,
    train_seconds: float = 0.0,
    every_pattern: bool = True,
    solved_since: int | None = None,
) -> RunResult:
    """Turn a run's logged curve into its metrics. `diverged`: NaN/inf in the loss or the
    weights, or a final loss that blew up past BLOWN_UP_LOSS. `solved`: the solve criterion
    (every output within solve_margin of its target) held from epoch `solved_since` to the
    end, on data that hold all four XOR patterns (`every_pattern`)."""
    diverged = not weights_finite or not np.isfinite(loss).all() or loss[-1] > BLOWN_UP_LOSS
    solved = not diverged and every_pattern and solved_since is not None
    epochs_to_solve = solved_since if solved else None
    return RunResult(
        config=config,
        status="diverged" if diverged else "ok",
        final_loss=float(loss[-1]),
        final_accuracy=float(accuracy[-1]),
        solved=bool(solved),
        epochs_to_solve=epochs_to_solve,
        train_seconds=train_seconds,
        curve_epoch=epoch,
        curve_loss=loss,
        curve_accuracy=accuracy,
    )


def failed_result(config: RunConfig, error: BaseException | str) -> RunResult:
    """A run that raised (or killed its worker): recorded, not fatal."""
    message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return RunResult(config=config, status="failed", error=message)
