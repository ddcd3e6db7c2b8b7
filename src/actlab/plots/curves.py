"""Activation curves: the function and its derivative side by side, as in the study notes.

Kinks are drawn with the convention of :mod:`actlab.activations.base`: in the derivative panel
each kink shows the two one-sided limits as open circles and the value actlab uses (the
one-sided derivative of smaller magnitude) as a filled dot; the line is broken there instead of
joined by a vertical segment.

>>> from actlab.plots import plot_curves
>>> fig = plot_curves(["relu", "tanh"])
>>> [ax.get_title() for ax in fig.axes]
['f(x)', "f'(x)"]
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from actlab.activations import Activation, get

__all__ = ["plot_curves", "save_figure", "SAVE_FORMATS"]

SAVE_FORMATS = (".png", ".svg", ".pdf")


def _expand(names_or_activations: Any) -> list[Activation]:
    """Activations to draw; a per-unit parameter array (prelu's alpha) gives one curve per unit."""
    if isinstance(names_or_activations, (str, Activation)) or callable(names_or_activations):
        items = [names_or_activations]
    else:
        items = list(names_or_activations)
    if not items:
        raise ValueError("plot_curves needs at least one activation name, got none")
    out: list[Activation] = []
    for item in items:
        act = get(item)
        arrays = {k: v for k, v in act.params.items() if isinstance(v, np.ndarray) and v.ndim > 0}
        if arrays and act.elementwise:
            key, values = next(iter(arrays.items()))
            out += [act.with_params(**{key: float(v)}) for v in values.reshape(-1)]
        else:
            out.append(act)
    return out


def _slice(act: Activation):
    """f and df/dx along a line, for an elementwise function or a vector one.

    A vector function (softmax, log_softmax, maxout) is drawn along the input [x, 0, ..., 0]:
    its first output and the partial derivative of that output with respect to x.
    """
    if act.elementwise:
        return (lambda x: np.asarray(act(x), dtype=np.float64),
                lambda x: np.asarray(act.derivative(x), dtype=np.float64), "")
    width = 2 * int(act.params.get("k", 1))

    def embed(x):
        X = np.zeros((x.size, width))
        X[:, 0] = x
        return X

    def f(x):
        return np.asarray(act(embed(x)), dtype=np.float64)[:, 0]

    def d(x):
        X = embed(x)
        y = act(X)
        g = np.zeros_like(y)
        g[:, 0] = 1.0
        return np.asarray(act.vjp(X, y, g), dtype=np.float64)[:, 0]

    zeros = ", 0" * (width - 1)
    return f, d, f" along [x{zeros}], output 0"


def _pieces(lo: float, hi: float, kinks: Sequence[float], n: int) -> list[np.ndarray]:
    """The x range cut at the kinks (each piece stops just short of a kink)."""
    inner = sorted(k for k in kinks if lo < k < hi)
    bounds = [lo, *inner, hi]
    pieces = []
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        m = max(2, int(round(n * (b - a) / (hi - lo))))
        xs = np.linspace(a, b, m)
        if i > 0:
            xs[0] = a + 1e-9 * max(1.0, abs(a))
        if i < len(bounds) - 2:
            xs[-1] = b - 1e-9 * max(1.0, abs(b))
        pieces.append(xs)
    return pieces


def _break_jumps(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """NaN between neighbours whose values jump (a vector function's kinks are not declared)."""
    jump = np.abs(np.diff(y)) > 0.25 * (1.0 + np.abs(y[1:]))
    if not np.any(jump):
        return x, y
    idx = np.flatnonzero(jump) + 1
    return np.insert(x, idx, np.nan), np.insert(y, idx, np.nan)


def _draw(ax, fn, act_kinks, lo, hi, n, color, label, where, linestyle="-") -> bool:
    """One curve on ``ax``; returns whether a kink was marked."""
    marked = False
    first = True
    for xs in _pieces(lo, hi, act_kinks, n):
        ys = fn(xs)
        if not act_kinks:
            xs, ys = _break_jumps(xs, ys)
        ax.plot(xs, ys, color=color, lw=1.8, ls=linestyle, label=label if first else None)
        first = False
    for k in act_kinks:
        if not lo <= k <= hi:
            continue
        d = 1e-9 * max(1.0, abs(k))
        left, at, right = fn(np.array([k - d, k, k + d]))
        if where == "f" and abs(left - right) < 1e-6 * (1.0 + abs(at)):
            ax.plot([k], [at], "o", color=color, ms=4)  # a kink of a continuous function
        else:
            ax.plot([k, k], [left, right], "o", mfc="white", mec=color, mew=1.4, ms=6, ls="none", zorder=3)
            ax.plot([k], [at], "o", color=color, ms=5, zorder=4)
        marked = True
    return marked


def plot_curves(names_or_activations: Any, *, derivative: bool = True,
                x_range: tuple[float, float] = (-5.0, 5.0), ax: Any = None, fig: Any = None,
                points: int = 1001, title: str | None = None):
    """The activations' curves (and their derivatives, side by side).

    Args:
        names_or_activations: a name, an :class:`Activation`, a callable, or a list of them.
        derivative: draw f' in a second panel.
        x_range: the inputs shown, (low, high).
        ax: an Axes (or a pair of Axes when ``derivative``) to draw on; otherwise a new figure.
        fig: a :class:`matplotlib.figure.Figure` to draw on when ``ax`` is not given.
        points: how many inputs per curve.
        title: a title above the panels.

    Returns:
        the :class:`matplotlib.figure.Figure`.
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    lo, hi = (float(v) for v in x_range)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"x_range must be two finite numbers, low < high; got {tuple(x_range)!r}")
    if int(points) < 2:
        raise ValueError(f"points must be >= 2, got {points!r}")
    acts = _expand(names_or_activations)
    n_panels = 2 if derivative else 1
    if ax is not None:
        axes = list(ax) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
        if len(axes) != n_panels:
            raise ValueError(f"ax must hold {n_panels} Axes (derivative={derivative}), got {len(axes)}")
        fig = axes[0].figure
    else:
        if fig is None:
            fig = Figure(figsize=(10.0, 4.2) if derivative else (5.6, 4.2), layout="constrained")
        axes = list(np.atleast_1d(fig.subplots(1, n_panels, squeeze=False)[0]))

    from .style import series_styles

    any_kink = False
    for act, style in zip(acts, series_styles(len(acts))):   # dashes tell overlapping curves apart
        color, ls = style["color"], style["linestyle"]
        f, d, suffix = _slice(act)
        kinks = act.kinks if act.elementwise else ()
        label = act.label(every=True) + suffix
        any_kink |= _draw(axes[0], f, kinks, lo, hi, points, color, label, "f", ls)
        if derivative:
            any_kink |= _draw(axes[1], d, kinks, lo, hi, points, color, label, "d", ls)

    titles = ["f(x)", "f'(x)"]
    for a, t in zip(axes, titles):
        a.set_title(t)
        a.set_xlabel("x")
        a.axhline(0.0, color="0.6", lw=0.8, zorder=0)
        a.axvline(0.0, color="0.6", lw=0.8, zorder=0)
        a.grid(True, alpha=0.3)
        a.set_xlim(lo, hi)
    handles, labels = axes[0].get_legend_handles_labels()
    axes[0].legend(handles, labels, loc="best", fontsize="small")
    if derivative and any_kink:
        axes[1].legend(handles=[
            Line2D([], [], marker="o", ls="none", color="0.2", ms=5, label="f' used at a kink (min-norm)"),
            Line2D([], [], marker="o", ls="none", mfc="white", mec="0.2", ms=6, label="one-sided limit"),
        ], loc="best", fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def save_figure(fig: Any, path: str | Path, *, dpi: int = 150) -> Path:
    """Write ``fig`` to ``path`` (.png, .svg or .pdf, by the extension); returns the path."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in SAVE_FORMATS:
        raise ValueError(f"cannot save a figure as {path.name!r}: unknown extension {ext or '(none)'!r}; "
                         f"valid: {', '.join(SAVE_FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, format=ext[1:])
    return path
