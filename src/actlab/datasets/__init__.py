"""Datasets, offline: digits (embedded default), MNIST, Fashion-MNIST, 2-D toy sets.

>>> from actlab import datasets
>>> datasets.names()
['digits', 'mnist', 'fashion_mnist', 'circle', 'xor', 'gauss', 'spiral', 'moons']
>>> d = datasets.load("circle", n_samples=100, noise=0.1, seed=1)
>>> d.x_train.shape, d.num_classes
((50, 2), 2)

Every loader returns a :class:`Dataset`. ``load(name, ...)`` is the one entry point the CLI and
the studies use; the functions below it give each source's full set of options:
:func:`load_digits`, :func:`load_idx_dataset` (MNIST / Fashion-MNIST official split as
uint8 arrays), :func:`notes_protocol` (the study notes' draw of N images from all 70,000),
:func:`toy` and :func:`toy_regression`, :func:`find_files` (where MNIST is on this machine).
MNIST files are verified by SHA-256 and never downloaded unless asked; see
:mod:`actlab.datasets.idx` for the search order.
"""
from __future__ import annotations

import difflib
import os
from typing import Any, Callable

from .. import presets as _presets
from .base import Dataset
from .digits import load_digits
from .idx import (
    ChecksumError, DataFiles, DataNotFoundError, DownloadError, IDXFormatError, cache_dir,
    download_idx, find_files, load_idx_dataset, parse_idx, read_idx, search_locations,
)
from .protocol import notes_protocol, official_split
from .toy import REGRESSION_NAMES, TOY_NAMES, toy, toy_regression

__all__ = [
    "Dataset", "names", "canonical_name", "load", "load_digits", "load_idx_dataset", "find_files",
    "notes_protocol", "official_split", "toy", "toy_regression", "download_idx",
    "search_locations", "cache_dir", "parse_idx", "read_idx", "DataFiles",
    "DataNotFoundError", "ChecksumError", "DownloadError", "IDXFormatError",
    "TOY_NAMES", "REGRESSION_NAMES", "LOADERS",
]


def _no_noise(name: str, noise: Any) -> None:
    if noise not in (None, 0, 0.0):
        raise ValueError(f"noise={noise!r} applies only to the toy sets "
                         f"({', '.join(TOY_NAMES)}), not to {name!r}")


def _digits_loader(name: str, *, n_samples, test_fraction, scale, seed, data_dir, noise):
    _no_noise(name, noise)
    return load_digits(test_fraction=_presets.TEST_FRACTION if test_fraction is None else test_fraction,
                       seed=seed, scale=scale, n_samples=n_samples)


def _idx_loader(name: str, *, n_samples, test_fraction, scale, seed, data_dir, noise,
                download: bool | None = None):
    _no_noise(name, noise)
    if n_samples is None and test_fraction is None:
        return official_split(name, scale=scale, data_dir=data_dir, download=download)
    return notes_protocol(70000 if n_samples is None else n_samples, dataset=name,
                          test_fraction=_presets.NOTES_TEST_FRACTION if test_fraction is None else test_fraction,
                          scale=scale, seed=seed, data_dir=data_dir, download=download)


def _toy_loader(name: str, *, n_samples, test_fraction, scale, seed, data_dir, noise,
                num_classes: int = 2):
    return toy(name, n_samples=_presets.TOY_SAMPLES if n_samples is None else n_samples,
               noise=_presets.TOY_NOISE if noise is None else noise, seed=seed,
               test_fraction=_presets.TOY_TEST_FRACTION if test_fraction is None else test_fraction,
               num_classes=num_classes)


#: The registry: dataset name -> loader (called as ``loader(name, **options)``).
LOADERS: dict[str, Callable[..., Dataset]] = {
    "digits": _digits_loader,
    "mnist": _idx_loader,
    "fashion_mnist": _idx_loader,
    **{t: _toy_loader for t in TOY_NAMES},
}
_ALIASES = {"fashion": "fashion_mnist", "fashionmnist": "fashion_mnist", "two_gauss": "gauss",
            "circles": "circle"}


def names() -> list[str]:
    """The dataset names :func:`load` accepts, the embedded default first."""
    return list(LOADERS)


def canonical_name(name: Any) -> str:
    """The registry name of ``name`` (``'Fashion-MNIST'`` -> ``'fashion_mnist'``); ``ValueError``
    naming the closest valid name when there is none."""
    return _resolve(name)


def _resolve(name: Any) -> str:
    key = str(name).strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in LOADERS:
        close = difflib.get_close_matches(key, list(LOADERS) + list(_ALIASES), n=1)
        hint = f"; did you mean {_ALIASES.get(close[0], close[0])!r}?" if close else ""
        raise ValueError(f"unknown dataset {name!r}: valid names are "
                         f"{', '.join(LOADERS)}{hint}")
    return key


def load(name: str, *, n_samples: int | None = None, test_fraction: float | None = None,
         scale: Any = True, seed: Any = 0, data_dir: str | os.PathLike | None = None,
         noise: float | None = None, **kw: Any) -> Dataset:
    """Load a dataset by name as a :class:`Dataset` (x float32 ``(n, features)``, y int).

    Args:
        name: one of :func:`names` (``'fashion'`` is accepted for ``'fashion_mnist'``).
        n_samples: how many samples to use. digits: default all 1,797 (a random subset
            otherwise); toy sets: default 500; mnist / fashion_mnist: see below.
        test_fraction: share held out for testing, in (0, 1). Default 0.2 (digits, MNIST)
            and 0.5 for the toy sets (as TensorFlow Playground).
        scale: True (default) scales pixels to [0, 1]; ``'raw'`` / False keeps raw values.
        seed: int seed (or numpy Generator) of every random choice. Default 0.
        data_dir: a folder to look in first for MNIST files.
        noise: toy sets only, TensorFlow Playground's noise (0 .. 0.5). Default 0.
        **kw: ``download=True`` (mnist, fashion_mnist: allow a download when nothing is
            found), ``num_classes=k`` (gauss, spiral).

    MNIST and Fashion-MNIST: with neither ``n_samples`` nor ``test_fraction`` given, the
    official 60,000 / 10,000 split (in file order, ``seed`` unused); with either given, the
    study notes' protocol (:func:`notes_protocol`): ``n_samples`` (default all 70,000) drawn
    from the pooled images, split by ``test_fraction`` (default 0.2).

    Raises:
        ValueError: unknown name (with the closest valid one), bad ``n_samples``,
            ``test_fraction``, ``noise`` or ``scale``.
        DataNotFoundError: MNIST files not found, with every place searched.
    """
    key = _resolve(name)
    return LOADERS[key](key, n_samples=n_samples, test_fraction=test_fraction, scale=scale,
                        seed=seed, data_dir=data_dir, noise=noise, **kw)
