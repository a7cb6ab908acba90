"""Where a run starts: its weights by name, and the points of a map of the initial-weight space.

A net with `hidden` units has 4 hidden + 1 parameters, flattened in this order: W1[i,j] (hidden
unit i, input j; row by row), b1[i], W2[i], b2. A map (method = "basins") moves the initial
weights of its seed, the base point, along two axes, each a weight by name (a unit step changes
that weight alone, so the map's coordinates are the weight's own values less its base value) or
"random": a direction drawn from the seed, of unit length, orthogonal to the other axis (two
random axes span a plane of orthonormal directions, as in loss-landscape plots).
"""

from __future__ import annotations

import functools
import re

import numpy as np

RANDOM = "random"
_NAME = re.compile(r"(W1)\[\s*(\d+)\s*,\s*(\d+)\s*\]|(b1|W2)\[\s*(\d+)\s*\]|(b2)(?:\[\s*0\s*\])?")


def parameter_count(hidden: int) -> int:
    return 4 * hidden + 1


def _parse(name: object) -> tuple[str, int, int]:
    """(matrix, unit, input) of a weight's name; ValueError saying how weights are named."""
    match = _NAME.fullmatch(name.strip()) if isinstance(name, str) else None
    if match is None:
        raise ValueError(
            f"{name!r} is not a weight: name one as W1[i,j], b1[i], W2[i] or b2 "
            f"(hidden unit i, input j), or say {RANDOM!r}"
        )
    if match[1]:
        return "W1", int(match[2]), int(match[3])
    if match[4]:
        return match[4], int(match[5]), 0
    return "b2", 0, 0


def weight_index(name: str, hidden: int) -> int:
    """The position of a weight, named W1[i,j], b1[i], W2[i] or b2, in the flat parameters of a
    net with `hidden` units; ValueError saying what is allowed."""
    matrix, unit, column = _parse(name)
    if unit >= hidden:
        raise ValueError(f"{name!r} does not exist at hidden = {hidden} (units 0 to {hidden - 1})")
    if column > 1:
        raise ValueError(f"{name!r} does not exist: the net has 2 inputs (j is 0 or 1)")
    offset = {"W1": 0, "b1": 2 * hidden, "W2": 3 * hidden, "b2": 4 * hidden}[matrix]
    return offset + (2 * unit + column if matrix == "W1" else unit)


def canonical(name: object) -> str:
    """An axis as runs.csv writes it: 'random', or a weight's name without spaces (b2 without
    an index); ValueError if it is neither."""
    if name == RANDOM:
        return RANDOM
    matrix, unit, column = _parse(name)
    if matrix == "W1":
        return f"W1[{unit},{column}]"
    return "b2" if matrix == "b2" else f"{matrix}[{unit}]"


def is_bias(name: str) -> bool:
    return name.startswith("b")


@functools.lru_cache(maxsize=64)
def axes(seed: int, hidden: int, axis_x: str, axis_y: str) -> tuple[np.ndarray, np.ndarray]:
    """The unit directions of a map's two axes in the flat parameters (read-only): a named
    weight's basis vector, or a random direction drawn from the seed's own stream (apart from
    its data, weights and mini-batch order), orthogonal to the other axis."""
    size = parameter_count(hidden)
    rng = np.random.default_rng([seed, 2])
    directions = []
    for name in (axis_x, axis_y):
        if name == RANDOM:
            direction = rng.standard_normal(size)
        else:
            direction = np.zeros(size)
            direction[weight_index(name, hidden)] = 1.0
        directions.append(direction)
    ex, ey = directions
    if axis_x == RANDOM:  # orthogonal to a named y, which stays a unit step of its weight
        ex = ex - (ex @ ey) * ey if axis_y != RANDOM else ex
        ex = ex / np.linalg.norm(ex)
    if axis_y == RANDOM:
        ey = ey - (ey @ ex) * ex
        ey = ey / np.linalg.norm(ey)
    for direction in (ex, ey):
        direction.flags.writeable = False
    return ex, ey


def flatten(W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray) -> np.ndarray:
    """The flat parameters of one net (W1 (H, 2), b1 (H, 1), W2 (1, H), b2 (1, 1))."""
    return np.concatenate([W1.ravel(), b1.ravel(), W2.ravel(), b2.ravel()])


def unflatten(theta: np.ndarray, hidden: int) -> tuple[np.ndarray, ...]:
    """W1 (H, 2), b1 (H, 1), W2 (1, H), b2 (1, 1) of flat parameters."""
    h = hidden
    W1 = theta[: 2 * h].reshape(h, 2)
    b1 = theta[2 * h : 3 * h].reshape(h, 1)
    W2 = theta[3 * h : 4 * h].reshape(1, h)
    return W1.copy(), b1.copy(), W2.copy(), theta[4 * h :].reshape(1, 1).copy()


def moved(
    params: tuple[np.ndarray, ...], seed: int, hidden: int, point: tuple
) -> tuple[np.ndarray, ...]:
    """The parameters (W1, b1, W2, b2) moved to a map's point (axis_x, offset_x, axis_y,
    offset_y): base + offset_x e_x + offset_y e_y. At offsets 0 every bit is the base's."""
    axis_x, offset_x, axis_y, offset_y = point
    ex, ey = axes(seed, hidden, axis_x, axis_y)
    theta = flatten(*params)
    return unflatten(theta + offset_x * ex + offset_y * ey, hidden)
