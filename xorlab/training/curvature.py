"""The curvature of the loss at the end of training: the Hessian's lowest eigenvalue per run.

A run that sits still with patterns wrong is either in a valley (every eigenvalue >= 0: more
epochs will not get it out) or on a saddle (a negative eigenvalue: gradient descent leaves it,
growing the distance along that direction by a factor 1 + step x |lambda| per epoch). The
diagnosis compares that rate with the rest of a 10x longer run (`diagnosis.ESCAPE`).

The Hessian is taken by central differences of the analytic gradient, one column per parameter
(2 x parameters gradient evaluations for a whole batch of runs at once), and symmetrized; every
operation is per run, so a run's value does not depend on the batch it is in.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

RELATIVE_STEP = 1e-5  # the difference step, relative to the parameter (at least 1e-5 absolute)


def lowest_eigenvalue(
    gradient: Callable[[np.ndarray], np.ndarray], theta: np.ndarray
) -> np.ndarray:
    """The Hessian's lowest eigenvalue for each run (columns of `theta`, parameters x runs);
    `gradient(theta)` is the gradient of the loss, in theta's layout. NaN where not finite."""
    parameters, runs = theta.shape
    step = RELATIVE_STEP * np.maximum(1.0, np.abs(theta))
    hessian = np.empty((runs, parameters, parameters))
    for p in range(parameters):
        up, down = theta.copy(), theta.copy()
        up[p] += step[p]
        down[p] -= step[p]
        width = up[p] - down[p]  # the step as represented
        hessian[:, :, p] = ((gradient(up) - gradient(down)) / width).T
    hessian = (hessian + hessian.transpose(0, 2, 1)) / 2
    finite = np.isfinite(hessian).all(axis=(1, 2))
    lowest = np.full(runs, np.nan)
    if finite.any():
        lowest[finite] = np.linalg.eigvalsh(hessian[finite])[:, 0]
    return lowest
