"""Losses, mean-reduced over the batch as in Keras.

Each loss gives its value and its gradient with respect to the network output. Two pairs are
fused with the output activation, because their gradient with respect to the pre-activation
``z`` collapses to ``(p - y) / n``:

* softmax + categorical cross-entropy: dL/dz = (p - y) / n
* sigmoid + binary cross-entropy:      dL/dz = (p - y) / (n * d)   (mean over the d outputs too)

The model uses the fused delta whenever the last layer's activation and the loss form one of
these pairs; otherwise it chains ``gradient`` through the activation's VJP.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Callable

import numpy as np

EPSILON = 1e-7  # Keras' clip of probabilities before the log


def _check(y_true, y_pred):
    if y_true.shape != y_pred.shape:
        raise ValueError(f"labels of shape {y_true.shape} do not match the model output shape {y_pred.shape}")


def categorical_crossentropy(y_true, y_pred):
    # np.clip's Python wrapper costs more than the work on a batch: its two ufuncs directly
    p = np.minimum(np.maximum(y_pred, EPSILON), 1.0 - EPSILON)
    np.log(p, out=p)
    p *= y_true
    return float(-np.add.reduce(p, axis=None) / y_true.shape[0])


def d_categorical_crossentropy(y_true, y_pred):
    p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return -(y_true / p) / y_true.shape[0]


def binary_crossentropy(y_true, y_pred):
    p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return float(-np.mean(y_true * np.log(p) + (1.0 - y_true) * np.log1p(-p)))


def d_binary_crossentropy(y_true, y_pred):
    p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
    return (p - y_true) / (p * (1.0 - p)) / y_true.size


def mean_squared_error(y_true, y_pred):
    return float(np.mean(np.square(y_pred - y_true)))


def d_mean_squared_error(y_true, y_pred):
    return 2.0 * (y_pred - y_true) / y_true.size


@dataclass(frozen=True)
class Loss:
    name: str
    value: Callable[[np.ndarray, np.ndarray], float]
    gradient: Callable[[np.ndarray, np.ndarray], np.ndarray]
    fused_activation: str | None = None   # output activation whose pairing gives delta = p - y
    target_range: tuple[float, float] | None = None   # the values a target may take (None: any)

    def fused_delta(self, y_true, y_pred, factor: float = 1.0):
        """``factor`` times dL/dz for the fused pair (see the module docstring)."""
        scale = y_true.shape[0] if self.name == "categorical_crossentropy" else y_true.size
        delta = y_pred - y_true
        delta *= factor / scale
        return delta


LOSSES = {
    "categorical_crossentropy": Loss("categorical_crossentropy", categorical_crossentropy,
                                     d_categorical_crossentropy, "softmax", (0.0, 1.0)),
    "binary_crossentropy": Loss("binary_crossentropy", binary_crossentropy, d_binary_crossentropy, "sigmoid",
                                (0.0, 1.0)),
    "mean_squared_error": Loss("mean_squared_error", mean_squared_error, d_mean_squared_error),
}
_ALIASES = {"mse": "mean_squared_error", "crossentropy": "categorical_crossentropy",
            "sparse_categorical_crossentropy": "categorical_crossentropy"}


def get(identifier) -> Loss:
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        key = _ALIASES.get(identifier, identifier)
        if key in LOSSES:
            return LOSSES[key]
        valid = list(LOSSES) + list(_ALIASES)
        close = difflib.get_close_matches(identifier, valid, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown loss {identifier!r}.{hint} Valid losses: {', '.join(valid)}")
    raise ValueError(f"cannot interpret {identifier!r} as a loss; valid losses: {', '.join(LOSSES)}")
