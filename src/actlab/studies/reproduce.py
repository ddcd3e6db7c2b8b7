"""``actlab reproduce notes``: the study notes' MNIST table, run again with seeds and intervals.

The notes trained a 784-200-200-200-200-10 MLP with Keras (softmax output, categorical
cross-entropy, SGD with learning rate 0.01, no momentum) on 10,000 MNIST images drawn from all
70,000 and split 80/20, feeding the raw 0..255 pixels, and report one accuracy per row of
:data:`NOTES_ROWS`. LeakyReLU and PReLU appear twice, with two different training budgets.

What is assumed (the notes do not tie every figure to its budget): the first figure of each
activation comes from the long budget of the notes' Keras timing (batch 100, 1000 epochs,
"4.5 minutes"), the second, lower one from a budget ten times shorter (batch 100, 100
epochs). Both are parameters (:data:`BUDGETS`, ``--epochs`` / ``--short-epochs``), and the
report states which were used. PReLU's slopes start at 0 as in Keras.

We run every row with several seeds, on the raw pixels (as the notes' code) and on inputs
scaled to [0, 1], and print our mean and t interval beside the notes' figure. With raw pixels
plain SGD at 0.01 can diverge (NaN loss) — for ReLU typically in the first epoch: such runs
are recorded as diverged and counted, never averaged in.

The loss is actlab's softmax + cross-entropy, fused (gradient ``p - y``), by default;
``loss="keras_categorical_crossentropy"`` (``--loss``) trains with Keras 2's own semantics
instead: softmax, then a cross-entropy on probabilities clipped at 1e-7 whose gradient is zero
where the clip is active (:func:`actlab.engine.losses.keras_categorical_crossentropy`).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..report.rebuild import register_reporter
from ..activations import label_of
from ..store import Store, canonical_json
from .. import stats
from ..presets import NOTES_SAMPLES
from .runner import Task, default_workers, load_data, make_config, reuse_or_rerun, run_tasks, train_run

__all__ = ["NotesRow", "NOTES_ROWS", "BUDGETS", "SCALINGS", "ReproduceSpec", "ReproduceResult",
           "reproduce_tasks", "run_reproduce", "reproduce_sections", "write_reproduce_report",
           "report_from_store"]


@dataclass(frozen=True)
class NotesRow:
    label: str            # as the notes name it
    activation: tuple     # (name, params...) as (key, value) pairs, hashable
    accuracy: float       # the notes' test accuracy, percent
    budget: str           # key of BUDGETS

    @property
    def activation_config(self) -> dict:
        return dict(self.activation)


# The notes' table, in the notes' order.
NOTES_ROWS: tuple[NotesRow, ...] = (
    NotesRow("tanh", (("name", "tanh"),), 93.2, "long"),
    NotesRow("ReLU", (("name", "relu"),), 94.1, "long"),
    NotesRow("LeakyReLU(alpha=0.01)", (("name", "leaky_relu"), ("alpha", 0.01)), 93.7, "long"),
    NotesRow("LeakyReLU(alpha=0.01)", (("name", "leaky_relu"), ("alpha", 0.01)), 92.9, "short"),
    NotesRow("PReLU", (("name", "prelu"), ("alpha", 0.0)), 92.55, "long"),
    NotesRow("PReLU", (("name", "prelu"), ("alpha", 0.0)), 90.6, "short"),
)

# ASSUMED budgets (see the module docstring): long = the notes' Keras timing run; short = 10x fewer epochs.
BUDGETS: dict[str, dict[str, int]] = {
    "long": {"batch_size": 100, "epochs": 1000},
    "short": {"batch_size": 100, "epochs": 100},
}

# name -> the datasets' ``scale`` argument
SCALINGS: dict[str, Any] = {"raw": "raw", "scaled": True}
SCALING_LABELS = {"raw": "raw pixel values (0..255; digits 0..16), as the notes' code", "scaled": "inputs scaled to [0, 1]"}

# The notes' data set is MNIST; the others run the same preset (not comparable to the notes' figures):
# fashion_mnist with the same protocol, digits (scikit-learn's 1,797 8x8 images, all of them) for a
# quick look on the embedded data.
DATASETS = ("mnist", "fashion_mnist", "digits")

QUICK = {"seeds": 2, "epochs": 10}

DEFAULT_LOSS = "categorical_crossentropy"
LOSS_LABELS = {
    "categorical_crossentropy": "softmax + categorical cross-entropy (fused: gradient p - y)",
    "keras_categorical_crossentropy": "softmax, then Keras 2's categorical cross-entropy on probabilities "
                                      "clipped at 1e-7 (zero gradient where the clip is active)",
}


@dataclass
class ReproduceSpec:
    seeds: Any = 3                      # a count or a list
    epochs: int | None = None           # long budget's epochs (default BUDGETS)
    short_epochs: int | None = None     # short budget's (default epochs // 10, at least 1)
    batch_size: int | None = None       # both budgets' batch size (default BUDGETS)
    scalings: list = field(default_factory=lambda: list(SCALINGS))
    n_samples: int = NOTES_SAMPLES
    test_fraction: float = 0.2
    dataset: str = "mnist"
    learning_rate: float = 0.01
    hidden: str = "200x4"
    engine: str = "numpy"
    name: str | None = None
    confidence: float = 0.95
    loss: str = DEFAULT_LOSS            # engine.losses: or "keras_categorical_crossentropy"

    def resolved(self) -> "ReproduceSpec":
        seeds = list(range(self.seeds)) if isinstance(self.seeds, int) else [int(s) for s in self.seeds]
        if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be a positive count or distinct non-negative integers, got {self.seeds!r}")
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r} for the notes' preset; valid: {', '.join(DATASETS)}")
        scalings = list(self.scalings)
        bad = [s for s in scalings if s not in SCALINGS]
        if bad or not scalings:
            raise ValueError(f"unknown scaling {bad[0] if bad else scalings!r}; valid: {', '.join(SCALINGS)}")
        epochs = BUDGETS["long"]["epochs"] if self.epochs is None else int(self.epochs)
        if epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {self.epochs!r}")
        if self.short_epochs is not None:
            short = int(self.short_epochs)
        elif self.epochs is None:
            short = BUDGETS["short"]["epochs"]
        else:
            short = max(1, epochs // 10)
        if short < 1:
            raise ValueError(f"short_epochs must be a positive integer, got {self.short_epochs!r}")
        if self.loss not in LOSS_LABELS:
            raise ValueError(f"unknown loss {self.loss!r} for the notes' preset; valid: {', '.join(LOSS_LABELS)}")
        spec = ReproduceSpec(seeds=seeds, epochs=epochs, short_epochs=short,
                             batch_size=self.batch_size, scalings=scalings, n_samples=int(self.n_samples),
                             test_fraction=float(self.test_fraction), dataset=self.dataset,
                             learning_rate=float(self.learning_rate), hidden=self.hidden, engine=self.engine,
                             name=None, confidence=self.confidence, loss=self.loss)
        if self.name:
            spec.name = self.name
        else:
            d = asdict(spec)
            d.pop("name")
            if d["loss"] == DEFAULT_LOSS:  # the names of studies from before the option stay the same
                d.pop("loss")
            spec.name = "reproduce-notes-" + hashlib.sha256(canonical_json(d).encode()).hexdigest()[:8]
        return spec

    def budget(self, key: str) -> dict[str, int]:
        b = dict(BUDGETS[key])
        b["epochs"] = self.epochs if key == "long" else self.short_epochs
        if self.batch_size is not None:
            b["batch_size"] = int(self.batch_size)
        return b


def _config(spec: ReproduceSpec, row: NotesRow, scaling: str, seed: int, data_dir: str | None) -> dict:
    b = spec.budget(row.budget)
    notes_protocol = spec.dataset != "digits"   # digits: all 1,797 images, split by seed
    return make_config(study=spec.name, seed=seed, dataset=spec.dataset,
                       protocol="notes" if notes_protocol else None,
                       n_samples=spec.n_samples if notes_protocol else None,
                       test_fraction=spec.test_fraction, scale=SCALINGS[scaling],
                       hidden=spec.hidden, activation=row.activation_config, optimizer="sgd",
                       learning_rate=spec.learning_rate, epochs=b["epochs"], batch_size=b["batch_size"],
                       engine=spec.engine, data_dir=data_dir, loss=spec.loss)


def reproduce_tasks(spec: ReproduceSpec, data_dir: str | None = None) -> list[Task]:
    """Every distinct run of a resolved spec (rows sharing an activation and budget share runs)."""
    tasks, seen = [], set()
    for seed in spec.seeds:
        for scaling in spec.scalings:
            for row in NOTES_ROWS:
                cfg = _config(spec, row, scaling, seed, data_dir)
                key = Store.key(cfg)
                if key not in seen:
                    seen.add(key)
                    tasks.append(Task(cfg, spec.name))
    return tasks


@dataclass
class ReproduceResult:
    spec: ReproduceSpec
    rows: list[dict]                    # one per (notes row, scaling)
    records: list[dict]
    store_path: str = ""
    reuse: tuple[int, int] | None = None    # (runs reused from the store, runs in all)


def _final(rec):
    if not rec or rec["status"] != "done" or not (rec.get("history") or {}).get("val_accuracy"):
        return None
    return float(rec["history"]["val_accuracy"][-1])


def summarize(spec: ReproduceSpec, get) -> list[dict]:
    """Rows of the comparison; ``get(config) -> record | None``."""
    out = []
    for scaling in spec.scalings:
        for row in NOTES_ROWS:
            recs = [get(_config(spec, row, scaling, s, None)) for s in spec.seeds]
            finals = [_final(r) for r in recs]
            d = stats.describe([f for f in finals if f is not None], spec.confidence)
            diverged = [r for r in recs if r and r["status"] == "diverged"]
            b = spec.budget(row.budget)
            inside = (math.isfinite(d["ci_low"]) and 100 * d["ci_low"] <= row.accuracy <= 100 * d["ci_high"])
            out.append({
                "row": row.label, "activation": label_of(row.activation_config), "budget": row.budget,
                "epochs": b["epochs"], "batch_size": b["batch_size"], "scaling": scaling, "notes": row.accuracy,
                "n": d["n"], "runs": len(recs), "diverged": len(diverged),
                "diverged_epochs": [r["diverged_epoch"] for r in diverged],
                "failed": sum(1 for r in recs if r and r["status"] == "failed"),
                "pending": sum(1 for r in recs if not r or r["status"] == "running"),
                "mean": d["mean"], "ci_low": d["ci_low"], "ci_high": d["ci_high"], "std": d["std"],
                "notes_in_ci": inside, "finals": finals,
                "histories": [r["history"] for r in recs if r and r.get("history")],
            })
    return out


def _check_data(spec: ReproduceSpec, data_dir: str | None) -> None:
    cfg = _config(spec, NOTES_ROWS[0], spec.scalings[0], spec.seeds[0], data_dir)
    load_data(cfg["data"], cfg["runtime"])  # a missing MNIST is one clear error listing where we looked


def run_reproduce(spec: ReproduceSpec | None = None, *, store: Store | None = None, workers: int | None = None,
                  progress: bool = True, data_dir: str | None = None, fn=train_run, rerun: bool = False,
                  executor=None,
                  **kw) -> ReproduceResult:
    """Run (or resume) the reproduction; ``kw`` are :class:`ReproduceSpec` fields."""
    if spec is None:
        spec = ReproduceSpec(**kw)
    elif kw:
        spec = ReproduceSpec(**{**asdict(spec), **kw})
    spec = spec.resolved()
    store = store if store is not None else Store()
    _check_data(spec, data_dir)
    store.define_study(spec.name, "reproduce-notes", asdict(spec))
    tasks = reproduce_tasks(spec, data_dir)
    reuse = reuse_or_rerun(tasks, store, rerun)
    records = run_tasks(tasks, fn, store, workers=workers or default_workers(), progress=progress,
                        description=f"{spec.name}: runs", executor=executor)
    by_key = {r["key"]: r for r in records}
    rows = summarize(spec, lambda cfg: by_key.get(Store.key(cfg)))
    return ReproduceResult(spec, rows, records, str(store.path), reuse)


def _pct(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else 100.0 * x


def _ours_text(r: dict) -> str:
    if r["n"] == 0:
        if r["diverged"]:
            return f"diverged ({r['diverged']}/{r['runs']})"
        return "no result"
    text = f"{100 * r['mean']:.2f}"
    ci = stats.interval_text(r["ci_low"], r["ci_high"], r["n"])
    if ci.startswith("["):
        text += f" {ci} (n={r['n']}"
    else:  # n=2: interval not informative / n=1: no interval
        text += f" ({ci}"
    if r["diverged"]:
        text += f", {r['diverged']} diverged"
    return text + ")"


def comparison_table(result: ReproduceResult):
    from ..report import Table

    ci = int(round(result.spec.confidence * 100))
    rows = []
    for r in result.rows:
        rows.append([r["row"], f"{r['epochs']} ep / batch {r['batch_size']}", r["scaling"], r["notes"],
                     _pct(r["mean"]), _pct(r["ci_low"]), _pct(r["ci_high"]), r["n"], r["diverged"],
                     None if r["mean"] is None or math.isnan(r["mean"]) else 100 * r["mean"] - r["notes"],
                     r["notes_in_ci"] if math.isfinite(r["ci_low"]) else None, _ours_text(r)])
    headers = ["notes row", "budget", "inputs", "notes %", "ours mean %", f"{ci}% CI low %", f"{ci}% CI high %",
               "runs done", "diverged", "ours - notes (pp)", "notes inside CI", "ours (summary)"]
    return Table(headers, rows, title="The notes' MNIST table and ours", name="notes-vs-ours")


def reproduce_sections(result: ReproduceResult) -> list:
    from ..plots.training import plot_final_accuracy, plot_learning_curves
    from ..report import Section

    spec = result.spec
    budgets = {k: spec.budget(k) for k in BUDGETS}
    assumed = (spec.epochs, spec.short_epochs) == (BUDGETS["long"]["epochs"], BUDGETS["short"]["epochs"])
    split = f"split {round(100 * (1 - spec.test_fraction))}/{round(100 * spec.test_fraction)} by seed"
    data_line = (f"- data: all 1,797 digits images (8x8), {split} — **not the notes' data: their figures are for "
                 f"MNIST and are shown for orientation only**" if spec.dataset == "digits" else
                 f"- data: {spec.n_samples} {spec.dataset} images drawn from all 70,000, {split} (the notes' protocol)"
                 + ("" if spec.dataset == "mnist" else " — **the notes' figures are for MNIST: not comparable**"))
    settings = "\n".join([
        data_line,
        f"- network: {64 if spec.dataset == 'digits' else 784}-{spec.hidden}-10, {LOSS_LABELS[spec.loss]}, "
        "Glorot-uniform weights, "
        f"SGD learning rate {spec.learning_rate:g}, no momentum; engine `{spec.engine}`",
        f"- budgets: long = {budgets['long']['epochs']} epochs, batch {budgets['long']['batch_size']}; short = "
        f"{budgets['short']['epochs']} epochs, batch {budgets['short']['batch_size']}"
        + (" (the assumed notes' budgets)" if assumed else
           f" (scaled down from the assumed notes' budgets of {BUDGETS['long']['epochs']} and "
           f"{BUDGETS['short']['epochs']} epochs: not comparable to the notes' figures)"),
        f"- seeds: {', '.join(map(str, spec.seeds))}; inputs: "
        + "; ".join(SCALING_LABELS[s] for s in spec.scalings),
        "- assumption: the notes' first LeakyReLU and PReLU figures are from the long budget, the second "
        "(lower) ones from the short budget; PReLU slopes start at 0 as in Keras.",
    ])
    lines = []
    for r in result.rows:
        verdict = ""
        if math.isfinite(r["ci_low"]):
            verdict = " — the notes' figure is inside our interval" if r["notes_in_ci"] else \
                " — the notes' figure is outside our interval"
        lines.append(f"- {r['row']} ({r['budget']}, {r['scaling']}): notes {r['notes']:g}%, ours "
                     f"{_ours_text(r)}{verdict}")
    div = [r for r in result.rows if r["diverged"]]
    if div:
        lines.append("")
        lines.append("Diverged runs (NaN or infinite loss; recorded as results, left out of the means): " + "; ".join(
            f"{r['row']} {r['budget']} {r['scaling']}: {r['diverged']}/{r['runs']} at epoch(s) "
            f"{', '.join(map(str, r['diverged_epochs']))}" for r in div) + ".")
    sections = [Section("Settings", settings),
                Section("The notes' figures beside ours", "\n".join(lines), tables=[comparison_table(result)])]
    for scaling in spec.scalings:
        rows = [r for r in result.rows if r["scaling"] == scaling]
        label = lambda r: f"{r['row']} [{r['budget']}]"  # noqa: E731
        finals = {label(r): [f for f in r["finals"]] for r in rows}
        ref = {label(r): r["notes"] / 100 for r in rows}
        diverged = {label(r): r["diverged"] for r in rows}
        fig = plot_final_accuracy(finals, confidence=spec.confidence, diverged=diverged, reference=ref,
                                  reference_label="the notes", title=f"Final test accuracy, {SCALING_LABELS[scaling]}")
        groups = {label(r): r["histories"] for r in rows if r["histories"]}
        figs = [(f"final-accuracy-{scaling}", fig)]
        if groups:
            figs.append((f"learning-curves-{scaling}", plot_learning_curves(
                groups, metrics=("val_accuracy", "loss"), confidence=spec.confidence,
                title=f"Learning curves, {SCALING_LABELS[scaling]}")))
        sections.append(Section(f"Inputs: {SCALING_LABELS[scaling]}", "Dots are runs (seeds), the black bar our "
                                "mean with its t interval, the red diamond the notes' figure.", figures=figs))
    return sections


def write_reproduce_report(result: ReproduceResult, out_dir: str | Path | None = None) -> Path:
    from ..report import default_out_dir, write_report

    out = Path(out_dir) if out_dir is not None else default_out_dir(result.spec.name)
    return write_report(out, "Reproducing the study notes' MNIST table", reproduce_sections(result),
                        meta={"study": result.spec.name, "store": result.store_path})


def report_from_store(store: Store, study: str, params: dict, out_dir: str | Path | None = None) -> Path:
    """Rebuild the reproduction's report from the store alone (``actlab report``)."""
    spec = ReproduceSpec(**params).resolved()
    records = store.runs(study=study)
    rows = summarize(spec, lambda cfg: store.get(Store.key(cfg)))
    return write_reproduce_report(ReproduceResult(spec, rows, records, str(store.path)), out_dir)


def notes_table_rows() -> list[dict]:
    """The notes' figures with the budgets assumed for them (for documentation and the CLI)."""
    return [{"row": r.label, "accuracy": r.accuracy, **BUDGETS[r.budget], "budget": r.budget} for r in NOTES_ROWS]


register_reporter("reproduce-notes", report_from_store)   # ``actlab report`` rebuilds a reproduce-notes study with it
