"""Critical initialisation (the edge of chaos of each layer's activation): the draws' variances,
which activation each layer takes, the gradient norms of a deep tanh net against the theory,
the CLI's --init critical and the Keras shim."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from actlab import theory as T
from actlab.cli import main
from actlab.engine import initializers
from actlab.engine.mlp import build_mlp


def test_weights_variance_is_the_critical_sigma_w2_over_fan_in():
    """Each kernel's sample variance x fan_in estimates sigma_w2*: relative standard error
    sqrt(2 / n) over its n entries (0.25% for 600 x 500); 5 of them is the tolerance. The
    biases' variance estimates sigma_b2 with relative error sqrt(2 / 500) = 6.3%."""
    sb = 0.05
    m = build_mlp(600, "500x2", "tanh", 10, seed=1, dtype="float64",
                  kernel_initializer={"name": "critical", "sigma_b2": sb})
    want = T.edge_of_chaos("tanh", sb).sigma_w2
    assert round(want, 4) == 1.7610
    for layer in m.layers[:2]:
        k, b = layer.params["kernel"], layer.params["bias"]
        assert k.var() * k.shape[0] == pytest.approx(want, rel=5 * math.sqrt(2 / k.size))
        assert abs(k.mean()) < 5 * math.sqrt(want / k.shape[0] / k.size)
        assert b.var() == pytest.approx(sb, rel=5 * math.sqrt(2 / b.size))
    out = m.layers[-1].params["kernel"]   # the output layer is fed by tanh too
    assert out.var() * out.shape[0] == pytest.approx(want, rel=5 * math.sqrt(2 / out.size))


def test_each_layer_takes_the_edge_of_the_activation_feeding_it():
    # relu's edge at sigma_b2 = 0 is 2 (He et al.), tanh's is 1: a layer's weights multiply the
    # outputs of the layer below, so layer 1 (fed by relu) draws at 2 and layer 2 (fed by tanh) at 1
    m = build_mlp(400, "400x3", "relu", 10, seed=2, dtype="float64", kernel_initializer="critical",
                  activations_per_layer=["relu", "tanh", "relu"])
    want = [2.0, 2.0, 1.0, 2.0]   # the first layer takes its own activation; the output layer relu's
    for layer, w in zip(m.layers, want):
        k = layer.params["kernel"]
        assert k.var() * k.shape[0] == pytest.approx(w, rel=5 * math.sqrt(2 / k.size))
        assert not layer.params["bias"].any()   # sigma_b2 = 0: zero biases
    cfg = m.layers[2].config()["kernel_initializer"]
    assert cfg == {"name": "critical", "sigma_b2": 0.0, "activation": {"name": "tanh"}}


def test_no_edge_and_bad_options_are_value_errors():
    with pytest.raises(ValueError, match="no critical initialisation for relu at sigma_b2=0.1"):
        build_mlp(20, "20", "relu", 2, kernel_initializer={"name": "critical", "sigma_b2": 0.1})
    with pytest.raises(ValueError, match="sigma_b2 must be a finite number >= 0, got -1"):
        initializers.get({"name": "critical", "sigma_b2": -1})
    with pytest.raises(ValueError, match="unknown option 'sigma_w2'"):
        initializers.get({"name": "critical", "sigma_w2": 2})
    with pytest.raises(ValueError, match="elementwise"):
        build_mlp(20, "20", "maxout", 2, kernel_initializer="critical")
    with pytest.raises(ValueError, match="critical"):
        initializers.get("critcal")   # the close match is suggested


def test_deep_tanh_at_critical_init_keeps_gradient_norms_as_the_theory_says():
    """Width 1000, 20 tanh layers at the edge for sigma_b2 = 0.05, float64, the engine's own
    forward and backward. Going down one Dense layer multiplies the squared gradient norm by
    chi_1(q^l) (the layer's pre-activation variance): that is 1 once q^l has reached q*, and
    below 1 in the first layers where q^l is still above q* (q^1 = sigma_w2 + sigma_b2 = 1.81).
    The prediction is the product of chi_1(q^l); the Monte Carlo error is the spread of the
    32 inputs' ratios. Drawn at sigma_w2 = 1 instead (the edge for sigma_b2 = 0), the same net
    would keep 3% over the 13 steady layers: chi_1 = 0.76 per layer."""
    width, depth, batch, sb = 1000, 20, 32, 0.05
    m = build_mlp(width, f"{width}x{depth}", "tanh", 10, seed=0, dtype="float64",
                  kernel_initializer={"name": "critical", "sigma_b2": sb})
    sw = T.edge_of_chaos("tanh", sb).sigma_w2
    rng = np.random.default_rng(100)
    x = rng.standard_normal((batch, width))
    x *= math.sqrt(width) / np.linalg.norm(x, axis=1, keepdims=True)   # q^0 = 1
    dense = m.layers[:-1]
    h = x
    for layer in dense:
        h = layer.forward(h)
    g = rng.standard_normal((batch, width))   # dE/dy at the top hidden layer
    norms = [np.sum(g * g, 1)]
    for layer in dense[:0:-1]:
        g = layer.backward(g)                 # dE/dy of the layer below
        norms.append(np.sum(g * g, 1))
    norms = np.array(norms[::-1])             # norms[l] = |dE/dy_l|^2, l = 0..depth-1
    q = [sw + sb]
    for _ in range(depth - 1):
        q.append(T.length_map("tanh", q[-1], sw, sb))
    chi = np.array([T.chi1("tanh", sw, sb, q=v) for v in q])
    for start in (0, 6):   # from the bottom, and over the steady layers only
        ratio = norms[start] / norms[-1]
        want = np.prod(chi[start + 1:])
        se = ratio.std(ddof=1) / math.sqrt(batch)
        assert se < 0.05
        assert abs(ratio.mean() - want) < 4.5 * se, (start, ratio.mean(), want, se)
    assert np.prod(chi[7:]) == pytest.approx(1.0, abs=0.02)
    assert T.chi1("tanh", 1.0, sb) ** 13 < 0.05   # what a non-critical sigma_w2 would give


def test_cli_train_init_critical():
    res = CliRunner().invoke(main, ["train", "--dataset", "digits", "--activation", "tanh", "--hidden", "32x3",
                                    "--epochs", "1", "--init", "critical", "--sigma-b2", "0.05", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["config"]["init"] == {"name": "critical", "sigma_b2": 0.05}
    assert out["status"] == "done"
    for args, needle in [(["--sigma-b2", "0.1"], "--sigma-b2 goes with --init critical"),
                         (["--init", "critical", "--sigma-b2", "-1"], "--sigma-b2 must be a finite number >= 0"),
                         (["--init", "critical", "--sigma-b2", "0.1", "--activation", "relu"],
                          "no critical initialisation for relu")]:
        res = CliRunner().invoke(main, ["train", "--dataset", "digits", "--hidden", "8", "--epochs", "1", *args])
        assert res.exit_code == 2 and needle in res.output, res.output


def test_keras_kernel_initializer_critical():
    from actlab.keras import initializers as kinit
    from actlab.keras.layers import Dense
    from actlab.keras.models import Sequential, model_from_json

    model = Sequential(seed=4)
    model.add(Dense(400, activation="tanh", input_dim=300, kernel_initializer=kinit.Critical(sigma_b2=0.05)))
    model.add(Dense(400, activation="relu", kernel_initializer="critical"))
    model.build(300)
    k1, b1, k2, b2 = model.get_weights()
    assert k1.var() * 300 == pytest.approx(T.edge_of_chaos("tanh", 0.05).sigma_w2, rel=5 * math.sqrt(2 / k1.size))
    assert b1.var() == pytest.approx(0.05, rel=5 * math.sqrt(2 / b1.size))
    assert k2.var() * 400 == pytest.approx(2.0, rel=5 * math.sqrt(2 / k2.size)) and not b2.any()
    again = model_from_json(model.to_json())
    again.build(300)
    assert [np.array_equal(a, b) for a, b in zip(again.get_weights(), model.get_weights())] == [True] * 4
