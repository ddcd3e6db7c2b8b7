"""Bad input to the engine is rejected with a message that names the bad value."""
from __future__ import annotations

import numpy as np
import pytest

from actlab.engine import SGD, Dense, DivergedError, Sequential, build_mlp, initializers, losses, optimizers


def _model(compiled=True):
    model = Sequential([Dense(4, activation="relu", input_dim=3), Dense(2, activation="softmax")], seed=0)
    if compiled:
        model.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    return model


X = np.zeros((4, 3))
Y = np.eye(2)[[0, 1, 0, 1]]


def test_nan_in_x_names_the_index():
    x = X.copy()
    x[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"non-finite.*\(2, 1\)"):
        _model().fit(x, Y, verbose=0)
    x[2, 1] = np.inf
    with pytest.raises(ValueError, match=r"\(2, 1\)"):
        _model().predict(x)


def test_wrong_width():
    with pytest.raises(ValueError, match="5 features per sample but the model expects 3"):
        _model().fit(np.zeros((4, 5)), Y, verbose=0)
    model = _model()
    model.fit(X, Y, verbose=0)
    with pytest.raises(ValueError, match="2 features per sample but the model expects 3"):
        model.predict(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"2-D.*shape \(3,\)"):
        model.predict(np.zeros(3))


def test_label_count_mismatch():
    with pytest.raises(ValueError, match="y has 3 samples but x has 4"):
        _model().fit(X, Y[:3], verbose=0)
    with pytest.raises(ValueError, match="3 columns but the model outputs 2"):
        _model().fit(X, np.eye(3)[[0, 1, 2, 0]], verbose=0)
    with pytest.raises(ValueError, match="validation y has 1 samples but x has 2"):
        _model().fit(X, Y, validation_data=(X[:2], Y[:1]), verbose=0)


def test_int_labels_with_categorical_crossentropy_suggest_to_categorical():
    with pytest.raises(ValueError, match="to_categorical") as info:
        _model().fit(X, np.array([0, 1, 0, 1]), verbose=0)
    assert "sparse_categorical_crossentropy" in str(info.value)


def test_sparse_label_out_of_range():
    model = _model(compiled=False)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    with pytest.raises(ValueError, match="label 5 is outside 0..1"):
        model.fit(X, np.array([0, 1, 5, 1]), verbose=0)


@pytest.mark.parametrize("kind,bad,good", [
    ("loss", "categorial_crossentropy", "categorical_crossentropy"),
    ("optimizer", "adamm", "adam"),
])
def test_unknown_loss_or_optimizer_names_value_and_valid(kind, bad, good):
    model = _model(compiled=False)
    with pytest.raises(ValueError) as info:
        model.compile(**{kind: bad})
    msg = str(info.value)
    assert repr(bad) in msg and good in msg
    valid = losses.LOSSES if kind == "loss" else optimizers.OPTIMIZERS
    assert all(name in msg for name in valid)


def test_unknown_initializer():
    with pytest.raises(ValueError) as info:
        Dense(3, kernel_initializer="glorot_unifrom")
    msg = str(info.value)
    assert "'glorot_unifrom'" in msg and "Did you mean 'glorot_uniform'" in msg
    assert all(name in msg for name in initializers.INITIALIZERS)


def test_unknown_activation_in_dense():
    with pytest.raises(ValueError, match="'rleu'"):
        Dense(3, activation="rleu")


def test_diverged_error_has_epoch_and_batch():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(200, 20)).astype(float)    # raw pixels, no scaling
    y = rng.normal(size=(200, 1))
    model = Sequential([Dense(16, activation="relu", input_dim=20), Dense(1)], seed=0)
    model.compile(loss="mse", optimizer=SGD(lr=1e6))
    with np.errstate(all="ignore"), pytest.raises(DivergedError) as info:
        model.fit(x, y, epochs=5, batch_size=20, verbose=0)
    err = info.value
    assert isinstance(err, FloatingPointError)
    assert err.epoch == 0 and 0 <= err.batch < 10
    assert not np.isfinite(err.loss)
    assert f"epoch {err.epoch + 1}, batch {err.batch + 1}" in str(err)
    assert "learning rate" in str(err)


def test_diverged_in_train_on_batch():
    model = Sequential([Dense(1, input_dim=2)], seed=0)
    model.compile(loss="mse", optimizer=SGD(lr=1e30))
    x = np.full((2, 2), 1e30)
    with np.errstate(all="ignore"), pytest.raises(DivergedError):
        for _ in range(3):
            model.train_on_batch(x, np.ones((2, 1)))


def test_fit_before_compile():
    with pytest.raises(ValueError, match="compile the model first"):
        _model(compiled=False).fit(X, Y, verbose=0)
    with pytest.raises(ValueError, match="compile the model first"):
        _model(compiled=False).evaluate(X, Y, verbose=0)


@pytest.mark.parametrize("kw,pattern", [
    ({"batch_size": 0}, "batch_size must be a positive integer, got 0"),
    ({"batch_size": 2.5}, "batch_size must be a positive integer, got 2.5"),
    ({"epochs": -1}, "epochs must be a non-negative integer, got -1"),
    ({"epochs": "3"}, "epochs must be a non-negative integer, got '3'"),
    ({"validation_split": 1.5}, r"validation_split must be in \[0, 1\), got 1.5"),
    ({"validation_split": -0.1}, r"validation_split must be in \[0, 1\), got -0.1"),
    ({"validation_split": 0.8}, "leaves an empty split"),   # int(4 * 0.2) = 0 left to train
    ({"validation_split": 1e-17}, "leaves an empty split"),
    ({"verbose": 5}, "verbose must be 0, 1 or 2, got 5"),
    ({"steps_per_epoch": 3}, "steps_per_epoch"),
])
def test_bad_fit_arguments(kw, pattern):
    kw.setdefault("verbose", 0)
    with pytest.raises(ValueError, match=pattern):
        _model().fit(X, Y, **kw)


def test_bad_construction_values():
    with pytest.raises(ValueError, match="units must be a positive integer, got 0"):
        Dense(0)
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64', got 'float16'"):
        Sequential(dtype="float16")
    with pytest.raises(ValueError, match="seed must be a non-negative integer, got -3"):
        Sequential(seed=-3)
    with pytest.raises(ValueError, match="learning rate must be a positive number, got -0.1"):
        SGD(lr=-0.1)
    with pytest.raises(ValueError, match="give lr or learning_rate, not both"):
        SGD(lr=0.1, learning_rate=0.2)
    with pytest.raises(ValueError, match="momentum must be in"):
        SGD(momentum=1.5)
    with pytest.raises(ValueError, match="unsupported metric 'f1'"):
        _model(compiled=False).compile(metrics=["f1"])
    with pytest.raises(ValueError, match="cannot parse hidden sizes '200y4'"):
        build_mlp(4, "200y4", "relu", 3)


def test_first_layer_input_dim_conflict():
    model = Sequential([Dense(4, input_dim=3)])
    with pytest.raises(ValueError, match="expects input_dim=3, gets 5"):
        model.build(5)


def test_set_weights_wrong_shapes():
    model = _model()
    with pytest.raises(ValueError, match="set_weights got 1 arrays, the model has 4"):
        model.set_weights([np.zeros((3, 4))])
    weights = model.get_weights()
    weights[2] = np.zeros((5, 2))
    with pytest.raises(ValueError, match=r"weight 2 has shape \(5, 2\), expected \(4, 2\)"):
        model.set_weights(weights)


def test_save_weights_needs_npz(tmp_path):
    with pytest.raises(ValueError, match="npz"):
        _model().save_weights(str(tmp_path / "w.h5"))


@pytest.mark.parametrize("call", ["fit", "evaluate", "train_on_batch", "gradients", "loss_value"])
def test_empty_arrays_are_a_value_error_naming_the_shape(call):
    model = _model()
    x, y = np.zeros((0, 3)), np.zeros((0, 2))
    kw = {"verbose": 0} if call in ("fit", "evaluate") else {}
    with pytest.raises(ValueError, match=r"x is empty \(shape \(0, 3\)\)"):
        getattr(model, call)(x, y, **kw)
    with pytest.raises(ValueError, match=r"validation x is empty"):
        _model().fit(X, Y, validation_data=(x, y), verbose=0)


def test_predict_on_no_samples_gives_no_predictions():
    out = _model().predict(np.zeros((0, 3)))
    assert out.shape == (0, 2) and out.dtype == np.float32


@pytest.mark.parametrize("bad, index", [(7.0, (1, 0)), (-3.0, (2, 1)), (1.5, (0, 0))])
@pytest.mark.parametrize("call", ["fit", "evaluate", "train_on_batch"])
def test_crossentropy_targets_outside_0_1_name_the_value(call, bad, index):
    y = Y.copy()
    y[index] = bad
    kw = {"verbose": 0} if call in ("fit", "evaluate") else {}
    with pytest.raises(ValueError, match=rf"y holds {bad:g} at index \({index[0]}, {index[1]}\).*\[0, 1\]"):
        getattr(_model(), call)(X, y, **kw)


def test_binary_crossentropy_targets_checked_and_mse_targets_free():
    model = Sequential([Dense(1, activation="sigmoid", input_dim=3)], seed=0)
    model.compile(loss="binary_crossentropy", optimizer="sgd")
    with pytest.raises(ValueError, match=r"y holds 2 at index \(3, 0\)"):
        model.fit(X, np.array([0, 1, 0, 2]), verbose=0)
    reg = Sequential([Dense(1, activation="linear", input_dim=3)], seed=0)
    reg.compile(loss="mse", optimizer="sgd")
    # a regression target may be anything finite: zero weights and bias predict 0, loss = mean(y^2)
    reg.set_weights([np.zeros((3, 1)), np.zeros(1)])
    assert reg.evaluate(X, np.array([7.0, -3.0, 0.0, 1.0]), verbose=0) == pytest.approx((49 + 9 + 0 + 1) / 4)
