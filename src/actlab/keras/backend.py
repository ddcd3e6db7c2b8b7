"""``keras.backend``, the little an MLP script calls: ``clear_session`` (restarts layer names), floatx, epsilon."""
from ..engine.layers import reset_names
from ..engine.losses import EPSILON

__all__ = ["clear_session", "epsilon", "floatx", "image_data_format"]


def clear_session() -> None:
    """Restart the default layer and model names at ``dense_1``, ``sequential_1``, as Keras 2 does
    (actlab keeps no other global graph or session state)."""
    reset_names()


def floatx() -> str:
    return "float32"


def epsilon() -> float:
    return EPSILON


def image_data_format() -> str:
    return "channels_last"
