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

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .. import presets, stats
from ..activations import label_of
from ..backends import DEFAULT_BACKEND
from ..engine.losses import DEFAULT_LOSS
from ..store import Store
from .config import make_config
from .runner import Task, default_workers
from .shape import Study, StudyCli, cli_default, data_dir_option, register_study, settings_digest

__all__ = ["NotesRow", "NOTES_ROWS", "BUDGETS", "SCALINGS", "DEFAULTS", "REPRODUCE", "ReproduceSpec",
           "ReproduceResult", "reproduce_grid", "reproduce_tasks", "reproduce_result", "run_reproduce",
           "reproduce_sections", "write_reproduce_report", "report_from_store"]

#: The notes' network and training (784-200x4-10, plain SGD 0.01, batch 100) are the MNIST preset's.
NOTES = presets.PRESETS["mnist"]


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
    "long": {"batch_size": NOTES.batch_size, "epochs": 1000},
    "short": {"batch_size": NOTES.batch_size, "epochs": 100},
}

# name -> the datasets' ``scale`` argument
SCALINGS: dict[str, Any] = {"raw": "raw", "scaled": True}
SCALING_LABELS = {"raw": "raw pixel values (0..255; digits 0..16), as the notes' code", "scaled": "inputs scaled to [0, 1]"}

# The notes' data set is MNIST; the others run the same preset (not comparable to the notes' figures):
# fashion_mnist with the same protocol, digits (scikit-learn's 1,797 8x8 images, all of them) for a
# quick look on the embedded data.
DATASETS = ("mnist", "fashion_mnist", "digits")

QUICK = {"seeds": 2, "epochs": 10}


def _short_epochs(epochs: int) -> int:
    """The short budget's epochs for a long budget of ``epochs`` given without them: ten times fewer."""
    return max(1, epochs // 10)


LOSS_LABELS = {   # the engine's CLASSIFICATION_LOSSES, in words (DEFAULT_LOSS first)
    DEFAULT_LOSS: "softmax + categorical cross-entropy (fused: gradient p - y)",
    "keras_categorical_crossentropy": "softmax, then Keras 2's categorical cross-entropy on probabilities "
                                      "clipped at 1e-7 (zero gradient where the clip is active)",
}


#: The reproduction's settings and their defaults (the notes' protocol: :mod:`actlab.presets`).
DEFAULTS: dict[str, Any] = {
    "seeds": 3,                         # a count or a list
    "epochs": None,                     # long budget's epochs (default BUDGETS)
    "short_epochs": None,               # short budget's (default epochs // 10, at least 1)
    "batch_size": None,                 # both budgets' batch size (default BUDGETS)
    "scalings": tuple(SCALINGS),
    "n_samples": presets.NOTES_SAMPLES,
    "test_fraction": presets.NOTES_TEST_FRACTION,
    "dataset": "mnist",
    "learning_rate": NOTES.learning_rate,
    "hidden": NOTES.hidden,
    "engine": DEFAULT_BACKEND,
    "confidence": 0.95,
    "loss": DEFAULT_LOSS,               # engine.losses: or "keras_categorical_crossentropy"
}


@dataclass
class ReproduceSpec:
    """Everything that defines a reproduction (:data:`DEFAULTS`); :meth:`resolved` fills and checks
    every field: what :data:`REPRODUCE` stores and names the study by."""

    seeds: Any = DEFAULTS["seeds"]
    epochs: int | None = DEFAULTS["epochs"]
    short_epochs: int | None = DEFAULTS["short_epochs"]
    batch_size: int | None = DEFAULTS["batch_size"]
    scalings: list = field(default_factory=lambda: list(DEFAULTS["scalings"]))
    n_samples: int = DEFAULTS["n_samples"]
    test_fraction: float = DEFAULTS["test_fraction"]
    dataset: str = DEFAULTS["dataset"]
    learning_rate: float = DEFAULTS["learning_rate"]
    hidden: str = DEFAULTS["hidden"]
    engine: str = DEFAULTS["engine"]
    name: str | None = None
    confidence: float = DEFAULTS["confidence"]
    loss: str = DEFAULTS["loss"]

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
            short = _short_epochs(epochs)
        if short < 1:
            raise ValueError(f"short_epochs must be a positive integer, got {self.short_epochs!r}")
        if self.loss not in LOSS_LABELS:
            raise ValueError(f"unknown loss {self.loss!r} for the notes' preset; valid: {', '.join(LOSS_LABELS)}")
        spec = ReproduceSpec(seeds=seeds, epochs=epochs, short_epochs=short,
                             batch_size=self.batch_size, scalings=scalings, n_samples=int(self.n_samples),
                             test_fraction=float(self.test_fraction), dataset=self.dataset,
                             learning_rate=float(self.learning_rate), hidden=self.hidden, engine=self.engine,
                             name=None, confidence=self.confidence, loss=self.loss)
        spec.name = self.name or _name(_params(spec))
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
                       hidden=spec.hidden, activation=row.activation_config, optimizer=NOTES.optimizer,
                       learning_rate=spec.learning_rate, epochs=b["epochs"], batch_size=b["batch_size"],
                       engine=spec.engine, data_dir=data_dir, loss=spec.loss)


def _params(spec: ReproduceSpec) -> dict:
    """A spec's study parameters: every field but the name."""
    params = asdict(spec)
    params.pop("name")
    return params


def _name(params: dict) -> str:
    """``reproduce-notes-<digest of the resolved settings>`` (the loss counts only when it is not
    the default, so the names of studies from before that option stay the same)."""
    d = dict(params)
    if d.get("loss") == DEFAULT_LOSS:
        d.pop("loss")
    return "reproduce-notes-" + settings_digest(d)


def _resolve(params: dict) -> dict:
    """The study's parameters, resolved (:meth:`ReproduceSpec.resolved`)."""
    return _params(ReproduceSpec(**{k: v for k, v in params.items() if k != "name"}).resolved())


def reproduce_grid(*, study: str, data_dir: str | None = None, **params: Any) -> list[Task]:
    """The runs of resolved parameters (:func:`reproduce_tasks`)."""
    return reproduce_tasks(ReproduceSpec(**params, name=study), data_dir)


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
    settings: dict = field(default_factory=dict)    # the study's parameters, name and store


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


def reproduce_result(records: list, settings: dict) -> ReproduceResult:
    """The study's summary: ``records`` in grid order (None: not in the store), ``settings`` the
    resolved parameters with the study's ``name`` and ``store``."""
    spec = ReproduceSpec(**{f.name: settings[f.name] for f in fields(ReproduceSpec) if f.name != "name"},
                         name=settings["name"])
    records = [r for r in records if r is not None]
    by_key = {r["key"]: r for r in records}
    rows = summarize(spec, lambda cfg: by_key.get(Store.key(cfg)))
    return ReproduceResult(spec, rows, records, settings.get("store", ""), settings=dict(settings))


def run_reproduce(spec: ReproduceSpec | None = None, *, store: Store | None = None, workers: int | None = None,
                  progress: bool = True, data_dir: str | None = None, rerun: bool = False, executor=None,
                  **kw) -> ReproduceResult:
    """Run (or resume) the reproduction (:data:`REPRODUCE`); ``kw`` are :class:`ReproduceSpec` fields."""
    if spec is None:
        spec = ReproduceSpec(**kw)
    elif kw:
        spec = ReproduceSpec(**{**asdict(spec), **kw})
    return REPRODUCE.run(store=store, workers=workers or default_workers(), progress=progress, name=spec.name,
                         rerun=rerun, executor=executor, data_dir=data_dir, **_params(spec))


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
    """Write the reproduction's report (:meth:`Study.report`); returns the path of index.html."""
    from ..report import default_out_dir

    out = Path(out_dir) if out_dir is not None else default_out_dir(result.spec.name)
    return REPRODUCE.report(result, out, meta={"study": result.spec.name, "store": result.store_path})


def notes_table_rows() -> list[dict]:
    """The notes' figures with the budgets assumed for them (for documentation and the CLI)."""
    return [{"row": r.label, "accuracy": r.accuracy, **BUDGETS[r.budget], "budget": r.budget} for r in NOTES_ROWS]


# -- the command line ---------------------------------------------------------------------------
def _cli_options() -> list:
    import click

    quick_short = _short_epochs(QUICK["epochs"])
    scalings = list(DEFAULTS["scalings"])   # --inputs: "both" for every scaling, else the one
    inputs = "both" if scalings == list(SCALINGS) else scalings[0] if len(scalings) == 1 else None
    if inputs is None:
        raise ValueError(f"DEFAULTS['scalings'] = {DEFAULTS['scalings']!r} has no --inputs form; valid: "
                         f"{', '.join(SCALINGS)}, or all of them")
    return [
        click.option("--seeds", type=click.IntRange(min=1), default=None,
                     help=f"Seeds per row (default {DEFAULTS['seeds']}; --quick {QUICK['seeds']})."),
        click.option("--epochs", type=click.IntRange(min=1), default=None,
                     help=f"Epochs of the long budget (default {BUDGETS['long']['epochs']}, the notes'; "
                          f"--quick {QUICK['epochs']})."),
        click.option("--short-epochs", type=click.IntRange(min=1), default=None,
                     help=f"Epochs of the short budget (default {BUDGETS['short']['epochs']}, or --epochs/10)."),
        click.option("--batch-size", type=click.IntRange(min=1), default=None,
                     help=f"Batch size of both budgets (default {NOTES.batch_size})."),
        click.option("--quick", is_flag=True, help=f"A scaled-down run: {QUICK['seeds']} seeds, {QUICK['epochs']} and "
                                                   f"{quick_short} epochs (not comparable to the notes)."),
        click.option("--inputs", type=click.Choice(["both", *SCALINGS]), default=inputs, show_default=True,
                     help="Raw 0..255 pixels (as the notes' code), [0, 1]-scaled inputs, or both."),
        click.option("--dataset", type=click.Choice(list(DATASETS)), default=cli_default(DEFAULTS, "dataset"),
                     show_default=True,
                     help="The notes' data is MNIST; digits (embedded, all 1,797 images) gives a quick, not "
                          "comparable, look."),
        click.option("--samples", type=click.IntRange(min=100, max=70000), default=cli_default(DEFAULTS, "n_samples"),
                     show_default=True,
                     help=f"MNIST/Fashion-MNIST images drawn from all 70,000 (the notes': {presets.NOTES_SAMPLES:,})."),
        click.option("--lr", type=float, default=cli_default(DEFAULTS, "learning_rate"), show_default=True,
                     help=f"{NOTES.optimizer.upper()} learning rate (the notes': {NOTES.learning_rate:g})."),
        click.option("--loss", type=click.Choice(list(LOSS_LABELS)), default=cli_default(DEFAULTS, "loss"),
                     show_default=True,
                     help="categorical_crossentropy: softmax fused with the cross-entropy (gradient p - y). "
                          "keras_categorical_crossentropy: Keras 2's semantics, as the notes' code ran: softmax, then "
                          "a cross-entropy on probabilities clipped at 1e-7, with zero gradient where it clips."),
        data_dir_option(),
    ]


def _from_cli(*, seeds, epochs, short_epochs, batch_size, quick, inputs, dataset, samples, lr, loss, data_dir) -> dict:
    if quick:
        seeds = seeds or QUICK["seeds"]
        epochs = epochs or QUICK["epochs"]
    return dict(seeds=seeds or DEFAULTS["seeds"], epochs=epochs, short_epochs=short_epochs, batch_size=batch_size,
                scalings=list(SCALINGS) if inputs == "both" else [inputs], n_samples=samples, dataset=dataset,
                learning_rate=lr, loss=loss, data_dir=data_dir)


def _show(result: ReproduceResult, console) -> None:
    """The notes' table beside ours."""
    from rich.table import Table

    spec = result.spec
    if spec.dataset != "mnist":
        console.print(f"note: the notes' figures are for MNIST; these runs are on {spec.dataset}: not comparable",
                      markup=False)
    t = Table(title=f"{spec.name}: the notes' MNIST table beside ours (test accuracy %, mean [95% t CI])")
    for col in ("notes row", "budget", "inputs", "notes", "ours", "ours - notes"):
        t.add_column(col, justify="left" if col in ("notes row", "budget", "inputs", "ours") else "right")
    for r in result.rows:
        diff = "-" if r["n"] == 0 else f"{100 * r['mean'] - r['notes']:+.2f}"
        t.add_row(r["row"], f"{r['epochs']} ep, batch {r['batch_size']}", r["scaling"], f"{r['notes']:g}",
                  _ours_text(r), diff)
    console.print(t)


def _network() -> str:
    from ..plan import parse_hidden

    return "-".join(map(str, [784, *parse_hidden(NOTES.hidden), 10]))


_TEST_PERCENT = round(100 * presets.NOTES_TEST_FRACTION)

REPRODUCE = register_study(Study(
    kind="reproduce-notes", title="Reproducing the study notes' MNIST table", defaults=DEFAULTS,
    axes=("seeds", "scalings"), grid=reproduce_grid, summarize=reproduce_result, sections=reproduce_sections,
    resolve=_resolve, name_of=_name,
    cli=StudyCli(help=f"""The study notes' MNIST table: tanh, ReLU, LeakyReLU, PReLU on {_network()}, \
{NOTES.optimizer.upper()} {NOTES.learning_rate:g}.

    {presets.NOTES_SAMPLES:,} MNIST images drawn from all 70,000, split {100 - _TEST_PERCENT}/{_TEST_PERCENT}, several
    seeds, raw and scaled inputs. Prints our mean and 95% t interval beside the notes' figures; diverged runs
    (NaN loss) are counted as such. Needs MNIST (--data-dir, $ACTLAB_DATA or the usual caches).
    """, options=_cli_options, from_cli=_from_cli, show=_show, command="reproduce notes",
                 group_help="Reproduce published results as presets.")))

report_from_store = REPRODUCE.rebuild   # ``actlab report``: the report from the store alone
