"""``actlab compare``: activations x seeds on one dataset and architecture, in a paired design.

For seed ``i`` every activation gets the same train/test split (``data.seed = i``), the same
batch order and the same initial weights (the engine draws layer ``j``'s weights from
``default_rng([i, j])`` and epoch ``e``'s order from ``default_rng([i, 1_000_000 + e])``,
whatever the activation), so the differences between activations at one seed are due to the
activation alone, and the paired tests use that.

>>> acts = parse_activations("relu, leaky_relu(alpha=0.2), prelu")
>>> [a["name"] for a in acts], acts[1]["alpha"]
(['relu', 'leaky_relu', 'prelu'], 0.2)
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Sequence

from .. import presets, stats
from ..activations import label_of as activation_label   # the one label: Activation.label
from ..backends import DEFAULT_BACKEND
from ..store import Store
from .config import make_config
from .runner import Task, default_workers
from .shape import Study, StudyCli, cli_default, data_dir_option, register_study, study_name

__all__ = ["CompareSpec", "CompareResult", "DEFAULTS", "COMPARE", "parse_activations", "activation_label",
           "compare_grid", "compare_tasks", "compare_result", "run_compare", "summarize", "compare_sections",
           "write_compare_report", "report_from_store"]

DEFAULT_ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "elu")

#: The comparison's settings and their defaults (``None``: the dataset's preset, :mod:`actlab.presets`;
#: ``seeds``: a count, seeds 0..n-1, or a list). ``target``, ``baseline`` and ``confidence`` shape the
#: summary, the others the runs.
DEFAULTS: dict[str, Any] = {
    "activations": DEFAULT_ACTIVATIONS, "seeds": 5, "dataset": presets.DEFAULT_DATASET, "hidden": None, "epochs": None,
    "batch_size": None, "optimizer": None, "learning_rate": None, "n_samples": None, "test_fraction": None,
    "scale": True,                      # True: [0, 1]; "raw": raw pixel values
    "engine": DEFAULT_BACKEND, "target": None,
    "baseline": None,                   # an activation label; default the first
    "confidence": 0.95,
}


def _value(text: str) -> Any:
    t = text.strip()
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        return t


def parse_activations(spec: str | Sequence[Any]) -> list[dict]:
    """Activation configs (name + every parameter) from ``"relu,leaky_relu(alpha=0.2)"`` or a list
    of names, dicts or ``Activation`` objects. Unknown names raise ``ValueError``."""
    from .. import activations

    if isinstance(spec, str):
        items = [s.strip() for s in re.findall(r"[^,()]+(?:\([^)]*\))?", spec) if s.strip()]
    else:
        items = list(spec)
    if not items:
        raise ValueError(f"no activation given in {spec!r}; give e.g. 'relu,tanh'")
    out = []
    for item in items:
        if isinstance(item, str):
            m = re.fullmatch(r"\s*([A-Za-z0-9_\-]+)\s*(?:\((.*)\))?\s*", item)
            if not m:
                raise ValueError(f"cannot parse activation {item!r}; use e.g. 'leaky_relu(alpha=0.2)'")
            params = {}
            for part in filter(None, (p.strip() for p in (m.group(2) or "").split(","))):
                if "=" not in part:
                    raise ValueError(f"activation parameter {part!r} in {item!r} must be name=value")
                k, v = part.split("=", 1)
                params[k.strip()] = _value(v)
            out.append(activations.get(m.group(1), **params).config())
        elif isinstance(item, dict):
            out.append(activations.get(item["name"], **{k: v for k, v in item.items() if k != "name"}).config())
        else:
            out.append(activations.get(item).config())
    return out


@dataclass
class CompareSpec:
    """Everything that defines a comparison (:data:`DEFAULTS`; ``None`` fields take the dataset's
    preset, :mod:`actlab.presets`). :meth:`resolved` fills and checks every field: what
    :data:`COMPARE` stores and names the study by."""

    activations: list = field(default_factory=lambda: list(DEFAULTS["activations"]))
    seeds: Any = DEFAULTS["seeds"]
    dataset: str = DEFAULTS["dataset"]
    hidden: Any = DEFAULTS["hidden"]
    epochs: int | None = DEFAULTS["epochs"]
    batch_size: int | None = DEFAULTS["batch_size"]
    optimizer: str | None = DEFAULTS["optimizer"]
    learning_rate: float | None = DEFAULTS["learning_rate"]
    n_samples: int | None = DEFAULTS["n_samples"]
    test_fraction: float | None = DEFAULTS["test_fraction"]
    scale: Any = DEFAULTS["scale"]
    engine: str = DEFAULTS["engine"]
    target: float | None = DEFAULTS["target"]
    baseline: str | None = DEFAULTS["baseline"]
    name: str | None = None             # study name; default derived from the settings
    confidence: float = DEFAULTS["confidence"]

    def resolved(self) -> "CompareSpec":
        d = presets.resolve(self.dataset, hidden=self.hidden, optimizer=self.optimizer,
                            learning_rate=self.learning_rate, batch_size=self.batch_size, epochs=self.epochs)
        acts = parse_activations(self.activations)
        labels = [activation_label(a) for a in acts]
        if len(set(labels)) != len(labels):
            raise ValueError(f"activations repeat: {', '.join(labels)}")
        seeds = list(range(self.seeds)) if isinstance(self.seeds, int) else [int(s) for s in self.seeds]
        if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be a positive count or distinct non-negative integers, got {self.seeds!r}")
        baseline = self.baseline if self.baseline is not None else labels[0]
        if baseline not in labels:
            try:
                baseline = activation_label(parse_activations(baseline)[0])
            except ValueError:
                pass
        if baseline not in labels:
            raise ValueError(f"baseline {self.baseline!r} is not among the activations: {', '.join(labels)}")
        target = presets.get(self.dataset).target if self.target is None else float(self.target)
        if not 0.0 < target <= 1.0:
            raise ValueError(f"target accuracy must be in (0, 1], got {self.target!r}")
        spec = CompareSpec(activations=acts, seeds=seeds, dataset=self.dataset,
                           hidden=d["hidden"], epochs=d["epochs"], batch_size=d["batch_size"],
                           optimizer=d["optimizer"], learning_rate=d["learning_rate"],
                           n_samples=self.n_samples, test_fraction=self.test_fraction,
                           scale=True if self.scale in (True, None) else "raw", engine=self.engine,
                           target=target, baseline=baseline, name=None, confidence=self.confidence)
        spec.name = self.name or _default_name(spec)
        return spec


def _params(spec: CompareSpec) -> dict:
    """A spec's study parameters: every field but the name."""
    params = asdict(spec)
    params.pop("name")
    return params


def _default_name(spec: CompareSpec) -> str:
    """``compare-<dataset>-<digest of the resolved settings>`` (:func:`actlab.studies.shape.study_name`)."""
    return study_name("compare", _params(spec))


def _resolve(params: dict) -> dict:
    """The study's parameters, resolved (:meth:`CompareSpec.resolved`); ``name`` is not one of them."""
    return _params(CompareSpec(**{k: v for k, v in params.items() if k != "name"}).resolved())


def compare_grid(activations: Sequence[Any], seeds: Sequence[int], *, dataset: str, hidden: Any, epochs: int,
                 batch_size: int, optimizer: str, learning_rate: float | None, n_samples: int | None,
                 test_fraction: float | None, scale: Any, engine: str, study: str, data_dir: str | None = None,
                 target: float | None = None, baseline: str | None = None, confidence: float = 0.95) -> list[Task]:
    """One task per (seed, activation) of resolved parameters; seed-major so that pairs finish together.

    ``target``, ``baseline`` and ``confidence`` shape the summary only (not the runs)."""
    tasks = []
    for seed in seeds:
        for act in activations:
            cfg = make_config(study=study, seed=seed, dataset=dataset, n_samples=n_samples,
                              test_fraction=test_fraction, scale=scale, hidden=hidden,
                              activation=act, optimizer=optimizer, learning_rate=learning_rate,
                              epochs=epochs, batch_size=batch_size, engine=engine,
                              data_dir=data_dir)
            tasks.append(Task(cfg, study))
    return tasks


def compare_tasks(spec: CompareSpec, data_dir: str | None = None) -> list[Task]:
    """The runs of a resolved spec (:func:`compare_grid`)."""
    return compare_grid(**_params(spec), study=spec.name, data_dir=data_dir)


@dataclass
class CompareResult:
    spec: CompareSpec
    records: list[dict]          # store records, seed-major as compare_tasks
    summary: list[dict]          # one per activation
    paired: list[dict]           # one per non-baseline activation
    store_path: str = ""
    reuse: tuple[int, int] | None = None    # (runs reused from the store, runs in all)
    settings: dict = field(default_factory=dict)    # the study's parameters, name and store


def compare_result(records: Sequence[dict | None], settings: dict) -> CompareResult:
    """The study's summary: ``records`` in grid order (None: not in the store), ``settings`` the
    resolved parameters with the study's ``name`` and ``store``."""
    spec = CompareSpec(**{f.name: settings[f.name] for f in fields(CompareSpec) if f.name != "name"},
                       name=settings["name"])
    records = [r for r in records if r is not None]
    summary, paired = summarize(spec, records)
    return CompareResult(spec, records, summary, paired, settings.get("store", ""), settings=dict(settings))


def _final(rec: dict | None, metric: str = "val_accuracy") -> float | None:
    if not rec or rec.get("status") != "done" or not rec.get("history"):
        return None
    values = rec["history"].get(metric) or []
    return float(values[-1]) if values else None


def summarize(spec: CompareSpec, records: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """Per-activation summary rows and paired tests against the baseline (final test accuracy)."""
    labels = [activation_label(a) for a in spec.activations]
    by = {(r["config"]["seed"], activation_label(r["config"]["model"]["activation"])): r
          for r in records if r is not None}
    summary = []
    finals: dict[str, list] = {}
    for label in labels:
        recs = [by.get((s, label)) for s in spec.seeds]
        finals[label] = [_final(r) for r in recs]
        statuses = [r["status"] if r else "missing" for r in recs]
        d = stats.describe([v for v in finals[label] if v is not None], spec.confidence)
        reach = [stats.time_to_target(r["history"], spec.target) if r and r["status"] == "done" else (None, None)
                 for r in recs]
        epochs_to = [e for e, _ in reach if e is not None]
        secs_to = [s for _, s in reach if s is not None]
        run_secs = [r["seconds"] for r in recs if r and r["status"] == "done" and r.get("seconds") is not None]
        epoch_secs = [x for r in recs if r and r["status"] == "done" and r.get("history")
                      for x in (r["history"].get("seconds") or [])]
        summary.append({
            "activation": label, "runs": len(recs), "done": statuses.count("done"),
            "diverged": statuses.count("diverged"), "failed": statuses.count("failed"),
            "pending": statuses.count("running") + statuses.count("missing"),
            **{k: d[k] for k in ("mean", "std", "ci_low", "ci_high", "median", "min", "max")},
            "reached": len(epochs_to), "epochs_to_target": _median(epochs_to),
            "seconds_to_target": _median(secs_to), "seconds_per_run": _mean(run_secs),
            "seconds_per_epoch": _median(epoch_secs),
            "diverged_epochs": [r["diverged_epoch"] for r in recs if r and r["status"] == "diverged"],
        })
    paired = []
    base = finals[spec.baseline]
    for label in labels:
        if label == spec.baseline:
            continue
        paired.append({"activation": label, "baseline": spec.baseline,
                       **stats.paired_test(finals[label], base, spec.confidence)})
    return summary, paired


def _median(xs):
    import numpy as np

    return float(np.median(xs)) if xs else None


def _mean(xs):
    return float(sum(xs) / len(xs)) if xs else None


def run_compare(spec: CompareSpec | None = None, *, store: Store | None = None, workers: int | None = None,
                progress: bool = True, data_dir: str | None = None, rerun: bool = False, executor=None,
                **kw: Any) -> CompareResult:
    """Run (or resume) a comparison and summarize it (:data:`COMPARE`). ``kw`` are :class:`CompareSpec` fields.

    Runs the store holds a result for are reused; ``rerun=True`` trains them again (overwriting).
    """
    if spec is None:
        spec = CompareSpec(**kw)
    elif kw:
        spec = CompareSpec(**{**asdict(spec), **kw})
    return COMPARE.run(store=store, workers=workers or default_workers(), progress=progress, name=spec.name,
                       rerun=rerun, executor=executor, data_dir=data_dir, **_params(spec))


def _check_data(tasks: list[Task], params: dict) -> None:
    """Load the data once here, so a missing dataset (or a network too large for the memory) is
    one clear error, not a failed run each."""
    from ..engine.mlp import check_memory
    from .config import load_data

    if not tasks:
        return
    data = load_data(tasks[0].config["data"], tasks[0].config["runtime"])
    for act in params["activations"]:
        check_memory(data.x_train.shape[1], params["hidden"], act, data.num_classes,
                     batch_size=params["batch_size"], optimizer={"name": params["optimizer"]})


def _pct(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else 100.0 * x


def _settings_text(spec: CompareSpec, records: Sequence[dict]) -> str:
    cfg = next((r["config"] for r in records if r), None)
    opt = cfg["train"]["optimizer"] if cfg else {"name": spec.optimizer, "learning_rate": spec.learning_rate}
    info = next((r["diagnostics"].get("info") for r in records
                 if r and r.get("diagnostics") and r["diagnostics"].get("info")), None)
    sizes = f" ({info['n_train']} train / {info['n_test']} test samples)" if info else ""
    arch = f"{info['input_dim']}-{spec.hidden}-{info['num_classes']}" if info else f"hidden {spec.hidden}"
    opt_text = ", ".join(f"{k}={v}" for k, v in opt.items() if k != "name")
    return "\n".join([
        f"- dataset: `{spec.dataset}`{sizes}, inputs {'scaled to [0, 1]' if spec.scale is True else 'raw'}",
        f"- network: `{arch}`, engine `{spec.engine}`",
        f"- optimizer: {opt['name']} ({opt_text}); {spec.epochs} epochs, batch {spec.batch_size}",
        f"- seeds: {', '.join(map(str, spec.seeds))} — paired design: for each seed every activation has the "
        "same split, batch order and initial weights",
        f"- target accuracy for the time-to-target columns: {spec.target:g}; baseline of the paired tests: "
        f"`{spec.baseline}`",
    ])


def summary_table(result: CompareResult):
    from ..report import Table

    ci = int(round(result.spec.confidence * 100))
    rows = []
    for s in result.summary:
        rows.append([s["activation"], s["runs"], s["done"], s["diverged"], s["failed"],
                     _pct(s["mean"]), _pct(s["std"]), _pct(s["ci_low"]), _pct(s["ci_high"]), _pct(s["median"]),
                     f"{s['reached']}/{s['done']}", s["epochs_to_target"], s["seconds_to_target"],
                     s["seconds_per_epoch"], s["seconds_per_run"]])
    headers = ["activation", "runs", "done", "diverged", "failed", "mean acc %", "std %", f"{ci}% CI low %",
               f"{ci}% CI high %", "median %", "reached target", "median epochs to target",
               "median s to target", "median s/epoch", "mean s/run"]
    return Table(headers, rows, title="Final test accuracy per activation", name="summary")


def paired_table(result: CompareResult):
    from ..report import Table

    ci = int(round(result.spec.confidence * 100))
    rows = [[p["activation"], p["baseline"], p["n"], _pct(p["mean_diff"]), _pct(p["ci_low"]), _pct(p["ci_high"]),
             p["t"], p["p_t"], p["p_wilcoxon"], p["d_z"]] for p in result.paired]
    headers = ["activation", "baseline", "pairs", "mean diff (pp)", f"{ci}% CI low (pp)", f"{ci}% CI high (pp)",
               "t", "p (paired t)", "p (Wilcoxon)", "Cohen's d_z"]
    return Table(headers, rows, title=f"Paired tests against {result.spec.baseline} (final test accuracy)",
                 name="paired")


def runs_table(result: CompareResult):
    from ..report import Table

    rows = []
    for r in result.records:
        if r is None:
            continue
        h = r.get("history") or {}
        status = r["status"] + (f" (epoch {r['diverged_epoch']})" if r["status"] == "diverged" else "")
        rows.append([activation_label(r["config"]["model"]["activation"]), r["config"]["seed"], status,
                     _pct(_final(r)), _final(r, "val_loss"), _pct(_final(r, "accuracy")),
                     len(h.get("epoch") or []), r["seconds"], r["key"][:12]])
    headers = ["activation", "seed", "status", "test acc %", "test loss", "train acc %", "epochs run",
               "seconds", "key"]
    return Table(headers, rows, title="Every run", name="runs")


def compare_sections(result: CompareResult) -> list:
    """The report's sections (also printed by the CLI)."""
    from ..plots.training import plot_final_accuracy, plot_learning_curves
    from ..report import Section

    spec = result.spec
    labels = [activation_label(a) for a in spec.activations]
    groups = {label: [] for label in labels}
    finals = {label: [] for label in labels}
    diverged = {label: 0 for label in labels}
    for r in result.records:
        if r is None:
            continue
        label = activation_label(r["config"]["model"]["activation"])
        if r["status"] in ("done", "diverged") and r.get("history"):
            groups[label].append(r["history"])
        finals[label].append(_final(r))
        diverged[label] += r["status"] == "diverged"
    ranked = sorted((s for s in result.summary if s["done"]), key=lambda s: -s["mean"])
    lines = []
    if ranked:
        best = ranked[0]
        ci = stats.interval_text(best["ci_low"], best["ci_high"], best["done"])
        lines.append(f"Highest mean final test accuracy: **{best['activation']}**, {100 * best['mean']:.2f}% "
                     f"over {best['done']} seeds ("
                     + (f"{int(round(spec.confidence * 100))}% CI {ci} %)." if ci.startswith("[") else f"{ci}).")
                     + ("" if best["done"] >= stats.MIN_INFORMATIVE_N else
                        f" Intervals need at least {stats.MIN_INFORMATIVE_N} seeds."))
    for s in result.summary:
        if s["diverged"]:
            lines.append(f"- `{s['activation']}`: {s['diverged']} of {s['runs']} runs diverged (NaN or infinite "
                         f"loss, at epochs {', '.join(map(str, s['diverged_epochs']))}); they are left out of "
                         "the accuracy statistics and the paired tests.")
        if s["failed"]:
            lines.append(f"- `{s['activation']}`: {s['failed']} runs failed (see `actlab runs list --status failed`).")
        if s["pending"]:
            lines.append(f"- `{s['activation']}`: {s['pending']} runs not finished (interrupted or running elsewhere).")
    sig = [p for p in result.paired if p["n"] >= 2 and math.isfinite(p["p_t"])]
    if sig:
        lines.append("")
        lines.append("Paired differences against the baseline (percentage points, positive = better than "
                     f"`{spec.baseline}`): " + "; ".join(
                         f"`{p['activation']}` {100 * p['mean_diff']:+.2f} (p = {p['p_t']:.3g})" for p in sig) + ".")
    curves = plot_learning_curves(groups, metrics=("val_accuracy", "loss"), confidence=spec.confidence,
                                  title=f"Learning curves, mean and {int(round(spec.confidence * 100))}% band over seeds")
    by_time = plot_learning_curves(groups, metrics=("val_accuracy",), confidence=spec.confidence, x="seconds",
                                   title="Test accuracy against wall time")
    final = plot_final_accuracy(finals, confidence=spec.confidence, diverged=diverged)
    return [
        Section("Settings", _settings_text(spec, result.records), figures=_curves_figure(spec)),
        Section("Summary", "\n".join(lines), figures=[("final-accuracy", final)],
                tables=[summary_table(result), paired_table(result)]),
        Section("Learning curves", "Test (validation) accuracy and training loss per epoch; the line is the "
                "mean over seeds, the band its t confidence interval, thin lines single runs, x the last epoch "
                "of a diverged run.", figures=[("learning-curves", curves), ("accuracy-vs-time", by_time)]),
        Section("Runs", f"Store: `{result.store_path}`; study `{spec.name}`. `actlab runs show KEY` prints a "
                "run's configuration and history.", tables=[runs_table(result)]),
    ]


def _curves_figure(spec: CompareSpec) -> list:
    """The compared functions and their derivatives (PReLU drawn at its initial slope)."""
    from .. import activations
    from ..plots.curves import plot_curves

    acts = [activations.get(a["name"], **{k: v for k, v in a.items() if k != "name"}) for a in spec.activations]
    return [("activations", plot_curves(acts, title="The activations compared, and their derivatives"))]


def _title(result: CompareResult) -> str:
    return f"Activation comparison on {result.spec.dataset}"


def write_compare_report(result: CompareResult, out_dir: str | Path | None = None) -> Path:
    """Write the comparison's report (:meth:`Study.report`); returns the path of index.html."""
    from ..report import default_out_dir

    out = Path(out_dir) if out_dir is not None else default_out_dir(result.spec.name)
    return COMPARE.report(result, out, meta={"study": result.spec.name, "store": result.store_path})


# -- the command line ---------------------------------------------------------------------------
def _cli_options() -> list:
    import click

    from ..engine.optimizers import OPTIMIZERS

    def default(key):   # every default is DEFAULTS' (the Python API's); None: the dataset's preset
        return cli_default(DEFAULTS, key)

    return [
        click.option("--dataset", default=default("dataset"), show_default=True,
                     help="digits, mnist, fashion_mnist, ..."),
        click.option("--activations", default=default("activations"), show_default=True,
                     help="Comma-separated, parameters in parentheses: 'relu,leaky_relu(alpha=0.2),prelu'."),
        click.option("--seeds", type=click.IntRange(min=1), default=default("seeds"), show_default=True,
                     help="Seeds 0..N-1 (paired)."),
        click.option("--hidden", default=default("hidden"),
                     help="Hidden sizes such as 200x4 or 128,64; " + presets.help_for("hidden")),
        click.option("--epochs", type=click.IntRange(min=1), default=default("epochs"),
                     help="Epochs; " + presets.help_for("epochs")),
        click.option("--batch-size", type=click.IntRange(min=1), default=default("batch_size"),
                     help="Batch size; " + presets.help_for("batch_size")),
        click.option("--optimizer", type=click.Choice(list(OPTIMIZERS)), default=default("optimizer"),
                     help=presets.help_for("optimizer")),
        click.option("--lr", type=float, default=default("learning_rate"),
                     help="Learning rate; " + presets.help_for("learning_rate")),
        click.option("--samples", type=click.IntRange(min=2), default=default("n_samples"),
                     help="Use this many samples (MNIST: drawn from all 70,000 and split 80/20, as the notes' "
                          f"{presets.NOTES_SAMPLES:,}; default: the official 60,000 / 10,000 split)."),
        click.option("--raw-pixels", is_flag=True, help="Feed raw pixel values instead of [0, 1]-scaled inputs."),
        data_dir_option(),
        click.option("--target", type=float, default=default("target"),
                     help="Target test accuracy for time-to-target; " + presets.help_for("target")),
        click.option("--baseline", default=default("baseline"),
                     help="Activation the paired tests compare against (default the first)."),
    ]


def _from_cli(*, dataset, activations, seeds, hidden, epochs, batch_size, optimizer, lr, samples, raw_pixels,
              data_dir, target, baseline) -> dict:
    return dict(activations=activations, seeds=seeds, dataset=dataset, hidden=hidden, epochs=epochs,
                batch_size=batch_size, optimizer=optimizer, learning_rate=lr, n_samples=samples,
                scale="raw" if raw_pixels else DEFAULTS["scale"], target=target, baseline=baseline, data_dir=data_dir)


def _show(result: CompareResult, console) -> None:
    """The headline tables: final accuracy per activation, and the paired tests."""
    from rich.table import Table

    from ..stats import interval_text
    from ..stats import number_text as fmt

    spec = result.spec
    t = Table(title=f"{spec.name}: final test accuracy (%) over seeds {spec.seeds[0]}..{spec.seeds[-1]}, "
                    f"{spec.dataset}, hidden {spec.hidden}, {spec.epochs} epochs")
    for col in ("activation", "mean", "95% CI", "std", "ok/div/fail", f"epochs to {spec.target:g}",
                f"s to {spec.target:g}", "s/run"):
        t.add_column(col, justify="left" if col == "activation" else "right")
    for s in result.summary:
        ci = interval_text(s["ci_low"], s["ci_high"], s["done"]) if s["done"] else "-"
        t.add_row(s["activation"], fmt(s["mean"], True), ci, fmt(s["std"], True),
                  f"{s['done']}/{s['diverged']}/{s['failed']}",
                  f"{fmt(s['epochs_to_target'])} ({s['reached']}/{s['done']})", fmt(s["seconds_to_target"]),
                  fmt(s["seconds_per_run"]))
    console.print(t)
    if result.paired:
        p = Table(title=f"paired tests against {spec.baseline} (differences in percentage points)")
        for col in ("activation", "pairs", "mean diff", "95% CI", "p (t)", "p (Wilcoxon)", "d_z"):
            p.add_column(col, justify="left" if col == "activation" else "right")
        for r in result.paired:
            ci = interval_text(r["ci_low"], r["ci_high"], r["n"]) if r["n"] else "-"
            p.add_row(r["activation"], str(r["n"]), fmt(r["mean_diff"], True), ci, fmt(r["p_t"]),
                      fmt(r["p_wilcoxon"]), fmt(r["d_z"]))
        console.print(p)


COMPARE = register_study(Study(
    kind="compare", title=_title, defaults=DEFAULTS, axes=("activations", "seeds"), grid=compare_grid,
    summarize=compare_result, sections=compare_sections, resolve=_resolve, preload=_check_data,
    cli=StudyCli(help="""Compare activations over several seeds on one dataset and network (a paired design).

    For each seed every activation gets the same split, batch order and initial weights.
    Prints final test accuracy (mean, 95% t interval), time to the target accuracy and paired
    tests against the baseline, and writes an HTML/Markdown/CSV report with learning curves.
    """, options=_cli_options, from_cli=_from_cli, show=_show,
                 epilog="\b\nThe presets (any setting given overrides its preset):\n" + presets.describe())))

report_from_store = COMPARE.rebuild   # ``actlab report``: the report from the store alone
