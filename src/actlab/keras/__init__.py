"""Keras 2 / ``tf.keras`` compatible import surface over actlab's NumPy engine.

A script written for Keras 2 or ``tensorflow.keras`` that builds and trains an MLP runs with only
its import lines changed (``keras`` -> ``actlab.keras``, ``tensorflow.keras`` -> ``actlab.keras``)::

    from actlab.keras.models import Sequential
    from actlab.keras.layers import Dense, Activation
    from actlab.keras.layers.advanced_activations import LeakyReLU, PReLU
    from actlab.keras.optimizers import SGD
    from actlab.keras.utils import np_utils

The classes are the engine's own (:mod:`actlab.engine`); this package only arranges them the way
Keras 2 did. Differences from Keras, on purpose:

* ``LeakyReLU()`` without ``alpha`` uses actlab's one default, 0.01 (the study notes, PyTorch),
  where Keras uses 0.3, and says so once with a ``UserWarning``; pass ``alpha`` explicitly.
  Likewise the string ``'leaky_relu'`` means slope 0.01 here (0.2 in Keras).
* ``Sequential(seed=...)``: every random draw (weights, batch order, dropout) comes from the
  model's seed; without one a seed is drawn and recorded in ``model.seed``. Initializers'
  own ``seed=`` arguments are accepted and ignored.
* Weights are saved as ``.npz`` (no pickle, no HDF5): ``model.save('m.npz')``, ``load_model``.
* MLPs only: Dense, activation layers, Dropout, Flatten; no convolutions, no functional API.
"""
from . import (activations, backend, callbacks, datasets, initializers, layers, losses, models,
               optimizers, regularizers, utils)
from .layers import Input
from .models import Sequential, load_model

__version__ = "2.15.0-actlab"   # the Keras 2 API this surface follows

__all__ = ["Input", "Sequential", "activations", "backend", "callbacks", "datasets", "initializers",
           "layers", "load_model", "losses", "models", "optimizers", "regularizers", "utils"]
