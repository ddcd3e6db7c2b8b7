"""The ``Dataset`` record every loader returns, and the checks shared by the loaders.

Bad input is a ``ValueError`` that names the value received and what would have been valid.
Randomness always comes from ``seed`` (an int or a ``numpy.random.Generator``); nothing here
touches NumPy's global random state.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Dataset", "check_test_fraction", "check_n_samples", "check_noise", "check_scale",
           "make_rng", "split_indices"]


@dataclass
class Dataset:
    """A train/test split ready for a model.

    ``x_train``/``x_test`` are float32 and 2-D, ``(n, features)``; ``y_train``/``y_test`` are
    int64 class labels ``0..num_classes-1`` (float32 targets for the regression toy sets,
    where ``num_classes`` is 0). ``input_shape`` is what a first ``Dense`` layer takes,
    ``(features,)``; ``info`` records where the data came from and how it was drawn (source
    files, seed, scaling, pool indices, ...).

    >>> from actlab import datasets
    >>> d = datasets.load_digits()
    >>> d.x_train.shape, d.x_test.shape, d.num_classes
    ((1438, 64), (359, 64), 10)
    >>> Y_train, Y_test = d.one_hot()
    >>> Y_train.shape, float(Y_train.sum(axis=1).max())
    ((1438, 10), 1.0)
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    input_shape: tuple
    info: dict = field(default_factory=dict)

    def one_hot(self) -> tuple[np.ndarray, np.ndarray]:
        """``(Y_train, Y_test)``: the labels one-hot encoded, float32, ``(n, num_classes)``."""
        if self.num_classes < 1:
            raise ValueError(f"dataset {self.name!r} is a regression set (num_classes=0): "
                             "it has no one-hot labels")
        eye = np.eye(self.num_classes, dtype=np.float32)
        return eye[self.y_train], eye[self.y_test]

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.x_test.shape[0])

    def __repr__(self) -> str:
        return (f"Dataset(name={self.name!r}, train={self.x_train.shape}, "
                f"test={self.x_test.shape}, num_classes={self.num_classes})")


def make_rng(seed: Any) -> np.random.Generator:
    """A NumPy Generator from an int seed (or a Generator, used as it is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative int or a numpy Generator, got {seed!r}")
    return np.random.default_rng(int(seed))


def check_test_fraction(test_fraction: Any) -> float:
    """``test_fraction`` as a float strictly between 0 and 1."""
    try:
        value = float(test_fraction)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(test_fraction, bool) or not (0.0 < value < 1.0):
        raise ValueError(f"test_fraction must be a number strictly between 0 and 1, "
                         f"got {test_fraction!r}")
    return value


def check_n_samples(n_samples: Any, available: int | None = None, *, what: str = "") -> int:
    """``n_samples`` as a positive int, at most ``available`` when that is given."""
    if (isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral)
            or n_samples < 2):
        raise ValueError(f"n_samples must be an int >= 2, got {n_samples!r}")
    if available is not None and n_samples > available:
        where = f" in {what}" if what else ""
        raise ValueError(f"n_samples={n_samples!r} is more than the {available} samples "
                         f"available{where}")
    return int(n_samples)


def check_noise(noise: Any) -> float:
    """``noise`` as a finite float >= 0."""
    try:
        value = float(noise)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(noise, bool) or not math.isfinite(value) or value < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    return value


def check_scale(scale: Any) -> bool:
    """True to scale inputs to [0, 1]; False for the raw values (``scale='raw'`` or False)."""
    if scale is True or scale is False:
        return scale
    if isinstance(scale, str) and scale.lower() in ("raw", "none"):
        return False
    if isinstance(scale, str) and scale.lower() in ("unit", "01", "[0,1]"):
        return True
    raise ValueError(f"scale must be True (inputs in [0, 1]), or 'raw' / False (the raw "
                     f"pixel values), got {scale!r}")


def split_indices(n: int, test_fraction: float, rng: np.random.Generator | None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle ``range(n)`` with ``rng`` (no shuffle when None) and split off the test part.

    The test part has ``round(n * test_fraction)`` samples, clipped so both parts keep at
    least one sample.
    """
    n_test = int(round(n * test_fraction))
    n_test = min(max(n_test, 1), n - 1)
    order = rng.permutation(n) if rng is not None else np.arange(n)
    return order[: n - n_test], order[n - n_test:]
