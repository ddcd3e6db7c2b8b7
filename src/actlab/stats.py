"""Summary statistics of studies: t intervals, paired tests, time to a target accuracy, bands.

All functions take plain sequences of numbers and return plain Python numbers (``nan`` where
a statistic is undefined, e.g. the interval of a single value).

Fewer than :data:`MIN_INFORMATIVE_N` values give a t interval too wide to say anything (with
two values the 95% half-width is 12.7 times their half-difference times sqrt 2, e.g.
[-80.84, 227.08] % for an accuracy): :func:`describe`, :func:`paired_test` and
:func:`curve_band` leave such an interval out (``nan``) and :func:`interval_text` says why;
:func:`t_interval` still computes it for anyone who asks.

>>> m, lo, hi = t_interval([0.90, 0.92, 0.94])
>>> round(m, 3), round(hi - m, 4)   # t(0.975, 2) * 0.02 / sqrt(3)
(0.92, 0.0497)
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

__all__ = ["t_interval", "describe", "paired_test", "time_to_target", "curve_band", "interval_text", "number_text",
           "MIN_INFORMATIVE_N"]

#: the fewest values whose t interval is reported (with 2 the interval says nothing useful)
MIN_INFORMATIVE_N = 3


def _finite(values: Sequence[float]) -> np.ndarray:
    arr = np.asarray([float(v) for v in values if v is not None], dtype=np.float64)
    return arr[np.isfinite(arr)]


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """``(mean, low, high)``: the Student-t confidence interval of the mean.

    ``mean +- t_{(1+confidence)/2, n-1} * s / sqrt(n)`` with the sample standard deviation
    ``s`` (``ddof=1``). One value: ``(value, nan, nan)``; none: all ``nan``.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    from scipy import stats

    x = _finite(values)
    n = len(x)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if n == 1:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf((1.0 + confidence) / 2.0, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def describe(values: Sequence[float], confidence: float = 0.95) -> dict[str, float]:
    """n, mean, std (ddof=1), the t interval, median, min and max of the finite values."""
    x = _finite(values)
    mean, lo, hi = t_interval(x, confidence)
    if len(x) < MIN_INFORMATIVE_N:
        lo = hi = math.nan
    return {"n": int(len(x)), "mean": mean, "std": float(x.std(ddof=1)) if len(x) > 1 else math.nan,
            "ci_low": lo, "ci_high": hi, "median": float(np.median(x)) if len(x) else math.nan,
            "min": float(x.min()) if len(x) else math.nan, "max": float(x.max()) if len(x) else math.nan}


def paired_test(values: Sequence[float], baseline: Sequence[float], confidence: float = 0.95) -> dict[str, Any]:
    """Paired comparison of ``values`` against ``baseline`` (same seeds, same order).

    Pairs where either value is missing or non-finite are dropped. Returns the number of
    pairs, the mean difference ``values - baseline`` and its t interval, the paired t-test
    (``scipy.stats.ttest_rel``), the Wilcoxon signed-rank test (``scipy.stats.wilcoxon``;
    1.0 when every difference is zero) and Cohen's ``d_z`` = mean(d) / sd(d).
    """
    from scipy import stats

    if len(values) != len(baseline):
        raise ValueError(f"paired_test needs sequences of equal length, got {len(values)} and {len(baseline)}")
    a = np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)
    b = np.array([math.nan if v is None else float(v) for v in baseline], dtype=np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    d = a[keep] - b[keep]
    n = int(len(d))
    out: dict[str, Any] = {"n": n, "mean_diff": float(d.mean()) if n else math.nan,
                           "ci_low": math.nan, "ci_high": math.nan, "t": math.nan, "p_t": math.nan,
                           "p_wilcoxon": math.nan, "d_z": math.nan}
    if n < 2:
        return out
    if n >= MIN_INFORMATIVE_N:
        _, out["ci_low"], out["ci_high"] = t_interval(d, confidence)
    sd = float(d.std(ddof=1))
    if sd > 0:
        res = stats.ttest_rel(a[keep], b[keep])
        out["t"], out["p_t"] = float(res.statistic), float(res.pvalue)
        out["d_z"] = float(d.mean() / sd)
    elif d.mean() == 0:
        out["t"], out["p_t"], out["d_z"] = 0.0, 1.0, 0.0
    else:  # every pair differs by the same amount: infinitely significant by t, no variance
        out["t"] = math.copysign(math.inf, d.mean())
        out["p_t"] = 0.0
        out["d_z"] = math.copysign(math.inf, d.mean())
    if np.all(d == 0):
        out["p_wilcoxon"] = 1.0
    else:
        out["p_wilcoxon"] = float(stats.wilcoxon(d).pvalue)
    return out


def time_to_target(history: dict | None, target: float, metric: str = "val_accuracy"
                   ) -> tuple[int | None, float | None]:
    """``(epoch, seconds)``: the first epoch (1-based) whose ``metric`` reaches ``target``, and
    the wall time of the epochs up to and including it; ``(None, None)`` if never."""
    if not history or metric not in history:
        return None, None
    values = history[metric]
    seconds = history.get("seconds") or [math.nan] * len(values)
    epochs = history.get("epoch") or list(range(1, len(values) + 1))
    total = 0.0
    for e, v, s in zip(epochs, values, seconds):
        total += float(s)
        if v is not None and math.isfinite(float(v)) and float(v) >= target:
            return int(e), total
    return None, None


def curve_band(curves: Sequence[Sequence[float]], confidence: float = 0.95) -> dict[str, np.ndarray]:
    """Per-epoch mean and t interval over several runs' curves (runs may be shorter: a diverged
    run counts until it stopped). Returns arrays ``epoch`` (1-based), ``mean``, ``low``,
    ``high`` (``nan`` where fewer than :data:`MIN_INFORMATIVE_N` runs reach the epoch) and ``n``."""
    length = max((len(c) for c in curves), default=0)
    mean = np.full(length, np.nan)
    low = np.full(length, np.nan)
    high = np.full(length, np.nan)
    n = np.zeros(length, dtype=int)
    for e in range(length):
        column = [c[e] for c in curves if len(c) > e]
        m, lo, hi = t_interval(column, confidence)
        n[e] = len(_finite(column))
        mean[e], low[e], high[e] = (m, lo, hi) if n[e] >= MIN_INFORMATIVE_N else (m, math.nan, math.nan)
    return {"epoch": np.arange(1, length + 1), "mean": mean, "low": low, "high": high, "n": n}


def interval_text(low: float, high: float, n: int, *, scale: float = 100.0, digits: int = 2) -> str:
    """An interval as ``[low, high]`` (brackets and a comma, so negative ends read unambiguously:
    ``[-5.00, -2.00]``), values times ``scale``; or why there is none: ``n=2: interval not
    informative`` below :data:`MIN_INFORMATIVE_N` values, ``n=1: no interval`` below two.

    >>> interval_text(-0.05, -0.02, 5), interval_text(0.1, 0.9, 2)
    ('[-5.00, -2.00]', 'n=2: interval not informative')
    """
    if n < 2:
        return f"n={n}: no interval"
    if n < MIN_INFORMATIVE_N or not (math.isfinite(low) and math.isfinite(high)):
        return f"n={n}: interval not informative"
    return f"[{scale * low:.{digits}f}, {scale * high:.{digits}f}]"


def number_text(x: Any, pct: bool = False, digits: int = 2) -> str:
    """A table cell: ``-`` for a missing value (None, nan), a fraction as a percentage with
    ``digits`` decimals (``pct``), another float with 3 significant digits, anything else as text.

    >>> number_text(0.91234, pct=True), number_text(12.3456), number_text(None), number_text(7)
    ('91.23', '12.3', '-', '7')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if pct:
        return f"{100 * x:.{digits}f}"
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)
