"""Optimizers updating parameters in place, with Keras 2's update rules and defaults.

``SGD(lr=0.01)`` and ``SGD(learning_rate=0.01)`` are the same (Keras 2 spelled it ``lr``).
An optimizer's ``apply(params, grads)`` takes two parallel lists of arrays and updates the
parameters in place; its state (velocities, moments) is keyed by position, created at the first
step. ``Sequential.train_step`` hands it one flat array of all the model's parameters and one of
their gradients (every rule here is element-wise, so the numbers are those of one update per
array, with fewer NumPy calls); ``grads`` are gradients, never pre-scaled steps.
"""
from __future__ import annotations

import difflib
import math

import numpy as np

from . import kernels


def _rate(lr, learning_rate, default, cls):
    if lr is not None and learning_rate is not None and lr != learning_rate:
        raise ValueError(f"{cls}: give lr or learning_rate, not both (got lr={lr!r}, learning_rate={learning_rate!r})")
    value = learning_rate if learning_rate is not None else (lr if lr is not None else default)
    if not (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0):
        raise ValueError(f"{cls}: learning rate must be a positive number, got {value!r}")
    return float(value)


class Optimizer:
    name = "optimizer"

    def __init__(self, learning_rate: float, decay: float = 0.0):
        self.learning_rate = learning_rate
        if not decay >= 0:
            raise ValueError(f"decay must be >= 0, got {decay!r}")
        self.decay = float(decay)
        self.iterations = 0
        self._state: list | None = None

    @property
    def lr(self) -> float:  # Keras 2 name
        return self.learning_rate

    @lr.setter
    def lr(self, value: float) -> None:
        self.learning_rate = float(value)

    def current_rate(self) -> float:
        if self.decay:
            return self.learning_rate / (1.0 + self.decay * self.iterations)
        return self.learning_rate

    def apply(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """One update of ``params`` in place from their gradients ``grads`` (parallel lists)."""
        if self._state is None:
            self._state = [self._init_state(p) for p in params]
        rate = self.current_rate()
        self.iterations += 1
        for p, g, s in zip(params, grads, self._state):
            self._update(p, g, s, rate)

    def plain_rate(self) -> float | None:
        """This step's rate ``r`` when the update is plain ``w -= r g`` on every parameter (SGD
        without momentum), else None. A training step may then update a layer's weights as it
        computes their gradient (``Sequential.train_step``) and :meth:`count_step` instead of
        :meth:`apply`."""
        return None

    def count_step(self) -> None:
        """A step whose update the layers made (see :meth:`plain_rate`)."""
        self.iterations += 1

    def reset(self) -> None:
        self._state = None
        self.iterations = 0

    def _init_state(self, p):
        return None

    def _update(self, p, g, state, rate):
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"name": self.name, "learning_rate": self.learning_rate, "decay": self.decay}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent: ``v = m v - lr g; w += v`` (Nesterov: ``w += m v - lr g``).

    Defaults as Keras 2: learning_rate 0.01, momentum 0, nesterov False.
    """

    name = "sgd"

    def __init__(self, learning_rate: float | None = None, momentum: float = 0.0, nesterov: bool = False,
                 decay: float = 0.0, lr: float | None = None, **kw):
        _no_extra(kw, "SGD")
        super().__init__(_rate(lr, learning_rate, 0.01, "SGD"), decay)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD momentum must be in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _init_state(self, p):
        # with momentum: the velocity v; without: a work array for the step (nothing allocated)
        return np.zeros_like(p)

    def plain_rate(self) -> float | None:
        return None if self.momentum else self.current_rate()

    def _update(self, p, g, v, rate):
        if not self.momentum:
            kernels.sgd_update(p, g, rate, work=v)   # w -= lr g
            return
        v *= self.momentum
        v -= rate * g
        if self.nesterov:
            p += self.momentum * v - rate * g
        else:
            p += v

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma & Ba 2014) as tf.keras: lr 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7."""

    name = "adam"

    def __init__(self, learning_rate: float | None = None, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, decay: float = 0.0, lr: float | None = None, **kw):
        _no_extra(kw, "Adam")
        super().__init__(_rate(lr, learning_rate, 0.001, "Adam"), decay)
        for k, v in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0.0 <= v < 1.0:
                raise ValueError(f"Adam {k} must be in [0, 1), got {v!r}")
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = float(beta_1), float(beta_2), float(epsilon), bool(amsgrad)

    def _init_state(self, p):
        return [np.zeros_like(p), np.zeros_like(p), np.zeros_like(p) if self.amsgrad else None]

    def _update(self, p, g, state, rate):
        m, v, vmax = state
        t = self.iterations
        m *= self.beta_1
        m += (1.0 - self.beta_1) * g
        v *= self.beta_2
        v += (1.0 - self.beta_2) * (g * g)
        if vmax is not None:
            np.maximum(vmax, v, out=vmax)
        rate_t = rate * math.sqrt(1.0 - self.beta_2 ** t) / (1.0 - self.beta_1 ** t)
        p -= rate_t * m / (np.sqrt(v if vmax is None else vmax) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e) as tf.keras: lr 0.001, rho 0.9, momentum 0, epsilon 1e-7."""

    name = "rmsprop"

    def __init__(self, learning_rate: float | None = None, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, decay: float = 0.0, lr: float | None = None, **kw):
        _no_extra(kw, "RMSprop")
        super().__init__(_rate(lr, learning_rate, 0.001, "RMSprop"), decay)
        if not 0.0 <= rho < 1.0:
            raise ValueError(f"RMSprop rho must be in [0, 1), got {rho!r}")
        self.rho, self.momentum, self.epsilon = float(rho), float(momentum), float(epsilon)

    def _init_state(self, p):
        return [np.zeros_like(p), np.zeros_like(p) if self.momentum else None]

    def _update(self, p, g, state, rate):
        v, mom = state
        v *= self.rho
        v += (1.0 - self.rho) * (g * g)
        step = rate * g / (np.sqrt(v) + self.epsilon)
        if mom is None:
            p -= step
        else:
            mom *= self.momentum
            mom += step
            p -= mom

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon}


def _no_extra(kw, cls):
    if kw:
        raise ValueError(f"{cls} got unexpected argument(s): {', '.join(sorted(kw))}")


OPTIMIZERS = {cls.name: cls for cls in (SGD, Adam, RMSprop)}   # each name once, on its class


def get(identifier) -> Optimizer:
    """An optimizer from a name ('sgd', 'adam', 'rmsprop': Keras defaults), a config dict or an instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        cfg = dict(identifier)
        return get(cfg.pop("name"))  if not cfg else OPTIMIZERS[_key(cfg.pop("name"))](**cfg)
    if isinstance(identifier, str):
        return OPTIMIZERS[_key(identifier)]()
    raise ValueError(f"cannot interpret {identifier!r} as an optimizer; valid: {', '.join(OPTIMIZERS)}")


def _key(name: str) -> str:
    key = name.lower()
    if key not in OPTIMIZERS:
        close = difflib.get_close_matches(key, list(OPTIMIZERS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown optimizer {name!r}.{hint} Valid optimizers: {', '.join(OPTIMIZERS)}")
    return key
