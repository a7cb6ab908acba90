"""xorlab: sweep the hyperparameters of small from-scratch numpy XOR networks."""

from __future__ import annotations

__version__ = "0.2.0"
