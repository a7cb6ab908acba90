"""`python -m xorlab.plot`: the plot command (see xorlab.cli.plot)."""

import signal
import sys

if __name__ == "__main__":
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))  # quiet until the boundary is up
    from xorlab.cli.launch import launch

    launch("plot")
