"""``keras.backend``, the little an MLP script calls: ``clear_session`` (nothing to clear), floatx, epsilon."""
from ..engine.losses import EPSILON

__all__ = ["clear_session", "epsilon", "floatx", "image_data_format"]


def clear_session() -> None:
    """A no-op: actlab keeps no global graph or session."""


def floatx() -> str:
    return "float32"


def epsilon() -> float:
    return EPSILON


def image_data_format() -> str:
    return "channels_last"
