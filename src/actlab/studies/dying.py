"""``actlab dying``: the dying ReLU, over training and as a function of the learning rate.

Each (activation, learning rate, seed) is one run: an MLP trained with plain SGD, measured at
initialisation and after every epoch on a fixed probe batch (the first ``probe`` training
examples, inference mode). A hidden unit is **dead** when no gradient flows through it for any
probe example — its derivative is exactly 0 on every probe input (for PReLU, the gradient with
respect to its slope is 0 too; a maxout unit is never dead). For ReLU that is "outputs 0 for
every example". A leaky ReLU unit can be **inactive** (negative output for every example) but
is never dead: its slope 0.01 still passes a gradient. A run whose loss becomes NaN or infinite
is recorded as diverged, with the epoch, and shown as such.

The definitions are those of :mod:`actlab.engine.inspect`, shared with the playground.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from ..engine.optimizers import SGD
from ..activations import label_of
from ..backends import DEFAULT_BACKEND
from ..store import Store
from .config import make_config
from .diagnostics import DEAD_UNIT, mean_ci, measure
from .runner import Task
from .shape import (Study, StudyCli, activation_configs, check_list, cli_default, cli_samples, data_dir_option,
                    parse_floats, parse_seeds, register_study, samples_option)

__all__ = ["DEFAULTS", "DyingRun", "DyingResult", "dying_tasks", "dying_study", "dying_result", "dying_report", "dying_sections",
           "units_diagnostic", "report_from_store", "DYING"]

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


#: plain SGD (no momentum) whatever the dataset or its preset: the study varies SGD's learning rate
OPTIMIZER = SGD.name


def units_diagnostic(model, data, epoch: int, probe: int = 1000) -> dict:
    """Per hidden layer on the first ``probe`` training examples: dead, inactive and saturated
    fractions, mean and std of the outputs (no gradients: a forward pass in inference mode)."""
    with np.errstate(all="ignore"):
        return measure(model, data.x_train[:probe])


def dying_tasks(activations: Sequence[Any] = DEFAULTS["activations"], lrs: Sequence[float] = DEFAULTS["lrs"],
                seeds: Sequence[int] = DEFAULTS["seeds"], *, dataset: str = DEFAULTS["dataset"],
                n_samples: int | None = None, hidden: Any = DEFAULTS["hidden"], epochs: int = DEFAULTS["epochs"],
                batch_size: int = DEFAULTS["batch_size"], probe: int = DEFAULTS["probe"],
                data_dir: str | None = None, study: str = "dying", engine: str = DEFAULT_BACKEND) -> list[Task]:
    """One task per (activation, learning rate, seed): plain SGD (no momentum)."""
    lrs = [float(v) for v in check_list("lrs", lrs, (int, float))]
    if any(not (v > 0 and math.isfinite(v)) for v in lrs):
        raise ValueError(f"learning rates must be positive, got {lrs!r}")
    seeds = check_list("seeds", seeds, int, 0)
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
                                  activation=act, optimizer=OPTIMIZER, learning_rate=lr, epochs=epochs,
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
    run = DyingRun(activation=label_of(cfg["model"]["activation"]), lr=float(cfg["train"]["optimizer"]["learning_rate"]),
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
    reuse: tuple[int, int] | None = None    # (runs reused from the store, runs in all)

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
                if n:  # fractions and accuracies lie in [0, 1]
                    dlo, dhi, alo, ahi = max(dlo, 0.0), min(dhi, 1.0), max(alo, 0.0), min(ahi, 1.0)
                init = mean_ci([r.overall("dead")[0] for r in runs if r.overall("dead")])[0]
                rows.append({"activation": act, "lr": lr, "dead": d, "dead_low": dlo, "dead_high": dhi,
                             "dead_at_init": init, "inactive": ina, "accuracy": acc, "accuracy_low": alo,
                             "accuracy_high": ahi, "runs": n, "diverged": len(runs) - len(done)})
        return rows

    def headline(self) -> dict[str, tuple[float, float, float, float]]:
        """Activation -> ``(lowest lr, its dead fraction, highest lr that did not diverge everywhere,
        its dead fraction)``: does the dead fraction rise with the learning rate?"""
        out = {}
        for act in self.activations:
            ok = [r for r in self.summary() if r["activation"] == act and r["runs"]]
            if ok:
                lo, hi = ok[0], ok[-1]
                out[act] = (lo["lr"], lo["dead"], hi["lr"], hi["dead"])
        return out

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


# -- report ---------------------------------------------------------------------------------------
def _fmt_ci(m: float, lo: float, hi: float, n: int) -> str:
    if not n or not math.isfinite(m):
        return "n/a"
    return f"{m:.3f}" if n == 1 else f"{m:.3f} [{lo:.3f}, {hi:.3f}]"


def dying_sections(result: DyingResult) -> list:
    """The report's sections (``actlab.report.Section``) for a dying study."""
    from ..plots import diagnostics as P
    from ..report import Section, Table

    s = result.settings
    rows = result.summary()
    acts, lrs = result.activations, result.lrs
    n_seeds = len({r.seed for r in result.runs})
    lines = [f"MLP {s.get('hidden', '?')} trained with plain SGD (no momentum, batch {s.get('batch_size', '?')}, "
             f"{s.get('epochs', '?')} epochs) on **{s.get('dataset', '?')}** at learning rates "
             f"{', '.join(f'{v:g}' for v in lrs)}, {n_seeds} seed(s) each. The probe examples are the first "
             f"{s.get('probe', '?')} training examples. **Dead**: {DEAD_UNIT} **Inactive**: the unit's "
             "output is <= 0 on every probe example (a leaky ReLU, PReLU or ELU unit can be inactive without being "
             "dead). "
             "Diverged runs (NaN or infinite loss) are counted apart, not averaged.", "",
             "**Dead fraction of all hidden units after training** (mean over seeds, 95% interval):", ""]
    for act in acts:
        sel = [r for r in rows if r["activation"] == act]
        parts = [f"lr {r['lr']:g}: " + (_fmt_ci(r["dead"], r["dead_low"], r["dead_high"], r["runs"])
                                       + (f" ({r['diverged']} diverged)" if r["diverged"] else "")
                                       if r["runs"] else f"all {r['diverged']} diverged") for r in sel]
        lines.append(f"- {act}: " + "; ".join(parts))
    lines += ["", "From the smallest to the largest learning rate at which a run finished:", ""]
    for act, (lr_lo, d_lo, lr_hi, d_hi) in result.headline().items():
        verdict = "rises" if d_hi > d_lo else ("stays at 0" if d_hi == d_lo == 0 else "does not rise")
        lines.append(f"- {act}: dead fraction {verdict}, {d_lo:.3f} at lr {lr_lo:g} -> {d_hi:.3f} at lr {lr_hi:g}")
    table = Table(["activation", "lr", "dead", "95% low", "95% high", "dead at init", "inactive", "test accuracy",
                   "runs", "diverged"],
                  [[r["activation"], r["lr"], r["dead"], r["dead_low"], r["dead_high"], r["dead_at_init"],
                    r["inactive"], r["accuracy"], r["runs"], r["diverged"]] for r in rows],
                  title="Dead and inactive hidden units after training, by learning rate", name="dead-by-lr")
    summary = Section("Summary", "\n".join(lines), figures=[("dead-vs-learning-rate", P.dead_vs_lr_figure(rows))],
                      tables=[table])
    dead_curves = {a: {lr: result.over_epochs(a, lr, "dead") for lr in lrs} for a in acts}
    inactive_curves = {a: {lr: result.over_epochs(a, lr, "inactive") for lr in lrs} for a in acts}
    epochs = Section("Over training", (
        "The fraction of all hidden units that are dead (top) and inactive (bottom) after every epoch "
        "(epoch 0 = initialisation), mean over the seeds that reached it."),
        figures=[("dead-over-epochs", P.dead_over_epochs_figure(dead_curves)),
                 ("inactive-over-epochs", P.dead_over_epochs_figure(
                     inactive_curves, ylabel="fraction of hidden units inactive",
                     title="Inactive hidden units (output <= 0 on every probe example) over training"))])
    runs = Section("Runs", "Every run of the study, as stored.", tables=[Table(
        ["key", "activation", "lr", "seed", "status", "diverged epoch", "dead (final)", "inactive (final)",
         "dead per layer (final)", "test accuracy"],
        [[r.key[:12], r.activation, r.lr, r.seed, r.status, r.diverged_epoch, r.final("dead"), r.final("inactive"),
          " ".join(f"{v:.2f}" for v in (r.dead[-1] if r.dead else [])), r.accuracy]
         for r in sorted(result.runs, key=lambda r: (r.activation, r.lr, r.seed))], name="runs")])
    return [summary, epochs, runs]


def _cli_options() -> list:
    import click

    def default(key):   # every default is DEFAULTS' (the Python API's), in its command-line form
        return cli_default(DEFAULTS, key)

    return [
        click.option("--dataset", default=default("dataset"), show_default=True, help="digits, mnist, fashion_mnist."),
        click.option("--activations", default=default("activations"), show_default=True,
                     help="Comma-separated, parameters in parentheses: 'relu,leaky_relu(alpha=0.2)'."),
        click.option("--lrs", default=default("lrs"), show_default=True, help="Learning rates (plain SGD)."),
        click.option("--seeds", default=default("seeds"), show_default=True,
                     help="N (seeds 0..N-1) or a list such as 0,5,7."),
        click.option("--hidden", default=default("hidden"), show_default=True,
                     help="Hidden sizes such as 100x4 or 128,64."),
        click.option("--epochs", type=click.IntRange(min=0), default=default("epochs"), show_default=True),
        click.option("--batch-size", type=click.IntRange(min=1), default=default("batch_size"), show_default=True),
        click.option("--probe", type=click.IntRange(min=1), default=default("probe"), show_default=True,
                     help="Training examples a unit must be dead on (the fixed probe batch)."),
        samples_option(),
        data_dir_option(),
    ]


def _from_cli(*, dataset, activations, lrs, seeds, hidden, epochs, batch_size, probe, samples, data_dir) -> dict:
    from .compare import parse_activations

    samples = cli_samples(dataset, samples)   # MNIST: the notes' draw, not all 70,000 (documented there)
    return dict(activations=parse_activations(activations), lrs=parse_floats(lrs, "--lrs"), seeds=parse_seeds(seeds),
                dataset=dataset, hidden=hidden, epochs=epochs, batch_size=batch_size, probe=probe, n_samples=samples,
                data_dir=data_dir)


def _show(result: DyingResult, console) -> None:
    from rich.table import Table

    def fmt(x, digits=3):
        return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{digits}g}"

    t = Table(title=f"{result.settings['name']}: fraction of hidden units dead after training "
                    "(mean over seeds; d = diverged runs)")
    t.add_column("activation")
    for lr in result.lrs:
        t.add_column(f"lr {lr:g}", justify="right")
    summary = result.summary()
    for act in result.activations:
        t.add_row(act, *[(f"{r['dead']:.3f}" if r["runs"] else "-") + (f" {r['diverged']}d" if r["diverged"] else "")
                         for r in summary if r["activation"] == act])
    acc = Table(title="test accuracy (mean over the runs that did not diverge)")
    acc.add_column("activation")
    for lr in result.lrs:
        acc.add_column(f"lr {lr:g}", justify="right")
    for act in result.activations:
        acc.add_row(act, *[fmt(r["accuracy"]) for r in summary if r["activation"] == act])
    console.print(t)
    console.print(acc)


DYING = register_study(Study(
    kind="dying", title="actlab dying: dead units and the learning rate", defaults=DEFAULTS,
    axes=("activations", "lrs", "seeds"), grid=dying_tasks, summarize=dying_result, sections=dying_sections,
    diagnostics={"units": units_diagnostic},
    resolve=activation_configs,
    cli=StudyCli(help="""The dying ReLU: the fraction of dead hidden units against the learning rate and over training.

    A unit is dead when its derivative is exactly 0 on every example of the probe batch (no
    gradient reaches its weights; for PReLU its slope's gradient is 0 too; a maxout unit is never
    dead); leaky ReLU, PReLU and ELU units can be inactive (negative output) without being dead.
    The playground uses the same definition (actlab.engine.inspect). Diverged runs (NaN loss)
    are recorded as such.
    """, options=_cli_options, from_cli=_from_cli, show=_show)))


def dying_study(activations: Sequence[Any] = DEFAULTS["activations"], lrs: Sequence[float] = DEFAULTS["lrs"],
                seeds: Sequence[int] = DEFAULTS["seeds"], *, store: Store | None = None, workers: int = 1,
                progress: bool = False, name: str | None = None, rerun: bool = False, executor=None,
                **options: Any) -> DyingResult:
    """Run (or reuse from ``store``; ``rerun=True`` trains again) every (activation, lr, seed) and summarise.

    ``options`` are :func:`dying_tasks`'s keywords (dataset, hidden, epochs, batch_size, probe,
    n_samples, data_dir, engine); the study is recorded in the store under ``name`` (:meth:`Study.run`).
    """
    return DYING.run(store=store, workers=workers, progress=progress, name=name, rerun=rerun, executor=executor,
                     activations=activations, lrs=[float(v) for v in lrs], seeds=seeds, **options)


def dying_report(result: DyingResult, out_dir: Any, *, meta: dict | None = None):
    """Write the dying study's report into ``out_dir``; returns the path of index.html."""
    return DYING.report(result, out_dir, meta=meta)


report_from_store = DYING.rebuild   # ``actlab report``: the report from the store alone
