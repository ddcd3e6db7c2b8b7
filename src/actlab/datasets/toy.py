"""2-D toy sets, as TensorFlow Playground makes them (``src/dataset.ts``), plus moons.

Points lie in Playground's square [-6, 6]^2. Playground labels classes +1/-1; actlab uses
1/0 (+1 -> 1, -1 -> 0). ``noise`` has Playground's meaning (its slider's 0..50% is
``noise`` 0..0.5):

- circle: class 1 inside radius 2.5, class 0 in the ring 3.5..5. Noise does not move the
  points: each label is the radius rule applied to the point shifted by
  ``uniform(-5, 5) * noise`` per coordinate, so noise flips labels near the boundary.
- xor: coordinates uniform in [-5, 5] pushed 0.3 away from the axes; label 1 where
  ``x * y >= 0`` (first and third quadrants), with noise applied to the label as for circle.
- gauss: two Gaussian blobs at (2, 2) (class 1) and (-2, -2) (class 0) with variance
  ``0.5 + 7 * noise`` (Playground's scale 0..0.5 -> 0.5..4). ``num_classes=k`` puts k blobs
  evenly on the circle of radius 2*sqrt(2) through those two centres.
- spiral: two arms ``r = 5 i/n``, ``t = 1.75 * 2 pi i/n + delta`` (delta 0 for class 1, pi
  for class 0), each coordinate shifted by ``uniform(-1, 1) * noise``. ``num_classes=k``
  makes k arms, delta = pi + 2 pi c / k for class c.
- moons: scikit-learn's two half circles (outer class 0, inner class 1), Gaussian noise of
  standard deviation ``noise`` added in scikit-learn's units, then mapped to [-6, 6] x [-3, 3]
  (``4 * (x - 0.5)``, ``4 * (y - 0.25)``).

Regression (:func:`toy_regression`): ``plane`` (target ``(x + y) / 10``) and ``multi_gauss``
(six signed Gaussian bumps), both with Playground's label noise.
"""
from __future__ import annotations

import difflib
import math
from typing import Any, Callable

import numpy as np

from ..presets import TOY_NOISE, TOY_SAMPLES, TOY_TEST_FRACTION
from .base import (Dataset, check_n_samples, check_noise, check_test_fraction,
                   make_rng, split_indices)

__all__ = ["TOY_NAMES", "REGRESSION_NAMES", "toy", "toy_regression", "generate"]

TOY_NAMES = ("circle", "xor", "gauss", "spiral", "moons")
REGRESSION_NAMES = ("plane", "multi_gauss")
RANGE = (-6.0, 6.0)

Generator = Callable[[int, float, np.random.Generator, int], tuple[np.ndarray, np.ndarray]]


def _per_class(n: int, k: int) -> list[int]:
    """``n`` split into ``k`` counts as evenly as possible (the first ones get the extra)."""
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


def _circle(n: int, noise: float, rng: np.random.Generator, k: int):
    radius = 5.0
    n_in, n_out = _per_class(n, 2)
    xs, ys = [], []
    for count, (lo, hi) in ((n_in, (0.0, radius * 0.5)), (n_out, (radius * 0.7, radius))):
        r = rng.uniform(lo, hi, count)
        angle = rng.uniform(0.0, 2 * math.pi, count)
        p = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
        shift = rng.uniform(-radius, radius, (count, 2)) * noise
        label = (np.hypot(*(p + shift).T) < radius * 0.5).astype(np.int64)
        xs.append(p)
        ys.append(label)
    return np.concatenate(xs), np.concatenate(ys)


def _xor(n: int, noise: float, rng: np.random.Generator, k: int):
    p = rng.uniform(-5.0, 5.0, (n, 2))
    p += np.where(p > 0, 0.3, -0.3)  # padding away from the axes
    shift = rng.uniform(-5.0, 5.0, (n, 2)) * noise
    q = p + shift
    return p, (q[:, 0] * q[:, 1] >= 0).astype(np.int64)


def _gauss(n: int, noise: float, rng: np.random.Generator, k: int):
    variance = 0.5 + noise * (4.0 - 0.5) / 0.5
    xs, ys = [], []
    for c, count in enumerate(_per_class(n, k)):
        angle = 5 * math.pi / 4 + 2 * math.pi * c / k
        centre = 2 * math.sqrt(2) * np.array([math.cos(angle), math.sin(angle)])
        xs.append(centre + rng.normal(0.0, math.sqrt(variance), (count, 2)))
        ys.append(np.full(count, c, dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def _spiral(n: int, noise: float, rng: np.random.Generator, k: int):
    xs, ys = [], []
    for c, count in enumerate(_per_class(n, k)):
        delta = math.pi + 2 * math.pi * c / k
        i = np.arange(count)
        r = i / count * 5
        t = 1.75 * i / count * 2 * math.pi + delta
        p = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        xs.append(p + rng.uniform(-1.0, 1.0, (count, 2)) * noise)
        ys.append(np.full(count, c, dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def _moons(n: int, noise: float, rng: np.random.Generator, k: int):
    n_out, n_in = _per_class(n, 2)
    t_out = np.linspace(0.0, math.pi, n_out)
    t_in = np.linspace(0.0, math.pi, n_in)
    p = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], axis=1),
                        np.stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5], axis=1)])
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    if noise > 0:
        p = p + rng.normal(0.0, noise, p.shape)
    return 4.0 * (p - np.array([0.5, 0.25])), y


def _plane(n: int, noise: float, rng: np.random.Generator, k: int):
    radius = 6.0
    p = rng.uniform(-radius, radius, (n, 2))
    shift = rng.uniform(-radius, radius, (n, 2)) * noise
    q = p + shift
    return p, ((q[:, 0] + q[:, 1]) / 10.0).astype(np.float32)


_BUMPS = np.array([[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1],
                   [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]], dtype=np.float64)


def _multi_gauss(n: int, noise: float, rng: np.random.Generator, k: int):
    radius = 6.0
    p = rng.uniform(-radius, radius, (n, 2))
    shift = rng.uniform(-radius, radius, (n, 2)) * noise
    q = p + shift
    dist = np.hypot(q[:, None, 0] - _BUMPS[None, :, 0], q[:, None, 1] - _BUMPS[None, :, 1])
    values = _BUMPS[None, :, 2] * np.clip(1.0 - dist / 2.0, 0.0, 1.0)  # scale [0,2] -> [1,0]
    # Playground keeps the bump of largest |value|, the first one on ties.
    best = np.argmax(np.abs(values), axis=1)
    return p, (values[np.arange(n), best] + 0.0).astype(np.float32)


_CLASSIFY: dict[str, Generator] = {"circle": _circle, "xor": _xor, "gauss": _gauss,
                                   "spiral": _spiral, "moons": _moons}
_REGRESS: dict[str, Generator] = {"plane": _plane, "multi_gauss": _multi_gauss}
_MULTICLASS = ("gauss", "spiral")


def _lookup(name: str, table: dict, kind: str) -> str:
    key = str(name).lower().replace("-", "_")
    if key not in table:
        close = difflib.get_close_matches(key, list(table), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown {kind} {name!r}: valid names are "
                         f"{', '.join(table)}{hint}")
    return key


def generate(name: str, n_samples: int = TOY_SAMPLES, noise: float = TOY_NOISE, seed: Any = 0,
             num_classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The raw points of a toy set, unshuffled: ``(X (n, 2) float64, y)``."""
    table = {**_CLASSIFY, **_REGRESS}
    key = _lookup(name, table, "toy set")
    n = check_n_samples(n_samples)
    noise = check_noise(noise)
    k = _check_classes(key, num_classes, n)
    return table[key](n, noise, make_rng(seed), k)


def _check_classes(key: str, num_classes: Any, n: int) -> int:
    if key in _REGRESS:
        return 0
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise ValueError(f"num_classes must be an int, got {num_classes!r}")
    if key in _MULTICLASS:
        if not 2 <= num_classes <= n:
            raise ValueError(f"num_classes must be between 2 and n_samples={n} for {key!r}, "
                             f"got {num_classes!r}")
    elif num_classes != 2:
        raise ValueError(f"{key!r} has 2 classes, got num_classes={num_classes!r} (more "
                         f"classes are available for {', '.join(_MULTICLASS)})")
    return int(num_classes)


def _build(kind: str, key: str, gen: Generator, n_samples: Any, noise: Any, seed: Any,
           test_fraction: Any, num_classes: Any) -> Dataset:
    n = check_n_samples(n_samples)
    noise = check_noise(noise)
    test_fraction = check_test_fraction(test_fraction)
    k = _check_classes(key, num_classes, n)
    rng = make_rng(seed)
    x, y = gen(n, noise, rng, k)
    train, test = split_indices(n, test_fraction, rng)
    x = x.astype(np.float32)
    return Dataset(
        name=key, x_train=x[train], y_train=y[train], x_test=x[test], y_test=y[test],
        num_classes=k, input_shape=(2,),
        info={"source": "TensorFlow Playground generator" if key != "moons"
              else "scikit-learn make_moons, mapped to [-6, 6] x [-3, 3]",
              "task": kind, "noise": noise, "test_fraction": test_fraction,
              "seed": seed if not isinstance(seed, np.random.Generator) else "generator",
              "range": RANGE,
              "labels": "0..k-1 (Playground's -1 -> 0, +1 -> 1)" if kind == "classification"
              else "float target"},
    )


def toy(name: str, n_samples: int = TOY_SAMPLES, noise: float = TOY_NOISE, seed: Any = 0,
        test_fraction: float = TOY_TEST_FRACTION, *, num_classes: int = 2) -> Dataset:
    """A 2-D classification toy set (circle, xor, gauss, spiral, moons), shuffled and split.

    Args:
        name: one of :data:`TOY_NAMES`.
        n_samples: number of points in all (train + test). Default 500, as Playground.
        noise: Playground's noise, 0 .. 0.5 on its slider (any value >= 0 is accepted);
            for moons the standard deviation of Gaussian noise in scikit-learn's units.
        seed: int seed (or numpy Generator) of the points and of the split. Default 0.
        test_fraction: share of the points held out, in (0, 1). Default 0.5 as Playground.
        num_classes: 2, or more for ``gauss`` (k blobs) and ``spiral`` (k arms).

    >>> d = toy("xor", n_samples=200, seed=3)
    >>> d.x_train.shape, d.num_classes, sorted(set(d.y_train.tolist()))
    ((100, 2), 2, [0, 1])
    """
    key = _lookup(name, _CLASSIFY, "toy set")
    return _build("classification", key, _CLASSIFY[key], n_samples, noise, seed,
                  test_fraction, num_classes)


def toy_regression(name: str, n_samples: int = TOY_SAMPLES, noise: float = TOY_NOISE, seed: Any = 0,
                   test_fraction: float = TOY_TEST_FRACTION) -> Dataset:
    """A 2-D regression toy set of Playground: ``plane`` or ``multi_gauss``.

    Targets are float32 (``y_train``/``y_test``), ``num_classes`` is 0: ``plane`` gives
    ``(x + y) / 10`` (-1.2 .. 1.2, unclamped as in Playground), ``multi_gauss`` -1 .. 1.
    """
    key = _lookup(name, _REGRESS, "regression toy set")
    return _build("regression", key, _REGRESS[key], n_samples, noise, seed, test_fraction, 0)
