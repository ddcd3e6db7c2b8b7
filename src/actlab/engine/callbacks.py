"""Callbacks for ``Sequential.fit``: History, a Keras-like progress bar, early stopping."""
from __future__ import annotations

import sys
import time
from typing import Any


class Callback:
    """Hooks called by ``fit``; ``self.model`` and ``self.params`` (as Keras: ``epochs``,
    ``steps`` per epoch, ``verbose``) are set before training starts."""

    model: Any = None
    params: dict[str, Any] = {}   # noqa: RUF012 (replaced, never mutated: set_params)

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...


class History(Callback):
    """Per-epoch logs: ``history.history['loss']``, ``['accuracy']``, ``['val_loss']``, ... and ``epoch``."""

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


class ProgbarLogger(Callback):
    """Keras-like output: ``verbose=1`` a progress bar per epoch, ``verbose=2`` one line per epoch.

    With ``verbose=1`` the bar is redrawn in place (``\r``) after a batch when ``interval``
    seconds have passed since the last redraw (0: after every batch): step count / total, the
    time left in the epoch (ETA) and the running mean loss and metrics of the epoch so far.
    ``epochs`` and ``steps`` default to those of the ``fit`` call.
    """

    def __init__(self, verbose: int = 1, stream=None, width: int = 30, interval: float = 0.1,
                 epochs: int | None = None, steps: int | None = None):
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.width = width
        self.interval = interval
        self._epochs, self._steps = epochs, steps
        self._open = False

    def on_train_begin(self, logs=None):
        self.epochs = self._epochs if self._epochs is not None else self.params.get("epochs")
        self.steps = self._steps if self._steps is not None else self.params.get("steps")

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()
        self._last = -float("inf")
        if self.verbose:
            self.stream.write(f"Epoch {epoch + 1}/{self.epochs}\n")

    def _metrics(self, logs):
        return "".join(f" - {k}: {v:.4f}" for k, v in logs.items() if k not in ("batch", "size"))

    def on_train_batch_end(self, batch, logs=None):
        if self.verbose != 1:
            return
        now = time.perf_counter()
        if batch + 1 == self.steps or now - self._last < self.interval:
            return  # the epoch's last line is written by on_epoch_end
        self._last = now
        done = batch + 1
        n = len(str(self.steps))
        filled = int(self.width * done / self.steps)
        bar = "=" * max(filled - 1, 0) + (">" if done < self.steps else "=") if filled else ""
        elapsed = now - self._t0
        eta = elapsed / done * (self.steps - done)
        timing = f"ETA: {eta:.0f}s" if done < self.steps else f"{elapsed:.0f}s {1000 * elapsed / done:.0f}ms/step"
        self.stream.write(f"\r{done:>{n}}/{self.steps} [{bar:<{self.width}}] - {timing}{self._metrics(logs or {})}")
        self.stream.flush()
        self._open = True

    def close(self) -> None:
        """End a bar left open mid-epoch (training stopped by an error) with a newline."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False

    def on_epoch_end(self, epoch, logs=None):
        elapsed = time.perf_counter() - self._t0
        if self.verbose == 1:
            bar = "=" * self.width
            self.stream.write(f"\r{self.steps}/{self.steps} [{bar}] - {elapsed:.0f}s "
                              f"{1000 * elapsed / self.steps:.0f}ms/step{self._metrics(logs or {})}\n")
            self._open = False
        elif self.verbose == 2:
            self.stream.write(f"{self.steps}/{self.steps} - {elapsed:.0f}s - "
                              f"{1000 * elapsed / self.steps:.0f}ms/step{self._metrics(logs or {})}\n")
        self.stream.flush()


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 mode: str = "auto", restore_best_weights: bool = False):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), patience
        self.maximize = mode == "max" or (mode == "auto" and ("acc" in monitor))
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, logs=None):
        self.wait, self.best, self.best_weights, self.stopped_epoch = 0, None, None, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        better = self.best is None or (
            value > self.best + self.min_delta if self.maximize else value < self.best - self.min_delta)
        if better:
            self.best, self.wait = value, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.set_weights(self.best_weights)


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``."""

    def __init__(self, **hooks):
        valid = {"on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
                 "on_train_batch_begin", "on_train_batch_end"}
        bad = sorted(set(hooks) - valid)
        if bad:
            raise ValueError(f"LambdaCallback: unknown hook {bad[0]!r}; valid: {', '.join(sorted(valid))}")
        for k, fn in hooks.items():
            setattr(self, k, fn)
