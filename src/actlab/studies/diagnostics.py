"""The studies' view of a network's health: the measurements of :mod:`actlab.engine.inspect`
(per-layer gradient norms, activation statistics, saturation, dead and inactive units — one
definition of each, shared with the playground and the reports) and ``mean_ci``, the interval
the studies summarise them with.

See :mod:`actlab.engine.inspect` for the exact definitions (:data:`DEAD_UNIT` for a dead unit).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..engine.inspect import (DEAD_UNIT, SATURATION_RULES, HiddenLayer, LayerProbe, dead_units, gradient_norms,
                              hidden_gradient_norms, hidden_layers, idle_pieces, layer_stats, measure, probe,
                              saturation_fraction)

__all__ = ["DEAD_UNIT", "HiddenLayer", "LayerProbe", "hidden_layers", "probe", "gradient_norms",
           "hidden_gradient_norms", "layer_stats", "dead_units", "idle_pieces", "saturation_fraction", "measure",
           "mean_ci", "SATURATION_RULES"]


def mean_ci(values: Any, level: float = 0.95) -> tuple[float, float, float, int]:
    """``(mean, low, high, n)`` of the finite ``values``: a Student-t interval (NaNs when empty;
    ``low == high == mean`` for a single value)."""
    v = np.asarray([float(x) for x in values if x is not None], dtype=np.float64)
    v = v[np.isfinite(v)]
    n = int(v.size)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(v.mean())
    if n == 1:
        return mean, mean, mean, 1
    from scipy import stats

    half = float(stats.t.ppf(0.5 + level / 2.0, n - 1) * v.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half, n
