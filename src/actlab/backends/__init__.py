"""Backends: what trains a run. One small protocol, one registry.

A *backend* builds a model from a run's model description (``config["model"]``, turned into
layers by :func:`actlab.plan.layer_plan`), trains it as the training description
(``config["train"]``) says and returns one run result (the schema of
:mod:`actlab.studies.runner`). Who finds a backend here, by the name a configuration carries
(``config["engine"]``):

* the studies' runner: ``train_run`` and ``train_many`` (``train``), ``run_tasks`` (whether a
  backend ``trains_together``), ``runner.build_model`` (``build``, for the depth and boundary studies);
* ``actlab train`` (``build`` and ``fit``; ``--engine`` lists :func:`backend_names`, as every
  command's ``--engine`` and ``make_config``'s check do);
* the playground (``build``: each network of a session is ``build(run_config(...), data)``;
  it then steps it itself, one batch per step, with the engine's ``train_step``);
* ``bench/ensemble.py`` (``build`` of every member; the NumPy baseline through ``fit``) and
  ``bench/sweep.py`` (through the runner's ``train_run``). ``bench/run.py`` does not: its
  ``actlab-numpy`` peer is the notes' network through the NumPy engine's Keras-style API, as issue 13
  defines the measurement.

::

    from actlab.backends import get_backend
    result = get_backend("numpy").train([Run(config, data)])[0]

The protocol (:class:`Backend`):

* ``name``: the registry name (``config["engine"]``);
* ``trains_together``: ``True`` when the backend trains many runs at once (the torch engine's
  ensembles): the runner then hands it every pending run of that engine in one call;
* ``build(config, data)``: the model of a configuration, compiled, ready to train;
* ``fit(model, x, y, *, epochs, batch_size, validation_data, callbacks, device)``: train one built
  NumPy-engine model in place with Keras-style callbacks, return its ``History`` (``actlab train``);
* ``train(runs, on_epoch=None)``: train every :class:`Run`, return one result dict per run, in
  order; ``on_epoch(i, epoch, epochs, logs)`` after epoch ``epoch`` (1-based) of run ``i``.

A result is assembled by :class:`RunRecord` (history, diagnostics, divergence, model size), the
same for every backend. Registered here: ``numpy`` (:mod:`actlab.engine.backend`) and
``torch`` (:mod:`actlab.torch_engine.backend`, needs PyTorch only when it trains). A registry
entry is the backend object or ``"module:attribute"`` imported on first use (so an optional
dependency is imported lazily); a module that cannot be imported is an error naming it, never
skipped. ``register_backend(name, backend)`` adds one at run time (see docs/ARCHITECTURE.md,
"How to add a backend").
"""
from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

__all__ = ["DEFAULT_BACKEND", "Backend", "Run", "RunRecord", "backend_names", "get_backend", "register_backend"]

#: ``fn(model, data, epoch, **params) -> dict | None``: a diagnostic a run records (see the runner)
Diagnostic = tuple[str, Callable[..., "dict | None"], dict]


@dataclass
class Run:
    """One run handed to a backend: its configuration, its data set and the diagnostics to record
    (``(name, fn, params)``, called at epoch 0 and after every epoch)."""

    config: dict
    data: Any
    diagnostics: list[Diagnostic] = field(default_factory=list)


@runtime_checkable
class Backend(Protocol):
    """What trains runs (see the module docstring)."""

    name: str
    trains_together: bool

    def build(self, config: dict, data: Any) -> Any: ...

    def fit(self, model: Any, x: Any, y: Any, *, epochs: int, batch_size: int, validation_data: Any = None,
            callbacks: Sequence[Any] = (), device: Any = None) -> Any: ...

    def train(self, runs: Sequence[Run], on_epoch: Callable | None = None) -> list[dict]: ...


HISTORY_KEYS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds")


class RunRecord:
    """The result of one run, assembled as it trains (the one definition of the result dict).

    ``diagnose(model, epoch)`` records the run's diagnostics; ``epoch(e, logs, seconds)`` appends
    epoch ``e`` (1-based) to the history and returns that epoch's row (what ``on_epoch`` gets);
    ``diverged(e, batch, loss)`` (1-based) marks the divergence; ``result(model, seconds)`` is
    the dict a run function returns.
    """

    def __init__(self, run: Run):
        self.run = run
        self.history: dict[str, list] = {k: [] for k in HISTORY_KEYS}
        self.diagnostics: dict[str, Any] = {name: [] for name, _, _ in run.diagnostics}
        self.status, self.diverged_epoch = "done", None

    def diagnose(self, model: Any, epoch: int) -> None:
        for name, fn, params in self.run.diagnostics:
            out = fn(model, self.run.data, epoch, **params)
            if out is not None:
                self.diagnostics[name].append({"epoch": epoch, **out})

    def epoch(self, epoch: int, logs: dict, seconds: float, **extra: Any) -> dict:
        """Append epoch ``epoch``; ``extra`` fills history columns a backend added (``steps``)."""
        h = self.history
        for key, value in extra.items():
            h[key].append(value)
        h["epoch"].append(epoch)
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            h[key].append(float(logs.get(key, math.nan)))
        h["seconds"].append(seconds)
        return {k: v[-1] for k, v in h.items()}

    def diverged(self, epoch: int, batch: int, loss: float) -> None:
        self.status, self.diverged_epoch = "diverged", epoch
        self.diagnostics["divergence"] = {"epoch": epoch, "batch": batch, "loss": str(loss)}

    def result(self, model: Any, seconds: float, **extra: Any) -> dict:
        """The run's result; ``extra`` adds diagnostics entries (e.g. the backend's ``engine``)."""
        d = self.run.data
        self.diagnostics["info"] = {"params": model.count_params(), "n_train": int(d.x_train.shape[0]),
                                    "n_test": int(d.x_test.shape[0]), "input_dim": int(d.x_train.shape[1]),
                                    "num_classes": int(d.num_classes)}
        self.diagnostics.update(extra)
        return {"status": self.status, "history": self.history, "diagnostics": self.diagnostics,
                "diverged_epoch": self.diverged_epoch, "seconds": seconds}


# -- the registry -------------------------------------------------------------------------------
#: The backend a run trains on when none is named: ``make_config``, the studies, ``actlab train``
#: and every command's ``--engine`` read it here.
DEFAULT_BACKEND = "numpy"

# name -> the backend, or "module:attribute" imported on first use (optional dependencies stay lazy)
_REGISTRY: dict[str, Any] = {
    "numpy": "actlab.engine.backend:BACKEND",      # the NumPy engine: DEFAULT_BACKEND
    "torch": "actlab.torch_engine.backend:BACKEND",
}


def register_backend(name: str, backend: Any) -> None:
    """Register ``backend`` (an object following :class:`Backend`, or ``"module:attribute"``) as ``name``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"a backend name must be a non-empty string, got {name!r}")
    if not isinstance(backend, str) and not isinstance(backend, Backend):
        raise ValueError(f"{backend!r} is not a backend: it needs name, trains_together, build, fit and train")
    _REGISTRY[name] = backend


def backend_names() -> list[str]:
    """The registered backends' names, in registration order."""
    return list(_REGISTRY)


def get_backend(name: str) -> Backend:
    """The backend registered as ``name``; a ``ValueError`` naming the valid ones otherwise."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown engine {name!r}; valid: {', '.join(_REGISTRY)}")
    entry = _REGISTRY[name]
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        try:
            entry = getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as exc:
            raise ValueError(f"the {name!r} engine is not available here ({exc})") from exc
        _REGISTRY[name] = entry
    return entry
