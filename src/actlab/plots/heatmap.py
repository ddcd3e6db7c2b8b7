"""A heatmap of a grid of numbers with a text in each cell (used by ``actlab sweep``).

>>> fig = plot_heatmap([[0.9, 0.8], [0.7, None]], ["a", "b"], ["x", "y"], texts=[["90%", "80%"], ["70%", "-"]])
>>> len(fig.axes)
2
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["plot_heatmap"]


def plot_heatmap(values: Sequence[Sequence[float | None]], row_labels: Sequence[str], col_labels: Sequence[str], *,
                 texts: Sequence[Sequence[str]] | None = None, title: str = "", xlabel: str = "", ylabel: str = "",
                 colorbar: str = "", vmin: float | None = None, vmax: float | None = None):
    """Rows x columns of ``values`` as colours (None: blank), ``texts`` written in the cells."""
    from matplotlib.figure import Figure

    z = np.array([[np.nan if v is None else float(v) for v in row] for row in values], dtype=float)
    if z.shape != (len(row_labels), len(col_labels)):
        raise ValueError(f"values have shape {z.shape}, the labels {len(row_labels)} x {len(col_labels)}")
    label_width = 0.08 * max((len(str(r)) for r in row_labels), default=0)  # inches the row labels take
    fig = Figure(figsize=(2.4 + label_width + 1.0 * max(len(col_labels), 2), 1.2 + 0.6 * max(len(row_labels), 2)),
                 layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(np.ma.masked_invalid(z), cmap="viridis", aspect="auto", vmin=vmin, vmax=vmax)
    ax.set_xticks(range(len(col_labels)), [str(c) for c in col_labels], rotation=30, ha="right")
    ax.set_yticks(range(len(row_labels)), [str(r) for r in row_labels])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    finite = z[np.isfinite(z)]
    mid = float(finite.min() + finite.max()) / 2 if finite.size else 0.0
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            text = texts[i][j] if texts is not None else ("-" if not np.isfinite(z[i, j]) else f"{z[i, j]:.3g}")
            color = "white" if np.isfinite(z[i, j]) and z[i, j] < mid else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=color)
    fig.colorbar(image, ax=ax, label=colorbar)
    return fig
