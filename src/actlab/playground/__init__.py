"""actlab playground: TensorFlow Playground's live training in the browser, on actlab's engine.

``actlab playground`` serves it on http://127.0.0.1:8000/. :mod:`.session` (training state,
engine only), :mod:`.protocol` (message validation) and :mod:`.data` import no web library;
:mod:`.server` imports Starlette and uvicorn (``pip install 'actlab[web]'``).
"""
from .session import Session

__all__ = ["Session", "create_app", "serve"]


def create_app(*args, **kwargs):
    """The Starlette app (imports Starlette lazily)."""
    from .server import create_app as _create
    return _create(*args, **kwargs)


def serve(*args, **kwargs):
    """Run the server until Ctrl-C (imports uvicorn lazily)."""
    from .server import serve as _serve
    return _serve(*args, **kwargs)
