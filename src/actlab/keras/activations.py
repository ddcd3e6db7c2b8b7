"""``keras.activations``: the zoo's functions by their Keras names, called as Keras calls them.

Each name is a zoo :class:`actlab.activations.Activation` (so ``Dense(10, activation=relu)``
trains with its analytic derivative) that also takes Keras' parameters when called:
``relu(x, alpha=0., max_value=None, threshold=0.)``, ``elu(x, alpha=1.)``, ``softmax(x, axis=-1)``,
``gelu(x, approximate=False)``, ``leaky_relu(x, alpha)``, ``log_softmax(x, axis=-1)``.

Keras 2's definitions where the zoo's default form differs:

* ``hard_sigmoid`` is Keras 2's ``clip(0.2 x + 0.5, 0, 1)`` (the zoo's ``hard_sigmoid_keras``; the
  zoo's ``hard_sigmoid`` is PyTorch's ``relu6(x + 3) / 6``), as is the string ``'hard_sigmoid'`` in
  ``get``, ``Dense`` and ``Activation`` of :mod:`actlab.keras.layers`.
* ``softmax`` of a 1-D array raises ``ValueError``, as Keras (a batch of rows is 2-D).
* ``leaky_relu`` has slope 0.01 here (Keras' string means 0.2; see :mod:`actlab.keras`).

``get`` also takes an activation layer, as Keras: ``get(LeakyReLU(alpha=0.1))``.

>>> from actlab.keras import activations
>>> activations.relu([-1.0, 2.0]).tolist()
[0.0, 2.0]
>>> activations.relu([-1.0, 2.0], alpha=0.5, max_value=1.0).tolist()
[-0.5, 1.0]
>>> activations.get("tanh") is activations.tanh
True
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import activations as _zoo
from ..engine.layers import activation_of as _activation_of

__all__ = ["deserialize", "elu", "exponential", "gelu", "get", "hard_sigmoid", "hard_swish", "leaky_relu",
           "linear", "log_softmax", "mish", "relu", "relu6", "selu", "serialize", "sigmoid", "silu",
           "softmax", "softplus", "softsign", "swish", "tanh"]


@dataclass(frozen=True, eq=False, repr=False)
class KerasActivation(_zoo.Activation):
    """A zoo activation under its Keras name, callable with Keras' extra arguments.

    ``keras_args(*args, **kwargs)`` binds them as Keras' function signature does and returns the zoo
    activation they select (``elu(x, 0.5)`` -> the zoo's elu with alpha 0.5).
    """

    keras_name: str = ""
    keras_args: Callable[..., _zoo.Activation] | None = None
    min_ndim: int = 0

    def __call__(self, x: Any, *args: Any, **kwargs: Any) -> np.ndarray:
        arr = _zoo.as_float_array(x)
        if arr.ndim < self.min_ndim:
            raise ValueError(f"Cannot apply {self.keras_name} to a tensor that is {arr.ndim}D "
                             f"(it needs at least {self.min_ndim} dimensions). Received input: {x!r}")
        if not (args or kwargs):
            return self.fn(arr, **self.params)
        if self.keras_args is None:
            raise TypeError(f"{self.keras_name}() takes one argument, the input (got {len(args)} more "
                            f"positional and {sorted(kwargs)} keyword arguments)")
        return self.keras_args(*args, **kwargs)(arr)


def _keras(keras_name: str, keras_args=None, min_ndim: int = 0) -> KerasActivation:
    act = _zoo.get(_zoo.keras_names()[keras_name])
    fields = {f: getattr(act, f) for f in act.__dataclass_fields__}
    return KerasActivation(**fields, keras_name=keras_name, keras_args=keras_args, min_ndim=min_ndim)


def _relu_args(alpha: float = 0.0, max_value: float | None = None, threshold: float = 0.0) -> _zoo.Activation:
    if alpha == 0.0 and max_value is None and threshold == 0.0:
        return _zoo.get("relu")
    return _zoo.get("relu_keras", negative_slope=alpha, max_value=max_value, threshold=threshold)


def _elu_args(alpha: float = 1.0) -> _zoo.Activation:
    return _zoo.get("elu", alpha=alpha)


def _leaky_relu_args(alpha: float = 0.01) -> _zoo.Activation:
    return _zoo.get("leaky_relu", alpha=alpha)


def _gelu_args(approximate: bool = False) -> _zoo.Activation:
    return _zoo.get("gelu", approximate=approximate)


def _axis_args(name: str):
    def bind(axis: int | tuple = -1) -> _zoo.Activation:
        return _zoo.get(name, axis=axis)
    return bind


# Keras' functions, by Keras' names (the zoo entry each one is comes from the entries' ``keras`` field)
elu = _keras("elu", keras_args=_elu_args)
exponential = _keras("exponential")
gelu = _keras("gelu", keras_args=_gelu_args)
hard_sigmoid = _keras("hard_sigmoid")
hard_swish = _keras("hard_swish")
leaky_relu = _keras("leaky_relu", keras_args=_leaky_relu_args)
linear = _keras("linear")
log_softmax = _keras("log_softmax", keras_args=_axis_args("log_softmax"))
mish = _keras("mish")
relu = _keras("relu", keras_args=_relu_args)
relu6 = _keras("relu6")
selu = _keras("selu")
sigmoid = _keras("sigmoid")
silu = swish = _keras("silu")
softmax = _keras("softmax", keras_args=_axis_args("softmax"), min_ndim=2)
softplus = _keras("softplus")
softsign = _keras("softsign")
tanh = _keras("tanh")

# Keras' names (and the zoo names of the same functions, where Keras does not use them for another) -> the
# objects above; "swish" is Keras' other name of silu
_FUNCTIONS = (elu, exponential, gelu, hard_sigmoid, hard_swish, leaky_relu, linear, log_softmax, mish, relu, relu6,
              selu, sigmoid, silu, softmax, softplus, softsign, tanh)
_BY_NAME: dict[str, KerasActivation] = {a.keras_name: a for a in _FUNCTIONS}
_BY_NAME.update({a.name: a for a in _FUNCTIONS if a.name not in _BY_NAME})
_BY_NAME["swish"] = silu


def get(identifier: Any) -> _zoo.Activation:
    """``None`` -> linear; a Keras name (``'hard_sigmoid'`` is Keras 2's), any zoo name, an
    ``Activation``, a callable, or an activation layer (``LeakyReLU(alpha=0.1)``) -> the activation.
    Anything else raises ``ValueError`` naming what it got."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        key = identifier.strip().lower().replace("-", "_")
        if key in _BY_NAME:
            return _BY_NAME[key]
        zoo_name = _zoo.keras_names().get(key)   # one registered later under a Keras name of its own
        if zoo_name is not None:
            return _zoo.get(zoo_name)
    return _activation_of(identifier)


def serialize(activation: Any) -> str:
    """The name ``get`` and ``deserialize`` take back (Keras' name for Keras' functions)."""
    if isinstance(activation, KerasActivation):
        return activation.keras_name
    return get(activation).name


def deserialize(name: str, custom_objects=None) -> _zoo.Activation:
    if custom_objects and name in custom_objects:
        return get(custom_objects[name])
    return get(name)
