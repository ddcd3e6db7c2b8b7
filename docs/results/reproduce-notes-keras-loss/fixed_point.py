"""Are the raw-pixel ReLU-family runs under Keras 2's loss at an exact fixed point of SGD?

Under ``keras_categorical_crossentropy`` a training sample contributes no gradient at all when
its true-class probability is clipped (below 1e-7 or above 1 - 1e-7). If after some epoch this
holds for *every* training sample, every batch's gradient is exactly zero, plain SGD (no
momentum, no decay, no penalty) leaves every parameter as it is, and the run's accuracy after
any longer budget (the notes' 100 or 1000 epochs) is the accuracy at that epoch, bit for bit.

This script retrains each raw-pixel ReLU-family run of the study (same configuration, hence
same initial weights and batch order: epoch ``e`` of seed ``s`` visits the same batches as in
the study) for a few epochs and, after each epoch, counts the training samples whose
true-class probability lies inside the clip, in float32 as the training computes it.

    PYTHONPATH=src python docs/results/reproduce-notes-keras-loss/fixed_point.py \\
        --data-dir ../shared/data/mnist --epochs 3 --seeds 3
"""
from __future__ import annotations

import argparse

import numpy as np

from actlab.engine import Callback
from actlab.engine.losses import EPSILON
from actlab.studies.reproduce import NOTES_ROWS, ReproduceSpec, _config
from actlab.studies.runner import build_model, load_data


def unclipped(model, x, y) -> int:
    """Training samples whose true-class probability is inside [1e-7, 1 - 1e-7] (they have a gradient)."""
    p = model.forward(x)
    q = p / p.sum(axis=1, keepdims=True)
    qt = q[np.arange(len(q)), y.argmax(axis=1)]
    eps = qt.dtype.type(EPSILON)
    return int(np.count_nonzero((qt >= eps) & (qt <= 1 - eps)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    spec = ReproduceSpec(seeds=args.seeds, epochs=args.epochs, short_epochs=args.epochs, scalings=["raw"],
                         loss="keras_categorical_crossentropy").resolved()
    rows = {r.activation: r for r in NOTES_ROWS if r.activation_config["name"] != "tanh"}
    print("| seed | activation | epoch | training samples with a gradient | train acc | test acc | "
          "predicted classes (test) |")
    print("|---|---|---|---|---|---|---|")
    for seed in spec.seeds:
        for row in rows.values():
            cfg = _config(spec, row, "raw", seed, args.data_dir)
            data = load_data(cfg["data"], cfg["runtime"])
            model = build_model(cfg, data)
            y_train, y_test = data.one_hot()
            out = []

            class Count(Callback):
                def on_epoch_end(self, epoch, logs=None):
                    n = unclipped(self.model, data.x_train, y_train)
                    pred = self.model.forward(data.x_test).argmax(axis=1)
                    acc_tr = float(np.mean(self.model.forward(data.x_train).argmax(axis=1) == y_train.argmax(1)))
                    out.append((epoch + 1, n, acc_tr, float(np.mean(pred == y_test.argmax(1))),
                                sorted(set(pred.tolist()))))

            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                model.fit(data.x_train, y_train, epochs=args.epochs, batch_size=cfg["train"]["batch_size"],
                          shuffle=True, verbose=0, callbacks=[Count()])
            for epoch, n, acc_tr, acc_te, classes in out:
                print(f"| {seed} | {row.label} | {epoch} | {n} of {len(y_train)} | {100 * acc_tr:.2f} | "
                      f"{100 * acc_te:.2f} | {classes} |", flush=True)


if __name__ == "__main__":
    main()
