"""The ``facefarm`` command line: one module per verb."""
