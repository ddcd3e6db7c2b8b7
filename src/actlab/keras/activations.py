"""``keras.activations``: the zoo's functions by their Keras names, callable on arrays.

Each name is the zoo's :class:`actlab.activations.Activation` object, so ``relu(x)`` computes
the function and ``Dense(10, activation=relu)`` trains with its analytic derivative.
``leaky_relu`` has slope 0.01 here (Keras' string means 0.2; see :mod:`actlab.keras`).

>>> from actlab.keras import activations
>>> activations.relu([-1.0, 2.0]).tolist()
[0.0, 2.0]
>>> activations.get("tanh") is activations.tanh
True
"""
from __future__ import annotations

from typing import Any

from .. import activations as _zoo

__all__ = ["deserialize", "elu", "exponential", "gelu", "get", "hard_sigmoid", "hard_swish", "leaky_relu",
           "linear", "log_softmax", "mish", "relu", "relu6", "selu", "serialize", "sigmoid", "silu",
           "softmax", "softplus", "softsign", "swish", "tanh"]

elu = _zoo.get("elu")
exponential = _zoo.get("exponential")
gelu = _zoo.get("gelu")
hard_sigmoid = _zoo.get("hard_sigmoid")
hard_swish = _zoo.get("hard_swish")
leaky_relu = _zoo.get("leaky_relu")
linear = _zoo.get("linear")
log_softmax = _zoo.get("log_softmax")
mish = _zoo.get("mish")
relu = _zoo.get("relu")
relu6 = _zoo.get("relu6")
selu = _zoo.get("selu")
sigmoid = _zoo.get("sigmoid")
silu = swish = _zoo.get("silu")
softmax = _zoo.get("softmax")
softplus = _zoo.get("softplus")
softsign = _zoo.get("softsign")
tanh = _zoo.get("tanh")


def get(identifier: Any) -> _zoo.Activation:
    """``None`` -> linear; a name, an ``Activation`` or a callable -> the activation object."""
    return _zoo.get(identifier)


def serialize(activation: Any) -> str:
    return _zoo.get(activation).name


def deserialize(name: str, custom_objects=None) -> _zoo.Activation:
    return _zoo.get(name)
