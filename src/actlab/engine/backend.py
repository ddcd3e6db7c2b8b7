"""The NumPy engine as a backend (:mod:`actlab.backends`): ``engine="numpy"``, one run at a time."""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Sequence

import numpy as np

from ..backends import Run, RunRecord
from .callbacks import Callback
from .initializers import DEFAULT_INITIALIZER
from .losses import DEFAULT_LOSS
from .mlp import build_mlp
from .model import DEFAULT_DTYPE, DivergedError, Sequential
from .optimizers import get as get_optimizer

__all__ = ["BACKEND", "NumpyBackend", "build_model", "steps_plan"]


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


def build_model(config: dict, data: Any) -> Sequential:
    """The NumPy engine's model of a run configuration, compiled: the model description
    (``config["model"]``) for ``data``'s input width and classes, the training description's
    optimizer and loss (``config["train"]``)."""
    m, t = config["model"], config["train"]
    model = build_mlp(data.x_train.shape[1], m.get("hidden", "200x4"), m["activation"], data.num_classes,
                      seed=config.get("seed", 0), kernel_initializer=m.get("init", DEFAULT_INITIALIZER),
                      dtype=m.get("dtype", DEFAULT_DTYPE), dropout=m.get("dropout", 0.0),
                      batch_size=t.get("batch_size"), optimizer=dict(t["optimizer"]))
    model.compile(optimizer=get_optimizer(dict(t["optimizer"])), loss=t.get("loss", DEFAULT_LOSS),
                  metrics=["accuracy"])
    return model


class NumpyBackend:
    """Trains each run with ``Sequential.fit``, epoch by epoch, recording history and diagnostics."""

    name = "numpy"
    trains_together = False
    reports_batches = True     # fit calls the callbacks' on_train_batch_end

    def build(self, config: dict, data: Any) -> Sequential:
        return build_model(config, data)

    def fit(self, model: Sequential, x, y, *, epochs: int, batch_size: int, validation_data=None,
            callbacks=(), device: Any = None):
        """Train a built, compiled model in place (``actlab train``); its ``History``."""
        return model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0,
                         validation_data=validation_data, callbacks=list(callbacks))

    def train(self, runs: Sequence[Run], on_epoch: Callable | None = None) -> list[dict]:
        return [self._train_one(run, None if on_epoch is None else
                                (lambda e, n, logs, i=i: on_epoch(i, e, n, logs)))
                for i, run in enumerate(runs)]

    def _train_one(self, run: Run, on_epoch: Callable | None) -> dict:
        """One run. With ``train.steps`` the budget is :func:`steps_plan`'s: the last, cut epoch is
        recorded as an epoch whose training loss and accuracy are means over its steps;
        ``history["steps"]`` holds the steps taken after each epoch."""
        data, t = run.data, run.config["train"]
        model = self.build(run.config, data)
        y_train, y_test = data.one_hot()
        record = RunRecord(run)
        budget = t.get("steps")
        if budget is not None:
            per_epoch = math.ceil(data.x_train.shape[0] / int(t["batch_size"]))
            epochs, last = steps_plan(int(budget), int(data.x_train.shape[0]), int(t["batch_size"]))
            record.history["steps"] = []
        else:
            epochs = int(t["epochs"])

        class Recorder(Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.t0 = time.perf_counter()
                self.epoch = epoch

            def on_train_batch_end(self, batch, logs=None):
                if budget is not None and self.epoch == epochs - 1 and batch + 1 == last and last < per_epoch:
                    raise _BudgetSpent(dict(logs or {}))   # the budget's last step: cut this epoch here

            def on_epoch_end(self, epoch, logs=None):
                seconds = time.perf_counter() - self.t0
                extra = {} if budget is None else {"steps": min((epoch + 1) * per_epoch, int(budget))}
                row = record.epoch(epoch + 1, logs or {}, seconds, **extra)
                record.diagnose(model, epoch + 1)
                if on_epoch is not None:
                    on_epoch(epoch + 1, epochs, row)

        t0 = time.perf_counter()
        recorder = Recorder()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            record.diagnose(model, 0)
            try:
                model.fit(data.x_train, y_train, epochs=epochs, batch_size=int(t["batch_size"]),
                          validation_data=(data.x_test, y_test), shuffle=True, verbose=0, callbacks=[recorder])
            except _BudgetSpent as cut:  # the last epoch, cut: recorded as the others, its logs over its steps
                val_loss, val_acc = model.evaluate(data.x_test, y_test, batch_size=int(t["batch_size"]), verbose=0)
                recorder.on_epoch_end(epochs - 1, {**cut.logs, "val_loss": val_loss, "val_accuracy": val_acc})
            except DivergedError as exc:
                record.diverged(exc.epoch + 1, exc.batch + 1, exc.loss)
        return record.result(model, time.perf_counter() - t0)


BACKEND = NumpyBackend()
