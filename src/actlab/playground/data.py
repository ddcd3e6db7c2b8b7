"""The playground's 2-D data sets, its input features and the CSV upload.

Points live in the square [-6, 6]^2 as in TensorFlow Playground (``dataset.ts``), whose
generators the two-class sets follow: circle, xor, gauss, spiral, plus moons (scikit-learn's
half circles scaled to the square). Multi-class sets (``blobs3``, ``spiral3``) have 3 classes and
the regression sets (``reg_plane``, ``reg_gauss``) a real target in [-1, 1].

Every set is drawn from ``numpy.random.default_rng([seed, 7])``: the same seed gives the same
points. Labels are ints 0..K-1 for classification and floats for regression.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

import numpy as np

DOMAIN = 6.0                       # points and heatmaps cover [-DOMAIN, DOMAIN]^2

# name -> (kind, number of classes; 1 for regression)
DATASETS: dict[str, tuple[str, int]] = {
    "circle": ("binary", 2),
    "xor": ("binary", 2),
    "gauss": ("binary", 2),
    "spiral": ("binary", 2),
    "moons": ("binary", 2),
    "blobs3": ("multiclass", 3),
    "spiral3": ("multiclass", 3),
    "reg_plane": ("regression", 1),
    "reg_gauss": ("regression", 1),
}

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
    pts, lab = _GENERATORS[name](rng, int(n), float(noise))
    pts = np.clip(pts, -DOMAIN, DOMAIN)
    labels = lab.astype(np.float64) if kind == "regression" else lab.astype(np.int64)
    return Points(pts.astype(np.float64), labels, kind, k)


def split(n: int, train_ratio: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices: a seeded shuffle, ``train_ratio`` of it for training."""
    order = np.random.default_rng([int(seed), 8]).permutation(n)
    n_train = min(max(int(round(n * train_ratio)), 1), n - 1)
    return order[:n_train], order[n_train:]


def _circle(rng, n, noise):
    radius = 5.0
    h = n // 2
    r_in = rng.uniform(0, radius * 0.5, h)
    r_out = rng.uniform(radius * 0.7, radius, n - h)
    r = np.concatenate([r_in, r_out])
    angle = rng.uniform(0, 2 * math.pi, n)
    pts = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    pts += rng.uniform(-radius, radius, (n, 2)) * noise
    # labelled by the distance of the noisy point, as TF Playground does
    label = (np.hypot(pts[:, 0], pts[:, 1]) < radius * 0.5).astype(int)
    return pts, label


def _xor(rng, n, noise):
    pts = rng.uniform(-5, 5, (n, 2))
    pts += np.where(pts > 0, 0.3, -0.3)            # padding away from the axes
    label = (pts[:, 0] * pts[:, 1] >= 0).astype(int)
    pts = pts + rng.uniform(-5, 5, (n, 2)) * noise
    return pts, label


def _gauss(rng, n, noise):
    variance = 0.5 + (4.0 - 0.5) * noise / 0.5
    h = n // 2
    a = rng.normal(2.0, math.sqrt(variance), (h, 2))
    b = rng.normal(-2.0, math.sqrt(variance), (n - h, 2))
    return np.concatenate([a, b]), np.concatenate([np.ones(h, int), np.zeros(n - h, int)])


def _spiral_arms(rng, n, noise, arms):
    pts, lab = [], []
    per = [n // arms + (1 if i < n % arms else 0) for i in range(arms)]
    for arm, m in enumerate(per):
        i = np.arange(m)
        r = i / max(m, 1) * 5.0
        t = 1.75 * i / max(m, 1) * 2 * math.pi + arm * 2 * math.pi / arms
        p = np.stack([r * np.sin(t), r * np.cos(t)], axis=1) + rng.uniform(-1, 1, (m, 2)) * noise * 2
        pts.append(p)
        lab.append(np.full(m, (1 - arm) if arms == 2 else arm))
    return np.concatenate(pts), np.concatenate(lab)


def _spiral(rng, n, noise):
    return _spiral_arms(rng, n, noise, 2)


def _spiral3(rng, n, noise):
    return _spiral_arms(rng, n, noise, 3)


def _moons(rng, n, noise):
    h = n // 2
    t1 = rng.uniform(0, math.pi, h)
    t2 = rng.uniform(0, math.pi, n - h)
    a = np.stack([np.cos(t1), np.sin(t1)], axis=1)
    b = np.stack([1 - np.cos(t2), 0.5 - np.sin(t2)], axis=1)
    pts = (np.concatenate([a, b]) - [0.5, 0.25]) * 3.0
    pts += rng.normal(0, 1, (n, 2)) * noise * 2
    return pts, np.concatenate([np.zeros(h, int), np.ones(n - h, int)])


def _blobs3(rng, n, noise):
    centres = np.array([[0.0, 3.0], [-2.6, -1.5], [2.6, -1.5]])
    sd = 0.6 + 3.0 * noise
    lab = np.arange(n) % 3
    return centres[lab] + rng.normal(0, sd, (n, 2)), lab


def _reg_plane(rng, n, noise):
    pts = rng.uniform(-5, 5, (n, 2))
    y = (pts[:, 0] + pts[:, 1]) / 10.0
    pts = pts + rng.uniform(-5, 5, (n, 2)) * noise
    return pts, y


def _reg_gauss(rng, n, noise):
    pts = rng.uniform(-5, 5, (n, 2))
    centres = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]
    y = np.zeros(n)
    for cx, cy, sign in centres:
        y += sign * np.exp(-((pts[:, 0] - cx) ** 2 + (pts[:, 1] - cy) ** 2) / 2.0)
    y = np.clip(y, -1, 1)
    pts = pts + rng.uniform(-5, 5, (n, 2)) * noise
    return pts, y


_GENERATORS = {"circle": _circle, "xor": _xor, "gauss": _gauss, "spiral": _spiral, "moons": _moons,
               "blobs3": _blobs3, "spiral3": _spiral3, "reg_plane": _reg_plane, "reg_gauss": _reg_gauss}


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
