"""Training plots: learning curves with confidence bands, final accuracy per activation.

Both take plain data (histories as stored by the studies' runner), and return a
:class:`matplotlib.figure.Figure` built without ``pyplot``.

>>> fig = plot_learning_curves({"relu": [{"val_accuracy": [0.5, 0.7]}, {"val_accuracy": [0.6, 0.8]}]},
...                            metrics=["val_accuracy"])
>>> fig.axes[0].get_ylabel()
'test accuracy (%)'

Accuracies are drawn in % (as the tables show them); each group has its own colour, dash
pattern and marker (:mod:`actlab.plots.style`); bands and error bars are drawn only where
at least ``MIN_INFORMATIVE_N`` runs give an interval worth showing.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

__all__ = ["plot_learning_curves", "plot_final_accuracy", "METRIC_LABELS"]

METRIC_LABELS = {
    "val_accuracy": "test accuracy", "accuracy": "train accuracy",
    "val_loss": "test loss", "loss": "train loss", "seconds": "seconds per epoch",
}
_LOG_METRICS = {"loss", "val_loss"}


def _is_accuracy(metric: str) -> bool:
    return metric.endswith("accuracy")


def _metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric) + (" (%)" if _is_accuracy(metric) else "")


def plot_learning_curves(groups: Mapping[str, Sequence[Mapping]], metrics: Sequence[str] = ("val_accuracy", "loss"),
                         confidence: float = 0.95, title: str | None = None, show_runs: bool = True,
                         x: str = "epoch"):
    """Mean curve per group with its ``confidence`` t band over runs (seeds), one panel per metric.

    Args:
        groups: label -> list of histories (dicts of per-epoch lists, as the runner stores).
            A shorter history (a diverged run) counts until it stopped; its end is marked x.
        metrics: history keys to draw (``val_accuracy``, ``accuracy``, ``val_loss``, ``loss``).
        show_runs: also draw each run thinly.
        x: ``'epoch'`` or ``'seconds'`` (cumulative wall time of the mean run).
    """
    from matplotlib.figure import Figure

    from ..stats import curve_band
    from .style import markevery, percent_axis, series_styles

    if x not in ("epoch", "seconds"):
        raise ValueError(f"x must be 'epoch' or 'seconds', got {x!r}")
    metrics = list(metrics)
    if not metrics:
        raise ValueError("plot_learning_curves needs at least one metric")
    fig = Figure(figsize=(5.2 * len(metrics), 3.9), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    styles = series_styles(len(groups))
    for ax, metric in zip(axes, metrics):
        log = metric in _LOG_METRICS
        scale = 100.0 if _is_accuracy(metric) else 1.0
        for i, (style, (label, histories)) in enumerate(zip(styles, groups.items())):
            color = style["color"]
            curves = [[scale * float(v) for v in h.get(metric) or []] for h in histories if h]
            curves = [c for c in curves if c]
            if not curves:
                continue
            band = curve_band(curves, confidence)
            if x == "seconds":
                secs = [np.cumsum(h.get("seconds") or []) for h in histories if h and h.get(metric)]
                xs = curve_band(secs, confidence)["mean"] if secs else band["epoch"]
            else:
                xs = band["epoch"]
            n_runs = len(curves)
            ax.plot(xs, band["mean"], color=color, lw=1.8, ls=style["linestyle"], marker=style["marker"], ms=4,
                    markevery=markevery(i, len(band["mean"])), label=f"{label} (n={n_runs})")
            ok = np.isfinite(band["low"]) & np.isfinite(band["high"])
            if ok.any():
                ax.fill_between(np.asarray(xs)[ok], band["low"][ok], band["high"][ok], color=color, alpha=0.2, lw=0)
            if show_runs and n_runs > 1:
                for c in curves:
                    ax.plot(np.asarray(xs)[:len(c)], c, color=color, lw=0.5, alpha=0.35, ls=style["linestyle"])
            for c in curves:  # runs that stopped early (diverged)
                if len(c) < len(band["epoch"]):
                    ax.plot([np.asarray(xs)[len(c) - 1]], [c[-1]], "x", color=color, ms=7)
        if x == "epoch":
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch" if x == "epoch" else "seconds (mean run)")
        ax.set_ylabel(_metric_label(metric))
        if log:
            ax.set_yscale("log")
        if scale != 1.0:
            percent_axis(ax)
        ax.grid(True, alpha=0.3)
        ax.set_title(METRIC_LABELS.get(metric, metric))
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(fontsize=8, loc="best")
    if title:
        fig.suptitle(title)
    return fig


def plot_final_accuracy(groups: Mapping[str, Sequence[float | None]], confidence: float = 0.95,
                        title: str | None = None, diverged: Mapping[str, int] | None = None,
                        reference: Mapping[str, float] | None = None, reference_label: str = "reference",
                        xlabel: str = "final test accuracy"):
    """One row per group: each run as a dot, the mean with its ``confidence`` t interval as a bar.

    Accuracies are given as fractions and drawn in %. ``diverged`` counts runs with no final
    accuracy (shown in the label); ``reference`` adds a marker per group (e.g. the study notes'
    figures). The interval is drawn from ``MIN_INFORMATIVE_N`` runs on.
    """
    from matplotlib.figure import Figure

    from ..stats import MIN_INFORMATIVE_N, t_interval
    from .style import percent_axis, series_styles

    labels = list(groups)
    fig = Figure(figsize=(7.0, 0.55 * max(len(labels), 2) + 1.4), layout="constrained")
    ax = fig.subplots()
    styles = series_styles(len(labels))
    rng = np.random.default_rng(0)  # jitter of the dots only
    for i, (label, style) in enumerate(zip(labels, styles)):
        y = len(labels) - 1 - i
        vals = 100.0 * np.array([v for v in groups[label] if v is not None and math.isfinite(v)], dtype=float)
        if len(vals):
            ax.scatter(vals, y + rng.uniform(-0.12, 0.12, len(vals)), s=16, color=style["color"],
                       marker=style["marker"], alpha=0.6, zorder=2)
            mean, lo, hi = t_interval(vals, confidence)
            if math.isfinite(lo) and len(vals) >= MIN_INFORMATIVE_N:
                ax.errorbar([mean], [y], xerr=[[mean - lo], [hi - mean]], fmt="o", color="black", ms=5,
                            capsize=4, zorder=3)
            else:
                ax.plot([mean], [y], "o", color="black", ms=5, zorder=3)
        if reference and label in reference and reference[label] is not None:
            ax.plot([100.0 * reference[label]], [y], marker="D", color="crimson", ms=6, ls="none", zorder=4,
                    label=reference_label if i == 0 or not ax.get_legend_handles_labels()[0] else None)
    names = []
    for label in labels:
        extra = f" ({diverged[label]} diverged)" if diverged and diverged.get(label) else ""
        names.append(f"{label}{extra}")
    ax.set_yticks(range(len(labels) - 1, -1, -1), names)
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.set_xlabel(xlabel + " (%)")
    percent_axis(ax, "x")
    ax.grid(True, axis="x", alpha=0.3)
    if reference:
        ax.legend(fontsize=8, loc="best")
    ax.set_title(title or f"{xlabel}: runs and mean with {int(round(confidence * 100))}% t interval")
    return fig
