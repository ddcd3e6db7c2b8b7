"""``keras.utils.np_utils`` (Keras 2): ``to_categorical``."""
from . import to_categorical

__all__ = ["to_categorical"]
