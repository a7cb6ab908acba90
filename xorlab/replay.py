"""`python -m xorlab.replay`: the replay command (see xorlab.cli.replay)."""

import signal
import sys

if __name__ == "__main__":
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))  # quiet until the boundary is up
    from xorlab.cli.launch import launch

    launch("replay")
