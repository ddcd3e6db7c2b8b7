"""Losses, mean-reduced over the batch as in Keras.

Each loss gives its value and its gradient with respect to the network output. Two pairs are
fused with the output activation, because their gradient with respect to the pre-activation
``z`` collapses to ``(p - y) / n``:

* softmax + categorical cross-entropy: dL/dz = (p - y) / n
* sigmoid + binary cross-entropy:      dL/dz = (p - y) / (n * d)   (mean over the d outputs too)

The model uses the fused delta whenever the last layer's activation and the loss form one of
these pairs; otherwise it chains ``gradient`` through the activation's VJP.

``keras_categorical_crossentropy`` is never fused: it is Keras 2's cross-entropy on
probabilities, clip included, whose gradient is zero wherever the clip is active (see
:func:`keras_categorical_crossentropy`).
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


def keras_categorical_crossentropy(y_true, y_pred):
    r"""Keras 2's ``categorical_crossentropy`` on probabilities, with its clip and the clip's gradient.

    Keras 2.0.0 to 2.2.5 with the TensorFlow backend (``keras/backend/tensorflow_backend.py``,
    ``categorical_crossentropy(target, output, from_logits=False)``, e.g. tag 2.2.4) compute::

        output /= tf.reduce_sum(output, axis, True)
        _epsilon = _to_tensor(epsilon(), output.dtype.base_dtype)     # 1e-7
        output = tf.clip_by_value(output, _epsilon, 1. - _epsilon)
        return - tf.reduce_sum(target * tf.log(output), axis)

    and ``fit`` averages over the batch. The softmax is its own layer, so the gradient flows
    through this expression and then the softmax's Jacobian (not the fused ``p - y``). With
    :math:`q = p / \sum_k p_k`, :math:`m_k = [\epsilon \le q_k \le 1 - \epsilon]` (TensorFlow
    passes the gradient of ``clip_by_value`` where the value lies inside the bounds, bounds
    included, and gives zero outside) and :math:`g_k = -y_k m_k / q_k`:

    .. math::
        L = -\frac{1}{n} \sum_i \sum_k y_{ik} \log \operatorname{clip}(q_{ik}), \qquad
        \frac{\partial L}{\partial p_{ij}} = \frac{1}{n\,S_i} \Big(g_{ij} - \sum_k g_{ik} q_{ik}\Big).

    Where nothing clips, the chain through the softmax gives exactly the fused ``(p - y) / n``;
    a sample whose true class has ``q <= 1e-7`` (confidently wrong) or ``q >= 1 - 1e-7``
    (confidently right, which a float32 softmax reaches by rounding to 1) contributes no
    gradient at all. Keras 2.3.x delegates to ``tf.keras.backend.categorical_crossentropy``,
    whose later versions take the logits of a softmax output instead (the fused loss).
    The bounds are compared in the array's dtype, as TensorFlow casts ``epsilon``.
    """
    eps = y_pred.dtype.type(EPSILON) if y_pred.dtype.kind == "f" else EPSILON
    q = y_pred / np.sum(y_pred, axis=-1, keepdims=True)
    q = np.minimum(np.maximum(q, eps), 1 - eps)
    return float(-np.sum(y_true * np.log(q)) / y_true.shape[0])


def d_keras_categorical_crossentropy(y_true, y_pred):
    """The gradient of :func:`keras_categorical_crossentropy` w.r.t. the probabilities."""
    eps = y_pred.dtype.type(EPSILON) if y_pred.dtype.kind == "f" else EPSILON
    s = np.sum(y_pred, axis=-1, keepdims=True)
    q = y_pred / s
    inside = (q >= eps) & (q <= 1 - eps)
    g = np.where(inside, -y_true / np.where(inside, q, 1), 0).astype(q.dtype, copy=False)
    g -= np.sum(g * q, axis=-1, keepdims=True)
    g /= s * y_true.shape[0]
    return g


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
    # never fused: the gradient goes through the clip, then the softmax's VJP, as in Keras 2
    "keras_categorical_crossentropy": Loss("keras_categorical_crossentropy", keras_categorical_crossentropy,
                                           d_keras_categorical_crossentropy),
}
#: A classification run's loss when none is named (fused with the softmax: gradient p - y), and the
#: losses such a run may name instead (`actlab train --loss`, `actlab reproduce notes --loss`, make_config)
DEFAULT_LOSS = "categorical_crossentropy"
CLASSIFICATION_LOSSES = (DEFAULT_LOSS, "keras_categorical_crossentropy")
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
