"""Run functions of the torch engine, with the studies' configuration and result schema.

``train_run(config)`` is ``actlab.studies.runner.ENGINES["torch"]``: the same configuration as
the NumPy engine's run function (see :mod:`actlab.studies.runner`), the same result dict.
``train_ensemble(configs)`` trains many runs at once: the runs are grouped by what must be equal
for one batched computation (layer shapes, data set and split sizes, optimizer kind and its
hyper-parameters other than the learning rate, batch size, epochs, loss), and each group of
at most ``max_members`` runs is one :class:`~actlab.torch_engine.model.TorchEnsemble`. The
members may differ in seed (weights, batch order, data split), activation and learning rate.

Timing: ``history["seconds"]`` is the member's share of the ensemble's epoch (the epoch's wall
time divided by the number of members), so that seconds per run stay comparable with the NumPy
engine's; ``diagnostics["engine"]`` records the device, the ensemble size and its raw epoch times.
Diagnostics (``config["diagnostics"]``) are computed on the NumPy model, into which the trained
weights are copied after every epoch.
"""
from __future__ import annotations

import json
import math
import time
from typing import Any, Callable

import numpy as np

MAX_MEMBERS = 64


def _structure(act_cfg: dict) -> str:
    """The layer structure an activation implies (build_mlp): prelu/rrelu add a layer, maxout widens."""
    name = act_cfg.get("name")
    if name in ("prelu", "rrelu"):
        return name
    if name == "maxout":
        return f"maxout{act_cfg.get('k', 2)}"
    return "plain"


def group_key(config: dict) -> str:
    """Runs with equal keys can be members of one ensemble."""
    data = {k: v for k, v in config.get("data", {}).items() if k != "seed"}
    model = dict(config.get("model", {}))
    act = model.pop("activation", {"name": "relu"})
    act = act if isinstance(act, dict) else {"name": act}
    model["structure"] = _structure(act)
    model.pop("init", None)
    model["dropout"] = bool(model.get("dropout"))
    train = dict(config.get("train", {}))
    opt = {k: v for k, v in dict(train.pop("optimizer", {})).items() if k != "learning_rate"}
    return json.dumps({"data": data, "model": model, "train": train, "opt": opt,
                       "runtime": config.get("runtime"), "device": config.get("device")},
                      sort_keys=True, default=str)


def train_run(config: dict, on_epoch: Callable | None = None, device: Any = None) -> dict:
    """Train one run on the torch engine; the result dict of the studies' run functions."""
    cb = None if on_epoch is None else (lambda i, epoch, epochs, logs: on_epoch(epoch, epochs, logs))
    return train_ensemble([config], on_epoch=cb, device=device)[0]


def train_ensemble(configs: list[dict], on_epoch: Callable | None = None, device: Any = None,
                   max_members: int = MAX_MEMBERS) -> list[dict]:
    """Train every configuration, batching compatible ones; results in the order given.

    ``on_epoch(i, epoch, epochs, logs)`` is called for run ``i`` after each of its epochs
    (``epoch`` 1-based, as the NumPy engine's run function). ``device``: None (CUDA when present,
    else CPU), ``'cpu'`` or ``'cuda'``; a config's own ``"device"`` field wins.
    """
    if not isinstance(max_members, int) or max_members < 1:
        raise ValueError(f"max_members must be a positive integer, got {max_members!r}")
    groups: dict[str, list[int]] = {}
    for i, cfg in enumerate(configs):
        groups.setdefault(group_key(cfg), []).append(i)
    results: list[dict | None] = [None] * len(configs)
    for idx in groups.values():
        for s in range(0, len(idx), max_members):
            chunk = idx[s:s + max_members]
            dev = configs[chunk[0]].get("device", device)
            out = _train_group([configs[i] for i in chunk], dev,
                               None if on_epoch is None else
                               (lambda j, e, n, logs, chunk=chunk: on_epoch(chunk[j], e, n, logs)))
            for i, r in zip(chunk, out):
                results[i] = r
    return results


def _train_group(configs: list[dict], device: Any, on_epoch: Callable | None) -> list[dict]:
    from ..studies import runner
    from .model import TorchEnsemble

    t0 = time.perf_counter()
    datas = [runner.load_data(c["data"], c.get("runtime")) for c in configs]
    models = [runner.build_model(c, d) for c, d in zip(configs, datas)]
    one_hot: dict[int, tuple] = {}
    for d in datas:
        if id(d) not in one_hot:
            one_hot[id(d)] = d.one_hot()
    xs = [d.x_train for d in datas]
    ys = [one_hot[id(d)][0] for d in datas]
    xv = [d.x_test for d in datas]
    yv = [one_hot[id(d)][1] for d in datas]
    ens = TorchEnsemble(models, device=device)
    K = len(configs)
    t = configs[0]["train"]
    epochs = int(t["epochs"])
    specs = [[(name, runner._diagnostic(name), dict(params or {}))
              for name, params in (c.get("diagnostics") or {}).items()] for c in configs]
    need_sync = any(specs)
    histories = [{"epoch": [], "loss": [], "accuracy": [], "val_loss": [], "val_accuracy": [], "seconds": []}
                 for _ in configs]
    diagnostics: list[dict[str, Any]] = [{name: [] for name, _, _ in sp} for sp in specs]

    def record(epoch: int, members) -> None:
        if not need_sync:
            return
        ens.to_numpy()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            for k in members:
                for name, fn, params in specs[k]:
                    out = fn(models[k], datas[k], epoch, **params)
                    if out is not None:
                        diagnostics[k][name].append({"epoch": epoch, **out})

    def epoch_end(epoch: int, logs_all: list) -> None:
        seconds = ens.epoch_seconds[-1] / K
        live = [k for k, logs in enumerate(logs_all) if logs is not None]
        for k in live:
            h, logs = histories[k], logs_all[k]
            h["epoch"].append(epoch + 1)
            for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
                h[key].append(float(logs.get(key, math.nan)))
            h["seconds"].append(seconds)
        record(epoch + 1, live)
        if on_epoch is not None:
            for k in live:
                on_epoch(k, epoch + 1, epochs, {key: v[-1] for key, v in histories[k].items()})

    record(0, range(K))
    ens.fit(xs, ys, epochs=epochs, batch_size=int(t["batch_size"]), validation_data=(xv, yv),
            shuffle=True, on_epoch=epoch_end)
    seconds = time.perf_counter() - t0
    out = []
    for k, (cfg, d) in enumerate(zip(configs, datas)):
        diag = diagnostics[k]
        status, diverged_epoch = "done", None
        if ens.diverged[k] is not None:
            e, b, loss = ens.diverged[k]
            status, diverged_epoch = "diverged", e + 1
            diag["divergence"] = {"epoch": e + 1, "batch": b + 1, "loss": str(loss)}
        diag["info"] = {"params": models[k].count_params(), "n_train": int(d.x_train.shape[0]),
                        "n_test": int(d.x_test.shape[0]), "input_dim": int(d.x_train.shape[1]),
                        "num_classes": int(d.num_classes)}
        diag["engine"] = {"name": "torch", "device": str(ens.device), "ensemble_size": K,
                          "epoch_seconds": list(ens.epoch_seconds)}
        out.append({"status": status, "history": histories[k], "diagnostics": diag,
                    "diverged_epoch": diverged_epoch, "seconds": seconds / K})
    return out
