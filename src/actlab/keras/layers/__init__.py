"""``keras.layers``: the engine's layers (``RReLU`` and ``Maxout`` are actlab extras).

``Dense`` and ``Activation`` read activation names as Keras does (``'hard_sigmoid'`` is Keras 2's
``clip(0.2 x + 0.5, 0, 1)``, see :mod:`actlab.keras.activations`) and take an activation layer
as the activation (``Dense(3, activation=LeakyReLU(alpha=0.1))``). ``LeakyReLU()`` without
``alpha`` uses 0.01 and warns once that Keras would use 0.3 (see :mod:`actlab.keras`).
"""
from __future__ import annotations

import warnings
from typing import Any

from ...engine import layers as _L
from ...engine.layers import (ELU, Dropout, Flatten, Input, InputLayer, Layer, Maxout, PReLU, ReLU, RReLU,
                              Softmax, ThresholdedReLU)
from .. import activations as _activations

__all__ = ["Activation", "Dense", "Dropout", "ELU", "Flatten", "Input", "InputLayer", "Layer", "LeakyReLU",
           "Maxout", "PReLU", "ReLU", "RReLU", "Softmax", "ThresholdedReLU", "advanced_activations", "core"]


class Dense(_L.Dense):
    __doc__ = _L.Dense.__doc__

    def __init__(self, units: int, activation: Any = None, **kw: Any):
        super().__init__(units, activation=_activations.get(activation), **kw)


class Activation(_L.Activation):
    __doc__ = _L.Activation.__doc__

    def __init__(self, activation: Any, **kw: Any):
        super().__init__(_activations.get(activation), **kw)


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
