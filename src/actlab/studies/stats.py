"""Kept importable here: the summary statistics live in :mod:`actlab.stats`, a low-level module,
so that plots and reports use them without importing the studies. This module re-exports it (the
same functions and constants; any other name is looked up there), as a module of its own so that
``pytest --doctest-modules`` can import every file by its path."""
from .. import stats as _stats
from ..stats import *  # noqa: F401,F403
from ..stats import __all__  # noqa: F401


def __getattr__(name: str):
    return getattr(_stats, name)


def __dir__() -> list[str]:
    return dir(_stats)
