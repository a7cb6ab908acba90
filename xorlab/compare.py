"""`python -m xorlab.compare`: the compare command (see xorlab.cli.compare)."""

from xorlab.cli.launch import launch

if __name__ == "__main__":
    launch("compare")
