"""The depth study explained: the mean-field theory's per-layer gradient norms beside the measured ones.

Oracles: closed forms (ReLU's E[relu(u)^2] = q / 2 and chi = sigma_w^2 / 2, so with He weights
every layer's ‖dL/dW‖^2 is its fan-in times a constant), scipy's adaptive quadrature for one tanh
layer, the variance of a truncated normal from scipy.stats, and Monte Carlo: wide random nets
(width 1000, float64, no training) built by the depth study itself, whose measured gradient norms
must match the prediction within a few percent, the tolerance being the spread over seeds.
"""
import math

import numpy as np
import pytest
from scipy import integrate, stats

from actlab import theory
from actlab.engine import initializers
from actlab.store import Store
from actlab.studies import depth, diagnostics, runner


# -- the formula, by hand ---------------------------------------------------------------------------
def test_layerwise_relu_he_closed_form_with_unequal_widths():
    # He weights (sigma_w^2 = 2), no bias: q^1 = 2 q0, E[relu(h)^2] = q / 2 = q0 at every layer, chi = 1.
    # ‖dL/dW^l‖^2 = n_{l-1} m^{l-1} |delta^l|^2 = n_{l-1} q0 |delta_out|^2: the fan-in alone sets it.
    p = theory.layerwise(["relu"] * 3, [100, 50, 25, 40, 10], 2.0, 0.0, q0=0.3)
    np.testing.assert_allclose(p.q, [0.6] * 4, rtol=1e-12)
    np.testing.assert_allclose(p.chi, [1.0] * 3, rtol=1e-12)
    np.testing.assert_allclose(p.grad_norm, np.sqrt(np.array([100, 50, 25, 40]) / 40), rtol=1e-12)


def test_layerwise_one_tanh_layer_against_quad():
    sw, sb, q0, n0, n1 = [1.7, 0.9], [0.05, 0.2], 0.4, 30, 70
    p = theory.layerwise(["tanh"], [n0, n1, 10], sw, sb, q0=q0)
    q1 = sw[0] * q0 + sb[0]
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    m1 = integrate.quad(lambda z: math.tanh(math.sqrt(q1) * z) ** 2 * pdf(z), -np.inf, np.inf, epsabs=1e-13)[0]
    d1 = integrate.quad(lambda z: (1 - math.tanh(math.sqrt(q1) * z) ** 2) ** 2 * pdf(z), -np.inf, np.inf,
                        epsabs=1e-13)[0]
    assert p.q[1] == pytest.approx(sw[1] * m1 + sb[1], rel=1e-10)
    assert p.chi[0] == pytest.approx(sw[1] * d1, rel=1e-10)
    # layer 1: n0 q0 chi; the output layer: n1 m1
    assert p.grad_norm[0] == pytest.approx(math.sqrt(n0 * q0 * sw[1] * d1 / (n1 * m1)), rel=1e-10)


def test_layerwise_rejects_what_it_cannot_handle():
    with pytest.raises(ValueError, match="elementwise"):
        theory.layerwise(["maxout"], [4, 4, 2], 1.0)
    with pytest.raises(ValueError, match="widths"):
        theory.layerwise(["relu"] * 2, [4, 4, 2], 1.0)
    with pytest.raises(ValueError, match="sigma_w2"):
        theory.layerwise(["relu"], [4, 4, 2], [1.0, 2.0, 3.0])


def test_initializer_variances():
    rng = np.random.default_rng(0)
    assert initializers.get("glorot_uniform").variance((300, 100)) == pytest.approx(2 / 400)
    assert initializers.get("he_normal").variance((300, 100)) == pytest.approx(2 / 300)
    assert initializers.get("lecun_uniform").variance((300, 100)) == pytest.approx(1 / 300)
    assert initializers.get("truncated_normal").variance((3, 3)) == pytest.approx(
        0.05 ** 2 * stats.truncnorm(-2, 2).var(), rel=1e-12)
    assert initializers.Critical("relu").variance((50, 20)) == pytest.approx(2 / 50)
    for name in ("glorot_uniform", "glorot_normal", "he_uniform", "lecun_normal", "truncated_normal"):
        init = initializers.get(name)
        w = init((400, 300), rng, np.float64)
        # a sample variance of 120000 draws: standard error sqrt(2 / n) (or less, for bounded draws)
        assert w.var() / init.variance((400, 300)) == pytest.approx(1.0, abs=5 * math.sqrt(2 / w.size))


# -- Monte Carlo: the depth study's own nets ------------------------------------------------------------
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_wide_nets_measured_gradient_norms_match_the_prediction(activation):
    """Width 1000, 6 hidden layers, float64, at initialisation, 4 seeds (each its own weights and its own
    draw of digits): per layer, the mean over seeds of log10(measured / predicted) lies within 4
    standard errors (the spread over seeds) plus 0.01 (the prediction's own Monte Carlo error), and
    within 0.03 (7%) in any case. The single-input prediction (no cross-example terms) misses the
    ReLU net's batch gradient by about 0.15 decades: this test tells them apart."""
    probe, seeds = 200, range(4)
    devs, singles = [], []
    for seed in seeds:
        cfg = runner.make_config(study="t", seed=seed, dataset="digits", hidden="1000x6", activation=activation,
                                 dtype="float64", diagnostics={"layers": {"probe": probe, "gradients": True}})
        data = runner.load_data(cfg["data"])
        model = runner.build_model(cfg, data)
        measured = np.asarray(diagnostics.gradient_norms(model, data.x_train[:probe], data.y_train[:probe]))
        measured = measured / measured[-1]
        th = depth.run_theory(cfg)
        assert th.relative is not None, th.reason
        devs.append(np.log10(measured / th.relative)[:-1])
        singles.append(np.log10(measured / th.single)[:-1])
    devs = np.asarray(devs)
    mean = devs.mean(axis=0)
    se = devs.std(axis=0, ddof=1) / math.sqrt(len(devs))
    assert np.all(np.abs(mean) <= 4 * se + 0.01), (mean, se)
    assert np.all(np.abs(mean) <= 0.03), mean
    if activation == "relu":
        assert np.mean(singles, axis=0)[0] > 0.1


# -- the report -----------------------------------------------------------------------------------------
def test_report_shows_theory_beside_measurement_and_marks_the_unsupported(tmp_path):
    store = Store(tmp_path / "runs.sqlite")
    res = depth.depth_study(["tanh", "maxout"], [1, 3], [0, 1], store=store, epochs=1, width=24, probe=60)
    th = depth.depth_theory(res)
    assert th["maxout"][3].relative is None and "not elementwise" in th["maxout"][3].reason
    assert th["tanh"][3].relative is not None and len(th["tanh"][3].relative) == 4
    rows = {r["activation"]: r for r in depth.theory_comparison(res, th)}
    assert not rows["maxout"]["supported"]
    tanh = rows["tanh"]
    assert tanh["supported"] and len(tanh["dev"]) == 3
    measured = res.layer_profile("tanh", 3, "grad_norm", 0)
    predicted = th["tanh"][3].relative[:-1] * depth._output_norm(res, "tanh", 3)
    assert tanh["max_dev"] == pytest.approx(np.max(np.abs(np.log10(measured / predicted))))
    assert tanh["disagree"] == [i + 1 for i, v in enumerate(tanh["dev"]) if abs(v) > depth.THEORY_TOLERANCE]

    index = depth.depth_report(res, tmp_path / "rep")
    md = (index.parent / "report.md").read_text()
    assert "## Theory beside measurement" in md
    assert "max |log10(measured / predicted)|" in md
    assert "- **maxout**: no prediction: maxout is not elementwise" in md
    assert f"{tanh['max_dev']:.3f}" in md
    csv_text = (index.parent / "tables" / "theory-vs-measured.csv").read_text()
    assert csv_text.splitlines()[0].startswith("activation,depth,")
    assert "none: maxout is not elementwise" in csv_text
    assert (index.parent / "tables" / "grad-norm-predicted.csv").exists()


def test_report_text_names_where_and_why_they_disagree():
    base = {"supported": True, "reason": "", "tolerance": 0.1, "single_dev": 0.02, "max_dev_end": 0.05}
    rows = [
        {**base, "activation": "a", "depth": 4, "dev": [0.01, -0.02, 0.03, 0.0], "max_dev": 0.03, "worst_layer": 3,
         "disagree": [], "spread": 0.02},
        {**base, "activation": "b", "depth": 4, "dev": [-0.3, 0.15, 0.02, 0.2], "max_dev": 0.3, "worst_layer": 1,
         "disagree": [1, 2, 4], "spread": 0.1, "max_dev_end": 1.5, "single_dev": 0.4},
        {**base, "activation": "c", "depth": 4, "dev": [0.0, 0.25, 0.0, 0.0], "max_dev": 0.25, "worst_layer": 2,
         "disagree": [2], "spread": 0.02},
        {**base, "activation": "maxout", "depth": 4, "supported": False, "reason": "maxout is not elementwise",
         "dev": []},
    ]
    text = depth._theory_text(rows, 8, 64)
    a, b, c, m = text.split("\n")[-4:]
    assert "**agrees** at every hidden layer within 0.1" in a and "training has moved" not in a
    assert "**disagrees** beyond 0.1 at 3 of 4 layers" in b
    assert "layer 1, fed by the data" in b and "off by -0.300" in b
    assert "layer 4, next to the softmax output layer, by +0.200" in b
    assert "layers 2 by up to 0.150, within twice the seeds' own spread: finite-width noise" in b
    assert "up to 1.500 decades" in b and "training has moved" in b and "differs from this one by up to 0.400" in b
    assert "beyond twice the seeds' spread (0.020): a systematic deviation" in c and "4 / 64" in c
    assert m == "- **maxout**: no prediction: maxout is not elementwise."
