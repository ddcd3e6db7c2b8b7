"""The batch order: which samples each mini-batch holds (one definition for every training loop).

Epoch ``e`` of a model seeded ``s`` visits the samples in the order
``default_rng([s, 1_000_000 + e]).permutation(n)``, its batches being consecutive slices of that
order (the last one shorter when ``batch_size`` does not divide ``n``). The NumPy engine's
``fit``, the torch engine's ensembles and the playground's steps all take it from here, so the
engines see the same batches.
"""
from __future__ import annotations

import numpy as np

__all__ = ["epoch_order"]

#: the epoch's offset in the batch-order seed (kept apart from the weights' seeds ``[seed, j]``)
EPOCH_OFFSET = 1_000_000


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order in which epoch ``epoch`` (0-based) of a model seeded ``seed`` visits ``n`` samples."""
    return np.random.default_rng([int(seed), EPOCH_OFFSET + int(epoch)]).permutation(n)
