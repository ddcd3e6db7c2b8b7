"""``keras.losses``: loss objects to pass to ``compile`` (names work as well).

``categorical_crossentropy`` after a softmax is fused (gradient ``p - y``); actlab's own
``keras_categorical_crossentropy`` is Keras 2.0-2.2's exact semantics (the clip at 1e-7 and its
zero gradient, through the softmax's Jacobian): ``compile(loss='keras_categorical_crossentropy')``.
"""
from ..engine.losses import LOSSES, Loss, get

categorical_crossentropy = LOSSES["categorical_crossentropy"]
binary_crossentropy = LOSSES["binary_crossentropy"]
mean_squared_error = mse = MSE = LOSSES["mean_squared_error"]
keras_categorical_crossentropy = LOSSES["keras_categorical_crossentropy"]

__all__ = ["Loss", "binary_crossentropy", "categorical_crossentropy", "get", "keras_categorical_crossentropy",
           "mean_squared_error", "mse"]
