"""Stage 5, what the runs say: the runs and summary tables, importance, statistics, and the comparison of sweeps (pandas in, pandas out; nothing drawn)."""
