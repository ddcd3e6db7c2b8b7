"""actlab, the activation-function laboratory."""
from ._version import __version__  # noqa: F401
from .activations import get as get_activation  # noqa: F401
