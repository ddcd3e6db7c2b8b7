"""Kept importable here: the summary statistics live in :mod:`actlab.stats`, a low-level module,
so that plots and reports use them without importing the studies (this name is that module)."""
import sys

from .. import stats as _stats

sys.modules[__name__] = _stats
