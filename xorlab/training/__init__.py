"""Stage 2, one run: the settings registry and run configurations, the network's pieces, the batched trainer and its reference loop, per-run results and their diagnosis."""
