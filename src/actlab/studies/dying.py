"""``actlab dying``: the dying ReLU, over training and as a function of the learning rate.

Each (activation, learning rate, seed) is one run: an MLP trained with plain SGD, measured at
initialisation and after every epoch on a fixed probe batch (the first ``probe`` training
examples, inference mode). A hidden unit is **dead** when no gradient flows through it for any
probe example — its derivative is exactly 0 on every probe input (for PReLU, the gradient with
respect to its slope is 0 too). For ReLU that is "outputs 0 for every example". A leaky ReLU
unit can be **inactive** (negative output for every example) but is never dead: its slope
0.01 still passes a gradient. A run whose loss becomes NaN or infinite is recorded as diverged,
with the epoch, and shown as such.

See :mod:`actlab.studies.diagnostics` for the exact definitions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from ..store import Store
from .depth import _activation_label, _check_list
from .diagnostics import mean_ci, measure
from .runner import Task, make_config, register_diagnostic, run_tasks, train_run

__all__ = ["DEFAULTS", "DyingRun", "DyingResult", "dying_tasks", "dying_study", "dying_result",
           "units_diagnostic"]

DEFAULTS: dict[str, Any] = {
    "activations": ("relu", "leaky_relu", "prelu", "elu"),
    "lrs": (0.001, 0.01, 0.1, 0.3, 0.5, 1.0),
    "seeds": (0, 1, 2),
    "dataset": "digits",
    "hidden": "100x4",
    "epochs": 10,
    "batch_size": 32,
    "probe": 1000,
}


@register_diagnostic("units")
def units_diagnostic(model, data, epoch: int, probe: int = 1000) -> dict:
    """Per hidden layer on the first ``probe`` training examples: dead, inactive and saturated
    fractions, mean and std of the outputs (no gradients: a forward pass in inference mode)."""
    with np.errstate(all="ignore"):
        return measure(model, data.x_train[:probe])


def dying_tasks(activations: Sequence[Any] = DEFAULTS["activations"], lrs: Sequence[float] = DEFAULTS["lrs"],
                seeds: Sequence[int] = DEFAULTS["seeds"], *, dataset: str = DEFAULTS["dataset"],
                n_samples: int | None = None, hidden: Any = DEFAULTS["hidden"], epochs: int = DEFAULTS["epochs"],
                batch_size: int = DEFAULTS["batch_size"], probe: int = DEFAULTS["probe"],
                data_dir: str | None = None, study: str = "dying", engine: str = "numpy") -> list[Task]:
    """One task per (activation, learning rate, seed): plain SGD (no momentum)."""
    lrs = [float(v) for v in _check_list("lrs", lrs, (int, float))]
    if any(not (v > 0 and math.isfinite(v)) for v in lrs):
        raise ValueError(f"learning rates must be positive, got {lrs!r}")
    seeds = _check_list("seeds", seeds, int, 0)
    activations = list(activations)
    if not activations:
        raise ValueError("activations must not be empty")
    if not isinstance(probe, int) or probe < 1:
        raise ValueError(f"probe must be a positive integer, got {probe!r}")
    tasks = []
    for act in activations:
        for lr in lrs:
            for seed in seeds:
                cfg = make_config(study=study, seed=seed, dataset=dataset, n_samples=n_samples, hidden=hidden,
                                  activation=act, optimizer="sgd", learning_rate=lr, epochs=epochs,
                                  batch_size=batch_size, engine=engine, data_dir=data_dir,
                                  diagnostics={"units": {"probe": probe}})
                tasks.append(Task(cfg, study))
    return tasks


@dataclass
class DyingRun:
    """One run: per measurement (0 = initialisation) and per hidden layer."""

    activation: str
    lr: float
    seed: int
    status: str
    key: str = ""
    diverged_epoch: int | None = None
    accuracy: float = math.nan
    epochs: list[int] = field(default_factory=list)
    units: list[int] = field(default_factory=list)
    dead: list[list[float]] = field(default_factory=list)       # [measurement][layer] fractions
    inactive: list[list[float]] = field(default_factory=list)

    def overall(self, quantity: str = "dead") -> list[float]:
        """The fraction of all hidden units, per measurement."""
        w = np.asarray(self.units, dtype=np.float64)
        return [float(np.dot(row, w) / w.sum()) for row in getattr(self, quantity) if len(row) == len(w)]

    def final(self, quantity: str = "dead") -> float:
        """The last measurement's fraction of all hidden units (nan if nothing was measured)."""
        values = self.overall(quantity)
        return values[-1] if values else math.nan


def _dying_run(rec: dict) -> DyingRun:
    cfg = rec["config"]
    run = DyingRun(activation=_activation_label(cfg), lr=float(cfg["train"]["optimizer"]["learning_rate"]),
                   seed=int(cfg["seed"]), status=rec["status"], key=rec["key"],
                   diverged_epoch=rec.get("diverged_epoch"))
    hist = rec.get("history") or {}
    acc = hist.get("val_accuracy") or []
    if rec["status"] == "done" and acc:
        run.accuracy = float(acc[-1])
    for entry in (rec.get("diagnostics") or {}).get("units", []):
        run.epochs.append(int(entry["epoch"]))
        run.units = [int(u) for u in entry.get("units", [])]
        run.dead.append(list(entry.get("dead", [])))
        run.inactive.append(list(entry.get("inactive", [])))
    return run


@dataclass
class DyingResult:
    """All runs of a dying study and the summaries the report shows."""

    runs: list[DyingRun]
    settings: dict = field(default_factory=dict)

    @property
    def activations(self) -> list[str]:
        return list(dict.fromkeys(r.activation for r in self.runs))

    @property
    def lrs(self) -> list[float]:
        return sorted({r.lr for r in self.runs})

    def select(self, activation: str | None = None, lr: float | None = None) -> list[DyingRun]:
        return [r for r in self.runs if r.status in ("done", "diverged")
                and (activation is None or r.activation == activation) and (lr is None or r.lr == lr)]

    def summary(self) -> list[dict]:
        """Per (activation, lr): final dead and inactive fractions (mean, 95% t interval over the
        runs that finished), test accuracy, and how many runs diverged."""
        rows = []
        for act in self.activations:
            for lr in self.lrs:
                runs = self.select(act, lr)
                done = [r for r in runs if r.status == "done"]
                d, dlo, dhi, n = mean_ci([r.final("dead") for r in done])
                ina = mean_ci([r.final("inactive") for r in done])[0]
                acc, alo, ahi, _ = mean_ci([r.accuracy for r in done])
                init = mean_ci([r.overall("dead")[0] for r in runs if r.overall("dead")])[0]
                rows.append({"activation": act, "lr": lr, "dead": d, "dead_low": dlo, "dead_high": dhi,
                             "dead_at_init": init, "inactive": ina, "accuracy": acc, "accuracy_low": alo,
                             "accuracy_high": ahi, "runs": n, "diverged": len(runs) - len(done)})
        return rows

    def over_epochs(self, activation: str, lr: float, quantity: str = "dead") -> tuple[np.ndarray, np.ndarray]:
        """``(epochs, mean fraction of all hidden units)`` over training, mean over the seeds
        that reached each measurement (a diverged run stops contributing where it stopped)."""
        curves = [r.overall(quantity) for r in self.select(activation, lr)]
        curves = [c for c in curves if c]
        if not curves:
            return np.zeros(0, dtype=int), np.zeros(0)
        n = max(len(c) for c in curves)
        runs = [r for r in self.select(activation, lr) if len(r.overall(quantity)) == n]
        epochs = np.asarray(runs[0].epochs[:n])
        values = np.array([np.mean([c[e] for c in curves if len(c) > e]) for e in range(n)])
        return epochs, values


def dying_result(records: Iterable[dict], settings: dict | None = None) -> DyingResult:
    """A :class:`DyingResult` from store records."""
    runs = [_dying_run(rec) for rec in records if rec is not None and rec.get("config")]
    return DyingResult(runs=runs, settings=dict(settings or {}))


def dying_study(activations: Sequence[Any] = DEFAULTS["activations"], lrs: Sequence[float] = DEFAULTS["lrs"],
                seeds: Sequence[int] = DEFAULTS["seeds"], *, store: Store | None = None, workers: int = 1,
                progress: bool = False, **options: Any) -> DyingResult:
    """Run (or reuse from ``store``) every (activation, lr, seed) and summarise.

    ``options`` are :func:`dying_tasks`'s keywords (dataset, hidden, epochs, batch_size, probe,
    n_samples, data_dir).
    """
    tasks = dying_tasks(activations, lrs, seeds, **options)
    records = run_tasks(tasks, train_run, store=store, workers=workers, progress=progress,
                        description="dying study runs")
    settings = {**{k: v for k, v in DEFAULTS.items() if k not in ("activations", "lrs", "seeds")},
                **options, "activations": list(activations), "lrs": [float(v) for v in lrs],
                "seeds": list(seeds)}
    return dying_result(records, settings)
