"""The NumPy engine's MLP, built from the layer plan of a short description (:mod:`actlab.plan`).

``build_mlp(784, "200x4", "relu", 10, seed=0)`` is the notes' 784-200-200-200-200-10 network.
The plan says what each activation implies (prelu/rrelu get their own layer after a linear
``Dense``, maxout a ``Dense(units * k)`` then ``Maxout(k)``); :func:`block_layers` turns each of
its blocks into this engine's layers (the layer an activation becomes: ``layers.layer_for``). ``kernel_initializer="critical"``
(or ``{"name": "critical", "sigma_b2": 0.05}``) draws every layer at the edge of chaos of the
activation whose outputs its weights multiply (see ``actlab.engine.initializers.Critical``).
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from .. import plan as _plan
from ..plan import parse_hidden
from . import initializers
from . import layers as L
from . import optimizers as _optim
from .model import DEFAULT_DTYPE, Sequential

#: used when the operating system does not say how much memory is available
MEMORY_FALLBACK_CAP = 16 * 2**30
#: rows of the evaluation chunks (``Sequential.evaluate``/``predict`` forward at least this many)
EVAL_ROWS = 1024


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
    return block_layers(_plan.layer_plan([units], activation)[0], **dense_kw)


def block_layers(block: _plan.Block, **dense_kw: Any) -> list[L.Layer]:
    """The NumPy engine's layers of one block of the layer plan (:mod:`actlab.plan`)."""
    if block.layer is None:
        return [L.Dense(block.width, activation=block.activation, **dense_kw)]
    return [L.Dense(block.width, **dense_kw), L.layer_for(block.activation)]


def _bytes_text(n: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def _state_slots(optimizer: Any) -> int:
    """Arrays of a parameter's size the optimizer keeps (SGD 1, Adam 2, RMSprop 1 or 2, ...)."""
    state = _optim.get(optimizer)._init_state(np.zeros(1, np.float32))
    return sum(x is not None for x in (state if isinstance(state, (list, tuple)) else [state]))


def estimate_memory(input_dim: int, hidden: Any, activation: Any, num_classes: int, *, dtype: Any = DEFAULT_DTYPE,
                    batch_size: int | None = None, optimizer: Any = None,
                    activations_per_layer: Sequence[Any] | None = None) -> dict[str, int]:
    """Bytes an MLP needs to train, worked out from its shapes alone (nothing is allocated).

    ``weights`` and ``gradients``: one array each per parameter; ``optimizer``: its state
    (``optimizer=None`` assumes Adam's two arrays, the most of the built-in optimizers);
    ``activations``: per layer four arrays of a training batch's rows (pre-activation,
    output, scratch, input gradient) and two of an evaluation chunk (``max(batch, 1024)``
    rows). All in the model's ``dtype``. Returns those parts and their ``total``.
    """
    blocks = _plan.layer_plan(hidden, activation, activations_per_layer)
    itemsize = np.dtype(dtype).itemsize
    params = 0
    widths = []   # every layer's output width
    width = int(input_dim)
    for b in blocks:
        params += width * b.width + b.width + b.units * len(b.learned)
        widths += [b.width] + ([b.units] if b.layer else [])
        width = b.units
    params += width * num_classes + num_classes
    widths.append(num_classes)
    rows = batch_size or 1
    eval_rows = max(rows, EVAL_ROWS)
    slots = 2 if optimizer is None else _state_slots(optimizer)
    parts = {
        "weights": params * itemsize,
        "gradients": params * itemsize,
        "optimizer": slots * params * itemsize,
        "activations": (rows * (int(input_dim) + 4 * sum(widths)) + eval_rows * 2 * sum(widths)) * itemsize,
    }
    parts["total"] = sum(parts.values())
    return parts


def available_memory() -> tuple[int, str]:
    """``(bytes, where it comes from)``: the memory available now (Linux ``MemAvailable``, else
    the free physical pages), or :data:`MEMORY_FALLBACK_CAP` when the system does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "available"
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "free"
    except (AttributeError, ValueError, OSError):
        return MEMORY_FALLBACK_CAP, "the assumed cap (the system does not say what is available)"


def check_memory(input_dim: int, hidden: Any, activation: Any, num_classes: int, **kw: Any) -> dict[str, int]:
    """:func:`estimate_memory`, and a ``ValueError`` stating it and the available memory when it
    does not fit (before anything is allocated)."""
    need = estimate_memory(input_dim, hidden, activation, num_classes, **kw)
    have, what = available_memory()
    if need["total"] > have:
        runs: list[list[int]] = []   # 200, 200, 200 -> 200x3
        for size in parse_hidden(hidden):
            if runs and runs[-1][0] == size:
                runs[-1][1] += 1
            else:
                runs.append([size, 1])
        shape = "-".join([str(input_dim), *(f"{u}x{c}" if c > 1 else str(u) for u, c in runs), str(num_classes)])
        parts = ", ".join(f"{'optimizer state' if k == 'optimizer' else k} {_bytes_text(v)}"
                          for k, v in need.items() if k != "total")
        raise ValueError(
            f"an MLP {shape} in {np.dtype(kw.get('dtype', 'float32')).name} needs about {_bytes_text(need['total'])} "
            f"({parts}) but {_bytes_text(have)} of memory is {what}: use fewer or narrower hidden layers")
    return need


def build_mlp(input_dim: int, hidden: Any, activation: Any, num_classes: int, *, seed: int = 0,
              kernel_initializer: Any = initializers.DEFAULT_INITIALIZER, dtype: Any = DEFAULT_DTYPE, output: str | None = None,
              dropout: float = 0.0, kernel_regularizer: Any = None,
              activations_per_layer: Sequence[Any] | None = None, batch_size: int | None = None,
              optimizer: Any = None) -> Sequential:
    """An MLP ``input_dim -> hidden... -> num_classes``.

    ``output`` defaults to ``'softmax'`` (``'sigmoid'`` for ``num_classes == 1``, ``'linear'``
    for regression when asked). ``activations_per_layer`` overrides ``activation`` layer by layer.
    Before any weight is drawn, :func:`check_memory` refuses a network that cannot fit in memory
    (``batch_size`` and ``optimizer``, when given, make that estimate exact; they change nothing else).
    """
    blocks = _plan.layer_plan(hidden, activation, activations_per_layer)
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    check_memory(input_dim, [b.units for b in blocks], None, num_classes,
                 activations_per_layer=[b.activation for b in blocks], dtype=dtype,
                 batch_size=batch_size, optimizer=optimizer)
    output = output or ("sigmoid" if num_classes == 1 else "softmax")
    model = Sequential(seed=seed, dtype=dtype)
    dense_kw = {"kernel_initializer": kernel_initializer, "kernel_regularizer": kernel_regularizer}
    critical = _critical(kernel_initializer)
    for i, block in enumerate(blocks):
        if critical is not None:
            # a layer's weights multiply the previous layer's outputs: its edge of chaos is that
            # activation's (the first layer, fed by the input, takes its own: a homogeneous net)
            dense_kw["kernel_initializer"] = critical.bind(blocks[max(i - 1, 0)].activation)
        for layer in block_layers(block, **dense_kw):
            model.add(layer)
        if dropout:
            model.add(L.Dropout(dropout))
    if critical is not None and blocks:
        dense_kw["kernel_initializer"] = critical.bind(blocks[-1].activation)
    model.add(L.Dense(num_classes, activation=output, **dense_kw))
    model.build(int(input_dim))
    return model
