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

from ..engine.optimizers import SGD
from ..backends import DEFAULT_BACKEND
from ..store import Store, canonical_json
from .config import make_config
from .runner import Task, default_workers
from .shape import Study, StudyCli, cli_default, data_dir_option, parse_seeds, register_study, samples_option

__all__ = [
    "ABOVE_CHANCE",
    "DATASET_DEFAULTS",
    "DEFAULTS",
    "PHASE",
    "PhaseResult",
    "PhaseSpec",
    "grid_text",
    "parse_grid",
    "phase_grid",
    "phase_name",
    "phase_result",
    "phase_sections",
    "phase_tasks",
    "predicted_depths",
    "report_from_store",
    "resolve_params",
    "run_phase",
    "write_phase_report",
]

# each dataset's default grid and budget (measured, 2 workers): digits about 2 minutes on 2 cores;
# MNIST about 5 minutes of CPU: a scaled-down Schoenholz et al. (width 300, depths to 300)
DATASET_DEFAULTS: dict[str, dict] = {
    "digits": {"sigma_w2": [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0], "depths": [2, 5, 10, 15, 20, 30, 40, 50],
               "width": 64, "steps": 300, "batch_size": 32, "lr": 0.01},
    "mnist": {"sigma_w2": [1.0 + 0.25 * k for k in range(13)], "depths": [10, 20, 30, 40, 50, 60],
              "width": 100, "steps": 500, "batch_size": 32, "lr": 0.01},
}
DATASET_DEFAULTS["fashion_mnist"] = DATASET_DEFAULTS["mnist"]
#: The study's defaults (:class:`PhaseSpec`'s, the Python API's): digits' grid and budget.
DEFAULTS: dict[str, Any] = {
    "dataset": "digits", "activation": "tanh", "sigma_b2": 0.05,
    **{k: tuple(v) if isinstance(v, list) else v for k, v in DATASET_DEFAULTS["digits"].items()}, "seeds": (0,),
}
ABOVE_CHANCE = 2.0   # trained: final test accuracy >= this many times chance (20% with 10 classes)
CURVE_POINTS = 41    # sigma_w^2 values the predicted curve is computed at (plus the grid's)


def _default(key: str):
    return field(default_factory=lambda: list(DEFAULTS[key]))


@dataclass
class PhaseSpec:
    """One phase diagram: the grid, the net and the budget (defaults: digits, minutes on 2 cores)."""

    dataset: str = DEFAULTS["dataset"]
    activation: Any = DEFAULTS["activation"]
    sigma_b2: float = DEFAULTS["sigma_b2"]
    sigma_w2: list = _default("sigma_w2")
    depths: list = _default("depths")
    width: int = DEFAULTS["width"]
    steps: int = DEFAULTS["steps"]
    batch_size: int = DEFAULTS["batch_size"]
    lr: float = DEFAULTS["lr"]
    seeds: list = _default("seeds")
    n_samples: int | None = None
    name: str | None = None

    @classmethod
    def for_dataset(cls, dataset: str = "digits", **given) -> PhaseSpec:
        """A spec with ``dataset``'s defaults (:data:`DATASET_DEFAULTS`) for every setting given as None."""
        defaults = DATASET_DEFAULTS.get(dataset, DATASET_DEFAULTS["digits"])
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
            self.name = phase_name(self.params())

    @property
    def label(self) -> str:
        from ..activations import label_of

        return label_of(self.activation)

    def params(self) -> dict:
        return asdict(self)


SPEC_KEYS = ("dataset", "activation", "sigma_b2", "sigma_w2", "depths", "width", "steps", "batch_size", "lr",
             "seeds", "n_samples")   # PhaseSpec's fields but its name: the study's parameters


def phase_name(params: dict) -> str:
    """``phase-<dataset>-<activation>-<8 hex digits of the settings>``: a phase study's default name."""
    spec = {k: params[k] for k in SPEC_KEYS}
    digest = hashlib.sha256(canonical_json(spec).encode()).hexdigest()[:8]
    return f"phase-{spec['dataset']}-{spec['activation']['name']}-{digest}"


def phase_grid(*, dataset: str, activation: dict, sigma_b2: float, sigma_w2: Sequence[float], depths: Sequence[int],
               width: int, steps: int, batch_size: int, lr: float, seeds: Sequence[int], n_samples: int | None = None,
               engine: str = DEFAULT_BACKEND, study: str, data_dir: str | None = None, name: str | None = None) -> list[Task]:
    """The study's grid (resolved parameters, as :func:`resolve_params` returns them): one task per
    (depth, sigma_w^2, seed), depth slowest, then sigma_w^2, then seed; plain SGD. ``name`` (in the
    parameters stored before phase was a declared study) is ignored: ``study`` names the runs."""
    tasks = []
    for depth in depths:
        for sw in sigma_w2:
            for seed in seeds:
                cfg = make_config(study=study, seed=seed, dataset=dataset, n_samples=n_samples,
                                  hidden=f"{width}x{depth}", activation=activation,
                                  init={"name": "mean_field", "sigma_w2": sw, "sigma_b2": sigma_b2},
                                  optimizer=SGD.name, learning_rate=lr, batch_size=batch_size,
                                  steps=steps, engine=engine, data_dir=data_dir)
                tasks.append(Task(cfg, study))
    return tasks


def phase_tasks(spec: PhaseSpec, data_dir: str | None = None) -> list[Task]:
    """One task per (depth, sigma_w^2, seed): depth slowest, then sigma_w^2, then seed."""
    return phase_grid(**{k: getattr(spec, k) for k in SPEC_KEYS}, study=spec.name, data_dir=data_dir)


def resolve_params(params: dict) -> dict:
    """The parameters checked and in canonical form (:class:`PhaseSpec`: ValueError naming a bad value)."""
    spec = PhaseSpec(**{k: params[k] for k in SPEC_KEYS}, name="-")
    return {**params, **{k: getattr(spec, k) for k in SPEC_KEYS}}


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
    settings: dict = field(default_factory=dict)  # the study's parameters, name and store (Study.run)

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


def phase_result(records: list, settings: dict) -> PhaseResult:
    """The study's summary: the records (in :func:`phase_grid`'s order) and the settings."""
    spec = PhaseSpec(**{k: settings[k] for k in SPEC_KEYS}, name=settings["name"])
    return PhaseResult(spec, records, settings.get("store", ""), settings=dict(settings))


def run_phase(spec: PhaseSpec, *, store: Store | None = None, workers: int | None = None, progress: bool = True,
              data_dir: str | None = None, executor=None, rerun: bool = False) -> PhaseResult:
    """Run (or resume; ``rerun=True``: train again) every run of the phase diagram (:data:`PHASE`)."""
    return PHASE.run(store=store, workers=workers or default_workers(), progress=progress, name=spec.name,
                     rerun=rerun, executor=executor, data_dir=data_dir, **{k: getattr(spec, k) for k in SPEC_KEYS})


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


def write_phase_report(result: PhaseResult, out_dir: str | Path | None = None) -> Path:
    """Write the phase diagram's report into ``out_dir`` (default ./actlab-reports/<study>-<time>)."""
    from ..report import default_out_dir

    out = Path(out_dir) if out_dir is not None else default_out_dir(result.spec.name)
    return PHASE.report(result, out, meta={"study": result.spec.name, "store": result.store_path})


# -- the command line ----------------------------------------------------------------------------
def parse_grid(text: str, what: str, integer: bool = False) -> list:
    """``"1,1.5,2"``, or an arithmetic progression ``"1,1.25,...,4"`` (first, second, ..., last)."""
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    cast = int if integer else float
    kind = "integers" if integer else "numbers"
    try:
        if "..." in parts:
            if len(parts) != 4 or parts[2] != "...":
                raise ValueError
            a, b, last = cast(parts[0]), cast(parts[1]), cast(parts[3])
            step = b - a
            if not step > 0 or last < b:
                raise ValueError
            n = math.floor((last - a) / step + 1e-9)
            values = [a + k * step for k in range(n + 1)]
            values = [round(v, 12) if not integer else v for v in values]
        else:
            values = [cast(p) for p in parts]
    except ValueError:
        raise ValueError(f"{what} must be comma-separated {kind} or 'first,second,...,last' (increasing), "
                         f"got {text!r}") from None
    if not values or any(not (math.isfinite(v) and v > 0) for v in values):
        raise ValueError(f"{what} must be positive {kind}, got {text!r}")
    return values


def grid_text(values: Sequence[float]) -> str:
    """The short form :func:`parse_grid` reads back: ``"1,1.25,...,4"`` for an increasing arithmetic
    progression of four values or more, else the values (``"2,5,10"``)."""
    text = [f"{v:g}" for v in values]
    steps = [b - a for a, b in zip(values, values[1:])]
    if len(values) >= 4 and steps[0] > 0 and all(math.isclose(s, steps[0], rel_tol=1e-9) for s in steps):
        return f"{text[0]},{text[1]},...,{text[-1]}"
    return ",".join(text)


def _per_dataset(key: str, list_form: bool = False) -> str:
    """``--help``'s ``[digits 64, mnist 100]`` (``[digits: 0.5,1,...,4; mnist: ...]`` for a grid,
    ``[32]`` where every dataset agrees): read from :data:`DATASET_DEFAULTS`."""
    shown: dict[str, dict] = {}
    for name, d in DATASET_DEFAULTS.items():
        if all(d is not other for other in shown.values()):   # fashion_mnist shares MNIST's
            shown[name] = d
    values = {name: d[key] for name, d in shown.items()}
    if not list_form and len({repr(v) for v in values.values()}) == 1:
        return f"[{next(iter(values.values())):g}]"
    if list_form:
        return "[" + "; ".join(f"{name}: {grid_text(v)}" for name, v in values.items()) + "]"
    return "[" + ", ".join(f"{name} {v:g}" for name, v in values.items()) + "]"


def _cli_options() -> list:
    import click

    def default(key):   # DEFAULTS' (digits'); the settings given as None take the dataset's (DATASET_DEFAULTS)
        return cli_default(DEFAULTS, key)

    return [
        click.option("--dataset", default=default("dataset"), show_default=True, help="digits, mnist, fashion_mnist."),
        click.option("--activation", default=default("activation"), show_default=True,
                     help="One activation, parameters in parentheses: 'leaky_relu(alpha=0.2)'."),
        click.option("--sigma-b2", "sigma_b2", type=float, default=default("sigma_b2"), show_default=True,
                     help="Bias variance sigma_b^2."),
        click.option("--sigma-w2", "sigma_w2", default=None,
                     help="Weight variances sigma_w^2 (times 1/fan_in): a list or 'first,second,...,last' "
                          + _per_dataset("sigma_w2", True) + "."),
        click.option("--depths", default=None, help="Numbers of hidden layers: a list or 'first,second,...,last' "
                     + _per_dataset("depths", True) + "."),
        click.option("--width", type=click.IntRange(min=1), default=None,
                     help=f"Units per hidden layer {_per_dataset('width')}."),
        click.option("--steps", type=click.IntRange(min=1), default=None,
                     help=f"SGD steps per run, exactly: the last epoch is cut {_per_dataset('steps')}."),
        click.option("--batch-size", type=click.IntRange(min=1), default=None, help=_per_dataset("batch_size")),
        click.option("--lr", type=float, default=None, help=f"Learning rate, plain SGD {_per_dataset('lr')}."),
        click.option("--seeds", default=default("seeds"), show_default=True,
                     help="N (seeds 0..N-1) or a list such as 0,5,7."),
        samples_option(),
        data_dir_option(),
    ]


def _from_cli(*, dataset, activation, sigma_b2, sigma_w2, depths, width, steps, batch_size, lr, seeds, samples,
              data_dir) -> dict:
    """The options as the study's parameters: the dataset's defaults (:data:`DATASET_DEFAULTS`) for
    those not given, checked here (ValueError naming the option) before anything is opened."""
    if not (math.isfinite(sigma_b2) and sigma_b2 >= 0):
        raise ValueError(f"--sigma-b2 must be a finite number >= 0, got {sigma_b2!r}")
    if lr is not None and not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"--lr must be a positive number, got {lr!r}")
    spec = PhaseSpec.for_dataset(
        dataset, activation=activation, sigma_b2=sigma_b2,
        sigma_w2=None if sigma_w2 is None else parse_grid(sigma_w2, "--sigma-w2"),
        depths=None if depths is None else parse_grid(depths, "--depths", True), width=width, steps=steps,
        batch_size=batch_size, lr=lr, seeds=parse_seeds(seeds), n_samples=samples)
    return {**{k: getattr(spec, k) for k in SPEC_KEYS}, "data_dir": data_dir}


def _show(result: PhaseResult, console) -> None:
    import click
    from rich.table import Table

    spec = result.spec
    means, divs = result.grid()
    t = Table(title=f"{spec.name}: test accuracy % after {spec.steps} steps (rows: depth; x: diverged runs)")
    t.add_column("depth")
    for s in spec.sigma_w2:
        t.add_column(f"{s:g}", justify="right")
    for depth, mrow, drow in zip(spec.depths, means, divs):
        t.add_row(str(depth), *[("-" if m is None else f"{100 * m:.0f}") + ("x" if d else "") for m, d in zip(mrow, drow)])
    t.add_row("6 xi_c", *["inf" if math.isinf(v) else ("-" if math.isnan(v) else f"{v:.0f}") for v in result.limit])
    console.print(t)
    c = result.counts()
    click.echo(f"trained (test accuracy >= {100 * c['threshold']:.0f}%): inside the predicted region "
               f"{c['inside'][1]}/{c['inside'][0]}, outside {c['outside'][1]}/{c['outside'][0]}")


PHASE = register_study(Study(
    kind="phase", title=lambda result: f"Phase diagram {result.spec.name}", defaults=DEFAULTS,
    axes=("sigma_w2", "depths", "seeds"), grid=phase_grid, summarize=phase_result, sections=phase_sections,
    resolve=resolve_params, name_of=phase_name,
    cli=StudyCli(help="""The empirical phase diagram (Schoenholz et al. 2017): test accuracy after --steps SGD
    steps over a grid of sigma_w^2 x depth, drawn as a heatmap with the mean-field prediction
    depth = 6 xi_c(sigma_w^2) over it.

    Every net has weights N(0, sigma_w^2/fan_in) and biases N(0, sigma_b^2) in every layer. The
    report says how many runs trained (test accuracy >= 2 x chance) inside and outside the
    predicted region. Example: actlab phase --dataset mnist --sigma-w2 1,1.25,...,4 --depths 10,20,...,100.
    """, options=_cli_options, from_cli=_from_cli, show=_show, omit=("engine",))))

report_from_store = PHASE.rebuild   # ``actlab report``: a phase study's report from the store alone
