"""Per-layer diagnostics of a network: gradient norms, activation statistics, saturation, dead
and inactive units — one definition of each, used by the studies, the playground and the reports.

Nothing here trains, stores or plots: every function takes a built engine ``Sequential`` and a
*probe set* ``x`` (a fixed batch of inputs) and returns numbers. The studies probe the first
``probe`` training examples, the playground every training point.

Definitions (per hidden layer, on the probe set, in inference mode: no dropout, RReLU at its
mean slope):

* **gradient norm**: the Frobenius norm of dL/dW for the layer's ``Dense`` kernel, L the mean
  data loss over the probe set, without any L1/L2 penalty (as Glorot & Bengio 2010 look at the
  weight gradients layer by layer).
* **mean, std**: of the hidden layer's outputs over every example and unit.
* **saturated**: the fraction of (example, unit) pairs where the activation is saturated:
  by the activation's own criterion on its output where its registry entry has one
  (``Activation.saturated``: sigmoid output within 0.01 of 0 or 1, |tanh| > 0.99, Glorot &
  Bengio's criteria); for every other activation, |f'(z)| < 0.01 * max|f'| (``properties.max_abs_derivative``; a threshold of
  0.01 when that maximum is infinite). By this rule a ReLU unit is "saturated" wherever z <= 0.
* **dead** (:data:`DEAD_UNIT`): a unit is dead when no gradient can reach any of its parameters
  or its inputs through it from any probe example, whatever loss is put on top:

  - its derivative df/dz is **exactly 0** (in the model's dtype) on every probe example, so
    dL/dW and dL/db of its incoming weights and its share of dL/dx are 0;
  - and, for an activation with a learnable slope (PReLU), the slope's gradient
    df/dalpha = min(z, 0) is 0 on every probe example too: a PReLU unit whose slope still
    learns can come back. With alpha = 0 and z < 0 the unit is therefore *alive*
    (inactive, not dead); it is dead only where z = 0 exactly on every example;
  - a **maxout** unit, max_j z_j over its k pieces, is never dead: on every example the
    winning piece has derivative 1, so its weights always get a gradient. What can die in
    maxout is a *piece*: one that wins on no probe example gets no gradient
    (:func:`idle_pieces`).

  No threshold: ReLU'(z) = 0 exactly for z <= 0, so a ReLU unit is dead exactly when z <= 0 on
  every probe example, and leaky ReLU (slope alpha != 0) or ELU units are never dead. A sigmoid
  at z = -30 has f' ~ 1e-13: tiny, not zero — *saturated*, which the saturation fraction
  reports. The definition is local to the unit: a unit whose outgoing weights are 0 is not
  dead (those weights still get a gradient and can grow).
* **inactive**: the fraction of units whose output is <= 0 on every probe example (for ReLU
  the same units as dead; for leaky ReLU, PReLU and ELU units that are "off" but still pass a
  gradient).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import activations as _acts
from . import layers as L

__all__ = ["DEAD_UNIT", "HiddenLayer", "hidden_layers", "LayerProbe", "probe", "gradient_norms",
           "hidden_gradient_norms", "dead_units", "idle_pieces", "saturation_fraction", "SATURATION_RULES",
           "layer_stats", "measure"]

#: The definition of a dead unit, in one sentence, for reports, help texts and the playground.
DEAD_UNIT = ("A hidden unit is dead when no gradient reaches its weights or inputs from any probe example: "
             "its derivative f'(z) is exactly 0 on every one of them and, for PReLU, so is the gradient of "
             "its slope (min(z, 0)); a maxout unit is never dead (its winning piece always has slope 1).")


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


def hidden_layers(model: Any) -> list[HiddenLayer]:
    """The hidden layers of an MLP: every ``Dense`` but the last, with the activation layers after it
    (those with an ``activation_name``: ``Activation`` and its kinds, ``PReLU``, ``RReLU``)."""
    dense = [i for i, layer in enumerate(model.layers) if isinstance(layer, L.Dense)]
    if not dense:
        raise ValueError("the model has no Dense layer")
    out: list[HiddenLayer] = []
    for n, i in enumerate(dense[:-1]):
        layer = model.layers[i]
        h = HiddenLayer(number=n, dense=i, activation=layer.activation.name)
        for j in range(i + 1, dense[n + 1]):
            name = getattr(model.layers[j], "activation_name", None)
            if name is not None:
                h.parts.append(j)
                h.activation = name
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

    L is the mean data loss on ``x``: a kernel regularizer's term is left out. ``y`` may be
    integer labels or one-hot rows (or the targets of a 1-unit output); the model must be compiled.
    """
    grads = model.gradients(x, _one_hot(model, y))
    norms = []
    for layer, g in zip(model.layers, grads):
        if not isinstance(layer, L.Dense):
            continue
        gk = g["kernel"].astype(np.float64)
        if layer.kernel_regularizer is not None:
            gk = gk - layer.kernel_regularizer.gradient(layer.params["kernel"])
        norms.append(float(np.linalg.norm(gk)))
    return norms


def hidden_gradient_norms(model: Any, x: Any, y: Any) -> list[float]:
    """``gradient_norms`` restricted to the hidden layers (the output layer dropped)."""
    return gradient_norms(model, x, y)[:-1]


# -- one forward pass, per hidden layer -----------------------------------------------------------

@dataclass
class LayerProbe:
    """One hidden layer on the probe set (rows = examples, columns = units).

    ``z``: the ``Dense`` output (pre-activation); ``y``: the hidden layer's output; ``d``: dy/dz
    per unit (for maxout: the derivative with respect to the winning piece, 1); ``dalpha``:
    dy/dalpha for a PReLU layer, else None; ``winners``: for maxout, the index of the winning
    piece of each unit on each example, else None; ``max_abs_derivative``: sup |f'| of the layer's
    last function (the saturation threshold's scale). Each activation layer computes its own
    (``layer.probe``, :class:`actlab.engine.layers.Probe`).
    """

    layer: HiddenLayer
    z: np.ndarray
    y: np.ndarray
    d: np.ndarray
    dalpha: np.ndarray | None = None
    winners: np.ndarray | None = None
    max_abs_derivative: float = 1.0

    @property
    def dead(self) -> np.ndarray:
        """The boolean mask of dead units (see the module's definition)."""
        dead = np.all(self.d == 0, axis=0)
        if self.dalpha is not None:
            dead &= np.all(self.dalpha == 0, axis=0)
        return dead

    @property
    def inactive(self) -> np.ndarray:
        """The boolean mask of units whose output is <= 0 on every probe example."""
        return np.all(self.y <= 0, axis=0)


def _forward(model: Any, x: Any) -> list[np.ndarray]:
    x = np.ascontiguousarray(x, dtype=model.dtype)
    if x.ndim != 2:
        raise ValueError(f"the probe batch must be 2-D (samples, features), got shape {x.shape}")
    model.forward(x, training=False, keep=True)
    return [x] + list(model.outputs_)   # outs[i + 1] is layer i's output, outs[0] the input


def _block(model: Any, h: HiddenLayer, outs: list[np.ndarray]) -> LayerProbe:
    dense = model.layers[h.dense]
    # recomputed in the model's dtype, so "derivative exactly 0" is what the engine sees
    z = outs[h.dense] @ dense.params["kernel"]
    if dense.use_bias:
        z = z + dense.params["bias"]
    d = dense.activation.derivative(z)
    cur = dense.activation(z)
    bound = dense.activation.properties.max_abs_derivative
    dalpha = winners = None
    for j in h.parts:   # each activation layer knows its own local derivatives
        p = model.layers[j].probe(cur, d)
        cur, d, bound = p.y, p.d, p.max_abs_derivative
        dalpha = p.dalpha if p.dalpha is not None else dalpha
        winners = p.winners if p.winners is not None else winners
    return LayerProbe(h, z, cur, d, dalpha, winners, bound)


def probe(model: Any, x: Any) -> list[LayerProbe]:
    """One forward pass over the probe set ``x`` (inference mode); a :class:`LayerProbe` per hidden layer."""
    outs = _forward(model, x)
    return [_block(model, h, outs) for h in hidden_layers(model)]


def dead_units(model: Any, x: Any) -> list[np.ndarray]:
    """For every hidden layer, the boolean mask of its dead units on the probe set ``x``."""
    return [p.dead for p in probe(model, x)]


def idle_pieces(model: Any, x: Any) -> list[np.ndarray | None]:
    """For every hidden layer, a (units, k) boolean mask of the maxout pieces that win on no
    example of ``x`` (and so get no gradient); None for a layer that is not maxout."""
    out: list[np.ndarray | None] = []
    for p in probe(model, x):
        if p.winners is None:
            out.append(None)
            continue
        k = p.z.shape[1] // p.winners.shape[1]   # pieces per unit
        won = np.zeros((p.winners.shape[1], k), dtype=bool)
        won[np.arange(p.winners.shape[1])[None, :], p.winners] = True
        out.append(~won)
    return out


# -- statistics -----------------------------------------------------------------------------------

def _max_abs_derivative(p: LayerProbe) -> float:
    value = p.max_abs_derivative
    return float(value) if value is not None and math.isfinite(value) and value > 0 else 1.0


def _saturation_rule(activation: str):
    try:
        return _acts.get(activation).saturated
    except ValueError:   # a name this process has not registered
        return None


def saturation_fraction(activation: str, y: np.ndarray, d: np.ndarray, max_abs_derivative: float = 1.0) -> float:
    """The fraction of entries that are saturated: by the activation's own criterion on its output
    (``Activation.saturated``: sigmoid, tanh), else where |f'| < 0.01 max|f'|.

    ``y`` is the activation's output and ``d`` its derivative at the same points.
    """
    rule = _saturation_rule(activation)
    if rule is not None:
        mask = rule(np.asarray(y))
    else:
        mask = np.abs(np.asarray(d)) < 0.01 * max_abs_derivative
    return float(np.mean(mask)) if mask.size else 0.0


#: The zoo's criteria on the output (Glorot & Bengio's: sigmoid, tanh), read from the registry's entries
#: (``Activation.saturated``); other activations use |f'| < 0.01 max|f'|.
SATURATION_RULES = {name: _acts.get(name).saturated for name in _acts.names() if _acts.get(name).saturated is not None}


def layer_stats(model: Any, x: Any) -> list[dict[str, float]]:
    """Per hidden layer: ``mean``, ``std``, ``saturated``, ``dead``, ``inactive`` (fractions) and ``units``."""
    stats = []
    for p in probe(model, x):
        h, y = p.layer, p.y
        stats.append({
            "activation": h.activation,
            "units": int(y.shape[1]),
            "mean": float(np.mean(y)),
            "std": float(np.std(y)),
            "saturated": saturation_fraction(h.activation, y, p.d, _max_abs_derivative(p)),
            "dead": float(np.mean(p.dead)),
            "inactive": float(np.mean(p.inactive)),
        })
    return stats


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
