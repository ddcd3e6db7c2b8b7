"""The NumPy engine against independent oracles.

* whole-network gradients vs central differences of the loss in float64 (every parameter);
* one SGD step worked out by hand; momentum, Nesterov, Adam and RMSprop vs their formulas;
* determinism (bitwise), the paired design's identical initial weights;
* RReLU's training/inference behaviour, initializer statistics, save/load, config round-trip.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from actlab.activations import get as get_activation
from actlab.engine import (ELU, SGD, Activation, Adam, Dense, Dropout, LeakyReLU, Maxout, PReLU, RMSprop,
                           RReLU, Sequential, Softmax, build_mlp, initializers, regularizers)

# ----------------------------------------------------------------------------------------------
# Whole-network gradient check
# ----------------------------------------------------------------------------------------------
EPS = 1e-6


def numerical_gradients(model, x, y):
    """Central differences of ``model.loss_value`` for every parameter of every layer."""
    out = []
    for layer in model.layers:
        grads = {}
        for name, p in layer.params.items():
            num = np.zeros_like(p)
            for idx in np.ndindex(p.shape):
                old = p[idx]
                p[idx] = old + EPS
                up = model.loss_value(x, y)
                p[idx] = old - EPS
                down = model.loss_value(x, y)
                p[idx] = old
                num[idx] = (up - down) / (2 * EPS)
            grads[name] = num
        out.append(grads)
    return out


def assert_gradients_match(model, x, y):
    analytic = model.gradients(x, y)
    numeric = numerical_gradients(model, x, y)
    checked = 0
    for i, (a, n) in enumerate(zip(analytic, numeric)):
        assert a.keys() == n.keys()
        for name in a:
            np.testing.assert_allclose(a[name], n[name], rtol=1e-5, atol=1e-8,
                                       err_msg=f"layer {i} ({type(model.layers[i]).__name__}) {name}")
            # a gradient that is zero everywhere would make the check vacuous
            assert np.abs(n[name]).max() > 1e-6, f"layer {i} {name}: numerical gradient is all zero"
            checked += 1
    return checked


def _data(n=7, d=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    labels = rng.integers(0, k, n)
    return x, np.eye(k)[labels]


HIDDEN = ["tanh", "sigmoid", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish", "softplus"]
REG = dict(kernel_regularizer=regularizers.l1_l2(l1=0.01, l2=0.02),
           bias_regularizer=regularizers.l2(0.03), bias_initializer="random_normal")


@pytest.mark.parametrize("act", HIDDEN)
def test_gradient_check_softmax_crossentropy_fused(act):
    x, y = _data()
    model = Sequential([Dense(6, activation=act, input_dim=4, **REG), Dense(5, activation=act, **REG),
                        Dense(3, activation="softmax", **REG)], seed=3, dtype="float64")
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    assert model.uses_fused_delta()
    assert assert_gradients_match(model, x, y) == 6


def test_gradient_check_parametric_layers():
    """PReLU (non-zero alpha so its slope matters), RReLU (inference), Maxout, ELU/LeakyReLU layers."""
    x, y = _data(n=9)
    x[:, :2] *= 3.0
    model = Sequential([
        Dense(6, input_dim=4, **REG), PReLU(alpha_initializer=0.25, alpha_regularizer=regularizers.l2(0.1)),
        Dense(8, **REG), Maxout(2),
        Dense(5), RReLU(lower=0.1, upper=0.3),
        Dense(5), LeakyReLU(alpha=0.2),
        Dense(4), ELU(alpha=0.7),
        Dense(3), Activation("softmax"),
    ], seed=11, dtype="float64")
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    assert model.uses_fused_delta()  # Activation('softmax') as last layer is fused too
    assert assert_gradients_match(model, x, y) == 13   # 6 kernels, 6 biases, PReLU's alpha
    assert np.all(model.layers[1].params["alpha"] == 0.25)


def test_gradient_check_prelu_alpha_random_init():
    x, y = _data(n=10)
    model = Sequential([Dense(6, input_dim=4), PReLU(alpha_initializer="random_normal"),
                        Dense(3, activation="softmax")], seed=2, dtype="float64")
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    assert_gradients_match(model, x, y)


def test_gradient_check_sigmoid_binary_crossentropy_fused():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 4))
    y = (rng.random((8, 3)) < 0.5).astype(float)  # multi-label: the mean runs over n * d
    model = Sequential([Dense(5, activation="tanh", input_dim=4, **REG), Dense(3, activation="sigmoid")],
                       seed=4, dtype="float64")
    model.compile(loss="binary_crossentropy", optimizer="sgd")
    assert model.uses_fused_delta()
    assert_gradients_match(model, x, y)


def test_gradient_check_linear_mse():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(8, 4))
    y = rng.normal(size=(8, 2))
    model = Sequential([Dense(5, activation="elu", input_dim=4, **REG), Dense(2)], seed=5, dtype="float64")
    model.compile(loss="mse", optimizer="sgd")
    assert_gradients_match(model, x, y)


@pytest.mark.parametrize("out_act,loss", [("softmax", "mse"), ("tanh", "mse"), ("sigmoid", "mse"),
                                          ("softmax", "binary_crossentropy")])
def test_gradient_check_non_fused(out_act, loss):
    x, y = _data(n=6)
    model = Sequential([Dense(5, activation="relu", input_dim=4, **REG), Dense(3, activation=out_act)],
                       seed=6, dtype="float64")
    model.compile(loss=loss, optimizer="sgd")
    assert not model.uses_fused_delta()  # the gradient goes through the loss gradient and the activation's VJP
    assert_gradients_match(model, x, y)


def test_gradient_check_build_mlp_rrelu_and_maxout():
    x, y = _data(n=6)
    for act in ("rrelu", "maxout", "prelu", {"name": "gelu", "approximate": True}):
        model = build_mlp(4, "5x2", act, 3, seed=1, dtype="float64")
        model.compile(loss="categorical_crossentropy", optimizer="sgd")
        assert_gradients_match(model, x, y)


# ----------------------------------------------------------------------------------------------
# RReLU: random slope per unit per step in training, the mean slope at inference
# ----------------------------------------------------------------------------------------------
def test_rrelu_training_vs_inference():
    lower, upper = 0.1, 0.3
    model = Sequential([RReLU(lower=lower, upper=upper, input_dim=50)], seed=0, dtype="float64")
    model.build()
    x = -np.ones((4, 50))
    x[1] *= 2.0
    y1 = model.forward(x, training=True)
    slopes1 = y1[0] / x[0]
    # one slope per unit, shared by the batch rows
    np.testing.assert_allclose(y1[1], slopes1 * x[1])
    assert np.all((slopes1 >= lower) & (slopes1 <= upper))
    assert np.std(slopes1) > 0.02                   # they do differ between units
    slopes2 = model.forward(x, training=True)[0] / x[0]
    assert np.all((slopes2 >= lower) & (slopes2 <= upper))
    assert not np.allclose(slopes1, slopes2)          # and change from one step to the next
    # the backward pass uses the slopes drawn in the forward pass
    g = np.ones_like(x)
    np.testing.assert_allclose(model.layers[0].backward(g)[0], slopes2)
    # inference: deterministic, the mean slope
    ye = model.forward(x, training=False)
    np.testing.assert_allclose(ye, (lower + upper) / 2 * x)
    np.testing.assert_array_equal(ye, model.forward(x, training=False))
    # positives pass unchanged in both modes
    xp = np.abs(x)
    np.testing.assert_array_equal(model.forward(xp, training=True), xp)
    # the mean of many training slopes approaches the inference slope
    many = np.concatenate([model.forward(x, training=True)[0] / x[0] for _ in range(100)])
    assert abs(many.mean() - 0.2) < 0.005


# ----------------------------------------------------------------------------------------------
# One SGD step by hand
# ----------------------------------------------------------------------------------------------
def _tiny(optimizer):
    model = Sequential([Dense(2, activation="relu", input_dim=2), Dense(2, activation="softmax")],
                       seed=0, dtype="float64")
    model.compile(loss="categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    model.set_weights([np.array([[0.1, 0.2], [0.3, -0.4]]), np.array([0.0, 0.1]),
                       np.array([[0.5, -0.5], [0.2, 0.3]]), np.array([0.0, 0.0])])
    return model


def test_one_sgd_step_by_hand():
    model = _tiny(SGD(learning_rate=0.1))
    x = np.array([[1.0, 2.0]])
    y = np.array([[1.0, 0.0]])
    # forward: z1 = x W1 + b1 = [1*0.1 + 2*0.3 + 0, 1*0.2 + 2*(-0.4) + 0.1] = [0.7, -0.5]
    #          h  = relu(z1) = [0.7, 0]
    #          z2 = h W2 + b2 = [0.7*0.5, 0.7*(-0.5)] = [0.35, -0.35]
    #          p  = softmax(z2) = [1/(1+e^-0.7), 1/(1+e^0.7)] = [0.6681877721681662, 0.3318122278318338]
    # loss   = -log(p0) = 0.40318604888545784
    # delta  = p - y = [-0.3318122278318338, 0.3318122278318338]          (batch of 1)
    # dW2    = h^T delta = [[0.7 * -0.33181.., 0.7 * 0.33181..], [0, 0]] = [[-0.2322685594822837, +..], [0, 0]]
    # db2    = delta
    # dh     = delta W2^T = [-0.33181*0.5 + 0.33181*(-0.5), -0.33181*0.2 + 0.33181*0.3] = [-0.3318122278, 0.0331812228]
    # dz1    = dh * relu'(z1) = [-0.3318122278318338, 0]        (z1[1] < 0)
    # dW1    = x^T dz1 = [[-0.3318122278318338, 0], [-0.6636244556636677, 0]];  db1 = dz1
    # update w -= 0.1 * dw:
    #   W1 = [[0.1331812227831834, 0.2], [0.36636244556636677, -0.4]],  b1 = [0.03318122278318338, 0.1]
    #   W2 = [[0.5232268559482284, -0.5232268559482284], [0.2, 0.3]]
    #   b2 = [0.03318122278318338, -0.03318122278318338]
    loss, acc = model.train_on_batch(x, y)
    assert loss == pytest.approx(0.40318604888545784, rel=1e-12)
    assert acc == 1.0
    w1, b1, w2, b2 = model.get_weights()
    np.testing.assert_allclose(w1, [[0.1331812227831834, 0.2], [0.36636244556636677, -0.4]], rtol=1e-12)
    np.testing.assert_allclose(b1, [0.03318122278318338, 0.1], rtol=1e-12)
    np.testing.assert_allclose(w2, [[0.5232268559482284, -0.5232268559482284], [0.2, 0.3]], rtol=1e-12)
    np.testing.assert_allclose(b2, [0.03318122278318338, -0.03318122278318338], rtol=1e-12)


def test_sgd_step_is_mean_over_batch():
    """The same example twice gives the same step as once (the loss is a batch mean, as Keras)."""
    x = np.array([[1.0, 2.0]])
    y = np.array([[1.0, 0.0]])
    once, twice = _tiny(SGD(learning_rate=0.1)), _tiny(SGD(learning_rate=0.1))
    once.train_on_batch(x, y)
    twice.train_on_batch(np.repeat(x, 2, axis=0), np.repeat(y, 2, axis=0))
    for a, b in zip(once.get_weights(), twice.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12)


# ----------------------------------------------------------------------------------------------
# Optimizers vs their formulas (Keras 2 / tf.keras), two steps each
# ----------------------------------------------------------------------------------------------
G1 = np.array([0.5, -1.0])
G2 = np.array([0.25, 0.5])


def _two_steps(opt):
    p = np.array([1.0, -2.0])
    opt.apply([p], [G1.copy()])
    after1 = p.copy()
    opt.apply([p], [G2.copy()])
    return after1, p


def test_sgd_plain_two_steps():
    a1, a2 = _two_steps(SGD(lr=0.1))
    np.testing.assert_allclose(a1, [0.95, -1.9])
    np.testing.assert_allclose(a2, [0.925, -1.95])


def test_sgd_momentum_two_steps():
    # Keras: v = m v - lr g ; w = w + v         (m = 0.9, lr = 0.1)
    # step 1: v = -0.1*[0.5, -1] = [-0.05, 0.1]                  -> w = [0.95, -1.9]
    # step 2: v = 0.9*[-0.05, 0.1] - 0.1*[0.25, 0.5] = [-0.07, 0.04] -> w = [0.88, -1.86]
    a1, a2 = _two_steps(SGD(learning_rate=0.1, momentum=0.9))
    np.testing.assert_allclose(a1, [0.95, -1.9])
    np.testing.assert_allclose(a2, [0.88, -1.86])


def test_sgd_nesterov_two_steps():
    # Keras: v = m v - lr g ; w = w + m v - lr g
    # step 1: v = [-0.05, 0.1]; w = [1, -2] + 0.9*[-0.05, 0.1] - [0.05, -0.1] = [0.905, -1.81]
    # step 2: v = [-0.07, 0.04]; w = [0.905, -1.81] + 0.9*[-0.07, 0.04] - [0.025, 0.05] = [0.817, -1.824]
    a1, a2 = _two_steps(SGD(learning_rate=0.1, momentum=0.9, nesterov=True))
    np.testing.assert_allclose(a1, [0.905, -1.81])
    np.testing.assert_allclose(a2, [0.817, -1.824])


def test_sgd_momentum_matches_torch():
    torch = pytest.importorskip("torch")
    # torch: b = m b + g ; w -= lr b   (equal to Keras' form for a constant lr, v = -lr b)
    for nesterov in (False, True):
        w = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1, momentum=0.9, nesterov=nesterov)
        for g in (G1, G2):
            w.grad = torch.tensor(g)
            opt.step()
        _, ours = _two_steps(SGD(learning_rate=0.1, momentum=0.9, nesterov=nesterov))
        np.testing.assert_allclose(ours, w.detach().numpy(), rtol=1e-12)


def test_adam_two_steps():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-7
    w = np.array([1.0, -2.0])
    m = np.zeros(2)
    v = np.zeros(2)
    expected = []
    for t, g in enumerate((G1, G2), start=1):
        # tf.keras: m = b1 m + (1-b1) g ; v = b2 v + (1-b2) g^2 ;
        #           lr_t = lr sqrt(1 - b2^t) / (1 - b1^t) ; w -= lr_t m / (sqrt(v) + eps)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        lr_t = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        w = w - lr_t * m / (np.sqrt(v) + eps)
        expected.append(w)
    # the first Adam step moves each weight by about lr against the gradient's sign
    np.testing.assert_allclose(expected[0], [0.9, -1.9], atol=1e-5)
    a1, a2 = _two_steps(Adam(learning_rate=lr))
    np.testing.assert_allclose(a1, expected[0], rtol=1e-12)
    np.testing.assert_allclose(a2, expected[1], rtol=1e-12)


def test_rmsprop_two_steps():
    lr, rho, eps = 0.01, 0.9, 1e-7
    w = np.array([1.0, -2.0])
    v = np.zeros(2)
    expected = []
    for g in (G1, G2):
        v = rho * v + (1 - rho) * g * g          # v1 = 0.1 g1^2
        w = w - lr * g / (np.sqrt(v) + eps)      # step 1: lr * g / (sqrt(0.1) |g|) = lr / sqrt(0.1) * sign(g)
        expected.append(w)
    np.testing.assert_allclose(expected[0], [1 - 0.01 / math.sqrt(0.1), -2 + 0.01 / math.sqrt(0.1)], rtol=1e-6)
    a1, a2 = _two_steps(RMSprop(learning_rate=lr))
    np.testing.assert_allclose(a1, expected[0], rtol=1e-12)
    np.testing.assert_allclose(a2, expected[1], rtol=1e-12)


def test_optimizer_lr_and_learning_rate_are_the_same():
    assert SGD(lr=0.05).learning_rate == SGD(learning_rate=0.05).learning_rate == 0.05
    assert SGD().learning_rate == 0.01 and Adam().learning_rate == 0.001 and RMSprop().learning_rate == 0.001


def test_train_on_batch_uses_the_compiled_optimizer():
    """A momentum step through the model equals the formula with the model's own gradients."""
    x = np.array([[1.0, 2.0], [0.5, -1.0]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    model = _tiny(SGD(learning_rate=0.1, momentum=0.9))
    w0 = model.get_weights()
    g1 = [g for layer in model.gradients(x, y) for g in layer.values()]
    model.train_on_batch(x, y)
    w1 = model.get_weights()
    g2 = [g for layer in model.gradients(x, y) for g in layer.values()]
    model.train_on_batch(x, y)
    for w_0, a, b, w_2 in zip(w0, g1, g2, model.get_weights()):
        v1 = -0.1 * a
        v2 = 0.9 * v1 - 0.1 * b
        np.testing.assert_allclose(w_2, w_0 + v1 + v2, rtol=1e-12, atol=1e-15)
    assert not all(np.array_equal(a, b) for a, b in zip(w0, w1))


# ----------------------------------------------------------------------------------------------
# Determinism and the paired design
# ----------------------------------------------------------------------------------------------
def _fit(seed, act="tanh", extra=()):
    rng = np.random.default_rng(100)
    x = rng.normal(size=(120, 6)).astype(np.float32)
    y = np.eye(3)[rng.integers(0, 3, 120)]
    model = Sequential([Dense(8, activation=act, input_dim=6), *extra, Dense(3, activation="softmax")], seed=seed)
    model.compile(loss="categorical_crossentropy", optimizer=SGD(0.1, momentum=0.5), metrics=["accuracy"])
    hist = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.2, verbose=0)
    return model, hist


def test_same_seed_same_weights_and_history_bit_for_bit():
    extra = (RReLU(), Dropout(0.3))   # stochastic layers are seeded too
    m1, h1 = _fit(7, extra=extra)
    m2, h2 = _fit(7, extra=(RReLU(), Dropout(0.3)))
    assert h1.history.keys() == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert h1.history == h2.history   # exact float equality
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        assert np.array_equal(a, b)


def test_different_seed_differs():
    m1, h1 = _fit(7)
    m2, h2 = _fit(8)
    assert h1.history["loss"] != h2.history["loss"]
    assert not np.array_equal(m1.get_weights()[0], m2.get_weights()[0])


def test_seed_none_is_recorded_and_repeatable():
    a = Sequential([Dense(4, input_dim=3)])
    b = Sequential([Dense(4, input_dim=3)], seed=a.seed)
    a.build(), b.build()
    assert np.array_equal(a.get_weights()[0], b.get_weights()[0])


def test_same_seed_different_activations_start_identical():
    ref = build_mlp(12, "10x3", "relu", 4, seed=9)
    ref_kernels = [layer.params["kernel"] for layer in ref.layers if "kernel" in layer.params]
    for act in ("tanh", "sigmoid", "elu", "leaky_relu", "prelu", "rrelu", "gelu"):
        other = build_mlp(12, "10x3", act, 4, seed=9)
        kernels = [layer.params["kernel"] for layer in other.layers if "kernel" in layer.params]
        assert len(kernels) == len(ref_kernels) == 4
        for a, b in zip(ref_kernels, kernels):
            assert np.array_equal(a, b), act
    # Dense(activation=...) and Dense + Activation layer also start the same
    fused = Sequential([Dense(5, activation="tanh", input_dim=3), Dense(2, activation="softmax")], seed=1)
    split = Sequential([Dense(5, input_dim=3), Activation("tanh"), Dense(2), Softmax()], seed=1)
    fused.build(), split.build()
    for a, b in zip(fused.get_weights(), split.get_weights()):
        assert np.array_equal(a, b)
    # a different seed gives different weights
    assert not np.array_equal(build_mlp(12, "10x3", "relu", 4, seed=10).get_weights()[0], ref_kernels[0])


# ----------------------------------------------------------------------------------------------
# Saving, config, sparse labels, validation_split
# ----------------------------------------------------------------------------------------------
def _trained_mixed_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5))
    y = np.eye(3)[rng.integers(0, 3, 40)]
    model = Sequential([Dense(8, input_dim=5, kernel_regularizer=regularizers.l2(0.01)),
                        PReLU(alpha_initializer=0.1), Dense(8, activation=get_activation("elu", alpha=0.5)),
                        Dense(8), Maxout(2), LeakyReLU(alpha=0.2), Dropout(0.1), Dense(6), RReLU(0.05, 0.2),
                        Dense(3, activation="softmax")], seed=3)
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    return model, x


def test_save_and_load_weights_roundtrip(tmp_path):
    model, x = _trained_mixed_model()
    path = tmp_path / "w.npz"
    model.save_weights(str(path))
    with np.load(path, allow_pickle=False) as data:    # no pickle inside
        stored = [data[k] for k in sorted(data.files) if k.startswith("w")]
    for a, b in zip(stored, model.get_weights()):
        assert np.array_equal(a, b)
    fresh = Sequential.from_config(model.get_config())
    assert not np.array_equal(fresh.get_weights()[0], model.get_weights()[0])
    fresh.load_weights(str(path))
    np.testing.assert_array_equal(fresh.predict(x), model.predict(x))
    # an unbuilt model learns its width from the file
    unbuilt = Sequential.from_config({**model.get_config(), "input_dim": None})
    unbuilt.layers[0].input_dim = None
    unbuilt.load_weights(str(path))
    np.testing.assert_array_equal(unbuilt.predict(x), model.predict(x))


def test_config_roundtrip_same_predictions():
    model, x = _trained_mixed_model()
    cfg = json.loads(json.dumps(model.get_config()))   # really JSON
    clone = Sequential.from_config(cfg)
    assert [type(a) for a in clone.layers] == [type(b) for b in model.layers]
    assert clone.layers[1].params["alpha"].shape == (8,)
    assert clone.layers[5].activation.params["alpha"] == 0.2
    assert clone.layers[2].activation.params["alpha"] == 0.5
    assert (clone.layers[8].lower, clone.layers[8].upper) == (0.05, 0.2)
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone.predict(x), model.predict(x))
    # the same seed in the config gives the same initial weights as a fresh model
    again = Sequential.from_config(cfg)
    for a, b in zip(again.get_weights(), clone.get_weights()):
        assert a.shape == b.shape
    assert np.array_equal(Sequential.from_config(cfg).get_weights()[0], again.get_weights()[0])


def test_sparse_categorical_crossentropy_equals_one_hot():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(60, 4))
    labels = rng.integers(0, 3, 60)
    runs = []
    for loss, y in (("categorical_crossentropy", np.eye(3)[labels]), ("sparse_categorical_crossentropy", labels)):
        model = Sequential([Dense(6, activation="relu", input_dim=4), Dense(3, activation="softmax")], seed=2)
        model.compile(loss=loss, optimizer=SGD(0.1), metrics=["accuracy"])
        hist = model.fit(x, y, epochs=3, batch_size=10, verbose=0)
        runs.append((hist.history, model.get_weights(), model.evaluate(x, y, verbose=0)))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        assert np.array_equal(a, b)
    assert runs[0][2] == runs[1][2]


def test_validation_split_takes_the_last_fraction():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(100, 4))
    y = np.eye(2)[(x[:, 0] > 0).astype(int)]
    x[80:] *= 5.0          # the last 20% is different, so a wrong split shows in val_loss

    def model():
        m = Sequential([Dense(5, activation="tanh", input_dim=4), Dense(2, activation="softmax")], seed=1)
        m.compile(loss="categorical_crossentropy", optimizer=SGD(0.05), metrics=["accuracy"])
        return m

    split = model()
    hist = split.fit(x, y, epochs=2, batch_size=10, validation_split=0.2, verbose=0)
    manual = model()
    manual.fit(x[:80], y[:80], epochs=2, batch_size=10, verbose=0)
    # training saw exactly the first 80 samples, in the same order
    for a, b in zip(split.get_weights(), manual.get_weights()):
        assert np.array_equal(a, b)
    val_loss, val_acc = manual.evaluate(x[80:], y[80:], verbose=0)
    assert hist.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-6)
    assert hist.history["val_accuracy"][-1] == pytest.approx(val_acc)
    first_loss, _ = manual.evaluate(x[:20], y[:20], verbose=0)
    assert abs(first_loss - val_loss) > 1e-3


def test_evaluate_matches_independent_computation():
    model, x = _trained_mixed_model()
    y = np.eye(3)[np.arange(len(x)) % 3]
    loss, acc = model.evaluate(x, y, verbose=0)
    p = model.predict(x)
    ce = -np.mean(np.log(np.clip(np.sum(p * y, axis=1), 1e-7, 1)))
    penalty = 0.01 * float(np.sum(model.layers[0].params["kernel"].astype(np.float64) ** 2))
    assert loss == pytest.approx(ce + penalty, rel=1e-5)
    assert acc == pytest.approx(np.mean(np.argmax(p, 1) == np.argmax(y, 1)))


def test_history_accuracy_is_running_mean_over_batches():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(30, 3))
    y = np.eye(2)[rng.integers(0, 2, 30)]
    model = Sequential([Dense(2, activation="softmax", input_dim=3)], seed=0, dtype="float64")
    model.compile(loss="categorical_crossentropy", optimizer=SGD(0.1), metrics=["accuracy"])
    clone = Sequential.from_config(model.get_config())
    clone.compile(loss="categorical_crossentropy", optimizer=SGD(0.1), metrics=["accuracy"])
    hist = model.fit(x, y, epochs=1, batch_size=7, shuffle=False, verbose=0)
    losses, correct = [], 0
    for s in range(0, 30, 7):
        loss, acc = clone.train_on_batch(x[s:s + 7], y[s:s + 7])
        losses.append(loss * len(x[s:s + 7]))
        correct += round(acc * len(x[s:s + 7]))
    assert hist.history["loss"][0] == pytest.approx(sum(losses) / 30, rel=1e-12)
    assert hist.history["accuracy"][0] == pytest.approx(correct / 30)


# ----------------------------------------------------------------------------------------------
# Initializers
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,var", [
    ("glorot_uniform", lambda fi, fo: 2.0 / (fi + fo)),
    ("glorot_normal", lambda fi, fo: 2.0 / (fi + fo)),
    ("he_normal", lambda fi, fo: 2.0 / fi),
    ("he_uniform", lambda fi, fo: 2.0 / fi),
    ("lecun_normal", lambda fi, fo: 1.0 / fi),
    ("lecun_uniform", lambda fi, fo: 1.0 / fi),
])
def test_initializer_variance(name, var):
    fan_in, fan_out = 400, 300
    w = initializers.get(name)((fan_in, fan_out), np.random.default_rng(0), np.float64)
    n = w.size
    # the sample variance of n draws has relative standard error <= sqrt(2/n) (~0.4% here)
    assert w.var() == pytest.approx(var(fan_in, fan_out), rel=5 * math.sqrt(2 / n))
    assert abs(w.mean()) < 5 * math.sqrt(var(fan_in, fan_out) / n)
    if name.endswith("uniform"):
        limit = math.sqrt(3 * var(fan_in, fan_out))
        assert np.abs(w).max() <= limit
        assert np.abs(w).max() > 0.99 * limit
    else:   # truncated at two standard deviations of the untruncated normal
        std0 = math.sqrt(var(fan_in, fan_out)) / 0.87962566103423978
        assert np.abs(w).max() <= 2 * std0
        assert np.abs(w).max() > 1.9 * std0


def test_truncated_and_random_normal():
    rng = np.random.default_rng(1)
    t = initializers.TruncatedNormal(mean=0.5, stddev=0.1)((200, 200), rng, np.float64)
    assert np.all(np.abs(t - 0.5) <= 0.2)
    assert np.abs(t - 0.5).max() > 0.19
    # a normal truncated at +-2 sigma has std 0.8796 sigma
    assert t.std() == pytest.approx(0.1 * 0.87962566103423978, rel=0.02)
    r = initializers.RandomNormal(stddev=0.05)((200, 200), rng, np.float64)
    assert r.std() == pytest.approx(0.05, rel=0.02)
    assert np.abs(r).max() > 0.1          # not truncated
    assert np.array_equal(initializers.get("zeros")((3, 2), rng, np.float32), np.zeros((3, 2)))


def test_initializer_dtype_and_default_float32():
    model = Sequential([Dense(3, input_dim=2)], seed=0)
    model.build()
    assert model.get_weights()[0].dtype == np.float32
    model64 = Sequential([Dense(3, input_dim=2)], seed=0, dtype="float64")
    model64.build()
    assert model64.get_weights()[0].dtype == np.float64
    # the same draws, rounded
    np.testing.assert_allclose(model.get_weights()[0], model64.get_weights()[0], rtol=1e-6)


def test_batch_order_is_the_documented_permutation():
    """fit's batches: epoch e uses default_rng([seed, 1_000_000 + e]).permutation(n) (the torch engine relies on it)."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(23, 3))
    y = np.eye(2)[rng.integers(0, 2, 23)]

    def model():
        m = Sequential([Dense(4, activation="tanh", input_dim=3), Dense(2, activation="softmax")], seed=12,
                       dtype="float64")
        m.compile(loss="categorical_crossentropy", optimizer=SGD(0.1, momentum=0.9), metrics=["accuracy"])
        return m

    fitted = model()
    fitted.fit(x, y, epochs=2, batch_size=5, verbose=0)
    manual = model()
    for epoch in range(2):
        perm = np.random.default_rng([12, 1_000_000 + epoch]).permutation(23)
        for s in range(0, 23, 5):
            manual.train_on_batch(x[perm[s:s + 5]], y[perm[s:s + 5]])
    for a, b in zip(fitted.get_weights(), manual.get_weights()):
        assert np.array_equal(a, b)


def test_core_never_imports_torch():
    """The NumPy engine, the studies' runner and the CLI work without importing torch (an extra)."""
    import subprocess
    import sys

    code = ("import sys, numpy as np, actlab, actlab.cli, actlab.engine, actlab.studies.runner as r, actlab.keras\n"
            "cfg = r.make_config(study='t', dataset='digits', hidden='8', epochs=1, batch_size=64)\n"
            "assert r.train_run(cfg)['status'] == 'done'\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
