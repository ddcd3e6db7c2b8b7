"""actlab's PyTorch engine: the NumPy engine's models trained in PyTorch, many at once.

Install with ``pip install actlab[torch]`` (pinned ``torch==2.13.0``). Nothing here is imported
by the core; importing this package does not import torch until a function needs it.

* ``backend.BACKEND`` — the ``"torch"`` backend of :mod:`actlab.backends` (runs grouped into ensembles).
* :func:`train_run` / :func:`train_ensemble` — the studies' run functions (configuration in,
  result dict out, as :mod:`actlab.studies.runner`), ``engine="torch"``, with a ``device``.
* :class:`TorchEnsemble` — K built, compiled ``Sequential`` models of one shape (seeds,
  activations and learning rates may differ) trained as one batched computation on the CPU or
  CUDA; each member computes what it would compute alone, and what the NumPy engine computes
  (same initial weights, batch order, random draws, loss and update rules).
"""
from __future__ import annotations

from typing import Any

__all__ = ["TorchEnsemble", "available", "resolve_device", "train_ensemble", "train_run"]


def available() -> bool:
    """Whether PyTorch can be imported here."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _require():
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise ImportError("the torch engine needs PyTorch: pip install 'actlab[torch]' "
                          "(pinned torch==2.13.0)") from exc


def train_run(config: dict, on_epoch=None, device: Any = None) -> dict:
    """Train one run (a studies configuration) on the torch engine."""
    _require()
    from .studies import train_run as run
    return run(config, on_epoch=on_epoch, device=device)


def train_ensemble(configs: list[dict], on_epoch=None, device: Any = None, max_members: int = 64) -> list[dict]:
    """Train many runs, batching the compatible ones into ensembles; results in order."""
    _require()
    from .studies import train_ensemble as run
    return run(configs, on_epoch=on_epoch, device=device, max_members=max_members)


def __getattr__(name: str):
    if name in ("TorchEnsemble", "resolve_device"):
        _require()
        from . import model
        return getattr(model, name)
    raise AttributeError(f"module 'actlab.torch_engine' has no attribute {name!r}")
