"""``keras.optimizers``: SGD (``lr=`` or ``learning_rate=``), Adam, RMSprop, with Keras 2 defaults."""
from ..engine.optimizers import SGD, Adam, Optimizer, RMSprop, get

__all__ = ["SGD", "Adam", "Optimizer", "RMSprop", "get", "serialize"]


def serialize(optimizer: Optimizer) -> dict:
    return optimizer.get_config()
