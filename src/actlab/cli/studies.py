"""``actlab runs list/show/export | report``: studies and their results.

The declared studies' commands (``compare``, ``reproduce notes``, ``sweep``, ``phase``, ``depth``, ...) are built from
their declarations (:mod:`actlab.cli.diagnostics`). Every study stores its runs in the results
store (``--store PATH``, default the user's data directory or ``$ACTLAB_STORE``): running a
command again reuses finished runs and computes only what is missing, so an interrupted study
resumes where it stopped.
"""
from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

import click

from ..activations import label_of
from ..stats import number_text as _fmt
from ..store import STATUSES
from .common import console as _console
from .common import open_store as _store
from .common import plugin_option as _plugin_option
from .common import store_option as _store_option


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
    """Add ``runs`` and ``report`` to the ``actlab`` group (the studies' commands are built from their
    declarations: :mod:`actlab.cli.diagnostics`)."""
    for cmd in (runs_group, report_cmd):
        main.add_command(cmd)
