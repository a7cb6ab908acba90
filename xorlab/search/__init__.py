"""Stage 1, what to run: the sweep spec (validated, frozen), its rules, and the grid and random search spaces that expand it into run configurations."""
