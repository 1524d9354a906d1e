"""Data sources; each returns a ``Splits`` (see splits.py)."""
