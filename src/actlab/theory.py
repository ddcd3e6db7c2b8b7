"""Signal propagation at initialisation: the mean-field theory of deep networks, for any activation.

A fully connected net with weights ``N(0, sigma_w2 / fan_in)`` and biases ``N(0, sigma_b2)``
carries, in the limit of infinite width, a pre-activation of variance ``q^l`` at layer ``l``
and a correlation ``c^l`` between the pre-activations of two inputs (Poole et al. 2016,
Schoenholz et al. 2017):

.. math::

    q^{l} = \\sigma_w^2\\, E_z[\\phi(\\sqrt{q^{l-1}} z)^2] + \\sigma_b^2 \\qquad
    c^{l} = \\frac{\\sigma_w^2\\, E[\\phi(u_1)\\phi(u_2)] + \\sigma_b^2}{q^*},\\
    (u_1, u_2) \\sim N\\Big(0, q^* \\begin{pmatrix}1 & c^{l-1}\\\\ c^{l-1} & 1\\end{pmatrix}\\Big)

    \\chi_1 = \\sigma_w^2\\, E_z[\\phi'(\\sqrt{q^*} z)^2] \\qquad
    \\chi_c = \\sigma_w^2\\, E[\\phi'(u_1)\\phi'(u_2)]\\big|_{c^*} \\qquad
    \\xi_c = -1 / \\log \\chi_c \\qquad \\xi_q = -1 / \\log L'(q^*)

``chi_1`` is the factor by which the squared gradient norm grows per layer going backwards;
the edge of chaos is ``chi_1 = 1`` (ordered: ``chi_1 < 1``, ``c* = 1``; chaotic: ``chi_1 > 1``,
``c* < 1``); ``6 xi_c`` is the depth up to which a net still trains (Schoenholz et al. 2017).

Every Gaussian expectation is a quadrature in ``z``: Gauss–Legendre panels against the
standard normal density on [-12, 12] (the mass outside is 2e-33), with the activation's kinks
(``Activation.kinks``) and the other places where the integrand changes fast as panel ends, so
each panel integrates a smooth function and converges geometrically: 1e-13 on smooth
functions, the same with kinks. (Plain Gauss–Hermite cannot be split at a kink: its nodes
cover the whole line.) The bivariate expectations use the exact 1-D reduction
``u_2 = c u_1 + sqrt(1 - c^2) sqrt(q) z_2``: an inner 1-D quadrature split at its own kinks
for each outer node, with the outer panels graded towards the smoothed kink of width
``sqrt(1 - c^2)`` so that it stays accurate as c -> 1.

Works for any elementwise :class:`~actlab.activations.Activation` (the zoo with its
parameters, a plugin's ``register(...)``, a callable).

>>> from actlab import theory
>>> round(theory.edge_of_chaos("relu", 0.0).sigma_w2, 9)
2.0
>>> round(theory.chi1("relu", 1.5, 0.1), 12)
0.75
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize

from . import activations as _acts

__all__ = [
    "Edge",
    "LayerwisePrediction",
    "LengthFixedPoint",
    "Point",
    "boundary",
    "c_star",
    "chi1",
    "chi_c",
    "correlation_map",
    "depth_scales",
    "edge_of_chaos",
    "fixed_points",
    "gaussian_expectation",
    "gaussian_expectation2",
    "gradient_ratio",
    "layerwise",
    "layerwise_batch",
    "length_map",
    "point",
    "q_star",
    "trainable_depth",
]

Z_MAX = 12.0            # the quadrature covers |z| <= 12: the normal mass outside is 2e-33
_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_BASE = np.linspace(-Z_MAX, Z_MAX, 25)   # panels of width 1 at most
Q_MAX = 1e12            # the length map "diverges" when q^l passes this
Q_MIN = 1e-200          # q* = 0 is evaluated as this (the q -> 0+ limit: kinks at 0 stay split)
_ITER = 200             # iterations of the maps before bracketing the fixed point


# ----------------------------------------------------------------------------- the activation

def _activation(activation: Any, params: dict | None = None) -> _acts.Activation:
    act = _acts.get(activation, **(params or {}))
    if not act.elementwise:
        raise ValueError(f"the mean-field theory needs an elementwise activation, got {act.name!r}")
    for k, v in act.params.items():
        if np.ndim(v) != 0:
            raise ValueError(f"{act.name}: the theory needs scalar parameters, got {k}={v!r} (per unit)")
    return act


def _phi(act: _acts.Activation) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: act.fn(x, **act.params)


def _dphi(act: _acts.Activation) -> Callable[[np.ndarray], np.ndarray]:
    return lambda x: act.der(x, None, **act.params)


def _kinks(act: _acts.Activation) -> np.ndarray:
    return np.array(sorted(float(k) for k in act.kinks), dtype=np.float64)


# ----------------------------------------------------------------------------- quadrature

def _graded(centres: Sequence[float], scale: float) -> list[float]:
    """Points at centre +- scale * 4^j (j = 0, 1, ...) up to a distance of 1: panels that shrink
    geometrically towards each centre, where the integrand changes on the length ``scale``."""
    out: list[float] = []
    if not scale < 1.0:
        return out
    steps = scale * 4.0 ** np.arange(0, math.ceil(math.log(1.0 / scale, 4.0)) + 1)
    steps = steps[steps < 1.0]
    for c in centres:
        if abs(c) < Z_MAX:
            out += [c, *(c + steps), *(c - steps)]
    return out


def _nodes(breaks: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes and weights (density included) for E_z[.] over panels between ``breaks``."""
    return _nodes_cached(tuple(float(v) for v in breaks))


@functools.lru_cache(maxsize=512)
def _nodes_cached(breaks: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    b = np.unique(np.clip(np.concatenate([_BASE, np.asarray(breaks, dtype=np.float64)]), -Z_MAX, Z_MAX))
    lo, hi = b[:-1, None], b[1:, None]
    half = (hi - lo) / 2.0
    z = (lo + hi) / 2.0 + half * _GL_X
    w = half * _GL_W * np.exp(-0.5 * z * z) * _INV_SQRT_2PI
    z, w = z.ravel(), w.ravel()
    z.flags.writeable = w.flags.writeable = False   # cached: shared by every caller
    return z, w


def _nodes_1d(q: float, kinks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = math.sqrt(q)
    feature = min(1.0, 1.0 / s) / 4.0   # a smooth activation changes on |x| ~ 1, i.e. |z| ~ 1/sqrt(q)
    zk = list(kinks / s)
    return _nodes(zk + _graded([0.0], feature) + _graded(zk, feature))


def gaussian_expectation(f: Callable[[np.ndarray], np.ndarray], q: float,
                         kinks: Sequence[float] = ()) -> float:
    """E[f(sqrt(q) z)] for z ~ N(0, 1), split at ``kinks`` (points where f or f' jump).

    >>> round(gaussian_expectation(lambda x: x ** 4, 2.0), 12)   # 3 q^2
    12.0
    """
    q = max(float(q), Q_MIN)
    z, w = _nodes_1d(q, np.asarray(kinks, dtype=np.float64))
    with np.errstate(over="ignore", invalid="ignore"):   # an unbounded activation may give inf: divergence
        return float(np.dot(w, f(math.sqrt(q) * z)))


def gaussian_expectation2(f: Callable[[np.ndarray], np.ndarray], g: Callable[[np.ndarray], np.ndarray],
                          q: float, c: float, kinks: Sequence[float] = ()) -> float:
    """E[f(u1) g(u2)] for centred Gaussians of variance ``q`` and correlation ``c``.

    The exact reduction ``u1 = sqrt(q) z1``, ``u2 = sqrt(q) (c z1 + sqrt(1 - c^2) z2)``: for
    each outer node the inner expectation over z2 is split at the kinks of ``g`` (which move
    with z1); the outer panels are split at the kinks of ``f`` and graded towards the kinks of
    the inner expectation, smoothed over a width sqrt(1 - c^2) / c in z1.

    >>> round(gaussian_expectation2(lambda x: x, lambda x: x, 2.0, 0.3), 12)   # q c
    0.6
    """
    q = max(float(q), Q_MIN)
    c = float(np.clip(c, -1.0, 1.0))
    kinks = np.asarray(kinks, dtype=np.float64)
    s = math.sqrt(q)
    r = math.sqrt(max(0.0, 1.0 - c * c))
    if r < 1e-15:   # u2 = +-u1
        return gaussian_expectation(lambda x: f(x) * g(math.copysign(1.0, c) * x), q, kinks)
    feature = min(1.0, 1.0 / s) / 4.0
    zk = list(kinks / s)
    outer = zk + _graded([0.0], feature) + _graded(zk, feature)
    if abs(c) > 1e-12:
        # the inner expectation's smoothed kinks, at z1 = k / (sqrt(q) c), of width r / |c|
        zc = list(kinks / (s * c))
        outer += zc + _graded(zc, min(feature, r / abs(c) / 4.0))
        outer += _graded([0.0], min(feature, r / abs(c) / 4.0))
    z1, w1 = _nodes(outer)
    # inner panels: the base grid plus, for each outer node, the kinks of g(sqrt(q)(c z1 + r z2))
    if len(kinks):
        zk2 = np.clip((kinks[None, :] / s - c * z1[:, None]) / r, -Z_MAX, Z_MAX)
        br = np.sort(np.concatenate([np.broadcast_to(_BASE, (len(z1), len(_BASE))), zk2], axis=1), axis=1)
    else:
        br = np.broadcast_to(_BASE, (len(z1), len(_BASE)))
    lo, hi = br[:, :-1, None], br[:, 1:, None]
    half = (hi - lo) / 2.0
    z2 = (lo + hi) / 2.0 + half * _GL_X
    w2 = half * _GL_W * np.exp(-0.5 * z2 * z2) * _INV_SQRT_2PI
    z2 = z2.reshape(len(z1), -1)
    w2 = w2.reshape(len(z1), -1)
    with np.errstate(over="ignore", invalid="ignore"):
        inner = np.sum(w2 * g(s * (c * z1[:, None] + r * z2)), axis=1)
        return float(np.dot(w1, f(s * z1) * inner))


# ----------------------------------------------------------------------------- the length map

def length_map(activation: Any, q: float, sigma_w2: float, sigma_b2: float, params: dict | None = None) -> float:
    """q -> sigma_w2 E[phi(sqrt(q) z)^2] + sigma_b2: the next layer's pre-activation variance."""
    act = _activation(activation, params)
    phi = _phi(act)
    return _length(phi, _kinks(act), q, sigma_w2, sigma_b2)


def _length(phi, kinks, q, sigma_w2, sigma_b2):
    return sigma_w2 * gaussian_expectation(lambda x: phi(x) ** 2, q, kinks) + sigma_b2


@dataclass(frozen=True)
class LengthFixedPoint:
    """Where the length map goes from ``q0``: ``q_star`` (``inf`` when it diverges, 0 when it
    collapses), whether it ``diverged``, the ``layers`` the iteration took, and ``note``."""

    q_star: float
    diverged: bool
    layers: int
    note: str = ""


def _q_star(phi, kinks, sigma_w2, sigma_b2, q0=1.0, max_iter=_ITER) -> LengthFixedPoint:
    L = lambda q: _length(phi, kinks, q, sigma_w2, sigma_b2)
    G = lambda q: L(q) - q
    q = float(q0)
    for it in range(1, max_iter + 1):
        nxt = L(q)
        if not math.isfinite(nxt) or nxt > Q_MAX:
            return LengthFixedPoint(math.inf, True, it, f"q^l grows past {Q_MAX:g}: the length map diverges")
        if abs(nxt - q) <= 1e-13 * max(q, nxt):
            return LengthFixedPoint(nxt, False, it)
        if nxt < Q_MIN * 1e10:
            return LengthFixedPoint(0.0, False, it, "q^l -> 0: the signal dies out")
        if abs(nxt - q) <= 1e-4 * q:     # close: bracket the root and solve it
            break
        q = nxt
    else:
        it = max_iter
    # slow convergence (a rate close to 1): the iteration of an increasing map goes to the nearest
    # fixed point in the direction it moves; search that direction for a sign change of L(q) - q
    g = G(q)
    if g == 0.0:
        return LengthFixedPoint(q, False, it)
    up = g > 0
    a = q
    factor = 1.0 + 1e-4
    while True:
        b = a * factor if up else a / factor
        gb = G(b)
        if (gb > 0) != up or gb == 0.0:
            lo, hi = (a, b) if up else (b, a)
            root = optimize.brentq(G, lo, hi, xtol=1e-300, rtol=1e-14, maxiter=200)
            return LengthFixedPoint(root, False, it)
        if up and (b > Q_MAX or not math.isfinite(gb)):
            return LengthFixedPoint(math.inf, True, it,
                                    "L(q) > q for every q above q^0: the length map has no fixed point and diverges")
        if not up and b < Q_MIN * 1e10:
            return LengthFixedPoint(0.0, False, it, "L(q) < q for every q below q^0: q^l -> 0 (the signal dies out)")
        a = b
        factor = min(factor * 4.0, 10.0)


def q_star(activation: Any, sigma_w2: float, sigma_b2: float, params: dict | None = None,
           q0: float = 1.0) -> LengthFixedPoint:
    """The fixed point of the length map reached from ``q0`` (the input's q^0 = |x|^2 / n, 1 by default)."""
    _check_sigmas(sigma_w2, sigma_b2)
    act = _activation(activation, params)
    return _q_star(_phi(act), _kinks(act), float(sigma_w2), float(sigma_b2), q0)


def fixed_points(activation: Any, sigma_w2: float, sigma_b2: float, params: dict | None = None,
                 q_range: tuple[float, float] = (1e-8, 1e8), num: int = 400) -> list[tuple[float, bool]]:
    """Every fixed point q of the length map in ``q_range`` (plus q = 0 when L(0) = 0), each with
    whether it is stable (|L'(q)| < 1): several mean the depth limit depends on the input's q^0."""
    _check_sigmas(sigma_w2, sigma_b2)
    act = _activation(activation, params)
    phi, kinks = _phi(act), _kinks(act)
    G = lambda q: _length(phi, kinks, q, sigma_w2, sigma_b2) - q
    grid = np.geomspace(q_range[0], q_range[1], num)
    vals = np.array([G(q) for q in grid])
    out: list[tuple[float, bool]] = []
    if sigma_b2 == 0 and float(phi(np.zeros(1))[0]) == 0.0:
        out.append((0.0, abs(_dlength(phi, kinks, 0.0, sigma_w2, sigma_b2)) < 1.0))
    for i in range(num - 1):
        if vals[i] == 0.0 or vals[i] * vals[i + 1] < 0:
            root = grid[i] if vals[i] == 0.0 else optimize.brentq(G, grid[i], grid[i + 1], rtol=1e-14)
            out.append((root, abs(_dlength(phi, kinks, root, sigma_w2, sigma_b2)) < 1.0))
    return out


def _dlength(phi, kinks, q, sigma_w2, sigma_b2) -> float:
    """L'(q) by central differences (forward at q = 0): valid for discontinuous activations too."""
    if q <= 0:
        h = 1e-8
        return (_length(phi, kinks, h, sigma_w2, sigma_b2) - _length(phi, kinks, 0.0, sigma_w2, sigma_b2)) / h
    h = 1e-4 * q
    return (_length(phi, kinks, q + h, sigma_w2, sigma_b2) - _length(phi, kinks, q - h, sigma_w2, sigma_b2)) / (2 * h)


# ----------------------------------------------------------------------------- correlations, chi

def correlation_map(activation: Any, c: float, sigma_w2: float, sigma_b2: float, q: float | None = None,
                    params: dict | None = None) -> float:
    """c -> (sigma_w2 E[phi(u1) phi(u2)] + sigma_b2) / q at the length map's fixed point (or at ``q``)."""
    act = _activation(activation, params)
    phi, kinks = _phi(act), _kinks(act)
    if q is None:
        q = _finite_q(_q_star(phi, kinks, sigma_w2, sigma_b2), act.name, sigma_w2, sigma_b2)
    return _corr(phi, kinks, c, q, sigma_w2, sigma_b2)


def _corr(phi, kinks, c, q, sigma_w2, sigma_b2):
    qe = max(q, Q_MIN)
    return (sigma_w2 * gaussian_expectation2(phi, phi, qe, c, kinks) + sigma_b2) / (
        sigma_w2 * gaussian_expectation(lambda x: phi(x) ** 2, qe, kinks) + sigma_b2)


def _finite_q(fp: LengthFixedPoint, name, sigma_w2, sigma_b2) -> float:
    if fp.diverged:
        raise ValueError(f"{name} at sigma_w2={sigma_w2}, sigma_b2={sigma_b2}: {fp.note}")
    return fp.q_star


def _chi1(dphi, kinks, q, sigma_w2):
    return sigma_w2 * gaussian_expectation(lambda x: dphi(x) ** 2, max(q, Q_MIN), kinks)


def chi1(activation: Any, sigma_w2: float, sigma_b2: float, params: dict | None = None,
         q: float | None = None) -> float:
    """chi_1 = sigma_w2 E[phi'(sqrt(q*) z)^2]: the per-layer growth of the squared gradient norm."""
    _check_sigmas(sigma_w2, sigma_b2)
    act = _activation(activation, params)
    if q is None:
        q = _finite_q(_q_star(_phi(act), _kinks(act), sigma_w2, sigma_b2), act.name, sigma_w2, sigma_b2)
    return _chi1(_dphi(act), _kinks(act), q, sigma_w2)


def _c_star(phi, kinks, q, sigma_w2, sigma_b2, chi_1):
    """The fixed point of the correlation map reached from orthogonal inputs (c^0 = 0).

    In the ordered phase (chi_1 <= 1) that is c* = 1. Otherwise the map, increasing in c for
    a monotone activation, moves from 0 monotonically to the nearest fixed point in the
    direction of C(0) - 0: that direction is searched for a sign change, solved by Brent.
    """
    if chi_1 <= 1.0:
        return 1.0   # ordered (or critical): c = 1 is the stable fixed point
    G = lambda c: _corr(phi, kinks, c, q, sigma_w2, sigma_b2) - c
    a, ga = 0.0, G(0.0)
    if ga == 0.0:
        return 0.0
    target = 1.0 if ga > 0 else -1.0
    for k in range(1, 40):
        b = target - (target - 0.0) * 4.0 ** -k
        gb = G(b)
        if gb == 0.0:
            return b
        if (gb > 0) != (ga > 0):
            lo, hi = sorted((a, b))
            return optimize.brentq(G, lo, hi, xtol=1e-14, rtol=1e-13)
        a, ga = b, gb
    return target


def c_star(activation: Any, sigma_w2: float, sigma_b2: float, params: dict | None = None) -> float:
    """The stable fixed point of the correlation map: 1 in the ordered phase, below 1 in chaos."""
    return point(activation, sigma_w2, sigma_b2, params).c_star


def chi_c(activation: Any, c: float, sigma_w2: float, sigma_b2: float, params: dict | None = None,
          q: float | None = None) -> float:
    """The slope of the correlation map at ``c``: sigma_w2 E[phi'(u1) phi'(u2)] (chi_1 at c = 1)."""
    act = _activation(activation, params)
    if q is None:
        q = _finite_q(_q_star(_phi(act), _kinks(act), sigma_w2, sigma_b2), act.name, sigma_w2, sigma_b2)
    dphi = _dphi(act)
    return sigma_w2 * gaussian_expectation2(dphi, dphi, max(q, Q_MIN), c, _kinks(act))


def _xi(chi: float) -> float:
    """-1 / log(chi): the depth over which a perturbation decays (inf at chi = 1)."""
    if not chi > 0:
        return 0.0
    lg = math.log(chi)
    return math.inf if lg == 0 else abs(1.0 / lg)


# ----------------------------------------------------------------------------- one point

@dataclass(frozen=True)
class Point:
    """Everything the theory says about one (activation, sigma_w2, sigma_b2)."""

    activation: str
    sigma_w2: float
    sigma_b2: float
    q_star: float
    chi1: float
    c_star: float
    chi_c: float
    xi_q: float
    xi_c: float
    phase: str        # 'ordered', 'chaotic', 'critical' or 'divergent'
    note: str = ""

    def gradient_ratio(self, depth: int) -> float:
        """chi_1^L: the predicted |grad at layer 1|^2 / |grad at layer L+1|^2 after L layers."""
        return self.chi1 ** depth

    @property
    def trainable_depth(self) -> float:
        """6 xi_c: Schoenholz et al.'s bound on the depth that still trains."""
        return 6.0 * self.xi_c

    def as_dict(self) -> dict[str, Any]:
        return {k: _json_number(v) for k, v in self.__dict__.items()}


def _json_number(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def point(activation: Any, sigma_w2: float, sigma_b2: float, params: dict | None = None,
          q0: float = 1.0) -> Point:
    """q*, chi_1, c*, chi_c, xi_q, xi_c and the phase at one initialisation."""
    _check_sigmas(sigma_w2, sigma_b2)
    act = _activation(activation, params)
    phi, dphi, kinks = _phi(act), _dphi(act), _kinks(act)
    sw, sb = float(sigma_w2), float(sigma_b2)
    fp = _q_star(phi, kinks, sw, sb, q0)
    if fp.diverged:
        nan = math.nan
        return Point(act.name, sw, sb, math.inf, nan, nan, nan, nan, nan, "divergent", fp.note)
    q = fp.q_star
    x1 = _chi1(dphi, kinks, q, sw)
    if abs(x1 - 1.0) < 1e-12:
        x1 = 1.0
    cs = _c_star(phi, kinks, q, sw, sb, x1)
    xc = x1 if cs == 1.0 else sw * gaussian_expectation2(dphi, dphi, max(q, Q_MIN), cs, kinks)
    phase = "critical" if x1 == 1.0 else ("ordered" if x1 < 1.0 else "chaotic")
    return Point(act.name, sw, sb, q, x1, cs, xc, _xi(abs(_dlength(phi, kinks, q, sw, sb))), _xi(xc),
                 phase, fp.note)


def depth_scales(activation: Any, sigma_w2: float, sigma_b2: float, params: dict | None = None) -> tuple[float, float]:
    """(xi_q, xi_c): the depths over which q^l and c^l approach their fixed points."""
    p = point(activation, sigma_w2, sigma_b2, params)
    return p.xi_q, p.xi_c


def gradient_ratio(activation: Any, sigma_w2: float, sigma_b2: float, depth: int,
                   params: dict | None = None) -> float:
    """chi_1^depth: how much the squared gradient norm grows (> 1) or vanishes (< 1) over ``depth`` layers."""
    return chi1(activation, sigma_w2, sigma_b2, params) ** depth


def trainable_depth(activation: Any, sigma_w2: float, sigma_b2: float, params: dict | None = None) -> float:
    """6 xi_c (Schoenholz et al. 2017): deeper nets than this do not train from this initialisation."""
    return point(activation, sigma_w2, sigma_b2, params).trainable_depth


# ----------------------------------------------------------------------------- the edge of chaos

@dataclass(frozen=True)
class Edge:
    """The edge of chaos at one sigma_b2: ``sigma_w2`` with chi_1 = 1 (None with ``reason``)."""

    activation: str
    sigma_b2: float
    sigma_w2: float | None
    q_star: float | None = None
    chi1: float | None = None
    reason: str = ""
    others: tuple[float, ...] = field(default_factory=tuple)   # further crossings of chi_1 = 1

    def as_dict(self) -> dict[str, Any]:
        """JSON: ``xi_c`` is infinite at the edge and so written as null, like every missing value."""
        out = {"sigma_b2": self.sigma_b2, "sigma_w2": self.sigma_w2, "q_star": self.q_star,
               "chi1": self.chi1, "xi_c": None}
        if self.sigma_w2 is None:
            out["reason"] = self.reason
        if self.others:
            out["other_sigma_w2"] = list(self.others)
        return out


SIGMA_W2_RANGE = (1e-2, 1e3)


def _chi1_at(phi, dphi, kinks, sw, sb) -> tuple[float, LengthFixedPoint]:
    """chi_1 at the length map's fixed point, or in the q -> inf limit where q^l diverges."""
    fp = _q_star(phi, kinks, sw, sb)
    q = Q_MAX if fp.diverged else fp.q_star
    return _chi1(dphi, kinks, q, sw), fp


def edge_of_chaos(activation: Any, sigma_b2: float = 0.0, params: dict | None = None,
                  sigma_w2_range: tuple[float, float] = SIGMA_W2_RANGE, num: int = 61) -> Edge:
    """The sigma_w2 with chi_1 = 1 at ``sigma_b2``, or ``sigma_w2=None`` and the reason there is none.

    chi_1(sigma_w2) is scanned on a log grid over ``sigma_w2_range`` and each sign change of
    chi_1 - 1 is solved with Brent's method; the first is the edge. Where the length map has no
    fixed point at that sigma_w2 (ReLU with sigma_b2 > 0: q^l grows without bound exactly where
    chi_1 reaches 1) there is no edge.
    """
    _check_sigmas(1.0, sigma_b2)
    act = _activation(activation, params)
    phi, dphi, kinks = _phi(act), _dphi(act), _kinks(act)
    sb = float(sigma_b2)
    f = lambda sw: _chi1_at(phi, dphi, kinks, sw, sb)[0] - 1.0
    grid = np.geomspace(sigma_w2_range[0], sigma_w2_range[1], num)
    vals = [f(sw) for sw in grid]
    roots = []
    for i in range(num - 1):
        a, b = vals[i], vals[i + 1]
        if not (math.isfinite(a) and math.isfinite(b)):
            continue
        if a == 0.0:
            roots.append(float(grid[i]))
        elif a * b < 0:
            roots.append(optimize.brentq(f, grid[i], grid[i + 1], xtol=1e-15, rtol=8.9e-16, maxiter=300))
    if not roots:
        finite = [v for v in vals if math.isfinite(v)]
        top = f" (its largest value there is {max(finite) + 1.0:.4g})" if finite else ""
        bad = [sw for sw, v in zip(grid, vals) if not math.isfinite(v)]
        beyond = (f"; beyond sigma_w2 = {bad[0]:.3g} the length map diverges" if bad else "")
        return Edge(act.name, sb, None, reason=(
            f"chi_1 never reaches 1 for sigma_w2 in [{sigma_w2_range[0]:g}, {sigma_w2_range[1]:g}]{top}{beyond}"))
    first = roots[0]
    _, fp = _chi1_at(phi, dphi, kinks, first, sb)
    if fp.diverged:
        return Edge(act.name, sb, None, chi1=None, reason=(
            f"chi_1 = 1 only at sigma_w2 = {first:.10g}, where the length map has no fixed point "
            f"(q^l grows without bound), so there is no edge of chaos at sigma_b2 = {sb:g}"),
            others=tuple(roots[1:]))
    return Edge(act.name, sb, first, fp.q_star, 1.0, others=tuple(roots[1:]))


def boundary(activation: Any, sigma_b2: Sequence[float] | np.ndarray, params: dict | None = None,
             **kw: Any) -> tuple[np.ndarray, np.ndarray]:
    """The order-to-chaos boundary: (sigma_b2, critical sigma_w2) arrays, NaN where there is no edge."""
    sb = np.asarray(sigma_b2, dtype=np.float64)
    sw = np.array([_nan(edge_of_chaos(activation, float(b), params, **kw).sigma_w2) for b in sb])
    return sb, sw


def _nan(v):
    return math.nan if v is None else v


def _check_sigmas(sigma_w2, sigma_b2):
    if not (isinstance(sigma_w2, (int, float, np.floating, np.integer)) and sigma_w2 > 0 and math.isfinite(sigma_w2)):
        raise ValueError(f"sigma_w2 must be a finite number > 0, got {sigma_w2!r}")
    if not (isinstance(sigma_b2, (int, float, np.floating, np.integer)) and sigma_b2 >= 0 and math.isfinite(sigma_b2)):
        raise ValueError(f"sigma_b2 must be a finite number >= 0, got {sigma_b2!r}")


# ----------------------------------------------------------------------------- a finite net, layer by layer

@dataclass(frozen=True)
class LayerwisePrediction:
    """The mean-field prediction for one finite net at initialisation, layer by layer.

    Layers are numbered 1..L+1 (L hidden layers, then the output layer); index ``l - 1`` below.

    - ``q``: the pre-activation variance q^l of every layer (the output layer's last), iterated
      from the input's mean squared entry ``q0``: q^1 = sigma_w2(1) q0 + sigma_b2(1),
      q^{l+1} = sigma_w2(l+1) E[phi_l(sqrt(q^l) z)^2] + sigma_b2(l+1).
    - ``chi``: per hidden layer l, chi(l) = sigma_w2(l+1) E[phi_l'(sqrt(q^l) z)^2], the factor by
      which the squared norm of the backpropagated error grows from layer l+1 down to layer l
      (chi_1 with the q^l of this layer and the weights above it).
    - ``grad_norm``: the predicted Frobenius norm of dL/dW^l for every layer, relative to the
      output layer's (which is 1): |dL/dW^l|^2 = n_{l-1} m^{l-1} |delta^l|^2 with
      m^0 = q0, m^l = E[phi_l(sqrt(q^l) z)^2] (the mean squared input of the layer, times its
      fan-in n_{l-1}) and |delta^l|^2 = chi(l) |delta^{l+1}|^2.
    """

    q: tuple[float, ...]
    chi: tuple[float, ...]
    grad_norm: tuple[float, ...]

    def anchored(self, output_norm: float) -> np.ndarray:
        """``grad_norm`` scaled so that the output layer's equals the measured ``output_norm``."""
        return np.asarray(self.grad_norm, dtype=np.float64) * float(output_norm)


def _network(activations, widths, sigma_w2, sigma_b2) -> tuple[list, list[int], list[float], list[float]]:
    """A finite network's arguments checked: the hidden activations, the widths (input, hidden...,
    output) and the per-layer weight and bias variances (one per Dense layer)."""
    acts = [_activation(a) for a in activations]
    n_hidden = len(acts)
    widths = [int(w) for w in widths]
    if len(widths) != n_hidden + 2 or any(w < 1 for w in widths):
        raise ValueError(f"widths must be {n_hidden + 2} positive sizes (input, {n_hidden} hidden, output), got {widths!r}")
    sw = _per_layer("sigma_w2", sigma_w2, n_hidden + 1)
    sb = _per_layer("sigma_b2", sigma_b2, n_hidden + 1)
    for a, b in zip(sw, sb):
        _check_sigmas(a, b)
    return acts, widths, sw, sb


def layerwise(activations: Sequence[Any], widths: Sequence[int], sigma_w2: float | Sequence[float],
              sigma_b2: float | Sequence[float] = 0.0, q0: float = 1.0) -> LayerwisePrediction:
    """The mean-field prediction for a net with the given ``widths`` (n_0 = input, n_1..n_L hidden,
    n_{L+1} = outputs), one activation per hidden layer and per-layer ``sigma_w2`` (Var(W) x fan_in)
    and ``sigma_b2`` (L+1 values each, or one for all), from inputs of mean squared entry ``q0``.

    Unlike :func:`point`, nothing is assumed to have reached a fixed point: each layer has its own
    q^l, its own weight variance and its own fan-in, so the first layer (fed by the data, not by
    an activation) and layers of different widths are taken as they are. The output layer's
    activation (softmax) does not enter: the gradient norms are relative to the output layer's.

    >>> p = layerwise(["relu"] * 3, [100, 50, 50, 50, 10], 2.0, 0.0, q0=1.0)
    >>> [round(v, 12) for v in p.chi]       # sigma_w2 / 2 for ReLU
    [1.0, 1.0, 1.0]
    """
    acts, widths, sw, sb = _network(activations, widths, sigma_w2, sigma_b2)
    n_hidden = len(acts)
    if not (math.isfinite(q0) and q0 >= 0):
        raise ValueError(f"q0 must be a finite number >= 0, got {q0!r}")
    q = [sw[0] * q0 + sb[0]]
    m = [float(q0)]                        # mean squared input of each layer: m[l] feeds layer l+1
    d2 = []                                # E[phi_l'(h^l)^2]
    for i, act in enumerate(acts):
        phi, dphi, kinks = _phi(act), _dphi(act), _kinks(act)
        ql = max(q[-1], Q_MIN)
        m.append(gaussian_expectation(lambda x, f=phi: f(x) ** 2, ql, kinks))
        d2.append(gaussian_expectation(lambda x, f=dphi: f(x) ** 2, ql, kinks))
        q.append(sw[i + 1] * m[-1] + sb[i + 1])
    chi = [sw[i + 1] * d2[i] for i in range(n_hidden)]
    delta2 = [1.0] * (n_hidden + 1)        # |delta^l|^2 relative to the output layer's
    for i in range(n_hidden - 1, -1, -1):
        delta2[i] = chi[i] * delta2[i + 1]
    g2 = [widths[i] * m[i] * delta2[i] for i in range(n_hidden + 1)]
    with np.errstate(divide="ignore", invalid="ignore"):
        norms = np.sqrt(np.asarray(g2) / g2[-1]) if g2[-1] > 0 else np.full(len(g2), math.nan)
    return LayerwisePrediction(tuple(q), tuple(chi), tuple(float(v) for v in norms))


def _per_layer(name: str, value: Any, n: int) -> list[float]:
    if np.ndim(value) == 0:
        return [float(value)] * n
    values = [float(v) for v in value]
    if len(values) != n:
        raise ValueError(f"{name} must be one value or {n} (one per layer), got {len(values)}")
    return values


def layerwise_batch(activations: Sequence[Any], widths: Sequence[int], sigma_w2: float | Sequence[float],
                    sigma_b2: float | Sequence[float], x: Any, targets: Any, *, samples: int = 2048,
                    output_samples: int = 512, seed: int = 0) -> LayerwisePrediction:
    """The norm of the gradient of the *mean* loss over a batch, layer by layer: :func:`layerwise`
    with the cross-example terms.

    For a batch the gradient is (1/B) sum_a y_a^{l-1} (x) delta_a^l, whose squared norm is
    (1/B^2) sum_{a,b} (y_a^{l-1} . y_b^{l-1}) (delta_a^l . delta_b^l). At infinite width both dot
    products are deterministic kernels (the gradient-independence assumption for the second):
    y_a . y_b = n_{l-1} E[phi(u_a) phi(u_b)], u ~ N(0, Sigma^{l-1}), the forward kernel
    Sigma^{l} = sigma_w2(l) E[phi(u_a) phi(u_b)] + sigma_b2(l) (Sigma^1 from x_a . x_b / n_0), and
    delta_a^l . delta_b^l = sigma_w2(l+1) E[phi'(u_a) phi'(u_b)] (delta_a^{l+1} . delta_b^{l+1}).
    Where the examples are correlated (all-positive pixels, ReLU nets whose correlations grow
    with depth) the off-diagonal terms scale differently from the diagonal ones, and the
    single-input chi_1 product of :func:`layerwise` misses by up to a factor of two.

    The output error of softmax cross-entropy (sigmoid for one output) is delta_a = p_a - t_a:
    its kernel E[(p_a - t_a) . (p_b - t_b)] is averaged over ``output_samples`` draws of the
    logits, independent Gaussian processes of kernel Sigma^{L+1} (one per output unit). The
    Gaussian expectations over all pairs are Monte Carlo averages over ``samples`` joint draws
    of u (seeded by ``seed``), the same draws for every pair: a relative error of about
    1/sqrt(samples) per entry, less on the sums over pairs. ``x`` and ``targets`` (labels or
    one-hot rows) are the whole batch: a subsample would not do, since the off-diagonal sum
    depends on the batch's own class balance (sum_a (p_a - t_a) nearly cancels).
    """
    acts, widths, sw, sb = _network(activations, widths, sigma_w2, sigma_b2)
    n_hidden = len(acts)
    X = np.asarray(x, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != widths[0] or len(X) < 2:
        raise ValueError(f"x must be (at least 2 examples, {widths[0]} features), got shape {X.shape}")
    k = widths[-1]
    t = np.asarray(targets)
    if t.ndim == 1 and k > 1:
        t = np.eye(k)[t.astype(int)]
    T = np.asarray(t, dtype=np.float64).reshape(len(X), k)
    n = len(X)
    rng = np.random.default_rng(seed)
    kin = [X @ X.T]                    # y_a^{l-1} . y_b^{l-1} for every Dense layer
    sigma = sw[0] * kin[0] / widths[0] + sb[0]
    qs = [float(np.mean(np.diag(sigma)))]
    chis = []
    for i, act in enumerate(acts):
        phi, dphi = _phi(act), _dphi(act)
        u = _gaussian_draws(sigma, samples, rng)
        with np.errstate(over="ignore", invalid="ignore"):
            y, d = phi(u), dphi(u)
        m = y.T @ y / samples
        kin.append(widths[i + 1] * m)
        chis.append(sw[i + 1] * (d.T @ d / samples))
        sigma = sw[i + 1] * m + sb[i + 1]
        qs.append(float(np.mean(np.diag(sigma))))
    z = _gaussian_draws(sigma, output_samples * k, rng).reshape(output_samples, k, n).transpose(0, 2, 1)
    if k == 1:
        p = 1.0 / (1.0 + np.exp(-z))
    else:
        z = z - z.max(axis=2, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=2, keepdims=True)
    err = p - T[None]
    err = err.transpose(1, 0, 2).reshape(n, -1)
    delta = err @ err.T / output_samples
    g2 = [0.0] * (n_hidden + 1)
    for i in range(n_hidden, -1, -1):
        g2[i] = float(np.sum(kin[i] * delta))
        if i > 0:
            delta = chis[i - 1] * delta
    norms = np.sqrt(np.maximum(np.asarray(g2), 0.0) / g2[-1]) if g2[-1] > 0 else np.full(len(g2), math.nan)
    chi = tuple(float(np.mean(np.diag(c))) for c in chis)
    return LayerwisePrediction(tuple(qs), chi, tuple(float(v) for v in norms))


def _gaussian_draws(cov: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
    """``samples`` draws (rows) of N(0, cov): a symmetric square root, so that a singular kernel
    (correlations reaching 1) is fine."""
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2.0)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    return rng.standard_normal((samples, len(cov))) @ root.T
