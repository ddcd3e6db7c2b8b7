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

import hashlib
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..report.rebuild import register_reporter
from ..activations import label_of as activation_label   # the one label: Activation.label
from ..store import Store, canonical_json
from .. import stats
from .runner import Task, default_workers, make_config, reuse_or_rerun, run_tasks, train_run

__all__ = ["CompareSpec", "CompareResult", "parse_activations", "activation_label", "compare_tasks",
           "run_compare", "summarize", "compare_sections", "write_compare_report", "report_from_store"]

DEFAULT_ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "elu")


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
    """Everything that defines a comparison (``None`` fields take the dataset's preset, :mod:`actlab.presets`)."""

    activations: list = field(default_factory=lambda: list(DEFAULT_ACTIVATIONS))
    seeds: Any = 5                      # a count (seeds 0..n-1) or a list of seeds
    dataset: str = "digits"
    hidden: Any = None
    epochs: int | None = None
    batch_size: int | None = None
    optimizer: str | None = None
    learning_rate: float | None = None
    n_samples: int | None = None
    test_fraction: float | None = None
    scale: Any = True                   # True: [0, 1]; "raw": raw pixel values
    engine: str = "numpy"
    target: float | None = None
    baseline: str | None = None         # an activation label; default the first
    name: str | None = None             # study name; default derived from the settings
    confidence: float = 0.95

    def resolved(self) -> "CompareSpec":
        from .. import presets

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


def _default_name(spec: CompareSpec) -> str:
    d = asdict(spec)
    d.pop("name")
    digest = hashlib.sha256(canonical_json(d).encode()).hexdigest()[:8]
    return f"compare-{spec.dataset}-{digest}"


def compare_tasks(spec: CompareSpec, data_dir: str | None = None) -> list[Task]:
    """One task per (seed, activation) of a resolved spec; seed-major so that pairs finish together."""
    tasks = []
    for seed in spec.seeds:
        for act in spec.activations:
            cfg = make_config(study=spec.name, seed=seed, dataset=spec.dataset, n_samples=spec.n_samples,
                              test_fraction=spec.test_fraction, scale=spec.scale, hidden=spec.hidden,
                              activation=act, optimizer=spec.optimizer, learning_rate=spec.learning_rate,
                              epochs=spec.epochs, batch_size=spec.batch_size, engine=spec.engine,
                              data_dir=data_dir)
            tasks.append(Task(cfg, spec.name))
    return tasks


@dataclass
class CompareResult:
    spec: CompareSpec
    records: list[dict]          # store records, seed-major as compare_tasks
    summary: list[dict]          # one per activation
    paired: list[dict]           # one per non-baseline activation
    store_path: str = ""
    reuse: tuple[int, int] | None = None    # (runs reused from the store, runs in all)


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
                progress: bool = True, data_dir: str | None = None, fn=train_run, rerun: bool = False,
                executor=None,
                **kw: Any) -> CompareResult:
    """Run (or resume) a comparison and summarize it. ``kw`` are :class:`CompareSpec` fields.

    Runs the store holds a result for are reused; ``rerun=True`` trains them again (overwriting).
    """
    if spec is None:
        spec = CompareSpec(**kw)
    elif kw:
        spec = CompareSpec(**{**asdict(spec), **kw})
    spec = spec.resolved()
    store = store if store is not None else Store()
    _check_data(spec, data_dir)
    store.define_study(spec.name, "compare", _spec_params(spec))
    tasks = compare_tasks(spec, data_dir)
    reuse = reuse_or_rerun(tasks, store, rerun)
    records = run_tasks(tasks, fn, store, workers=workers or default_workers(), progress=progress,
                        description=f"{spec.name}: runs", executor=executor)
    summary, paired = summarize(spec, records)
    return CompareResult(spec, records, summary, paired, str(store.path), reuse)


def _check_data(spec: CompareSpec, data_dir: str | None) -> None:
    """Load the data once here, so a missing dataset (or a network too large for the memory) is
    one clear error, not a failed run each."""
    from ..engine.mlp import check_memory
    from .runner import load_data

    cfg = make_config(study=spec.name, seed=spec.seeds[0], dataset=spec.dataset, n_samples=spec.n_samples,
                      test_fraction=spec.test_fraction, scale=spec.scale, data_dir=data_dir)
    data = load_data(cfg["data"], cfg["runtime"])
    for act in spec.activations:
        check_memory(data.x_train.shape[1], spec.hidden, act, data.num_classes, batch_size=spec.batch_size,
                     optimizer={"name": spec.optimizer})


def _spec_params(spec: CompareSpec) -> dict:
    return asdict(spec)


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


def write_compare_report(result: CompareResult, out_dir: str | Path | None = None) -> Path:
    from ..report import default_out_dir, write_report

    out = Path(out_dir) if out_dir is not None else default_out_dir(result.spec.name)
    return write_report(out, f"Activation comparison on {result.spec.dataset}", compare_sections(result),
                        meta={"study": result.spec.name, "store": result.store_path})


def report_from_store(store: Store, study: str, params: dict, out_dir: str | Path | None = None) -> Path:
    """Rebuild a comparison's report from the store alone (``actlab report``)."""
    spec = CompareSpec(**params).resolved()
    records = [store.get(Store.key(task.config)) for task in compare_tasks(spec)]
    if not any(records):  # stored by another actlab version: match the study's runs by seed and activation
        wanted = {(t.config["seed"], activation_label(t.config["model"]["activation"])) for t in compare_tasks(spec)}
        records = [r for r in store.runs(study=study)
                   if (r["config"]["seed"], activation_label(r["config"]["model"]["activation"])) in wanted]
    summary, paired = summarize(spec, records)
    result = CompareResult(spec, [r for r in records if r is not None], summary, paired, str(store.path))
    return write_compare_report(result, out_dir)


register_reporter("compare", report_from_store)   # ``actlab report`` rebuilds a compare study with it
