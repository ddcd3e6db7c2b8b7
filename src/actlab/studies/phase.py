"""``actlab phase``: the empirical phase diagram of trainability (Schoenholz et al. 2017, Fig. 5/6).

For one activation and bias variance sigma_b^2, every (sigma_w^2, depth, seed) of a grid is
a fully connected net of ``depth`` hidden layers of ``width`` units, initialised with weights
N(0, sigma_w^2 / fan_in) and biases N(0, sigma_b^2) (:class:`actlab.engine.initializers.MeanField`,
every layer, the output layer too), trained with plain SGD for exactly ``steps`` steps
(:func:`actlab.studies.runner.steps_plan`); its test accuracy after the last step is the cell's
colour. The mean-field theory predicts that a net trains only where ``depth <= 6 xi_c(sigma_w^2)``
(:func:`actlab.theory.trainable_depth`): the curve drawn over the heatmap, which rises to infinity
at the edge of chaos. A run counts as *trained* when its final test accuracy is at least
:data:`ABOVE_CHANCE` times chance (1 / classes); diverged runs count as not trained.

>>> tasks = phase_tasks(PhaseSpec(sigma_w2=[1.0, 2.0], depths=[2, 4], seeds=[0], steps=10))
>>> [(t.config["model"]["hidden"], t.config["model"]["init"]["sigma_w2"]) for t in tasks]
[('64x2', 1.0), ('64x2', 2.0), ('64x4', 1.0), ('64x4', 2.0)]
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..report.rebuild import register_reporter
from ..store import Store, canonical_json
from .runner import (
    Task,
    default_workers,
    load_data,
    make_config,
    reuse_or_rerun,
    run_tasks,
    train_run,
)

__all__ = [
    "ABOVE_CHANCE",
    "PhaseResult",
    "PhaseSpec",
    "phase_sections",
    "phase_tasks",
    "predicted_depths",
    "report_from_store",
    "run_phase",
    "write_phase_report",
]

# each dataset's default grid and budget (measured, 2 workers): digits about 2 minutes on 2 cores;
# MNIST about 5 minutes of CPU: a scaled-down Schoenholz et al. (width 300, depths to 300)
DEFAULTS: dict[str, dict] = {
    "digits": {"sigma_w2": [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0], "depths": [2, 5, 10, 15, 20, 30, 40, 50],
               "width": 64, "steps": 300, "batch_size": 32, "lr": 0.01},
    "mnist": {"sigma_w2": [1.0 + 0.25 * k for k in range(13)], "depths": [10, 20, 30, 40, 50, 60],
              "width": 100, "steps": 500, "batch_size": 32, "lr": 0.01},
}
DEFAULTS["fashion_mnist"] = DEFAULTS["mnist"]
ABOVE_CHANCE = 2.0   # trained: final test accuracy >= this many times chance (20% with 10 classes)
CURVE_POINTS = 41    # sigma_w^2 values the predicted curve is computed at (plus the grid's)


@dataclass
class PhaseSpec:
    """One phase diagram: the grid, the net and the budget (defaults: digits, minutes on 2 cores)."""

    dataset: str = "digits"
    activation: Any = "tanh"
    sigma_b2: float = 0.05
    sigma_w2: list = field(default_factory=lambda: [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0])
    depths: list = field(default_factory=lambda: [2, 5, 10, 15, 20, 30, 40, 50])
    width: int = 64
    steps: int = 300
    batch_size: int = 32
    lr: float = 0.01
    seeds: list = field(default_factory=lambda: [0])
    n_samples: int | None = None
    name: str | None = None

    @classmethod
    def for_dataset(cls, dataset: str = "digits", **given) -> PhaseSpec:
        """A spec with ``dataset``'s defaults (:data:`DEFAULTS`) for every setting given as None."""
        defaults = DEFAULTS.get(dataset, DEFAULTS["digits"])
        return cls(dataset=dataset, **{**defaults, **{k: v for k, v in given.items() if v is not None}})

    def __post_init__(self):
        from .compare import parse_activations

        acts = parse_activations(self.activation if isinstance(self.activation, str) else [self.activation])
        if len(acts) != 1:
            raise ValueError(f"one activation per phase diagram, got {self.activation!r}")
        from .runner import _activation_config

        self.activation = _activation_config(acts[0])
        if not (isinstance(self.sigma_b2, (int, float)) and math.isfinite(self.sigma_b2) and self.sigma_b2 >= 0):
            raise ValueError(f"sigma_b2 must be a finite number >= 0, got {self.sigma_b2!r}")
        self.sigma_b2 = float(self.sigma_b2)
        if not self.sigma_w2 or any(not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0)
                                    for v in self.sigma_w2):
            raise ValueError(f"sigma_w2 must be positive numbers, got {self.sigma_w2!r}")
        self.sigma_w2 = sorted(float(v) for v in dict.fromkeys(self.sigma_w2))
        if not self.depths or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in self.depths):
            raise ValueError(f"depths must be integers >= 1, got {self.depths!r}")
        self.depths = sorted(dict.fromkeys(self.depths))
        for what in ("width", "steps", "batch_size"):
            v = getattr(self, what)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{what} must be a positive integer, got {v!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"the learning rate must be a positive number, got {self.lr!r}")
        self.lr = float(self.lr)
        if not self.seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in self.seeds):
            raise ValueError(f"seeds must be non-negative integers, got {self.seeds!r}")
        self.seeds = list(dict.fromkeys(self.seeds))
        if self.name is None:
            text = canonical_json({k: v for k, v in asdict(self).items() if k != "name"})
            self.name = f"phase-{self.dataset}-{self.activation['name']}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"

    @property
    def label(self) -> str:
        from ..activations import label_of

        return label_of(self.activation)

    def params(self) -> dict:
        return asdict(self)


def phase_tasks(spec: PhaseSpec, data_dir: str | None = None) -> list[Task]:
    """One task per (depth, sigma_w^2, seed): depth slowest, then sigma_w^2, then seed."""
    tasks = []
    for depth in spec.depths:
        for sw in spec.sigma_w2:
            for seed in spec.seeds:
                cfg = make_config(study=spec.name, seed=seed, dataset=spec.dataset, n_samples=spec.n_samples,
                                  hidden=f"{spec.width}x{depth}", activation=spec.activation,
                                  init={"name": "mean_field", "sigma_w2": sw, "sigma_b2": spec.sigma_b2},
                                  optimizer="sgd", learning_rate=spec.lr, batch_size=spec.batch_size,
                                  steps=spec.steps, data_dir=data_dir)
                tasks.append(Task(cfg, spec.name))
    return tasks


def predicted_depths(spec: PhaseSpec, sigma_w2: Sequence[float]) -> list[float]:
    """6 xi_c(sigma_w^2) at ``spec.sigma_b2`` (inf at the edge; nan where q* diverges)."""
    from .. import theory

    act = _activation(spec)
    return [theory.point(act, float(s), spec.sigma_b2).trainable_depth for s in sigma_w2]


def _activation(spec: PhaseSpec):
    from .. import activations

    cfg = dict(spec.activation)
    return activations.get(cfg.pop("name"), **cfg)


def _edge(spec: PhaseSpec) -> float | None:
    from .. import theory

    return theory.edge_of_chaos(_activation(spec), spec.sigma_b2).sigma_w2


@dataclass
class PhaseResult:
    spec: PhaseSpec
    records: list                     # store records, in phase_tasks' order
    store_path: str = ""
    reuse: tuple | None = None        # (runs reused from the store, runs), as reuse_or_rerun
    limit: list = field(default_factory=list)   # 6 xi_c at each of spec.sigma_w2
    edge: float | None = None

    def __post_init__(self):
        if not self.limit:
            self.limit = predicted_depths(self.spec, self.spec.sigma_w2)
            self.edge = _edge(self.spec)

    def _cell(self, i: int, j: int) -> list[dict | None]:
        n = len(self.spec.seeds)
        start = (i * len(self.spec.sigma_w2) + j) * n
        return list(self.records[start:start + n])

    def grid(self) -> tuple[list, list]:
        """(mean final test accuracy, diverged runs) per [depth][sigma_w2]; None where no run finished."""
        means, divs = [], []
        for i in range(len(self.spec.depths)):
            mrow, drow = [], []
            for j in range(len(self.spec.sigma_w2)):
                recs = self._cell(i, j)
                finals = [v for v in (_final(r) for r in recs) if v is not None]
                mrow.append(sum(finals) / len(finals) if finals else None)
                drow.append(sum(1 for r in recs if r and r["status"] == "diverged"))
            means.append(mrow)
            divs.append(drow)
        return means, divs

    def chance(self) -> float:
        for r in self.records:
            info = ((r or {}).get("diagnostics") or {}).get("info") or {}
            if info.get("num_classes"):
                return 1.0 / info["num_classes"]
        return 0.1

    def counts(self) -> dict:
        """Runs inside / outside the predicted trainable region (depth <= 6 xi_c) and how many trained."""
        threshold = ABOVE_CHANCE * self.chance()
        out = {"inside": [0, 0], "outside": [0, 0], "threshold": threshold}
        for i, depth in enumerate(self.spec.depths):
            for j in range(len(self.spec.sigma_w2)):
                limit = self.limit[j]
                where = "inside" if (math.isnan(limit) is False and depth <= limit) else "outside"
                for r in self._cell(i, j):
                    if r is None or r["status"] not in ("done", "diverged"):
                        continue
                    acc = _final(r)
                    out[where][0] += 1
                    out[where][1] += int(acc is not None and acc >= threshold)
        return out


def _final(rec: dict | None) -> float | None:
    if not rec or rec.get("status") != "done" or not rec.get("history"):
        return None
    values = rec["history"].get("val_accuracy") or []
    return float(values[-1]) if values else None


def run_phase(spec: PhaseSpec, *, store: Store | None = None, workers: int | None = None, progress: bool = True,
              data_dir: str | None = None, executor=None, fn=train_run, rerun: bool = False) -> PhaseResult:
    """Run (or resume; ``rerun=True``: train again) every run of the phase diagram."""
    store = store if store is not None else Store()
    tasks = phase_tasks(spec, data_dir)
    load_data(tasks[0].config["data"], tasks[0].config.get("runtime"))  # a missing dataset: one error first
    store.define_study(spec.name, "phase", spec.params())
    reuse = reuse_or_rerun(tasks, store, rerun)
    records = run_tasks(tasks, fn, store, workers=workers or default_workers(), progress=progress,
                        description=f"{spec.name}: runs", executor=executor)
    return PhaseResult(spec, records, str(store.path), reuse)


# -- the report --------------------------------------------------------------------------------
def _pct(x):
    return None if x is None else 100.0 * x


def _fraction(n: int, k: int) -> str:
    return f"{k}/{n} = {100 * k / n:.0f}%" if n else "no runs"


def phase_sections(result: PhaseResult) -> list:
    from ..plots.phase import plot_phase_heatmap
    from ..report import Section, Table

    spec = result.spec
    means, divs = result.grid()
    lo, hi = spec.sigma_w2[0], spec.sigma_w2[-1]
    curve_x = sorted(set(np.linspace(lo, hi, CURVE_POINTS).tolist()) | set(spec.sigma_w2)
                     | ({result.edge} if result.edge is not None and lo <= result.edge <= hi else set()))
    curve_y = [result.limit[spec.sigma_w2.index(x)] if x in spec.sigma_w2 else
               (math.inf if x == result.edge else predicted_depths(spec, [x])[0]) for x in curve_x]
    fig = plot_phase_heatmap(means, divs, spec.sigma_w2, spec.depths, curve_x, curve_y, edge=result.edge,
                             title=f"{spec.label}, sigma_b^2 = {spec.sigma_b2:g}, {spec.dataset}: test accuracy "
                                   f"after {spec.steps} SGD steps")
    c = result.counts()
    chance = result.chance()
    edge = ("no edge of chaos at this sigma_b^2 (the theory's reason: see `actlab criticality`)"
            if result.edge is None else f"edge of chaos at sigma_w^2 = {result.edge:.4f} (dashed line)")
    n_runs = len(result.records)
    text = (f"{len(spec.depths)} depths x {len(spec.sigma_w2)} values of sigma_w^2 x {len(spec.seeds)} seed(s) = "
            f"{n_runs} runs: {spec.label}, width {spec.width}, weights N(0, sigma_w^2/fan_in) and biases "
            f"N(0, {spec.sigma_b2:g}) in every layer, plain SGD (learning rate {spec.lr:g}, batch {spec.batch_size}) "
            f"for exactly {spec.steps} steps; the colour is the mean final test accuracy over seeds, `x` marks "
            f"diverged runs. The white curve is the mean-field prediction depth = 6 xi_c(sigma_w^2) "
            f"(`actlab.theory`, clipped to the plot where xi_c grows without bound); {edge}.\n\n"
            f"**Trained** means final test accuracy >= {ABOVE_CHANCE:g} x chance = {100 * c['threshold']:.0f}% "
            f"(chance {100 * chance:.0f}%). Inside the predicted trainable region (depth <= 6 xi_c): "
            f"**{_fraction(*c['inside'])}** of runs trained; outside it: **{_fraction(*c['outside'])}**.")
    pending = sum(1 for r in result.records if r is None or r["status"] not in ("done", "diverged"))
    if pending:
        text += f"\n\n{pending} runs failed or are not finished (`actlab runs list --study {spec.name}`)."
    rows = []
    for i, depth in enumerate(spec.depths):
        rows.append([depth, *[("-" if m is None else f"{100 * m:.1f}") + (f" ({d} div)" if d else "")
                              for m, d in zip(means[i], divs[i])]])
    grid_table = Table(["depth", *[f"{s:g}" for s in spec.sigma_w2]], rows,
                       title="Mean final test accuracy % (depth x sigma_w^2)", name="accuracy")
    theory_table = Table(["sigma_w^2", "6 xi_c"], [[s, None if not math.isfinite(v) else v]
                                                    for s, v in zip(spec.sigma_w2, result.limit)],
                         title="Predicted trainable depth (empty: infinite or undefined)", name="prediction")
    run_rows = []
    for k, r in enumerate(result.records):
        if r is None:
            continue
        n = len(spec.seeds)
        depth, sw = spec.depths[k // (n * len(spec.sigma_w2))], spec.sigma_w2[(k // n) % len(spec.sigma_w2)]
        run_rows.append([depth, sw, r["config"]["seed"], r["status"], _pct(_final(r)), r["seconds"], r["key"][:12]])
    runs = Table(["depth", "sigma_w^2", "seed", "status", "test acc %", "seconds", "key"], run_rows,
                 title="Every run", name="runs")
    return [Section("Phase diagram", text, figures=[("phase", fig)], tables=[grid_table, theory_table]),
            Section("Runs", f"Store: `{result.store_path}`; study `{spec.name}`.", tables=[runs])]


def write_phase_report(result: PhaseResult, out_dir: str | Path | None = None, notes: str | None = None) -> Path:
    from ..report import Section, default_out_dir, write_report

    out = Path(out_dir) if out_dir is not None else default_out_dir(result.spec.name)
    sections = phase_sections(result)
    if notes:
        sections.insert(1, Section("Notes", notes))
    return write_report(out, f"Phase diagram {result.spec.name}", sections,
                        meta={"study": result.spec.name, "store": result.store_path})


def report_from_store(store: Store, study: str, params: dict, out_dir: str | Path | None = None) -> Path:
    """Rebuild a phase diagram's report from the store alone (``actlab report``)."""
    spec = PhaseSpec(**params)
    records = [store.get(Store.key(t.config)) for t in phase_tasks(spec)]
    return write_phase_report(PhaseResult(spec, records, str(store.path)), out_dir)


register_reporter("phase", report_from_store)   # ``actlab report`` rebuilds a phase study with it
