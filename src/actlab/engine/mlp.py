"""The one place an MLP is built from a short description (CLI, studies, torch engine, playground).

``build_mlp(784, "200x4", "relu", 10, seed=0)`` is the notes' 784-200-200-200-200-10 network.
Activations that hold parameters or randomness get their own layer after a linear ``Dense``
(``prelu`` -> ``PReLU``, ``rrelu`` -> ``RReLU``); ``maxout`` uses ``Dense(units * k)`` then
``Maxout(k)`` so each hidden layer still has ``units`` outputs. ``kernel_initializer="critical"``
(or ``{"name": "critical", "sigma_b2": 0.05}``) draws every layer at the edge of chaos of the
activation whose outputs its weights multiply (see ``actlab.engine.initializers.Critical``).
"""
from __future__ import annotations

import re
from typing import Any, Sequence

from .. import activations as _acts
from . import initializers
from . import layers as L
from .model import Sequential


def parse_hidden(spec: Any) -> list[int]:
    """Hidden sizes from ``"200x4"``, ``"200,100"``, ``"64x2,32"``, an int or a list; ``""``/``"0"`` is none."""
    if isinstance(spec, (int,)) and not isinstance(spec, bool):
        spec = [spec]
    if isinstance(spec, (list, tuple)):
        sizes = [int(s) for s in spec]
    elif isinstance(spec, str):
        sizes = []
        text = spec.replace(" ", "")
        if text in ("", "0", "none"):
            return []
        for part in text.split(","):
            m = re.fullmatch(r"(\d+)(?:[x*](\d+))?", part)
            if not m:
                raise ValueError(f"cannot parse hidden sizes {spec!r}: use e.g. '200x4' or '128,64'")
            sizes += [int(m.group(1))] * int(m.group(2) or 1)
    else:
        raise ValueError(f"cannot parse hidden sizes {spec!r}: use e.g. '200x4' or '128,64'")
    if any(s < 1 for s in sizes):
        raise ValueError(f"hidden sizes must be positive, got {spec!r}")
    return sizes


def _as_activation(activation: Any) -> _acts.Activation:
    return _acts.get(activation) if not isinstance(activation, dict) else _acts.get(
        activation["name"], **{k: v for k, v in activation.items() if k != "name"})


def _critical(kernel_initializer: Any) -> initializers.Critical | None:
    """The critical initializer when ``kernel_initializer`` asks for one without an activation."""
    if isinstance(kernel_initializer, (str, dict, initializers.Critical)):
        try:
            init = initializers.get(kernel_initializer)
        except ValueError:
            return None   # Dense reports the bad name
        if isinstance(init, initializers.Critical) and init.activation is None:
            return init
    return None


def hidden_layers(units: int, activation: Any, **dense_kw: Any) -> list[L.Layer]:
    """The layers of one hidden layer of ``units`` outputs with ``activation``."""
    act = _as_activation(activation)
    if act.name == "prelu":
        alpha = act.params["alpha"]
        return [L.Dense(units, **dense_kw), L.PReLU(alpha_initializer=float(alpha))]
    if act.name == "rrelu":
        return [L.Dense(units, **dense_kw), L.RReLU(**act.params)]
    if act.name == "maxout":
        return [L.Dense(units * act.params["k"], **dense_kw), L.Maxout(act.params["k"])]
    if not act.elementwise:
        raise ValueError(f"{act.name!r} is not an elementwise activation and cannot be used in a hidden layer")
    return [L.Dense(units, activation=act, **dense_kw)]


def build_mlp(input_dim: int, hidden: Any, activation: Any, num_classes: int, *, seed: int = 0,
              kernel_initializer: Any = "glorot_uniform", dtype: Any = "float32", output: str | None = None,
              dropout: float = 0.0, kernel_regularizer: Any = None,
              activations_per_layer: Sequence[Any] | None = None) -> Sequential:
    """An MLP ``input_dim -> hidden... -> num_classes``.

    ``output`` defaults to ``'softmax'`` (``'sigmoid'`` for ``num_classes == 1``, ``'linear'``
    for regression when asked). ``activations_per_layer`` overrides ``activation`` layer by layer.
    """
    sizes = parse_hidden(hidden)
    acts = list(activations_per_layer) if activations_per_layer is not None else [activation] * len(sizes)
    if len(acts) != len(sizes):
        raise ValueError(f"{len(acts)} activations given for {len(sizes)} hidden layers")
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    output = output or ("sigmoid" if num_classes == 1 else "softmax")
    model = Sequential(seed=seed, dtype=dtype)
    dense_kw = {"kernel_initializer": kernel_initializer, "kernel_regularizer": kernel_regularizer}
    critical = _critical(kernel_initializer)
    for i, (units, act) in enumerate(zip(sizes, acts)):
        if critical is not None:
            # a layer's weights multiply the previous layer's outputs: its edge of chaos is that
            # activation's (the first layer, fed by the input, takes its own: a homogeneous net)
            dense_kw["kernel_initializer"] = critical.bind(_as_activation(acts[max(i - 1, 0)]))
        for layer in hidden_layers(units, act, **dense_kw):
            model.add(layer)
        if dropout:
            model.add(L.Dropout(dropout))
    if critical is not None and acts:
        dense_kw["kernel_initializer"] = critical.bind(_as_activation(acts[-1]))
    model.add(L.Dense(num_classes, activation=output, **dense_kw))
    model.build(int(input_dim))
    return model
