"""python -m xorlab: list the commands."""

from __future__ import annotations

import sys

COMMANDS = {
    "xorlab.sweep": "run a sweep spec (TOML); resumes by default",
    "xorlab.compare": "compare the runs of two or more sweeps",
    "xorlab.plot": "redraw a results folder's figures and report.html",
    "xorlab.replay": "retrain one run and show its whole story: why it failed",
    "xorlab.bench": "benchmark the engine against the per-run reference loop",
}


def main() -> int:
    print("xorlab: sweep the hyperparameters of small from-scratch numpy XOR networks\n")
    for module, what in COMMANDS.items():
        print(f"  python -m {module:<15} {what}")
    print("\nEach takes --help. Start with: python -m xorlab.sweep sweeps/grid.toml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
