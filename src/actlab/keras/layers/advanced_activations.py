"""``keras.layers.advanced_activations`` (Keras 2): activation layers with parameters."""
from . import ELU, LeakyReLU, Maxout, PReLU, RReLU, Softmax

__all__ = ["ELU", "LeakyReLU", "Maxout", "PReLU", "RReLU", "Softmax"]
