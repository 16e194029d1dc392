"""The case store: an embedded DuckDB database inside the case directory."""
