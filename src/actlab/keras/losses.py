"""``keras.losses``: loss objects to pass to ``compile`` (names work as well)."""
from ..engine.losses import LOSSES, Loss, get

categorical_crossentropy = LOSSES["categorical_crossentropy"]
binary_crossentropy = LOSSES["binary_crossentropy"]
mean_squared_error = mse = MSE = LOSSES["mean_squared_error"]

__all__ = ["Loss", "binary_crossentropy", "categorical_crossentropy", "get", "mean_squared_error", "mse"]
