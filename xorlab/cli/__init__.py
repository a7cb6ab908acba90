"""The command-line programs: `sweep`, `compare`, `plot`, `bench`, each a thin layer over the
library, sharing one parser, exit codes and error boundary (`base`).

Run them as ``python -m xorlab.<command>`` (see `launch`) or as the ``xorlab-<command>``
console scripts.
"""
