"""The study notes' MNIST protocol as one call, and the MNIST-like sets as ``Dataset`` objects.

The notes draw N samples at random from all 70,000 MNIST images (train and test pooled),
split them 80/20 and one-hot the labels; their own code fed the raw 0..255 pixels to the
network, the usual practice scales them to [0, 1]. :func:`notes_protocol` does both.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..presets import NOTES_SAMPLES, NOTES_TEST_FRACTION
from .base import (
    Dataset,
    check_n_samples,
    check_scale,
    check_test_fraction,
    make_rng,
    split_indices,
)
from .idx import load_with_source

__all__ = ["notes_protocol", "official_split"]


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0], -1)


def _to_float(x_u8: np.ndarray, scaled: bool) -> np.ndarray:
    x = x_u8.astype(np.float32)
    if scaled:
        x *= np.float32(1.0 / 255.0)
    return x


def notes_protocol(n_samples: int = NOTES_SAMPLES, *, dataset: str = "mnist", test_fraction: float = NOTES_TEST_FRACTION,
                   scale: Any = True, seed: Any = 0, data_dir: str | os.PathLike | None = None,
                   download: bool | None = None) -> Dataset:
    """The notes' protocol: ``n_samples`` drawn from all 70,000 images, split 80/20.

    The 60,000 training and 10,000 test images are pooled (pool index ``i`` is training image
    ``i`` for ``i < 60000`` and test image ``i - 60000`` after), ``n_samples`` distinct
    indices are drawn with ``numpy.random.default_rng(seed)``, the first
    ``n_samples - round(n_samples * test_fraction)`` of them (in drawn order) train, the rest
    test. No stratification.

    Args:
        n_samples: how many images to draw, at most 70,000. Default 10,000 (8,000 / 2,000).
        dataset: ``'mnist'`` (default) or ``'fashion_mnist'``.
        test_fraction: share held out for testing, in (0, 1). Default 0.2.
        scale: True (default) divides the pixels by 255 into [0, 1]; ``'raw'`` or False keeps
            the 0..255 values (as float32), as the notes' code did.
        seed: int seed (or numpy Generator) of the draw. Default 0.
        data_dir, download: where to look for the files and whether to download them; see
            :func:`actlab.datasets.find_files` and :func:`actlab.datasets.load_idx_dataset`.

    Returns:
        A :class:`Dataset`, ``x`` float32 of shape ``(n, 784)``, ``y`` int64 in 0..9;
        ``info['train_indices']`` / ``info['test_indices']`` are the pool indices drawn.
        ``dataset.one_hot()`` gives the one-hot labels.
    """
    test_fraction = check_test_fraction(test_fraction)
    scaled = check_scale(scale)
    rng = make_rng(seed)
    (x_tr, y_tr, x_te, y_te), found = load_with_source(dataset, data_dir, download)
    n_tr, n_pool = len(y_tr), len(y_tr) + len(y_te)
    n = check_n_samples(n_samples, n_pool, what=f"{found.name} (train + test pooled)")
    chosen = rng.choice(n_pool, size=n, replace=False)
    train, test = split_indices(n, test_fraction, None)  # the draw is already in random order

    flat_tr, flat_te = _flat(x_tr), _flat(x_te)

    def gather(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.empty((len(idx), flat_tr.shape[1]), dtype=np.uint8)
        y = np.empty(len(idx), dtype=np.int64)
        in_train = idx < n_tr
        x[in_train], y[in_train] = flat_tr[idx[in_train]], y_tr[idx[in_train]]
        x[~in_train], y[~in_train] = flat_te[idx[~in_train] - n_tr], y_te[idx[~in_train] - n_tr]
        return _to_float(x, scaled), y

    x_train, y_train = gather(chosen[train])
    x_test, y_test = gather(chosen[test])
    return Dataset(
        name=found.name, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
        num_classes=10, input_shape=(flat_tr.shape[1],),
        info={"source": found.source, "protocol": "notes: pooled train+test, random draw",
              "n_samples": n, "test_fraction": test_fraction,
              "scale": "[0, 1] (pixels / 255)" if scaled else "raw 0..255",
              "seed": seed if not isinstance(seed, np.random.Generator) else "generator",
              "image_shape": tuple(x_tr.shape[1:]), "sha256_verified": True,
              "train_indices": chosen[train], "test_indices": chosen[test]},
    )


def official_split(dataset: str = "mnist", *, scale: Any = True,
                   data_dir: str | os.PathLike | None = None,
                   download: bool | None = None) -> Dataset:
    """MNIST or Fashion-MNIST with its official 60,000 / 10,000 split, flattened to 784."""
    scaled = check_scale(scale)
    (x_tr, y_tr, x_te, y_te), found = load_with_source(dataset, data_dir, download)
    return Dataset(
        name=found.name,
        x_train=_to_float(_flat(x_tr), scaled), y_train=y_tr.astype(np.int64),
        x_test=_to_float(_flat(x_te), scaled), y_test=y_te.astype(np.int64),
        num_classes=10, input_shape=(int(np.prod(x_tr.shape[1:])),),
        info={"source": found.source, "protocol": "official split",
              "scale": "[0, 1] (pixels / 255)" if scaled else "raw 0..255",
              "image_shape": tuple(x_tr.shape[1:]), "sha256_verified": True},
    )
