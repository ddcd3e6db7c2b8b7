"""``keras.layers``: the engine's layers (``RReLU`` and ``Maxout`` are actlab extras).

``LeakyReLU()`` without ``alpha`` uses 0.01 and warns once that Keras would use 0.3
(see :mod:`actlab.keras`).
"""
from __future__ import annotations

import warnings
from typing import Any

from ...engine import layers as _L
from ...engine.layers import (ELU, Activation, Dense, Dropout, Flatten, Input, InputLayer, Layer, Maxout,
                              PReLU, RReLU, Softmax)

__all__ = ["Activation", "Dense", "Dropout", "ELU", "Flatten", "Input", "InputLayer", "Layer", "LeakyReLU",
           "Maxout", "PReLU", "RReLU", "Softmax", "advanced_activations", "core"]

_warned_leaky_default = False

LEAKY_DEFAULT_MESSAGE = (
    "LeakyReLU() without alpha: actlab uses alpha=0.01 (the study notes' and PyTorch's default), "
    "Keras would use alpha=0.3. Pass alpha explicitly (e.g. LeakyReLU(alpha=0.3) for Keras' "
    "behaviour) to silence this warning.")


class LeakyReLU(_L.LeakyReLU):
    __doc__ = _L.LeakyReLU.__doc__

    def __init__(self, alpha: float | None = None, negative_slope: float | None = None, **kw: Any):
        global _warned_leaky_default
        if alpha is None and negative_slope is None and not _warned_leaky_default:
            _warned_leaky_default = True
            warnings.warn(LEAKY_DEFAULT_MESSAGE, UserWarning, stacklevel=2)
        super().__init__(alpha=alpha, negative_slope=negative_slope, **kw)


from . import advanced_activations, core  # noqa: E402  (they re-export the names above)
