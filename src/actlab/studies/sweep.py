"""``actlab sweep SPEC.toml``: a grid of settings x seeds, defined in one file, run anywhere.

The spec (TOML)::

    [sweep]
    name = "depth-vs-activation"   # the study's name in the store (default: derived from the spec)
    dataset = "digits"
    epochs = 20
    seeds = [0, 1, 2]              # or an int: seeds 0..n-1
    batch_size = 32                # any setting of SETTINGS, fixed for the whole sweep
    [grid]                         # the cartesian product of these lists
    activation = ["relu", "tanh", "leaky_relu(alpha=0.2)"]
    hidden = ["32x2", "32x4"]
    lr = [0.05, 0.2]

Settings neither fixed nor in the grid take the dataset's preset (:mod:`actlab.presets`, as
every command).
Unknown keys, empty lists and values a run would reject are refused before anything runs,
with the key named. For seed ``i`` every setting gets the same split (``data.seed = i``) and
batch order, as in ``compare``. The summary ranks the settings by mean final test accuracy
(with a t interval over seeds); diverged runs are counted, not averaged.

>>> spec = SweepSpec.from_dict({"sweep": {"epochs": 2, "seeds": 2}, "grid": {"lr": [0.1, 0.2]}})
>>> spec.axes, spec.seeds, len(sweep_tasks(spec))
(['lr'], [0, 1], 4)
"""
from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import presets
from ..activations import label_of
from ..backends import DEFAULT_BACKEND
from ..store import Store, canonical_json
from .. import stats
from .runner import Task, default_workers, make_config
from .shape import Study, StudyCli, data_dir_option, register_study

__all__ = ["DEFAULTS", "SETTINGS", "SWEEP", "SweepSpec", "SweepResult", "load_spec", "sweep_tasks", "run_sweep", "summarize",
           "sweep_sections", "write_sweep_report", "report_from_store"]

# spec key -> make_config's keyword (the settings a sweep can fix or vary)
SETTINGS: dict[str, str] = {
    "dataset": "dataset", "activation": "activation", "hidden": "hidden", "epochs": "epochs",
    "batch_size": "batch_size", "lr": "learning_rate", "learning_rate": "learning_rate",
    "optimizer": "optimizer", "init": "init", "dropout": "dropout", "dtype": "dtype", "samples": "n_samples",
    "n_samples": "n_samples", "test_fraction": "test_fraction", "scale": "scale", "engine": "engine",
    "protocol": "protocol",
}
SWEEP_ONLY = ("name", "seeds", "confidence")
METRIC = "val_accuracy"


def _where(key: str, in_grid: bool, index: int | None = None) -> str:
    return f"[grid] {key}" + (f"[{index}]" if index is not None else "") if in_grid else f"[sweep] {key}"


def _check_value(key: str, value: Any, where: str) -> Any:
    """The value as make_config takes it; ``ValueError`` naming ``where`` when a run would reject it."""
    if isinstance(value, (dict, list)) and key != "hidden":
        raise ValueError(f"{where} = {value!r}: expected a single value")
    if key in ("lr", "learning_rate"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
            raise ValueError(f"{where} = {value!r}: the learning rate must be a positive number")
        return float(value)
    if key == "dropout":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ValueError(f"{where} = {value!r}: dropout must be a number in [0, 1)")
        return float(value)
    if key in ("epochs", "batch_size", "samples", "n_samples"):
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if key == "epochs" else 1):
            raise ValueError(f"{where} = {value!r}: must be a {'non-negative' if key == 'epochs' else 'positive'} "
                             "integer")
    if key == "hidden":
        from ..engine import parse_hidden

        try:
            parse_hidden(value)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{where} = {value!r}: {exc.args[0] if exc.args else exc}") from None
    if key == "activation":
        from .compare import parse_activations

        try:
            acts = parse_activations(value if isinstance(value, str) else [value])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{where} = {value!r}: {exc.args[0] if exc.args else exc}") from None
        if len(acts) != 1:
            raise ValueError(f"{where} = {value!r}: one activation per value (make it a list item each)")
        return acts[0]
    return value


def _label(key: str, value: Any) -> str:
    if key == "activation" and isinstance(value, dict):
        return label_of(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


#: A sweep's defaults where its spec gives none: seeds 0, 1, 2 and 95% intervals.
DEFAULTS: dict[str, Any] = {"fixed": {}, "grid": {}, "seeds": (0, 1, 2), "confidence": 0.95}


@dataclass
class SweepSpec:
    """A sweep: fixed settings, grid axes (in the spec's order), seeds."""

    fixed: dict = field(default_factory=dict)            # spec key -> value
    grid: dict = field(default_factory=dict)             # spec key -> list of values
    seeds: list = field(default_factory=lambda: list(DEFAULTS["seeds"]))
    name: str | None = None
    confidence: float = DEFAULTS["confidence"]

    @property
    def axes(self) -> list[str]:
        return list(self.grid)

    @classmethod
    def from_dict(cls, doc: dict) -> SweepSpec:
        """Validate a parsed spec (see the module docstring); ``ValueError`` naming the bad key."""
        if not isinstance(doc, dict):
            raise ValueError("a sweep spec is a TOML document with [sweep] and [grid] tables")
        unknown = [k for k in doc if k not in ("sweep", "grid")]
        if unknown:
            raise ValueError(f"unknown table [{unknown[0]}] in the sweep spec; valid: [sweep], [grid]")
        head, grid = doc.get("sweep", {}), doc.get("grid", {})
        for table, content in (("sweep", head), ("grid", grid)):
            if not isinstance(content, dict):
                raise ValueError(f"[{table}] must be a table of key = value lines")
        valid = ", ".join(list(SWEEP_ONLY) + list(SETTINGS))
        for k in head:
            if k not in SETTINGS and k not in SWEEP_ONLY:
                raise ValueError(f"unknown key [sweep] {k}; valid: {valid}")
        for k in grid:
            if k not in SETTINGS:
                raise ValueError(f"unknown key [grid] {k}; valid grid axes: {', '.join(SETTINGS)}")
            if k in head:
                raise ValueError(f"{k} is both fixed in [sweep] and an axis of [grid]; keep one")
        given = list(head) + list(grid)
        for a, b in (("lr", "learning_rate"), ("samples", "n_samples")):
            if a in given and b in given:
                raise ValueError(f"{a} and {b} are the same setting; give one")
        if not grid:
            raise ValueError("[grid] is empty: give at least one axis, e.g. activation = [\"relu\", \"tanh\"]")
        fixed = {k: _check_value(k, v, _where(k, False)) for k, v in head.items() if k in SETTINGS}
        axes = {}
        for k, values in grid.items():
            if not isinstance(values, list):
                raise ValueError(f"[grid] {k} = {values!r}: an axis is a list of values")
            if not values:
                raise ValueError(f"[grid] {k} is an empty list: give at least one value")
            checked = [_check_value(k, v, _where(k, True, i)) for i, v in enumerate(values)]
            labels = [_label(k, v) for v in checked]
            if len(set(labels)) != len(labels):
                raise ValueError(f"[grid] {k} repeats a value: {', '.join(labels)}")
            axes[k] = checked
        seeds = head.get("seeds", list(DEFAULTS["seeds"]))
        if isinstance(seeds, int) and not isinstance(seeds, bool):
            if seeds < 1:
                raise ValueError(f"[sweep] seeds = {seeds!r}: a count must be >= 1")
            seeds = list(range(seeds))
        elif isinstance(seeds, list):
            if not seeds:
                raise ValueError("[sweep] seeds is an empty list: give at least one seed")
            if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
                raise ValueError(f"[sweep] seeds = {seeds!r}: distinct non-negative integers, or a count")
        else:
            raise ValueError(f"[sweep] seeds = {seeds!r}: a count or a list of seeds")
        name = head.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ValueError(f"[sweep] name = {name!r}: a non-empty string")
        confidence = head.get("confidence", DEFAULTS["confidence"])
        if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
            raise ValueError(f"[sweep] confidence = {confidence!r}: a number in (0, 1)")
        spec = cls(fixed=fixed, grid=axes, seeds=list(seeds), name=name, confidence=float(confidence))
        spec.name = name or spec.default_name()
        return spec

    def default_name(self) -> str:
        return sweep_name(self.params())

    def points(self) -> list[dict]:
        """Every grid point: ``{axis: value}``, the first axis varying slowest."""
        return [dict(zip(self.grid, values)) for values in itertools.product(*self.grid.values())]

    def point_label(self, point: dict) -> str:
        return ", ".join(f"{k}={_label(k, v)}" for k, v in point.items())

    def settings(self, point: dict) -> dict:
        """make_config's keywords for one grid point: the fixed settings and the point (make_config
        fills the rest from the dataset's preset, :mod:`actlab.presets`)."""
        given = {**self.fixed, **point}
        kw = {"dataset": given.get("dataset", presets.DEFAULT_DATASET)}
        for k, v in given.items():
            kw[SETTINGS[k]] = v
        return kw

    def params(self) -> dict:
        return {"fixed": self.fixed, "grid": self.grid, "seeds": self.seeds, "name": self.name,
                "confidence": self.confidence}


def sweep_name(params: dict) -> str:
    """``sweep-<dataset>-<8 hex digits of the fixed settings, grid and seeds>``: a sweep's default name."""
    text = canonical_json({"fixed": params["fixed"], "grid": params["grid"], "seeds": params["seeds"]})
    return f"sweep-{params['fixed'].get('dataset', 'digits')}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a TOML sweep spec."""
    import tomllib

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"sweep spec not found: {str(p)!r}")
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{p}: not a valid TOML file: {exc}") from None
    try:
        return SweepSpec.from_dict(doc)
    except ValueError as exc:
        raise ValueError(f"{p}: {exc}") from None


def sweep_tasks(spec: SweepSpec, data_dir: str | None = None) -> list[Task]:
    """One task per (grid point, seed), point-major; ``ValueError`` naming the point a run would reject."""
    tasks = []
    for point in spec.points():
        kw = spec.settings(point)
        for seed in spec.seeds:
            try:
                cfg = make_config(study=spec.name, seed=seed, data_dir=data_dir, **kw)
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"the setting {spec.point_label(point) or '(fixed)'} would fail: "
                                 f"{exc.args[0] if exc.args else exc}") from None
            tasks.append(Task(cfg, spec.name))
    return tasks


@dataclass
class SweepResult:
    spec: SweepSpec
    records: list           # store records, as sweep_tasks
    rows: list              # one summary row per grid point, in grid order
    store_path: str = ""
    reuse: tuple | None = None  # (runs reused from the store, runs), as reuse_or_rerun
    settings: dict = field(default_factory=dict)  # the study's parameters, name and store (Study.run)


def _final(rec: dict | None) -> float | None:
    if not rec or rec.get("status") != "done" or not rec.get("history"):
        return None
    values = rec["history"].get(METRIC) or []
    return float(values[-1]) if values else None


def summarize(spec: SweepSpec, records: Sequence[dict | None]) -> list[dict]:
    """Per grid point: runs, done/diverged/failed, mean final test accuracy and its interval."""
    rows = []
    n = len(spec.seeds)
    for i, point in enumerate(spec.points()):
        recs = list(records[i * n:(i + 1) * n])
        finals = [v for v in (_final(r) for r in recs) if v is not None]
        statuses = [r["status"] if r else "missing" for r in recs]
        d = stats.describe(finals, spec.confidence)
        rows.append({"setting": spec.point_label(point), "point": point, "runs": len(recs),
                     "done": statuses.count("done"), "diverged": statuses.count("diverged"),
                     "failed": statuses.count("failed"),
                     "pending": statuses.count("running") + statuses.count("missing"),
                     "diverged_fraction": statuses.count("diverged") / len(recs) if recs else math.nan,
                     **{k: d[k] for k in ("mean", "std", "ci_low", "ci_high")},
                     "finals": finals, "histories": [r["history"] for r in recs
                                                     if r and r["status"] in ("done", "diverged") and r.get("history")]})
    return rows


def ranked(rows: Sequence[dict]) -> list[dict]:
    return sorted((r for r in rows if r["done"]), key=lambda r: (-r["mean"], r["setting"]))


def marginals(spec: SweepSpec, rows: Sequence[dict], axis: str) -> list[dict]:
    """Per value of ``axis``: every run with that value pooled (the other axes averaged over)."""
    out = []
    for value in spec.grid[axis]:
        mine = [r for r in rows if _label(axis, r["point"][axis]) == _label(axis, value)]
        finals = [v for r in mine for v in r["finals"]]
        runs = sum(r["runs"] for r in mine)
        diverged = sum(r["diverged"] for r in mine)
        d = stats.describe(finals, spec.confidence)
        best = ranked(mine)
        out.append({"value": _label(axis, value), "runs": runs, "done": sum(r["done"] for r in mine),
                    "diverged_fraction": diverged / runs if runs else math.nan, **d,
                    "best": best[0]["setting"] if best else None})
    return out


def pair_grid(spec: SweepSpec, rows: Sequence[dict], a: str, b: str) -> tuple[list, list, list, list]:
    """Mean final accuracy and diverged fraction for each (value of a, value of b), other axes pooled."""
    la = [_label(a, v) for v in spec.grid[a]]
    lb = [_label(b, v) for v in spec.grid[b]]
    means, divs = [], []
    for va in la:
        mrow, drow = [], []
        for vb in lb:
            mine = [r for r in rows if _label(a, r["point"][a]) == va and _label(b, r["point"][b]) == vb]
            finals = [v for r in mine for v in r["finals"]]
            runs = sum(r["runs"] for r in mine)
            mrow.append(sum(finals) / len(finals) if finals else None)
            drow.append(sum(r["diverged"] for r in mine) / runs if runs else None)
        means.append(mrow)
        divs.append(drow)
    return la, lb, means, divs


def _spec(params: dict, name: str) -> SweepSpec:
    return SweepSpec(fixed=params["fixed"], grid=params["grid"], seeds=list(params["seeds"]), name=name,
                     confidence=params.get("confidence", DEFAULTS["confidence"]))


def sweep_grid(*, fixed: dict, grid: dict, seeds: Sequence[int], confidence: float = DEFAULTS["confidence"],
               study: str, data_dir: str | None = None, name: str | None = None) -> list[Task]:
    """The study's grid: :func:`sweep_tasks` of the spec's content (``name``, in the parameters
    stored before sweep was a declared study, is ignored: ``study`` names the runs)."""
    return sweep_tasks(_spec({"fixed": fixed, "grid": grid, "seeds": seeds, "confidence": confidence}, study),
                       data_dir)


def sweep_params(params: dict) -> dict:
    """The study's parameters: the spec's content (validated by :meth:`SweepSpec.from_dict`); a
    sweep's engine and samples are settings, given in ``fixed`` ([sweep]) or the grid."""
    for key, default in (("engine", DEFAULT_BACKEND), ("n_samples", None)):
        if params.get(key, default) != default:
            raise ValueError(f"a sweep's {key} is one of its settings: give it in fixed ([sweep]) or the grid, "
                             f"got {key}={params[key]!r}")
    return {"fixed": params["fixed"], "grid": params["grid"], "seeds": list(params["seeds"]),
            "confidence": params["confidence"]}


def sweep_result(records: list, settings: dict) -> SweepResult:
    """The study's summary: one row per grid point (:func:`summarize`) of the records, in grid order."""
    spec = _spec(settings, settings["name"])
    return SweepResult(spec, records, summarize(spec, records), settings.get("store", ""), settings=dict(settings))


def run_sweep(spec: SweepSpec, *, store: Store | None = None, workers: int | None = None, progress: bool = True,
              data_dir: str | None = None, executor=None, rerun: bool = False) -> SweepResult:
    """Run (or resume) a sweep (:data:`SWEEP`): validate every run and load every dataset first, then
    run what is missing (``rerun=True``: every run again)."""
    return SWEEP.run(store=store, workers=workers or default_workers(), progress=progress, name=spec.name,
                     rerun=rerun, executor=executor, data_dir=data_dir, fixed=spec.fixed, grid=spec.grid,
                     seeds=spec.seeds, confidence=spec.confidence)


# -- the report --------------------------------------------------------------------------------
def _pct(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else 100.0 * x


def best_table(result: SweepResult, top: int | None = None):
    from ..report import Table

    ci = int(round(result.spec.confidence * 100))
    rows = [[i + 1, *[_label(k, r["point"][k]) for k in result.spec.axes], r["done"], r["diverged"], r["failed"],
             _pct(r["mean"]), _pct(r["ci_low"]), _pct(r["ci_high"]), _pct(r["std"])]
            for i, r in enumerate(ranked(result.rows)[:top])]
    headers = ["rank", *result.spec.axes, "done", "diverged", "failed", "mean acc %", f"{ci}% CI low %",
               f"{ci}% CI high %", "std %"]
    return Table(headers, rows, title="Settings ranked by mean final test accuracy" + (f" (top {top})" if top else ""),
                 name="ranking" if top is None else "best")


def marginal_table(result: SweepResult, axis: str):
    from ..report import Table

    ci = int(round(result.spec.confidence * 100))
    rows = [[m["value"], m["runs"], m["done"], _pct(m["diverged_fraction"]), _pct(m["mean"]), _pct(m["ci_low"]),
             _pct(m["ci_high"]), m["best"]] for m in marginals(result.spec, result.rows, axis)]
    return Table([axis, "runs", "done", "diverged %", "mean acc %", f"{ci}% CI low %", f"{ci}% CI high %",
                  "best setting with it"], rows, title=f"Marginal: {axis} (the other axes pooled)",
                 name=f"marginal-{axis}")


def sweep_sections(result: SweepResult, top: int = 5) -> list:
    from ..plots.heatmap import plot_heatmap
    from ..plots.training import plot_learning_curves
    from ..report import Section

    spec = result.spec
    ci = int(round(spec.confidence * 100))
    best = ranked(result.rows)
    n_runs = sum(r["runs"] for r in result.rows)
    lines = [f"{len(result.rows)} settings x {len(spec.seeds)} seeds = {n_runs} runs; fixed: "
             + (", ".join(f"`{k} = {_label(k, v)}`" for k, v in spec.fixed.items()) or "nothing")
             + " (the rest: the dataset's preset). Final test accuracy, mean over seeds with its "
             f"{ci}% t interval; diverged runs are counted, not averaged."]
    if best:
        b = best[0]
        interval = (f" ({ci}% CI {100 * b['ci_low']:.2f} to {100 * b['ci_high']:.2f}%)"
                    if math.isfinite(b["ci_low"]) else " (one seed: no interval)")
        lines.append(f"\nBest: **{b['setting']}**, {100 * b['mean']:.2f}%{interval} over {b['done']} seeds.")
    for key, what in (("failed", "failed"), ("pending", "not finished")):
        n = sum(r[key] for r in result.rows)
        if n:
            lines.append(f"\n{n} runs {what} (`actlab runs list --study {spec.name}`).")
    sections = [Section("Summary", "\n".join(lines), tables=[best_table(result, top), best_table(result)])]
    sections.append(Section("Marginals", "Each value of each axis, every run with it pooled over the other axes.",
                            tables=[marginal_table(result, a) for a in spec.axes]))
    figures = []
    for a, b in itertools.combinations(spec.axes, 2):
        la, lb, means, divs = pair_grid(spec, result.rows, a, b)
        texts = [[("-" if m is None else f"{100 * m:.1f}%") + ("" if not d else f"\ndiv {100 * d:.0f}%")
                  for m, d in zip(mr, dr)] for mr, dr in zip(means, divs)]
        figures.append((f"heatmap-{a}-{b}", plot_heatmap(
            [[None if m is None else 100 * m for m in row] for row in means], la, lb, texts=texts, ylabel=a, xlabel=b,
            colorbar="mean test accuracy %", title=f"{a} x {b}: mean test accuracy (div: diverged runs)")))
    if figures:
        sections.append(Section("Pairs of axes", "Mean final test accuracy for each pair of values, the other axes "
                                "pooled; 'div' is the fraction of those runs that diverged.", figures=figures))
    groups = {r["setting"]: r["histories"] for r in best[:top] if r["histories"]}
    if groups:
        curves = plot_learning_curves(groups, metrics=("val_accuracy", "loss"), confidence=spec.confidence,
                                      title=f"Learning curves of the top {len(groups)} settings (mean, {ci}% band)")
        sections.append(Section("Learning curves", "The best settings' test accuracy and training loss per epoch.",
                                figures=[("learning-curves", curves)]))
    sections.append(Section("Runs", f"Store: `{result.store_path}`; study `{spec.name}`. "
                            "`actlab runs show KEY` prints a run.", tables=[_runs_table(result)]))
    return sections


def _runs_table(result: SweepResult):
    from ..report import Table

    rows = []
    points, n = result.spec.points(), len(result.spec.seeds)
    for i, r in enumerate(result.records):  # in sweep_tasks' order: point-major
        if r is None:
            continue
        point = points[i // n]
        rows.append([*(_label(k, point[k]) for k in result.spec.axes), r["config"]["seed"], r["status"],
                     _pct(_final(r)), r["seconds"], r["key"][:12]])
    return Table([*result.spec.axes, "seed", "status", "test acc %", "seconds", "key"], rows, title="Every run",
                 name="runs")


def write_sweep_report(result: SweepResult, out_dir: str | Path | None = None) -> Path:
    from ..report import default_out_dir

    out = Path(out_dir) if out_dir is not None else default_out_dir(result.spec.name)
    return SWEEP.report(result, out, meta={"study": result.spec.name, "store": result.store_path})


# -- the command line ----------------------------------------------------------------------------
def _cli_options() -> list:
    import click

    return [
        click.argument("spec_path", metavar="SPEC.toml", type=click.Path(dir_okay=False)),
        data_dir_option(),
    ]


def _from_cli(*, spec_path, data_dir) -> dict:
    """The spec file read and validated (ValueError naming the file and the key) before anything runs."""
    spec = load_spec(spec_path)
    return {"name": spec.name, "fixed": spec.fixed, "grid": spec.grid, "seeds": spec.seeds,
            "confidence": spec.confidence, "data_dir": data_dir}


def _pct_text(x) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.2f}"


def _show(result: SweepResult, console, top: int = 10) -> None:
    import click
    from rich.table import Table

    spec = result.spec
    ci = int(round(spec.confidence * 100))
    t = Table(title=f"{spec.name}: the best settings, final test accuracy (%) over seeds "
                    f"{', '.join(map(str, spec.seeds))}")
    for col in ("rank", "setting", "mean", f"{ci}% CI", "ok/div/fail"):
        t.add_column(col, justify="left" if col == "setting" else "right")
    for i, r in enumerate(ranked(result.rows)[:top]):
        interval = f"{_pct_text(r['ci_low'])} to {_pct_text(r['ci_high'])}" if r["done"] > 1 else "-"
        t.add_row(str(i + 1), r["setting"], _pct_text(r["mean"]), interval, f"{r['done']}/{r['diverged']}/{r['failed']}")
    console.print(t)
    if len(result.rows) > top:
        click.echo(f"({len(result.rows) - top} more settings in the report)")


SWEEP = register_study(Study(
    kind="sweep", title=lambda result: f"Sweep {result.spec.name}",
    defaults=DEFAULTS, axes=("seeds",),
    grid=sweep_grid, summarize=sweep_result, sections=sweep_sections, resolve=sweep_params, name_of=sweep_name,
    cli=StudyCli(help="""Run the grid of settings x seeds that SPEC.toml defines (examples/sweep-depth-vs-activation.toml).

    [sweep] holds the fixed settings (dataset, epochs, seeds, any model/train setting) and
    [grid] the axes, whose cartesian product is run for every seed. Every run is validated
    before anything runs. The report ranks the settings (mean final test accuracy with its
    interval), tabulates each axis, draws a heatmap per pair of axes (with the diverged
    fraction) and the learning curves of the best settings. --executor ray runs it on Ray.
    """, options=_cli_options, from_cli=_from_cli, show=_show, omit=("engine", "name"))))

report_from_store = SWEEP.rebuild   # ``actlab report``: a sweep's report from the store alone
