"""``keras.datasets.mnist``."""
from __future__ import annotations

import os


def load_data(path: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None):
    """``(x_train, y_train), (x_test, y_test)``: the official 60,000 / 10,000 split, uint8.

    Shapes (60000, 28, 28), (60000,), (10000, 28, 28), (10000,), as Keras. ``path`` (Keras'
    cache file name) is used only when it names an existing folder or ``mnist.npz`` file's folder;
    ``data_dir`` is where to look first.
    """
    return _load("mnist", path, data_dir)


def _load(name, path, data_dir):
    from ... import datasets   # lazy: keeps ``import actlab.keras`` light

    if data_dir is None and path is not None and os.path.exists(os.fspath(path)):
        p = os.fspath(path)
        data_dir = p if os.path.isdir(p) else os.path.dirname(os.path.abspath(p))
    x_train, y_train, x_test, y_test = datasets.load_idx_dataset(name, data_dir)
    return (x_train.copy(), y_train.copy()), (x_test.copy(), y_test.copy())
