"""``actlab boundary``: decision boundaries on the 2-D toy sets, as TensorFlow Playground draws them.

For every toy set (circle, xor, gauss, spiral, moons) and activation (linear included), one run
trains a small MLP on half of the points and keeps its final weights; the report draws one
panel per (data set, activation): the probability of class 1 over the plane as a heatmap, the
test points, and the test accuracy in the corner. A network whose hidden layers are linear is
a linear model however deep it is: its boundary is a straight line, near chance on the circle;
a tanh hidden layer bends it around the inner class.

Each run is keyed in the store by its full configuration (``data.noise`` included), so a second
call reuses the trained weights and only redraws.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from ..presets import PRESETS
from ..activations import label_of
from ..backends import DEFAULT_BACKEND
from ..store import Store
from .config import load_data, make_config
from .diagnostics import mean_ci
from .runner import Task, build_model
from .shape import Study, StudyCli, activation_configs, check_list, cli_default, parse_seeds, register_study

__all__ = ["DEFAULTS", "RESOLUTION", "BoundaryRun", "BoundaryResult", "boundary_tasks", "boundary_study",
           "boundary_result", "boundary_report", "boundary_sections", "probability_grid", "load_toy",
           "report_from_store", "BOUNDARY"]

_TOY = PRESETS["circle"]
DEFAULTS: dict[str, Any] = {
    "datasets": ("circle", "xor", "gauss", "spiral", "moons"),
    "activations": ("linear", "sigmoid", "tanh", "relu"),
    "seeds": (0,),
    "n_samples": 400,
    "noise": 0.1,
    "test_fraction": 0.5,
    # the network and training: the toy sets' preset (actlab.presets), as `actlab train` uses
    **{k: getattr(_TOY, k) for k in ("hidden", "optimizer", "learning_rate", "epochs", "batch_size")},
}
RESOLUTION = 100   # grid points per axis of each heatmap (the report's, not a run's: not in DEFAULTS)


def boundary_tasks(datasets: Sequence[str] = DEFAULTS["datasets"], activations: Sequence[Any] = DEFAULTS["activations"],
                   seeds: Sequence[int] = DEFAULTS["seeds"], *, hidden: Any = DEFAULTS["hidden"],
                   n_samples: int = DEFAULTS["n_samples"], noise: float = DEFAULTS["noise"],
                   test_fraction: float = DEFAULTS["test_fraction"], optimizer: Any = DEFAULTS["optimizer"],
                   learning_rate: float = DEFAULTS["learning_rate"], epochs: int = DEFAULTS["epochs"],
                   batch_size: int = DEFAULTS["batch_size"], engine: str = DEFAULT_BACKEND,
                   study: str = "boundary", data_dir: Any = None) -> list[Task]:
    """One task per (toy set, activation, seed), on ``engine`` (a backend, :mod:`actlab.backends`); the
    toy sets are generated (``data_dir`` is accepted and ignored, as every study's grid takes it)."""
    from .. import datasets as _datasets

    names = list(datasets)
    if not names:
        raise ValueError("datasets must not be empty")
    for name in names:
        if name not in _datasets.TOY_NAMES:
            raise ValueError(f"{name!r} is not a 2-D toy set; valid: {', '.join(_datasets.TOY_NAMES)}")
    seeds = check_list("seeds", seeds, int, 0)
    activations = list(activations)
    if not activations:
        raise ValueError("activations must not be empty")
    if not (isinstance(noise, (int, float)) and noise >= 0):
        raise ValueError(f"noise must be a non-negative number, got {noise!r}")
    tasks = []
    for name in names:
        for act in activations:
            for seed in seeds:
                cfg = make_config(study=study, seed=seed, dataset=name, n_samples=n_samples,
                                  test_fraction=test_fraction, hidden=hidden, activation=act,
                                  optimizer=optimizer, learning_rate=learning_rate, epochs=epochs,
                                  batch_size=batch_size, engine=engine)
                cfg["data"]["noise"] = float(noise)
                cfg["diagnostics"] = {"final_weights": {"at": int(epochs)}}
                tasks.append(Task(cfg, study))
    return tasks


def load_toy(config: dict):
    """The toy data set of a boundary run's configuration (deterministic: same points every time)."""
    return load_data(config["data"])


def final_weights(model, data, epoch: int, at: int) -> dict | None:
    """At epoch ``at`` (the last): the weights (Keras order) and the train and test accuracy."""
    if epoch != at:
        return None
    y_train, y_test = data.one_hot()
    return {"weights": [w.tolist() for w in model.get_weights()],
            "test_accuracy": float(model.evaluate(data.x_test, y_test, verbose=0)[1]),
            "train_accuracy": float(model.evaluate(data.x_train, y_train, verbose=0)[1])}


def probability_grid(model: Any, xlim: tuple[float, float], ylim: tuple[float, float],
                     resolution: int = RESOLUTION) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(xs, ys, p)``: the model's probability of class 1 on a ``resolution`` x ``resolution``
    grid, ``p[i, j]`` at ``(xs[j], ys[i])``."""
    if not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an integer >= 2, got {resolution!r}")
    xs = np.linspace(xlim[0], xlim[1], resolution)
    ys = np.linspace(ylim[0], ylim[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    p = model.predict(pts)
    p1 = p[:, 1] if p.shape[1] > 1 else p[:, 0]
    return xs, ys, p1.reshape(resolution, resolution).astype(np.float64)


@dataclass
class BoundaryRun:
    dataset: str
    activation: str
    seed: int
    status: str
    config: dict = field(repr=False, default_factory=dict)
    key: str = ""
    accuracy: float = math.nan
    train_accuracy: float = math.nan
    weights: list | None = field(default=None, repr=False)
    diverged_epoch: int | None = None

    def model(self):
        """The trained model, rebuilt from the configuration and the stored weights."""
        if self.weights is None:
            raise ValueError(f"run {self.key[:12]} ({self.dataset}, {self.activation}) has no weights "
                             f"(status {self.status})")
        data = load_toy(self.config)
        model = build_model(self.config, data)
        model.set_weights([np.asarray(w, dtype=model.dtype) for w in self.weights])
        return model

    def data(self):
        return load_toy(self.config)


def _boundary_run(rec: dict) -> BoundaryRun:
    cfg = rec["config"]
    final = (rec.get("diagnostics") or {}).get("final_weights") or [{}]
    diag = final[-1]
    return BoundaryRun(dataset=cfg["data"]["name"], activation=label_of(cfg["model"]["activation"]), seed=int(cfg["seed"]),
                       status=rec["status"], config=cfg, key=rec["key"],
                       accuracy=float(diag.get("test_accuracy", math.nan)),
                       train_accuracy=float(diag.get("train_accuracy", math.nan)),
                       weights=diag.get("weights"), diverged_epoch=rec.get("diverged_epoch"))


@dataclass
class BoundaryResult:
    runs: list[BoundaryRun]
    settings: dict = field(default_factory=dict)
    reuse: tuple[int, int] | None = None    # (runs reused from the store, runs in all)

    @property
    def datasets(self) -> list[str]:
        return list(dict.fromkeys(r.dataset for r in self.runs))

    @property
    def activations(self) -> list[str]:
        return list(dict.fromkeys(r.activation for r in self.runs))

    def get(self, dataset: str, activation: str, seed: int | None = None) -> BoundaryRun | None:
        """The run of one panel (the smallest seed unless ``seed`` is given)."""
        runs = sorted((r for r in self.runs if r.dataset == dataset and r.activation == activation
                       and (seed is None or r.seed == seed)), key=lambda r: r.seed)
        return runs[0] if runs else None

    def summary(self) -> list[dict]:
        """Per (data set, activation): test accuracy, mean and 95% t interval over seeds."""
        rows = []
        for ds in self.datasets:
            for act in self.activations:
                runs = [r for r in self.runs if r.dataset == ds and r.activation == act]
                m, lo, hi, n = mean_ci([r.accuracy for r in runs if r.status == "done"])
                lo, hi = (max(lo, 0.0), min(hi, 1.0)) if n else (lo, hi)
                rows.append({"dataset": ds, "activation": act, "accuracy": m, "low": lo, "high": hi, "runs": n,
                             "diverged": sum(r.status == "diverged" for r in runs)})
        return rows

    def panels(self, resolution: int = RESOLUTION, seed: int | None = None, margin: float = 0.5) -> dict:
        """``{(dataset, activation): panel}`` with each panel a dict of ``xs, ys, p`` (the grid,
        None when the run has no weights), ``x, y`` (test points and labels), ``accuracy``,
        ``status``: what :func:`actlab.plots.diagnostics.boundary_grid_figure` draws."""
        out = {}
        for ds in self.datasets:
            for act in self.activations:
                run = self.get(ds, act, seed)
                if run is None:
                    continue
                data = run.data()
                pts = np.vstack([data.x_train, data.x_test])
                xlim = (float(pts[:, 0].min()) - margin, float(pts[:, 0].max()) + margin)
                ylim = (float(pts[:, 1].min()) - margin, float(pts[:, 1].max()) + margin)
                panel = {"x": data.x_test, "y": data.y_test, "accuracy": run.accuracy, "status": run.status,
                         "xs": None, "ys": None, "p": None, "xlim": xlim, "ylim": ylim}
                if run.weights is not None:
                    panel["xs"], panel["ys"], panel["p"] = probability_grid(run.model(), xlim, ylim, resolution)
                out[(ds, act)] = panel
        return out


def boundary_result(records: Iterable[dict], settings: dict | None = None) -> BoundaryResult:
    runs = [_boundary_run(rec) for rec in records if rec is not None and rec.get("config")]
    return BoundaryResult(runs=runs, settings=dict(settings or {}))


# -- report ---------------------------------------------------------------------------------------
def boundary_sections(result: BoundaryResult, resolution: int = RESOLUTION) -> list:
    """The report's sections (``actlab.report.Section``) for a boundary study."""
    from ..plots import diagnostics as P
    from ..report import Section, Table

    s = result.settings
    seeds = sorted({r.seed for r in result.runs})
    panels = result.panels(resolution=resolution, seed=seeds[0] if seeds else None)
    fig = P.boundary_grid_figure(panels, result.datasets, result.activations,
                                 title=f"Decision boundaries, hidden {s.get('hidden', '?')} (seed {seeds[0] if seeds else '?'})")
    rows = result.summary()
    text = (f"Each panel: an MLP with hidden layers {s.get('hidden', '?')} of the column's activation, trained "
            f"with {s.get('optimizer', '?')} (learning rate {s.get('learning_rate', '?')}, batch "
            f"{s.get('batch_size', '?')}, {s.get('epochs', '?')} epochs) on {s.get('n_samples', '?')} points "
            f"(noise {s.get('noise', '?')}, half for testing). Colour: the probability of class 1 (orange = 0, "
            "blue = 1) with the p = 0.5 contour; dots: the test points; corner: test accuracy. "
            "With linear hidden layers the network is a linear model, so its boundary is a straight line.")
    acc = Table(["dataset"] + result.activations,
                [[ds] + [next((f"{r['accuracy']:.3f}" if r["runs"] == 1 else
                               f"{r['accuracy']:.3f} [{r['low']:.3f}, {r['high']:.3f}]") if r["runs"] else
                              ("diverged" if r["diverged"] else "n/a")
                              for r in rows if r["dataset"] == ds and r["activation"] == a) for a in result.activations]
                 for ds in result.datasets], title="Test accuracy (mean over seeds, 95% interval)", name="accuracy")
    runs = Table(["key", "dataset", "activation", "seed", "status", "train accuracy", "test accuracy"],
                 [[r.key[:12], r.dataset, r.activation, r.seed, r.status, r.train_accuracy, r.accuracy]
                  for r in result.runs], title="Runs", name="runs")
    return [Section("Decision boundaries", text, figures=[("decision-boundaries", fig)], tables=[acc, runs])]


def _cli_options() -> list:
    import click

    from ..engine.optimizers import OPTIMIZERS

    def default(key):   # every default is DEFAULTS' (the Python API's), in its command-line form
        return cli_default(DEFAULTS, key)

    return [
        click.option("--datasets", default=default("datasets"), show_default=True, help="2-D toy sets."),
        click.option("--activations", default=default("activations"), show_default=True,
                     help="Comma-separated, parameters in parentheses."),
        click.option("--seeds", default=default("seeds"), show_default=True,
                     help="N (seeds 0..N-1) or a list; the figure shows the first."),
        click.option("--hidden", default=default("hidden"), show_default=True,
                     help="Hidden sizes such as 8x2 or 4,2 (default: the toy sets' preset, as every setting below)."),
        click.option("--samples", type=click.IntRange(min=4), default=default("n_samples"), show_default=True,
                     help="Points (half for testing)."),
        click.option("--noise", type=click.FloatRange(min=0), default=default("noise"), show_default=True),
        click.option("--optimizer", type=click.Choice(list(OPTIMIZERS)), default=default("optimizer"),
                     show_default=True),
        click.option("--lr", type=float, default=default("learning_rate"), show_default=True),
        click.option("--epochs", type=click.IntRange(min=0), default=default("epochs"), show_default=True),
        click.option("--batch-size", type=click.IntRange(min=1), default=default("batch_size"), show_default=True),
        click.option("--resolution", type=click.IntRange(min=2, max=1000), default=RESOLUTION, show_default=True,
                     help="Grid points per axis of each heatmap."),
    ]


def _from_cli(*, datasets, activations, seeds, hidden, samples, noise, optimizer, lr, epochs, batch_size) -> dict:
    from .compare import parse_activations

    return dict(datasets=[s.strip() for s in datasets.split(",") if s.strip()],
                activations=parse_activations(activations), seeds=parse_seeds(seeds), hidden=hidden,
                n_samples=samples, noise=noise, optimizer=optimizer, learning_rate=lr, epochs=epochs,
                batch_size=batch_size)


def _show(result: BoundaryResult, console) -> None:
    from rich.table import Table

    def fmt(x, digits=3):
        return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{digits}g}"

    t = Table(title=f"{result.settings['name']}: test accuracy (mean over seeds)")
    t.add_column("dataset")
    for act in result.activations:
        t.add_column(act, justify="right")
    summary = result.summary()
    for ds in result.datasets:
        t.add_row(ds, *[(fmt(r["accuracy"]) if r["runs"] else ("diverged" if r["diverged"] else "-"))
                        for r in summary if r["dataset"] == ds])
    console.print(t)


BOUNDARY = register_study(Study(
    kind="boundary", title="actlab boundary: straight lines and curves", defaults=DEFAULTS,
    axes=("datasets", "activations", "seeds"), grid=boundary_tasks, summarize=boundary_result,
    sections=boundary_sections, diagnostics={"final_weights": final_weights}, preload=False,
    resolve=activation_configs,
    cli=StudyCli(help="""Decision boundaries on the 2-D toy sets: rows = data sets, columns = activations.

    Linear hidden layers give a straight boundary (near chance on the circle); a non-linear
    hidden layer bends it. Each panel shows the probability heatmap, the test points and the
    test accuracy.
    """, options=_cli_options, from_cli=_from_cli, show=_show, report_options=("resolution",))))


def boundary_study(datasets: Sequence[str] = DEFAULTS["datasets"], activations: Sequence[Any] = DEFAULTS["activations"],
                   seeds: Sequence[int] = DEFAULTS["seeds"], *, store: Store | None = None, workers: int = 1,
                   progress: bool = False, name: str | None = None, rerun: bool = False, executor=None,
                   **options: Any) -> BoundaryResult:
    """Run (or reuse from ``store``; ``rerun=True`` trains again) every (toy set, activation, seed).

    ``options`` are :func:`boundary_tasks`'s keywords (hidden, n_samples, noise, test_fraction,
    optimizer, learning_rate, epochs, batch_size, engine); the study is recorded under ``name``
    (:meth:`Study.run`). On the torch engine the runs train as ensembles (its backend ``trains_together``).
    """
    return BOUNDARY.run(store=store, workers=workers, progress=progress, name=name, rerun=rerun, executor=executor,
                        datasets=datasets, activations=activations, seeds=seeds, **options)


def boundary_report(result: BoundaryResult, out_dir: Any, *, meta: dict | None = None, resolution: int = RESOLUTION):
    """Write the boundary study's report into ``out_dir``; returns the path of index.html."""
    return BOUNDARY.report(result, out_dir, meta=meta, resolution=resolution)


report_from_store = BOUNDARY.rebuild   # ``actlab report``: the report from the store alone
