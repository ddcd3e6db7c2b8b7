"""The zoo in PyTorch: ``torch_activation(act)`` maps an :class:`actlab.activations.Activation`
to a function of a tensor with the same value and, through autograd, the same derivative.

PyTorch's built-ins are used where they compute the zoo's function with the zoo's parameters
and kink values; the rest are written with torch ops so that autograd lands on actlab's
conventions (the minimum-norm one-sided derivative at a kink: ReLU'(0) = 0, hard_tanh'(+-1) = 0,
hard_swish'(+-3) from ``x * hard_sigmoid(x)``, selu'(0) = scale). An activation the table does
not know (one a user registered) runs its NumPy function and derivative on the host through a
``torch.autograd.Function``, so every model the NumPy engine trains also trains here.
PReLU and RReLU are layers (their slopes are parameters or per-step draws): see ``model.py``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..activations import zoo
from ..activations.base import Activation

Fn = Callable[[torch.Tensor], torch.Tensor]


def _leaky(alpha: float) -> Fn:
    if abs(alpha) <= 1.0:   # torch's slope at 0 is alpha, as the zoo's for |alpha| <= 1
        return lambda x: F.leaky_relu(x, alpha)
    return lambda x: torch.where(x >= 0, x, alpha * x)   # at 0: slope 1, the smaller one


def _elu(alpha: float) -> Fn:
    if abs(alpha) <= 1.0:   # torch's slope at 0 is alpha, the zoo's for |alpha| <= 1
        return lambda x: F.elu(x, alpha)
    return lambda x: torch.where(x >= 0, x, alpha * torch.expm1(torch.clamp(x, max=0.0)))


def _selu(x):
    return zoo.SELU_SCALE * torch.where(x >= 0, x, zoo.SELU_ALPHA * torch.expm1(torch.clamp(x, max=0.0)))


def _exponential(x):
    # exp where it is finite, saturating above the zoo's limit like the zoo; the clamp passes the
    # gradient through (zoo: f' = f, saturated too)
    limit = float(zoo.exp_limit(str(x.dtype).replace("torch.", "")))
    y = torch.exp(torch.clamp(x, max=limit)).detach()
    return y + y * (x - x.detach())   # the value y exactly, the gradient y


def _hard_sigmoid_keras(x):
    # where, not clamp: the gradient at +-2.5 is 0 as the zoo's (clamp's would be 0.2)
    return torch.where(x <= -2.5, 0.0, torch.where(x >= 2.5, 1.0, x * 0.2 + 0.5))


def _relu_keras(negative_slope: float, max_value: float | None, threshold: float) -> Fn:
    at_threshold = zoo._relu_keras_slope_at_threshold(negative_slope, max_value, threshold)

    def fn(x):
        up = x if max_value is None else torch.where(x < max_value, x, torch.full_like(x, max_value))
        # the slope below, but the zoo's f'(threshold) at the threshold itself (where x - threshold = 0)
        slope = torch.where(x == threshold, torch.full_like(x, at_threshold), torch.full_like(x, negative_slope))
        return torch.where(x > threshold, up, slope * (x - threshold))
    return fn


def _max_first(k: int) -> Fn:
    # torch.max(dim) sends the gradient to the index it returns (the first maximum), as the zoo
    def fn(x):
        n = x.shape[-1]
        return x.reshape(*x.shape[:-1], n // k, k).max(dim=-1).values
    return fn


def _shrink(kind: str, lambd: float) -> Fn:
    if lambd == 0:
        return lambda x: x.clone() if kind == "hard" else x * 1.0
    return (lambda x: F.hardshrink(x, lambd)) if kind == "hard" else (lambda x: F.softshrink(x, lambd))


_TABLE: dict[str, Callable[..., Fn]] = {
    "linear": lambda: (lambda x: x),
    "sigmoid": lambda: torch.sigmoid,
    "tanh": lambda: torch.tanh,
    "relu": lambda: torch.relu,
    "leaky_relu": lambda alpha: _leaky(float(alpha)),
    "elu": lambda alpha: _elu(float(alpha)),
    "selu": lambda: _selu,
    "celu": lambda alpha: (lambda x: F.celu(x, float(alpha))),
    "gelu": lambda approximate: (lambda x: F.gelu(x, approximate="tanh" if approximate else "none")),
    "silu": lambda: F.silu,
    "mish": lambda: F.mish,
    "softplus": lambda: (lambda x: torch.logaddexp(x, torch.zeros((), dtype=x.dtype, device=x.device))),
    "softsign": lambda: F.softsign,
    "relu6": lambda: F.relu6,
    "hard_sigmoid": lambda: F.hardsigmoid,
    "hard_sigmoid_keras": lambda: _hard_sigmoid_keras,
    "relu_keras": lambda negative_slope, max_value, threshold: _relu_keras(
        float(negative_slope), None if max_value is None else float(max_value), float(threshold)),
    "hard_tanh": lambda min_val, max_val: (lambda x: F.hardtanh(x, float(min_val), float(max_val))),
    "hard_swish": lambda: (lambda x: x * F.hardsigmoid(x)),
    "log_sigmoid": lambda: F.logsigmoid,
    "tanhshrink": lambda: F.tanhshrink,
    "softshrink": lambda lambd: _shrink("soft", float(lambd)),
    "hardshrink": lambda lambd: _shrink("hard", float(lambd)),
    "exponential": lambda: _exponential,
    "erf": lambda: torch.erf,
    "softmax": lambda axis: (lambda x: torch.softmax(x, dim=axis)),
    "log_softmax": lambda axis: (lambda x: torch.log_softmax(x, dim=axis)),
    "maxout": lambda k: _max_first(int(k)),
    # the inference form; the RReLU layer draws its slopes in training
    "rrelu": lambda lower, upper: _leaky((float(lower) + float(upper)) / 2.0),
    "prelu": lambda alpha: (lambda x: torch.where(
        x > 0, x, torch.as_tensor(np.asarray(alpha), dtype=x.dtype, device=x.device) * x)),
}


class _HostActivation(torch.autograd.Function):
    """A zoo activation without a torch form: NumPy ``fn``/``vjp`` on the host."""

    @staticmethod
    def forward(ctx, x, act):
        xn = x.detach().cpu().numpy()
        yn = act.fn(xn, **act.params)
        ctx.act = act
        ctx.save_for_backward(x)
        ctx.yn = yn
        return torch.as_tensor(np.ascontiguousarray(yn, dtype=xn.dtype), device=x.device)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        xn = x.detach().cpu().numpy()
        gn = g.detach().cpu().numpy()
        out = ctx.act.vjp(xn, ctx.yn, gn.copy())
        return torch.as_tensor(np.ascontiguousarray(out, dtype=xn.dtype), device=x.device), None


def torch_activation(act: Activation) -> Fn:
    """A tensor function computing ``act`` (its parameters included)."""
    registered = zoo.__dict__.get(act.name)
    maker = _TABLE.get(act.name)
    if maker is not None and registered is act.fn:
        return maker(**act.params)
    return lambda x: _HostActivation.apply(x, act)


def native(act: Activation) -> bool:
    """Whether ``act`` runs as torch ops (False: through the host NumPy fallback)."""
    return act.name in _TABLE and zoo.__dict__.get(act.name) is act.fn
