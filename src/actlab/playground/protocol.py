"""The playground's websocket protocol: what a browser may send, validated field by field.

Every message is one JSON object with a ``type``. A message that is not valid (bad JSON,
unknown type or field, wrong type, value out of range, over the size limit) raises
:class:`ProtocolError`; the server answers ``{"type": "error", "message": ...}`` and changes
nothing. Nothing here imports a web library.

Browser -> server::

    {"type": "config", "config": {<some of CONFIG_FIELDS>}}   change settings (rebuilds and resets)
    {"type": "play"} | {"type": "pause"} | {"type": "reset"}
    {"type": "step", "n": 1}                                   n optimizer steps (1..MAX_STEP)
    {"type": "upload", "csv": "x1,x2,label\\n..."}              a small CSV of points
    {"type": "export"}                                         the network as a script + weights

Server -> browser: ``hello`` (limits, zoo, defaults), ``network`` (structure, curves),
``frame`` (live state), ``export``, ``error``.
"""
from __future__ import annotations

import json
import math
from typing import Any

from .. import activations as _acts
from .. import plan as _plan
from .. import presets as _presets
from ..engine import initializers as _inits
from ..engine import optimizers as _optim
from . import data as _data

# -- limits that keep one tab from exhausting the server ------------------------------------
MAX_MESSAGE_BYTES = 128 * 1024      # a CSV upload of 64 KiB fits, with JSON escaping
MAX_LAYERS = 10                     # hidden layers
MAX_NEURONS = 16                    # per hidden layer
MIN_POINTS, MAX_POINTS = 20, 2000
MAX_STEP = 1000
MAX_SESSIONS = 32                   # concurrent tabs per server
MAX_SESSIONS_PER_CLIENT = 8         # concurrent tabs per client address
IDLE_TIMEOUT_S = 20 * 60            # a tab that sends nothing for this long is closed
MAX_MESSAGES_PER_SECOND = 30        # sustained; bursts up to RATE_BURST
RATE_BURST = 60
MAX_DEPTH = 8                       # JSON nesting: a config with layer params is 5 deep
LR_RANGE = (1e-6, 10.0)
BATCH_RANGE = (1, 512)
REG_RANGE = (0.0, 1.0)
NOISE_RANGE = (0.0, 0.5)
RATIO_RANGE = (0.1, 0.9)
SEED_RANGE = (0, 2**31 - 1)
PARAM_RANGE = (-10.0, 10.0)         # activation parameters (alpha, lower, upper, ...)
MAXOUT_K_RANGE = (2, 4)
SIGMA_B2_RANGE = (0.0, 2.0)         # the bias variance of the critical initializer

OPTIMIZERS = tuple(_optim.OPTIMIZERS)   # the engine's one registry
# Hidden layers take every activation of the zoo that maps a unit to a unit, plus those the layer
# plan makes a layer of their own (maxout); softmax and log_softmax normalise over a whole layer and
# are output activations only.
HIDDEN_ACTIVATIONS = tuple(n for n in _acts.names()
                           if _acts.get(n).elementwise or n in _plan.OWN_LAYER)


def hidden_activations() -> tuple[str, ...]:
    """The activation menu: :data:`HIDDEN_ACTIVATIONS` and those registered since (a user's
    plugins, ``actlab playground --plugin FILE``)."""
    return tuple(n for n in _acts.names() if n in HIDDEN_ACTIVATIONS or _acts.get(n).elementwise)
# the engine's named initializers and "critical": the edge of chaos of each layer's activation
# (actlab.engine.initializers.Critical), with the bias variance ``sigma_b2``
INITIALIZERS = (*_inits.INITIALIZERS, "critical")

# What a new tab starts from. Playground-specific, on purpose: TensorFlow Playground's own start
# (the circle, no noise, half the points for training, a 4-2 tanh net, plain SGD at 0.03 with
# batches of 10), toy-sized for a browser; not the toy sets' preset (actlab.presets: Adam 0.01,
# 8x2), which is what `actlab train` and the studies use. The names and the defaults that mean
# the same as the engine's are read from the engine: the initializer (DEFAULT_INITIALIZER), the
# critical initializer's bias variance, the optimizer's registry name; the noise and the share held
# out for testing (TensorFlow Playground's, as the toy sets' own) from actlab.presets.
DEFAULT_CONFIG: dict[str, Any] = {
    "dataset": "circle",
    "noise": _presets.TOY_NOISE,
    "train_ratio": 1.0 - _presets.TOY_TEST_FRACTION,
    "n_points": 400,
    "seed": 1,
    "features": ["x1", "x2"],
    "layers": [{"units": 4, "activation": "tanh"}, {"units": 2, "activation": "tanh"}],
    "initializer": _inits.DEFAULT_INITIALIZER,
    "sigma_b2": _inits.Critical.sigma_b2,   # used by initializer "critical" only
    "learning_rate": 0.03,
    "batch_size": 10,
    "optimizer": _optim.SGD.name,
    "l1": 0.0,
    "l2": 0.0,
    "compare": None,
}
CONFIG_FIELDS = tuple(DEFAULT_CONFIG)
MESSAGE_FIELDS = {
    "config": {"type", "config"}, "play": {"type"}, "pause": {"type"}, "reset": {"type"},
    "step": {"type", "n"}, "upload": {"type", "csv"}, "export": {"type"},
}
REQUIRED = {"config": {"config"}, "upload": {"csv"}}


class ProtocolError(ValueError):
    """A message the server refuses; ``str(err)`` is what the browser is told."""


def decode(raw: str | bytes) -> dict[str, Any]:
    """Parse and validate one message; returns it with its values normalised."""
    size = len(raw) if isinstance(raw, (bytes, bytearray)) else len(raw.encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message of {size} bytes refused: the limit is {MAX_MESSAGE_BYTES} bytes")
    try:
        msg = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"message is not valid JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError("message refused: its JSON is nested too deeply (no message nests "
                            f"more than {MAX_DEPTH} levels)") from None
    depth = _depth(msg)
    if depth > MAX_DEPTH:
        raise ProtocolError(f"message refused: its JSON is nested {depth} levels deep; "
                            f"no message nests more than {MAX_DEPTH}")
    return validate_message(msg)


def _depth(value: Any) -> int:
    """How deeply containers nest in a parsed message (without recursion: a message may be
    nested as deeply as the JSON parser allows)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        v, d = todo.pop()
        if isinstance(v, dict):
            v = list(v.values())
        if isinstance(v, list):
            deepest = max(deepest, d)
            todo.extend((x, d + 1) for x in v)
    return deepest


def validate_message(msg: Any) -> dict[str, Any]:
    if not isinstance(msg, dict):
        raise ProtocolError(f"a message must be a JSON object, got {type(msg).__name__}")
    kind = msg.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(f"a message's type must be a string, got {_short(kind)}; "
                            f"valid: {', '.join(MESSAGE_FIELDS)}")
    if kind not in MESSAGE_FIELDS:
        raise ProtocolError(f"unknown message type {kind[:40]!r}; valid: {', '.join(MESSAGE_FIELDS)}")
    unknown = sorted(set(msg) - MESSAGE_FIELDS[kind])
    if unknown:
        raise ProtocolError(f"{kind} message: unknown field {unknown[0]!r}; "
                            f"valid: {', '.join(sorted(MESSAGE_FIELDS[kind]))}")
    missing = sorted(REQUIRED.get(kind, set()) - set(msg))
    if missing:
        raise ProtocolError(f"{kind} message: missing field {missing[0]!r}")
    out: dict[str, Any] = {"type": kind}
    if kind == "config":
        out["config"] = validate_config(msg["config"])
    elif kind == "step":
        out["n"] = _int(msg.get("n", 1), "n", 1, MAX_STEP)
    elif kind == "upload":
        if not isinstance(msg["csv"], str):
            raise ProtocolError(f"upload message: csv must be a string, got {type(msg['csv']).__name__}")
        out["csv"] = msg["csv"]
    return out


def validate_config(cfg: Any) -> dict[str, Any]:
    """A partial configuration, checked field by field (unknown fields refused)."""
    if not isinstance(cfg, dict):
        raise ProtocolError(f"config must be an object, got {type(cfg).__name__}")
    unknown = sorted(set(cfg) - set(CONFIG_FIELDS))
    if unknown:
        raise ProtocolError(f"config: unknown field {unknown[0]!r}; valid: {', '.join(CONFIG_FIELDS)}")
    out: dict[str, Any] = {}
    for key, value in cfg.items():
        out[key] = _VALIDATORS[key](value)
    return out


def _short(v: Any) -> str:
    """A value as JSON, cut to 40 characters, for an error message."""
    try:
        return json.dumps(v)[:40]
    except (TypeError, ValueError, RecursionError):
        return type(v).__name__


def encode(payload: dict[str, Any]) -> str:
    """A server message as strict JSON. A value that is not finite (a diverged network's
    weights, say) becomes ``null`` rather than breaking the tab: JSON has no inf or NaN."""
    try:
        return json.dumps(payload, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(_finite_only(payload), separators=(",", ":"), allow_nan=False)


def _finite_only(v: Any) -> Any:
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _finite_only(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite_only(x) for x in v]
    return v


# -- field validators ------------------------------------------------------------------------
def _num(v: Any, name: str, lo: float, hi: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ProtocolError(f"{name} must be a number, got {json.dumps(v)[:40]}")
    if not math.isfinite(v) or not lo <= v <= hi:
        raise ProtocolError(f"{name} must be between {lo:g} and {hi:g}, got {v!r}")
    return float(v)


def _int(v: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        else:
            raise ProtocolError(f"{name} must be an integer, got {json.dumps(v)[:40]}")
    if not lo <= v <= hi:
        raise ProtocolError(f"{name} must be between {lo} and {hi}, got {v!r}")
    return int(v)


def _choice(v: Any, name: str, valid) -> str:
    if not isinstance(v, str) or v not in valid:
        raise ProtocolError(f"{name} {json.dumps(v)[:40]} is not valid; valid: {', '.join(valid)}")
    return v


def _features(v: Any) -> list[str]:
    if not isinstance(v, list) or not v:
        raise ProtocolError("features must be a non-empty list of feature names; valid: "
                            + ", ".join(_data.FEATURES))
    names = [_choice(f, "feature", tuple(_data.FEATURES)) for f in v]
    if len(set(names)) != len(names):
        raise ProtocolError(f"features must not repeat, got {names}")
    return [n for n in _data.FEATURES if n in names]     # canonical order


def activation_spec(v: Any, name: str = "activation") -> dict[str, Any]:
    """``"tanh"`` or ``{"activation": "prelu", "params": {"alpha": 0.25}}`` -> the dict form."""
    if isinstance(v, str):
        v = {"activation": v}
    if not isinstance(v, dict):
        raise ProtocolError(f"{name} must be a name or an object, got {json.dumps(v)[:40]}")
    unknown = sorted(set(v) - {"activation", "params", "units"})
    if unknown:
        raise ProtocolError(f"{name}: unknown field {unknown[0]!r}; valid: activation, params")
    act = _choice(v.get("activation"), name, hidden_activations())
    params = v.get("params", {}) or {}
    if not isinstance(params, dict):
        raise ProtocolError(f"{name} params must be an object, got {json.dumps(params)[:40]}")
    base = _acts.get(act)
    clean: dict[str, Any] = {}
    for key, value in params.items():
        if key not in base.params or key == "axis":
            valid = ", ".join(k for k in base.params if k != "axis") or "none"
            raise ProtocolError(f"{act} has no parameter {key!r}; valid: {valid}")
        if isinstance(base.params[key], bool):
            if not isinstance(value, bool):
                raise ProtocolError(f"{act} {key} must be true or false, got {json.dumps(value)[:40]}")
            clean[key] = value
        elif key == "k":
            clean[key] = _int(value, f"{act} k", *MAXOUT_K_RANGE)
        else:
            clean[key] = _num(value, f"{act} {key}", *PARAM_RANGE)
    try:
        base.with_params(**clean)
    except ValueError as exc:
        raise ProtocolError(f"{act}: {exc}") from None
    out = {"activation": act}
    if clean:
        out["params"] = clean
    return out


def _layers(v: Any) -> list[dict[str, Any]]:
    if not isinstance(v, list):
        raise ProtocolError(f"layers must be a list, got {json.dumps(v)[:40]}")
    if len(v) > MAX_LAYERS:
        raise ProtocolError(f"at most {MAX_LAYERS} hidden layers, got {len(v)}")
    out = []
    for i, layer in enumerate(v):
        if not isinstance(layer, dict):
            raise ProtocolError(f"layer {i + 1} must be an object, got {json.dumps(layer)[:40]}")
        unknown = sorted(set(layer) - {"units", "activation", "params"})
        if unknown:
            raise ProtocolError(f"layer {i + 1}: unknown field {unknown[0]!r}; valid: units, activation, params")
        units = _int(layer.get("units"), f"layer {i + 1} units", 1, MAX_NEURONS)
        spec = activation_spec({k: layer[k] for k in ("activation", "params") if k in layer},
                               f"layer {i + 1} activation")
        out.append({"units": units, **spec})
    return out


def _compare(v: Any):
    return None if v is None else activation_spec(v, "compare")


_VALIDATORS = {
    "dataset": lambda v: _choice(v, "dataset", tuple(_data.DATASETS) + ("upload",)),
    "noise": lambda v: _num(v, "noise", *NOISE_RANGE),
    "train_ratio": lambda v: _num(v, "train_ratio", *RATIO_RANGE),
    "n_points": lambda v: _int(v, "n_points", MIN_POINTS, MAX_POINTS),
    "seed": lambda v: _int(v, "seed", *SEED_RANGE),
    "features": _features,
    "layers": _layers,
    "initializer": lambda v: _choice(v, "initializer", INITIALIZERS),
    "sigma_b2": lambda v: _num(v, "sigma_b2", *SIGMA_B2_RANGE),
    "learning_rate": lambda v: _num(v, "learning_rate", *LR_RANGE),
    "batch_size": lambda v: _int(v, "batch_size", *BATCH_RANGE),
    "optimizer": lambda v: _choice(v, "optimizer", OPTIMIZERS),
    "l1": lambda v: _num(v, "l1", *REG_RANGE),
    "l2": lambda v: _num(v, "l2", *REG_RANGE),
    "compare": _compare,
}
assert set(_VALIDATORS) == set(CONFIG_FIELDS)


def limits() -> dict[str, Any]:
    """The limits, sent to the browser in ``hello`` so its controls match the server's."""
    return {
        "max_layers": MAX_LAYERS, "max_neurons": MAX_NEURONS, "min_points": MIN_POINTS,
        "max_points": MAX_POINTS, "max_message_bytes": MAX_MESSAGE_BYTES, "max_step": MAX_STEP,
        "learning_rate": list(LR_RANGE), "batch_size": list(BATCH_RANGE), "reg": list(REG_RANGE),
        "noise": list(NOISE_RANGE), "train_ratio": list(RATIO_RANGE), "sigma_b2": list(SIGMA_B2_RANGE),
        "max_csv_bytes": _data.MAX_CSV_BYTES, "max_csv_rows": _data.MAX_CSV_ROWS,
    }
