"""The empirical phase diagram (``actlab phase``): accuracy over sigma_w^2 x depth, the theory's curve over it."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["curve_in_cells", "plot_phase_heatmap"]


def curve_in_cells(sigma_w2: Sequence[float], depths: Sequence[int], curve_x: Sequence[float],
                   curve_y: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The curve (sigma_w^2, depth) in the heatmap's cell coordinates (column and row index,
    piecewise linear between grid values), the depth clipped to half a row beyond the grid
    (infinite depths, at the edge of chaos, too); points outside the sigma_w^2 range or with no
    prediction (nan) are dropped."""
    xs, ys = [], []
    top = len(depths) - 0.5
    for x, y in zip(curve_x, curve_y):
        if not (sigma_w2[0] <= x <= sigma_w2[-1]) or (isinstance(y, float) and math.isnan(y)):
            continue
        xs.append(float(np.interp(x, sigma_w2, np.arange(len(sigma_w2)))))
        if y >= depths[-1]:
            row = top if math.isinf(y) else min(top, len(depths) - 1 + (y - depths[-1]) / max(
                depths[-1] - depths[-2] if len(depths) > 1 else 1, 1))
        elif y <= depths[0]:
            row = max(-0.5, (y - depths[0]) / max(depths[1] - depths[0] if len(depths) > 1 else 1, 1))
        else:
            row = float(np.interp(y, depths, np.arange(len(depths))))
        ys.append(row)
    return np.array(xs), np.array(ys)


def plot_phase_heatmap(means: Sequence[Sequence[float | None]], diverged: Sequence[Sequence[int]],
                       sigma_w2: Sequence[float], depths: Sequence[int], curve_x: Sequence[float],
                       curve_y: Sequence[float], *, edge: float | None = None, title: str = ""):
    """Mean test accuracy (rows: depths, growing upwards; columns: sigma_w^2), ``x`` on cells with
    diverged runs, the predicted 6 xi_c curve (white) and the edge of chaos (dashed)."""
    from .heatmap import plot_heatmap

    texts = [[("-" if m is None else f"{100 * m:.0f}") for m in row] for row in means]
    fig = plot_heatmap([[None if m is None else 100 * m for m in row] for row in means], [str(d) for d in depths],
                       [f"{s:g}" for s in sigma_w2], texts=texts, xlabel="sigma_w^2", ylabel="depth (hidden layers)",
                       colorbar="test accuracy %", vmin=0, vmax=100, title=title)
    ax = fig.axes[0]
    ax.invert_yaxis()
    for i, row in enumerate(diverged):
        for j, d in enumerate(row):
            if d:
                ax.plot(j + 0.3, i + 0.3, marker="x", color="red", markersize=7, mew=2)
    xs, ys = curve_in_cells(sigma_w2, depths, curve_x, curve_y)
    if len(xs):
        ax.plot(xs, ys, color="white", lw=2.5, label="6 xi_c (theory)")
        ax.plot(xs, ys, color="black", lw=1, ls=":")
    if edge is not None and sigma_w2[0] <= edge <= sigma_w2[-1]:
        ax.axvline(float(np.interp(edge, sigma_w2, np.arange(len(sigma_w2)))), color="white", ls="--", lw=1.2,
                   label=f"edge of chaos {edge:.3g}")
    ax.set_xlim(-0.5, len(sigma_w2) - 0.5)
    ax.set_ylim(-0.5, len(depths) - 0.5)
    if len(xs) or edge is not None:
        ax.legend(loc="upper left", fontsize=7, framealpha=0.6)
    return fig
