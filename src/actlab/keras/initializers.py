"""``keras.initializers``: the engine's initializers under Keras' class and function names.

The ``seed`` argument Keras takes is accepted and ignored: every draw comes from the model's
seed (``Sequential(seed=...)``), so two models of the same shapes and seed start identical.
"""
from __future__ import annotations

from ..engine.initializers import INITIALIZERS, Initializer, RandomNormal, TruncatedNormal, get

__all__ = ["GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Initializer", "LecunNormal",
           "LecunUniform", "Ones", "RandomNormal", "TruncatedNormal", "Zeros", "get", "glorot_normal",
           "glorot_uniform", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "ones", "zeros"]


def _named(name: str):
    def make(seed=None) -> Initializer:
        return INITIALIZERS[name]
    make.__name__ = name
    make.__doc__ = f"The {name!r} initializer (``seed`` is ignored: the model's seed drives every draw)."
    return make


glorot_uniform = GlorotUniform = _named("glorot_uniform")
glorot_normal = GlorotNormal = _named("glorot_normal")
he_uniform = HeUniform = _named("he_uniform")
he_normal = HeNormal = _named("he_normal")
lecun_uniform = LecunUniform = _named("lecun_uniform")
lecun_normal = LecunNormal = _named("lecun_normal")
zeros = Zeros = _named("zeros")
ones = Ones = _named("ones")

# an actlab extra: the edge of chaos of the layer's activation (kernel_initializer="critical" or
# Critical(sigma_b2=0.05); see actlab.theory and docs/theory.md)
from ..engine.initializers import Critical  # noqa: E402

__all__ += ["Critical"]
