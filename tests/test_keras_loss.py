"""``keras_categorical_crossentropy``: Keras 2's cross-entropy on softmax probabilities, clip included.

Oracles: values and gradients worked by hand (clip inactive and active), central differences in
float64 (of the loss w.r.t. the probabilities, and of a whole network's loss w.r.t. every
parameter), the fused loss on the rows where nothing clips, and the torch engine in float64.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from click.testing import CliRunner

from actlab.engine import SGD, Dense, Sequential
from actlab.engine import losses as L
from test_engine import numerical_gradients  # the suite's one central-difference oracle for a network

KCE = L.LOSSES["keras_categorical_crossentropy"]


# -- the loss on probabilities ---------------------------------------------------------------------
def test_value_and_gradient_worked_by_hand_without_clipping():
    p = np.array([[0.25, 0.75]])
    y = np.array([[0.0, 1.0]])
    assert KCE.value(y, p) == pytest.approx(-math.log(0.75), rel=1e-15)
    # S = 1, q = p; g = dL/dq = [0, -1/0.75]; sum(g * q) = -1; dL/dp = g - (-1) = [1, -1/3]
    g = KCE.gradient(y, p)
    np.testing.assert_allclose(g, [[1.0, -1.0 / 3.0]], rtol=1e-15)
    # through the softmax's VJP, p * (g - sum(g p)) with sum(g p) = 0.25 - 0.25 = 0: [0.25, -0.25] = p - y
    np.testing.assert_allclose(p * (g - np.sum(g * p, axis=1, keepdims=True)), p - y, atol=1e-16)


def test_clipped_rows_have_exactly_zero_gradient():
    # confidently right (q_true = 1 - 1e-9 > 1 - 1e-7) and confidently wrong (q_true = 1e-9 < 1e-7)
    p = np.array([[1.0 - 1e-9, 1e-9], [1.0 - 1e-9, 1e-9], [0.5, 0.5]])
    y = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    # value = (-log(1 - 1e-7) - log(1e-7) - log(0.5)) / 3: the clipped probabilities, not the true ones
    assert KCE.value(y, p) == pytest.approx((-math.log1p(-1e-7) - math.log(1e-7) + math.log(2.0)) / 3, rel=1e-12)
    g = KCE.gradient(y, p)
    assert np.all(g[:2] == 0.0)
    # the unclipped row: g_q = [-2, 0], sum(g q) = -1, dL/dp = [-1, 1] / 3
    np.testing.assert_allclose(g[2], [-1.0 / 3.0, 1.0 / 3.0], rtol=1e-15)
    # the old loss's gradient is not zero there: the two losses differ exactly where the clip is active
    assert np.all(L.d_categorical_crossentropy(y, p)[:2].sum(axis=1) != 0.0)


def test_bounds_are_inclusive_as_tensorflow_clip_by_value():
    eps = L.EPSILON
    y = np.array([[1.0, 0.0]])
    g = KCE.gradient(y, np.array([[eps, 1.0 - eps]]))   # q_true exactly on the lower bound: gradient passes
    assert g[0, 0] != 0.0
    assert np.all(KCE.gradient(y, np.array([[np.nextafter(eps, 0), 1.0]])) == 0.0)


def test_gradient_matches_central_differences_including_unnormalised_outputs():
    rng = np.random.default_rng(0)
    for _ in range(5):
        p = rng.uniform(0.05, 1.0, size=(4, 5))       # rows need not sum to 1: the normalisation's gradient too
        y = np.eye(5)[rng.integers(0, 5, 4)]
        g = KCE.gradient(y, p)
        num = np.zeros_like(p)
        h = 1e-6
        for idx in np.ndindex(p.shape):
            up, down = p.copy(), p.copy()
            up[idx] += h
            down[idx] -= h
            num[idx] = (KCE.value(y, up) - KCE.value(y, down)) / (2 * h)
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-9)


def test_float32_bounds_are_compared_in_float32():
    # a float32 softmax rounds a confident probability to 1.0: clipped, no gradient, as in Keras
    p = np.array([[1.0, 0.0, 0.0]], dtype=np.float32)
    y = np.array([[1.0, 0.0, 0.0]], dtype=np.float32)
    assert np.all(KCE.gradient(y, p) == 0.0)
    assert KCE.gradient(y, p).dtype == np.float32
    assert KCE.value(y, p) == pytest.approx(-math.log(float(np.float32(1) - np.float32(1e-7))), rel=1e-6)


# -- in a network: not fused, chained through the softmax ------------------------------------------
def _net(loss, seed=3):
    m = Sequential([Dense(6, activation="softplus", input_dim=4), Dense(3, activation="softmax")], seed=seed,
                   dtype="float64")
    m.compile(optimizer=SGD(0.1), loss=loss)
    m.build(4)
    return m


def _data():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 4))
    x[:3] *= 1000.0      # rows 0 and 2 saturate the softmax of _net(): labelled so that their true class is
    y = np.eye(3)[rng.integers(0, 3, 8)]
    p = _net("categorical_crossentropy").forward(x)
    y[0] = np.eye(3)[p[0].argmax()]    # confidently right: q_true rounds above 1 - 1e-7
    y[2] = np.eye(3)[p[2].argmin()]    # confidently wrong: q_true below 1e-7
    return x, y


def test_network_gradient_matches_central_differences_and_is_not_fused():
    x, y = _data()
    model = _net("keras_categorical_crossentropy")
    assert not model.uses_fused_delta() and _net("categorical_crossentropy").uses_fused_delta()
    q = model.forward(x)[np.arange(8), y.argmax(axis=1)]
    clipped = (q < L.EPSILON) | (q > 1 - L.EPSILON)
    assert clipped.sum() >= 2 and not clipped.all()   # the batch has both kinds of rows
    for got, want in zip(model.gradients(x, y), numerical_gradients(model, x, y)):
        for k in want:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-8, err_msg=k)


def test_network_gradient_is_the_fused_one_on_the_unclipped_rows_only():
    x, y = _data()
    keras, fused = _net("keras_categorical_crossentropy"), _net("categorical_crossentropy")
    q = keras.forward(x)[np.arange(8), y.argmax(axis=1)]
    keep = (q >= L.EPSILON) & (q <= 1 - L.EPSILON)
    got = keras.gradients(x, y)
    want = fused.gradients(x[keep], y[keep])
    scale = keep.sum() / len(x)   # the batch mean is over all 8 rows, the clipped ones adding zero
    for a, b in zip(got, want):
        for k in b:
            np.testing.assert_allclose(a[k], scale * b[k], rtol=1e-10, atol=1e-14, err_msg=k)
    # and the fused loss itself is unchanged by the new option: p - y on every row
    p = fused.forward(x)
    np.testing.assert_allclose(L.LOSSES["categorical_crossentropy"].fused_delta(y, p), (p - y) / 8)


def test_all_rows_clipped_means_sgd_stands_still():
    x, y = _data()
    model = _net("keras_categorical_crossentropy")
    x2, y2 = x[[0, 2]], y[[0, 2]]
    q = model.forward(x2)[np.arange(2), y2.argmax(axis=1)]
    assert np.all((q < L.EPSILON) | (q > 1 - L.EPSILON))
    before = [w.copy() for w in model.get_weights()]
    model.fit(x2, y2, epochs=3, batch_size=1, verbose=0)
    for a, b in zip(before, model.get_weights()):
        assert np.array_equal(a, b)


def test_unknown_loss_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="keras_categorical_crossentropyy.*keras_categorical_crossentropy"):
        L.get("keras_categorical_crossentropyy")


def test_keras_shim_exposes_the_loss():
    from actlab.keras import losses

    assert losses.keras_categorical_crossentropy is KCE
    assert losses.get("categorical_crossentropy").name == "categorical_crossentropy"   # the default is unchanged


# -- the torch engine computes the same, in float64 ------------------------------------------------
def test_torch_engine_equals_numpy_engine_in_float64():
    pytest.importorskip("torch")
    from actlab.torch_engine.model import TorchEnsemble

    rng = np.random.default_rng(2)
    x = rng.standard_normal((40, 4))
    x[:15] *= 200.0
    y = np.eye(3)[rng.integers(0, 3, 40)]
    a, b = _net("keras_categorical_crossentropy", 5), _net("keras_categorical_crossentropy", 5)
    h_np = a.fit(x, y, epochs=3, batch_size=10, verbose=0).history
    ens = TorchEnsemble(b, device="cpu")
    h_t = ens.fit(x, y, epochs=3, batch_size=10)[0]
    np.testing.assert_allclose(h_t["loss"], h_np["loss"], rtol=1e-12)
    ens.to_numpy()
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wb, wa, rtol=1e-11, atol=1e-13)
    assert not np.allclose(a.get_weights()[0], _net("keras_categorical_crossentropy", 5).get_weights()[0])


# -- the option in configurations, the study and the CLI -------------------------------------------
def test_run_config_and_reproduce_spec_take_the_loss():
    from actlab.studies.reproduce import ReproduceSpec, reproduce_tasks
    from actlab.studies.runner import make_config

    cfg = make_config(study="s", loss="keras_categorical_crossentropy")
    assert cfg["train"]["loss"] == "keras_categorical_crossentropy"
    assert make_config(study="s")["train"]["loss"] == "categorical_crossentropy"
    with pytest.raises(ValueError, match="'bogus'"):
        make_config(study="s", loss="bogus")
    spec = ReproduceSpec(seeds=1, loss="keras_categorical_crossentropy").resolved()
    assert {t.config["train"]["loss"] for t in reproduce_tasks(spec)} == {"keras_categorical_crossentropy"}
    # the default study keeps the name it had before the option existed (docs/results/reproduce-notes)
    assert ReproduceSpec(seeds=3).resolved().name == "reproduce-notes-a5bb4fba"
    assert spec.name != ReproduceSpec(seeds=1).resolved().name
    with pytest.raises(ValueError, match="'mse'"):
        ReproduceSpec(loss="mse").resolved()


def test_cli_train_and_reproduce_take_loss(tmp_path):
    import json

    from actlab.cli import main

    res = CliRunner().invoke(main, ["train", "--dataset", "digits", "--hidden", "8", "--epochs", "1",
                                    "--loss", "keras_categorical_crossentropy", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["config"]["loss"] == "keras_categorical_crossentropy"
    bad = CliRunner().invoke(main, ["train", "--dataset", "digits", "--loss", "crossentropyy"])
    assert bad.exit_code == 2 and "crossentropyy" in bad.output and "keras_categorical_crossentropy" in bad.output
    res = CliRunner().invoke(main, ["reproduce", "notes", "--dataset", "digits", "--seeds", "1", "--epochs", "1",
                                    "--inputs", "raw", "--loss", "keras_categorical_crossentropy", "--no-progress",
                                    "--workers", "1", "--store", str(tmp_path / "s.sqlite"),
                                    "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    assert "zero gradient where the clip is active" in (tmp_path / "rep" / "report.md").read_text()
