"""Stage 4, what is kept: the Parquet store of finished runs (and the journal of older releases), the folder lock, atomic writes, and the checked loader of results folders."""
