"""``actlab train``: one MLP, one activation, one dataset; progress and the final test accuracy.

``actlab train --dataset mnist --samples 10000 --epochs 100`` is the study notes' experiment
(the mnist preset is their network and optimizer): 10,000 MNIST images drawn from all 70,000, split 80/20,
pixels scaled to [0, 1] (``--raw-pixels`` keeps 0..255, as the notes' code did), a
784-200-200-200-200-10 network trained by plain SGD with batches of 100.

Exit status: 0 when training finished, 1 when it diverged (a NaN or infinite loss: one line
says at which epoch and batch), 2 for a user mistake (bad name or value, data not found).
"""
from __future__ import annotations

import inspect
import json
import math
import os
import sys
import time
from typing import Any

import click
import numpy as np

from actlab import activations as _acts
from actlab import datasets as _datasets
from actlab import presets as _presets
from actlab.backends import DEFAULT_BACKEND, get_backend
from actlab.cli.common import BackendChoice, plugin_option
from actlab.engine import Callback, DivergedError, build_mlp, kernels, parse_hidden
from actlab.engine.callbacks import ProgbarLogger
from actlab.engine.initializers import DEFAULT_INITIALIZER, INITIALIZERS
from actlab.engine.losses import CLASSIFICATION_LOSSES, DEFAULT_LOSS
from actlab.engine.model import DEFAULT_DTYPE, DTYPES
from actlab.engine.optimizers import OPTIMIZERS as _ENGINE_OPTIMIZERS
from actlab.plan import OWN_LAYER

#: optimizer name -> (class, whether it takes momentum), read from the engine's one registry
OPTIMIZERS = {name: (cls, "momentum" in inspect.signature(cls).parameters)
              for name, cls in _ENGINE_OPTIMIZERS.items()}


# --------------------------------------------------------------------------------- helpers
def load_data(dataset: str, *, samples: int | None, test_fraction: float | None, raw_pixels: bool,
              seed: int, data_dir: str | None, noise: float | None, official_split: bool):
    """The ``Dataset`` the command trains on (see ``actlab.datasets.load``)."""
    from actlab import datasets
    from actlab.datasets.idx import IDX_NAMES

    key = datasets._resolve(dataset)
    if key in IDX_NAMES:
        if official_split and (samples is not None or test_fraction is not None):
            raise ValueError("--official-split uses all 60,000 / 10,000 images: drop --samples/--test-fraction")
    elif official_split:
        raise ValueError(f"--official-split applies to {', '.join(IDX_NAMES)}, not to {dataset!r}")
    data = datasets.load(key, n_samples=samples, test_fraction=test_fraction,
                         scale="raw" if raw_pixels else True, seed=seed, data_dir=data_dir, noise=noise)
    if data.num_classes < 2:
        raise ValueError(f"dataset {dataset!r} is not a classification set; actlab train needs classes")
    return data


def make_optimizer(name: str, lr: float | None, momentum: float, nesterov: bool):
    cls, has_momentum = OPTIMIZERS[name]
    kw: dict[str, Any] = {} if lr is None else {"learning_rate": lr}
    if momentum or nesterov:
        if not has_momentum:
            raise ValueError(f"--momentum/--nesterov apply to {', '.join(k for k, v in OPTIMIZERS.items() if v[1])}, "
                             f"not to {name!r}")
        kw["momentum"] = momentum
        if nesterov:
            if "nesterov" not in inspect.signature(cls).parameters:
                with_nesterov = [k for k, (c, _) in OPTIMIZERS.items() if "nesterov" in inspect.signature(c).parameters]
                raise ValueError(f"--nesterov applies to {', '.join(with_nesterov)}, not to {name!r}")
            kw["nesterov"] = True
    return cls(**kw)


class _EpochReporter(Callback):
    """One line per epoch (no terminal, ``--no-progress``, or an engine without per-batch hooks)."""

    def __init__(self, epochs: int):
        self.epochs = epochs
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._t0)
        click.echo(f"epoch {epoch + 1}/{self.epochs} - {_metrics_text(logs or {})} - {self.seconds[-1]:.2f}s")

    def close(self):
        pass


def _reporter(epochs: int, progress: bool | None, backend):
    """Keras-like per-batch progress (step / total, ETA, running loss) on a terminal or with
    ``--progress``; one line per epoch otherwise (and on a backend that reports epochs only)."""
    if progress is None:
        progress = sys.stdout.isatty()
    if progress and getattr(backend, "reports_batches", False):
        return ProgbarLogger(verbose=1, stream=sys.stdout, epochs=epochs)
    return _EpochReporter(epochs)


def _metrics_text(logs: dict) -> str:
    names = {"loss": "loss", "accuracy": "acc", "val_loss": "test_loss", "val_accuracy": "test_acc"}
    return " - ".join(f"{names.get(k, k)} {v:.4f}" for k, v in logs.items())


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


# --------------------------------------------------------------------------------- command
@click.command("train", epilog="\b\nThe presets (any setting given overrides its preset):\n" + _presets.describe())
@click.option("--dataset", default=_presets.DEFAULT_DATASET, show_default=True,
              help=f"{', '.join(n for n in _datasets.names() if n not in _datasets.TOY_NAMES)}, or a 2-D toy set "
                   f"({', '.join(_datasets.TOY_NAMES)}).")
@click.option("--activation", "-a", default=_presets.DEFAULT_ACTIVATION, show_default=True,
              help=f"Hidden activation, any name of `actlab list` ({', '.join(list(OWN_LAYER)[:-1])} and "
                   f"{list(OWN_LAYER)[-1]} get their own layer).")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
              help="A parameter of the activation, e.g. --param alpha=0.1 (repeatable).")
@click.option("--hidden", default=None,
              help="Hidden layer sizes: '200x4', '128,64', '0' for none; " + _presets.help_for("hidden"))
@click.option("--epochs", default=None, type=click.IntRange(1), help=_presets.help_for("epochs"))
@click.option("--batch-size", default=None, type=click.IntRange(1), help=_presets.help_for("batch_size"))
@click.option("--optimizer", default=None, type=click.Choice(sorted(OPTIMIZERS)), help=_presets.help_for("optimizer"))
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Learning rate; " + _presets.help_for("learning_rate"))
@click.option("--momentum", default=0.0, show_default=True, type=click.FloatRange(0, 1, max_open=True))
@click.option("--nesterov", is_flag=True, help="Nesterov momentum (sgd).")
@click.option("--seed", default=_presets.DEFAULT_SEED, show_default=True, type=click.IntRange(0),
              help="Seeds the data draw, the initial weights and the batch order.")
@click.option("--samples", type=click.IntRange(1), default=None,
              help="How many samples to use (mnist/fashion_mnist: drawn from all 70,000 and split 80/20, "
                   f"--samples {_presets.NOTES_SAMPLES} is the notes' protocol; default the official 60,000 / "
                   f"10,000 split. digits: all 1,797; toy sets: {_presets.TOY_SAMPLES}).")
@click.option("--test-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help=f"Share held out for testing (default {_presets.TEST_FRACTION:g}; {_presets.TOY_TEST_FRACTION:g} "
                   "for the toy sets).")
@click.option("--official-split", is_flag=True,
              help="mnist/fashion_mnist: the official 60,000 / 10,000 split (the default; refuses --samples).")
@click.option("--raw-pixels", is_flag=True, help="Keep the raw 0..255 pixel values (the notes' own code).")
@click.option("--noise", type=float, default=None,
              help=f"Toy sets: noise level (0 .. 0.5; default {_presets.TOY_NOISE:g}).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Folder holding the MNIST files (else $ACTLAB_DATA and the usual places).")
@click.option("--loss", type=click.Choice(list(CLASSIFICATION_LOSSES)), default=DEFAULT_LOSS, show_default=True,
              help="categorical_crossentropy: softmax fused with the cross-entropy (gradient p - y). "
                   "keras_categorical_crossentropy: Keras 2's semantics: softmax, then a cross-entropy on "
                   "probabilities clipped at 1e-7, with zero gradient where it clips.")
@click.option("--init", "kernel_init", default=DEFAULT_INITIALIZER, show_default=True,
              help=f"Weight initializer ({', '.join(INITIALIZERS)}, or critical: the edge of "
                   "chaos of the activation, see actlab criticality).")
@click.option("--sigma-b2", "sigma_b2", type=float, default=None,
              help="With --init critical: the bias variance sigma_b^2 (default 0); weights get the critical "
                   "sigma_w^2 for it.")
@click.option("--dtype", default=DEFAULT_DTYPE, show_default=True, type=click.Choice(DTYPES))
@plugin_option
@click.option("--save-weights", type=click.Path(dir_okay=False), default=None,
              help="Save the trained weights to this .npz file.")
@click.option("--engine", default=DEFAULT_BACKEND, show_default=True, type=BackendChoice(),
              help="numpy (explicit backprop) or torch (the same model, weights and batch order; needs actlab[torch]).")
@click.option("--device", default=None, help="torch engine: cpu, cuda or cuda:N (default: CUDA when present).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (config, history, result) only.")
@click.option("--progress/--no-progress", default=None,
              help="Per-batch progress within each epoch (step / total, ETA, running loss and accuracy), as "
                   "Keras prints it. Default: on a terminal; otherwise, and with --no-progress, one line per epoch.")
@click.option("--quiet", "-q", is_flag=True, help="No per-epoch progress, only the result line.")
def train_cmd(dataset, activation, params, hidden, epochs, batch_size, optimizer, lr, momentum, nesterov, seed,
              samples, test_fraction, official_split, raw_pixels, noise, data_dir, loss, kernel_init, sigma_b2, dtype,
              plugins, save_weights, engine, device, as_json, progress, quiet):
    """Train one MLP and report its test accuracy.

    \b
    Examples:
      actlab train --dataset digits --activation tanh --hidden 64x2 --epochs 30 --lr 0.1
      actlab train --dataset mnist --samples 10000 --activation relu --hidden 200x4 --epochs 100 --lr 0.01
      actlab train --dataset circle --activation leaky_relu --param alpha=0.1 --hidden 8x2 --optimizer adam
    """
    from actlab.activations.plugins import load_plugins
    from actlab.cli.zoo import parse_params

    load_plugins(plugins)
    act = _acts.get(activation, **parse_params(params))
    preset = _presets.resolve(dataset, hidden=hidden, optimizer=optimizer, learning_rate=lr,
                              batch_size=batch_size, epochs=epochs)
    hidden, optimizer, lr = preset["hidden"], preset["optimizer"], preset["learning_rate"]
    batch_size, epochs = preset["batch_size"], preset["epochs"]
    sizes = parse_hidden(hidden)
    if save_weights is not None and not str(save_weights).endswith(".npz"):
        raise ValueError(f"--save-weights writes .npz files; got {save_weights!r}")
    if sigma_b2 is not None and kernel_init.lower() != "critical":
        raise ValueError(f"--sigma-b2 goes with --init critical, got --init {kernel_init!r}")
    if kernel_init.lower() == "critical":
        if sigma_b2 is not None and not (sigma_b2 >= 0 and math.isfinite(sigma_b2)):
            raise ValueError(f"--sigma-b2 must be a finite number >= 0, got {sigma_b2!r}")
        kernel_init = {"name": "critical", "sigma_b2": float(sigma_b2 or 0.0)}
    opt = make_optimizer(optimizer, lr, momentum, nesterov)
    data = load_data(dataset, samples=samples, test_fraction=test_fraction, raw_pixels=raw_pixels, seed=seed,
                     data_dir=data_dir, noise=noise, official_split=official_split)
    y_train, y_test = data.one_hot()
    model = build_mlp(data.x_train.shape[1], sizes, act, data.num_classes, seed=seed,
                      kernel_initializer=kernel_init, dtype=dtype, batch_size=batch_size, optimizer=opt)
    model.compile(loss=loss, optimizer=opt, metrics=["accuracy"])

    shape = "-".join(str(s) for s in [data.x_train.shape[1], *sizes, data.num_classes])
    config = {
        "dataset": data.name, "n_train": data.n_train, "n_test": data.n_test,
        "scale": "raw" if raw_pixels else "scaled", "activation": act.config(), "hidden": sizes,
        "layers": shape, "init": kernel_init, "optimizer": opt.get_config(), "batch_size": batch_size,
        "epochs": epochs, "seed": seed, "dtype": dtype, "engine": engine, "loss": loss,
    }
    if not as_json:
        click.echo(f"{data.name}: {data.n_train} train / {data.n_test} test samples; "
                   f"MLP {shape}, {act.label(every=True)}; {opt!r}; batch {batch_size}; seed {seed}")
    backend = get_backend(engine)
    reporter = _reporter(epochs, progress, backend)
    callbacks = [] if (as_json or quiet) else [reporter]
    if engine == "numpy" and kernels.busy_machine_blas_threads() and not as_json:
        # a warning, not a silent change: the thread count changes the sums' rounding
        click.echo(f"actlab: the machine is busy (load {os.getloadavg()[0]:.1f}): BLAS threads may spin-wait "
                   "for cores; OPENBLAS_NUM_THREADS=1 is often several times faster (docs/speed.md)", err=True)
    t0 = time.perf_counter()
    try:
        with np.errstate(over="ignore", invalid="ignore"):   # a divergence is reported below, once
            hist = backend.fit(model, data.x_train, y_train, epochs=epochs, batch_size=batch_size,
                               validation_data=(data.x_test, y_test), callbacks=callbacks, device=device)
    except DivergedError as err:
        reporter.close()
        seconds = time.perf_counter() - t0
        if as_json:
            click.echo(json.dumps({"config": config, "status": "diverged", "epoch": err.epoch + 1,
                                   "batch": err.batch + 1, "seconds": seconds}))
        else:
            click.echo(f"actlab: {err}", err=True)
        sys.exit(1)
    seconds = time.perf_counter() - t0
    test_loss, test_acc = model.evaluate(data.x_test, y_test, verbose=0)
    if save_weights:
        model.save_weights(save_weights)
    h = hist.history
    if as_json:
        click.echo(json.dumps({
            "config": config, "status": "done", "test_loss": _finite(test_loss), "test_accuracy": test_acc,
            "train_loss": _finite(h["loss"][-1]), "train_accuracy": h["accuracy"][-1],
            "seconds": seconds, "seconds_per_epoch": seconds / epochs,
            "history": {k: [_finite(v) for v in vals] for k, vals in h.items()},
            "weights": save_weights,
        }))
        return
    correct = round(test_acc * data.n_test)
    click.echo(f"test accuracy: {test_acc:.4f} ({correct}/{data.n_test}), test loss {test_loss:.4f}; "
               f"{epochs} epochs in {seconds:.1f} s ({seconds / epochs:.3f} s/epoch)")
    if save_weights:
        click.echo(f"weights saved to {save_weights}")


def register(main: click.Group) -> None:
    """Add ``train`` to the ``actlab`` group (``compare`` lives with the studies)."""
    main.add_command(train_cmd)
