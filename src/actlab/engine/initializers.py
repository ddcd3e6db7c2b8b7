"""Weight initializers. Each is ``init(shape, rng, dtype) -> ndarray``; ``get(name | obj)``.

Fans follow Keras for a 2-D kernel of shape (fan_in, fan_out). All randomness comes from the
``numpy.random.Generator`` passed in.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, replace
from typing import Any

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

    def variance(self, shape) -> float:
        """The variance of each drawn entry for a kernel of ``shape`` (``fan_in, fan_out``).

        Uniform on [-sqrt(3) std, sqrt(3) std] and the normal have variance std^2; the truncated
        normal of a fan mode too (Keras' correction undoes the truncation); a fixed-stddev
        truncated normal (cut at 2 std) has 0.7737 std^2; zeros and ones 0.
        """
        shape = tuple(shape)
        if self.distribution in ("zeros", "ones"):
            return 0.0
        fan_in = shape[0]
        fan_out = shape[1] if len(shape) > 1 else shape[0]
        if self.mode is None:
            var = self.stddev ** 2
            return var * _TRUNCATED_VARIANCE if self.distribution == "truncated_normal" else var
        fan = (fan_in + fan_out) / 2.0 if self.mode == "fan_avg" else fan_in
        return self.scale / fan

    def config(self):
        if self.mode is None and self.distribution in ("normal", "truncated_normal"):
            return {"name": self.name, "mean": self.mean, "stddev": self.stddev}
        return {"name": self.name}


#: the variance of N(0, 1) truncated to [-2, 2]: 1 - 4 pdf(2) / (2 cdf(2) - 1)
_TRUNCATED_VARIANCE = 0.7737413035499232
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
#: The weights' initializer when none is named (Keras' default; Glorot & Bengio's normalized
#: initialisation): read by build_mlp, make_config, `actlab train --init`, the depth study and the playground.
DEFAULT_INITIALIZER = "glorot_uniform"
_ALIASES = {"xavier_uniform": "glorot_uniform", "xavier_normal": "glorot_normal",
            "kaiming_uniform": "he_uniform", "kaiming_normal": "he_normal", "normal": "random_normal",
            "zero": "zeros", "one": "ones"}


def RandomNormal(mean: float = 0.0, stddev: float = 0.05, seed=None) -> Initializer:
    return Initializer("random_normal", "normal", stddev=float(stddev), mean=float(mean))


def TruncatedNormal(mean: float = 0.0, stddev: float = 0.05, seed=None) -> Initializer:
    return Initializer("truncated_normal", "truncated_normal", stddev=float(stddev), mean=float(mean))


@dataclass(frozen=True)
class MeanField:
    """The mean-field theory's initialisation: weights N(0, sigma_w2 / fan_in), biases N(0, sigma_b2).

    Any ``sigma_w2`` (``actlab phase`` sweeps it); :class:`Critical` is this at the edge of
    chaos. As with ``Critical``, a ``Dense`` layer using it draws its biases N(0, sigma_b2)
    unless given another bias initializer. By name: ``{"name": "mean_field", "sigma_w2": 2.0,
    "sigma_b2": 0.05}``.
    """

    sigma_w2: float
    sigma_b2: float = 0.0
    name: str = "mean_field"

    def __post_init__(self):
        for what, v in (("sigma_w2", self.sigma_w2), ("sigma_b2", self.sigma_b2)):
            if isinstance(v, bool) or not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{self.name} initializer: {what} must be a finite number >= 0, got {v!r}")

    def __call__(self, shape, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
        shape = tuple(shape)
        # the same draws as rng.normal(0, std, shape), in chunks: no float64 copy of the kernel
        return Initializer(self.name, "normal", stddev=math.sqrt(self.sigma_w2 / shape[0]))(shape, rng, dtype)

    def bias_initializer(self) -> Initializer:
        if self.sigma_b2 == 0:
            return INITIALIZERS["zeros"]
        return RandomNormal(0.0, math.sqrt(self.sigma_b2))

    def config(self):
        return {"name": "mean_field", "sigma_w2": float(self.sigma_w2), "sigma_b2": float(self.sigma_b2)}


@dataclass(frozen=True)
class Critical:
    """Weights at the edge of chaos of ``activation``: N(0, sigma_w2* / fan_in), biases N(0, sigma_b2).

    sigma_w2* is the weight variance at which the mean-field theory's chi_1 is 1 for that
    activation and ``sigma_b2`` (:func:`actlab.theory.edge_of_chaos`): gradients then neither
    vanish nor explode with depth (tanh: 1 at sigma_b2 = 0, 1.7610 at 0.05; relu: 2 = He at 0).
    ``activation=None`` (``"critical"`` by name) means the activation of the layer using it:
    ``Dense(..., kernel_initializer="critical")`` binds its own activation, and ``build_mlp``
    binds, for each layer, the activation of the layer that feeds it (whose outputs the weights
    multiply). With it, a ``Dense`` layer's default bias initializer becomes N(0, sigma_b2).
    An activation without an edge (relu with sigma_b2 > 0) is a ``ValueError`` saying why.
    """

    activation: Any = None
    sigma_b2: float = 0.0
    name: str = "critical"

    def __post_init__(self):
        if not (isinstance(self.sigma_b2, (int, float)) and math.isfinite(self.sigma_b2) and self.sigma_b2 >= 0):
            raise ValueError(f"critical initializer: sigma_b2 must be a finite number >= 0, got {self.sigma_b2!r}")

    def bind(self, activation: Any) -> Critical:
        """This initializer for ``activation`` unless it names one already."""
        return self if self.activation is not None else replace(self, activation=activation)

    @property
    def sigma_w2(self) -> float:
        if self.activation is None:
            raise ValueError("the critical initializer needs an activation: use it in a Dense layer with one, "
                             "or Critical(activation=..., sigma_b2=...)")
        return _critical_sigma_w2(self.activation, float(self.sigma_b2))

    def __call__(self, shape, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
        return MeanField(self.sigma_w2, float(self.sigma_b2), self.name)(shape, rng, dtype)

    def variance(self, shape) -> float:
        """The variance of each drawn entry: sigma_w2* / fan_in."""
        fan_in, *_ = shape
        return self.sigma_w2 / fan_in

    def bias_initializer(self) -> Initializer:
        return MeanField(0.0, float(self.sigma_b2), self.name).bias_initializer()

    def config(self):
        out: dict[str, Any] = {"name": "critical", "sigma_b2": self.sigma_b2}
        if self.activation is not None:
            from .. import activations as _acts

            out["activation"] = _acts.get(self.activation).config() if not isinstance(self.activation, dict) \
                else dict(self.activation)
        return out


_CRITICAL: dict[tuple, float] = {}


def _critical_sigma_w2(activation: Any, sigma_b2: float) -> float:
    """The edge of chaos of ``activation`` at ``sigma_b2`` (cached: one root search per activation)."""
    from .. import activations as _acts
    from .. import theory

    if isinstance(activation, dict):
        cfg = dict(activation)
        act = _acts.get(cfg.pop("name"), **cfg)
    else:
        act = _acts.get(activation)
    key = (act.name, repr(sorted(act.params.items())), id(act.fn), sigma_b2)
    if key not in _CRITICAL:
        edge = theory.edge_of_chaos(act, sigma_b2)
        if edge.sigma_w2 is None:
            raise ValueError(f"no critical initialisation for {act.name} at sigma_b2={sigma_b2:g}: {edge.reason}")
        _CRITICAL[key] = edge.sigma_w2
    return _CRITICAL[key]


def get(identifier) -> Initializer:
    """An initializer from a name, a config dict, an ``Initializer`` or a callable."""
    if isinstance(identifier, (Initializer, Critical, MeanField)):
        return identifier
    if isinstance(identifier, dict) and str(identifier.get("name", "")).lower() == "mean_field":
        cfg = {k: v for k, v in identifier.items() if k != "name"}
        unknown = sorted(set(cfg) - {"sigma_w2", "sigma_b2"})
        if unknown or "sigma_w2" not in cfg:
            raise ValueError(f"mean_field initializer: {'unknown option ' + repr(unknown[0]) if unknown else 'no sigma_w2'}"
                             "; valid: sigma_w2 (required), sigma_b2")
        return MeanField(cfg["sigma_w2"], cfg.get("sigma_b2", 0.0))
    if isinstance(identifier, dict) and str(identifier.get("name", "")).lower() == "critical":
        cfg = {k: v for k, v in identifier.items() if k != "name"}
        unknown = sorted(set(cfg) - {"activation", "sigma_b2"})
        if unknown:
            raise ValueError(f"critical initializer: unknown option {unknown[0]!r}; valid: activation, sigma_b2")
        return Critical(cfg.get("activation"), float(cfg.get("sigma_b2", 0.0)))
    if isinstance(identifier, str) and identifier.lower() == "critical":
        return Critical()
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
        close = difflib.get_close_matches(key, [*INITIALIZERS, "critical"], n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown initializer {identifier!r}.{hint} Valid names: {', '.join(INITIALIZERS)}, critical")
    if callable(identifier):
        return identifier
    raise ValueError(f"cannot interpret {identifier!r} as an initializer; valid names: {', '.join(INITIALIZERS)}, critical")
