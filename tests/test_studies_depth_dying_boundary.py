"""The depth, dying-ReLU and boundary studies and their CLI commands, on small settings.

Oracles: a plain NumPy forward pass written here (not the engine's) for dead units and test
accuracy; the diagnostics recomputed on a freshly built model of the same seed for the stored
gradient norms; the affinity of a linear network's logit over the plane (a straight boundary);
the physical facts the studies exist to show (the deep sigmoid net's gradient vanishes, ReLU
units die at a high learning rate, leaky ReLU units never do).
"""
import csv

import numpy as np
import pytest
from click.testing import CliRunner

from actlab import datasets
from actlab.engine import SGD, build_mlp
from actlab.store import Store
from actlab.studies import boundary, depth, diagnostics, dying
from actlab.studies.runner import build_model, load_data


@pytest.fixture()
def store(tmp_path):
    return Store(tmp_path / "runs.sqlite")


# -- depth --------------------------------------------------------------------------------------
def test_depth_study_measures_the_vanishing_gradient_and_reuses_runs(store):
    res = depth.depth_study(["sigmoid", "relu"], [2, 10], [0], store=store, epochs=1, width=32, probe=200)
    assert {(r.activation, r.depth, r.status) for r in res.runs} == {
        ("sigmoid", 2, "done"), ("sigmoid", 10, "done"), ("relu", 2, "done"), ("relu", 10, "done")}
    head = res.headline()
    assert head["sigmoid"] < 1e-2 < 0.1 < head["relu"]

    # the stored epoch-0 gradient norms are those of a fresh model with the same seed (weights
    # depend on the seed only), measured here directly on the same probe batch
    data = datasets.load("digits", seed=0)
    run = res.select("sigmoid", 10)[0]
    m = build_mlp(64, "32x10", "sigmoid", 10, seed=0)
    m.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.1))
    expected = diagnostics.hidden_gradient_norms(m, data.x_train[:200], data.y_train[:200])
    np.testing.assert_allclose(run.grad_norm[0], expected, rtol=1e-5)
    assert run.epochs == [0, 1] and len(run.saturated[1]) == 10

    # running it again computes nothing: every record is the stored one
    before = {r["key"]: r["updated"] for r in store.runs()}
    again = depth.depth_study(["sigmoid", "relu"], [2, 10], [0], store=store, epochs=1, width=32, probe=200)
    assert {r["key"]: r["updated"] for r in store.runs()} == before
    assert again.headline() == head
    # the study is defined in the store, so its report can be rebuilt from the store alone
    assert {s["kind"] for s in store.studies()} == {"depth"}


def test_depth_rejects_bad_settings(store):
    with pytest.raises(ValueError, match="depths"):
        depth.depth_tasks(["relu"], [0], [0])
    with pytest.raises(ValueError, match="unknown activation"):
        depth.depth_tasks(["relux"], [1], [0])
    with pytest.raises(ValueError, match="unknown option"):
        depth.depth_study(["relu"], [1], [0], store=store, widht=3)


# -- dying ----------------------------------------------------------------------------------------
def _dead_by_hand(weights, x, activation):
    """Fraction of hidden units whose output is exactly 0 for every row of x (a plain NumPy forward)."""
    h, dead, total = x.astype(np.float64), 0, 0
    for kernel, bias in zip(weights[0:-2:2], weights[1:-2:2]):
        z = h @ kernel + bias
        h = np.maximum(z, 0.0) if activation == "relu" else np.where(z > 0, z, 0.01 * z)
        dead += int(np.sum(np.all(h == 0.0, axis=0)))
        total += h.shape[1]
    return dead / total


def test_dying_relu_dies_at_a_high_learning_rate_leaky_relu_never(store):
    res = dying.dying_study(["relu", "leaky_relu"], [0.01, 1.0], [0], store=store, hidden="64x3", epochs=3,
                            probe=500)
    rows = {(r["activation"], r["lr"]): r for r in res.summary()}
    assert rows[("relu", 1.0)]["runs"] == 1, "the high-lr relu run should finish (not diverge) at these settings"
    assert rows[("relu", 1.0)]["dead"] > rows[("relu", 0.01)]["dead"] + 0.2
    assert rows[("leaky_relu", 0.01)]["dead"] == 0.0
    assert rows[("leaky_relu", 1.0)]["runs"] == 1 and rows[("leaky_relu", 1.0)]["dead"] == 0.0
    # leaky units go inactive (every output negative) as relu units die, but they are not dead
    assert rows[("leaky_relu", 1.0)]["inactive"] > 0.2
    # for relu, dead and inactive are the same units
    assert rows[("relu", 1.0)]["inactive"] == rows[("relu", 1.0)]["dead"]

    # the stored dead fractions are what a plain forward pass gives: at initialisation (the same
    # weights, built again from the stored configuration) for both rates, and after training
    # where training is smooth (lr 0.01: retraining the same seed gives the same weights up to
    # rounding). At lr 1.0 training is chaotic: a retrained copy may drift from the stored run by
    # float rounding alone (another thread count, another BLAS), so it is not compared there.
    for lr in (1.0, 0.01):
        run = [r for r in res.runs if r.activation == "relu" and r.lr == lr][0]
        assert run.epochs == [0, 1, 2, 3]
        rec = store.get(run.key)
        data = load_data(rec["config"]["data"])
        model = build_model(rec["config"], data)
        assert run.overall("dead")[0] == pytest.approx(_dead_by_hand(model.get_weights(), data.x_train[:500], "relu"))
        if lr == 0.01:
            y, _ = data.one_hot()
            model.fit(data.x_train, y, epochs=3, batch_size=32, verbose=0)   # same seed: the same training
            assert run.final("dead") == pytest.approx(_dead_by_hand(model.get_weights(), data.x_train[:500], "relu"))


# -- boundary -------------------------------------------------------------------------------------
def _accuracy_by_hand(weights, x, y, activation):
    h = x.astype(np.float64)
    for kernel, bias in zip(weights[0:-2:2], weights[1:-2:2]):
        z = h @ kernel + bias
        h = np.tanh(z) if activation == "tanh" else z
    logits = h @ weights[-2] + weights[-1]
    return float(np.mean(np.argmax(logits, axis=1) == y))


def test_boundary_linear_is_a_straight_line_near_chance_tanh_bends(store):
    res = boundary.boundary_study(["circle"], ["linear", "tanh"], [0], store=store, hidden="8", epochs=60)
    lin, tanh = res.get("circle", "linear"), res.get("circle", "tanh")
    assert lin.status == tanh.status == "done"
    data = lin.data()
    for run in (lin, tanh):
        w = [np.asarray(a) for a in run.weights]
        assert run.accuracy == pytest.approx(_accuracy_by_hand(w, data.x_test, data.y_test, run.activation))
    assert lin.accuracy < 0.7
    assert tanh.accuracy > 0.9

    panels = res.panels(resolution=25)
    for act, straight in (("linear", True), ("tanh", False)):
        p = np.clip(panels[("circle", act)]["p"], 1e-12, 1 - 1e-12)
        logit = np.log(p) - np.log1p(-p)
        xs, ys = panels[("circle", act)]["xs"], panels[("circle", act)]["ys"]
        gx, gy = np.meshgrid(xs, ys)
        design = np.column_stack([gx.ravel(), gy.ravel(), np.ones(gx.size)])
        coef, *_ = np.linalg.lstsq(design, logit.ravel(), rcond=None)
        resid = np.abs(design @ coef - logit.ravel()).max()
        if straight:    # a linear network's logit is affine in (x1, x2): its boundary is a line
            assert resid < 1e-3
        else:
            assert resid > 0.5


def test_boundary_grid_figure_has_rows_times_cols_axes():
    from actlab.plots.diagnostics import boundary_grid_figure

    d = datasets.load("xor", n_samples=40, seed=0)
    xs = ys = np.linspace(-5, 5, 10)
    panel = {"xs": xs, "ys": ys, "p": np.tile(np.linspace(0, 1, 10), (10, 1)), "x": d.x_test, "y": d.y_test,
             "accuracy": 0.5, "status": "done"}
    acts = ["linear", "tanh", "relu"]
    fig = boundary_grid_figure({(ds, a): panel for ds in ("circle", "xor") for a in acts}, ["circle", "xor"], acts)
    grid = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(grid) == 2 * 3
    assert [ax.get_title() for ax in grid[:3]] == acts
    assert any(t.get_text() == "test 0.50" for t in grid[0].texts)


# -- CLI ------------------------------------------------------------------------------------------
def _check_report(out):
    html = (out / "index.html").read_text()
    assert "data:image/png;base64," in html
    pngs = sorted((out / "figures").glob("*.png"))
    assert pngs and all(p.with_suffix(".svg").exists() for p in pngs)
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    csvs = sorted((out / "tables").glob("*.csv"))
    assert csvs
    for path in csvs:
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
        assert len(rows) >= 2 and all(len(r) == len(rows[0]) for r in rows)
    assert (out / "report.md").exists()
    return html


@pytest.mark.parametrize("args", [
    ["depth", "--activations", "sigmoid,relu", "--depths", "1,3", "--seeds", "1", "--epochs", "1",
     "--width", "8", "--probe", "50"],
    ["dying", "--activations", "relu,leaky_relu", "--lrs", "0.1,1", "--seeds", "1", "--epochs", "1",
     "--hidden", "8x2", "--probe", "50"],
    ["boundary", "--datasets", "circle,xor", "--activations", "linear,tanh", "--epochs", "2", "--samples", "60",
     "--resolution", "20"],
])
def test_cli_commands_write_their_reports(tmp_path, args):
    from actlab.cli import main

    out = tmp_path / "report"
    result = CliRunner().invoke(main, args + ["--store", str(tmp_path / "s.sqlite"), "--out", str(out),
                                              "--workers", "1", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "report:" in result.output
    _check_report(out)
    # `actlab report` rebuilds the same study from the store alone
    rebuilt = tmp_path / "rebuilt"
    name = Store(tmp_path / "s.sqlite").studies()[0]["name"]
    result = CliRunner().invoke(main, ["report", "--study", name, "--store", str(tmp_path / "s.sqlite"),
                                       "-o", str(rebuilt)])
    assert result.exit_code == 0, result.output
    _check_report(rebuilt)


def test_cli_bad_input_is_one_clear_error(tmp_path):
    from actlab.cli import main

    result = CliRunner().invoke(main, ["dying", "--lrs", "0.1,-1", "--store", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 2 and "--lrs" in result.output
    result = CliRunner().invoke(main, ["boundary", "--datasets", "digits", "--store", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 2 and "toy set" in result.output
