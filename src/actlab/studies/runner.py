"""Run many training runs, in parallel worker processes, through the results store.

A *run* is one training of one model, described by a configuration (plain JSON data). Its
key in the store is the hash of that configuration (:meth:`actlab.store.Store.key`), so a
study that is run again finds its finished runs and computes only what is missing.

Configuration schema (:func:`make_config` builds one with every default filled in, so that
equal runs get equal keys)::

    {
      "study":   "compare",                 # not part of the key; Store.tag links runs to studies
      "engine":  "numpy",                   # ENGINES: "numpy" (here), "torch" (actlab.torch_engine)
      "version": "0.1.0",                   # actlab.__version__
      "seed":    0,                         # model weights, batch order (and by default the split)
      "data":    {"name": "digits",         # datasets.load(name, ...)
                  "protocol": null,         # "notes": datasets.notes_protocol(dataset=name, ...)
                  "n_samples": null, "test_fraction": null,  # null: the loader's default
                  "scale": true,            # true: inputs in [0, 1]; "raw": the raw pixel values
                  "seed": 0},               # the split (and sample draw); = seed for a paired design
      "model":   {"hidden": "200x4",        # engine.parse_hidden
                  "activation": {"name": "relu"},   # + its parameters, defaults filled in
                  "init": "glorot_uniform", "dtype": "float32", "dropout": 0.0},
      "train":   {"optimizer": {"name": "sgd", "learning_rate": 0.01, ...},
                  "epochs": 10, "batch_size": 100,
                  "loss": "categorical_crossentropy"},  # engine.losses: or "keras_categorical_crossentropy"
      "diagnostics": {"name": {...params}}, # optional: DIAGNOSTICS to record (see below)
      "runtime": {"data_dir": null}         # not part of the key: where to look for data files
    }

A run function ``fn(config) -> dict`` returns::

    {"status": "done" | "diverged",
     "history": {"epoch": [1, 2, ...], "loss": [...], "accuracy": [...],
                 "val_loss": [...], "val_accuracy": [...],   # on the test split
                 "seconds": [...]},                          # wall time of each epoch
     "diagnostics": {...}, "diverged_epoch": int | None,     # 1-based epoch of the NaN/inf loss
     "seconds": float}                                       # wall time of the whole run

It may also accept a keyword ``on_epoch(epoch, epochs, logs)`` that it calls after each epoch
(progress bars and the store's heartbeat use it). :func:`train_run` is the run function of
every study; it dispatches on ``config["engine"]`` through :data:`ENGINES`.

Diagnostics: ``DIAGNOSTICS[name] = fn(model, data, epoch, **params) -> dict | None`` is
called at initialisation (``epoch=0``) and after every epoch (``epoch`` 1-based) when the
config's ``"diagnostics"`` names it; the result is stored as ``diagnostics[name]``, a list of
the returned dicts, each with ``"epoch"`` added (``None`` records nothing that epoch).
``data`` is the :class:`actlab.datasets.Dataset`. A diagnostic must not draw from the
model's random state (use ``training=False`` forward passes), or it would change the run.
Modules named in :data:`DIAGNOSTIC_MODULES` are imported on a lookup miss so that their
registrations also happen in fresh worker processes; ``"package.module:function"`` works too.
"""
from __future__ import annotations

import concurrent.futures as cf
import functools
import importlib
import inspect
import math
import multiprocessing
import os
import signal
import time
import traceback
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Callable

from ..store import RESULT_STATUSES, Store, canonical_json

__all__ = ["Task", "run_tasks", "train_run", "make_config", "load_data", "DIAGNOSTICS",
           "DIAGNOSTIC_MODULES", "ENGINES", "ENSEMBLE_ENGINES", "register_diagnostic", "default_workers"]


@dataclass
class Task:
    """One run of a study: its configuration and the study it belongs to."""

    config: dict
    study: str


# -- engines and diagnostics registries ---------------------------------------------------------
# engine name -> "module:function" of its run function (imported lazily: torch stays optional)
ENGINES: dict[str, str] = {
    "numpy": "actlab.studies.runner:train_numpy",
    "torch": "actlab.torch_engine.studies:train_run",
}

# engines that train many runs at once: "module:function" of ``fn(configs, on_epoch=None) -> results``
# (``on_epoch(i, epoch, epochs, logs)``); run_tasks hands them every pending run of that engine
# when the run function is ``train_run``, in the foreground, instead of one run per worker.
ENSEMBLE_ENGINES: dict[str, str] = {
    "torch": "actlab.torch_engine:train_ensemble",
}

DIAGNOSTICS: dict[str, Callable[..., dict | None]] = {}
# imported on a DIAGNOSTICS lookup miss (a module that is not written yet is skipped)
DIAGNOSTIC_MODULES: list[str] = ["actlab.studies.diagnostics", "actlab.studies.depth",
                                 "actlab.studies.dying", "actlab.studies.boundary"]


def register_diagnostic(name: str):
    """Decorator: ``@register_diagnostic("grad_norms") def f(model, data, epoch): ...``."""
    def deco(fn):
        DIAGNOSTICS[name] = fn
        return fn
    return deco


def _import_attr(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def _diagnostic(name: str) -> Callable[..., dict | None]:
    if name in DIAGNOSTICS:
        return DIAGNOSTICS[name]
    if ":" in name:
        return _import_attr(name)
    for module in DIAGNOSTIC_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
        if name in DIAGNOSTICS:
            return DIAGNOSTICS[name]
    raise ValueError(f"unknown diagnostic {name!r}; registered: {', '.join(sorted(DIAGNOSTICS)) or 'none'}")


def _engine_fn(engine: str) -> Callable[..., dict]:
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; valid: {', '.join(ENGINES)}")
    try:
        return _import_attr(ENGINES[engine])
    except ModuleNotFoundError as exc:
        raise ValueError(f"the {engine!r} engine is not available here ({exc})") from exc


# -- configurations -------------------------------------------------------------------------------
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


def make_config(*, study: str, seed: int = 0, dataset: str = "digits", protocol: str | None = None,
                n_samples: int | None = None, test_fraction: float | None = None, scale: Any = True,
                data_seed: int | None = None, hidden: Any = "200x4", activation: Any = "relu",
                init: str = "glorot_uniform", dtype: str = "float32", dropout: float = 0.0,
                optimizer: Any = "sgd", learning_rate: float | None = 0.01, epochs: int = 10,
                batch_size: int = 100, engine: str = "numpy", diagnostics: dict | list | None = None,
                data_dir: str | os.PathLike | None = None, loss: str = "categorical_crossentropy",
                **extra: Any) -> dict:
    """A complete run configuration (see the module docstring), every default filled in.

    ``data_seed`` defaults to ``seed``: for seed ``i`` every activation sees the same split.
    ``extra`` adds top-level fields (they are part of the key), for studies that need more.
    """
    from ..engine import losses, parse_hidden

    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; valid: {', '.join(ENGINES)}")
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
    cfg = {
        "study": study,
        "engine": engine,
        "seed": seed,
        "data": {"name": dataset, "protocol": protocol, "n_samples": n_samples,
                 "test_fraction": None if test_fraction is None else float(test_fraction), "scale": scale,
                 "seed": seed if data_seed is None else int(data_seed)},
        "model": {"hidden": hidden if isinstance(hidden, str) else ",".join(map(str, parse_hidden(hidden))),
                  "activation": _activation_config(activation), "init": init, "dtype": dtype,
                  "dropout": float(dropout)},
        "train": {"optimizer": _optimizer_config(optimizer, learning_rate), "epochs": epochs,
                  "batch_size": batch_size, "loss": loss},
        "runtime": {"data_dir": None if data_dir is None else str(data_dir)},
    }
    if diagnostics:
        cfg["diagnostics"] = dict(diagnostics)
    cfg.update(extra)
    return Store.normalize(cfg)


@functools.lru_cache(maxsize=4)
def _load_data_cached(data_json: str, data_dir: str | None):
    import json

    from .. import datasets

    d = json.loads(data_json)
    scale = d.get("scale", True)
    kw = dict(n_samples=d.get("n_samples"), test_fraction=d.get("test_fraction"), scale=scale,
              seed=d.get("seed", 0), data_dir=data_dir)
    if "noise" in d:  # the 2-D toy sets
        kw["noise"] = d["noise"]
    if d.get("protocol") == "notes":
        if kw["n_samples"] is None:
            kw["n_samples"] = 10000
        if kw["test_fraction"] is None:
            kw["test_fraction"] = 0.2
        return datasets.notes_protocol(dataset=d.get("name", "mnist"), **kw)
    return datasets.load(d.get("name", "digits"), **kw)


def load_data(data: dict, runtime: dict | None = None):
    """The dataset of a configuration's ``"data"`` part (cached per process)."""
    data_dir = (runtime or {}).get("data_dir")
    return _load_data_cached(canonical_json(data), None if data_dir is None else str(data_dir))


# -- the run function ---------------------------------------------------------------------------
def train_run(config: dict, on_epoch: Callable | None = None) -> dict:
    """Train the run ``config`` describes, on the engine it names; see the module docstring."""
    fn = _engine_fn(config.get("engine", "numpy"))
    if on_epoch is not None and _accepts(fn, "on_epoch"):
        return fn(config, on_epoch=on_epoch)
    return fn(config)


def build_model(config: dict, data):
    """The NumPy engine's model of a configuration, compiled (also used by diagnostics)."""
    from ..engine import build_mlp
    from ..engine.optimizers import get as get_optimizer

    m, t = config["model"], config["train"]
    model = build_mlp(data.x_train.shape[1], m.get("hidden", "200x4"), m["activation"], data.num_classes,
                      seed=config.get("seed", 0), kernel_initializer=m.get("init", "glorot_uniform"),
                      dtype=m.get("dtype", "float32"), dropout=m.get("dropout", 0.0))
    model.compile(optimizer=get_optimizer(dict(t["optimizer"])), loss=t.get("loss", "categorical_crossentropy"),
                  metrics=["accuracy"])
    return model


def train_numpy(config: dict, on_epoch: Callable | None = None) -> dict:
    """The NumPy engine's run function: fit epoch by epoch, recording history and diagnostics."""
    import numpy as np

    from ..engine import Callback, DivergedError

    data = load_data(config["data"], config.get("runtime"))
    model = build_model(config, data)
    t = config["train"]
    y_train, y_test = data.one_hot()
    diag_specs = [(name, _diagnostic(name), dict(params or {}))
                  for name, params in (config.get("diagnostics") or {}).items()]
    history: dict[str, list] = {"epoch": [], "loss": [], "accuracy": [], "val_loss": [],
                                "val_accuracy": [], "seconds": []}
    diagnostics: dict[str, list] = {name: [] for name, _, _ in diag_specs}
    epochs = int(t["epochs"])

    def record_diagnostics(epoch: int) -> None:
        for name, fn, params in diag_specs:
            out = fn(model, data, epoch, **params)
            if out is not None:
                diagnostics[name].append({"epoch": epoch, **out})

    class Recorder(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.t0
            logs = logs or {}
            history["epoch"].append(epoch + 1)
            history["loss"].append(float(logs.get("loss", math.nan)))
            history["accuracy"].append(float(logs.get("accuracy", math.nan)))
            history["val_loss"].append(float(logs.get("val_loss", math.nan)))
            history["val_accuracy"].append(float(logs.get("val_accuracy", math.nan)))
            history["seconds"].append(seconds)
            record_diagnostics(epoch + 1)
            if on_epoch is not None:
                on_epoch(epoch + 1, epochs, {k: v[-1] for k, v in history.items()})

    t0 = time.perf_counter()
    status, diverged_epoch = "done", None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        record_diagnostics(0)
        try:
            model.fit(data.x_train, y_train, epochs=epochs, batch_size=int(t["batch_size"]),
                      validation_data=(data.x_test, y_test), shuffle=True, verbose=0, callbacks=[Recorder()])
        except DivergedError as exc:
            status, diverged_epoch = "diverged", exc.epoch + 1
            diagnostics["divergence"] = {"epoch": exc.epoch + 1, "batch": exc.batch + 1, "loss": str(exc.loss)}
    diagnostics["info"] = {"params": model.count_params(), "n_train": int(data.x_train.shape[0]),
                           "n_test": int(data.x_test.shape[0]), "input_dim": int(data.x_train.shape[1]),
                           "num_classes": int(data.num_classes)}
    return {"status": status, "history": history, "diagnostics": diagnostics,
            "diverged_epoch": diverged_epoch, "seconds": time.perf_counter() - t0}


# -- executing runs -------------------------------------------------------------------------------
def _accepts(fn: Callable, name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _execute(fn: Callable, config: dict, key: str, store: Store, on_epoch: Callable | None = None) -> str:
    """Claim, run and record one run; returns what happened ('ran', 'busy' or 'reused')."""
    if not store.claim(key, config):
        rec = store.get(key)
        return "reused" if rec is not None and rec["status"] in RESULT_STATUSES else "busy"
    last_beat = [time.monotonic()]

    def hook(epoch, epochs, logs):
        now = time.monotonic()
        if now - last_beat[0] > 30.0:
            store.heartbeat(key)
            last_beat[0] = now
        if on_epoch is not None:
            on_epoch(epoch, epochs, logs)

    t0 = time.perf_counter()
    try:
        result = fn(config, on_epoch=hook) if _accepts(fn, "on_epoch") else fn(config)
        _finish_result(store, key, result, time.perf_counter() - t0)
    except KeyboardInterrupt:
        store.release(key)
        raise
    except Exception:  # noqa: BLE001 - a failing run is recorded, the study goes on
        store.finish(key, "failed", error=traceback.format_exc(), seconds=time.perf_counter() - t0)
    return "ran"


def _worker_init(blas_threads: int = 1) -> None:
    # Ctrl-C goes to the whole process group: the parent decides what to do, workers ignore it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # N workers x the BLAS default of one thread per core oversubscribes the cores: on a loaded
    # 2-core machine two OpenBLAS threads per worker ran ~9x slower than one. Share the cores.
    from threadpoolctl import threadpool_limits
    threadpool_limits(blas_threads)


def _worker_entry(fn: Callable, config: dict, key: str, store_path: str, stale_after: float) -> str:
    return _execute(fn, config, key, Store(store_path, stale_after=stale_after))


def default_workers() -> int:
    """min(CPU count, 4)."""
    return max(1, min(os.cpu_count() or 1, 4))


def run_tasks(tasks: list[Task], fn: Callable[[dict], dict] = train_run, store: Store | None = None,
              workers: int = 1, progress: bool = True, description: str = "runs") -> list[dict]:
    """Run every task that the store does not hold a result for; return all their records, in order.

    Finished runs (done, diverged) are reused, never recomputed; failed ones are retried.
    With ``workers > 1`` the runs go to that many local worker processes (``spawn`` context,
    so ``fn`` must be a module-level function); each result is written to the store as soon
    as its run ends. An exception inside ``fn`` is stored as a failed run (with its traceback)
    and the others go on; a worker process that dies marks its run failed. Ctrl-C stops the
    workers, forgets the runs in flight and raises ``KeyboardInterrupt``; finished runs stay.
    A run that another live process is running right now is returned with status 'running'.
    """
    store = store if store is not None else Store()
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    keys: list[str] = []
    configs: dict[str, dict] = {}
    for task in tasks:
        if not isinstance(task, Task):
            raise ValueError(f"run_tasks expects Task objects, got {task!r:.100}")
        cfg = Store.normalize(task.config)
        cfg.setdefault("study", task.study)
        key = Store.key(cfg)
        store.tag(key, task.study)
        keys.append(key)
        configs.setdefault(key, cfg)
    unique = list(configs)
    pending = [k for k in unique if (store.get(k) or {}).get("status") not in RESULT_STATUSES]
    reused = len(unique) - len(pending)

    bar = _Bar(progress, description, total=len(unique), done=reused)
    with bar:
        if fn is train_run:
            by_engine: dict[str, list[str]] = {}
            for k in pending:
                engine = configs[k].get("engine", "numpy")
                if engine in ENSEMBLE_ENGINES:
                    by_engine.setdefault(engine, []).append(k)
            for engine, group in by_engine.items():
                _run_ensemble(_import_attr(ENSEMBLE_ENGINES[engine]), group, configs, store, bar)
            pending = [k for k in pending if configs[k].get("engine", "numpy") not in ENSEMBLE_ENGINES]
        if workers == 1 or len(pending) <= 1:
            for key in pending:
                epochs = int(configs[key].get("train", {}).get("epochs", 0) or 0)
                bar.start_run(_label(configs[key]), epochs)
                _execute(fn, configs[key], key, store, on_epoch=bar.epoch)
                bar.advance(store.get(key))
        else:
            _run_parallel(pending, configs, fn, store, min(workers, len(pending)), bar)
    return [store.get(k) for k in keys]


def _finish_result(store: Store, key: str, result: Any, seconds: float) -> None:
    if not isinstance(result, dict) or result.get("status") not in RESULT_STATUSES:
        raise ValueError(f"the run function returned {result!r:.200}; expected a dict with "
                         f"status 'done' or 'diverged'")
    if result["status"] == "diverged" and result.get("diverged_epoch") is None:
        raise ValueError("the run function reported a diverged run without its diverged_epoch")
    store.finish(key, result["status"], history=result.get("history"),
                 diagnostics=result.get("diagnostics"), diverged_epoch=result.get("diverged_epoch"),
                 seconds=result.get("seconds", seconds))


def _run_ensemble(batch_fn: Callable, keys: list[str], configs: dict, store: Store, bar) -> None:
    """Train ``keys`` with an engine's many-at-once function, in this process."""
    claimed = [k for k in keys if store.claim(k, configs[k])]
    for k in keys:
        if k not in claimed:
            bar.advance(store.get(k))
    if not claimed:
        return
    epochs = max(int(configs[k].get("train", {}).get("epochs", 0) or 0) for k in claimed)
    bar.start_run(f"{len(claimed)} runs as ensembles", epochs)
    seen = [0]

    def on_epoch(i, epoch, n, logs):
        if epoch > seen[0]:
            seen[0] = epoch
            bar.epoch(epoch, n, {})

    t0 = time.perf_counter()
    try:
        results = batch_fn([configs[k] for k in claimed], on_epoch=on_epoch)
        if len(results) != len(claimed):
            raise ValueError(f"the ensemble function returned {len(results)} results for {len(claimed)} runs")
    except KeyboardInterrupt:
        for k in claimed:
            store.release(k)
        raise
    except Exception:  # noqa: BLE001 - recorded on every run of the batch
        error = traceback.format_exc()
        for k in claimed:
            store.finish(k, "failed", error=error, seconds=time.perf_counter() - t0)
            bar.advance(store.get(k))
        return
    for k, result in zip(claimed, results):
        try:
            _finish_result(store, k, result, time.perf_counter() - t0)
        except Exception:  # noqa: BLE001
            store.finish(k, "failed", error=traceback.format_exc())
        bar.advance(store.get(k))


def _run_parallel(pending: list[str], configs: dict, fn: Callable, store: Store, workers: int, bar) -> None:
    todo = list(pending)
    while todo:
        t_round = time.time()
        broken = _pool_round(todo, configs, fn, store, min(workers, len(todo)), bar)
        if not broken:
            return
        # A worker died (killed, os._exit, out of memory) and took the pool down, with the other
        # workers' runs. Each run that was in flight gets one more try alone in a fresh worker:
        # if that one dies too, the run is marked failed. Runs not started go to a fresh pool.
        in_flight = store.release_dead(todo)
        for key in in_flight:
            if _pool_round([key], configs, fn, store, 1, bar):
                for k in store.release_dead([key], mark_failed="the worker process running this run "
                                            "died (killed or exited abruptly)"):
                    bar.advance(store.get(k))
        remaining = [k for k in todo if k not in in_flight and not _finished_since(store, k, t_round)]
        if not in_flight and len(remaining) == len(todo):
            # no run could even start: the workers die before claiming (fn cannot be imported?)
            for key in remaining:
                if store.claim(key, configs[key]):
                    store.finish(key, "failed", error="worker processes died before starting this run: the run "
                                 "function must be importable by a fresh Python process, and a script that "
                                 "starts a study must guard it with `if __name__ == '__main__':`")
                bar.advance(store.get(key))
            return
        todo = remaining


def _finished_since(store: Store, key: str, t: float) -> bool:
    rec = store.get(key)
    return rec is not None and rec["status"] != "running" and rec["updated"] >= t


def _pool_round(todo: list[str], configs: dict, fn: Callable, store: Store, workers: int, bar) -> bool:
    """Run ``todo`` in one process pool; True if the pool broke (a worker died)."""
    executor = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=_worker_init,
                                      initargs=(max(1, (os.cpu_count() or 1) // workers),))
    futures = {executor.submit(_worker_entry, fn, configs[k], k, str(store.path), store.stale_after): k
               for k in todo}
    broken = False
    t_round = time.time()
    try:
        for fut in cf.as_completed(futures):
            key = futures[fut]
            try:
                fut.result()
            except BrokenProcessPool:
                broken = True
                if _finished_since(store, key, t_round):
                    bar.advance(store.get(key))  # finished just before the pool broke
                continue
            except Exception:  # noqa: BLE001 - the store itself failed for this run
                rec = store.get(key)
                if rec is not None and rec["status"] == "running":
                    store.finish(key, "failed", error=traceback.format_exc())
            bar.advance(store.get(key))
    except KeyboardInterrupt:
        _stop(executor)
        store.release_dead(todo)
        raise
    executor.shutdown(wait=True)
    return broken


def _stop(executor: cf.ProcessPoolExecutor) -> None:
    processes = list(getattr(executor, "_processes", {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        if p.is_alive():
            p.terminate()
    for p in processes:
        p.join(timeout=10)


def _label(config: dict) -> str:
    act = (config.get("model") or {}).get("activation") or {}
    name = act.get("name", "?") if isinstance(act, dict) else str(act)
    params = ",".join(f"{k}={v}" for k, v in act.items() if k != "name") if isinstance(act, dict) else ""
    return f"{name}{'(' + params + ')' if params else ''} seed {config.get('seed', '?')}"


class _Bar:
    """A rich progress bar over runs (and over the epochs of the run in the foreground)."""

    def __init__(self, enabled: bool, description: str, total: int, done: int):
        self.enabled = enabled
        self.description, self.total, self.done = description, total, done
        self.failed = self.diverged = 0
        self.progress = None

    def __enter__(self):
        if self.enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TimeRemainingColumn(),
                                     console=Console(stderr=True), transient=False)
            self.progress.__enter__()
            self.runs = self.progress.add_task(self._text(), total=self.total, completed=self.done)
            self.epochs = None
        return self

    def _text(self) -> str:
        extra = "".join([f", {self.diverged} diverged" if self.diverged else "",
                         f", {self.failed} failed" if self.failed else ""])
        return f"{self.description}{extra}"

    def start_run(self, label: str, epochs: int) -> None:
        if self.progress is None:
            return
        if self.epochs is None:
            self.epochs = self.progress.add_task(f"  {label}", total=max(epochs, 1))
        else:
            self.progress.reset(self.epochs, total=max(epochs, 1), description=f"  {label}")

    def epoch(self, epoch: int, epochs: int, logs: dict) -> None:
        if self.progress is not None and self.epochs is not None:
            acc = logs.get("val_accuracy")
            text = f" val acc {acc:.3f}" if isinstance(acc, float) and math.isfinite(acc) else ""
            desc = self.progress.tasks[self.epochs].description.split(" val acc")[0]
            self.progress.update(self.epochs, completed=epoch, description=desc + text)

    def advance(self, record: dict | None) -> None:
        status = (record or {}).get("status")
        self.failed += status == "failed"
        self.diverged += status == "diverged"
        if self.progress is not None:
            self.progress.update(self.runs, advance=1, description=self._text())

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.__exit__(*exc)
        return False
