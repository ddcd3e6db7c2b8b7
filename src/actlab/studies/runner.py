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
      "model":   {"hidden": "64x2",         # engine.parse_hidden (defaults: actlab.presets)
                  "activation": {"name": "relu"},   # + its parameters, defaults filled in
                  "init": "glorot_uniform", "dtype": "float32", "dropout": 0.0},
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
every study; it dispatches on ``config["engine"]`` through :data:`ENGINES`.

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
import math
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from ..store import RESULT_STATUSES, Store
from .executors import Executor, Job, LocalExecutor, Outcome, accepts, default_workers
from .executors.local import _worker_init  # noqa: F401  (the pool's initializer, kept importable here)
from .config import _activation_config, _optimizer_config, load_data, make_config, preload_data  # noqa: F401
from .progress import Progress

__all__ = ["Task", "run_tasks", "reuse_or_rerun", "train_run", "make_config", "load_data", "DIAGNOSTICS",
           "ENGINES", "ENSEMBLE_ENGINES", "register_diagnostic", "default_workers"]


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

# name -> fn; a study's diagnostics are registered with the study (actlab.studies.shape), and
# importing this module imports the package actlab.studies, which imports every built-in study
DIAGNOSTICS: dict[str, Callable[..., dict | None]] = {}


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


def _engine_fn(engine: str) -> Callable[..., dict]:
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; valid: {', '.join(ENGINES)}")
    try:
        return _import_attr(ENGINES[engine])
    except ModuleNotFoundError as exc:
        raise ValueError(f"the {engine!r} engine is not available here ({exc})") from exc


# -- the run function ---------------------------------------------------------------------------
def train_run(config: dict, on_epoch: Callable | None = None) -> dict:
    """Train the run ``config`` describes, on the engine it names; see the module docstring.

    Plugins the configuration carries (a user's activation) are loaded first, in this process.
    """
    from ..activations.plugins import ensure_plugins

    ensure_plugins(config)
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
                      dtype=m.get("dtype", "float32"), dropout=m.get("dropout", 0.0),
                      batch_size=t.get("batch_size"), optimizer=dict(t["optimizer"]))
    model.compile(optimizer=get_optimizer(dict(t["optimizer"])), loss=t.get("loss", "categorical_crossentropy"),
                  metrics=["accuracy"])
    return model


def steps_plan(steps: int, n_train: int, batch_size: int) -> tuple[int, int]:
    """``(epochs, last)``: a budget of ``steps`` SGD steps as epochs of the training set.

    An epoch is ``ceil(n_train / batch_size)`` steps (the last batch may be smaller); the budget
    is ``epochs = ceil(steps / steps_per_epoch)`` epochs, each a fresh shuffle, the last one cut
    after ``last`` steps (``last = steps_per_epoch`` when it divides). The test accuracy is
    measured after the last step.

    >>> steps_plan(100, 1437, 32)   # 45 steps an epoch: 45 + 45 + 10
    (3, 10)
    >>> steps_plan(90, 1437, 32)
    (2, 45)
    """
    if steps < 1 or n_train < 1 or batch_size < 1:
        raise ValueError(f"steps_plan needs positive numbers, got steps={steps!r}, n_train={n_train!r}, "
                         f"batch_size={batch_size!r}")
    per_epoch = math.ceil(n_train / batch_size)
    epochs = math.ceil(steps / per_epoch)
    return epochs, steps - (epochs - 1) * per_epoch


class _BudgetSpent(Exception):
    """Raised by the steps budget's callback after the last step of a cut epoch."""

    def __init__(self, logs: dict):
        self.logs = logs


def train_numpy(config: dict, on_epoch: Callable | None = None) -> dict:
    """The NumPy engine's run function: fit epoch by epoch, recording history and diagnostics.

    With ``train.steps`` the budget is :func:`steps_plan`'s: the last, cut epoch is recorded as
    an epoch whose training loss and accuracy are means over its steps; ``history["steps"]``
    holds the steps taken after each epoch.
    """
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
    budget = t.get("steps")
    if budget is not None:
        per_epoch = math.ceil(data.x_train.shape[0] / int(t["batch_size"]))
        epochs, last = steps_plan(int(budget), int(data.x_train.shape[0]), int(t["batch_size"]))
        history["steps"] = []
    else:
        epochs = int(t["epochs"])

    def record_diagnostics(epoch: int) -> None:
        for name, fn, params in diag_specs:
            out = fn(model, data, epoch, **params)
            if out is not None:
                diagnostics[name].append({"epoch": epoch, **out})

    class Recorder(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if budget is not None and self.epoch == epochs - 1 and batch + 1 == last and last < per_epoch:
                raise _BudgetSpent(dict(logs or {}))   # the budget's last step: cut this epoch here

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.t0
            logs = logs or {}
            if budget is not None:
                history["steps"].append(min((epoch + 1) * per_epoch, int(budget)))
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
    recorder = Recorder()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        record_diagnostics(0)
        try:
            model.fit(data.x_train, y_train, epochs=epochs, batch_size=int(t["batch_size"]),
                      validation_data=(data.x_test, y_test), shuffle=True, verbose=0, callbacks=[recorder])
        except _BudgetSpent as cut:  # the last epoch, cut: recorded as the others, its logs over its steps
            val_loss, val_acc = model.evaluate(data.x_test, y_test, batch_size=int(t["batch_size"]), verbose=0)
            recorder.on_epoch_end(epochs - 1, {**cut.logs, "val_loss": val_loss, "val_accuracy": val_acc})
        except DivergedError as exc:
            status, diverged_epoch = "diverged", exc.epoch + 1
            diagnostics["divergence"] = {"epoch": exc.epoch + 1, "batch": exc.batch + 1, "loss": str(exc.loss)}
    diagnostics["info"] = {"params": model.count_params(), "n_train": int(data.x_train.shape[0]),
                           "n_test": int(data.x_test.shape[0]), "input_dim": int(data.x_train.shape[1]),
                           "num_classes": int(data.num_classes)}
    return {"status": status, "history": history, "diagnostics": diagnostics,
            "diverged_epoch": diverged_epoch, "seconds": time.perf_counter() - t0}


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
        if fn is train_run:
            by_engine: dict[str, list[str]] = {}
            for k in pending:
                engine = configs[k].get("engine", "numpy")
                if engine in ENSEMBLE_ENGINES:
                    by_engine.setdefault(engine, []).append(k)
            for engine, group in by_engine.items():
                jobs = _claim(group, configs, store, bar)
                if jobs:
                    batch_fn = _import_attr(ENSEMBLE_ENGINES[engine])
                    _drive(jobs, store, bar, lambda events: executor.run_ensembles([jobs], batch_fn, events))
            pending = [k for k in pending if configs[k].get("engine", "numpy") not in ENSEMBLE_ENGINES]
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
