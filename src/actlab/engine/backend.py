"""The NumPy engine as a backend (:mod:`actlab.backends`): ``engine="numpy"``, one run at a time."""
from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np

from ..backends import Run, RunRecord
from .callbacks import Callback
from .mlp import build_mlp
from .model import DivergedError, Sequential
from .optimizers import get as get_optimizer

__all__ = ["BACKEND", "NumpyBackend", "build_model"]


def build_model(config: dict, data: Any) -> Sequential:
    """The NumPy engine's model of a run configuration, compiled: the model description
    (``config["model"]``) for ``data``'s input width and classes, the training description's
    optimizer and loss (``config["train"]``)."""
    m, t = config["model"], config["train"]
    model = build_mlp(data.x_train.shape[1], m.get("hidden", "200x4"), m["activation"], data.num_classes,
                      seed=config.get("seed", 0), kernel_initializer=m.get("init", "glorot_uniform"),
                      dtype=m.get("dtype", "float32"), dropout=m.get("dropout", 0.0),
                      batch_size=t.get("batch_size"), optimizer=dict(t["optimizer"]))
    model.compile(optimizer=get_optimizer(dict(t["optimizer"])), loss=t.get("loss", "categorical_crossentropy"),
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
        data, t = run.data, run.config["train"]
        model = self.build(run.config, data)
        y_train, y_test = data.one_hot()
        record = RunRecord(run)
        epochs = int(t["epochs"])

        class Recorder(Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.t0 = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                row = record.epoch(epoch + 1, logs or {}, time.perf_counter() - self.t0)
                record.diagnose(model, epoch + 1)
                if on_epoch is not None:
                    on_epoch(epoch + 1, epochs, row)

        t0 = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            record.diagnose(model, 0)
            try:
                model.fit(data.x_train, y_train, epochs=epochs, batch_size=int(t["batch_size"]),
                          validation_data=(data.x_test, y_test), shuffle=True, verbose=0, callbacks=[Recorder()])
            except DivergedError as exc:
                record.diverged(exc.epoch + 1, exc.batch + 1, exc.loss)
        return record.result(model, time.perf_counter() - t0)


BACKEND = NumpyBackend()
