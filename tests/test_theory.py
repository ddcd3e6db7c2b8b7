"""actlab.theory against independent oracles: closed forms (ReLU's arc-cosine kernel, erf's
arcsine kernel), adaptive scipy quadrature, the known edge of tanh, and Monte Carlo on wide
random networks at initialisation."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate, optimize

from actlab import theory as T
from actlab.activations import get, register


# ----------------------------------------------------------------------------- closed forms

def relu_kernel(q, c):
    """Cho & Saul (2009), degree-1 arc-cosine kernel: E[relu(u1) relu(u2)], and E[relu' relu']."""
    th = np.arccos(np.clip(c, -1, 1))
    return q / (2 * np.pi) * (np.sin(th) + (np.pi - th) * c), (np.pi - th) / (2 * np.pi)


def erf_kernel(q, c):
    """Williams (1997): E[erf(u1) erf(u2)] = 2/pi asin(2qc / (1 + 2q)); E[erf' erf'] by the Gaussian integral."""
    return (2 / np.pi) * np.arcsin(2 * q * c / (1 + 2 * q)), (4 / np.pi) / np.sqrt((1 + 2 * q) ** 2 - 4 * q * q * c * c)


def quad_expectation(f, q):
    """E[f(sqrt(q) z)] by scipy's adaptive quadrature: an oracle that shares no code with actlab.theory."""
    g = lambda z: f(math.sqrt(q) * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return integrate.quad(g, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13, limit=200)[0]


CS = [-0.999, -0.7, -0.2, 0.0, 0.3, 0.9, 0.99, 0.999, 0.99999, 1 - 1e-9, 1.0]


@pytest.mark.parametrize("q", [0.01, 0.7, 1.0, 25.0])
def test_relu_correlation_map_is_the_arc_cosine_kernel(q):
    relu = get("relu")
    for c in CS:
        k, dk = relu_kernel(q, c)
        assert T.gaussian_expectation2(relu, relu, q, c, relu.kinks) == pytest.approx(k, rel=1e-10, abs=1e-13)
        got = T.gaussian_expectation2(relu.derivative, relu.derivative, q, c, relu.kinks)
        assert got == pytest.approx(dk, rel=1e-10, abs=1e-13), c


@pytest.mark.parametrize("q", [0.01, 0.5, 1.0, 30.0])
def test_erf_expectations_are_the_arcsine_kernel(q):
    erf = get("erf")
    for c in CS:
        k, dk = erf_kernel(q, c)
        assert T.gaussian_expectation2(erf, erf, q, c) == pytest.approx(k, rel=1e-10, abs=1e-13), c
        assert T.gaussian_expectation2(erf.derivative, erf.derivative, q, c) == pytest.approx(dk, rel=1e-10), c


def test_relu_closed_forms():
    for sw, sb in [(0.5, 0.0), (1.5, 0.1), (1.99, 0.3), (3.0, 0.0)]:
        assert T.chi1("relu", sw, sb, q=1.3) == pytest.approx(sw / 2, rel=1e-13)
    # below the edge the length map q -> sw/2 q + sb has the fixed point sb / (1 - sw/2)
    sw, sb = 1.5, 0.1
    p = T.point("relu", sw, sb)
    q = sb / (1 - sw / 2)
    assert p.q_star == pytest.approx(q, rel=1e-12)
    assert p.chi1 == pytest.approx(0.75, rel=1e-12)
    assert p.c_star == 1.0 and p.phase == "ordered"
    assert p.xi_c == pytest.approx(1 / math.log(4 / 3), rel=1e-10)
    assert p.gradient_ratio(10) == pytest.approx(0.75 ** 10, rel=1e-10)
    for c in (0.0, 0.5, 0.95):
        want = (sw * relu_kernel(q, c)[0] + sb) / q
        assert T.correlation_map("relu", c, sw, sb) == pytest.approx(want, rel=1e-10)
    # the edge: sigma_w2 = 2 at sigma_b2 = 0 (He et al. 2015); none with a bias
    edge = T.edge_of_chaos("relu", 0.0)
    assert edge.sigma_w2 == pytest.approx(2.0, rel=1e-12)
    none = T.edge_of_chaos("relu", 0.1)
    assert none.sigma_w2 is None and "no fixed point" in none.reason
    assert T.point("relu", 2.5, 0.1).phase == "divergent"
    # leaky_relu: chi_1 = sw (1 + alpha^2) / 2
    assert T.edge_of_chaos("leaky_relu", 0.0, {"alpha": 0.2}).sigma_w2 == pytest.approx(2 / 1.04, rel=1e-12)


def _erf_q_star(sw, sb):
    return optimize.brentq(lambda q: sw * erf_kernel(q, 1.0)[0] + sb - q, 1e-12, 1e3, xtol=1e-15, rtol=1e-15)


def test_erf_fixed_points_chi1_and_edge_against_closed_forms():
    for sw, sb in [(1.0, 0.05), (2.0, 0.2), (3.0, 0.05)]:
        q = _erf_q_star(sw, sb)
        p = T.point("erf", sw, sb)
        assert p.q_star == pytest.approx(q, rel=1e-11)
        assert p.chi1 == pytest.approx(sw * erf_kernel(q, 1.0)[1], rel=1e-11)
    # chaos: c* solves the closed-form correlation map, chi_c is its slope there
    sw, sb = 3.0, 0.05
    q = _erf_q_star(sw, sb)
    cmap = lambda c: (sw * erf_kernel(q, c)[0] + sb) / q
    c_star = optimize.brentq(lambda c: cmap(c) - c, -1.0, 1 - 1e-6, xtol=1e-15)
    p = T.point("erf", sw, sb)
    assert p.phase == "chaotic" and p.chi1 > 1
    assert p.c_star == pytest.approx(c_star, abs=1e-10)
    assert p.chi_c == pytest.approx(sw * erf_kernel(q, c_star)[1], rel=1e-9)
    assert p.xi_c == pytest.approx(-1 / math.log(sw * erf_kernel(q, c_star)[1]), rel=1e-8)
    # the edge: at sigma_b2 = 0, q* = 0 and chi_1 = sw 4/pi, so sigma_w2 = pi/4
    assert T.edge_of_chaos("erf", 0.0).sigma_w2 == pytest.approx(math.pi / 4, rel=1e-7)
    for sb in (0.05, 0.5):
        chi = lambda s, sb=sb: s * erf_kernel(_erf_q_star(s, sb), 1.0)[1] - 1
        want = optimize.brentq(chi, 0.5, 10.0, xtol=1e-14)
        assert T.edge_of_chaos("erf", sb).sigma_w2 == pytest.approx(want, rel=1e-10)


def test_quadrature_against_adaptive_scipy_for_smooth_and_kinked_activations():
    for name, params in [("tanh", {}), ("gelu", {}), ("silu", {}), ("selu", {}), ("hard_tanh", {}),
                         ("relu6", {}), ("elu", {"alpha": 0.5}), ("softshrink", {}), ("hard_swish", {})]:
        act = get(name, **params)
        for q in (0.05, 1.0, 9.0, 400.0):
            for f in (lambda x, a=act: a(x) ** 2, lambda x, a=act: a.derivative(x) ** 2):
                got = T.gaussian_expectation(f, q, act.kinks)
                want = sum(_quad_pieces(f, q, act.kinks))
                assert got == pytest.approx(want, rel=1e-10, abs=1e-14), (name, q)


def _quad_pieces(f, q, kinks):
    """scipy quad on each smooth piece (quad's own breakpoints), in z."""
    pts = [-np.inf, *sorted(k / math.sqrt(q) for k in kinks), np.inf]
    g = lambda z: float(f(np.array(math.sqrt(q) * z))) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    return [integrate.quad(g, a, b, epsabs=1e-15, epsrel=1e-13, limit=200)[0] for a, b in itertools.pairwise(pts)]


def test_tanh_edge_at_sigma_b2_zero_is_one():
    assert T.edge_of_chaos("tanh", 0.0).sigma_w2 == pytest.approx(1.0, abs=1e-6)


def test_tanh_edge_at_sigma_b2_005_against_an_independent_scipy_computation():
    """The issue's done-criterion, 1.7610, recomputed with scipy.integrate.quad and brentq only."""
    sb = 0.05

    def q_star(sw):
        return optimize.brentq(lambda q: sw * quad_expectation(lambda x: math.tanh(x) ** 2, q) + sb - q,
                               1e-6, 100.0, xtol=1e-15, rtol=1e-15)

    def chi(sw):
        return sw * quad_expectation(lambda x: (1 - math.tanh(x) ** 2) ** 2, q_star(sw)) - 1

    want = optimize.brentq(chi, 1.2, 3.0, xtol=1e-13)
    edge = T.edge_of_chaos("tanh", sb)
    assert round(want, 4) == 1.7610
    assert edge.sigma_w2 == pytest.approx(want, rel=1e-10)
    assert edge.q_star == pytest.approx(q_star(want), rel=1e-9)


def test_length_map_states_divergence_collapse_and_fixed_points():
    fp = T.q_star("relu", 2.5, 0.0)
    assert fp.diverged and math.isinf(fp.q_star) and "diverge" in fp.note
    fp = T.q_star("tanh", 0.8, 0.0)
    assert fp.q_star == 0.0 and not fp.diverged
    # tanh at sigma_b2 = 0, sigma_w2 = 2: the stable fixed point q* > 0 and the unstable q = 0
    pts = T.fixed_points("tanh", 2.0, 0.0)
    assert [s for _, s in pts] == [False, True]
    assert pts[1][0] == pytest.approx(T.q_star("tanh", 2.0, 0.0).q_star, rel=1e-10)


def test_unbounded_growth_is_a_reason_not_an_overflow():
    # exp: L(q) = sigma_w2 e^(2q) and chi_1 = sigma_w2 e^(2q) = q* at a fixed point (sigma_b2 = 0),
    # so chi_1 < 1 wherever q* exists: no edge, and the overflow beyond is a divergence
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        edge = T.edge_of_chaos("exponential", 0.0)
        p = T.point("exponential", 0.1, 0.0)
        assert T.point("exponential", 1.0, 0.0).phase == "divergent"
    assert edge.sigma_w2 is None and "diverges" in edge.reason
    assert p.chi1 == pytest.approx(p.q_star, rel=1e-12)
    assert p.q_star == pytest.approx(0.1 * math.exp(2 * p.q_star), rel=1e-12)


def test_a_plugin_activation_gets_its_edge():
    # a user's scaled tanh, 2 tanh(x / 2): its edge at sigma_b2 = 0 is where sw f'(0)^2 = 1, i.e. 1
    register("half_tanh_t", lambda x: 2 * np.tanh(x / 2), lambda x: 1 - np.tanh(x / 2) ** 2, overwrite=True)
    assert T.edge_of_chaos("half_tanh_t", 0.0).sigma_w2 == pytest.approx(1.0, abs=1e-6)
    # and at sigma_b2 > 0 it is that of tanh with the variances rescaled: q -> q/4, sigma_b2 -> sigma_b2/4
    assert T.edge_of_chaos("half_tanh_t", 0.2).sigma_w2 == pytest.approx(
        T.edge_of_chaos("tanh", 0.05).sigma_w2, rel=1e-9)


def test_bad_input_raises_value_error_naming_it():
    with pytest.raises(ValueError, match="softmax"):
        T.edge_of_chaos("softmax", 0.0)
    with pytest.raises(ValueError, match="-1"):
        T.point("tanh", -1.0, 0.0)
    with pytest.raises(ValueError, match="sigma_b2"):
        T.point("tanh", 1.0, -0.1)
    with pytest.raises(ValueError, match="per unit"):
        T.point("prelu", 1.0, 0.0, {"alpha": np.array([0.1, 0.2])})


# ----------------------------------------------------------------------------- Monte Carlo

def _simulate(act, sw, sb, width, depth, batch, seed, c0):
    """A random float64 MLP at initialisation, for ``batch`` inputs: pairs (2i, 2i+1) with
    cosine exactly c0, independent of the other pairs. Per input and layer: q (the mean
    square pre-activation), per pair the cosine c, and per input the squared norm of the
    backpropagated gradient w.r.t. the pre-activations, for a random output gradient."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, width))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    other = x[1::2] - np.sum(x[1::2] * x[0::2], 1, keepdims=True) * x[0::2]   # Gram-Schmidt
    other /= np.linalg.norm(other, axis=1, keepdims=True)
    x[1::2] = c0 * x[0::2] + math.sqrt(1 - c0 * c0) * other
    x *= math.sqrt(width)   # q^0 = |x|^2 / width = 1 exactly
    ws, hs = [], []
    h = None
    for _ in range(depth):
        W = rng.standard_normal((width, width)) * math.sqrt(sw / width)
        b = rng.standard_normal(width) * math.sqrt(sb)
        h = (x if h is None else act(h)) @ W + b
        ws.append(W)
        hs.append(h)
    q = np.array([np.mean(h * h, 1) for h in hs])                                   # (depth, batch)
    c = np.array([np.sum(h[0::2] * h[1::2], 1) / np.sqrt(np.sum(h[0::2] ** 2, 1) * np.sum(h[1::2] ** 2, 1))
                  for h in hs])                                                     # (depth, pairs)
    g = rng.standard_normal((batch, width))   # dE/dh at the top layer
    norms = [np.sum(g * g, 1)]
    for l in range(depth - 1, 0, -1):
        g = (g @ ws[l].T) * act.derivative(hs[l - 1])
        norms.append(np.sum(g * g, 1))
    return q, c, np.array(norms[::-1])                                              # (depth, batch)


def _theory_q_c(act, sw, sb, depth, c0):
    """q^l and c^l layer by layer from the input's q^0 = 1 (the first layer sees x, not phi(x))."""
    q, c = sw + sb, (sw * c0 + sb) / (sw + sb)
    qs, cs = [q], [c]
    for _ in range(depth - 1):
        qn = T.length_map(act, q, sw, sb)
        c = (sw * T.gaussian_expectation2(act, act, q, c, act.kinks) + sb) / qn
        q = qn
        qs.append(q)
        cs.append(c)
    return np.array(qs), np.array(cs)


def _mc_check(measured, predicted, what):
    """Each layer's mean over independent replicates within 4.5 standard errors of the theory,
    the standard error being the replicates' own spread / sqrt(count)."""
    mean = measured.mean(1)
    se = measured.std(1, ddof=1) / math.sqrt(measured.shape[1])
    z = np.abs(mean - predicted) / se
    assert z.max() < 4.5, f"{what}: layer {z.argmax()}: {mean[z.argmax()]} vs {predicted[z.argmax()]} ({z.max():.1f} SE)"
    return se


def test_monte_carlo_q_c_and_gradients_match_the_theory():
    """tanh at sigma_w2 = 2, sigma_b2 = 0 (chaotic, c* = 0): width 1000, 24 layers, float64.
    The 16 input pairs are independent of each other (and the two inputs of a pair decorrelate
    towards c* = 0), so their spread gives each layer's Monte Carlo standard error, which is
    itself small: about 1% for q, at most 0.03 for c, 1.5% for the gradient ratios."""
    width, depth, batch, c0 = 1000, 24, 32, 0.6
    act, sw, sb = get("tanh"), 2.0, 0.0
    q_mc, c_mc, g_mc = _simulate(act, sw, sb, width, depth, batch, seed=12, c0=c0)
    q_th, c_th = _theory_q_c(act, sw, sb, depth, c0)
    pairs = lambda a: (a[:, 0::2] + a[:, 1::2]) / 2
    se = _mc_check(pairs(q_mc), q_th, "q^l")
    assert (se / q_th).max() < 0.015
    se = _mc_check(c_mc, c_th, "c^l")
    assert se.max() < 0.035
    # gradients: |g^l|^2 / |g^{l+1}|^2 = chi_1 at layer l's q^l (chi_1(q*) once q^l has converged)
    ratios = g_mc[:-1] / g_mc[1:]
    chi = np.array([T.chi1(act, sw, sb, q=q) for q in q_th[:-1]])
    se = _mc_check(pairs(ratios), chi, "gradient ratio")
    assert (se / chi).max() < 0.02
    p = T.point(act, sw, sb)
    assert chi[-1] == pytest.approx(p.chi1, rel=1e-6) and p.c_star == pytest.approx(0.0, abs=1e-12)
    # over the last 15 layers: the total growth, prod chi_1(q^l) ~ chi_1^15 (about 4.5x)
    total = pairs(g_mc[8:9] / g_mc[-1:])[0]
    want = np.prod(chi[8:])
    assert abs(total.mean() / want - 1) < 4.5 * total.std(ddof=1) / math.sqrt(len(total)) / want
    assert want == pytest.approx(p.gradient_ratio(15), rel=0.01)
