"""`python -m xorlab.sweep`: the sweep command (see xorlab.cli.sweep)."""

from xorlab.cli.launch import launch

if __name__ == "__main__":
    launch("sweep")
