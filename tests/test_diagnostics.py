"""Diagnostics (actlab.studies.diagnostics) against independent oracles.

- per-layer gradient norms vs the norms of central-difference gradients (float64);
- the dead-unit counter on a hand-made network whose dead units are known by construction;
- saturation fractions on pre-activations placed either side of the thresholds, worked out by
  hand (sigmoid(z) > 0.99 iff z > ln 99 = 4.595; |tanh z| > 0.99 iff |z| > atanh 0.99 = 2.647);
- the physical fact of Glorot & Bengio (2010): at initialisation a 10-hidden-layer sigmoid net's
  first-layer gradient is orders of magnitude below its last hidden layer's, a ReLU net's is not.
"""
import math

import numpy as np
import pytest

from actlab import datasets
from actlab.engine import SGD, build_mlp
from actlab.studies import diagnostics as D


def _net(activation, hidden="4x2", inputs=3, classes=3, seed=0):
    m = build_mlp(inputs, hidden, activation, classes, seed=seed, dtype="float64")
    m.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.1))
    return m


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "elu", "prelu", "softplus"])
def test_gradient_norms_match_central_differences(activation):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(7, 3))
    labels = rng.integers(0, 3, size=7)
    y = np.eye(3)[labels]
    m = _net(activation)
    got = D.gradient_norms(m, x, labels)
    dense = [layer for layer in m.layers if "kernel" in layer.params]
    assert len(got) == len(dense) == 3
    eps = 1e-6
    for layer, norm in zip(dense, got):
        w = layer.params["kernel"]
        num = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            old = w[idx]
            w[idx] = old + eps
            up = m.loss_value(x, y)
            w[idx] = old - eps
            down = m.loss_value(x, y)
            w[idx] = old
            num[idx] = (up - down) / (2 * eps)
        assert norm == pytest.approx(np.linalg.norm(num), rel=1e-6, abs=1e-10)
    assert D.hidden_gradient_norms(m, x, labels) == got[:-1]


def _hand_made(activation, dead_first=(1, 3), dead_second=(0,)):
    """4 inputs -> 5 -> 5 -> 3; positive weights, so with positive inputs every pre-activation is
    positive except the units given a bias of -100, which are negative for every input in [0, 1]
    (their outgoing weights are 0, so a leaky unit's negative output does not reach the next layer)."""
    m = _net(activation, hidden="5x2", inputs=4)
    dense = [layer for layer in m.layers if "kernel" in layer.params]
    for layer in dense:
        layer.params["kernel"][...] = 0.1
        layer.params["bias"][...] = 0.05
    dense[0].params["bias"][list(dead_first)] = -100.0
    dense[1].params["kernel"][list(dead_first), :] = 0.0   # their (negative, for leaky) outputs feed nothing
    dense[1].params["bias"][list(dead_second)] = -100.0
    return m


def test_dead_units_exactly_the_ones_made_dead():
    x = np.random.default_rng(0).uniform(0.0, 1.0, size=(50, 4))
    m = _hand_made("relu")
    masks = D.dead_units(m, x)
    assert [np.flatnonzero(mk).tolist() for mk in masks] == [[1, 3], [0]]
    stats = D.layer_stats(m, x)
    assert [s["dead"] for s in stats] == [2 / 5, 1 / 5]
    assert [s["inactive"] for s in stats] == [2 / 5, 1 / 5]
    out = D.measure(m, x, np.zeros(50, dtype=int))
    assert out["dead_count"] == [2, 1]
    # a dead unit passes no gradient: its incoming weights get exactly zero gradient
    g = m.gradients(x, np.eye(3)[np.zeros(50, dtype=int)])
    assert np.all(g[0]["kernel"][:, [1, 3]] == 0) and np.all(g[0]["kernel"][:, [0, 2, 4]] != 0)


@pytest.mark.parametrize("activation", ["leaky_relu", "elu", "prelu"])
def test_negative_units_of_leaky_like_activations_are_inactive_not_dead(activation):
    # leaky: slope 0.01; elu: exp(-100) > 0 in float64; prelu (alpha 0): d/dalpha = z != 0
    x = np.random.default_rng(0).uniform(0.0, 1.0, size=(50, 4))
    m = _hand_made(activation)
    assert [mk.sum() for mk in D.dead_units(m, x)] == [0, 0]
    stats = D.layer_stats(m, x)
    assert [s["inactive"] for s in stats] == [2 / 5, 1 / 5]
    assert [s["dead"] for s in stats] == [0.0, 0.0]


def _identity_layer(activation, z):
    """A 1-hidden-layer net whose hidden pre-activations are exactly the columns of ``z``."""
    n = z.shape[1]
    m = _net(activation, hidden=str(n), inputs=n, classes=2)
    m.layers[0].params["kernel"][...] = np.eye(n)
    m.layers[0].params["bias"][...] = 0.0
    return m


@pytest.mark.parametrize("activation, z, expected", [
    # sigmoid: saturated iff |z| > ln 99 = 4.595 (output within 0.01 of 0 or 1)
    ("sigmoid", [-10.0, -4.7, -4.5, 0.0, 4.5, 4.7, 10.0], 4 / 7),
    # tanh: saturated iff |z| > atanh(0.99) = 2.647
    ("tanh", [-3.0, -2.6, 0.0, 2.6, 2.7], 2 / 5),
    # relu: |f'| < 0.01 * 1 iff z <= 0 (ReLU'(0) = 0)
    ("relu", [-1.0, 0.0, 1e-9, 2.0], 2 / 4),
    # leaky_relu: f' >= 0.01 = 0.01 * max|f'| everywhere: never saturated
    ("leaky_relu", [-50.0, -1.0, 0.0, 3.0], 0.0),
    # elu: e^z < 0.01 iff z < ln 0.01 = -4.605
    ("elu", [-6.0, -4.7, -4.5, 0.0, 1.0], 2 / 5),
    # hard_sigmoid (max f' = 1/6): f' = 0 outside [-3, 3]
    ("hard_sigmoid", [-4.0, -2.0, 2.0, 4.0, 5.0], 3 / 5),
])
def test_saturation_fraction_on_constructed_preactivations(activation, z, expected):
    z = np.array([z])
    m = _identity_layer(activation, z)
    assert D.layer_stats(m, z)[0]["saturated"] == pytest.approx(expected)
    # mean/std of the outputs as numpy computes them from the formula
    from actlab.activations import get
    y = get(activation)(z)
    assert D.layer_stats(m, z)[0]["mean"] == pytest.approx(float(np.mean(y)))
    assert D.layer_stats(m, z)[0]["std"] == pytest.approx(float(np.std(y)))


def test_thresholds_worked_out_by_hand():
    assert math.log(99) == pytest.approx(4.59512, abs=1e-5)
    assert math.atanh(0.99) == pytest.approx(2.64665, abs=1e-5)


def test_vanishing_gradient_of_a_deep_sigmoid_net_on_digits():
    data = datasets.load("digits")
    x, y = data.x_train[:500], data.y_train[:500]
    ratio = {}
    for act in ("sigmoid", "relu", "tanh"):
        m = build_mlp(64, "100x10", act, 10, seed=0)
        m.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.1))
        g = D.hidden_gradient_norms(m, x, y)
        assert len(g) == 10
        ratio[act] = g[0] / g[-1]
    assert ratio["sigmoid"] < 1e-2
    assert ratio["relu"] > 0.1 and ratio["tanh"] > 0.1
    assert ratio["relu"] > 100 * ratio["sigmoid"]


def test_hidden_layers_of_prelu_and_maxout_nets():
    m = build_mlp(4, "6x2", "prelu", 3, seed=0)
    hs = D.hidden_layers(m)
    assert [(h.dense, h.parts, h.activation) for h in hs] == [(0, [1], "prelu"), (2, [3], "prelu")]
    m = build_mlp(4, "6x2", "maxout", 3, seed=0)
    x = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    stats = D.layer_stats(m, x)
    assert [s["units"] for s in stats] == [6, 6]
    assert all(s["dead"] == 0.0 and s["saturated"] == 0.0 for s in stats)


def test_vanishing_gradient_of_a_deep_sigmoid_net_on_mnist(mnist_dir):
    data = datasets.load("mnist", n_samples=1000, data_dir=mnist_dir, seed=0)
    x, y = data.x_train[:500], data.y_train[:500]
    ratios = {}
    for act in ("sigmoid", "relu"):
        m = build_mlp(784, "100x10", act, 10, seed=0)
        m.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.1))
        g = D.hidden_gradient_norms(m, x, y)
        ratios[act] = g[0] / g[-1]
    assert ratios["sigmoid"] < 1e-3
    assert ratios["relu"] > 0.1
