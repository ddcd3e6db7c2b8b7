"""Layers of the NumPy engine, each with an explicit forward and backward pass.

A layer holds its parameters in ``params`` and their gradients in ``grads`` (dicts of arrays
with the same keys). ``forward(x, training)`` keeps what ``backward`` needs (``layer.x``, the
input; ``Dense`` and ``Activation`` also ``layer.z``, the pre-activation, and ``layer.y``, the
output); ``backward(g)`` takes dL/dy, fills ``grads`` with dL/dparams and returns dL/dx. After a
training step ``grads`` holds the gradient of that step's batch loss, whatever the optimizer.
The activation maths lives in :mod:`actlab.activations`; the fast paths of ``Dense`` (arrays
reused within a training step, in-place activations) live in :mod:`.kernels`.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import activations as _acts
from .. import plan as _plan
from . import initializers, kernels, regularizers

# Default names as Keras 2 gives them: the class name in snake case and a counter per class
# starting at 1 (dense_1, dense_2, leaky_re_lu_1, sequential_1); reset_names() restarts them.
_NAME_COUNTERS: dict[str, itertools.count] = {}

#: the engine's layer for each activation that the layer plan makes a layer of its own
#: (``actlab.plan.Block.layer``), filled by the classes that declare ``applies`` (PReLU, RReLU,
#: Maxout); :func:`layer_for` applies any other with a plain :class:`Activation` layer
LAYER_OF: dict[str, type["Layer"]] = {}


def _snake_case(name: str) -> str:
    """Keras 2's ``_to_snake_case``: ``LeakyReLU`` -> ``leaky_re_lu``, ``PReLU`` -> ``p_re_lu``."""
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()


def default_name(prefix: str) -> str:
    """``prefix_N``, N counting from 1 per prefix in this process (until :func:`reset_names`)."""
    counter = _NAME_COUNTERS.setdefault(prefix, itertools.count(1))
    return f"{prefix}_{next(counter)}"


def reset_names() -> None:
    """Start the default names again from ``_1`` (``keras.backend.clear_session()``)."""
    _NAME_COUNTERS.clear()


@dataclass
class Probe:
    """An activation layer at a batch of inputs in inference mode (``layer.probe(x, dx)``): its local
    derivatives, what :mod:`actlab.engine.inspect` tells dead, inactive and saturated units by.

    ``y``: the output; ``d``: dy/dz per output unit, z the hidden layer's pre-activation (the layer's
    own derivative times ``dx``, its input's dx/dz; maxout: through each unit's winning piece);
    ``max_abs_derivative``: sup |f'| of the layer's function; ``dalpha``: dy/dalpha of a learned
    slope (PReLU), else None; ``winners``: maxout's winning piece per example and unit, else None.
    """

    y: np.ndarray
    d: np.ndarray
    max_abs_derivative: float
    dalpha: np.ndarray | None = None
    winners: np.ndarray | None = None


class Layer:
    """Base class. ``build(input_dim, rng, dtype)`` creates parameters and returns the output width.

    Without a ``name`` a layer is named as in Keras 2: ``dense_1``, ``dense_2``, ``activation_1``.
    """

    stochastic = False   # True for layers that draw random numbers in training (Dropout, RReLU)
    # True only during a training step (``Sequential.train_step`` sets it through
    # ``kernels.reusing_buffers``): the layer may then write its outputs and gradients into
    # arrays it reuses from step to step, and overwrite the gradient ``backward`` is given.
    # Outside a step every call returns fresh arrays, so kept outputs stay valid.
    reuse_buffers = False
    # the activation an activation layer applies (Activation and its subclasses, PReLU, RReLU: they
    # also have ``probe``); None for every other layer
    activation_name: str | None = None
    # the activation whose own layer (``actlab.plan.Block.layer``) this class is: a class that sets
    # it is entered in LAYER_OF and made by ``from_activation``
    applies: str | None = None

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if cls.__dict__.get("applies"):
            LAYER_OF[cls.applies] = cls

    @classmethod
    def from_activation(cls, activation: _acts.Activation) -> "Layer":
        """The layer applying ``activation`` (with its parameters) where the plan makes it a layer."""
        return cls(**activation.params)

    def __init__(self, name: str | None = None, input_dim: int | None = None,
                 input_shape: tuple | None = None, **unused: Any):
        if unused:
            raise ValueError(f"{type(self).__name__} got unexpected argument(s): {', '.join(sorted(unused))}")
        self.name = name if name is not None else default_name(_snake_case(type(self).__name__))
        if input_shape is not None:
            shape = tuple(input_shape)
            if len(shape) != 1:
                raise ValueError(
                    f"input_shape must be 1-D for an MLP layer (flatten images first), got {input_shape!r}")
            input_dim = int(shape[0])
        if input_dim is not None and (not isinstance(input_dim, (int, np.integer)) or input_dim < 1):
            raise ValueError(f"input_dim must be a positive integer, got {input_dim!r}")
        self.input_dim = input_dim
        self.output_dim: int | None = None
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.built = False
        self.rng: np.random.Generator | None = None   # for stochastic layers, set by the model
        self.x: np.ndarray | None = None   # the input of the last forward pass

    # -- to override ------------------------------------------------------------------------
    def build(self, input_dim: int, rng: np.random.Generator, dtype) -> int:
        self.input_dim = input_dim
        self.output_dim = input_dim
        self.built = True
        return self.output_dim

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, g: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        raise NotImplementedError

    def penalty(self) -> float:
        """The regularisation term this layer adds to the loss (0 by default)."""
        return 0.0

    def config(self) -> dict[str, Any]:
        return {"name": self.name}

    # -- helpers ----------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        cfg = self.config()
        if self.input_dim is not None:
            cfg["input_dim"] = int(self.input_dim)
        return cfg

    def count_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name" and v is not None)
        return f"{type(self).__name__}({args})"


class Dense(Layer):
    """Fully connected layer ``y = f(x W + b)`` with an optional activation from the zoo.

    Args:
        units: output width.
        activation: an activation name, ``Activation`` or callable (default: linear).
        use_bias: add ``b`` (default True).
        kernel_initializer: default ``initializers.DEFAULT_INITIALIZER`` (``'glorot_uniform'``);
            bias_initializer default ``'zeros'``.
            ``'critical'`` draws at the edge of chaos of ``activation`` (and biases N(0, sigma_b2)):
            see :class:`actlab.engine.initializers.Critical`.
        kernel_regularizer, bias_regularizer: ``regularizers.l1/l2/l1_l2`` or None.

    Shape: (batch, input_dim) -> (batch, units).

    The arithmetic goes through ``ops`` (:mod:`.kernels`): the reference operations, or inside a
    training step the fast ones, which give the same numbers without allocating.
    """

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = initializers.DEFAULT_INITIALIZER, bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, **kw: Any):
        super().__init__(**kw)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units < 1:
            raise ValueError(f"Dense units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activation_of(activation)
        if _plan.widens(self.activation):   # the plan's Block: a wider Dense, then the activation's layer
            name = self.activation.name
            k = _plan.OWN_LAYER[name].widen
            layer = f"{LAYER_OF[name].__name__}({k})" if name in LAYER_OF else f"Activation({name!r}, {k}={k})"
            raise ValueError(f"{name} changes the width: use Dense(units * {k}) followed by {layer}")
        self.linear = self.activation.name == "linear"
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        if isinstance(self.kernel_initializer, initializers.Critical):
            # the edge of chaos of this layer's activation; biases N(0, sigma_b2) unless given
            self.kernel_initializer = self.kernel_initializer.bind(self.activation)
            if isinstance(bias_initializer, str) and bias_initializer == "zeros":
                self.bias_initializer = self.kernel_initializer.bias_initializer()
        elif isinstance(self.kernel_initializer, initializers.MeanField) and bias_initializer == "zeros":
            self.bias_initializer = self.kernel_initializer.bias_initializer()
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.z: np.ndarray | None = None   # the last forward pass's pre-activation x W + b
        self.y: np.ndarray | None = None   # and its output f(z)
        self.reference_ops = kernels.DenseOps(self.activation)
        self.fast_ops: kernels.FastDenseOps | None = None   # made by build (it knows the shapes)
        self.ops: kernels.DenseOps = self.reference_ops     # the ones the last forward used

    def build(self, input_dim, rng, dtype):
        self.input_dim = input_dim
        self.params["kernel"] = self.kernel_initializer((input_dim, self.units), rng, dtype)
        if self.use_bias:
            self.params["bias"] = self.bias_initializer((self.units,), rng, dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.fast_ops = kernels.FastDenseOps(self.activation, self.units, input_dim, dtype)
        self.output_dim = self.units
        self.built = True
        return self.units

    def forward(self, x, training=False):
        """``z = x W + b``, ``y = f(z)``; keeps ``x``, ``z`` and ``y`` for the backward pass."""
        kernel, bias = self.params["kernel"], self.params.get("bias")
        fast = self.reuse_buffers and self.fast_ops is not None and x.dtype == kernel.dtype
        self.ops = ops = self.fast_ops if fast else self.reference_ops
        self.x = x
        self.z = ops.affine(x, kernel, bias)
        self.y = self.z if self.linear else ops.activate(self.z)
        return self.y

    def backward(self, g, need_input_grad=True, skip_activation=False, update_rate=None):
        """From ``g`` = dL/dy: fills ``grads`` and returns dL/dx (None unless ``need_input_grad``).

        ``skip_activation``: ``g`` is already dL/dz (a loss fused with the output activation).
        ``update_rate``: plain SGD's rate ``r`` when the layer is to update its own weights as it
        goes (``Sequential.train_step``; :meth:`can_update_itself`): ``W -= r x^T dL/dz`` in one
        product where the ops can (its gradient then never written), ``b -= r dL/db``.
        """
        ops, kernel = self.ops, self.params["kernel"]
        # dL/dz = dL/dy * f'(z)
        gz = g if self.linear or skip_activation else ops.activation_vjp(
            self.z, self.y, g, bias_out=self.grads["bias"] if self.use_bias else None)
        if update_rate is not None:
            return self._backward_and_update(gz, need_input_grad, update_rate)
        # dL/dW = x^T dL/dz
        ops.weight_grad(self.x, gz, out=self.grads["kernel"])
        if self.kernel_regularizer is not None:
            self.grads["kernel"] += self.kernel_regularizer.gradient(kernel)
        # dL/db = the sum of dL/dz over the batch
        if self.use_bias:
            ops.bias_grad(gz, out=self.grads["bias"])
            if self.bias_regularizer is not None:
                self.grads["bias"] += self.bias_regularizer.gradient(self.params["bias"])
        # dL/dx = dL/dz W^T
        return ops.input_grad(gz, kernel) if need_input_grad else None

    def can_update_itself(self) -> bool:
        """Whether :meth:`backward` may apply plain SGD itself: no penalty term to add."""
        return self.kernel_regularizer is None and self.bias_regularizer is None

    def _backward_and_update(self, gz, need_input_grad, rate):
        kernel = self.params["kernel"]
        gin = self.ops.input_grad(gz, kernel) if need_input_grad else None   # from W before its update
        if not self.ops.update_kernel(self.x, gz, kernel, rate):
            self.ops.weight_grad(self.x, gz, out=self.grads["kernel"])
            kernels.sgd_update(kernel, self.grads["kernel"], rate)
        if self.use_bias:
            self.ops.bias_grad(gz, out=self.grads["bias"])
            kernels.sgd_update(self.params["bias"], self.grads["bias"], rate)
        return gin

    def penalty(self):
        out = 0.0
        if self.kernel_regularizer is not None:
            out += self.kernel_regularizer(self.params["kernel"])
        if self.bias_regularizer is not None and self.use_bias:
            out += self.bias_regularizer(self.params["bias"])
        return out

    def config(self):
        return {
            "name": self.name, "units": self.units, "activation": self.activation.config(),
            "use_bias": self.use_bias,
            "kernel_initializer": _init_config(self.kernel_initializer),
            "bias_initializer": _init_config(self.bias_initializer),
            "kernel_regularizer": self.kernel_regularizer.config() if self.kernel_regularizer else None,
            "bias_regularizer": self.bias_regularizer.config() if self.bias_regularizer else None,
        }


def activation_of(identifier: Any, **params: Any) -> _acts.Activation:
    """The zoo activation an identifier names: what :func:`actlab.activations.get` takes, or an
    activation layer (``LeakyReLU(alpha=0.1)``, ``ReLU(max_value=6)``), as Keras accepts
    ``Dense(3, activation=LeakyReLU(alpha=0.1))``. Layers with weights or randomness (PReLU,
    RReLU, Dense, Dropout) are not functions: they raise ``ValueError``."""
    if isinstance(identifier, Layer):
        if not isinstance(identifier, Activation):
            raise ValueError(f"{type(identifier).__name__} cannot serve as an activation (it has weights, "
                             "randomness or changes the shape): add it to the model as a layer of its own")
        identifier = identifier.activation
    return _acts.get(identifier, **params)


def layer_for(activation: _acts.Activation) -> "Layer":
    """The layer that applies ``activation`` after a linear Dense, where the layer plan makes it a
    layer of its own: the class declared for it in :data:`LAYER_OF`, else an :class:`Activation`."""
    return LAYER_OF.get(activation.name, Activation).from_activation(activation)


def _init_config(init):
    return init.config() if hasattr(init, "config") else getattr(init, "__name__", repr(init))


class Activation(Layer):
    """Applies an activation from the zoo: ``Activation('tanh')``, ``Activation('elu', alpha=0.5)``."""

    def __init__(self, activation: Any, name: str | None = None, input_dim=None, input_shape=None,
                 **params: Any):
        super().__init__(name=name, input_dim=input_dim, input_shape=input_shape)
        self.activation = activation_of(activation, **params)
        self.z: np.ndarray | None = None   # the last forward pass's input (the pre-activation)
        self.y: np.ndarray | None = None   # and its output f(z)

    def build(self, input_dim, rng, dtype):
        super().build(input_dim, rng, dtype)
        if _plan.widens(self.activation):   # k inputs per unit (the plan's pieces: maxout's k)
            k, widen = _plan.pieces(self.activation), _plan.OWN_LAYER[self.activation.name].widen
            if input_dim % k:
                raise ValueError(f"{self.activation.name} with {widen}={k} needs an input width divisible by "
                                 f"{widen}, got {input_dim}")
            self.output_dim = input_dim // k
        return self.output_dim

    def forward(self, x, training=False):
        """``y = f(x)``; keeps ``x`` (also as ``z``, the pre-activation) and ``y``."""
        self.x = self.z = x
        self.y = self.activation.fn(x, **self.activation.params)
        return self.y

    def backward(self, g, need_input_grad=True, skip_activation=False):
        """dL/dx = dL/dy * f'(x) (the full VJP for activations that mix units);
        ``skip_activation``: ``g`` is already dL/dx (a loss fused with the output activation)."""
        if skip_activation:
            return g
        return self.activation.vjp(self.x, self.y, g)

    def config(self):
        return {"name": self.name, "activation": self.activation.config()}

    @classmethod
    def from_activation(cls, activation: _acts.Activation) -> "Layer":
        if cls.applies is None:   # a plain Activation layer: any activation with its parameters
            return cls(activation)
        return cls(**activation.params)

    @property
    def activation_name(self) -> str:
        return self.activation.name

    def probe(self, x: np.ndarray, dx: np.ndarray) -> Probe:
        """The layer at ``x`` (inference) with its local derivatives (see :class:`Probe`)."""
        act = self.activation
        return Probe(act(x), dx * act.derivative(x), act.properties.max_abs_derivative)


class LeakyReLU(Activation):
    """Leaky ReLU layer, ``alpha`` default 0.01 (as the zoo and PyTorch; Keras' default is 0.3).

    Accepts Keras 3's ``negative_slope=`` as a synonym of ``alpha``.
    """

    def __init__(self, alpha: float | None = None, negative_slope: float | None = None, **kw: Any):
        if alpha is not None and negative_slope is not None and alpha != negative_slope:
            raise ValueError(f"give alpha or negative_slope, not both (got {alpha!r} and {negative_slope!r})")
        slope = alpha if alpha is not None else negative_slope
        params = {} if slope is None else {"alpha": float(slope)}
        super().__init__("leaky_relu", **kw, **params)

    def config(self):
        return {"name": self.name, "alpha": self.activation.params["alpha"]}


class ELU(Activation):
    """ELU layer, ``alpha`` default 1.0; any finite alpha (0 and negative too, as Keras)."""

    def __init__(self, alpha: float = 1.0, **kw: Any):
        if isinstance(alpha, (int, float)) and not isinstance(alpha, bool):
            alpha = float(alpha)   # anything else (None, a string) is refused by the zoo, naming it
        super().__init__("elu", alpha=alpha, **kw)

    def config(self):
        return {"name": self.name, "alpha": self.activation.params["alpha"]}


class ReLU(Activation):
    """Keras' ReLU layer: ``min(x, max_value)`` above ``threshold``, ``negative_slope (x - threshold)``
    below (the zoo's ``relu_keras``). The defaults are plain ReLU.

    Args (as Keras): ``max_value`` None (no cap) or >= 0; ``negative_slope`` >= 0; ``threshold`` >= 0.
    """

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0,
                 **kw: Any):
        for arg, value in (("max_value", max_value), ("negative_slope", negative_slope), ("threshold", threshold)):
            if value is None and arg != "max_value":
                raise ValueError(f"{arg} of a ReLU layer cannot be None, expecting a float >= 0")
            if value is not None and not isinstance(value, bool) and isinstance(value, (int, float)) and value < 0:
                raise ValueError(f"{arg} of a ReLU layer cannot be a negative value. Received: {value!r}")
        super().__init__("relu_keras", negative_slope=negative_slope, max_value=max_value, threshold=threshold, **kw)

    def config(self):
        p = self.activation.params
        return {"name": self.name, "max_value": p["max_value"], "negative_slope": p["negative_slope"],
                "threshold": p["threshold"]}


class ThresholdedReLU(Activation):
    """Keras' ThresholdedReLU: ``x`` for ``x > theta``, else 0 (``theta`` >= 0, default 1.0).

    The zoo's ``relu_keras`` with ``threshold=theta``; Konda, Memisevic & Krueger (2014), arXiv:1402.3337.
    """

    def __init__(self, theta: float = 1.0, **kw: Any):
        if theta is None:
            raise ValueError("theta of a ThresholdedReLU layer cannot be None, expecting a float >= 0")
        if not isinstance(theta, bool) and isinstance(theta, (int, float)) and theta < 0:
            raise ValueError(f"The theta value of a ThresholdedReLU layer should be >= 0. Received: {theta!r}")
        super().__init__("relu_keras", threshold=theta, **kw)

    def config(self):
        return {"name": self.name, "theta": self.activation.params["threshold"]}


class Softmax(Activation):
    """Softmax over the last axis."""

    def __init__(self, axis: int = -1, **kw: Any):
        super().__init__("softmax", axis=axis, **kw)

    def config(self):
        return {"name": self.name, "axis": self.activation.params["axis"]}


class Maxout(Activation):
    """Maxout over consecutive groups of ``k`` inputs: width ``units * k`` -> ``units``."""

    applies = "maxout"

    def __init__(self, k: int = 2, **kw: Any):
        super().__init__(self.applies, k=k, **kw)

    def config(self):
        return {"name": self.name, "k": self.activation.params["k"]}

    def probe(self, x: np.ndarray, dx: np.ndarray) -> Probe:
        """Each unit is its winning piece (the one the backward pass sends the gradient to): slope 1
        with respect to it, so ``d`` is the winner's ``dx``."""
        k = self.activation.params["k"]
        winners = np.argmax(x.reshape(x.shape[0], -1, k), axis=-1)
        d = np.take_along_axis(dx.reshape(dx.shape[0], -1, k), winners[..., None], axis=-1)[..., 0]
        return Probe(self.activation(x), d, self.activation.properties.max_abs_derivative, winners=winners)


class PReLU(Layer):
    """Parametric ReLU with a learnable slope per unit.

    .. math:: f(x_i) = x_i \\text{ if } x_i > 0 \\text{ else } a_i x_i, \\quad
              \\partial f / \\partial a_i = \\min(0, x_i)

    Args:
        alpha_initializer: initial slopes, default ``'zeros'`` (as Keras; PyTorch uses 0.25).
        alpha_regularizer: optional penalty on the slopes.

    He et al. (2015), Delving Deep into Rectifiers, arXiv:1502.01852.
    """

    applies = "prelu"

    def __init__(self, alpha_initializer: Any = "zeros", alpha_regularizer: Any = None,
                 alpha_constraint: Any = None, shared_axes: Any = None, **kw: Any):
        super().__init__(**kw)
        if isinstance(alpha_initializer, (int, float)) and not isinstance(alpha_initializer, bool):
            value = float(alpha_initializer)
            alpha_initializer = lambda shape, rng, dtype: np.full(shape, value, dtype=dtype)  # noqa: E731
            alpha_initializer.config = lambda: {"value": value}
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        if alpha_constraint is not None or shared_axes is not None:
            raise ValueError("PReLU: alpha_constraint and shared_axes are not supported by actlab (MLPs only)")

    def build(self, input_dim, rng, dtype):
        self.input_dim = self.output_dim = input_dim
        self.params["alpha"] = self.alpha_initializer((input_dim,), rng, dtype)
        self.grads = {"alpha": np.zeros_like(self.params["alpha"])}
        self.built = True
        return input_dim

    def forward(self, x, training=False):
        self.x = x
        return _acts.zoo.prelu(x, self.params["alpha"])

    def backward(self, g, need_input_grad=True, skip_activation=False):
        neg = np.minimum(self.x, 0.0)
        neg *= g
        np.sum(neg, axis=0, out=self.grads["alpha"])
        if self.alpha_regularizer is not None:
            self.grads["alpha"] += self.alpha_regularizer.gradient(self.params["alpha"])
        if not need_input_grad:
            return None
        return _acts.zoo.d_prelu(self.x, None, self.params["alpha"]) * g

    def penalty(self):
        return self.alpha_regularizer(self.params["alpha"]) if self.alpha_regularizer else 0.0

    def config(self):
        return {"name": self.name, "alpha_initializer": _init_config(self.alpha_initializer)}

    @classmethod
    def from_activation(cls, activation: _acts.Activation) -> "PReLU":
        # PReLU's own semantics: the activation's alpha is the slopes' initial value, which this
        # class takes as an initializer (the slopes themselves are its learned parameter)
        return cls(alpha_initializer=float(activation.params["alpha"]))

    activation_name = applies

    def probe(self, x: np.ndarray, dx: np.ndarray) -> Probe:
        """The slopes as they are now; ``dalpha`` = min(x, 0), the gradient its slope gets."""
        alpha = self.params["alpha"]
        return Probe(_acts.zoo.prelu(x, alpha), dx * _acts.zoo.d_prelu(x, None, alpha),
                     max(1.0, float(np.abs(alpha).max())), dalpha=_acts.zoo.d_prelu_alpha(x))


class RReLU(Layer):
    """Randomized leaky ReLU (Xu et al. 2015, arXiv:1505.00853).

    In training each unit draws its negative slope uniformly from ``[lower, upper]`` at every
    step (one slope per unit per step, shared by the batch); at inference the fixed mean slope
    ``(lower + upper) / 2`` is used, which is what ``actlab.activations.rrelu`` computes.
    Defaults: lower = 1/8, upper = 1/3 (as PyTorch).
    """

    stochastic = True
    applies = "rrelu"

    def __init__(self, lower: float = 1.0 / 8.0, upper: float = 1.0 / 3.0, **kw: Any):
        super().__init__(**kw)
        self.activation = _acts.get(self.applies, lower=float(lower), upper=float(upper))
        self.lower, self.upper = float(lower), float(upper)

    def forward(self, x, training=False):
        self.x = x
        if training:
            if self.rng is None:
                raise ValueError("RReLU needs a random generator in training; add it to a Sequential model")
            self._slope = self.rng.uniform(self.lower, self.upper, size=x.shape[-1]).astype(x.dtype)
        else:
            self._slope = np.full(x.shape[-1], (self.lower + self.upper) / 2.0, dtype=x.dtype)
        return _acts.zoo.prelu(x, self._slope)

    def backward(self, g, need_input_grad=True, skip_activation=False):
        return _acts.zoo.d_prelu(self.x, None, self._slope) * g

    def config(self):
        return {"name": self.name, "lower": self.lower, "upper": self.upper}

    # at inference a leaky ReLU with the mean slope (self.activation): probed as an Activation layer
    activation_name = Activation.activation_name
    probe = Activation.probe


class Dropout(Layer):
    """Inverted dropout: in training, zero each input with probability ``rate`` and scale by 1/(1-rate)."""

    stochastic = True

    def __init__(self, rate: float, seed: int | None = None, **kw: Any):
        super().__init__(**kw)
        if not (isinstance(rate, (int, float)) and 0.0 <= rate < 1.0):
            raise ValueError(f"Dropout rate must be in [0, 1), got {rate!r}")
        self.rate = float(rate)
        self.seed = seed

    def forward(self, x, training=False):
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        if self.rng is None:
            self.rng = np.random.default_rng(self.seed)
        keep = 1.0 - self.rate
        self._mask = (self.rng.random(x.shape, dtype=np.float32) < keep).astype(x.dtype) / x.dtype.type(keep)
        return x * self._mask

    def backward(self, g, need_input_grad=True, skip_activation=False):
        return g if self._mask is None else g * self._mask

    def config(self):
        return {"name": self.name, "rate": self.rate}


class Flatten(Layer):
    """Flattens each example to one dimension (e.g. (n, 28, 28) -> (n, 784)).

    ``Flatten(input_shape=(28, 28))`` declares the model's input width, 784, as Keras does.
    """

    def __init__(self, input_shape: tuple | None = None, data_format: str | None = None, **kw: Any):
        if input_shape is not None:
            kw["input_dim"] = int(np.prod(tuple(input_shape)))
        super().__init__(**kw)

    def forward(self, x, training=False):
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, g, need_input_grad=True, skip_activation=False):
        return g.reshape(self._shape)


class InputLayer(Layer):
    """Declares the input width (``keras.Input(shape=(784,))``); computes nothing."""

    def __init__(self, shape: tuple | None = None, input_shape: tuple | None = None, name: str | None = None,
                 **kw: Any):
        super().__init__(input_shape=shape if shape is not None else input_shape,
                         name=name if name is not None else default_name("input"), **kw)   # input_1, as Keras 2

    def forward(self, x, training=False):
        return x

    def backward(self, g, need_input_grad=True, skip_activation=False):
        return g


def Input(shape: tuple, **kw: Any) -> InputLayer:
    return InputLayer(shape=shape, **kw)


LAYERS: dict[str, type[Layer]] = {
    cls.__name__: cls for cls in
    (Dense, Activation, LeakyReLU, PReLU, ELU, ReLU, ThresholdedReLU, RReLU, Maxout, Softmax, Dropout, Flatten,
     InputLayer)
}


def from_config(cfg: dict[str, Any]) -> Layer:
    """Rebuild a layer from ``{"class_name": ..., "config": {...}}``."""
    cls_name = cfg.get("class_name")
    if cls_name not in LAYERS:
        raise ValueError(f"unknown layer class {cls_name!r}; valid: {', '.join(LAYERS)}")
    conf = dict(cfg.get("config", {}))
    if cls_name in ("Dense",):
        act = conf.pop("activation", None)
        if isinstance(act, dict):
            act = dict(act)
            conf["activation"] = _acts.get(act.pop("name"), **act)
        else:
            conf["activation"] = act
        for key in ("kernel_regularizer", "bias_regularizer"):
            if conf.get(key) is not None:
                conf[key] = regularizers.L1L2(**conf[key])
    if cls_name == "Activation":
        act = dict(conf.pop("activation"))
        return Activation(act.pop("name"), name=conf.get("name"), input_dim=conf.get("input_dim"), **act)
    if cls_name == "PReLU" and isinstance(conf.get("alpha_initializer"), dict) \
            and "value" in conf["alpha_initializer"]:
        conf["alpha_initializer"] = conf["alpha_initializer"]["value"]
    return LAYERS[cls_name](**conf)
