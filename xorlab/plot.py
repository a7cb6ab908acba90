"""`python -m xorlab.plot`: the plot command (see xorlab.cli.plot)."""

from xorlab.cli.launch import launch

if __name__ == "__main__":
    launch("plot")
