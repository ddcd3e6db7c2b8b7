"""actlab sweep: the spec is validated before anything runs; the summary is the runs' numbers."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from actlab.store import Store
from actlab.studies.compare import CompareSpec, compare_tasks
from actlab.studies.sweep import SweepSpec, load_spec, marginals, pair_grid, run_sweep, sweep_tasks

BASE = {"sweep": {"dataset": "digits", "epochs": 2, "seeds": 2, "batch_size": 100, "hidden": "8"},
        "grid": {"activation": ["relu", "tanh"], "lr": [0.05, 0.5]}}


def _doc(**changes):
    doc = {"sweep": dict(BASE["sweep"]), "grid": dict(BASE["grid"])}
    for where, value in changes.items():
        table, _, key = where.partition("__")
        if value is None:
            doc[table].pop(key, None)
        else:
            doc[table][key] = value
    return doc


@pytest.mark.parametrize("changes, message", [
    ({"sweep__epoch": 3}, r"unknown key \[sweep\] epoch; valid: name, seeds"),
    ({"grid__colour": ["red"]}, r"unknown key \[grid\] colour; valid grid axes: dataset"),
    ({"grid__lr": []}, r"\[grid\] lr is an empty list"),
    ({"grid__lr": [0.1, -1.0]}, r"\[grid\] lr\[1\] = -1.0: the learning rate must be a positive number"),
    ({"grid__activation": ["relu", "nope"]}, r"\[grid\] activation\[1\] = 'nope': .*nope"),
    ({"sweep__epochs": 2.5}, r"\[sweep\] epochs = 2.5: must be a non-negative integer"),
    ({"sweep__seeds": []}, r"\[sweep\] seeds is an empty list"),
    ({"sweep__lr": 0.1}, r"lr is both fixed in \[sweep\] and an axis of \[grid\]"),
    ({"grid__learning_rate": [0.1]}, r"lr and learning_rate are the same setting"),
    ({"sweep__hidden": None, "grid__hidden": ["8", "8xq"]}, r"\[grid\] hidden\[1\] = '8xq': "),
    ({"sweep__engine": "jax"}, r"the setting activation=relu, lr=0.05 would fail: unknown engine 'jax'"),
    ({"grid__activation": None, "grid__lr": None}, r"\[grid\] is empty"),
])
def test_a_bad_spec_is_refused_naming_the_key(changes, message):
    with pytest.raises(ValueError, match=message):
        sweep_tasks(SweepSpec.from_dict(_doc(**changes)))


def test_the_cli_refuses_a_bad_spec_in_one_line_before_running(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('[sweep]\nepochs = 2\n[grid]\nactivation = ["relu"]\nlr = [0.1, 0]\n')
    store = tmp_path / "r.sqlite"
    proc = subprocess.run([sys.executable, "-c", "from actlab.cli import main; main()", "sweep", str(spec),
                           "--store", str(store), "--no-progress"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"actlab: error: {spec}: [grid] lr[1] = 0: the learning rate must be a positive number"]
    assert not store.exists()  # nothing ran, nothing was created
    spec.write_text("[sweep\n")
    proc = subprocess.run([sys.executable, "-c", "from actlab.cli import main; main()", "sweep", str(spec)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "not a valid TOML file" in proc.stderr and "Traceback" not in proc.stderr


def test_a_sweep_over_activations_is_a_compare_by_another_name(tmp_path):
    """Same settings, same seeds: the same run keys as compare (a store shares them)."""
    spec = SweepSpec.from_dict({"sweep": {"dataset": "digits", "seeds": 2}, "grid": {"activation": ["relu", "tanh"]}})
    cmp = CompareSpec(activations="relu,tanh", seeds=2, dataset="digits").resolved()
    keys = {Store.key(t.config) for t in sweep_tasks(spec)}
    assert keys == {Store.key(t.config) for t in compare_tasks(cmp)}


def test_the_summary_is_the_runs_numbers(tmp_path):
    spec = SweepSpec.from_dict(_doc())
    store = Store(tmp_path / "r.sqlite")
    result = run_sweep(spec, store=store, workers=1, progress=False)
    assert len(result.records) == 8 and len(result.rows) == 4
    assert [r["setting"] for r in result.rows] == ["activation=relu, lr=0.05", "activation=relu, lr=0.5",
                                                    "activation=tanh, lr=0.05", "activation=tanh, lr=0.5"]
    finals = {}
    for rec in store.runs(study=spec.name):
        cfg = rec["config"]
        point = (cfg["model"]["activation"]["name"], cfg["train"]["optimizer"]["learning_rate"])
        assert cfg["train"]["epochs"] == 2 and cfg["model"]["hidden"] == "8" and cfg["data"]["seed"] == cfg["seed"]
        finals.setdefault(point, []).append(rec["history"]["val_accuracy"][-1] if rec["status"] == "done" else None)
    for row in result.rows:
        act, lr = row["point"]["activation"]["name"], row["point"]["lr"]
        done = [v for v in finals[(act, lr)] if v is not None]
        assert row["done"] == len(done)
        assert math.isclose(row["mean"], float(np.mean(done)), rel_tol=1e-12)
    m = {x["value"]: x for x in marginals(spec, result.rows, "lr")}
    pooled = [v for (a, lr), vs in finals.items() if lr == 0.05 for v in vs if v is not None]
    assert math.isclose(m["0.05"]["mean"], float(np.mean(pooled)), rel_tol=1e-12) and m["0.05"]["runs"] == 4
    la, lb, means, divs = pair_grid(spec, result.rows, "activation", "lr")
    assert (la, lb) == (["relu", "tanh"], ["0.05", "0.5"])
    assert math.isclose(means[1][0], float(np.mean(finals[("tanh", 0.05)])), rel_tol=1e-12)
    assert divs == [[0.0, 0.0], [0.0, 0.0]]
    again = run_sweep(spec, store=store, workers=1, progress=False)  # all reused
    assert [r["updated"] for r in again.records] == [r["updated"] for r in result.records]


def test_the_cli_runs_the_example_shape_and_writes_the_report(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('[sweep]\nname = "t"\nepochs = 1\nseeds = 1\nhidden = "8"\nbatch_size = 200\n'
                    '[grid]\nactivation = ["relu", "leaky_relu(alpha=0.2)"]\nhidden_lr = 1\n'.replace(
                        "hidden_lr = 1\n", 'lr = [0.05, 0.1]\ndropout = [0.0]\n'))
    out = tmp_path / "report"
    cmd = [sys.executable, "-c", "from actlab.cli import main; main()"]
    proc = subprocess.run(cmd + ["sweep", str(spec), "--store", str(tmp_path / "r.sqlite"), "--out", str(out),
                                 "--no-progress", "--workers", "2"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "activation=leaky_relu(alpha=0.2)" in proc.stdout
    for name in ("heatmap-activation-lr", "heatmap-activation-dropout", "heatmap-lr-dropout", "learning-curves"):
        assert (out / "figures" / f"{name}.png").exists() and (out / "figures" / f"{name}.svg").exists()
    for name in ("best", "ranking", "marginal-activation", "marginal-lr", "marginal-dropout", "runs"):
        assert (out / "tables" / f"{name}.csv").exists()
    rebuilt = subprocess.run(cmd + ["report", "--study", "t", "--store", str(tmp_path / "r.sqlite"), "-o",
                                    str(tmp_path / "again")], capture_output=True, text=True, timeout=300)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert (tmp_path / "again" / "tables" / "ranking.csv").read_text() == (out / "tables" / "ranking.csv").read_text()


def test_the_example_spec_is_valid():
    from pathlib import Path

    spec = load_spec(Path(__file__).parent.parent / "examples" / "sweep-depth-vs-activation.toml")
    assert spec.axes == ["activation", "hidden", "lr"] and spec.seeds == [0, 1, 2]
    assert len(sweep_tasks(spec)) == 5 * 2 * 2 * 3


def test_the_run_keys_and_name_are_those_stored_before_sweep_was_a_declared_study():
    """Frozen from the commit before (b5e2d8f): stored runs and studies are found again."""
    from actlab.studies.sweep import SWEEP

    spec = SweepSpec.from_dict({"sweep": {"epochs": 2, "seeds": 2, "hidden": "8"},
                                "grid": {"activation": ["relu", "tanh"], "lr": [0.1, 0.2]}})
    frozen = ["f390e66e0eb18f07", "7da920316f91f4b4", "7d2012dc1ef39046", "869cd85b2529510b", "4a01d82abf73df05",
              "c128b5ae0019a0fe", "b9eca5f837552515", "4cb984eb898dd337"]
    assert [Store.key(t.config)[:16] for t in sweep_tasks(spec)] == frozen
    assert spec.name == "sweep-digits-98e246c0"
    params = SWEEP.params(fixed=spec.fixed, grid=spec.grid, seeds=spec.seeds)
    assert [Store.key(t.config)[:16] for t in SWEEP.tasks(params, "any")] == frozen
    assert SWEEP.name_of(params) == spec.name
    with pytest.raises(ValueError, match=r"a sweep's engine is one of its settings: give it in fixed"):
        SWEEP.params(fixed=spec.fixed, grid=spec.grid, engine="torch")


def test_a_sweep_stored_before_it_was_a_declared_study_rebuilds(tmp_path):
    """The parameters as run_sweep stored them (name included) rebuild the same report tables."""
    from click.testing import CliRunner

    from actlab.cli import main

    doc = {"sweep": {"dataset": "digits", "epochs": 1, "seeds": 1, "batch_size": 200, "hidden": "8",
                     "samples": 300}, "grid": {"lr": [0.05, 0.1]}}
    spec = SweepSpec.from_dict(doc)
    store = Store(tmp_path / "r.sqlite")
    result = run_sweep(spec, store=store, workers=1, progress=False)
    assert result.settings["name"] == spec.name and result.reuse == (0, 2)
    store.define_study("sweep-old", "sweep", {"fixed": spec.fixed, "grid": spec.grid, "seeds": spec.seeds,
                                              "name": "sweep-old", "confidence": 0.95})
    for study, out in ((spec.name, tmp_path / "new"), ("sweep-old", tmp_path / "old")):
        rebuilt = CliRunner().invoke(main, ["report", "--study", study, "--store", str(store.path), "-o", str(out)])
        assert rebuilt.exit_code == 0, rebuilt.output
    assert "# Sweep sweep-old" in (tmp_path / "old" / "report.md").read_text()
    for name in ("ranking", "marginal-lr"):
        assert (tmp_path / "old" / "tables" / f"{name}.csv").read_text() == \
            (tmp_path / "new" / "tables" / f"{name}.csv").read_text()


def test_sweep_is_a_declared_study_with_the_spec_argument():
    from click.testing import CliRunner

    from actlab.cli import main
    from actlab.studies.shape import STUDIES
    from actlab.studies.sweep import SWEEP

    assert STUDIES["sweep"] is SWEEP and set(SWEEP.cli.omit) == {"engine", "name"}
    help_text = CliRunner().invoke(main, ["sweep", "--help"]).output
    assert "sweep [OPTIONS] SPEC.toml" in help_text
    assert "--executor" in help_text and "--engine" not in help_text and "--name" not in help_text
