"""The NumPy engine's speed paths (``actlab.engine.kernels``) give the same numbers as its plain paths.

* the in-place activation pairs of ``Dense`` (relu, tanh, sigmoid, softmax) against the zoo's
  function and VJP, bit for bit, with ReLU'(0) = 0 exactly (float32 tanh with numba in use:
  within one ulp of the float64 tanh instead, see ``_assert_activation_output``);
* ``FastDenseOps`` (arrays reused within a step) against ``DenseOps`` (the reference), in
  float32 and float64, and against a float64 oracle;
* a plain SGD step against ``w - lr * Sequential.gradients`` computed beforehand, with every
  layer's ``grads`` holding the gradient afterwards (not the step), and momentum and penalties
  against the same formulas;
* the bias gradient (a BLAS matrix-vector product) against ``np.sum``.
"""
from __future__ import annotations

import numpy as np
import pytest

from actlab.activations import get as get_activation
from actlab.engine import SGD, Dense, Sequential, kernels, regularizers


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
    with kernels.reusing_buffers([layer]):
        y = layer.forward(x, training=True).copy()
        assert layer.ops is layer.fast_ops
        z = layer.z.copy()
        gin = layer.backward(g.copy()).copy()
        gw = layer.grads["kernel"].copy()
    return layer, x, z, y, g, gin, gw


def _assert_activation_output(act, z, y, expected):
    """``y`` (a training step's output) is ``expected`` (the zoo's, outside a step) bit for bit,
    except float32 tanh while numba's kernels are in use: its kernel is within one ulp of the exact
    tanh (0.98 at most), where NumPy's float32 tanh is up to 1.36 ulp off; so within 1 ulp of the
    float64 tanh rounded, and within 2 ulp of NumPy's (``tests/test_engine_numba.py`` holds the
    kernel to 0.985 ulp of float64 over a dense set). Likewise numba's float32 softmax (float64's
    exponential, sum and quotient, rounded): within 1 ulp of the float64 softmax of the float32
    differences ``z - max`` (NumPy's float32 softmax was up to 3 ulp off)."""
    if act == "tanh" and y.dtype == np.float32 and kernels.ELEMENTWISE.module is not None:
        np.testing.assert_array_max_ulp(y, np.tanh(z.astype(np.float64)).astype(np.float32), maxulp=1)
        np.testing.assert_array_max_ulp(y, expected, maxulp=2)
    elif act == "softmax" and y.dtype == np.float32 and kernels.ELEMENTWISE.module is not None:
        d = (z - z.max(axis=-1, keepdims=True)).astype(np.float64)
        exact = np.exp(d) / np.exp(d).sum(axis=-1, keepdims=True)
        np.testing.assert_array_max_ulp(y, exact.astype(np.float32), maxulp=1)
    else:
        np.testing.assert_array_equal(y, expected)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid", "softmax"])
def test_fast_pairs_equal_the_zoo(act, dtype):
    layer, x, z, y, g, gin, gw = _dense_step(act, dtype)
    assert layer.fast_ops.kernel is not None       # the in-place pair was taken
    a = get_activation(act)
    _assert_activation_output(act, z, y, a(z))
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
    k = kernels.activation_kernel
    assert k(get_activation("softmax")) is not None
    assert k(get_activation("elu")) is None
    assert k(get_activation("leaky_relu").with_params(alpha=0.2)) is None
    assert k(get_activation("softmax").with_params(axis=0)) is None
    assert k(get_activation("softmax").with_params(axis=-1)) is not None


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


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_grads_hold_the_gradient_after_a_plain_sgd_step(dtype):
    """After ``train_on_batch`` with plain SGD, ``layer.grads`` is dL/dW at the weights before the
    step (the old engine folded the learning rate in and left lr * dL/dW there)."""
    x, y = _data()
    model = _mlp(SGD(learning_rate=0.05), dtype)
    expected = [g for layer in model.gradients(x, y) for g in layer.values()]
    w0 = model.get_weights()
    model.train_on_batch(x, y)
    got = [layer.grads[k] for layer in model.layers for k in layer.params]
    tol = {"rtol": 1e-12, "atol": 1e-15} if dtype == "float64" else {"rtol": 2e-5, "atol": 1e-6}
    for g, e, a, b in zip(got, expected, w0, model.get_weights()):
        np.testing.assert_allclose(g, e, **tol)
        np.testing.assert_allclose(a - b, 0.05 * e, rtol=1e-9 if dtype == "float64" else 1e-3, atol=tol["atol"])


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


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid", "softmax", "elu", "linear", "gelu"])
def test_fast_dense_ops_equal_the_reference(act, dtype):
    """One forward and backward of a Dense layer through FastDenseOps (in a step) and DenseOps."""
    rng = np.random.default_rng(5)
    layer = Dense(7, activation=act)
    layer.build(5, rng, np.dtype(dtype))
    x = rng.standard_normal((6, 5)).astype(dtype)
    g = rng.standard_normal((6, 7)).astype(dtype)
    y_ref = layer.forward(x)
    assert layer.ops is layer.reference_ops
    gin_ref = layer.backward(g.copy())
    grads_ref = {k: v.copy() for k, v in layer.grads.items()}
    for _ in range(2):   # twice: the reused arrays give the same numbers again
        with kernels.reusing_buffers([layer]):
            y = layer.forward(x, training=True)
            assert layer.ops is layer.fast_ops
            _assert_activation_output(act, layer.z, y, y_ref)
            gin = layer.backward(g.copy())
        tol = 1e-5 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(gin, gin_ref, rtol=tol, atol=tol)
        for k in grads_ref:
            np.testing.assert_allclose(layer.grads[k], grads_ref[k], rtol=tol, atol=tol)
    # and the float64 oracle of the same layer: z = x W + b, gz = f'(z) g (VJP), dW = x^T gz
    a = get_activation(act)
    W, b = layer.params["kernel"].astype(np.float64), layer.params["bias"].astype(np.float64)
    z64 = x.astype(np.float64) @ W + b
    gz64 = a.vjp(z64, a(z64), g.astype(np.float64))
    tol = 2e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(layer.grads["kernel"], x.astype(np.float64).T @ gz64, rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.grads["bias"], gz64.sum(axis=0), rtol=tol, atol=tol)
    np.testing.assert_allclose(gin, gz64 @ W.T, rtol=tol, atol=tol)


def test_outside_a_step_dense_returns_fresh_arrays():
    rng = np.random.default_rng(0)
    layer = Dense(4, activation="tanh")
    layer.build(3, rng, np.dtype("float32"))
    x = rng.standard_normal((2, 3)).astype("float32")
    y1 = layer.forward(x)
    y2 = layer.forward(2 * x)
    assert y1 is not y2 and not np.shares_memory(y1, y2)
    with kernels.reusing_buffers([layer]):
        a = layer.forward(x, training=True)
        b = layer.forward(2 * x, training=True)
    assert a is b                                   # inside a step: the same array, rewritten
    assert layer.reuse_buffers is False


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sgd_update_kernel_is_w_minus_rate_g(dtype):
    rng = np.random.default_rng(2)
    w = rng.standard_normal((5, 3)).astype(dtype)
    g = rng.standard_normal((5, 3)).astype(dtype)
    expected = w - np.asarray(0.03, dtype) * g      # the same rounding: one product, one difference
    work = np.empty_like(w)
    kernels.sgd_update(w, g, 0.03, work)
    np.testing.assert_array_equal(w, expected)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop", "momentum"])
def test_flat_parameter_update_equals_one_update_per_array(optimizer):
    """train_step hands the optimizer one flat array of all parameters (the layers' arrays are
    views into it); the result equals the same rule applied array by array."""
    from actlab.engine import optimizers

    def make():
        return SGD(learning_rate=0.05, momentum=0.9) if optimizer == "momentum" else optimizers.get(optimizer)

    x, y = _data()
    model, per_array = _mlp(make()), make()
    weights = model.get_weights()
    for _ in range(3):
        grads = [g for layer in model.gradients(x, y) for g in layer.values()]
        per_array.apply(weights, grads)
        model.train_on_batch(x, y)
        for a, b in zip(model.get_weights(), weights):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    kernel = model.layers[0].params["kernel"]
    assert kernel.base is not None and np.shares_memory(kernel, model.layers[1].params["kernel"].base)


def test_a_copied_model_trains_its_own_parameters():
    import copy

    x, y = _data()
    model = _mlp(SGD(learning_rate=0.05))
    model.train_on_batch(x, y)                     # the parameters are views into one array now
    clone = copy.deepcopy(model)
    before = clone.get_weights()
    grads = [g for layer in clone.gradients(x, y) for g in layer.values()]
    clone.train_on_batch(x, y)
    for w0, g, w1 in zip(before, grads, clone.get_weights()):
        np.testing.assert_allclose(w1, w0 - 0.05 * g, rtol=1e-12, atol=1e-15)
    for a, b in zip(model.get_weights(), before):   # the original is untouched
        np.testing.assert_array_equal(a, b)
