"""``keras.layers.core`` (Keras 2): Dense, Activation, Dropout, Flatten."""
from . import Activation, Dense, Dropout, Flatten

__all__ = ["Activation", "Dense", "Dropout", "Flatten"]
