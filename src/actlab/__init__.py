"""actlab, the activation-function laboratory."""
__version__ = "0.1.0"

from .activations import get as get_activation  # noqa: E402,F401
