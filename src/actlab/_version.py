"""actlab's version: the one definition (pyproject.toml reads it; the store and reports record it)."""
__version__ = "0.1.0"
