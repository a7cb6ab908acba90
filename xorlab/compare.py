"""`python -m xorlab.compare`: the compare command (see xorlab.cli.compare)."""

import signal
import sys

if __name__ == "__main__":
    for stop in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # quiet until the boundary is up
        signal.signal(stop, lambda *_: sys.exit(130))
    from xorlab.cli.launch import launch

    launch("compare")
