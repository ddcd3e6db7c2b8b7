"""Weight initializers. Each is ``init(shape, rng, dtype) -> ndarray``; ``get(name | obj)``.

Fans follow Keras for a 2-D kernel of shape (fan_in, fan_out). All randomness comes from the
``numpy.random.Generator`` passed in.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

import numpy as np

CHUNK = 1 << 16   # values drawn at a time (float64 scratch of 512 KiB)


@dataclass(frozen=True)
class Initializer:
    """Draws ``scale``-ed values by ``distribution`` ('uniform', 'normal', 'truncated_normal', 'zeros', 'ones')."""

    name: str
    distribution: str
    mode: str | None = None      # 'fan_avg' (Glorot), 'fan_in' (He, LeCun) or None (fixed stddev)
    scale: float = 1.0           # variance scale: 1 (Glorot, LeCun) or 2 (He)
    stddev: float = 0.05
    mean: float = 0.0

    def __call__(self, shape, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
        shape = tuple(shape)
        if self.distribution == "zeros":
            return np.zeros(shape, dtype=dtype)
        if self.distribution == "ones":
            return np.ones(shape, dtype=dtype)
        fan_in = shape[0] if len(shape) > 1 else shape[0]
        fan_out = shape[1] if len(shape) > 1 else shape[0]
        if self.mode is None:
            std = self.stddev
        else:
            fan = (fan_in + fan_out) / 2.0 if self.mode == "fan_avg" else fan_in
            std = math.sqrt(self.scale / fan)
        # The draws are float64 (the values do not depend on ``dtype``), made in chunks of
        # CHUNK values written straight into the result: no float64 copy of a whole float32
        # kernel. Chunked draws continue the same stream, so the values are those of one draw.
        out = np.empty(shape, dtype=dtype)
        flat = out.reshape(-1)
        n = flat.size
        if self.distribution == "uniform":
            limit = math.sqrt(3.0) * std
            for start in range(0, n, CHUNK):
                flat[start:start + CHUNK] = rng.uniform(-limit, limit, size=min(CHUNK, n - start))
        elif self.distribution == "normal":
            for start in range(0, n, CHUNK):
                flat[start:start + CHUNK] = rng.normal(self.mean, std, size=min(CHUNK, n - start))
        else:  # truncated normal: redraw beyond two standard deviations (Keras), in index order
            if self.mode is not None:
                std = std / 0.87962566103423978  # Keras' correction for the truncation
            bad = []
            for start in range(0, n, CHUNK):
                w = rng.normal(0.0, std, size=min(CHUNK, n - start))
                bad.append(start + np.flatnonzero(np.abs(w) > 2 * std))
                w += self.mean
                flat[start:start + CHUNK] = w
            redo = np.concatenate(bad) if bad else np.zeros(0, dtype=np.intp)
            del bad
            while redo.size:
                w = rng.normal(0.0, std, size=redo.size)
                keep = np.abs(w) <= 2 * std
                flat[redo[keep]] = w[keep] + self.mean
                redo = redo[~keep]
        return out

    def config(self):
        if self.mode is None and self.distribution in ("normal", "truncated_normal"):
            return {"name": self.name, "mean": self.mean, "stddev": self.stddev}
        return {"name": self.name}


INITIALIZERS = {
    "glorot_uniform": Initializer("glorot_uniform", "uniform", "fan_avg", 1.0),
    "glorot_normal": Initializer("glorot_normal", "truncated_normal", "fan_avg", 1.0),
    "he_uniform": Initializer("he_uniform", "uniform", "fan_in", 2.0),
    "he_normal": Initializer("he_normal", "truncated_normal", "fan_in", 2.0),
    "lecun_uniform": Initializer("lecun_uniform", "uniform", "fan_in", 1.0),
    "lecun_normal": Initializer("lecun_normal", "truncated_normal", "fan_in", 1.0),
    "random_normal": Initializer("random_normal", "normal"),
    "truncated_normal": Initializer("truncated_normal", "truncated_normal"),
    "zeros": Initializer("zeros", "zeros"),
    "ones": Initializer("ones", "ones"),
}
_ALIASES = {"xavier_uniform": "glorot_uniform", "xavier_normal": "glorot_normal",
            "kaiming_uniform": "he_uniform", "kaiming_normal": "he_normal", "normal": "random_normal",
            "zero": "zeros", "one": "ones"}


def RandomNormal(mean: float = 0.0, stddev: float = 0.05, seed=None) -> Initializer:
    return Initializer("random_normal", "normal", stddev=float(stddev), mean=float(mean))


def TruncatedNormal(mean: float = 0.0, stddev: float = 0.05, seed=None) -> Initializer:
    return Initializer("truncated_normal", "truncated_normal", stddev=float(stddev), mean=float(mean))


def get(identifier) -> Initializer:
    """An initializer from a name, a config dict, an ``Initializer`` or a callable."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, dict):
        cfg = dict(identifier)
        base = get(cfg.pop("name"))
        if cfg:
            return Initializer(base.name, base.distribution, base.mode, base.scale,
                               float(cfg.get("stddev", base.stddev)), float(cfg.get("mean", base.mean)))
        return base
    if isinstance(identifier, str):
        key = _ALIASES.get(identifier.lower(), identifier.lower())
        if key in INITIALIZERS:
            return INITIALIZERS[key]
        close = difflib.get_close_matches(key, list(INITIALIZERS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown initializer {identifier!r}.{hint} Valid names: {', '.join(INITIALIZERS)}")
    if callable(identifier):
        return identifier
    raise ValueError(f"cannot interpret {identifier!r} as an initializer; valid names: {', '.join(INITIALIZERS)}")
