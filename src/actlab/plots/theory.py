"""The phase diagram of the mean-field theory: order and chaos over (sigma_w^2, sigma_b^2).

The background is log chi_1 (blue: ordered, gradients vanish; red: chaotic, gradients explode;
grey: the length map diverges), the black curve is the edge of chaos chi_1 = 1, and the thin
contours are the depth scale xi_c (a net of depth up to about 6 xi_c still trains).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import theory as T

XI_LEVELS = (1, 2, 5, 10, 20)   # larger ones crowd the edge, where xi_c -> inf


def phase_grid(activation: Any, sigma_w2: np.ndarray, sigma_b2: np.ndarray, params: dict | None = None,
               xi: bool = True) -> dict[str, np.ndarray]:
    """chi_1 (NaN where q* diverges) and xi_c over the grid ``sigma_b2 x sigma_w2`` (rows x columns)."""
    chi = np.full((len(sigma_b2), len(sigma_w2)), np.nan)
    xic = np.full_like(chi, np.nan)
    for i, sb in enumerate(sigma_b2):
        for j, sw in enumerate(sigma_w2):
            if xi:
                p = T.point(activation, float(sw), float(sb), params)
                chi[i, j], xic[i, j] = p.chi1, p.xi_c
            else:
                fp = T.q_star(activation, float(sw), float(sb), params)
                if not fp.diverged:
                    chi[i, j] = T.chi1(activation, float(sw), float(sb), params, q=fp.q_star)
    return {"chi1": chi, "xi_c": xic}


def plot_phase_diagram(activation: Any, params: dict | None = None, *,
                       sigma_w2_range: tuple[float, float] | None = None,
                       sigma_b2_range: tuple[float, float] = (0.0, 0.5),
                       edges: Sequence[T.Edge] = (), resolution: tuple[int, int] = (48, 24),
                       xi_resolution: tuple[int, int] = (16, 8), fig: Any = None, title: str | None = None):
    """The (sigma_w^2, sigma_b^2) plane for one activation: order vs chaos, the edge, xi_c.

    Args:
        activation: a name, an ``Activation`` or a callable.
        params: the activation's parameters.
        sigma_w2_range: the x axis; default: around the edges in ``edges`` (0.25 to 4 without).
        sigma_b2_range: the y axis.
        edges: :class:`actlab.theory.Edge` results drawn as markers (exact edges at those sigma_b2).
        resolution: (columns, rows) of the chi_1 grid (cheap: one length-map fixed point each).
        xi_resolution: (columns, rows) of the xi_c grid (a correlation fixed point each in chaos:
            about 0.5 s per point).
        fig: a :class:`matplotlib.figure.Figure` to draw on.

    Returns:
        the :class:`matplotlib.figure.Figure`.
    """
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.figure import Figure

    found = [e.sigma_w2 for e in edges if e.sigma_w2 is not None]
    if sigma_w2_range is None:
        sigma_w2_range = (min(found) / 2.5, max(found) * 2.5) if found else (0.25, 4.0)
    lo, hi = (float(v) for v in sigma_w2_range)
    blo, bhi = (float(v) for v in sigma_b2_range)
    if not (0 < lo < hi and math.isfinite(hi)):
        raise ValueError(f"sigma_w2_range must be 0 < low < high, got {tuple(sigma_w2_range)!r}")
    if not (0 <= blo < bhi and math.isfinite(bhi)):
        raise ValueError(f"sigma_b2_range must be 0 <= low < high, got {tuple(sigma_b2_range)!r}")
    sw = np.geomspace(lo, hi, resolution[0])
    sb = np.linspace(blo, bhi, resolution[1])
    chi = phase_grid(activation, sw, sb, params, xi=False)["chi1"]

    fig = fig or Figure(figsize=(7.0, 4.8), layout="constrained")
    ax = fig.subplots()
    logchi = np.log(chi)
    span = np.nanmax(np.abs(logchi)) if np.isfinite(logchi).any() else 1.0
    span = span if span > 0 else 1.0
    ax.set_facecolor("0.8")   # NaN cells (q* diverges) stay grey
    mesh = ax.pcolormesh(sw, sb, logchi, cmap="RdBu_r", shading="nearest",
                         norm=TwoSlopeNorm(0.0, -span, span))
    fig.colorbar(mesh, ax=ax, label=r"$\log \chi_1$  (< 0 ordered, > 0 chaotic)")
    if np.nanmin(logchi) < 0 < np.nanmax(logchi):
        ax.contour(sw, sb, logchi, levels=[0.0], colors="k", linewidths=2.0).set_gid("edge")
    if xi_resolution and min(xi_resolution) > 1:
        swx = np.geomspace(lo, hi, xi_resolution[0])
        sbx = np.linspace(blo, bhi, xi_resolution[1])
        xic = phase_grid(activation, swx, sbx, params)["xi_c"]
        # contoured in log xi_c (smoother between the coarse grid's points; inf at the edge -> big)
        logxi = np.log(np.where(np.isinf(xic), 1e6, xic))   # NaN (q* diverges) stays NaN
        levels = [v for v in XI_LEVELS if np.nanmin(logxi) < math.log(v) < np.nanmax(logxi)]
        if levels:
            cs = ax.contour(swx, sbx, logxi, levels=[math.log(v) for v in levels], colors="0.25",
                            linewidths=0.8, linestyles="--")
            cs.set_gid("xi_c")
            ax.clabel(cs, fmt=lambda v: rf"$\xi_c$={math.exp(v):.0f}", fontsize="x-small")
    handles = []
    pts = [(e.sigma_w2, e.sigma_b2) for e in edges if e.sigma_w2 is not None and lo <= e.sigma_w2 <= hi]
    if pts:
        handles += ax.plot(*zip(*pts), "o", color="k", mfc="white", ms=6, label=r"edge of chaos ($\chi_1 = 1$)")
    if np.isnan(chi).any():
        from matplotlib.patches import Patch

        handles.append(Patch(facecolor="0.8", label=r"$q^*$ diverges (no fixed point)"))
    if handles:
        ax.legend(handles=handles, loc="upper left", fontsize="small")
    ax.set_xscale("log")
    from matplotlib.ticker import ScalarFormatter

    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(ScalarFormatter())
    ax.tick_params(axis="x", which="minor", labelsize="x-small")
    ax.set_xlabel(r"$\sigma_w^2$ (weight variance x fan-in)")
    ax.set_ylabel(r"$\sigma_b^2$ (bias variance)")
    name = getattr(activation, "name", activation)
    ax.set_title(title or f"{name}: ordered (blue) vs chaotic (red); dashed: $\\xi_c$ (trainable depth ~ 6 $\\xi_c$)",
                 fontsize="medium")
    return fig
