"""Subcommands of the ``credence`` command line, one module per group."""
