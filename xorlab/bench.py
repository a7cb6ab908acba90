"""`python -m xorlab.bench`: the bench command (see xorlab.cli.bench)."""

from xorlab.cli.launch import launch

if __name__ == "__main__":
    launch("bench")
