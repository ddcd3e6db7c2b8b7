"""Are the raw-pixel ReLU-family runs under Keras 2's loss at an exact fixed point of SGD?

Under ``keras_categorical_crossentropy`` a training sample contributes no gradient at all when
its true-class probability is clipped (below 1e-7 or above 1 - 1e-7). If after some epoch this
holds for *every* training sample, every batch's gradient is exactly zero, plain SGD (no
momentum, no decay, no penalty) leaves every parameter as it is, and the run's accuracy after
any longer budget (the notes' 100 or 1000 epochs) is the accuracy at that epoch, bit for bit.

This script replays the first epochs of each raw-pixel ReLU-family run of the study (same
configuration, hence the same initial weights and batch order, and one BLAS thread as the
study's worker processes, so the same float32 rounding) and, after each epoch, counts the
training samples whose true-class probability lies inside the clip, in float32 as the training
computes it. With ``--store`` it also prints the study's own test accuracy at that epoch, which
must equal the replay's (the replay is the study's run).

    PYTHONPATH=src python docs/results/reproduce-notes-keras-loss/fixed_point.py \\
        --data-dir ../shared/data/mnist --epochs 3 --seeds 0,1,2 --budget 100 --store notes.sqlite
"""
from __future__ import annotations

import argparse

import numpy as np
from threadpoolctl import threadpool_limits

from actlab.engine import Callback
from actlab.engine.losses import EPSILON
from actlab.store import Store
from actlab.studies.reproduce import NOTES_ROWS, ReproduceSpec, _config
from actlab.studies.runner import build_model, load_data


def unclipped(model, x, y) -> int:
    """Training samples whose true-class probability is inside [1e-7, 1 - 1e-7] (they have a gradient)."""
    p = model.forward(x)
    q = p / p.sum(axis=1, keepdims=True)
    qt = q[np.arange(len(q)), y.argmax(axis=1)]
    eps = qt.dtype.type(EPSILON)
    return int(np.count_nonzero((qt >= eps) & (qt <= 1 - eps)))


class Count(Callback):
    """After the epochs in ``show`` (None: all), record (epoch, samples with a gradient, train and
    test accuracy, the classes predicted on the test set)."""

    def __init__(self, data, show):
        super().__init__()
        self.data, self.show, self.out = data, show, []
        self.y_train, self.y_test = data.one_hot()

    def on_epoch_end(self, epoch, logs=None):
        if self.show is not None and epoch + 1 not in self.show:
            return
        d, m = self.data, self.model
        pred = m.forward(d.x_test).argmax(axis=1)
        acc_tr = float(np.mean(m.forward(d.x_train).argmax(axis=1) == self.y_train.argmax(1)))
        self.out.append((epoch + 1, unclipped(m, d.x_train, self.y_train), acc_tr,
                         float(np.mean(pred == self.y_test.argmax(1))), sorted(set(pred.tolist()))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--epochs", type=int, default=3, help="epochs to replay")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--budget", type=int, default=100, help="the study's epochs (both budgets)")
    ap.add_argument("--store", default=None, help="the study's store, to print its own test accuracy")
    ap.add_argument("--show", default=None, help="epochs to print, e.g. 1,2,3,100 (default: all)")
    ap.add_argument("--activations", default="relu,leaky_relu,prelu")
    args = ap.parse_args()
    threadpool_limits(1)   # as the study's worker processes (runner._worker_init)
    spec = ReproduceSpec(seeds=[int(s) for s in args.seeds.split(",")], epochs=args.budget,
                         short_epochs=args.budget, scalings=["raw"], loss="keras_categorical_crossentropy").resolved()
    store = Store(args.store, read_only=True) if args.store else None
    show = None if args.show is None else {int(e) for e in args.show.split(",")}
    names = args.activations.split(",")
    rows = {r.activation: r for r in NOTES_ROWS if r.activation_config["name"] in names}
    print("| seed | activation | epoch | training samples with a gradient | train acc | test acc | "
          "the study's test acc | predicted classes (test) |")
    print("|---|---|---|---|---|---|---|---|")
    for seed in spec.seeds:
        for row in rows.values():
            cfg = _config(spec, row, "raw", seed, args.data_dir)
            rec = store.get(Store.key(cfg)) if store else None
            study = ((rec or {}).get("history") or {}).get("val_accuracy") or []
            data = load_data(cfg["data"], cfg["runtime"])
            model = build_model(cfg, data)
            count = Count(data, show)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                model.fit(data.x_train, count.y_train, epochs=args.epochs, batch_size=cfg["train"]["batch_size"],
                          shuffle=True, verbose=0, callbacks=[count])
            for epoch, n, acc_tr, acc_te, classes in count.out:
                theirs = f"{100 * study[epoch - 1]:.2f}" if len(study) >= epoch else "-"
                print(f"| {seed} | {row.label} | {epoch} | {n} of {len(count.y_train)} | {100 * acc_tr:.2f} | "
                      f"{100 * acc_te:.2f} | {theirs} | {classes} |", flush=True)


if __name__ == "__main__":
    main()
