"""The NumPy engine: layers with explicit backpropagation and a Keras-style ``Sequential``."""
from . import callbacks, initializers, kernels, losses, optimizers, regularizers
from .callbacks import Callback, EarlyStopping, History, LambdaCallback
from .layers import (ELU, Activation, Dense, Dropout, Flatten, Input, InputLayer, Layer, LeakyReLU,
                     Maxout, PReLU, ReLU, RReLU, Softmax, ThresholdedReLU)
from .model import DivergedError, Sequential
from .mlp import build_mlp, parse_hidden
from .optimizers import SGD, Adam, RMSprop

__all__ = [
    "Activation", "Adam", "build_mlp", "parse_hidden", "Callback", "Dense", "DivergedError", "Dropout", "ELU", "EarlyStopping",
    "Flatten", "History", "Input", "InputLayer", "LambdaCallback", "Layer", "LeakyReLU", "Maxout",
    "PReLU", "ReLU", "RMSprop", "RReLU", "SGD", "Sequential", "Softmax", "ThresholdedReLU", "callbacks", "initializers", "kernels", "losses",
    "optimizers", "regularizers",
]
