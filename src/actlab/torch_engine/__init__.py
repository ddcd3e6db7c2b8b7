"""actlab's PyTorch engine: the NumPy engine's models trained in PyTorch, many at once.

Install with ``pip install actlab[torch]`` (pinned ``torch==2.13.0``). Nothing here is imported
by the core; importing this package does not import torch until a function needs it.

* ``backend.BACKEND`` — the ``"torch"`` backend of :mod:`actlab.backends` (runs grouped into ensembles).
* Study configurations (``engine="torch"``) train through the studies' runner:
  ``actlab.studies.runner.train_run(config)`` and ``train_many(configs, device=..., max_members=...)``
  (this package sits below the studies and does not import them).
* :class:`TorchEnsemble` — K built, compiled ``Sequential`` models of one shape (seeds,
  activations and learning rates may differ) trained as one batched computation on the CPU or
  CUDA; each member computes what it would compute alone, and what the NumPy engine computes
  (same initial weights, batch order, random draws, loss and update rules).
"""
from __future__ import annotations

__all__ = ["TorchEnsemble", "available", "resolve_device"]


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


def __getattr__(name: str):
    if name in ("TorchEnsemble", "resolve_device"):
        _require()
        from . import model
        return getattr(model, name)
    raise AttributeError(f"module 'actlab.torch_engine' has no attribute {name!r}")
