"""``TorchEnsemble``: K NumPy-engine models of one shape trained at once in PyTorch.

The models are built by the NumPy engine (``Sequential``/``build_mlp``, so from the same model
description) and their weights copied; member ``k``'s parameters are slice ``k`` of tensors of
shape ``(K, ...)`` (a Dense kernel is ``(K, in, out)``) and every step is one batched computation
(``torch.baddbmm``). Members may differ in seed, activation (and its parameters), learning rate
and data split; they share the layer shapes, optimizer kind and loss. Because the members'
parameters never mix, member ``k`` computes what it would compute alone.

What is replayed from the NumPy engine, so that the two engines agree to float32 rounding:

* the batch order: :func:`actlab.engine.batching.epoch_order`, batches being consecutive slices of it;
* the random draws of Dropout masks and RReLU slopes (one slope per unit per step), drawn from a
  copy of the NumPy layer's own generator, in the same order;
* the loss value (probabilities clipped at 1e-7 before the log, as Keras) and its gradient
  (the fused delta ``(p - y) / n`` for softmax + cross-entropy and sigmoid + binary
  cross-entropy, as the NumPy engine uses; ``keras_categorical_crossentropy`` by autograd
  through the normalisation, ``torch.clamp`` (zero gradient outside the bounds, as TensorFlow's
  ``clip_by_value``) and the softmax, as :mod:`actlab.engine.losses` derives it);
* the optimizers' update rules (Keras 2's SGD with momentum/Nesterov, Adam, RMSprop, decay), written
  out in ``_update`` rather than taken from ``torch.optim``: one stacked tensor holds K members with K
  learning rates (torch.optim has one per parameter group), Keras' Adam places epsilon differently, and
  with decay Keras' momentum accumulates steps where PyTorch's accumulates gradients
  (tests/test_torch_engine.py pins which torch.optim rules agree, and every rule to the NumPy engine).
  The gradients are PyTorch's autograd of its fused losses (``log_softmax``, ``binary_cross_entropy_with_logits``).

The optimizer starts from a fresh state (the NumPy model's optimizer state is not copied).
"""
from __future__ import annotations

import contextlib
import copy
import json
import math
import time
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..engine import layers as L
from ..engine import losses as _losses
from ..engine import optimizers as _optim
from ..engine.batching import epoch_order
from ..engine.model import Sequential
from .activations import native, torch_activation

EPSILON = _losses.EPSILON


def resolve_device(device: Any = None) -> torch.device:
    """``None``: CUDA when present, else the CPU; otherwise ``'cpu'``, ``'cuda'``, ``'cuda:N'``."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {device!r}; valid: 'cpu', 'cuda', 'cuda:N'") from exc
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}; valid: 'cpu', 'cuda', 'cuda:N'")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but this PyTorch ({torch.__version__}) sees no CUDA GPU")
    return dev


def _act_key(act) -> str:
    return json.dumps(act.config(), sort_keys=True, default=str)


class _Grouped:
    """One activation per member: members with equal activations are computed together."""

    def __init__(self, acts: Sequence, device):
        groups: dict[str, list[int]] = {}
        fns: dict[str, Callable] = {}
        for k, act in enumerate(acts):
            key = _act_key(act)
            groups.setdefault(key, []).append(k)
            fns.setdefault(key, torch_activation(act))
        self.single = fns[next(iter(fns))] if len(fns) == 1 else None
        self.groups = [(fns[key], _index(ks, device)) for key, ks in groups.items()]
        # groups in runs of consecutive members (in order of first appearance, so the runs follow
        # each other): split and concatenate, whose backward is one concatenation, where writing
        # into slices of a new tensor costs a copy per group and, backward, a zero-filled copy per group
        self.sizes = ([idx.stop - idx.start for _, idx in self.groups]
                      if all(isinstance(idx, slice) for _, idx in self.groups) else None)

    def __call__(self, z):
        if self.single is not None:
            return self.single(z)
        if self.sizes is not None:
            return torch.cat([fn(part) for (fn, _), part in zip(self.groups, z.split(self.sizes))])
        parts = [(fn(z[idx]), idx) for fn, idx in self.groups]
        out = z.new_empty((z.shape[0],) + parts[0][0].shape[1:])
        for y, idx in parts:
            out[idx] = y
        return out


def _index(ks: list[int], device):
    # a contiguous run of members is a slice (a view), otherwise an index tensor
    if ks == list(range(ks[0], ks[-1] + 1)):
        return slice(ks[0], ks[-1] + 1)
    return torch.tensor(ks, device=device)


class _SoftmaxCrossEntropy(torch.autograd.Function):
    """Per-member categorical cross-entropy of ``softmax(z)`` against ``y`` (K, B, C): the value as
    the NumPy engine reports it (probabilities clipped to [1e-7, 1 - 1e-7], mean over the batch),
    the gradient its fused delta ``(p - y) / B`` (:mod:`actlab.engine.losses`), and the
    probabilities ``p`` (no gradient). One softmax for all three: fewer kernels per step than the
    loss through autograd's ``log_softmax`` plus a separate value and softmax."""

    @staticmethod
    def forward(ctx, z, y):
        p = torch.softmax(z, dim=-1)
        value = (y * torch.log(torch.clamp(p, EPSILON, 1.0 - EPSILON))).sum(dim=(1, 2)).mul_(-1.0 / y.shape[1])
        ctx.save_for_backward(p, y)
        ctx.mark_non_differentiable(p)
        return value, p

    @staticmethod
    def backward(ctx, g, _g_p):
        p, y = ctx.saved_tensors
        return (p - y) * (g / y.shape[1]).reshape(-1, 1, 1), None


class _Layer:
    """One layer position of the ensemble."""

    def __init__(self, kind: str, index: int, **kw: Any):
        self.kind, self.index = kind, index
        self.__dict__.update(kw)


class TorchEnsemble:
    """Train ``models`` (built, compiled NumPy-engine ``Sequential`` models of one shape) at once.

    Args:
        models: one ``Sequential`` or a list of them (their weights are copied, not shared).
        device: ``None`` (CUDA when present, else CPU), ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
        cuda_graphs: on a CUDA device, replay each full batch's training step as a CUDA graph
            (:class:`_StepGraph`) where the step allows it (:meth:`graph_blocker`); the same
            kernels on the same numbers, without launching each of them from Python.

    >>> from actlab.engine import build_mlp
    >>> from actlab.torch_engine.model import TorchEnsemble
    >>> ms = [build_mlp(4, "8", a, 3, seed=s) for a, s in (("relu", 0), ("tanh", 1))]
    >>> for m in ms: m.compile(optimizer="sgd", metrics=["accuracy"])
    >>> TorchEnsemble(ms, device="cpu").K
    2
    """

    def __init__(self, models: Sequential | Sequence[Sequential], device: Any = None, cuda_graphs: bool = True):
        models = [models] if isinstance(models, Sequential) else list(models)
        if not models:
            raise ValueError("TorchEnsemble needs at least one model")
        for m in models:
            if not isinstance(m, Sequential):
                raise ValueError(f"TorchEnsemble takes actlab Sequential models, got {m!r}")
            if not m.built:
                raise ValueError("build the models first (give the first layer input_dim or call build)")
            if m.optimizer is None or m.loss is None:
                raise ValueError("compile the models first: model.compile(loss=..., optimizer=...)")
        self.models = models
        self.K = len(models)
        self.device = resolve_device(device)
        first = models[0]
        self.np_dtype = first.dtype
        self.dtype = torch.float32 if first.dtype == np.float32 else torch.float64
        _check_same_shape(models)
        self.loss = first.loss
        if any(m.loss.name != self.loss.name for m in models):
            raise ValueError(f"members use different losses: {sorted({m.loss.name for m in models})}")
        self.fused = first.uses_fused_delta()
        if any(m.uses_fused_delta() != self.fused for m in models):
            raise ValueError("members differ in whether the output activation is fused with the loss")
        self.output_dim = first.output_dim
        self.cuda_graphs = bool(cuda_graphs)
        self.graph_used: str | None = None   # after fit: "yes", or why the step was not a CUDA graph
        self._build_layers()
        self._build_penalties()
        self._build_optimizer()

    # -- construction -------------------------------------------------------------------------
    def _stack(self, arrays) -> torch.Tensor:
        return torch.as_tensor(np.stack(arrays), dtype=self.dtype, device=self.device).contiguous()

    def _build_layers(self) -> None:
        ms, dev = self.models, self.device
        self.layers: list[_Layer] = []
        self.params: list[tuple[_Layer, str, torch.Tensor, Any]] = []   # (layer, name, tensor, regularizer)
        last = len(ms[0].layers) - 1
        for i, layer in enumerate(ms[0].layers):
            members = [m.layers[i] for m in ms]
            if isinstance(layer, L.Dense):
                spec = _Layer("dense", i, use_bias=layer.use_bias)
                spec.W = self._stack([l.params["kernel"] for l in members]).requires_grad_()
                self.params.append((spec, "kernel", spec.W, [l.kernel_regularizer for l in members]))
                spec.b = None
                if layer.use_bias:
                    spec.b = self._stack([l.params["bias"][None, :] for l in members]).requires_grad_()
                    self.params.append((spec, "bias", spec.b, [l.bias_regularizer for l in members]))
                spec.skip = i == last and self.fused
                spec.act = None if spec.skip else _Grouped([l.activation for l in members], dev)
                spec.host = not spec.skip and not all(native(l.activation) for l in members)
            # PReLU and RReLU by their engine classes: what each computes is that layer's own
            # semantics (a learned slope per unit; slopes drawn per step from the members' rngs).
            # Which activation becomes which layer is the plan's (actlab.plan), not decided here.
            elif isinstance(layer, L.PReLU):
                spec = _Layer("prelu", i)
                spec.alpha = self._stack([l.params["alpha"][None, :] for l in members]).requires_grad_()
                self.params.append((spec, "alpha", spec.alpha, [l.alpha_regularizer for l in members]))
            elif isinstance(layer, L.RReLU):
                spec = _Layer("rrelu", i, rngs=[copy.deepcopy(l.rng) for l in members],
                              lower=[l.lower for l in members], upper=[l.upper for l in members])
                spec.mean = self._stack([np.full((1, layer.output_dim), (l.lower + l.upper) / 2.0, self.np_dtype)
                                         for l in members])
            elif isinstance(layer, L.Dropout):
                spec = _Layer("dropout", i, rates=[l.rate for l in members],
                              rngs=[copy.deepcopy(l.rng) if l.rng is not None else np.random.default_rng(l.seed)
                                    for l in members])
            elif isinstance(layer, L.Activation):   # Activation, LeakyReLU, ELU, Softmax, Maxout (any width)
                spec = _Layer("act", i, skip=i == last and self.fused)
                spec.act = None if spec.skip else _Grouped([l.activation for l in members], dev)
                spec.host = not spec.skip and not all(native(l.activation) for l in members)
            elif isinstance(layer, (L.InputLayer, L.Flatten)):
                spec = _Layer("flatten", i)
            else:
                raise ValueError(f"the torch engine cannot train a {type(layer).__name__} layer")
            spec.width = layer.output_dim
            self.layers.append(spec)

    def _build_optimizer(self) -> None:
        opts = [m.optimizer for m in self.models]
        kinds = {type(o) for o in opts}
        if len(kinds) != 1:
            raise ValueError(f"members use different optimizers: {sorted(k.__name__ for k in kinds)}")
        base = {k: v for k, v in opts[0].get_config().items() if k != "learning_rate"}
        for o in opts[1:]:
            other = {k: v for k, v in o.get_config().items() if k != "learning_rate"}
            if other != base:
                raise ValueError(f"members' optimizers differ beyond the learning rate: {base} vs {other}")
        self.opt = opts[0]
        self.lr = np.array([o.learning_rate for o in opts], dtype=np.float64)
        # plain SGD at one rate for every member: one multi-tensor update per step (_update)
        o = self.opt
        self._one_sgd_rate = (float(self.lr[0]) if isinstance(o, _optim.SGD) and not o.momentum
                              and not o.decay and len(set(self.lr)) == 1 else None)
        self.iterations = 0
        self.state = [self._init_state(p) for _, _, p, _ in self.params]

    def _init_state(self, p):
        o = self.opt
        z = lambda: torch.zeros_like(p)  # noqa: E731
        if isinstance(o, _optim.SGD):
            return [z()] if o.momentum else []
        if isinstance(o, _optim.Adam):
            return [z(), z(), z() if o.amsgrad else None]
        if isinstance(o, _optim.RMSprop):
            return [z(), z() if o.momentum else None]
        raise ValueError(f"the torch engine has no update rule for {type(o).__name__}")

    # -- computation --------------------------------------------------------------------------
    def _forward(self, h: torch.Tensor, training: bool) -> torch.Tensor:
        """(K, B, in) -> (K, B, out); the last fused layer returns its pre-activation."""
        for spec in self.layers:
            kind = spec.kind
            if kind == "dense":
                h = torch.baddbmm(spec.b, h, spec.W) if spec.b is not None else torch.bmm(h, spec.W)
                if not spec.skip:
                    h = spec.act(h)
            elif kind == "act":
                if not spec.skip:
                    h = spec.act(h)
            elif kind == "prelu":
                h = torch.where(h > 0, h, spec.alpha * h)
            elif kind == "rrelu":
                if training:
                    slopes = np.stack([rng.uniform(lo, up, size=spec.width).astype(self.np_dtype)[None, :]
                                       for rng, lo, up in zip(spec.rngs, spec.lower, spec.upper)])
                    slope = torch.as_tensor(slopes, device=self.device)
                else:
                    slope = spec.mean
                h = torch.where(h > 0, h, slope * h)
            elif kind == "dropout":
                if training and any(spec.rates):
                    masks = []
                    for rng, rate in zip(spec.rngs, spec.rates):
                        if rate == 0.0:
                            masks.append(np.ones(h.shape[1:], self.np_dtype))
                            continue
                        keep = 1.0 - rate
                        m = (rng.random(tuple(h.shape[1:]), dtype=np.float32) < keep).astype(self.np_dtype)
                        masks.append(m / self.np_dtype.type(keep))
                    h = h * torch.as_tensor(np.stack(masks), device=self.device)
            # flatten / input layers: the data are already (K, B, features)
        return h

    def _outputs(self, z: torch.Tensor) -> torch.Tensor:
        """The probabilities (or outputs) from what ``_forward`` returned."""
        if not self.fused:
            return z
        return torch.softmax(z, dim=-1) if self.loss.name == "categorical_crossentropy" else torch.sigmoid(z)

    def _loss(self, z: torch.Tensor, y: torch.Tensor):
        """(per-member loss for autograd, per-member loss value, outputs), each of shape (K,) / (K, B, C)."""
        n = y.shape[1]
        name = self.loss.name
        if self.fused and name == "categorical_crossentropy":
            # gradient (p - y) / n, the NumPy engine's fused delta
            grad_loss, p = _SoftmaxCrossEntropy.apply(z, y)
            return grad_loss, grad_loss.detach(), p
        with torch.no_grad():
            p = self._outputs(z)
            value = self._loss_value(p, y)
        if self.fused:
            grad_loss = F.binary_cross_entropy_with_logits(z, y, reduction="none").mean(dim=(1, 2))
        elif name == "mean_squared_error":
            grad_loss = torch.square(z - y).mean(dim=(1, 2))
        elif name == "keras_categorical_crossentropy":
            grad_loss = self._keras_cce(z, y)
        else:
            # the clip passes the gradient through, as the NumPy engine's loss gradient does
            pc = z + (torch.clamp(z, EPSILON, 1.0 - EPSILON) - z).detach()
            if name == "categorical_crossentropy":
                grad_loss = -(y * torch.log(pc)).sum(dim=(1, 2)) / n
            else:
                grad_loss = -(y * torch.log(pc) + (1.0 - y) * torch.log1p(-pc)).mean(dim=(1, 2))
        return grad_loss, value, p

    def _keras_cce(self, p, y):
        """Keras 2's cross-entropy on probabilities (engine.losses.keras_categorical_crossentropy)."""
        eps = torch.full((), EPSILON, dtype=p.dtype, device=p.device)  # in the model's dtype, as TensorFlow; no host copy
        q = torch.clamp(p / p.sum(dim=-1, keepdim=True), eps, 1 - eps)
        return -(y * torch.log(q)).sum(dim=(1, 2)) / y.shape[1]

    def _loss_value(self, p, y):
        name = self.loss.name
        if name == "mean_squared_error":
            return torch.square(p - y).mean(dim=(1, 2))
        if name == "keras_categorical_crossentropy":
            return self._keras_cce(p, y)
        pc = torch.clamp(p, EPSILON, 1.0 - EPSILON)
        if name == "categorical_crossentropy":
            return -(y * torch.log(pc)).sum(dim=(1, 2)) / y.shape[1]
        return -(y * torch.log(pc) + (1.0 - y) * torch.log1p(-pc)).mean(dim=(1, 2))

    def _build_penalties(self) -> None:
        """Per parameter with a regularised member: its members' L1 and L2 factors as (K,) tensors
        (0 for a member without that term), so that a step computes every member's penalty at once
        and copies nothing from the host (a CUDA graph could not record such a copy)."""
        self.penalties = []
        for _, _, p, regs in self.params:
            if all(r is None for r in regs):
                continue
            factors = []
            for attr in ("l1", "l2"):
                values = [float(getattr(r, attr)) if r is not None else 0.0 for r in regs]
                factors.append(torch.tensor(values, dtype=self.dtype, device=self.device) if any(values) else None)
            self.penalties.append((p, tuple(range(1, p.dim())), *factors))

    def _penalty(self, grad: bool):
        """Per-member regularisation terms (K,), or None when no member has any."""
        total = None
        for p, dims, l1, l2 in self.penalties:
            w = p if grad else p.detach()
            for factor, term in ((l1, torch.abs), (l2, torch.square)):
                if factor is not None:
                    t = factor * term(w).sum(dim=dims)
                    total = t if total is None else total + t
        return total

    def _correct(self, p, y):
        if p.shape[-1] == 1:
            return ((p[..., 0] > 0.5) == (y[..., 0] > 0.5)).sum(dim=1)
        return (p.argmax(dim=-1) == y.argmax(dim=-1)).sum(dim=1)

    @torch.no_grad()
    def _update(self) -> None:
        o = self.opt
        if o.decay or getattr(self, "_rate_t", None) is None:
            rate = self.lr / (1.0 + o.decay * self.iterations) if o.decay else self.lr
            self._rate_t = torch.as_tensor(rate, dtype=self.dtype, device=self.device).reshape(-1, 1, 1)
        rate_t = self._rate_t
        self.iterations += 1
        if isinstance(o, _optim.Adam):
            t = self.iterations
            rate_t = rate_t * (math.sqrt(1.0 - o.beta_2 ** t) / (1.0 - o.beta_1 ** t))
        if self._one_sgd_rate is not None:
            # one multi-tensor kernel for every parameter (p - rate g, as addcmul_ below)
            ps = [p for _, _, p, _ in self.params]
            torch._foreach_add_(ps, [p.grad for p in ps], alpha=-self._one_sgd_rate)
            for p in ps:
                p.grad = None
            return
        for (_, _, p, _), state in zip(self.params, self.state):
            g = p.grad
            if isinstance(o, _optim.SGD):
                if not state:
                    p.addcmul_(g, rate_t, value=-1.0)   # p - rate g, without a temporary
                else:
                    (v,) = state
                    v.mul_(o.momentum).sub_(rate_t * g)
                    if o.nesterov:
                        p.add_(o.momentum * v - rate_t * g)
                    else:
                        p.add_(v)
            elif isinstance(o, _optim.Adam):
                m, v, vmax = state
                m.mul_(o.beta_1).add_((1.0 - o.beta_1) * g)
                v.mul_(o.beta_2).add_((1.0 - o.beta_2) * (g * g))
                if vmax is not None:
                    torch.maximum(vmax, v, out=vmax)
                p.sub_(rate_t * m / (torch.sqrt(v if vmax is None else vmax) + o.epsilon))
            else:   # RMSprop
                v, mom = state
                v.mul_(o.rho).add_((1.0 - o.rho) * (g * g))
                step = rate_t * g / (torch.sqrt(v) + o.epsilon)
                if mom is None:
                    p.sub_(step)
                else:
                    mom.mul_(o.momentum).add_(step)
                    p.sub_(mom)
            p.grad = None

    # -- data ---------------------------------------------------------------------------------
    def _data(self, x, what: str):
        """Per-member arrays -> (one tensor of the distinct arrays stacked, member offsets, n)."""
        arrays = list(x) if isinstance(x, (list, tuple)) else [x] * self.K
        if len(arrays) != self.K:
            raise ValueError(f"{what}: {len(arrays)} arrays given for {self.K} members")
        distinct: dict[int, int] = {}
        uniq = []
        for a in arrays:
            if id(a) not in distinct:
                distinct[id(a)] = len(uniq)
                uniq.append(a)
        prepared = [self._prepare(a, what) for a in uniq]
        n = len(prepared[0])
        if any(len(a) != n for a in prepared):
            raise ValueError(f"{what}: members' arrays differ in length ({[len(a) for a in prepared]})")
        offsets = np.array([distinct[id(a)] * n for a in arrays], dtype=np.int64)
        cat = torch.as_tensor(np.concatenate(prepared), dtype=self.dtype, device=self.device)
        return cat, offsets, n

    def _prepare(self, a, what):
        arr = np.asarray(a)
        if arr.ndim > 2:
            arr = arr.reshape(len(arr), -1)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        return np.ascontiguousarray(arr, dtype=self.np_dtype)

    # -- training -----------------------------------------------------------------------------
    def fit(self, x, y, epochs: int = 1, batch_size: int = 32, validation_data: tuple | None = None,
            shuffle: bool = True, initial_epoch: int = 0,
            on_epoch: Callable[[int, list[dict]], None] | None = None) -> list[dict[str, list]]:
        """Train every member; returns one Keras-style ``history`` dict per member.

        ``x``/``y`` are arrays shared by all members or lists with one array per member
        (``y`` one-hot, as the NumPy engine's ``fit`` after its checks). A member whose loss
        becomes non-finite is recorded in ``self.diverged[k] = (epoch, batch, loss)`` (0-based),
        its history stops before that epoch, and the others go on. ``on_epoch(epoch, logs)``
        is called after each epoch (``epoch`` 0-based, ``logs`` one dict per member).
        """
        for _ in self.fit_stages(x, y, epochs, batch_size, validation_data, shuffle, initial_epoch, on_epoch):
            pass
        return self.history

    def fit_stages(self, x, y, epochs: int = 1, batch_size: int = 32, validation_data: tuple | None = None,
                   shuffle: bool = True, initial_epoch: int = 0,
                   on_epoch: Callable[[int, list[dict]], None] | None = None):
        """:meth:`fit` as a generator that pauses twice per epoch: ``"queued"`` once the epoch's
        steps are handed to the device (on CUDA they may still run), ``"done"`` after its results
        were read back and ``on_epoch`` ran. :func:`train_together` interleaves several ensembles
        this way, each on its own CUDA stream, so that their epochs run on the GPU at once."""
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
        X, xoff, n = self._data(x, "x")
        Y, yoff, ny = self._data(y, "y")
        if ny != n:
            raise ValueError(f"y has {ny} samples but x has {n}")
        if X.shape[1] != self.models[0].input_dim:
            raise ValueError(f"x has {X.shape[1]} features per sample but the model expects {self.models[0].input_dim}")
        val = None
        if validation_data is not None:
            val = (self._data(validation_data[0], "validation x"), self._data(validation_data[1], "validation y"))
        steps = math.ceil(n / batch_size)
        hist = [{"loss": [], "accuracy": [], **({"val_loss": [], "val_accuracy": []} if val else {})}
                for _ in range(self.K)]
        self.diverged: list[tuple | None] = getattr(self, "diverged", None) or [None] * self.K
        self.epoch_seconds: list[float] = []
        alive = np.array([d is None for d in self.diverged])
        graph = None
        self.graph_used = self.graph_blocker(steps=(epochs - initial_epoch) * (n // batch_size))
        if self.graph_used is None:
            try:
                graph, self.graph_used = _StepGraph(self, X, Y, batch_size), "yes"
            except RuntimeError as exc:   # an operation that cannot be recorded: the eager step
                self.graph_used = f"capture failed ({str(exc).splitlines()[0][:200]})"
        for epoch in range(initial_epoch, epochs):
            t0 = time.perf_counter()
            if shuffle:
                perms = np.stack([epoch_order(m.seed, epoch, n) for m in self.models])
            else:
                perms = np.tile(np.arange(n), (self.K, 1))
            xi = torch.as_tensor(perms + xoff[:, None], device=self.device)
            yi = torch.as_tensor(perms + yoff[:, None], device=self.device)
            # each step's loss and correct count into one row (a copy each); their sums once per epoch
            losses = torch.empty((steps, self.K), dtype=self.dtype, device=self.device)
            rights = torch.empty((steps, self.K), dtype=torch.int64, device=self.device)
            for b in range(steps):
                s, e = b * batch_size, min((b + 1) * batch_size, n)
                if graph is not None and e - s == batch_size:
                    value, right = graph.step(xi[:, s:e], yi[:, s:e])
                else:
                    value, right = self._train_step(X[xi[:, s:e]], Y[yi[:, s:e]])
                losses[b] = value
                rights[b] = right
            sizes = torch.full((steps, 1), float(batch_size), dtype=torch.float64, device=self.device)
            sizes[-1] = n - (steps - 1) * batch_size
            loss_sum = (losses.double() * sizes).sum(dim=0)
            correct = rights.sum(dim=0)
            yield "queued"
            # one transfer per epoch: the loss of every step, for divergence and the running mean
            step_losses = losses.cpu().numpy()
            bad = ~np.isfinite(step_losses)
            logs_all = []
            vl = va = None
            if val is not None:
                vl, va = self._evaluate_data(*val[0], *val[1])
            means = (loss_sum / n).cpu().numpy()
            accs = (correct.double() / n).cpu().numpy()
            for k in range(self.K):
                if not alive[k]:
                    logs_all.append(None)
                    continue
                if bad[:, k].any():
                    b = int(np.argmax(bad[:, k]))
                    self.diverged[k] = (epoch, b, float(step_losses[b, k]))
                    alive[k] = False
                    logs_all.append(None)
                    continue
                logs = {"loss": float(means[k]), "accuracy": float(accs[k])}
                if val is not None:
                    logs["val_loss"], logs["val_accuracy"] = float(vl[k]), float(va[k])
                for key, v in logs.items():
                    hist[k][key].append(v)
                logs_all.append(logs)
            self.epoch_seconds.append(time.perf_counter() - t0)
            if on_epoch is not None:
                on_epoch(epoch, logs_all)
            yield "done"
            if not alive.any():
                break
        del graph   # its memory pool goes with it
        self.history = hist

    def _train_step(self, xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One step on the batch ``(K, B, in)``, ``(K, B, out)``: the parameters updated; returns the
        members' loss values (K,) and their correct predictions (K,), both on the device."""
        z = self._forward(xb, training=True)
        grad_loss, value, p = self._loss(z, yb)
        pen = self._penalty(grad=True)
        if pen is not None:
            grad_loss = grad_loss + pen
            value = value + pen.detach()
        grad_loss.sum().backward()
        self._update()
        return value, self._correct(p, yb)

    #: the fewest full-batch steps a fit must have for a CUDA graph (capturing costs a few steps' time)
    GRAPH_MIN_STEPS = 16

    def graph_blocker(self, steps: int) -> str | None:
        """Why a fit of ``steps`` full-batch steps cannot replay its step as a CUDA graph, or None.

        A graph replays the kernels it recorded with the numbers they had then: whatever a step
        draws or computes on the host (RReLU slopes, Dropout masks, a learning rate that decays
        or Adam's bias correction with the step count) would be frozen, so such steps run eagerly.
        """
        if not self.cuda_graphs:
            return "off (cuda_graphs=False)"
        o = self.opt
        if getattr(o, "decay", 0):
            return "the learning rate decays (computed on the host each step)"
        if isinstance(o, _optim.Adam):
            return "Adam's bias correction depends on the step count (computed on the host each step)"
        for spec in self.layers:
            if spec.kind == "rrelu":
                return "RReLU draws its slopes on the host each step"
            if spec.kind == "dropout" and any(spec.rates):
                return "Dropout draws its masks on the host each step"
            if getattr(spec, "host", False):
                return "an activation is computed on the host (no native torch form)"
        if self.device.type != "cuda":
            return f"not on CUDA ({self.device})"
        if steps < self.GRAPH_MIN_STEPS:
            return f"too few full batches ({steps})"
        return None

    @torch.no_grad()
    def _evaluate_data(self, X, xoff, n, Y, yoff, _n):
        chunk = max(1, min(n, (1 << 24) // max(1, self.K * X.shape[1])))   # inputs of at most 64 MB (float32) at once
        total = torch.zeros(self.K, dtype=torch.float64, device=self.device)
        correct = torch.zeros(self.K, dtype=torch.int64, device=self.device)
        for s in range(0, n, chunk):
            e = min(s + chunk, n)
            rows = torch.arange(s, e, device=self.device)
            xb = X[rows[None, :] + torch.as_tensor(xoff[:, None], device=self.device)]
            yb = Y[rows[None, :] + torch.as_tensor(yoff[:, None], device=self.device)]
            p = self._outputs(self._forward(xb, training=False))
            total += self._loss_value(p, yb).double() * (e - s)
            correct += self._correct(p, yb)
        pen = self._penalty(grad=False)
        loss = total / n + (pen.double() if pen is not None else 0.0)
        return loss.cpu().numpy(), (correct.double() / n).cpu().numpy()

    def evaluate(self, x, y) -> list[list[float]]:
        """``[loss, accuracy]`` per member (inference mode, penalties included)."""
        out = self._evaluate_data(*self._data(x, "x"), *self._data(y, "y"))
        return [[float(a), float(b)] for a, b in zip(*out)]

    @torch.no_grad()
    def predict(self, x) -> np.ndarray:
        """The outputs of every member, ``(K, n, out)``."""
        X, off, n = self._data(x, "x")
        idx = torch.arange(n, device=self.device)[None, :] + torch.as_tensor(off[:, None], device=self.device)
        return self._outputs(self._forward(X[idx], training=False)).cpu().numpy()

    def to_numpy(self) -> list[Sequential]:
        """Copy the trained parameters back into the NumPy models (returned)."""
        with torch.no_grad():
            for spec, name, p, _ in self.params:
                values = p.detach().cpu().numpy()
                for k, m in enumerate(self.models):
                    target = m.layers[spec.index].params[name]
                    target[...] = values[k].reshape(target.shape)
        return self.models


def _check_same_shape(models: list[Sequential]) -> None:
    ref = models[0]
    for k, m in enumerate(models[1:], 1):
        if len(m.layers) != len(ref.layers) or m.input_dim != ref.input_dim or m.dtype != ref.dtype:
            raise ValueError(f"member {k} differs in depth, input width or dtype from member 0")
        for i, (a, b) in enumerate(zip(ref.layers, m.layers)):
            same_kind = type(a) is type(b) or (isinstance(a, L.Activation) and isinstance(b, L.Activation))
            shapes_a = {n: p.shape for n, p in a.params.items()}
            shapes_b = {n: p.shape for n, p in b.params.items()}
            if not same_kind or a.output_dim != b.output_dim or shapes_a != shapes_b:
                raise ValueError(f"member {k} layer {i} ({type(b).__name__}, width {b.output_dim}) does not "
                                 f"match member 0's ({type(a).__name__}, width {a.output_dim})")


class _StepGraph:
    """One full-batch training step of ``ens`` captured as a CUDA graph and replayed per batch.

    The step is :meth:`TorchEnsemble._train_step` itself, recorded once on the batch indices held
    in two static tensors (as ``torch.cuda.graphs`` documents for whole-network capture): each
    :meth:`step` copies the batch's indices in and replays the recorded kernels, which read the
    parameters and optimizer state in place, so the graph computes what the eager step computes
    (tests/test_torch_engine.py compares them on a GPU) in about one launch instead of hundreds.
    Capturing needs a few eager warm-up steps (on a side stream); the parameters, the optimizer
    state and the step count are restored after them, so the warm-up trains nothing.
    """

    WARMUP = 3

    def __init__(self, ens: TorchEnsemble, X: torch.Tensor, Y: torch.Tensor, batch_size: int):
        self.ens = ens
        dev = ens.device
        self.xi = torch.zeros((ens.K, batch_size), dtype=torch.int64, device=dev)
        self.yi = torch.zeros((ens.K, batch_size), dtype=torch.int64, device=dev)
        tensors = [p for _, _, p, _ in ens.params] + [t for state in ens.state for t in state if t is not None]
        saved = [t.detach().clone() for t in tensors]
        iterations = ens.iterations
        side = torch.cuda.Stream(device=dev)
        side.wait_stream(torch.cuda.current_stream(dev))
        with torch.cuda.stream(side):
            for _ in range(self.WARMUP):
                ens._train_step(X[self.xi], Y[self.yi])
        torch.cuda.current_stream(dev).wait_stream(side)
        with torch.no_grad():
            for t, v in zip(tensors, saved):
                t.copy_(v)
        for _, _, p, _ in ens.params:
            p.grad = None
        self.graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(self.graph):
                self.value, self.correct = ens._train_step(X[self.xi], Y[self.yi])
        finally:   # recording ran no kernel: only the host's count moved
            ens.iterations = iterations
            for _, _, p, _ in ens.params:
                p.grad = None

    def step(self, xi: torch.Tensor, yi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The step on the batch whose rows ``xi``/``yi`` (K, B) name; returns what
        :meth:`TorchEnsemble._train_step` returns (overwritten by the next replay)."""
        self.xi.copy_(xi)
        self.yi.copy_(yi)
        self.graph.replay()
        self.ens.iterations += 1
        return self.value, self.correct


def train_together(jobs: Sequence[Callable[[], Any]], device: Any = None) -> list:
    """Run generator functions (each driving one ensemble, e.g. through :meth:`TorchEnsemble.fit_stages`)
    in turns, one stage of each in turn; returns their return values in order.

    On CUDA each job runs on a CUDA stream of its own, so that one job's queued epoch runs on the
    GPU while the next is queued: small ensembles (a few hundred tiny kernels per step) leave most
    of the GPU idle alone, and several of them fill it. Elsewhere the jobs take turns on the host,
    which computes the same numbers as running them one after another.
    """
    dev = resolve_device(device)
    streams = [torch.cuda.Stream(device=dev) if dev.type == "cuda" else None for _ in jobs]
    if dev.type == "cuda":
        for st in streams:   # the models' tensors were copied in on the current stream
            st.wait_stream(torch.cuda.current_stream(dev))
    gens = [job() for job in jobs]
    results: list = [None] * len(gens)
    active = list(range(len(gens)))
    while active:
        for i in list(active):
            with torch.cuda.stream(streams[i]) if streams[i] is not None else contextlib.nullcontext():
                try:
                    next(gens[i])
                except StopIteration as stop:
                    results[i] = stop.value
                    active.remove(i)
    if dev.type == "cuda":
        for st in streams:
            torch.cuda.current_stream(dev).wait_stream(st)
    return results
