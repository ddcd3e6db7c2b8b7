"""Pure measurements of a network's health: per-layer gradient norms, activation statistics,
saturation, dead and inactive units.

Nothing here trains, stores or plots: every function takes a built ``Sequential`` and a probe
batch and returns numbers, so the depth and dying studies, the playground and the tests share
one definition of each quantity.

Definitions (per hidden layer, on a probe batch ``x`` in inference mode):

* **gradient norm**: the Frobenius norm of dL/dW for the layer's ``Dense`` kernel, L the mean
  loss over the batch (as Glorot & Bengio 2010 look at the weight gradients layer by layer).
* **mean, std**: of the hidden layer's outputs over every example and unit.
* **saturated**: the fraction of (example, unit) pairs where the activation is saturated:
  sigmoid output within 0.01 of 0 or 1, |tanh| > 0.99 (Glorot & Bengio's criteria); for every
  other activation, |f'(z)| < 0.01 * max|f'| (``properties.max_abs_derivative``; a threshold of
  0.01 when that maximum is infinite). By this rule a ReLU unit is "saturated" wherever z <= 0.
* **dead**: the fraction of units through which no gradient flows for *any* probe example:
  df/dz = 0 on every example (and, for PReLU, d f/d alpha = min(z, 0) = 0 too, since a PReLU
  unit whose slope still learns can come back). ReLU'(0) = 0, so a ReLU unit is dead exactly
  when z <= 0 on every probe example. Leaky ReLU's derivative is never 0: its units are never
  dead.
* **inactive**: the fraction of units whose output is <= 0 on every probe example (for ReLU
  the same units as dead; for leaky ReLU, PReLU and ELU units that are "off" but still pass a
  gradient).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..activations import zoo as _zoo
from ..engine import layers as L

__all__ = ["HiddenLayer", "hidden_layers", "gradient_norms", "hidden_gradient_norms", "layer_stats",
           "dead_units", "saturation_fraction", "measure", "mean_ci", "SATURATION_RULES"]


@dataclass
class HiddenLayer:
    """Where one hidden layer lives in ``model.layers``.

    ``dense`` is the index of its ``Dense`` layer, ``parts`` the indices of the activation
    layers that follow it (``PReLU``, ``Activation``, ...), ``out`` the index whose output is the
    hidden layer's output, ``activation`` the name of its non-linearity ('linear' if none).
    """

    number: int
    dense: int
    parts: list[int] = field(default_factory=list)
    activation: str = "linear"

    @property
    def out(self) -> int:
        return self.parts[-1] if self.parts else self.dense


_ACTIVATION_LAYERS = (L.Activation, L.PReLU, L.RReLU)


def hidden_layers(model: Any) -> list[HiddenLayer]:
    """The hidden layers of an MLP: every ``Dense`` but the last, with the activation layers after it."""
    dense = [i for i, layer in enumerate(model.layers) if isinstance(layer, L.Dense)]
    if not dense:
        raise ValueError("the model has no Dense layer")
    out: list[HiddenLayer] = []
    for n, i in enumerate(dense[:-1]):
        layer = model.layers[i]
        h = HiddenLayer(number=n, dense=i, activation=layer.activation.name)
        for j in range(i + 1, dense[n + 1]):
            part = model.layers[j]
            if isinstance(part, _ACTIVATION_LAYERS):
                h.parts.append(j)
                h.activation = "prelu" if isinstance(part, L.PReLU) else (
                    "rrelu" if isinstance(part, L.RReLU) else part.activation.name)
        out.append(h)
    return out


# -- gradients ----------------------------------------------------------------------------------

def _one_hot(model: Any, y: Any) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 1 and model.output_dim > 1:
        if not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"labels must be integers or one-hot rows, got dtype {y.dtype}")
        eye = np.eye(model.output_dim, dtype=model.dtype)
        return eye[y]
    return y


def gradient_norms(model: Any, x: Any, y: Any) -> list[float]:
    """The Frobenius norm of dL/dkernel for every ``Dense`` layer, input to output (output layer last).

    ``y`` may be integer labels or one-hot rows; the model must be compiled.
    """
    grads = model.gradients(x, _one_hot(model, y))
    return [float(np.linalg.norm(g["kernel"].astype(np.float64)))
            for layer, g in zip(model.layers, grads) if isinstance(layer, L.Dense)]


def hidden_gradient_norms(model: Any, x: Any, y: Any) -> list[float]:
    """``gradient_norms`` restricted to the hidden layers (the output layer dropped)."""
    return gradient_norms(model, x, y)[:-1]


# -- activations ----------------------------------------------------------------------------------

def _forward(model: Any, x: Any) -> list[np.ndarray]:
    x = np.ascontiguousarray(x, dtype=model.dtype)
    if x.ndim != 2:
        raise ValueError(f"the probe batch must be 2-D (samples, features), got shape {x.shape}")
    model.forward(x, training=False, keep=True)
    return [x] + list(model.outputs_)   # outs[i + 1] is layer i's output, outs[0] the input


def _block(model: Any, h: HiddenLayer, outs: list[np.ndarray]):
    """(z, y, d, dalpha): pre-activation, output, dy/dz per unit and, for PReLU, d y / d alpha."""
    dense = model.layers[h.dense]
    # recomputed in the model's dtype, so "derivative exactly 0" is what the engine sees
    z = outs[h.dense] @ dense.params["kernel"]
    if dense.use_bias:
        z = z + dense.params["bias"]
    d = dense.activation.derivative(z)
    cur = dense.activation(z)
    dalpha = None
    for j in h.parts:
        part = model.layers[j]
        if isinstance(part, L.PReLU):
            alpha = part.params["alpha"]
            d = d * _zoo.d_prelu(cur, None, alpha)
            dalpha = _zoo.d_prelu_alpha(cur)
            cur = _zoo.prelu(cur, alpha)
        elif isinstance(part, L.Maxout):
            k = part.activation.params["k"]
            # each output is its winning piece: slope 1 with respect to that piece
            d = np.ones((cur.shape[0], cur.shape[1] // k))
            cur = part.activation(cur)
        else:  # Activation, LeakyReLU, ELU, RReLU (inference: the mean slope)
            d = d * part.activation.derivative(cur)
            cur = part.activation(cur)
    return z, cur, d, dalpha


def _max_abs_derivative(model: Any, h: HiddenLayer) -> float:
    if h.parts:
        part = model.layers[h.parts[-1]]
        if isinstance(part, L.PReLU):
            return max(1.0, float(np.abs(part.params["alpha"]).max()))
        act = part.activation
    else:
        act = model.layers[h.dense].activation
    value = act.properties.max_abs_derivative
    return float(value) if value is not None and math.isfinite(value) and value > 0 else 1.0


def saturation_fraction(activation: str, y: np.ndarray, d: np.ndarray, max_abs_derivative: float = 1.0) -> float:
    """The fraction of entries that are saturated (see ``SATURATION_RULES``).

    ``y`` is the activation's output and ``d`` its derivative at the same points.
    """
    rule = SATURATION_RULES.get(activation)
    if rule is not None:
        mask = rule(np.asarray(y))
    else:
        mask = np.abs(np.asarray(d)) < 0.01 * max_abs_derivative
    return float(np.mean(mask)) if mask.size else 0.0


#: Glorot & Bengio's criteria on the output; other activations use |f'| < 0.01 max|f'|.
SATURATION_RULES = {
    "sigmoid": lambda y: (y < 0.01) | (y > 0.99),
    "tanh": lambda y: np.abs(y) > 0.99,
}


def dead_units(model: Any, x: Any) -> list[np.ndarray]:
    """For every hidden layer, a boolean mask of its units that pass no gradient on any example of ``x``."""
    outs = _forward(model, x)
    masks = []
    for h in hidden_layers(model):
        _, _, d, dalpha = _block(model, h, outs)
        dead = np.all(d == 0, axis=0)
        if dalpha is not None:
            dead &= np.all(dalpha == 0, axis=0)
        masks.append(dead)
    return masks


def layer_stats(model: Any, x: Any) -> list[dict[str, float]]:
    """Per hidden layer: ``mean``, ``std``, ``saturated``, ``dead``, ``inactive`` (fractions) and ``units``."""
    outs = _forward(model, x)
    stats = []
    for h in hidden_layers(model):
        _, y, d, dalpha = _block(model, h, outs)
        dead = np.all(d == 0, axis=0)
        if dalpha is not None:
            dead &= np.all(dalpha == 0, axis=0)
        inactive = np.all(y <= 0, axis=0)
        stats.append({
            "activation": h.activation,
            "units": int(y.shape[1]),
            "mean": float(np.mean(y)),
            "std": float(np.std(y)),
            "saturated": saturation_fraction(h.activation, y, d, _max_abs_derivative(model, h)),
            "dead": float(np.mean(dead)),
            "inactive": float(np.mean(inactive)),
        })
    return stats


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


def measure(model: Any, x: Any, y: Any | None = None) -> dict[str, list]:
    """Every measurement above as JSON-able lists (one entry per hidden layer).

    Keys: ``mean``, ``std``, ``saturated``, ``dead``, ``inactive``, ``dead_count``, ``units``
    and, when labels ``y`` are given, ``grad_norm`` (hidden layers) and ``grad_norm_output``.
    """
    stats = layer_stats(model, x)
    out: dict[str, Any] = {k: [s[k] for s in stats] for k in ("mean", "std", "saturated", "dead", "inactive", "units")}
    out["dead_count"] = [int(round(s["dead"] * s["units"])) for s in stats]
    if y is not None:
        norms = gradient_norms(model, x, y)
        out["grad_norm"] = norms[:-1]
        out["grad_norm_output"] = norms[-1]
    return out
