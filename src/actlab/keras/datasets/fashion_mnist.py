"""``keras.datasets.fashion_mnist``."""
from __future__ import annotations

import os

from .mnist import _load


def load_data(path: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None):
    """``(x_train, y_train), (x_test, y_test)``: Fashion-MNIST's official split, uint8, as Keras."""
    return _load("fashion_mnist", path, data_dir)
