"""``actlab train``'s per-batch progress (Keras-like: step / total, ETA, running loss), through the
engine's callbacks, on a forced output stream."""
from __future__ import annotations

import io
import math
import re

from click.testing import CliRunner

from actlab import datasets
from actlab.cli import main
from actlab.engine import LambdaCallback, build_mlp
from actlab.engine.callbacks import ProgbarLogger


def test_progbar_shows_every_step_with_eta_and_the_running_loss():
    data = datasets.load("digits")
    y_train, _ = data.one_hot()
    x, y = data.x_train[:200], y_train[:200]
    model = build_mlp(64, "16", "tanh", 10, seed=0)
    model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    seen: list[dict] = []
    out = io.StringIO()
    model.fit(x, y, epochs=2, batch_size=30, verbose=0, shuffle=False,
              callbacks=[ProgbarLogger(stream=out, interval=0),
                         LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(dict(logs)))])
    steps = math.ceil(200 / 30)                      # 7 batches: 6 of 30, one of 20
    text = out.getvalue()
    assert text.count("Epoch 1/2\n") == 1 and text.count("Epoch 2/2\n") == 1
    updates = re.findall(r"\r\s*(\d+)/(\d+) \[([=> .]*)\] - ETA: \d+s - loss: ([0-9.]+) - accuracy: ([0-9.]+)", text)
    # every step but the last of each epoch is drawn in place; the last one is the epoch's line
    assert [int(u[0]) for u in updates] == list(range(1, steps)) * 2
    assert all(int(u[1]) == steps for u in updates)
    # the loss shown is the epoch's running mean so far, weighted by batch size
    for (_done, _, _, loss, acc), logs in zip(updates, seen[:steps - 1] + seen[steps:2 * steps - 1]):
        assert float(loss) == round(logs["loss"], 4) and float(acc) == round(logs["accuracy"], 4)
    # the running mean, recomputed from a twin model trained batch by batch (train_on_batch)
    twin = build_mlp(64, "16", "tanh", 10, seed=0)
    twin.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    losses = [float(twin.train_on_batch(x[i:i + 30], y[i:i + 30])[0]) for i in range(0, 200, 30)]
    sizes = [30] * 6 + [20]
    for k in range(1, steps):
        mean = sum(l * s for l, s in zip(losses[:k], sizes[:k])) / sum(sizes[:k])
        assert math.isclose(float(updates[k - 1][3]), mean, abs_tol=6e-5)
    assert text.count(f"\r{steps}/{steps} [" + "=" * 30 + "]") == 2      # one finished bar per epoch
    assert "val_" not in text                                             # no validation data given


def _train(*args):
    result = CliRunner().invoke(main, ["train", "--dataset", "digits", "--hidden", "8", "--epochs", "2", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_train_progress_forced_shows_batches():
    text = _train("--progress")
    steps = math.ceil(1438 / 32)                     # the digits preset: batch 32
    assert f"\r{steps}/{steps} [" in text and f"\r 1/{steps} [" in text and "ETA:" in text
    assert "Epoch 1/2" in text and "Epoch 2/2" in text and "loss: " in text


def test_train_without_a_terminal_prints_one_line_per_epoch():
    for args in ((), ("--no-progress",)):
        text = _train(*args)
        assert re.findall(r"^epoch (\d)/2 - loss", text, re.MULTILINE) == ["1", "2"], text
        assert "\r" not in text and "ETA" not in text
    text = _train("--quiet")
    assert "epoch 1/2" not in text and "test accuracy" in text
