"""The playground's 2-D data sets, its input features and the CSV upload.

The points come from :mod:`actlab.datasets.toy` (TensorFlow Playground's generators, in the
square [-6, 6]^2): circle, xor, gauss, spiral, moons with two classes; ``gauss3`` and
``spiral3`` with three; the regression sets ``reg_plane`` and ``reg_gauss`` (the toy module's
``plane`` and ``multi_gauss``). Every set is drawn from ``numpy.random.default_rng([seed, 7])``:
the same seed gives the same points. Labels are ints 0..K-1 for classification and floats
for regression.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

import numpy as np

from ..datasets.toy import generate as _toy_generate

DOMAIN = 6.0                       # points and heatmaps cover [-DOMAIN, DOMAIN]^2

# name -> (kind, number of classes; 1 for regression)
DATASETS: dict[str, tuple[str, int]] = {
    "circle": ("binary", 2),
    "xor": ("binary", 2),
    "gauss": ("binary", 2),
    "spiral": ("binary", 2),
    "moons": ("binary", 2),
    "gauss3": ("multiclass", 3),
    "spiral3": ("multiclass", 3),
    "reg_plane": ("regression", 1),
    "reg_gauss": ("regression", 1),
}

# playground name -> actlab.datasets.toy name
_SOURCES = {"gauss3": "gauss", "spiral3": "spiral", "reg_plane": "plane", "reg_gauss": "multi_gauss"}

# name -> function of the (n, 2) points; the order is the order of the network's input column
FEATURES = {
    "x1": lambda p: p[:, 0],
    "x2": lambda p: p[:, 1],
    "x1sq": lambda p: p[:, 0] ** 2,
    "x2sq": lambda p: p[:, 1] ** 2,
    "x1x2": lambda p: p[:, 0] * p[:, 1],
    "sinx1": lambda p: np.sin(p[:, 0]),
    "sinx2": lambda p: np.sin(p[:, 1]),
}
FEATURE_LABELS = {"x1": "x1", "x2": "x2", "x1sq": "x1²", "x2sq": "x2²", "x1x2": "x1·x2",
                  "sinx1": "sin x1", "sinx2": "sin x2"}

# CSV upload limits
MAX_CSV_BYTES = 64 * 1024
MAX_CSV_ROWS = 2000
MIN_CSV_ROWS = 4
MAX_CSV_CLASSES = 6


@dataclass
class Points:
    """A 2-D data set: ``points`` (n, 2) in the square, ``labels`` (n,), its kind and classes."""

    points: np.ndarray
    labels: np.ndarray
    kind: str            # 'binary', 'multiclass' or 'regression'
    num_classes: int     # 2, 3.. ; 1 for regression


def features(points: np.ndarray, names: list[str]) -> np.ndarray:
    """The network inputs: one column per feature name, in the order given."""
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(f"unknown feature {unknown[0]!r}; valid: {', '.join(FEATURES)}")
    return np.stack([FEATURES[n](points) for n in names], axis=1)


def generate(name: str, n: int, noise: float, seed: int) -> Points:
    """``n`` points of the set ``name`` with ``noise`` in [0, 0.5] (TF Playground's 0..50 %)."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; valid: {', '.join(DATASETS)}")
    rng = np.random.default_rng([int(seed), 7])
    kind, k = DATASETS[name]
    source = _SOURCES.get(name, name)
    pts, lab = _toy_generate(source, int(n), float(noise), rng, num_classes=k if kind != "regression" else 2)
    pts = np.clip(pts, -DOMAIN, DOMAIN)
    labels = lab.astype(np.float64) if kind == "regression" else lab.astype(np.int64)
    return Points(pts.astype(np.float64), labels, kind, k)


def split(n: int, train_ratio: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices: a seeded shuffle, ``train_ratio`` of it for training."""
    order = np.random.default_rng([int(seed), 8]).permutation(n)
    n_train = min(max(int(round(n * train_ratio)), 1), n - 1)
    return order[:n_train], order[n_train:]


def parse_csv(text: str) -> Points:
    """Points from CSV text ``x1,x2,label`` (a header line is optional).

    Limits: at most ``MAX_CSV_BYTES`` bytes and ``MAX_CSV_ROWS`` rows, at least ``MIN_CSV_ROWS``;
    coordinates finite within [-6, 6]. Labels that are all integers 0..5 make a classification
    set (at least two classes); any other finite labels in [-1, 1] a regression set. A bad file
    raises ``ValueError`` saying which line and why.
    """
    if not isinstance(text, str):
        raise ValueError(f"the CSV must be text, got {type(text).__name__}")
    size = len(text.encode("utf-8"))
    if size > MAX_CSV_BYTES:
        raise ValueError(f"the CSV is {size} bytes; the limit is {MAX_CSV_BYTES} bytes")
    rows = []
    reader = csv.reader(io.StringIO(text))
    for lineno, row in enumerate(reader, start=1):
        cells = [c.strip() for c in row]
        if not cells or all(c == "" for c in cells):
            continue
        if len(cells) != 3:
            raise ValueError(f"CSV line {lineno}: expected 3 columns x1,x2,label, got {len(cells)}")
        try:
            values = [float(c) for c in cells]
        except ValueError:
            if not rows and lineno == 1:      # a header
                continue
            raise ValueError(f"CSV line {lineno}: {','.join(cells)!r} is not three numbers") from None
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"CSV line {lineno}: values must be finite, got {','.join(cells)!r}")
        if abs(values[0]) > DOMAIN or abs(values[1]) > DOMAIN:
            raise ValueError(f"CSV line {lineno}: x1 and x2 must lie in [-6, 6], got {values[0]}, {values[1]}")
        rows.append(values)
        if len(rows) > MAX_CSV_ROWS:
            raise ValueError(f"the CSV has more than {MAX_CSV_ROWS} rows (the limit)")
    if len(rows) < MIN_CSV_ROWS:
        raise ValueError(f"the CSV has {len(rows)} data rows; at least {MIN_CSV_ROWS} are needed")
    arr = np.asarray(rows, dtype=np.float64)
    pts, y = arr[:, :2], arr[:, 2]
    if np.all(y == np.round(y)) and y.min() >= 0 and y.max() < MAX_CSV_CLASSES:
        k = int(y.max()) + 1
        if k < 2:
            raise ValueError("the CSV labels hold a single class; give at least two classes (0 and 1)")
        return Points(pts, y.astype(np.int64), "binary" if k == 2 else "multiclass", k)
    if y.min() < -1 or y.max() > 1:
        raise ValueError(f"CSV labels must be class numbers 0..{MAX_CSV_CLASSES - 1} or regression "
                         f"targets in [-1, 1]; got values from {y.min()} to {y.max()}")
    return Points(pts, y, "regression", 1)
