"""The instructor pipeline: generate, run, selfcheck, validate, collect, autograde (``course --help``)."""
