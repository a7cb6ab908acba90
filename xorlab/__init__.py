"""xorlab: sweep the hyperparameters of small from-scratch numpy XOR networks.

From Python: `xorlab.run(spec)`, `xorlab.load(folder)`, `xorlab.compare(a, b, ...)` (see
`xorlab.api`); errors are `xorlab.XorlabError`. They are imported on first use, so that
`python -m xorlab.<command>` starts without loading numpy and pandas first.
"""

from __future__ import annotations

__version__ = "0.3.0"

_API = {"run", "load", "compare", "Results"}


def __getattr__(name: str):
    if name in _API:
        from xorlab import api

        return getattr(api, name)
    if name == "XorlabError":
        from xorlab.errors import XorlabError

        return XorlabError
    raise AttributeError(f"module 'xorlab' has no attribute {name!r}")
