"""A resolved spec (`Spec.to_dict`) written back as TOML: the spec.toml of a results folder."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def to_toml(tables: Mapping[str, Mapping[str, Any]]) -> str:
    """Write tables of plain values (as `Spec.to_dict` gives) as TOML text."""
    parts = []
    for name, table in tables.items():
        parts.append(f"[{name}]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in table.items()))
    return "\n".join(parts)
