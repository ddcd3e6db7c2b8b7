"""Run configurations: :func:`make_config` (the schema is in :mod:`actlab.studies.runner`'s
docstring) and the data a configuration names (:func:`load_data`, cached per process).

The configuration is a run's identity: its canonical JSON hash is the run's key in the store,
so this module changes no field's format without a store migration.
"""
from __future__ import annotations

import functools
import os
from typing import Any

from ..backends import DEFAULT_BACKEND
from ..engine.initializers import DEFAULT_INITIALIZER
from ..engine.losses import DEFAULT_LOSS
from ..engine.model import DEFAULT_DTYPE
from ..presets import DEFAULT_ACTIVATION, DEFAULT_DATASET, DEFAULT_SEED
from ..store import Store, canonical_json

__all__ = ["make_config", "load_data", "preload_data"]


def _activation_config(activation: Any) -> dict:
    from .. import activations

    if isinstance(activation, dict):
        params = {k: v for k, v in activation.items() if k != "name"}
        return activations.get(activation["name"], **params).config()
    return activations.get(activation).config()


def _optimizer_config(optimizer: Any, learning_rate: float | None = None) -> dict:
    from ..engine import optimizers

    if isinstance(optimizer, str):
        optimizer = {"name": optimizer}
    cfg = dict(optimizer)
    if learning_rate is not None:
        cfg["learning_rate"] = learning_rate
    return optimizers.get(cfg).get_config()


def make_config(*, study: str, seed: int = DEFAULT_SEED, dataset: str = DEFAULT_DATASET, protocol: str | None = None,
                n_samples: int | None = None, test_fraction: float | None = None, scale: Any = True,
                data_seed: int | None = None, hidden: Any = None, activation: Any = DEFAULT_ACTIVATION,
                init: str = DEFAULT_INITIALIZER, dtype: str = DEFAULT_DTYPE, dropout: float = 0.0,
                optimizer: Any = None, learning_rate: float | None = None, epochs: int | None = None,
                batch_size: int | None = None, engine: str = DEFAULT_BACKEND, diagnostics: dict | list | None = None,
                data_dir: str | os.PathLike | None = None, steps: int | None = None,
                loss: str = DEFAULT_LOSS, **extra: Any) -> dict:
    """A complete run configuration (see the module docstring), every default filled in.

    ``hidden``, ``optimizer``, ``learning_rate``, ``batch_size`` and ``epochs`` default to the
    dataset's preset (:func:`actlab.presets.resolve`, the same values ``actlab train`` uses).
    ``data_seed`` defaults to ``seed``: for seed ``i`` every activation sees the same split.
    ``extra`` adds top-level fields (they are part of the key), for studies that need more.
    ``steps`` (NumPy engine) replaces the epoch budget by exactly that many SGD steps
    (:func:`actlab.studies.runner.steps_plan`): the config then has ``"epochs": null, "steps": steps``;
    without it the config is unchanged (no ``steps`` key), so existing runs keep their keys.
    """
    from .. import presets
    from ..activations import plugins
    from ..engine import losses, parse_hidden
    from ..backends import backend_names

    if None in (hidden, optimizer, learning_rate, batch_size, epochs):
        preset = presets.resolve(dataset, hidden=hidden, optimizer=None if optimizer is None else (
            optimizer if isinstance(optimizer, str) else dict(optimizer).get("name")),
            learning_rate=learning_rate, batch_size=batch_size, epochs=epochs)
        hidden, batch_size, epochs = preset["hidden"], preset["batch_size"], preset["epochs"]
        optimizer = preset["optimizer"] if optimizer is None else optimizer
        if learning_rate is None and not (isinstance(optimizer, dict) and "learning_rate" in optimizer):
            learning_rate = preset["learning_rate"]

    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if steps is not None:
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            raise ValueError(f"steps must be a positive integer, got {steps!r}")
        if engine != "numpy":
            raise ValueError(f"a steps budget needs the numpy engine, got engine {engine!r}")
        epochs = 0  # not used: the steps decide (and the config says epochs: null)
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if engine not in backend_names():
        raise ValueError(f"unknown engine {engine!r}; valid: {', '.join(backend_names())}")
    if protocol not in (None, "notes"):
        raise ValueError(f"unknown data protocol {protocol!r}; valid: none, 'notes'")
    if scale not in (True, "raw"):
        scale = "raw" if scale in (False, "none", None) else scale
        if scale != "raw":
            raise ValueError(f"scale must be True ([0, 1]) or 'raw', got {scale!r}")
    parse_hidden(hidden)  # validates
    loss = losses.get(loss).name  # validates; an alias is stored under its name
    if isinstance(diagnostics, (list, tuple)):
        diagnostics = {name: {} for name in diagnostics}
    act_cfg = _activation_config(activation)
    plugin_shas, plugin_sources = plugins.config_part(act_cfg["name"])   # a user's activation travels along
    cfg = {
        "study": study,
        "engine": engine,
        "seed": seed,
        "data": {"name": dataset, "protocol": protocol, "n_samples": n_samples,
                 "test_fraction": None if test_fraction is None else float(test_fraction), "scale": scale,
                 "seed": seed if data_seed is None else int(data_seed)},
        "model": {"hidden": hidden if isinstance(hidden, str) else ",".join(map(str, parse_hidden(hidden))),
                  "activation": act_cfg, "init": init, "dtype": dtype,
                  "dropout": float(dropout)},
        "train": {"optimizer": _optimizer_config(optimizer, learning_rate), "epochs": epochs,
                  "batch_size": batch_size, "loss": loss},
        "runtime": {"data_dir": None if data_dir is None else str(data_dir)},
    }
    if steps is not None:
        cfg["train"]["epochs"] = None
        cfg["train"]["steps"] = steps
    if plugin_shas:
        cfg["plugins"] = plugin_shas                    # in the key: a changed plugin is a new run
        cfg["runtime"]["plugins"] = plugin_sources      # the text, for the process that trains it
    if diagnostics:
        cfg["diagnostics"] = dict(diagnostics)
    cfg.update(extra)
    return Store.normalize(cfg)


@functools.lru_cache(maxsize=4)
def _load_data_cached(data_json: str, data_dir: str | None):
    import json

    from .. import datasets, presets

    d = json.loads(data_json)
    scale = d.get("scale", True)
    kw = dict(n_samples=d.get("n_samples"), test_fraction=d.get("test_fraction"), scale=scale,
              seed=d.get("seed", 0), data_dir=data_dir)
    if "noise" in d:  # the 2-D toy sets
        kw["noise"] = d["noise"]
    if d.get("protocol") == "notes":
        if kw["n_samples"] is None:
            kw["n_samples"] = presets.NOTES_SAMPLES
        if kw["test_fraction"] is None:
            kw["test_fraction"] = presets.NOTES_TEST_FRACTION
        return datasets.notes_protocol(dataset=d.get("name", "mnist"), **kw)
    return datasets.load(d.get("name", presets.DEFAULT_DATASET), **kw)


# datasets an executor handed to this process (a Ray worker gets them from the object store)
_PRELOADED: dict[str, Any] = {}


def load_data(data: dict, runtime: dict | None = None):
    """The dataset of a configuration's ``"data"`` part (cached per process)."""
    text = canonical_json(data)
    if text in _PRELOADED:
        return _PRELOADED[text]
    data_dir = (runtime or {}).get("data_dir")
    return _load_data_cached(text, None if data_dir is None else str(data_dir))


def preload_data(data: dict, dataset) -> None:
    """Make ``load_data(data)`` return ``dataset`` in this process (the most recent 4 kept)."""
    text = canonical_json(data)
    _PRELOADED.pop(text, None)
    _PRELOADED[text] = dataset
    while len(_PRELOADED) > 4:
        del _PRELOADED[next(iter(_PRELOADED))]


