"""The torch engine as a backend (:mod:`actlab.backends`): ``engine="torch"``, runs trained as ensembles.

The runs are grouped by what must be equal for one batched computation (layer shapes, data set
and split sizes, optimizer kind and its hyper-parameters other than the learning rate, batch
size, epochs, loss), and each group of at most ``max_members`` runs is one
:class:`~actlab.torch_engine.model.TorchEnsemble`. The members may differ in seed (weights,
batch order, data split), activation and learning rate. Importing this module does not import
torch; training does.

On CUDA the groups' ensembles train at the same time, each on its own CUDA stream
(:func:`~actlab.torch_engine.model.train_together`), and each full batch's step is one CUDA graph
(``diagnostics["engine"]["cuda_graph"]`` says whether, or why not).

Timing: ``history["seconds"]`` is the member's share of the ensemble's epoch (the epoch's wall
time divided by the number of members), so that seconds per run stay comparable with the NumPy
engine's; ``diagnostics["engine"]`` records the device, the ensemble size and its raw epoch times.
Where ensembles train at the same time (CUDA, several groups), an epoch's wall time overlaps the
other ensembles' epochs.
Diagnostics are computed on the NumPy model, into which the trained weights are copied after
every epoch.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable, Sequence

import numpy as np

from .. import plan
from ..backends import Run, RunRecord

__all__ = ["BACKEND", "MAX_MEMBERS", "TorchBackend", "group_key"]

MAX_MEMBERS = 64


def group_key(config: dict) -> str:
    """Runs with equal keys can be members of one ensemble."""
    data = {k: v for k, v in config.get("data", {}).items() if k != "seed"}
    model = dict(config.get("model", {}))
    act = model.pop("activation", {"name": "relu"})
    model["structure"] = plan.structure(act)
    model.pop("init", None)
    model["dropout"] = bool(model.get("dropout"))
    train = dict(config.get("train", {}))
    opt = {k: v for k, v in dict(train.pop("optimizer", {})).items() if k != "learning_rate"}
    return json.dumps({"data": data, "model": model, "train": train, "opt": opt,
                       "runtime": config.get("runtime"), "device": config.get("device")},
                      sort_keys=True, default=str)


def _activation_key(config: dict) -> str:
    return json.dumps(config.get("model", {}).get("activation", {"name": "relu"}), sort_keys=True, default=str)


class TorchBackend:
    """Trains runs in PyTorch, compatible ones together. ``device``: None (CUDA when present,
    else CPU), ``'cpu'`` or ``'cuda'``; a configuration's own ``"device"`` field wins."""

    name = "torch"
    trains_together = True
    reports_batches = False

    def __init__(self, device: Any = None, max_members: int = MAX_MEMBERS):
        self.device, self.max_members = device, max_members

    def build(self, config: dict, data: Any):
        """The NumPy engine's model of ``config`` (the ensemble copies its weights)."""
        from ..engine.backend import build_model
        return build_model(config, data)

    def fit(self, model, x, y, *, epochs: int, batch_size: int, validation_data=None, callbacks=(),
            device: Any = None):
        """Train the NumPy model ``model`` here (same weights and batch order), copy the weights
        back; its ``History``. Callbacks get the epochs (not the batches)."""
        from ..engine.callbacks import History
        from ..engine.model import DivergedError
        from . import available
        from .model import TorchEnsemble

        if not available():
            raise ValueError("--engine torch needs PyTorch: pip install 'actlab[torch]' (torch==2.13.0)")
        ens = TorchEnsemble([model], device=self.device if device is None else device)
        callbacks = list(callbacks)
        for cb in callbacks:
            cb.set_model(model)
            cb.on_train_begin()
            cb.on_epoch_begin(0)

        def on_epoch(epoch, logs):
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs[0])
                if epoch + 1 < epochs:
                    cb.on_epoch_begin(epoch + 1)

        member = ens.fit(x, y, epochs=epochs, batch_size=batch_size, validation_data=validation_data,
                         on_epoch=on_epoch)[0]
        for cb in callbacks:
            cb.on_train_end()
        if ens.diverged[0] is not None:
            raise DivergedError(*ens.diverged[0])
        model.set_weights(ens.to_numpy()[0].get_weights())
        hist = History()
        hist.history = member
        return hist

    def train(self, runs: Sequence[Run], on_epoch: Callable | None = None, device: Any = None,
              max_members: int | None = None) -> list[dict]:
        """Train every run, batching compatible ones; results in the order given."""
        from .model import train_together

        chunks, devices, jobs = self.plan(runs, on_epoch, device, max_members)
        if len(set(devices)) == 1 and devices[0].type == "cuda":
            outs = train_together(jobs, devices[0])   # the ensembles' epochs run on the GPU at once
        else:
            outs = [_drain(job()) for job in jobs]
        results: list[dict | None] = [None] * len(runs)
        for chunk, out in zip(chunks, outs):
            for i, r in zip(chunk, out):
                results[i] = r
        return results

    def plan(self, runs: Sequence[Run], on_epoch: Callable | None = None, device: Any = None,
             max_members: int | None = None) -> tuple[list[list[int]], list, list[Callable]]:
        """How :meth:`train` trains ``runs``: the ensembles (lists of indices into ``runs``, runs of
        equal :func:`group_key`, at most ``max_members`` each), their devices, and for each one a
        function that starts its generator (:meth:`_train_group`)."""
        from . import _require
        _require()
        device = self.device if device is None else device
        max_members = self.max_members if max_members is None else max_members
        if not isinstance(max_members, int) or max_members < 1:
            raise ValueError(f"max_members must be a positive integer, got {max_members!r}")
        from .model import resolve_device

        groups: dict[str, list[int]] = {}
        for i, run in enumerate(runs):
            groups.setdefault(group_key(run.config), []).append(i)
        for key, idx in groups.items():
            # members of equal activation side by side: the ensemble then computes each
            # activation on a slice of its members (a view), not through index gathers and scatters
            first: dict[str, int] = {}
            acts = [first.setdefault(_activation_key(runs[i].config), len(first)) for i in idx]
            groups[key] = [i for _, i in sorted(zip(acts, idx), key=lambda pair: pair[0])]
        chunks = [idx[s:s + max_members] for idx in groups.values() for s in range(0, len(idx), max_members)]
        devices = [resolve_device(runs[chunk[0]].config.get("device", device)) for chunk in chunks]
        jobs = [lambda chunk=chunk, dev=dev: self._train_group(
                    [runs[i] for i in chunk], dev,
                    None if on_epoch is None else (lambda j, e, n, logs: on_epoch(chunk[j], e, n, logs)))
                for chunk, dev in zip(chunks, devices)]
        return chunks, devices, jobs

    def _train_group(self, runs: list[Run], device: Any, on_epoch: Callable | None):
        """A generator (see :func:`~actlab.torch_engine.model.train_together`) that trains ``runs``
        as one ensemble and returns their results."""
        from .model import TorchEnsemble

        t0 = time.perf_counter()
        datas = [run.data for run in runs]
        models = [self.build(run.config, run.data) for run in runs]
        one_hot: dict[int, tuple] = {}
        for d in datas:
            if id(d) not in one_hot:
                one_hot[id(d)] = d.one_hot()
        xs = [d.x_train for d in datas]
        ys = [one_hot[id(d)][0] for d in datas]
        xv = [d.x_test for d in datas]
        yv = [one_hot[id(d)][1] for d in datas]
        ens = TorchEnsemble(models, device=device)
        K = len(runs)
        t = runs[0].config["train"]
        epochs = int(t["epochs"])
        records = [RunRecord(run) for run in runs]
        need_sync = any(run.diagnostics for run in runs)

        def diagnose(epoch: int, members) -> None:
            if not need_sync:
                return
            ens.to_numpy()
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                for k in members:
                    records[k].diagnose(models[k], epoch)

        def epoch_end(epoch: int, logs_all: list) -> None:
            seconds = ens.epoch_seconds[-1] / K
            live = [k for k, logs in enumerate(logs_all) if logs is not None]
            rows = {k: records[k].epoch(epoch + 1, logs_all[k], seconds) for k in live}
            diagnose(epoch + 1, live)
            if on_epoch is not None:
                for k in live:
                    on_epoch(k, epoch + 1, epochs, rows[k])

        diagnose(0, range(K))
        yield from ens.fit_stages(xs, ys, epochs=epochs, batch_size=int(t["batch_size"]), validation_data=(xv, yv),
                                  shuffle=True, on_epoch=epoch_end)
        seconds = time.perf_counter() - t0
        out = []
        for k, record in enumerate(records):
            if ens.diverged[k] is not None:
                e, b, loss = ens.diverged[k]
                record.diverged(e + 1, b + 1, loss)
            out.append(record.result(models[k], seconds / K, engine={
                "name": "torch", "device": str(ens.device), "ensemble_size": K, "cuda_graph": ens.graph_used,
                "epoch_seconds": list(ens.epoch_seconds)}))
        return out


def _drain(gen):
    """Run a generator to its end; its return value."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


BACKEND = TorchBackend()
