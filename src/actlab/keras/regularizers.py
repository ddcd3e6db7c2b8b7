"""``keras.regularizers``: ``l1``, ``l2``, ``l1_l2`` and ``L1L2``."""
from ..engine.regularizers import L1L2, get, l1, l1_l2, l2

L1, L2 = l1, l2

__all__ = ["L1", "L1L2", "L2", "get", "l1", "l1_l2", "l2"]
