"""Figures of the depth, dying-ReLU and decision-boundary studies.

Every function takes plain numbers (dicts, lists, arrays: what the studies' result objects
return) and builds a :class:`matplotlib.figure.Figure` directly, without ``pyplot``.

- :func:`gradient_norms_figure`: gradient norm per hidden layer (log scale), one panel per
  activation, one line per depth.
- :func:`ratio_figure`: first / last hidden-layer gradient-norm ratio against depth.
- :func:`accuracy_depth_figure`: test accuracy after a fixed budget against depth.
- :func:`layer_epochs_figure`: a per-layer quantity (saturation, gradient norm) over epochs.
- :func:`dead_vs_lr_figure`: dead-unit fraction (and accuracy) against the learning rate.
- :func:`dead_over_epochs_figure`: dead-unit fraction over training, one line per learning rate.
- :func:`boundary_grid_figure`: decision boundaries, rows = data sets, columns = activations.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from .style import percent_axis, series_styles

__all__ = ["gradient_norms_figure", "ratio_figure", "accuracy_depth_figure", "layer_epochs_figure",
           "dead_vs_lr_figure", "dead_over_epochs_figure", "boundary_grid_figure", "PLAYGROUND_CMAP"]

#: TensorFlow Playground's colours: orange for class 0, blue for class 1, white in between.
PLAYGROUND_CMAP = LinearSegmentedColormap.from_list("playground", ["#f59322", "#e8eaeb", "#0877bd"])
_POINT_COLORS = ("#f59322", "#0877bd")


def _grid(n: int, max_cols: int = 5) -> tuple[int, int]:
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def _panels(n: int, width: float = 3.2, height: float = 2.8, max_cols: int = 5, sharey: bool = True):
    rows, cols = _grid(max(n, 1), max_cols)
    fig = Figure(figsize=(width * cols, height * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, sharey=sharey)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _finite(values) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    return arr[np.isfinite(arr)]


def _depth_colors(depths: Sequence[int]):
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    lo, hi = min(depths), max(depths)
    return {d: cmap(0.05 + 0.8 * ((d - lo) / (hi - lo) if hi > lo else 1.0)) for d in depths}


def gradient_norms_figure(profiles: Mapping[str, Mapping[int, Sequence[float]]], *,
                          title: str = "Gradient norm per hidden layer at initialisation",
                          predictions: Mapping[str, Mapping[int, Sequence[float] | None]] | None = None) -> Figure:
    """``profiles[activation][depth]`` = the norm of dL/dW for hidden layers 1..depth.

    One panel per activation (shared log y axis), one line per depth: a line that falls toward
    layer 1 is the vanishing gradient. ``predictions`` (same keys) adds the theory's values as
    dashed lines of the same colour; an activation whose predictions are all ``None`` is titled
    "no prediction".
    """
    acts = list(profiles)
    fig, axes = _panels(len(acts))
    depths = sorted({d for a in acts for d in profiles[a]})
    colors = _depth_colors(depths) if depths else {}
    for ax, act in zip(axes, acts):
        for depth in sorted(profiles[act]):
            norms = np.asarray(profiles[act][depth], dtype=np.float64)
            if not np.isfinite(norms).any():
                continue
            layers = np.arange(1, len(norms) + 1)
            ax.plot(layers, norms, marker="o", ms=3, color=colors[depth], label=f"{depth} hidden")
            pred = (predictions or {}).get(act, {}).get(depth)
            if pred is not None:
                ax.plot(np.arange(1, len(pred) + 1), np.asarray(pred, dtype=np.float64), ls="--", lw=1.2,
                        marker="_", ms=8, color=colors[depth])
        ax.set_yscale("log")
        no_theory = predictions is not None and all(v is None for v in predictions.get(act, {}).values())
        ax.set_title(f"{act} (no prediction)" if no_theory else act)
        ax.set_xlabel("hidden layer (1 = nearest the input)")
        ax.grid(True, which="major", alpha=0.3)
        if depths:
            ax.set_xticks(range(1, max(depths) + 1, max(1, max(depths) // 5)))
    if axes:
        axes[0].set_ylabel("‖dL/dW‖ (Frobenius)")
        handles, labels = axes[0].get_legend_handles_labels()
        if predictions is not None:
            from matplotlib.lines import Line2D

            handles = [*handles, Line2D([], [], color="0.3", marker="o", ms=3),
                       Line2D([], [], color="0.3", ls="--", lw=1.2, marker="_", ms=8)]
            labels = [*labels, "measured", "mean-field theory"]
        if handles:
            fig.legend(handles, labels, loc="outside right upper", title="depth", fontsize="small")
    fig.suptitle(title)
    return fig


def ratio_figure(rows: Sequence[Mapping[str, Any]], *,
                 title: str = "First / last hidden-layer gradient norm at initialisation") -> Figure:
    """``rows`` as :meth:`DepthResult.ratio_summary` gives them (activation, depth, ratio,
    ratio_low, ratio_high): ratio against depth on a log axis, one line per activation."""
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    acts = list(dict.fromkeys(r["activation"] for r in rows))
    for act, style in zip(acts, series_styles(len(acts))):
        sel = sorted((r for r in rows if r["activation"] == act and np.isfinite(r["ratio"])), key=lambda r: r["depth"])
        if not sel:
            continue
        d = [r["depth"] for r in sel]
        v = np.array([r["ratio"] for r in sel])
        lo = np.array([r.get("ratio_low", r["ratio"]) for r in sel])
        hi = np.array([r.get("ratio_high", r["ratio"]) for r in sel])
        ax.errorbar(d, v, yerr=[np.maximum(v - lo, 0), np.maximum(hi - v, 0)], marker=style["marker"], ms=4,
                    capsize=3, color=style["color"], ls=style["linestyle"], label=act)
    ax.axhline(1.0, color="0.5", lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_xlabel("number of hidden layers")
    ax.set_ylabel("‖dL/dW₁‖ / ‖dL/dW_last hidden‖")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(title)
    return fig


def accuracy_depth_figure(rows: Sequence[Mapping[str, Any]], *, title: str = "Test accuracy after the budget") -> Figure:
    """``rows`` as :meth:`DepthResult.accuracy_summary` (activation, depth, accuracy, low, high):
    accuracy (in %) against depth with its 95% interval as a band."""
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    acts = list(dict.fromkeys(r["activation"] for r in rows))
    for act, style in zip(acts, series_styles(len(acts))):
        sel = sorted((r for r in rows if r["activation"] == act and np.isfinite(r["accuracy"])), key=lambda r: r["depth"])
        if not sel:
            continue
        d = np.array([r["depth"] for r in sel])
        m = 100 * np.array([r["accuracy"] for r in sel])
        ax.plot(d, m, marker=style["marker"], ms=4, color=style["color"], ls=style["linestyle"], label=act)
        lo = 100 * np.array([r.get("low", r["accuracy"]) for r in sel], dtype=float)
        hi = 100 * np.array([r.get("high", r["accuracy"]) for r in sel], dtype=float)
        ax.fill_between(d, np.clip(lo, 0, 100), np.clip(hi, 0, 100), color=style["color"], alpha=0.15, lw=0)
    ax.set_xlabel("number of hidden layers")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 102)
    percent_axis(ax)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(title)
    return fig


def layer_epochs_figure(curves: Mapping[str, tuple[Sequence[int], Any]], *, ylabel: str = "fraction saturated",
                        log: bool = False, title: str = "Saturation per layer over training",
                        ylim: tuple[float, float] | None = None) -> Figure:
    """``curves[activation] = (epochs, values[epoch, layer])``: one panel per activation, one line
    per hidden layer (dark = nearest the input, light = nearest the output); epoch 0 is the
    initialisation."""
    from matplotlib import colormaps

    acts = list(curves)
    fig, axes = _panels(len(acts))
    cmap = colormaps["plasma"]
    shown = 0
    for ax, act in zip(axes, acts):
        epochs, values = curves[act]
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.size == 0:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
            ax.set_title(act)
            continue
        n_layers = values.shape[1]
        for j in range(n_layers):
            col = values[:, j]
            if log:
                col = np.where(col > 0, col, np.nan)
            ax.plot(epochs, col, color=cmap(0.85 * j / max(n_layers - 1, 1)), lw=1.4,
                    label=f"layer {j + 1}" if n_layers <= 12 else None)
        shown = max(shown, n_layers)
        if log:
            ax.set_yscale("log")
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.set_title(act)
        ax.set_xlabel("epoch (0 = initialisation)")
        ax.grid(True, alpha=0.3)
    if axes:
        axes[0].set_ylabel(ylabel)
        handles, labels = axes[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="outside right upper", fontsize="small", title="hidden layer")
    fig.suptitle(title)
    return fig


def dead_vs_lr_figure(rows: Sequence[Mapping[str, Any]], *,
                      title: str = "Dead hidden units after training vs learning rate (plain SGD)") -> Figure:
    """``rows`` as :meth:`DyingResult.summary` (activation, lr, dead, dead_low, dead_high,
    accuracy, diverged, runs): left, the dead fraction against the learning rate (log x);
    right, the test accuracy. Learning rates where every run diverged are marked with an x."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    acts = list(dict.fromkeys(r["activation"] for r in rows))
    for act, style in zip(acts, series_styles(len(acts))):
        sel = sorted((r for r in rows if r["activation"] == act), key=lambda r: r["lr"])
        ok = [r for r in sel if r.get("runs", 1) and np.isfinite(r["dead"])]
        color = style["color"]
        kw = {"marker": style["marker"], "ms": 4, "capsize": 3, "color": color, "ls": style["linestyle"], "label": act}
        if ok:
            lr = np.array([r["lr"] for r in ok])
            d = np.array([r["dead"] for r in ok])
            lo = np.array([r.get("dead_low", r["dead"]) for r in ok])
            hi = np.array([r.get("dead_high", r["dead"]) for r in ok])
            ax.errorbar(lr, d, yerr=[np.maximum(d - lo, 0), np.maximum(hi - d, 0)], **kw)
            acc = 100 * np.array([r["accuracy"] for r in ok], dtype=float)
            alo = 100 * np.array([r.get("accuracy_low", r["accuracy"]) for r in ok], dtype=float)
            ahi = 100 * np.array([r.get("accuracy_high", r["accuracy"]) for r in ok], dtype=float)
            ax2.errorbar(lr, acc, yerr=[np.maximum(acc - alo, 0), np.maximum(ahi - acc, 0)], **kw)
        div = [r["lr"] for r in sel if r.get("diverged") and not r.get("runs")]
        if div:
            ax.plot(div, [1.02] * len(div), "x", ms=8, color=color, label=f"{act}: all diverged")
    for a in (ax, ax2):
        a.set_xscale("log")
        a.set_xlabel("learning rate")
        a.grid(True, alpha=0.3)
    ax.set_ylim(-0.03, 1.06)
    ax2.set_ylim(-3, 106)
    percent_axis(ax2)
    ax.set_ylabel("fraction of hidden units dead")
    ax.set_title("dead units (derivative 0 on every probe example)", fontsize="medium")
    ax2.set_ylabel("test accuracy (%)")
    ax2.set_title("test accuracy", fontsize="medium")
    ax.legend(fontsize="small")
    fig.suptitle(title)
    return fig


def dead_over_epochs_figure(curves: Mapping[str, Mapping[float, tuple[Sequence[int], Sequence[float]]]], *,
                            ylabel: str = "fraction of hidden units dead",
                            title: str = "Dead hidden units over training") -> Figure:
    """``curves[activation][lr] = (epochs, fractions)``: one panel per activation, one line per
    learning rate (dark = small, light = large)."""
    from matplotlib import colormaps

    acts = list(curves)
    fig, axes = _panels(len(acts))
    lrs = sorted({lr for a in acts for lr in curves[a]})
    cmap = colormaps["viridis"]
    color = {lr: cmap(0.9 * i / max(len(lrs) - 1, 1)) for i, lr in enumerate(lrs)}
    for ax, act in zip(axes, acts):
        for lr in sorted(curves[act]):
            epochs, values = curves[act][lr]
            if len(epochs):
                ax.plot(epochs, values, marker="o", ms=2.5, color=color[lr], label=f"lr {lr:g}")
        ax.set_title(act)
        ax.set_xlabel("epoch (0 = initialisation)")
        ax.set_ylim(-0.03, 1.03)
        ax.grid(True, alpha=0.3)
    if axes:
        axes[0].set_ylabel(ylabel)
        handles, labels = axes[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="outside right upper", fontsize="small", title="learning rate")
    fig.suptitle(title)
    return fig


def boundary_grid_figure(panels: Mapping[tuple[str, str], Mapping[str, Any]], datasets: Sequence[str],
                         activations: Sequence[str], *, title: str = "Decision boundaries",
                         panel_size: float = 2.3) -> Figure:
    """Small multiples: rows = ``datasets``, columns = ``activations``.

    ``panels[(dataset, activation)]`` holds ``xs, ys, p`` (the probability of class 1 on a grid,
    ``p[i, j]`` at ``(xs[j], ys[i])``; None for a run without a model), ``x, y`` (points and
    labels), ``accuracy`` and ``status``. Each panel: the heatmap (orange = class 0, blue =
    class 1, as TensorFlow Playground), the p = 0.5 contour, the points, the test accuracy in
    the corner. The figure has exactly ``len(datasets) * len(activations)`` axes.
    """
    rows, cols = len(datasets), len(activations)
    if rows == 0 or cols == 0:
        raise ValueError("boundary_grid_figure needs at least one data set and one activation")
    fig = Figure(figsize=(panel_size * cols + 0.8, panel_size * rows + 0.7), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    image = None
    for i, ds in enumerate(datasets):
        for j, act in enumerate(activations):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            panel = panels.get((ds, act))
            if i == 0:
                ax.set_title(act, fontsize="medium")
            if j == 0:
                ax.set_ylabel(ds, fontsize="medium")
            if panel is None:
                ax.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax.transAxes)
                continue
            if panel.get("p") is not None:
                xs, ys, p = panel["xs"], panel["ys"], np.asarray(panel["p"])
                image = ax.imshow(p, origin="lower", extent=(xs[0], xs[-1], ys[0], ys[-1]), cmap=PLAYGROUND_CMAP,
                                  vmin=0.0, vmax=1.0, aspect="auto", interpolation="bilinear")
                if np.nanmin(p) < 0.5 < np.nanmax(p):
                    ax.contour(xs, ys, p, levels=[0.5], colors="k", linewidths=0.9)
            x, y = np.asarray(panel["x"]), np.asarray(panel["y"])
            for k in (0, 1):
                sel = y == k
                ax.scatter(x[sel, 0], x[sel, 1], s=7, c=_POINT_COLORS[k], edgecolors="white", linewidths=0.4)
            if panel.get("xlim"):
                ax.set_xlim(*panel["xlim"])
                ax.set_ylim(*panel["ylim"])
            status = panel.get("status", "done")
            acc = panel.get("accuracy")
            text = f"test {acc:.2f}" if status == "done" and acc is not None and np.isfinite(acc) else status
            ax.text(0.97, 0.03, text, transform=ax.transAxes, ha="right", va="bottom", fontsize="small",
                    bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="0.6", alpha=0.85))
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.6, label="P(class 1)")
    fig.suptitle(title)
    return fig
