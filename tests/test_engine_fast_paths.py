"""The NumPy engine's speed paths give the same numbers as its plain paths.

* the in-place activation pairs of ``Dense`` (relu, tanh, sigmoid, softmax) against the zoo's
  function and VJP, bit for bit, with ReLU'(0) = 0 exactly;
* plain SGD's folded learning rate (the backward pass carries ``lr * gradient``) against
  ``w - lr * Sequential.gradients`` computed beforehand, and the paths that must not fold it
  (momentum, penalties) against the same formula;
* the bias gradient (a BLAS matrix-vector product) against ``np.sum``.
"""
from __future__ import annotations

import numpy as np
import pytest

from actlab.activations import get as get_activation
from actlab.engine import SGD, Dense, Sequential, regularizers


def _dense_step(act, dtype, z_values=None, seed=0):
    """Forward and backward of one Dense layer inside a training step (arrays reused)."""
    rng = np.random.default_rng(seed)
    layer = Dense(7, activation=act)
    layer.build(5, rng, np.dtype(dtype))
    x = rng.standard_normal((6, 5)).astype(dtype)
    if z_values is not None:                       # pick the pre-activations exactly
        layer.params["kernel"][...] = 0
        layer.params["bias"][...] = z_values
    g = rng.standard_normal((6, 7)).astype(dtype)
    layer._reuse = True
    try:
        y = layer.forward(x, training=True).copy()
        z = layer._z.copy()
        gin = layer.backward(g.copy()).copy()
        gw = layer.grads["kernel"].copy()
    finally:
        layer._reuse = False
    return layer, x, z, y, g, gin, gw


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid", "softmax"])
def test_fast_pairs_equal_the_zoo(act, dtype):
    layer, x, z, y, g, gin, gw = _dense_step(act, dtype)
    assert layer._fast is not None                 # the in-place pair was taken
    a = get_activation(act)
    np.testing.assert_array_equal(y, a(z))
    gz = a.vjp(z, a(z), g)
    np.testing.assert_allclose(gw, x.T @ gz, rtol=1e-5 if dtype == "float32" else 1e-12)
    np.testing.assert_allclose(gin, gz @ layer.params["kernel"].T, rtol=1e-5 if dtype == "float32" else 1e-12)


def test_fast_relu_derivative_at_zero_is_zero():
    z = np.array([0.0, -0.0, 1.0, -1.0, 0.0, 2.0, 0.0], np.float32)
    layer, x, zz, y, g, gin, gw = _dense_step("relu", "float32", z_values=z)
    np.testing.assert_array_equal(zz[0], z)
    gz = gw  # kernel is zero, so dW = x^T (g * relu'(z)): columns where z <= 0 must be exactly 0
    for j, v in enumerate(z):
        if v <= 0:
            assert np.all(gz[:, j] == 0), (j, v)
        else:
            np.testing.assert_allclose(gz[:, j], x.T @ g[:, j], rtol=1e-6)


def test_fast_path_only_for_default_parameters():
    assert Dense(3, activation="softmax")._fast is not None
    assert Dense(3, activation=get_activation("elu"))._fast is None
    assert Dense(3, activation=get_activation("leaky_relu").with_params(alpha=0.2))._fast is None
    assert Dense(3, activation=get_activation("softmax").with_params(axis=0))._fast is None
    assert Dense(3, activation=get_activation("softmax").with_params(axis=-1))._fast is not None


def _mlp(optimizer, dtype="float64", **dense_kw):
    model = Sequential([Dense(6, activation="tanh", input_dim=4, **dense_kw),
                        Dense(5, activation="relu", **dense_kw),
                        Dense(3, activation="softmax")], seed=3, dtype=dtype)
    model.compile(loss="categorical_crossentropy", optimizer=optimizer)
    return model


def _data(seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((8, 4))
    y = np.eye(3)[rng.integers(0, 3, 8)]
    return x, y


@pytest.mark.parametrize("decay", [0.0, 0.5])
def test_plain_sgd_step_is_w_minus_lr_gradient(decay):
    x, y = _data()
    model = _mlp(SGD(learning_rate=0.05, decay=decay))
    for step in range(3):
        rate = 0.05 / (1.0 + decay * step)
        before = model.get_weights()
        grads = [g for layer in model.gradients(x, y) for g in layer.values()]
        model.train_on_batch(x, y)
        for w0, g, w1 in zip(before, grads, model.get_weights()):
            np.testing.assert_allclose(w1, w0 - rate * g, rtol=1e-12, atol=1e-15)
    # after a plain SGD step the layers' grads hold the step itself (documented)
    g_now = [g for layer in model.gradients(x, y) for g in layer.values()]
    w0 = model.get_weights()
    model.train_on_batch(x, y)
    rate = 0.05 / (1.0 + decay * 3)
    steps = [layer.grads[k] for layer in model.layers for k in layer.params]
    for s, g, a, b in zip(steps, g_now, w0, model.get_weights()):
        np.testing.assert_allclose(s, rate * g, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(a - b, s, rtol=1e-9, atol=1e-15)


def test_sgd_with_penalty_adds_the_penalty_gradient():
    x, y = _data()
    reg = regularizers.l2(0.1)
    model = _mlp(SGD(learning_rate=0.05), kernel_regularizer=reg)
    before = model.get_weights()
    grads = [g for layer in model.gradients(x, y) for g in layer.values()]   # data loss + penalty
    # the oracle: the data loss's gradient plus 2 * 0.1 * W on the regularised kernels
    plain = _mlp(SGD(learning_rate=0.05))
    plain.set_weights(before)
    data_grads = [g for layer in plain.gradients(x, y) for g in layer.values()]
    for i, (g, d) in enumerate(zip(grads, data_grads)):
        expected = d + 0.2 * before[i] if i in (0, 2) else d   # kernels of the two hidden layers
        np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-14)
    model.train_on_batch(x, y)
    for w0, g, w1 in zip(before, grads, model.get_weights()):
        np.testing.assert_allclose(w1, w0 - 0.05 * g, rtol=1e-12, atol=1e-15)


def test_sgd_momentum_is_not_folded():
    x, y = _data()
    model = _mlp(SGD(learning_rate=0.05, momentum=0.9))
    before = model.get_weights()
    g1 = [g for layer in model.gradients(x, y) for g in layer.values()]
    model.train_on_batch(x, y)
    mid = model.get_weights()
    for w0, g, w1 in zip(before, g1, mid):        # v = -lr g; w += v
        np.testing.assert_allclose(w1, w0 - 0.05 * g, rtol=1e-12, atol=1e-15)
    g2 = [g for layer in model.gradients(x, y) for g in layer.values()]
    model.train_on_batch(x, y)
    for w1, a, b, w2 in zip(mid, g1, g2, model.get_weights()):   # v = 0.9 v - lr g
        np.testing.assert_allclose(w2, w1 + 0.9 * (-0.05 * a) - 0.05 * b, rtol=1e-12, atol=1e-15)


def test_float32_training_matches_float64_oracle():
    """A few epochs in float32 (every fast path) stay within float32 tolerance of float64."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4))
    y = np.eye(3)[rng.integers(0, 3, 64)]
    m32, m64 = _mlp(SGD(learning_rate=0.1), "float32"), _mlp(SGD(learning_rate=0.1), "float64")
    m64.set_weights(m32.get_weights())
    h32 = m32.fit(x, y, epochs=3, batch_size=16, verbose=0).history["loss"]
    h64 = m64.fit(x, y, epochs=3, batch_size=16, verbose=0).history["loss"]
    np.testing.assert_allclose(h32, h64, rtol=1e-5)
    for a, b in zip(m32.get_weights(), m64.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_bias_gradient_equals_sum():
    layer, x, z, y, g, gin, gw = _dense_step("tanh", "float32")
    gz = g * (1 - y * y)
    np.testing.assert_allclose(layer.grads["bias"], gz.sum(axis=0, dtype=np.float64), rtol=1e-5, atol=1e-6)
