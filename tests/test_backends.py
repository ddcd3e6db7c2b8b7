"""The backend seam: one registry, one protocol, one layer plan, one batch order."""
from __future__ import annotations

import numpy as np
import pytest

from actlab import backends, plan
from actlab.backends import Run, RunRecord, get_backend, register_backend
from actlab.engine import build_mlp, layers as L
from actlab.engine.batching import epoch_order
from actlab.store import Store
from actlab.studies.runner import Task, make_config, run_tasks, train_run


class RecordingBackend:
    """A throwaway third backend: one class and one registry line. It delegates to the NumPy
    engine and records what the runner handed it."""

    name = "recording"
    trains_together = False

    def __init__(self):
        self.calls: list[list[dict]] = []
        self.inner = get_backend("numpy")

    def build(self, config, data):
        return self.inner.build(config, data)

    def fit(self, model, x, y, **kw):
        self.calls.append(["fit"])
        return self.inner.fit(model, x, y, **kw)

    def train(self, runs, on_epoch=None):
        self.calls.append([run.config for run in runs])
        return self.inner.train(runs, on_epoch=on_epoch)


@pytest.fixture
def recording(monkeypatch):
    monkeypatch.setattr(backends, "_REGISTRY", dict(backends._REGISTRY))
    backend = RecordingBackend()
    register_backend("recording", backend)           # the one registry line
    return backend


def test_a_new_backend_is_one_class_and_one_registry_line(recording, tmp_path):
    cfg = make_config(study="t", activation="tanh", hidden="8", epochs=2, batch_size=64, engine="recording")
    store = Store(tmp_path / "s.sqlite")
    rec = run_tasks([Task(cfg, "t")], train_run, store, workers=1, progress=False)[0]
    assert len(recording.calls) == 1 and recording.calls[0][0]["engine"] == "recording"
    assert rec["status"] == "done" and rec["history"]["epoch"] == [1, 2]
    # the same numbers as the NumPy engine (it delegated), under its own key
    ref = train_run({**cfg, "engine": "numpy"})
    assert rec["history"]["loss"] == ref["history"]["loss"]
    assert Store.key(cfg) != Store.key({**cfg, "engine": "numpy"})


def test_actlab_train_takes_a_registered_backend(recording):
    import json

    from click.testing import CliRunner

    from actlab.cli import main

    args = ["train", "--dataset", "circle", "--hidden", "4", "--epochs", "2", "--seed", "1", "--json"]
    out = CliRunner().invoke(main, args + ["--engine", "recording"])
    assert out.exit_code == 0, out.output
    assert recording.calls == [["fit"]]
    ref = CliRunner().invoke(main, args)
    assert json.loads(out.output)["history"] == json.loads(ref.output)["history"]
    bad = CliRunner().invoke(main, args + ["--engine", "jaxx"])
    assert bad.exit_code == 2 and "recording" in bad.output and "numpy" in bad.output


def test_an_unknown_backend_names_the_valid_ones():
    with pytest.raises(ValueError, match="unknown engine 'jaxx'; valid: numpy, torch"):
        get_backend("jaxx")
    with pytest.raises(ValueError, match="not a backend"):
        register_backend("x", object())


def test_a_missing_module_is_an_error_not_skipped(monkeypatch):
    monkeypatch.setattr(backends, "_REGISTRY", {**backends._REGISTRY, "ghost": "actlab.no_such_backend:BACKEND"})
    with pytest.raises(ValueError, match="'ghost' engine is not available here"):
        get_backend("ghost")


def test_importing_the_torch_backend_does_not_import_torch():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", "import sys; from actlab.backends import get_backend; "
                          "b = get_backend('torch'); print(b.trains_together, 'torch' in sys.modules)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_run_record_assembles_the_result_schema():
    from actlab.datasets import load

    data = load("circle", seed=0)
    calls = []
    run = Run({}, data, [("probe", lambda m, d, e, scale: calls.append(e) or {"v": scale * e}, {"scale": 2})])
    rec = RunRecord(run)
    model = build_mlp(data.x_train.shape[1], "4", "relu", data.num_classes)
    rec.diagnose(model, 0)
    row = rec.epoch(1, {"loss": 0.5, "accuracy": 0.75}, 0.1)
    rec.diagnose(model, 1)
    rec.diverged(2, 3, float("nan"))
    out = rec.result(model, 1.5, engine={"name": "x"})
    assert row["epoch"] == 1 and row["loss"] == 0.5 and np.isnan(row["val_loss"])
    assert out["status"] == "diverged" and out["diverged_epoch"] == 2 and out["seconds"] == 1.5
    assert out["diagnostics"]["probe"] == [{"epoch": 0, "v": 0}, {"epoch": 1, "v": 2}]
    assert out["diagnostics"]["divergence"] == {"epoch": 2, "batch": 3, "loss": "nan"}
    assert out["diagnostics"]["info"]["params"] == model.count_params()
    assert list(out["diagnostics"]) == ["probe", "divergence", "info", "engine"]


@pytest.mark.parametrize("act, kinds, widths", [
    ("relu", [L.Dense, L.Dense], [5, 3]),
    ({"name": "prelu", "alpha": 0.3}, [L.Dense, L.PReLU, L.Dense], [5, 5, 3]),
    ("rrelu", [L.Dense, L.RReLU, L.Dense], [5, 5, 3]),
    ({"name": "maxout", "k": 3}, [L.Dense, L.Maxout, L.Dense], [15, 5, 3]),
])
def test_the_layer_plan_is_what_the_numpy_engine_builds(act, kinds, widths):
    (block,) = plan.layer_plan("5", act)
    assert block.units == 5 and block.width == widths[0]
    model = build_mlp(4, "5", act, 3, seed=0)
    assert [type(layer) for layer in model.layers] == kinds
    assert [layer.output_dim for layer in model.layers] == widths
    if block.layer == "prelu":
        np.testing.assert_array_equal(model.layers[1].params["alpha"], np.float32(0.3))


def test_structure_groups_ensembles():
    assert [plan.structure(a) for a in ("tanh", "prelu", "rrelu", {"name": "maxout", "k": 4})] == \
        ["plain", "prelu", "rrelu", "maxout4"]
    with pytest.raises(ValueError, match="not an elementwise activation"):
        plan.layer_plan("4", "softmax")


def test_epoch_order_is_the_documented_draw():
    np.testing.assert_array_equal(epoch_order(7, 3, 10), np.random.default_rng([7, 1_000_003]).permutation(10))


def test_fit_visits_the_batches_of_epoch_order():
    """One epoch of fit with a batch as large as the data set equals train_on_batch on the
    rows in epoch_order (the order matters only through the batch split, so use two batches)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3))
    y = np.eye(2)[rng.integers(0, 2, 6)]
    a = build_mlp(3, "4", "tanh", 2, seed=5, dtype="float64")
    b = build_mlp(3, "4", "tanh", 2, seed=5, dtype="float64")
    for m in (a, b):
        m.compile(optimizer="sgd", loss="categorical_crossentropy")
    a.fit(x, y, epochs=1, batch_size=4, verbose=0)
    order = epoch_order(5, 0, 6)
    b.train_on_batch(x[order[:4]], y[order[:4]])
    b.train_on_batch(x[order[4:]], y[order[4:]])
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-12, atol=1e-14)


def test_the_playground_steps_through_epoch_order_and_the_public_step():
    """Session.step(k) equals train_on_batch on the batches of epoch_order, across an epoch's end."""
    from actlab.playground.session import Session

    a, b = Session(), Session()
    bs, n = a.config["batch_size"], len(a.train_idx)
    steps = -(-n // bs) + 2                          # into the second epoch
    a.step(steps)
    model = b.trainers[0].model
    for epoch in range(2):
        order = epoch_order(b.config["seed"], epoch, n)
        for s in range(0, n, bs):
            if steps == 0:
                break
            idx = order[s:s + bs]
            model.train_on_batch(b.x_train[idx], b.y_train[idx])
            steps -= 1
    assert a.epoch == 1
    for wa, wb in zip(a.trainers[0].model.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(wa, wb)
