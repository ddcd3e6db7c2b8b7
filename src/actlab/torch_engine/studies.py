"""Run functions of the torch engine, with the studies' configuration and result schema.

``train_run(config)`` and ``train_ensemble(configs)`` take the studies' configurations (see
:mod:`actlab.studies.runner`) and return its result dicts; they are the runner's own run
functions with a ``device`` (the torch backend, :mod:`actlab.torch_engine.backend`, trains them).
"""
from __future__ import annotations

from typing import Any, Callable

from .backend import MAX_MEMBERS, group_key  # noqa: F401  (kept importable here)


def train_run(config: dict, on_epoch: Callable | None = None, device: Any = None) -> dict:
    """Train one run on the torch engine; the result dict of the studies' run functions."""
    cb = None if on_epoch is None else (lambda i, epoch, epochs, logs: on_epoch(epoch, epochs, logs))
    return train_ensemble([config], on_epoch=cb, device=device)[0]


def train_ensemble(configs: list[dict], on_epoch: Callable | None = None, device: Any = None,
                   max_members: int = MAX_MEMBERS) -> list[dict]:
    """Train every configuration, batching compatible ones; results in the order given.

    ``on_epoch(i, epoch, epochs, logs)`` is called for run ``i`` after each of its epochs
    (``epoch`` 1-based, as the NumPy engine's run function). ``device``: None (CUDA when present,
    else CPU), ``'cpu'`` or ``'cuda'``; a config's own ``"device"`` field wins.
    """
    from ..studies import runner

    return runner.train_many([{**c, "engine": "torch"} for c in configs], on_epoch=on_epoch,
                             device=device, max_members=max_members)
