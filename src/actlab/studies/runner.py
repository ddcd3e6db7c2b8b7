"""Run many training runs, in parallel worker processes, through the results store.

A *run* is one training of one model, described by a configuration (plain JSON data). Its
key in the store is the hash of that configuration (:meth:`actlab.store.Store.key`), so a
study that is run again finds its finished runs and computes only what is missing.

Configuration schema (:func:`make_config` builds one with every default filled in, so that
equal runs get equal keys)::

    {
      "study":   "compare",                 # not part of the key; Store.tag links runs to studies
      "engine":  "numpy",                   # a backend's name (actlab.backends): "numpy", "torch"
      "version": "0.1.0",                   # actlab.__version__
      "seed":    0,                         # model weights, batch order (and by default the split)
      "data":    {"name": "digits",         # datasets.load(name, ...)
                  "protocol": null,         # "notes": datasets.notes_protocol(dataset=name, ...)
                  "n_samples": null, "test_fraction": null,  # null: the loader's default
                  "scale": true,            # true: inputs in [0, 1]; "raw": the raw pixel values
                  "seed": 0},               # the split (and sample draw); = seed for a paired design
      "model":   {"hidden": "64x2",         # engine.parse_hidden (defaults: actlab.presets)
                  "activation": {"name": "relu"},   # + its parameters, defaults filled in
                  "init": "glorot_uniform", "dtype": "float32", "dropout": 0.0},
                                        # optional, only when set (the playground's networks):
                                        # "activations": [{...}] one per hidden layer, "regularizer":
                                        # {"l1", "l2"}, "output": "linear", "output_units": 1
      "train":   {"optimizer": {"name": "sgd", "learning_rate": 0.05, ...},
                  "epochs": 30, "batch_size": 32,
                  "loss": "categorical_crossentropy"},   # engine.losses: or "keras_categorical_crossentropy";
                                        # instead of epochs (numpy engine):
                                        # "epochs": null, "steps": S: exactly S SGD steps (see steps_plan)
      "diagnostics": {"name": {...params}}, # optional: DIAGNOSTICS to record (see below)
      "plugins": ["<sha256>"],              # optional: the plugin file that registered the activation
      "runtime": {"data_dir": null,         # not part of the key: where to look for data files,
                  "plugins": [{"file": "myact.py", "sha256": "...", "source": "..."}]}  # its text
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
every study; it trains the run on the backend ``config["engine"]`` names
(:func:`actlab.backends.get_backend`). :func:`train_many` hands many runs to one backend at
once (the torch engine's ensembles).

Diagnostics: ``DIAGNOSTICS[name] = fn(model, data, epoch, **params) -> dict | None`` is
called at initialisation (``epoch=0``) and after every epoch (``epoch`` 1-based) when the
config's ``"diagnostics"`` names it; the result is stored as ``diagnostics[name]``, a list of
the returned dicts, each with ``"epoch"`` added (``None`` records nothing that epoch).
``data`` is the :class:`actlab.datasets.Dataset`. A diagnostic must not draw from the
model's random state (use ``training=False`` forward passes), or it would change the run.
A study registers its diagnostics with its declaration (:mod:`actlab.studies.shape`); importing
this module imports the package :mod:`actlab.studies`, which imports every built-in study, so
their registrations also happen in fresh worker processes; ``"package.module:function"`` names
a function of any module (imported on use).
"""
from __future__ import annotations

import importlib
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from ..backends import DEFAULT_BACKEND, Run, get_backend
from ..engine.backend import steps_plan  # noqa: F401  (the steps budget, read by the phase study)
from ..store import RESULT_STATUSES, Store
from .executors import Executor, Job, LocalExecutor, Outcome, accepts, default_workers
from .executors.local import _worker_init  # noqa: F401  (the pool's initializer, kept importable here)
from .config import _activation_config, _optimizer_config, load_data, make_config, preload_data  # noqa: F401
from .progress import Progress

__all__ = ["Task", "run_tasks", "reuse_or_rerun", "train_run", "train_many", "make_config", "load_data",
           "DIAGNOSTICS", "register_diagnostic", "default_workers"]


@dataclass
class Task:
    """One run of a study: its configuration and the study it belongs to."""

    config: dict
    study: str


# -- the diagnostics registry (backends: actlab.backends) ----------------------------------------
DIAGNOSTICS: dict[str, Callable[..., dict | None]] = {}
# a study's diagnostics are registered with the study (actlab.studies.shape); importing this
# module imports the package actlab.studies, which imports every built-in study


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
    raise ValueError(f"unknown diagnostic {name!r}; registered: {', '.join(sorted(DIAGNOSTICS)) or 'none'}")


def _trains_together(engine: str) -> bool:
    """Whether the backend ``engine`` trains many runs at once (an unknown one fails in its run)."""
    try:
        return bool(get_backend(engine).trains_together)
    except ValueError:
        return False


# -- the run function ---------------------------------------------------------------------------
def _run(config: dict):
    """The backend's view of one run: its configuration, its data and its diagnostics."""
    from ..activations.plugins import ensure_plugins

    ensure_plugins(config)
    data = load_data(config["data"], config.get("runtime"))
    specs = [(name, _diagnostic(name), dict(params or {})) for name, params in (config.get("diagnostics") or {}).items()]
    return Run(config, data, specs)


def train_run(config: dict, on_epoch: Callable | None = None) -> dict:
    """Train the run ``config`` describes, on the backend it names; see the module docstring.

    Plugins the configuration carries (a user's activation) are loaded first, in this process.
    """
    backend = get_backend(config.get("engine", DEFAULT_BACKEND))
    cb = None if on_epoch is None else (lambda i, epoch, epochs, logs: on_epoch(epoch, epochs, logs))
    return backend.train([_run(config)], on_epoch=cb)[0]


def train_many(configs: list[dict], on_epoch: Callable | None = None, **options: Any) -> list[dict]:
    """Train runs of one backend at once (``configs[0]["engine"]``): the torch engine's
    ensembles. ``on_epoch(i, epoch, epochs, logs)`` for run ``i``; ``options`` go to the
    backend's ``train`` (the torch engine's ``device``, ``max_members``)."""
    if not configs:
        return []
    backend = get_backend(configs[0].get("engine", DEFAULT_BACKEND))
    return backend.train([_run(c) for c in configs], on_epoch=on_epoch, **options)


def build_model(config: dict, data):
    """The NumPy engine's model of a configuration, compiled (also used by diagnostics)."""
    return get_backend("numpy").build(config, data)


# -- executing runs -------------------------------------------------------------------------------
# The driver (run_tasks) claims runs, hands them to an executor (.executors) and writes every
# outcome to the store as it arrives: it is the only writer. The progress display is .progress.
_accepts = accepts


RERUN_NOTE = "marked for a rerun (rerun=True, --rerun): trained again by the next run of its study"


def reuse_or_rerun(tasks: list[Task], store: Store, rerun: bool = False) -> tuple[int, int]:
    """``(reused, total)``: how many of the distinct runs of ``tasks`` the store holds a result
    for (done or diverged), which :func:`run_tasks` will reuse, out of how many.

    With ``rerun`` those results are marked failed first (they stay tagged with their studies),
    so that ``run_tasks`` trains them again and overwrites them; then ``reused`` is 0. A run
    that another process is training right now is left alone.
    """
    keys = list(dict.fromkeys(Store.key(Store.normalize(t.config)) for t in tasks))
    held = [k for k in keys if (store.get(k) or {}).get("status") in RESULT_STATUSES]
    if rerun:
        for key in held:
            store.finish(key, "failed", error=RERUN_NOTE)
        return 0, len(keys)
    return len(held), len(keys)




def run_tasks(tasks: list[Task], fn: Callable[[dict], dict] = train_run, store: Store | None = None,
              workers: int = 1, progress: bool = True, description: str = "runs",
              executor: Executor | None = None) -> list[dict]:
    """Run every task that the store does not hold a result for; return all their records, in order.

    Finished runs (done, diverged) are reused, never recomputed; failed ones are retried.
    ``executor`` computes the runs (default ``LocalExecutor(workers)``: with ``workers > 1``
    that many local worker processes, ``spawn`` context, so ``fn`` must be a module-level
    function). This process claims each run in the store, and writes each result there as
    soon as its run ends. An exception inside ``fn`` is stored as a failed run (with its
    traceback) and the others go on; a worker process that dies marks its run failed. Ctrl-C
    stops the workers, forgets the runs in flight and raises ``KeyboardInterrupt``; finished
    runs stay. A run that another live process is running right now is returned with status
    'running'.
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
    executor = executor if executor is not None else LocalExecutor(workers)

    bar = _Bar(progress, description, total=len(unique), done=reused)
    with bar:
        if fn is train_run:   # backends that train many runs at once get them all in one call
            by_engine: dict[str, list[str]] = {}
            for k in pending:
                engine = configs[k].get("engine", DEFAULT_BACKEND)
                if _trains_together(engine):
                    by_engine.setdefault(engine, []).append(k)
            for group in by_engine.values():
                group_jobs = _claim(group, configs, store, bar)
                if group_jobs:
                    _drive(group_jobs, store, bar,
                           lambda events, js=group_jobs: executor.run_ensembles([js], train_many, events))
            together = {k for group in by_engine.values() for k in group}
            pending = [k for k in pending if k not in together]
        jobs = _claim(pending, configs, store, bar)
        if jobs:
            _drive(jobs, store, bar, lambda events: executor.run(jobs, fn, events), executor.name)
    return [store.get(k) for k in keys]


def _claim(keys: list[str], configs: dict, store: Store, bar) -> list[Job]:
    """The jobs of the runs this driver could claim (the others finished meanwhile or run elsewhere)."""
    jobs = []
    for key in keys:
        if store.claim(key, configs[key]):
            jobs.append(Job(key, configs[key]))
            bar.plan(key, _progress_label(configs[key]), int(configs[key].get("train", {}).get("epochs", 0) or 0))
        else:
            bar.advance(store.get(key))
    return jobs


class _Recorder:
    """The driver's side of an executor's events: the store and the progress display."""

    HEARTBEAT_SECONDS = 30.0

    def __init__(self, store: Store, bar, keys: list[str]):
        self.store, self.bar = store, bar
        self.open = set(keys)
        self.last_beat = time.monotonic()

    def started(self, key: str) -> None:
        if key in self.open:
            self.bar.start(key)

    def epoch(self, key: str, epoch: int, epochs: int, logs: dict) -> None:
        if key not in self.open:
            return
        self.bar.epoch(key, epoch, epochs, logs)
        now = time.monotonic()
        if now - self.last_beat > self.HEARTBEAT_SECONDS:  # the claims of this driver stay fresh
            for k in self.open:
                self.store.heartbeat(k)
            self.last_beat = now

    def finished(self, key: str, outcome: Outcome) -> None:
        if key not in self.open:
            return  # a second outcome for one run (a retried task) is never written twice
        self.open.discard(key)
        if outcome.result is not None:
            try:
                _finish_result(self.store, key, outcome.result, outcome.seconds)
            except Exception:  # noqa: BLE001 - a malformed result is a failed run
                self.store.finish(key, "failed", error=traceback.format_exc(), seconds=outcome.seconds)
        else:
            self.store.finish(key, "failed", error=outcome.error or "the run was lost", seconds=outcome.seconds)
        self.bar.advance(self.store.get(key), key)


def _drive(jobs: list[Job], store: Store, bar, call: Callable, name: str = "") -> None:
    """``call(events)`` runs ``jobs`` on an executor; their outcomes go to the store as they come."""
    recorder = _Recorder(store, bar, [job.key for job in jobs])
    try:
        call(recorder)
    except BaseException:
        for key in recorder.open:  # in flight or not started: forgotten, so a later run resumes them
            store.release(key)
        raise
    for key in list(recorder.open):  # an executor that lost track of a run
        recorder.finished(key, Outcome(error=f"the {name or 'ensemble'} executor returned no outcome for this run"))


def _finish_result(store: Store, key: str, result: Any, seconds: float) -> None:
    if not isinstance(result, dict) or result.get("status") not in RESULT_STATUSES:
        raise ValueError(f"the run function returned {result!r:.200}; expected a dict with "
                         f"status 'done' or 'diverged'")
    if result["status"] == "diverged" and result.get("diverged_epoch") is None:
        raise ValueError("the run function reported a diverged run without its diverged_epoch")
    store.finish(key, result["status"], history=result.get("history"),
                 diagnostics=result.get("diagnostics"), diverged_epoch=result.get("diverged_epoch"),
                 seconds=result.get("seconds", seconds))


def _progress_label(config: dict) -> str:
    from ..activations import label_of

    return f"{label_of((config.get('model') or {}).get('activation') or {})} seed {config.get('seed', '?')}"


_Bar = Progress
