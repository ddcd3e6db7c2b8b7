"""``actlab phase``: the grid of runs, the MeanField initializer, the steps budget, the curve, the CLI."""
import math

import numpy as np
import pytest
from click.testing import CliRunner

from actlab import theory
from actlab.cli import main
from actlab.engine import initializers
from actlab.engine.layers import Dense
from actlab.plots.phase import curve_in_cells
from actlab.store import Store
from actlab.studies.phase import PhaseSpec, phase_tasks, predicted_depths
from actlab.studies.runner import (
    build_model,
    load_data,
    make_config,
    steps_plan,
    train_run,
)


def _spec(**kw):
    base = {"dataset": "digits", "activation": "tanh", "sigma_b2": 0.05, "sigma_w2": [1.0, 2.0], "depths": [1, 2],
            "width": 8, "steps": 5, "batch_size": 64, "lr": 0.01, "seeds": [0], "n_samples": 200}
    return PhaseSpec(**{**base, **kw})


# -- the grid ------------------------------------------------------------------------------------
def test_the_grid_is_depth_major_with_every_setting_in_the_config():
    spec = _spec(seeds=[0, 1])
    tasks = phase_tasks(spec)
    assert len(tasks) == 2 * 2 * 2
    got = [(t.config["model"]["hidden"], t.config["model"]["init"]["sigma_w2"], t.config["seed"]) for t in tasks]
    assert got == [("8x1", 1.0, 0), ("8x1", 1.0, 1), ("8x1", 2.0, 0), ("8x1", 2.0, 1),
                   ("8x2", 1.0, 0), ("8x2", 1.0, 1), ("8x2", 2.0, 0), ("8x2", 2.0, 1)]
    cfg = tasks[0].config
    assert cfg["model"]["init"] == {"name": "mean_field", "sigma_w2": 1.0, "sigma_b2": 0.05}
    assert cfg["train"]["steps"] == 5 and cfg["train"]["epochs"] is None
    assert cfg["train"]["optimizer"]["name"] == "sgd" and cfg["train"]["optimizer"]["learning_rate"] == 0.01
    assert cfg["model"]["activation"] == {"name": "tanh"}
    # keys are stable: the same spec again gives the same keys and name; another grid another name
    assert [Store.key(t.config) for t in phase_tasks(_spec(seeds=[0, 1]))] == [Store.key(t.config) for t in tasks]
    assert _spec().name == _spec().name != _spec(steps=6).name
    assert len({Store.key(t.config) for t in tasks}) == len(tasks)


def test_the_run_keys_and_names_are_those_stored_before_phase_was_a_declared_study():
    """Frozen from the commit before (b5e2d8f): stored runs and studies are found again."""
    from actlab.studies.phase import PHASE

    spec = PhaseSpec(dataset="digits", activation="leaky_relu(alpha=0.2)", sigma_w2=[2.0, 1.0], depths=[2, 1], width=8,
                     steps=5, batch_size=64, seeds=[0, 1], n_samples=200)
    frozen = ["5e091d4d53c37c7c", "5a9aba7b704be091", "f1b6fd2b4f289a69", "8b0de22c610560ed", "3b1ab86c9abc6308",
              "c69595d643f333cd", "6615f23b5292838b", "566afc5180b16ef0"]
    assert [Store.key(t.config)[:16] for t in phase_tasks(spec)] == frozen
    assert spec.name == "phase-digits-leaky_relu-927c4954"
    params = PHASE.params(activation="leaky_relu(alpha=0.2)", sigma_w2=[2.0, 1.0], depths=[2, 1], width=8, steps=5,
                          batch_size=64, seeds=[0, 1], n_samples=200)
    assert [Store.key(t.config)[:16] for t in PHASE.tasks(params, "any")] == frozen
    assert PHASE.name_of(params) == spec.name
    assert PhaseSpec.for_dataset("mnist").name == "phase-mnist-tanh-72d16267"   # docs/results/phase-mnist


def test_a_config_without_steps_is_unchanged():
    cfg = make_config(study="x", epochs=3)
    assert "steps" not in cfg["train"] and cfg["train"]["epochs"] == 3


@pytest.mark.parametrize("kw, message", [
    ({"sigma_w2": [1.0, -1.0]}, "sigma_w2 must be positive"),
    ({"depths": [0, 2]}, "depths must be integers >= 1"),
    ({"sigma_b2": -0.1}, "sigma_b2 must be a finite number >= 0"),
    ({"activation": "relu,tanh"}, "one activation per phase diagram"),
    ({"steps": 0}, "steps must be a positive integer"),
])
def test_a_bad_spec_is_a_value_error_naming_the_value(kw, message):
    with pytest.raises(ValueError, match=message):
        _spec(**kw)


# -- the initializer -----------------------------------------------------------------------------
def test_mean_field_draws_weights_of_variance_sigma_w2_over_fan_in_and_biases_of_sigma_b2():
    rng = np.random.default_rng(0)
    init = initializers.get({"name": "mean_field", "sigma_w2": 2.5, "sigma_b2": 0.05})
    w = init((400, 300), rng, np.float64)
    # 120,000 normal draws: the sample variance's relative standard error is sqrt(2/N) = 0.4%
    assert abs(w.var() / (2.5 / 400) - 1) < 0.02 and abs(w.mean()) < 4 * math.sqrt(2.5 / 400 / w.size)
    layer = Dense(40000, kernel_initializer=init)
    layer.build(3, np.random.default_rng(1), np.float64)
    b = layer.params["bias"]
    assert abs(b.var() / 0.05 - 1) < 0.04                         # 40,000 draws: 0.7% standard error
    assert initializers.get(init.config()) == init
    zero_bias = Dense(10, kernel_initializer={"name": "mean_field", "sigma_w2": 1.0})
    zero_bias.build(3, np.random.default_rng(1), np.float64)
    assert not zero_bias.params["bias"].any()


def test_the_critical_initializer_is_mean_field_at_the_edge():
    crit = initializers.Critical("tanh", 0.05)
    a = crit((50, 60), np.random.default_rng(3), np.float64)
    b = initializers.MeanField(crit.sigma_w2, 0.05)((50, 60), np.random.default_rng(3), np.float64)
    assert np.array_equal(a, b)


def test_a_phase_config_builds_every_layer_with_its_variance():
    spec = _spec(sigma_w2=[3.0], depths=[3], width=300, n_samples=100)
    cfg = phase_tasks(spec)[0].config
    model = build_model(cfg, load_data(cfg["data"]))
    kernels = [layer.params["kernel"] for layer in model.layers if "kernel" in getattr(layer, "params", {})]
    assert len(kernels) == 4                                      # 3 hidden + the output layer
    for k in kernels[1:3]:                                        # 300 x 300: 0.5% standard error
        assert abs(k.astype(np.float64).var() / (3.0 / k.shape[0]) - 1) < 0.03


@pytest.mark.parametrize("bad", [{"sigma_w2": -1.0}, {"sigma_w2": 1.0, "gain": 2}, {"sigma_b2": 0.1}])
def test_a_bad_mean_field_config_names_the_problem(bad):
    with pytest.raises(ValueError, match="mean_field initializer"):
        initializers.get({"name": "mean_field", **bad})


# -- the steps budget ----------------------------------------------------------------------------
def test_steps_plan_worked_example():
    # 80 training samples, batches of 32: 3 steps an epoch (32 + 32 + 16)
    assert steps_plan(7, 80, 32) == (3, 1)     # 3 + 3 + 1
    assert steps_plan(6, 80, 32) == (2, 3)     # exactly two epochs
    assert steps_plan(1, 80, 32) == (1, 1)
    assert steps_plan(100, 1437, 32) == (3, 10)
    with pytest.raises(ValueError):
        steps_plan(0, 80, 32)


@pytest.mark.parametrize("steps, epochs, taken", [(7, 3, [3, 6, 7]), (6, 2, [3, 6])])
def test_the_run_takes_exactly_the_budgeted_steps(monkeypatch, steps, epochs, taken):
    from actlab.engine.model import Sequential

    calls = []
    original = Sequential.train_step

    def counting(self, xb, yb):
        calls.append(len(xb))
        return original(self, xb, yb)

    monkeypatch.setattr(Sequential, "train_step", counting)
    # digits, 100 samples, 20% test: 80 training samples, batches of 32 -> 3 steps an epoch
    cfg = make_config(study="t", dataset="digits", n_samples=100, test_fraction=0.2, hidden="4", activation="tanh",
                      optimizer="sgd", learning_rate=0.01, batch_size=32, steps=steps)
    out = train_run(cfg)
    assert out["diagnostics"]["info"]["n_train"] == 80
    assert len(calls) == steps
    assert calls == ([32, 32, 16] * 3)[:steps]
    assert out["history"]["epoch"] == list(range(1, epochs + 1)) and out["history"]["steps"] == taken
    assert len(out["history"]["val_accuracy"]) == epochs
    # the cut epoch's test accuracy is that of the model after the last step
    assert all(0 <= v <= 1 for v in out["history"]["val_accuracy"])


def test_a_steps_budget_needs_the_numpy_engine():
    with pytest.raises(ValueError, match="steps budget needs the numpy engine"):
        make_config(study="t", engine="torch", steps=5)
    with pytest.raises(ValueError, match="steps must be a positive integer, got 0"):
        make_config(study="t", steps=0)


# -- the curve -----------------------------------------------------------------------------------
def test_the_curve_is_six_xi_c_of_the_theory():
    spec = _spec(sigma_b2=0.05)
    got = predicted_depths(spec, [1.0, 3.0])
    for s, v in zip([1.0, 3.0], got):
        assert v == 6 * theory.point("tanh", s, 0.05).xi_c
    assert math.isclose(got[0], 6 * theory.depth_scales("tanh", 1.0, 0.05)[1], rel_tol=1e-12)


def test_the_curve_in_cell_coordinates_is_clipped_to_the_plot():
    xs, ys = curve_in_cells([1.0, 2.0, 3.0], [10, 20, 30], [0.5, 1.5, 2.0, 2.5, 3.0], [5.0, 15.0, math.inf, 40.0, 25.0])
    assert xs.tolist() == [0.5, 1.0, 1.5, 2.0]        # 0.5 is left of the grid: dropped
    assert ys.tolist() == [0.5, 2.5, 2.5, 1.5]        # inf and 40 clipped to the top edge of the plot


# -- the CLI and the report ----------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["--sigma-w2", "1,x"], ("--sigma-w2 must be comma-separated numbers or 'first,second,...,last' "
                             "(increasing), got '1,x'")),
    (["--sigma-w2", "1,0.5,...,4"], "got '1,0.5,...,4'"),
    (["--depths", "0,2"], "--depths must be positive integers, got '0,2'"),
    (["--depths", "2.5"], "--depths must be comma-separated integers"),
    (["--sigma-b2", "-1"], "--sigma-b2 must be a finite number >= 0, got -1.0"),
    (["--lr", "0"], "--lr must be a positive number, got 0.0"),
    (["--activation", "nope"], "nope"),
])
def test_the_cli_refuses_bad_input_naming_the_value(tmp_path, args, message):
    store = tmp_path / "s.sqlite"
    result = CliRunner().invoke(main, ["phase", "--store", str(store), "--no-progress", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not store.exists()


def test_the_cli_expands_first_second_dots_last():
    from actlab.studies.phase import parse_grid

    assert parse_grid("1,1.25,...,2", "x") == [1.0, 1.25, 1.5, 1.75, 2.0]
    assert parse_grid("10,20,...,50", "x", True) == [10, 20, 30, 40, 50]


def test_a_tiny_phase_diagram_on_digits_writes_its_report_and_rebuilds(tmp_path):
    store, out, again = tmp_path / "s.sqlite", tmp_path / "rep", tmp_path / "again"
    args = ["phase", "--dataset", "digits", "--sigma-w2", "1,2", "--depths", "1,2", "--width", "8", "--steps", "5",
            "--batch-size", "64", "--samples", "200", "--workers", "1", "--store", str(store), "--out", str(out),
            "--no-progress", "--name", "tiny"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "inside the predicted region" in result.output
    for f in ("figures/phase.png", "figures/phase.svg", "tables/accuracy.csv", "tables/prediction.csv",
              "tables/runs.csv", "index.html", "report.md"):
        assert (out / f).exists(), f
    text = (out / "report.md").read_text()
    assert "Inside the predicted trainable region" in text
    runs = Store(store).runs(study="tiny")
    assert len(runs) == 4 and all(r["status"] in ("done", "diverged") for r in runs)
    rebuilt = CliRunner().invoke(main, ["report", "--study", "tiny", "--store", str(store), "-o", str(again)])
    assert rebuilt.exit_code == 0, rebuilt.output
    for f in ("accuracy.csv", "prediction.csv"):
        assert (again / "tables" / f).read_text() == (out / "tables" / f).read_text()
    # a study stored before phase was a declared study (its parameters as PhaseSpec's fields, name
    # included, no engine) rebuilds from the same runs
    old = {"dataset": "digits", "activation": {"name": "tanh"}, "sigma_b2": 0.05, "sigma_w2": [1.0, 2.0],
           "depths": [1, 2], "width": 8, "steps": 5, "batch_size": 64, "lr": 0.01, "seeds": [0], "n_samples": 200,
           "name": "phase-old"}
    Store(store).define_study("phase-old", "phase", old)
    rebuilt = CliRunner().invoke(main, ["report", "--study", "phase-old", "--store", str(store), "-o",
                                        str(tmp_path / "old")])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "# Phase diagram phase-old" in (tmp_path / "old" / "report.md").read_text()
    for f in ("accuracy.csv", "prediction.csv"):
        assert (tmp_path / "old" / "tables" / f).read_text() == (out / "tables" / f).read_text()


def test_phase_is_a_declared_study_without_an_engine_option():
    from actlab.studies.phase import PHASE
    from actlab.studies.shape import STUDIES

    assert STUDIES["phase"] is PHASE and PHASE.cli.omit == ("engine",)
    help_text = CliRunner().invoke(main, ["phase", "--help"]).output
    assert "--name" in help_text and "--sigma-w2" in help_text and "--engine" not in help_text
