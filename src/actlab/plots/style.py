"""The one style table of actlab's figures: every series (an activation, mostly) gets a colour,
a dash pattern and a marker of its own, so that curves lying on top of each other (relu under
leaky_relu and elu) stay visible and can be told apart, also printed in grey.

>>> [s["linestyle"] for s in series_styles(3)]
['-', '--', '-.']
"""
from __future__ import annotations

from typing import Any

__all__ = ["LINESTYLES", "MARKERS", "markevery", "percent_axis", "series_styles"]

LINESTYLES: list[Any] = ["-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)), (0, (3, 1, 1, 1, 1, 1, 1, 1)),
                         (0, (1, 2))]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]


def series_styles(n: int) -> list[dict[str, Any]]:
    """``n`` styles, ``{"color", "linestyle", "marker"}``, in a fixed order (series ``i`` always
    looks the same): tab10 colours (tab20 beyond 10), the dash patterns and markers cycling."""
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [{"color": cmap(i % cmap.N), "linestyle": LINESTYLES[i % len(LINESTYLES)],
             "marker": MARKERS[i % len(MARKERS)]} for i in range(n)]


def markevery(i: int, points: int, marks: int = 8) -> tuple[int, int]:
    """About ``marks`` markers along a line of ``points`` points, series ``i`` shifted so that
    markers of overlapping series fall on different points."""
    step = max(1, points // marks)
    return (i % step, step)


def percent_axis(ax, which: str = "y") -> None:
    """Label the ticks of an axis that holds percentages (values 0..100) with a % sign."""
    from matplotlib.ticker import PercentFormatter

    (ax.yaxis if which == "y" else ax.xaxis).set_major_formatter(PercentFormatter(100.0, decimals=None))
