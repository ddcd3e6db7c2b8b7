"""``keras.models``: ``Sequential`` (the engine's, plus ``save``), ``load_model``, ``save_model``."""
from __future__ import annotations

import json
import os

import numpy as np

from ..engine import model as _model

__all__ = ["Sequential", "load_model", "save_model", "model_from_json"]


class Sequential(_model.Sequential):
    """:class:`actlab.engine.Sequential` with Keras' ``save`` and ``metrics_names``."""

    def save(self, filepath: str | os.PathLike, overwrite: bool = True, **unused) -> None:
        """Save the description and the weights to one ``.npz`` file (``load_model`` reads it)."""
        save_model(self, filepath, overwrite=overwrite)

    def to_json(self, **kw) -> str:
        return json.dumps(self.get_config(), **kw)

    @property
    def metrics_names(self) -> list[str]:
        return ["loss", *self.metrics]


def save_model(model: _model.Sequential, filepath: str | os.PathLike, overwrite: bool = True, **unused) -> None:
    path = os.fspath(filepath)
    if not overwrite and os.path.exists(path):
        raise ValueError(f"{path!r} exists and overwrite=False")
    model.save_weights(path)


def load_model(filepath: str | os.PathLike, custom_objects=None, compile: bool = True) -> Sequential:
    """A model saved by ``model.save(path)`` / ``save_weights``: layers, seed and weights (not compiled)."""
    path = os.fspath(filepath)
    with np.load(path, allow_pickle=False) as data:
        if "config" not in data.files:
            raise ValueError(f"{path!r} holds weights without a model description; "
                             "build the model and call model.load_weights instead")
        config = json.loads(str(data["config"]))
    model = Sequential.from_config(config)
    model.load_weights(path)
    return model


def model_from_json(json_string: str, custom_objects=None) -> Sequential:
    return Sequential.from_config(json.loads(json_string))
