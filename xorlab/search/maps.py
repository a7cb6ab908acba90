"""The [basins] table of a spec (method = "basins"): a map's axes, span and points, checked
against every configuration's net; see `xorlab.training.start` for what the axes mean."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xorlab.search.rules import Interval, shown
from xorlab.search.spaces import Map
from xorlab.training import start

MAX_POINTS = 2001  # per axis of a map: 4 million runs


def parse_basins(
    reader: Any,
    table: Mapping[str, Any] | None,
    method: str,
    swept: Mapping[str, Any],
    fixed: Mapping[str, Any],
) -> Map | None:
    """[basins]: the two axes (weights by name, or 'random'), the span of the offsets along
    them and the points per axis; checked against every configuration's net."""
    if method != "basins":
        if table is not None:
            raise reader.error("basins", None, "only applies to method = 'basins'")
        return None
    if table is None:
        raise reader.error(
            "sweep", "method", "'basins' needs a [basins] table (x, y, span and points)"
        )
    for key in ("x", "y", "span"):
        if key not in table:
            raise reader.error("basins", None, f"needs `{key}`; {BASINS_KEYS[key]}")
    for key in ("x", "y"):
        if table[key] != start.RANDOM:
            try:
                start.canonical(table[key])
            except ValueError as error:
                raise reader.error("basins", key, str(error)) from None
    x, y = start.canonical(table["x"]), start.canonical(table["y"])
    if x == y and x != start.RANDOM:
        raise reader.error("basins", "y", f"is the weight x moves ({x}); map two weights")
    span = table["span"]
    spans = span if isinstance(span, list) and all(isinstance(s, list) for s in span) else [span]
    if not 1 <= len(spans) <= 2 or not all(_is_span(s) for s in spans):
        raise reader.error("basins", "span", f"must be {BASINS_KEYS['span']}, got {shown(span)}")
    points = table.get("points", 101)
    if not Interval(int, 2, MAX_POINTS).accepts(points):
        raise reader.error(
            "basins",
            "points",
            f"must be {Interval(int, 2, MAX_POINTS).allowed}, got {shown(points)}",
        )
    hiddens = swept["hidden"] if "hidden" in swept else [fixed["hidden"]]
    biases = swept["init_bias"] if "init_bias" in swept else [fixed["init_bias"]]
    for key, axis in (("x", x), ("y", y)):
        if axis == start.RANDOM:
            continue
        for hidden in hiddens:
            try:
                start.weight_index(axis, hidden)
            except ValueError as error:
                raise reader.error("basins", key, str(error)) from None
        if start.is_bias(axis) and "zero" in biases:
            raise reader.error(
                "basins",
                key,
                f"{axis} is not drawn with init_bias = 'zero' (the biases start at 0, not from "
                "the seed); set init_bias = 'same' to map a bias",
            )
    span_x, span_y = (tuple(map(float, s)) for s in (spans * 2)[:2])
    area = Map(x, y, span_x, span_y, points)
    for offsets in (area.offsets_x, area.offsets_y):
        if len(set(offsets)) < points:
            raise reader.error(
                "basins", "span", f"{shown(span)} is too narrow for {points} distinct points"
            )
    return area


BASINS_KEYS = {
    "x": "a weight by name (W1[i,j], b1[i], W2[i], b2) or 'random'",
    "y": "a weight by name (W1[i,j], b1[i], W2[i], b2) or 'random'",
    "span": "[low, high] with low < high, numbers from -1e6 to 1e6 (offsets from the base "
    "point along both axes), or [[x_low, x_high], [y_low, y_high]]",
}


SPAN_VALUE = Interval(float, -1e6, 1e6)  # far past where every unit saturates


def _is_span(span: Any) -> bool:
    return (
        isinstance(span, list)
        and len(span) == 2
        and all(SPAN_VALUE.accepts(v) for v in span)
        and span[0] < span[1]
    )
