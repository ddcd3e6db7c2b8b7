"""``keras.layers.advanced_activations`` (Keras 2): activation layers with parameters."""
from . import ELU, LeakyReLU, Maxout, PReLU, ReLU, RReLU, Softmax, ThresholdedReLU

__all__ = ["ELU", "LeakyReLU", "Maxout", "PReLU", "RReLU", "ReLU", "Softmax", "ThresholdedReLU"]
