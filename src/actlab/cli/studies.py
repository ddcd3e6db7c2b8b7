"""``actlab compare | reproduce notes | runs list/show/export | report``: studies and their results.

Every study stores its runs in the results store (``--store PATH``, default the user's data
directory or ``$ACTLAB_STORE``): running a command again reuses finished runs and computes only
what is missing, so an interrupted study resumes where it stopped.
"""
from __future__ import annotations

import csv
import json
import math
import sys
import time
from pathlib import Path

import click

from .. import presets as _presets
from ..activations import label_of
from ..engine.optimizers import OPTIMIZERS as _OPTIMIZERS
from ..store import STATUSES
from .common import engine_option as _engine_option
from .common import executor_options as _executor_options
from .common import console as _console
from .common import open_store as _store
from .common import plugin_option as _plugin_option
from .common import no_progress_option as _no_progress_option
from .common import out_option as _out_option
from .common import rerun_option as _rerun_option
from .common import run_study as _run_study
from .common import say_reuse as _say_reuse
from .common import store_option as _store_option
from .common import workers_option as _workers_option


def _fmt(x, pct=False, digits=2):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if pct:
        return f"{100 * x:.{digits}f}"
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


# -- compare ----------------------------------------------------------------------------------
@click.command("compare", epilog="\b\nThe presets (any setting given overrides its preset):\n" + _presets.describe())
@click.option("--dataset", default="digits", show_default=True, help="digits, mnist, fashion_mnist, ...")
@click.option("--activations", default="relu,tanh,sigmoid,leaky_relu,elu", show_default=True,
              help="Comma-separated, parameters in parentheses: 'relu,leaky_relu(alpha=0.2),prelu'.")
@click.option("--seeds", type=click.IntRange(min=1), default=5, show_default=True, help="Seeds 0..N-1 (paired).")
@click.option("--hidden", default=None, help="Hidden sizes such as 200x4 or 128,64; " + _presets.help_for("hidden"))
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Epochs; " + _presets.help_for("epochs"))
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Batch size; " + _presets.help_for("batch_size"))
@click.option("--optimizer", type=click.Choice(list(_OPTIMIZERS)), default=None,
              help=_presets.help_for("optimizer"))
@click.option("--lr", type=float, default=None, help="Learning rate; " + _presets.help_for("learning_rate"))
@click.option("--samples", type=click.IntRange(min=2), default=None,
              help="Use this many samples (MNIST: drawn from all 70,000 and split 80/20, as the notes' "
                   f"{_presets.NOTES_SAMPLES:,}; default: the official 60,000 / 10,000 split).")
@click.option("--raw-pixels", is_flag=True, help="Feed raw pixel values instead of [0, 1]-scaled inputs.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Where to look for MNIST files first.")
@click.option("--target", type=float, default=None,
              help="Target test accuracy for time-to-target; " + _presets.help_for("target"))
@click.option("--baseline", default=None, help="Activation the paired tests compare against (default the first).")
@_engine_option
@click.option("--name", default=None, help="Study name in the store (default derived from the settings).")
@_workers_option
@_executor_options
@_store_option
@_out_option
@_no_progress_option
@_plugin_option
@_rerun_option
def compare_cmd(dataset, activations, seeds, hidden, epochs, batch_size, optimizer, lr, samples, raw_pixels,
                data_dir, target, baseline, engine, name, workers, executor, address, store_path, out_dir,
                no_progress, plugins, rerun):
    """Compare activations over several seeds on one dataset and network (a paired design).

    For each seed every activation gets the same split, batch order and initial weights.
    Prints final test accuracy (mean, 95% t interval), time to the target accuracy and paired
    tests against the baseline, and writes an HTML/Markdown/CSV report with learning curves.
    """
    from ..activations.plugins import load_plugins
    from ..studies.compare import CompareSpec, run_compare, write_compare_report

    load_plugins(plugins)
    spec = CompareSpec(activations=activations, seeds=seeds, dataset=dataset, hidden=hidden, epochs=epochs,
                       batch_size=batch_size, optimizer=optimizer, learning_rate=lr, n_samples=samples,
                       scale="raw" if raw_pixels else True, engine=engine, target=target, baseline=baseline,
                       name=name).resolved()
    result, store = _run_study(run_compare, spec, store_path=store_path, executor=executor, address=address,
                               workers=workers, rerun=rerun, no_progress=no_progress, data_dir=data_dir)
    _print_compare(result)
    _say_reuse(result, store, rerun)
    path = write_compare_report(result, out_dir)
    click.echo(f"report: {path}")


def _print_compare(result) -> None:
    from rich.table import Table

    from ..stats import interval_text

    spec = result.spec
    t = Table(title=f"{spec.name}: final test accuracy (%) over seeds {spec.seeds[0]}..{spec.seeds[-1]}, "
                    f"{spec.dataset}, hidden {spec.hidden}, {spec.epochs} epochs")
    for col in ("activation", "mean", "95% CI", "std", "ok/div/fail", f"epochs to {spec.target:g}",
                f"s to {spec.target:g}", "s/run"):
        t.add_column(col, justify="left" if col == "activation" else "right")
    for s in result.summary:
        ci = interval_text(s["ci_low"], s["ci_high"], s["done"]) if s["done"] else "-"
        t.add_row(s["activation"], _fmt(s["mean"], True), ci, _fmt(s["std"], True),
                  f"{s['done']}/{s['diverged']}/{s['failed']}",
                  f"{_fmt(s['epochs_to_target'])} ({s['reached']}/{s['done']})", _fmt(s["seconds_to_target"]),
                  _fmt(s["seconds_per_run"]))
    console = _console()
    console.print(t)
    if result.paired:
        p = Table(title=f"paired tests against {spec.baseline} (differences in percentage points)")
        for col in ("activation", "pairs", "mean diff", "95% CI", "p (t)", "p (Wilcoxon)", "d_z"):
            p.add_column(col, justify="left" if col == "activation" else "right")
        for r in result.paired:
            ci = interval_text(r["ci_low"], r["ci_high"], r["n"]) if r["n"] else "-"
            p.add_row(r["activation"], str(r["n"]), _fmt(r["mean_diff"], True), ci, _fmt(r["p_t"]),
                      _fmt(r["p_wilcoxon"]), _fmt(r["d_z"]))
        console.print(p)


# -- reproduce ----------------------------------------------------------------------------------
@click.group("reproduce")
def reproduce_group():
    """Reproduce published results as presets."""


@reproduce_group.command("notes")
@click.option("--seeds", type=click.IntRange(min=1), default=None, help="Seeds per row (default 3; --quick 2).")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Epochs of the long budget (default 1000, the notes'; --quick 10).")
@click.option("--short-epochs", type=click.IntRange(min=1), default=None,
              help="Epochs of the short budget (default 100, or --epochs/10).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Batch size of both budgets (default 100).")
@click.option("--quick", is_flag=True, help="A scaled-down run: 2 seeds, 10 and 1 epochs (not comparable to the notes).")
@click.option("--inputs", type=click.Choice(["both", "raw", "scaled"]), default="both", show_default=True,
              help="Raw 0..255 pixels (as the notes' code), [0, 1]-scaled inputs, or both.")
@click.option("--dataset", type=click.Choice(["mnist", "fashion_mnist", "digits"]), default="mnist", show_default=True,
              help="The notes' data is MNIST; digits (embedded, all 1,797 images) gives a quick, not comparable, look.")
@click.option("--samples", type=click.IntRange(min=100, max=70000), default=_presets.NOTES_SAMPLES, show_default=True,
              help=f"MNIST/Fashion-MNIST images drawn from all 70,000 (the notes': {_presets.NOTES_SAMPLES:,}).")
@click.option("--lr", type=float, default=0.01, show_default=True, help="SGD learning rate (the notes': 0.01).")
@click.option("--loss", type=click.Choice(["categorical_crossentropy", "keras_categorical_crossentropy"]),
              default="categorical_crossentropy", show_default=True,
              help="categorical_crossentropy: softmax fused with the cross-entropy (gradient p - y). "
                   "keras_categorical_crossentropy: Keras 2's semantics, as the notes' code ran: softmax, then "
                   "a cross-entropy on probabilities clipped at 1e-7, with zero gradient where it clips.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Where to look for MNIST files first.")
@_engine_option
@click.option("--name", default=None, help="Study name in the store (default derived from the settings).")
@_workers_option
@_executor_options
@_store_option
@_out_option
@_no_progress_option
@_rerun_option
def reproduce_notes_cmd(seeds, epochs, short_epochs, batch_size, quick, inputs, dataset, samples, lr, loss, data_dir,
                        engine, name, workers, executor, address, store_path, out_dir, no_progress, rerun):
    """The study notes' MNIST table: tanh, ReLU, LeakyReLU, PReLU on 784-200-200-200-200-10, SGD 0.01.

    10,000 MNIST images drawn from all 70,000, split 80/20, several seeds, raw and scaled
    inputs. Prints our mean and 95% t interval beside the notes' figures; diverged runs
    (NaN loss) are counted as such. Needs MNIST (--data-dir, $ACTLAB_DATA or the usual caches).
    """
    from ..studies.reproduce import ReproduceSpec, run_reproduce, write_reproduce_report

    if quick:
        seeds = seeds or 2
        epochs = epochs or 10
    spec = ReproduceSpec(seeds=seeds or 3, epochs=epochs, short_epochs=short_epochs, batch_size=batch_size,
                         scalings=["raw", "scaled"] if inputs == "both" else [inputs], n_samples=samples,
                         dataset=dataset, learning_rate=lr, engine=engine, name=name, loss=loss).resolved()
    result, store = _run_study(run_reproduce, spec, store_path=store_path, executor=executor, address=address,
                               workers=workers, rerun=rerun, no_progress=no_progress, data_dir=data_dir)
    _print_reproduce(result)
    _say_reuse(result, store, rerun)
    path = write_reproduce_report(result, out_dir)
    click.echo(f"report: {path}")


def _print_reproduce(result) -> None:
    from rich.table import Table

    from ..studies.reproduce import _ours_text

    spec = result.spec
    if spec.dataset != "mnist":
        click.echo(f"note: the notes' figures are for MNIST; these runs are on {spec.dataset}: not comparable")
    t = Table(title=f"{spec.name}: the notes' MNIST table beside ours (test accuracy %, mean [95% t CI])")
    for col in ("notes row", "budget", "inputs", "notes", "ours", "ours - notes"):
        t.add_column(col, justify="left" if col in ("notes row", "budget", "inputs", "ours") else "right")
    for r in result.rows:
        diff = "-" if r["n"] == 0 else f"{100 * r['mean'] - r['notes']:+.2f}"
        t.add_row(r["row"], f"{r['epochs']} ep, batch {r['batch_size']}", r["scaling"], f"{r['notes']:g}",
                  _ours_text(r), diff)
    _console().print(t)


# -- runs --------------------------------------------------------------------------------------
@click.group("runs")
def runs_group():
    """The runs in the results store: list, show, export."""


def _summary(rec: dict, tags: list[str]) -> dict:
    cfg = rec["config"] or {}
    h = rec.get("history") or {}
    data, model, train = cfg.get("data") or {}, cfg.get("model") or {}, cfg.get("train") or {}
    opt = train.get("optimizer") or {}

    def last(k):
        v = h.get(k) or []
        return v[-1] if v else None

    return {
        "key": rec["key"], "studies": ";".join(tags), "status": rec["status"], "engine": cfg.get("engine"),
        "dataset": data.get("name"), "protocol": data.get("protocol"), "scale": data.get("scale"),
        "n_samples": data.get("n_samples"), "seed": cfg.get("seed"), "hidden": model.get("hidden"),
        "activation": label_of(model.get("activation")) if model else None, "optimizer": opt.get("name"),
        "learning_rate": opt.get("learning_rate"), "epochs": train.get("epochs"),
        "batch_size": train.get("batch_size"), "epochs_run": len(h.get("epoch") or []),
        "test_accuracy": last("val_accuracy") if rec["status"] == "done" else None,
        "test_loss": last("val_loss") if rec["status"] == "done" else None,
        "train_accuracy": last("accuracy") if rec["status"] == "done" else None,
        "diverged_epoch": rec["diverged_epoch"], "seconds": rec["seconds"],
        "created": _iso(rec["created"]), "updated": _iso(rec["updated"]),
        "error": (rec["error"] or "").strip().splitlines()[-1] if rec["error"] else None,
    }


def _iso(t):
    return None if t is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@runs_group.command("list")
@click.option("--study", default=None, help="Only the runs of this study.")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only runs with this status.")
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True, help="Most recent N (0: all).")
@_store_option
def runs_list_cmd(study, status, limit, store_path):
    """A table of runs (most recent last), and the studies in the store."""
    from rich.table import Table

    store = _store(store_path, read_only=True)
    recs = store.runs(study=study, status=status)
    total = len(recs)
    if limit:
        recs = sorted(recs, key=lambda r: r["updated"])[-limit:]
    console = _console()
    if study is None and status is None:
        st = Table(title=f"studies in {store.path}")
        for col in ("study", "kind", "runs"):
            st.add_column(col)
        for s in store.studies():
            st.add_row(s["name"], s["kind"] or "-", str(s["runs"]))
        console.print(st)
    t = Table(title=f"{len(recs)} runs" + (f" of {study}" if study else "") + (f" ({status})" if status else ""))
    for col in ("key", "status", "dataset", "activation", "seed", "hidden", "epochs", "test acc %", "seconds"):
        t.add_column(col, justify="right" if col in ("seed", "epochs", "test acc %", "seconds") else "left")
    for r in recs:
        s = _summary(r, [])
        status_text = s["status"] + (f"@{s['diverged_epoch']}" if s["status"] == "diverged" else "")
        t.add_row(r["key"][:12], status_text, str(s["dataset"]), str(s["activation"]), str(s["seed"]),
                  str(s["hidden"]), f"{s['epochs_run']}/{s['epochs']}", _fmt(s["test_accuracy"], True),
                  _fmt(s["seconds"]))
    console.print(t)
    if len(recs) < total:
        click.echo(f"showing the {len(recs)} most recent of {total} runs; --limit 0 shows all")


@runs_group.command("show")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="The whole record as JSON.")
@_store_option
def runs_show_cmd(key, as_json, store_path):
    """One run: its configuration, status, history (KEY may be abbreviated)."""
    store = _store(store_path, read_only=True)
    rec = store.find(key)
    rec["studies"] = store.tags(rec["key"])
    if as_json:
        click.echo(json.dumps(rec, indent=2))
        return
    s = _summary(rec, rec["studies"])
    click.echo(f"key:      {rec['key']}")
    click.echo(f"studies:  {', '.join(rec['studies']) or '-'}")
    click.echo(f"status:   {rec['status']}" + (f" at epoch {rec['diverged_epoch']}" if rec["diverged_epoch"] else ""))
    click.echo(f"created:  {s['created']}   updated: {s['updated']}   seconds: {_fmt(rec['seconds'])}")
    click.echo("config:   " + json.dumps(rec["config"], indent=2).replace("\n", "\n          "))
    h = rec.get("history") or {}
    if h.get("epoch"):
        click.echo("history:")
        cols = [c for c in ("loss", "accuracy", "val_loss", "val_accuracy", "seconds") if c in h]
        click.echo("  epoch " + " ".join(f"{c:>12}" for c in cols))
        for i, e in enumerate(h["epoch"]):
            click.echo(f"  {e:>5} " + " ".join(f"{h[c][i]:>12.5g}" for c in cols))
    if rec.get("diagnostics"):
        click.echo("diagnostics: " + ", ".join(sorted(rec["diagnostics"])) + " (--json shows them)")
    if rec["error"]:
        click.echo("error:\n" + rec["error"])


@runs_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="-", show_default=True,
              help="File to write ('-': standard output).")
@click.option("--study", default=None, help="Only the runs of this study.")
@click.option("--status", type=click.Choice(STATUSES), default=None)
@_store_option
def runs_export_cmd(fmt, output, study, status, store_path):
    """Export runs: CSV (one row per run: settings and final metrics) or JSON (full records).

    Written to standard output unless ``-o FILE`` is given: ``actlab runs export | head``.
    """
    store = _store(store_path, read_only=True)
    recs = store.runs(study=study, status=status)
    fh = sys.stdout if output == "-" else open(output, "w", newline="", encoding="utf-8")
    try:
        if fmt == "json":
            json.dump([{**r, "studies": store.tags(r["key"])} for r in recs], fh, indent=1)
            fh.write("\n")
        else:
            rows = [_summary(r, store.tags(r["key"])) for r in recs]
            fields = list(_summary({"key": "", "config": {}, "status": "", "history": None, "diverged_epoch": None,
                                    "seconds": None, "created": None, "updated": None, "error": None}, []))
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            w.writerows(rows)
    finally:
        if fh is not sys.stdout:
            fh.close()
    if output != "-":
        click.echo(f"{len(recs)} runs written to {output}", err=True)


# -- report -------------------------------------------------------------------------------------
@click.command("report")
@click.option("--study", "studies", multiple=True, help="Study name (repeatable); see `actlab runs list`.")
@click.option("--all", "all_studies", is_flag=True, help="Every study in the store.")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Report directory (with --all or several studies: one subdirectory each and an index.html "
                   "linking them; default ./actlab-reports/reports-<time>).")
@_store_option
@_plugin_option
def report_cmd(studies, all_studies, out_dir, store_path, plugins):
    """Rebuild study reports from the store alone (no training)."""
    import actlab.studies  # noqa: F401  (every built-in study registers its reporter)
    from ..activations.plugins import load_plugins
    from ..report.rebuild import rebuild_report, write_index
    from ..report.writer import _slug, default_out_dir

    load_plugins(plugins)   # a study of your own activation names it: load the file it came from
    store = _store(store_path, read_only=True)   # a missing store: one line, nothing created
    names = [s["name"] for s in store.studies()] if all_studies else list(studies)
    if not names:
        if all_studies:
            raise ValueError(f"the store {store.path} holds no study yet: nothing to report")
        raise ValueError("name a study with --study NAME or use --all; `actlab runs list` shows the studies "
                         f"in {store.path}")
    if len(names) == 1 and not all_studies:
        click.echo(f"{names[0]}: {rebuild_report(store, names[0], out_dir)}")
        return
    base = Path(out_dir) if out_dir is not None else default_out_dir("reports")
    pages = {}
    for name in names:
        pages[name] = rebuild_report(store, name, base / _slug(name))
        click.echo(f"{name}: {pages[name]}")
    click.echo(f"index: {write_index(store, pages, base)}")


def register(main: click.Group) -> None:
    """Add ``compare``, ``reproduce``, ``runs`` and ``report`` to the ``actlab`` group (``sweep`` is a
    declared study: actlab.studies.sweep)."""
    for cmd in (compare_cmd, reproduce_group, runs_group, report_cmd):
        main.add_command(cmd)
