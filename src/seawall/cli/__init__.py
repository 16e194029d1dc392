"""The command line: one module per command group, argument handling only."""
