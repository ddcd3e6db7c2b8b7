"""scikit-learn's bundled 8x8 digits: the embedded default, always present, no download.

1,797 images of 8x8 pixels with values 0..16, 10 classes (the UCI optical digits test set).
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..presets import TEST_FRACTION
from .base import (Dataset, check_n_samples, check_scale, check_test_fraction,
                   make_rng, split_indices)

__all__ = ["load_digits"]


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    x = np.asarray(bunch.data, dtype=np.float32)
    y = np.asarray(bunch.target, dtype=np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def load_digits(*, test_fraction: float = TEST_FRACTION, seed: Any = 0, scale: Any = True,
                n_samples: int | None = None) -> Dataset:
    """The 8x8 digits, shuffled with ``seed`` and split into train and test.

    Args:
        test_fraction: share of the samples held out for testing, in (0, 1). Default 0.2.
        seed: int seed (or a numpy Generator) of the shuffle. Default 0.
        scale: True (default) divides the pixels by 16 into [0, 1]; ``'raw'`` or False keeps
            the 0..16 values (as float32).
        n_samples: use only this many samples (drawn at random), default all 1,797.

    Returns:
        A :class:`Dataset` with ``x`` of shape ``(n, 64)`` float32 and ``y`` in 0..9.

    >>> d = load_digits(seed=1)
    >>> d.n_train + d.n_test, float(d.x_train.max()) <= 1.0
    (1797, True)
    """
    test_fraction = check_test_fraction(test_fraction)
    scaled = check_scale(scale)
    x_all, y_all = _digits_arrays()
    rng = make_rng(seed)
    pool = np.arange(len(y_all))
    if n_samples is not None:
        n_samples = check_n_samples(n_samples, len(y_all), what="digits")
        pool = rng.choice(len(y_all), size=n_samples, replace=False)
    train, test = split_indices(len(pool), test_fraction, rng)
    train_idx, test_idx = pool[train], pool[test]
    factor = np.float32(1.0 / 16.0) if scaled else np.float32(1.0)
    return Dataset(
        name="digits",
        x_train=x_all[train_idx] * factor,
        y_train=y_all[train_idx].copy(),
        x_test=x_all[test_idx] * factor,
        y_test=y_all[test_idx].copy(),
        num_classes=10,
        input_shape=(64,),
        info={"source": "sklearn.datasets.load_digits", "image_shape": (8, 8),
              "scale": "[0, 1] (pixels / 16)" if scaled else "raw 0..16",
              "seed": seed if not isinstance(seed, np.random.Generator) else "generator",
              "test_fraction": test_fraction,
              "train_indices": train_idx, "test_indices": test_idx},
    )
