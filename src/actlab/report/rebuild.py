"""Rebuild a study's report from the store alone (``actlab report``).

A study records its kind and parameters with :meth:`actlab.store.Store.define_study`;
:data:`REPORTERS` maps the kind to a function ``report_from_store(store, study, params, out_dir) -> Path``,
registered by the study (:func:`register_reporter`; a :class:`actlab.studies.shape.Study` does it
when it is registered, and importing :mod:`actlab.studies` registers every built-in study: the
``actlab report`` command does). A study with no definition, or of a kind no reporter is registered
for (a hand-made one), gets the generic report: its runs grouped by activation, with learning
curves and a table of every run.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..activations import label_of

__all__ = ["REPORTERS", "register_reporter", "rebuild_report", "generic_report", "write_index"]

REPORTERS: dict[str, Callable] = {}


def register_reporter(kind: str, fn: Callable, *, overwrite: bool = False) -> Callable:
    """``fn(store, study, params, out_dir) -> Path`` rebuilds the report of a study of ``kind``."""
    if not callable(fn):
        raise ValueError(f"the reporter of {kind!r} must be callable, got {fn!r:.100}")
    if kind in REPORTERS and REPORTERS[kind] is not fn and not overwrite:
        raise ValueError(f"a reporter for studies of kind {kind!r} is registered already")
    REPORTERS[kind] = fn
    return fn


def _reporter(kind: str | None):
    return REPORTERS.get(kind or "")


def rebuild_report(store, study: str, out_dir: str | Path | None = None) -> Path:
    """Write the report of ``study`` from what ``store`` holds; returns the ``index.html`` path."""
    from .writer import default_out_dir

    known = {s["name"] for s in store.studies()}
    if study not in known:
        names = ", ".join(sorted(known)) or "none"
        raise ValueError(f"no study {study!r} in the store {store.path}; studies there: {names}")
    out = Path(out_dir) if out_dir is not None else default_out_dir(study)
    info = store.study_info(study)
    fn = _reporter(info["kind"]) if info else None
    if fn is not None:
        return fn(store, study, info["params"], out)
    return generic_report(store, study, out)


def generic_report(store, study: str, out_dir: str | Path) -> Path:
    """Runs of ``study`` grouped by activation: learning curves and a table of every run."""
    from ..plots.training import plot_learning_curves
    from .writer import Section, Table, write_report

    records = store.runs(study=study)
    groups: dict[str, list] = {}
    rows = []
    for r in records:
        label = label_of((r["config"].get("model") or {}).get("activation"))
        h = r.get("history") or {}
        if h.get("epoch"):
            groups.setdefault(label, []).append(h)
        acc = (h.get("val_accuracy") or [None])[-1] if r["status"] == "done" else None
        status = r["status"] + (f" (epoch {r['diverged_epoch']})" if r["status"] == "diverged" else "")
        rows.append([label, r["config"].get("seed"), status, None if acc is None else 100 * acc,
                     len(h.get("epoch") or []), r["seconds"], r["key"][:12]])
    sections = [Section("Runs", f"{len(records)} runs of study `{study}` in `{store.path}`.",
                        tables=[Table(["activation", "seed", "status", "test acc %", "epochs", "seconds", "key"],
                                      rows, title="Every run", name="runs")])]
    if groups:
        fig = plot_learning_curves(groups, metrics=("val_accuracy", "loss"))
        sections.insert(0, Section("Learning curves", "Mean over runs with a 95% t band.",
                                   figures=[("learning-curves", fig)]))
    return write_report(out_dir, f"actlab study {study}", sections, meta={"store": str(store.path)})


def write_index(store, reports: dict[str, str | Path], out_dir: str | Path) -> Path:
    """An ``index.html`` (and ``report.md``) in ``out_dir`` linking every study's report.

    ``reports`` maps a study name to the ``index.html`` of its report; links are relative to
    ``out_dir`` where the report lies below it, so the folder can be moved as a whole.
    """
    import os

    from .writer import Section, Table, write_report

    out = Path(out_dir)
    info = {s["name"]: s for s in store.studies()}
    links, rows = [], []
    for name, page in reports.items():
        page = Path(page)
        try:
            href = Path(os.path.relpath(page.resolve(), out.resolve())).as_posix()
        except ValueError:  # another drive (Windows): an absolute link
            href = page.resolve().as_uri()
        kind, runs = (info.get(name) or {}).get("kind") or "-", (info.get(name) or {}).get("runs")
        links.append(f"- [{name}]({href}): {kind}, {runs} runs")
        rows.append([name, kind, runs, href])
    text = f"{len(reports)} reports of the studies in `{store.path}`:\n\n" + "\n".join(links)
    table = Table(["study", "kind", "runs", "report"], rows, title="Reports", name="reports")
    return write_report(out, "actlab reports", [Section("Studies", text, tables=[table])],
                        meta={"store": str(store.path)})
