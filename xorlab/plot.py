"""`python -m xorlab.plot`: the plot command (see xorlab.cli.plot)."""

import signal
import sys

if __name__ == "__main__":
    for stop in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # quiet until the boundary is up
        signal.signal(stop, lambda *_: sys.exit(130))
    from xorlab.cli.launch import launch

    launch("plot")
