"""The zoo in PyTorch: ``torch_activation(act)`` maps an :class:`actlab.activations.Activation`
to a function of a tensor with the same value and, through autograd, the same derivative.

Every activation carries its PyTorch form in its registry entry (``Activation.torch_fn``,
``torch_fn(torch, x, **params)``; the zoo's are in :mod:`actlab.activations.zoo`, a plugin's come
with ``register(..., torch=...)``), written so that autograd lands on actlab's conventions (the
minimum-norm one-sided derivative at a kink: ReLU'(0) = 0, hard_tanh'(+-1) = 0, leaky_relu and elu
with |alpha| > 1 at 0, exponential's saturation, relu_keras at its threshold). An activation
without one (a user's without ``torch=``, a plain callable) runs its NumPy function and derivative
on the host through a ``torch.autograd.Function``, so every model the NumPy engine trains also
trains here. PReLU and RReLU are layers (their slopes are parameters or per-step draws): see
``model.py``.
"""
from __future__ import annotations

import functools
from typing import Callable

import numpy as np
import torch

from ..activations.base import Activation

Fn = Callable[[torch.Tensor], torch.Tensor]


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
    if act.torch_fn is not None:
        return functools.partial(act.torch_fn, torch, **act.params)
    return lambda x: _HostActivation.apply(x, act)


def native(act: Activation) -> bool:
    """Whether ``act`` runs as torch ops (False: through the host NumPy fallback)."""
    return act.torch_fn is not None
