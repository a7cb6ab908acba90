"""Stage 6, what people see: the figures (matplotlib), the report page and the replay story."""
