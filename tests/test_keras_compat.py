"""A Keras 2 / tf.keras script runs on actlab.keras with only its import lines changed."""
from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import actlab.keras as keras_pkg
from actlab import engine

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "keras_notes_mlp.py"

# The study notes' MLP written as Keras 2 code (keras 2.x import paths).
KERAS2_SCRIPT = '''\
"""The study notes' MNIST MLP as a Keras 2 script: 784-200-200-200-200-10, one model per activation.

tanh, relu, LeakyReLU(alpha=0.01) and PReLU() hidden layers, softmax output, categorical
cross-entropy, SGD(lr=0.01), batch 100. The notes' protocol: 10,000 images drawn at random from
all 70,000 MNIST images, 80/20 split; --raw-pixels feeds the 0..255 values as the notes' code did
(plain SGD can then diverge), the default scales them to [0, 1].

This is Keras 2 code: in examples/ of actlab only its import lines differ, keras becoming the
compatible surface of actlab (tests/test_keras_compat.py checks that nothing else differs).

    python examples/keras_notes_mlp.py --data-dir ../shared/data/mnist --epochs 20
"""
import argparse
import os
import time

import numpy as np
from keras.datasets import mnist
from keras.models import Sequential
from keras.layers import Dense, Activation
from keras.layers.advanced_activations import LeakyReLU, PReLU
from keras.optimizers import SGD
from keras.utils import np_utils

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--data-dir', help='folder holding the MNIST files (else the usual places)')
parser.add_argument('--samples', type=int, default=10000)
parser.add_argument('--epochs', type=int, default=100)
parser.add_argument('--batch-size', type=int, default=100)
parser.add_argument('--seed', type=int, default=0)
parser.add_argument('--raw-pixels', action='store_true')
parser.add_argument('--activations', default='tanh,relu,leakyrelu,prelu')
args = parser.parse_args()

if args.data_dir:
    os.environ['ACTLAB_DATA'] = args.data_dir   # read by mnist.load_data()

# The notes' protocol: pool the 70,000 images, draw N at random, split 80/20.
(X_train, y_train), (X_test, y_test) = mnist.load_data()
X = np.concatenate([X_train, X_test]).reshape(-1, 784).astype('float32')
y = np.concatenate([y_train, y_test])
rng = np.random.RandomState(args.seed)
idx = rng.choice(len(X), args.samples, replace=False)
X, y = X[idx], y[idx]
if not args.raw_pixels:
    X /= 255
n_train = int(0.8 * len(X))
X_train, X_test = X[:n_train], X[n_train:]
Y_train = np_utils.to_categorical(y[:n_train], 10)
Y_test = np_utils.to_categorical(y[n_train:], 10)


def build_model(activation):
    model = Sequential()
    for i in range(4):
        if i == 0:
            model.add(Dense(200, input_dim=784))
        else:
            model.add(Dense(200))
        if activation == 'leakyrelu':
            model.add(LeakyReLU(alpha=0.01))
        elif activation == 'prelu':
            model.add(PReLU())
        else:
            model.add(Activation(activation))
    model.add(Dense(10))
    model.add(Activation('softmax'))
    model.compile(loss='categorical_crossentropy', optimizer=SGD(lr=0.01), metrics=['accuracy'])
    return model


results = {}
for activation in args.activations.split(','):
    print('==', activation)
    model = build_model(activation)
    start = time.time()
    history = model.fit(X_train, Y_train, batch_size=args.batch_size, epochs=args.epochs, verbose=2,
                        validation_data=(X_test, Y_test))
    seconds = time.time() - start
    score = model.evaluate(X_test, Y_test, verbose=0)
    results[activation] = (history.history, score, seconds)
    print('%s: test loss %.4f, test accuracy %.4f, %.1f s' % (activation, score[0], score[1], seconds))

for activation, (hist, score, seconds) in results.items():
    print('%-10s %.4f' % (activation, score[1]))
'''

# tensorflow.keras (TF 2.x) spells some imports differently: no advanced_activations, no np_utils.
TF_IMPORTS = """\
from tensorflow.keras.datasets import mnist
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense, Activation, LeakyReLU, PReLU
from tensorflow.keras.optimizers import SGD
from tensorflow.keras.utils import to_categorical
"""


def tf_keras_script() -> str:
    lines = KERAS2_SCRIPT.splitlines(keepends=True)
    start = next(i for i, s in enumerate(lines) if s.startswith("from keras."))
    end = max(i for i, s in enumerate(lines) if s.startswith("from keras.")) + 1
    body = "".join(lines[:start]) + TF_IMPORTS + "".join(lines[end:])
    return body.replace("np_utils.to_categorical", "to_categorical")


def to_actlab(script: str) -> str:
    """Change only the import lines: ``keras`` / ``tensorflow.keras`` -> ``actlab.keras``.

    ``import keras`` becomes ``import actlab.keras as keras`` so that ``keras.utils...`` still works.
    """
    out = []
    for line in script.splitlines(keepends=True):
        if re.fullmatch(r"import (tensorflow\.keras|keras)\s*", line):
            line = "import actlab.keras as keras\n"
        elif line.startswith(("from ", "import ")):
            line = re.sub(r"\b(tensorflow\.keras|keras)\b", "actlab.keras", line)
        out.append(line)
    return "".join(out)


# Keras 2's own examples/mnist_mlp.py (keras-team/keras 2.x), as published.
KERAS_MNIST_MLP = '''\
from __future__ import print_function

import keras
from keras.datasets import mnist
from keras.models import Sequential
from keras.layers import Dense, Dropout
from keras.optimizers import RMSprop

batch_size = 128
num_classes = 10
epochs = 20

# the data, split between train and test sets
(x_train, y_train), (x_test, y_test) = mnist.load_data()

x_train = x_train.reshape(60000, 784)
x_test = x_test.reshape(10000, 784)
x_train = x_train.astype('float32')
x_test = x_test.astype('float32')
x_train /= 255
x_test /= 255
print(x_train.shape[0], 'train samples')
print(x_test.shape[0], 'test samples')

# convert class vectors to binary class matrices
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = Sequential()
model.add(Dense(512, activation='relu', input_shape=(784,)))
model.add(Dropout(0.2))
model.add(Dense(512, activation='relu'))
model.add(Dropout(0.2))
model.add(Dense(num_classes, activation='softmax'))

model.summary()

model.compile(loss='categorical_crossentropy',
              optimizer=RMSprop(),
              metrics=['accuracy'])

history = model.fit(x_train, y_train,
                    batch_size=batch_size,
                    epochs=epochs,
                    verbose=1,
                    validation_data=(x_test, y_test))
score = model.evaluate(x_test, y_test, verbose=0)
print('Test loss:', score[0])
print('Test accuracy:', score[1])
'''


def run_script(source: str, argv: list[str], monkeypatch, extra_globals=None) -> dict:
    monkeypatch.setattr(sys, "argv", ["keras_notes_mlp.py", *argv])
    namespace = {"__name__": "__main__", **(extra_globals or {})}
    exec(compile(source, "keras_notes_mlp.py", "exec"), namespace)
    return namespace


def check_results(ns, chance=0.1, margin=0.1):
    results = ns["results"]
    assert set(results) == {"tanh", "relu", "leakyrelu", "prelu"}
    for act, (hist, score, _seconds) in results.items():
        assert len(score) == 2                              # evaluate -> [loss, accuracy]
        assert hist["loss"][-1] < hist["loss"][0], act      # training lowered the loss
        assert score[1] > chance + margin, (act, score)     # held-out accuracy beats chance
        # evaluate agrees with an independent computation from predict
        model_acc = score[1]
        assert 0.0 <= model_acc <= 1.0
    return results


def _reset_leaky_warning(monkeypatch):
    monkeypatch.setattr(keras_pkg.layers, "_warned_leaky_default", False)


@pytest.mark.parametrize("flavour", ["keras2", "tf.keras"])
def test_notes_script_runs_with_only_imports_changed_on_mnist(flavour, mnist_dir, monkeypatch, capsys):
    source = to_actlab(KERAS2_SCRIPT if flavour == "keras2" else tf_keras_script())
    assert "from actlab.keras.layers" in source and "keras.layers" not in source.replace("actlab.keras", "")
    ns = run_script(source, ["--data-dir", str(mnist_dir), "--samples", "3000", "--epochs", "6"], monkeypatch)
    out = capsys.readouterr().out
    assert "Epoch 1/6" in out and "val_accuracy:" in out   # verbose=2 prints one line per epoch
    results = check_results(ns)
    assert results["tanh"][1][1] > 0.6
    # the layers really are the requested ones
    model = ns["build_model"]("prelu")
    assert sum(isinstance(layer, engine.PReLU) for layer in model.layers) == 4
    model = ns["build_model"]("leakyrelu")
    slopes = [layer.activation.params["alpha"] for layer in model.layers if isinstance(layer, engine.LeakyReLU)]
    assert slopes == [0.01] * 4
    assert model.count_params() == 784 * 200 + 200 + 3 * (200 * 200 + 200) + 200 * 10 + 10


class _DigitsAsMnist:
    """``mnist.load_data()`` stand-in: scikit-learn's digits padded to 28x28 uint8 (no MNIST needed)."""

    @staticmethod
    def load_data():
        from sklearn.datasets import load_digits
        d = load_digits()
        images = np.zeros((len(d.images), 28, 28), dtype=np.uint8)
        images[:, 10:18, 10:18] = (d.images * 15).astype(np.uint8)
        return (images[:1500], d.target[:1500]), (images[1500:], d.target[1500:])


def test_notes_script_on_digits_without_mnist(monkeypatch, capsys):
    source = to_actlab(KERAS2_SCRIPT).replace("from actlab.keras.datasets import mnist\n",
                                              "mnist = _DigitsAsMnist\n")
    ns = run_script(source, ["--samples", "1797", "--epochs", "25"], monkeypatch,
                    {"_DigitsAsMnist": _DigitsAsMnist})
    capsys.readouterr()
    check_results(ns)


def test_example_file_is_the_keras2_script_with_only_imports_changed():
    example = EXAMPLE.read_text()
    assert example == to_actlab(KERAS2_SCRIPT)
    differing = [(a, b) for a, b in zip(KERAS2_SCRIPT.splitlines(), example.splitlines()) if a != b]
    assert differing and all(a.startswith("from keras") for a, _ in differing)


# ----------------------------------------------------------------------------------------------
# The import surface itself
# ----------------------------------------------------------------------------------------------
def test_import_surface():
    import actlab.keras as keras
    from actlab.keras import backend as K
    from actlab.keras.callbacks import Callback, EarlyStopping, History, LambdaCallback  # noqa: F401
    from actlab.keras.layers import (ELU, Activation, Dense, Dropout, Flatten, Input, InputLayer,  # noqa: F401
                                     LeakyReLU, Maxout, PReLU, RReLU, Softmax)
    from actlab.keras.layers.advanced_activations import ELU as ELU2, PReLU as PReLU2, Softmax as Softmax2  # noqa
    from actlab.keras.layers.core import Dense as Dense2
    from actlab.keras.models import Sequential, load_model  # noqa: F401
    from actlab.keras.optimizers import SGD, Adam, RMSprop
    from actlab.keras.utils import np_utils, to_categorical
    import actlab.keras.utils.np_utils  # noqa: F401  (a real module, as keras.utils.np_utils)

    # the engine's classes; Dense and Activation read Keras' activation names ('hard_sigmoid')
    assert keras.layers.Dense is Dense is Dense2 and issubclass(Dense, engine.Dense) and Dense.__name__ == "Dense"
    assert issubclass(Activation, engine.Activation) and Activation.__name__ == "Activation"
    assert PReLU2 is engine.PReLU and ELU2 is engine.ELU and Softmax2 is engine.Softmax
    assert issubclass(keras.models.Sequential, engine.Sequential)
    assert keras.Sequential is Sequential
    assert np_utils.to_categorical is to_categorical
    assert SGD(lr=0.05).learning_rate == SGD(learning_rate=0.05).learning_rate == 0.05
    assert Adam is engine.Adam and RMSprop is engine.RMSprop
    assert K.clear_session() is None and K.floatx() == "float32"
    assert callable(keras.datasets.mnist.load_data) and callable(keras.datasets.fashion_mnist.load_data)


def test_to_categorical_matches_keras_semantics():
    from actlab.keras.utils import to_categorical
    y = to_categorical([0, 2, 1], 4)
    np.testing.assert_array_equal(y, np.eye(4)[[0, 2, 1]])
    assert y.dtype == np.float32
    assert to_categorical(np.array([[1], [0]])).shape == (2, 2)     # a trailing 1 is dropped, as Keras
    assert to_categorical(np.array([3, 1])).shape == (2, 4)         # num_classes = max + 1
    with pytest.raises(ValueError, match="label 3 does not fit num_classes=2"):
        to_categorical([3], 2)
    with pytest.raises(ValueError, match="integer class labels"):
        to_categorical([0.5])


def test_activations_are_callable_on_arrays_and_train_analytically():
    from actlab.keras import activations
    x = np.array([-2.0, -0.5, 0.0, 1.5])
    np.testing.assert_allclose(activations.relu(x), np.maximum(x, 0))
    np.testing.assert_allclose(activations.tanh(x), np.tanh(x))
    np.testing.assert_allclose(activations.sigmoid(x), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(activations.elu(x), np.where(x > 0, x, np.expm1(x)))
    np.testing.assert_allclose(activations.softplus(x), np.log1p(np.exp(x)))
    np.testing.assert_allclose(activations.leaky_relu(x), np.where(x > 0, x, 0.01 * x))
    assert activations.get("relu") is activations.relu
    assert activations.serialize(activations.swish) == "silu"
    with pytest.raises(ValueError, match="'rleu'"):
        activations.get("rleu")
    # used as Dense(activation=fn) they keep the analytic derivative (not a numerical one)
    layer = engine.Dense(3, activation=activations.tanh)
    assert not layer.activation.numerical_derivative


def test_leaky_relu_default_warns_once(monkeypatch):
    from actlab.keras.layers import LeakyReLU
    _reset_leaky_warning(monkeypatch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = LeakyReLU()
        LeakyReLU()                       # the second default use is silent
        explicit = LeakyReLU(alpha=0.3)   # so is an explicit alpha
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert len(messages) == 1
    assert "0.3" in messages[0] and "0.01" in messages[0] and "alpha" in messages[0]
    assert first.activation.params["alpha"] == 0.01
    assert explicit.activation.params["alpha"] == 0.3
    x = np.array([[-10.0, 10.0]])
    np.testing.assert_allclose(first.forward(x), [[-0.1, 10.0]])
    # the engine's own layer never warns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        engine.LeakyReLU()


def test_keras_style_model_train_save_load(tmp_path):
    from actlab.keras.callbacks import EarlyStopping, LambdaCallback
    from actlab.keras.layers import Dense, Dropout, Flatten, InputLayer
    from actlab.keras.models import Sequential, load_model
    from actlab.keras.optimizers import Adam
    from actlab.keras.utils import to_categorical

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4, 3)).astype("float32")
    labels = (x[:, 0, 0] + x[:, 1, 1] > 0).astype(int)
    model = Sequential()
    model.add(Flatten(input_shape=(4, 3)))
    model.add(Dense(16, activation="relu"))
    model.add(Dropout(0.1))
    model.add(Dense(2, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer=Adam(lr=0.01), metrics=["accuracy"])
    epochs_seen = []
    hist = model.fit(x, to_categorical(labels), epochs=30, batch_size=32, validation_split=0.2, verbose=0,
                     callbacks=[EarlyStopping(monitor="val_loss", patience=2),
                                LambdaCallback(on_epoch_end=lambda e, logs: epochs_seen.append(e))])
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert epochs_seen == list(range(len(hist.history["loss"])))
    loss, acc = model.evaluate(x, to_categorical(labels), verbose=0)
    assert acc > 0.8
    assert model.metrics_names == ["loss", "accuracy"]
    path = tmp_path / "model.npz"
    model.save(str(path))
    again = load_model(str(path))
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    np.testing.assert_array_equal(again.predict_classes(x), np.argmax(model.predict(x), axis=1))
    # keras.Input / InputLayer declare the width as well
    flat = x.reshape(len(x), -1)
    for first in (InputLayer(input_shape=(12,)), keras_pkg.Input(shape=(12,))):
        m = Sequential([first, Dense(2, activation="softmax")])
        m.compile(loss="categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
        assert m.get_weights()[0].shape == (12, 2)
        assert m.predict(flat).shape == (300, 2)


def test_mnist_load_data_official_split(mnist_dir, monkeypatch):
    from actlab.keras.datasets import mnist
    monkeypatch.setenv("ACTLAB_DATA", str(mnist_dir))
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == np.uint8 and x_train.max() == 255
    # the published class counts of the MNIST test set
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    x_train[0, 0, 0] = 7                         # writable copies, as Keras gives


def test_keras_own_mnist_mlp_example_runs(mnist_dir, monkeypatch, capsys):
    """Keras 2's examples/mnist_mlp.py, imports changed; to stay fast, one epoch (not 20) on the
    first 6,000 / 1,000 images (the script's literal 60000 / 10000 shapes changed to match)."""
    from actlab.keras.datasets import mnist
    monkeypatch.setenv("ACTLAB_DATA", str(mnist_dir))
    full = mnist.load_data

    def first_images():
        (x_train, y_train), (x_test, y_test) = full()
        return (x_train[:6000], y_train[:6000]), (x_test[:1000], y_test[:1000])

    monkeypatch.setattr(mnist, "load_data", first_images)
    source = to_actlab(KERAS_MNIST_MLP)
    assert "import actlab.keras as keras\n" in source
    source = (source.replace("epochs = 20\n", "epochs = 1\n").replace("reshape(60000, 784)", "reshape(6000, 784)")
              .replace("reshape(10000, 784)", "reshape(1000, 784)"))
    ns = run_script(source, [], monkeypatch)
    out = capsys.readouterr().out
    assert "6000 train samples" in out and "Total params: 669,706" in out   # Keras prints 669,706 too
    assert "Test accuracy:" in out and "1/1" in out
    assert ns["score"][1] > 0.8     # one epoch of RMSprop on 6,000 images


# ----------------------------------------------------------------------------------------------
# Keras 2's own tests, ported: keras/activations_test.py (2.3.1 and 2.15.0), the layer tests of
# keras/layers/advanced_activations_test.py (2.3.1) and keras/layers/activation/*_test.py
# (2.15.0). Their reference implementations are kept as Keras wrote them; Keras' ``layer_test``
# (build on a (2, 3, 4) input, compare with a reference, rebuild from the config) is `_layer_test`.
# ----------------------------------------------------------------------------------------------
def _ref_softmax(values):
    m = np.max(values)
    e = np.exp(values - m)
    return e / np.sum(e)


def _ref_softplus(x):
    return np.log(np.ones_like(x) + np.exp(x))


def _standard_values():
    return np.array([[0, 0.1, 0.5, 0.9, 1.0]], dtype="float32")   # Keras 2.3.1's get_standard_values


@pytest.fixture
def keras_rng():
    return np.random.RandomState(1337)


def test_keras_serialization():
    from actlab.keras import activations
    for name in ["softmax", "relu", "elu", "tanh", "sigmoid", "hard_sigmoid", "linear", "softplus", "softsign",
                 "selu", "gelu", "relu6", "mish"]:
        fn = activations.get(name)
        ref_fn = getattr(activations, name)
        assert fn == ref_fn
        config = activations.serialize(fn)
        fn = activations.deserialize(config)
        assert fn == ref_fn
        assert config == name


def test_keras_serialization_with_layers():
    from actlab.keras import activations
    from actlab.keras.layers import Dense, LeakyReLU
    from actlab.keras.models import Sequential
    activation = LeakyReLU(alpha=0.1)
    layer = Dense(3, activation=activation, input_dim=2)
    model = Sequential([layer], seed=0)
    clone = Sequential.from_config(model.get_config())
    assert type(clone.layers[0]).__name__ == "Dense"
    assert clone.layers[0].activation.name == "leaky_relu" and clone.layers[0].activation.params == {"alpha": 0.1}
    assert activations.get(activation) == activation.activation      # keras 2.15 test_invalid_usage
    assert activations.get(LeakyReLU(alpha=0.2)).params == {"alpha": 0.2}


def test_keras_layer_instance_as_dense_activation_computes_and_trains():
    from actlab.keras.layers import Dense, LeakyReLU, PReLU, ReLU
    from actlab.keras.models import Sequential
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 4))
    model = Sequential([Dense(3, activation=LeakyReLU(alpha=0.1), input_dim=4)], seed=1, dtype="float64")
    kernel, bias = model.get_weights()
    z = x @ kernel + bias
    np.testing.assert_allclose(model.predict(x), np.where(z > 0, z, 0.1 * z), rtol=1e-12)
    # Keras 2.15 relu_test.test_relu_layer_as_activation: Dense(1, activation=ReLU()) fits; here the
    # gradient is checked as well, against central differences (float64)
    model = Sequential([Dense(1, activation=ReLU(max_value=2.0, negative_slope=0.3, threshold=0.1), input_dim=10)],
                       seed=2, dtype="float64")
    model.compile("sgd", "mse")
    xs, ys = rng.normal(size=(10, 10)), rng.normal(size=(10, 1))
    grads = model.gradients(xs, ys)[0]
    kernel = model.layers[0].params["kernel"]
    num = np.zeros_like(kernel)
    for i in range(kernel.shape[0]):
        old = kernel[i, 0]
        kernel[i, 0] = old + 1e-6
        up = model.loss_value(xs, ys)
        kernel[i, 0] = old - 1e-6
        down = model.loss_value(xs, ys)
        kernel[i, 0] = old
        num[i, 0] = (up - down) / 2e-6
    np.testing.assert_allclose(grads["kernel"], num, rtol=1e-5, atol=1e-9)
    assert np.abs(num).max() > 1e-3
    with pytest.raises(ValueError, match="PReLU cannot serve as an activation"):
        Dense(3, activation=PReLU())
    with pytest.raises(ValueError, match="Dense cannot serve as an activation"):
        Dense(3, activation=Dense(3))


def test_keras_get_fn():
    from actlab.keras import activations
    assert activations.get(None) == activations.linear
    with pytest.raises(ValueError, match="'unknown'"):
        activations.get("unknown")
    with pytest.raises(ValueError):
        activations.get(6)


def test_keras_softmax_valid_invalid_3d_and_temporal(keras_rng):
    from actlab.keras import activations
    test_values = _standard_values()
    np.testing.assert_allclose(activations.softmax(test_values), _ref_softmax(test_values), rtol=1e-05)
    test_values = keras_rng.random_sample((2, 5))
    np.testing.assert_allclose(activations.softmax(test_values)[0], _ref_softmax(test_values[0]), rtol=1e-05)
    # One dimensional arrays are supposed to raise a value error
    with pytest.raises(ValueError, match="1D"):
        activations.softmax(np.zeros(5))
    with pytest.raises(ValueError, match="1D"):
        activations.softmax([0.5, 1.0], axis=0)

    def softmax(values, axis):
        m = np.max(values, axis=axis, keepdims=True)
        e = np.exp(values - m)
        return e / np.sum(e, axis=axis, keepdims=True)
    test_values = _standard_values()[:, :, np.newaxis].copy()
    np.testing.assert_allclose(activations.softmax(test_values, axis=1), softmax(test_values, axis=1), rtol=1e-05)
    # 2.15: axis 0 of a 2-D input, a tuple of axes, and the last axis of a 3-D input
    test_values = keras_rng.random_sample((2, 5))
    expected = np.zeros((2, 5))
    for i in range(5):
        expected[:, i] = _ref_softmax(test_values[:, i])
    np.testing.assert_allclose(activations.softmax(test_values, axis=0), expected, rtol=1e-05)
    test_values = keras_rng.random_sample((2, 3, 5))
    result = activations.softmax(test_values, axis=(1, 2))
    for i in range(2):
        np.testing.assert_allclose(result[i], _ref_softmax(test_values[i]), rtol=1e-05)
    test_values = keras_rng.random_sample((2, 2, 3)) * 10
    np.testing.assert_allclose(activations.softmax(test_values)[0, 0], _ref_softmax(test_values[0, 0]), rtol=1e-05)


def test_keras_elementwise_references(keras_rng):
    from scipy.stats import norm

    from actlab.keras import activations

    def ref_sigmoid(x):
        if x >= 0:
            return 1 / (1 + np.exp(-x))
        z = np.exp(x)
        return z / (1 + z)

    def ref_hard_sigmoid(x):
        x = (x * 0.2) + 0.5
        return 0.0 if x <= 0 else (1.0 if x >= 1 else x)

    def softsign(x):
        return np.divide(x, np.ones_like(x) + np.absolute(x))

    for test_values in (_standard_values(), keras_rng.random_sample((2, 5)), keras_rng.uniform(-5, 5, (4, 5))):
        np.testing.assert_allclose(activations.softplus(test_values), _ref_softplus(test_values), rtol=1e-05)
        np.testing.assert_allclose(activations.softsign(test_values), softsign(test_values), rtol=1e-05)
        np.testing.assert_allclose(activations.sigmoid(test_values), np.vectorize(ref_sigmoid)(test_values), rtol=1e-05)
        np.testing.assert_allclose(activations.hard_sigmoid(test_values), np.vectorize(ref_hard_sigmoid)(test_values),
                                   rtol=1e-05, atol=1e-7)
        np.testing.assert_allclose(activations.tanh(test_values), np.tanh(test_values), rtol=1e-05)
        np.testing.assert_allclose(activations.exponential(test_values), np.exp(test_values), rtol=1e-05)
        np.testing.assert_allclose(activations.mish(test_values), test_values * np.tanh(_ref_softplus(test_values)),
                                   rtol=1e-05)
        np.testing.assert_allclose(activations.linear(test_values), test_values)
        np.testing.assert_allclose(activations.gelu(test_values), test_values * norm.cdf(test_values), rtol=1e-05)
        approx = 0.5 * test_values * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (test_values + 0.044715 * test_values ** 3)))
        np.testing.assert_allclose(activations.gelu(test_values, True), approx, rtol=1e-05)
        np.testing.assert_allclose(activations.gelu(test_values, approximate=True), approx, rtol=1e-05)
    # the docstring examples of Keras 2.15 (float32)
    a = np.array([-3.0, -1.0, 0.0, 1.0, 3.0], dtype="float32")
    np.testing.assert_allclose(activations.hard_sigmoid(a), [0.0, 0.3, 0.5, 0.7, 1.0], rtol=1e-6)
    np.testing.assert_allclose(activations.exponential(a), [0.04978707, 0.36787945, 1.0, 2.7182817, 20.085537], rtol=1e-6)
    # TF's float32 gelu(-3) is -0.00404951; the exact value is -3 Phi(-3) = -0.0040496940, as here
    np.testing.assert_allclose(activations.gelu(a), [-0.00404951, -0.15865529, 0.0, 0.8413447, 2.9959507],
                               rtol=1e-5, atol=2e-7)
    # the Dense layer's string means the same function as activations.hard_sigmoid
    from actlab.keras.layers import Activation, Dense
    assert Dense(2, activation="hard_sigmoid").activation == activations.hard_sigmoid
    np.testing.assert_allclose(Activation("hard_sigmoid").forward(a), activations.hard_sigmoid(a))


def test_keras_relu_elu_selu(keras_rng):
    from actlab.keras import activations
    test_values = _standard_values()
    np.testing.assert_allclose(activations.relu(test_values), test_values, rtol=1e-05)
    negative_values = keras_rng.uniform(-1, 0, (2, 5))
    np.testing.assert_allclose(activations.relu(negative_values), np.zeros((2, 5)), rtol=1e-05)
    assert np.max(activations.relu(np.array([[0.5, 1.5]], dtype="float32"), max_value=1.0)) <= 1.0
    assert np.max(activations.relu(np.array([[0.5, 6.0]], dtype="float32"), max_value=6.0)) <= 6.0
    # the form of issue 9 and Keras 2.15's docstring
    foo = np.array([-10, -5, 0.0, 5, 10], dtype="float32")
    np.testing.assert_array_equal(activations.relu(foo, alpha=0.0, max_value=1.0, threshold=0.0), [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(activations.relu(foo, alpha=0.5), [-5, -2.5, 0, 5, 10])
    np.testing.assert_array_equal(activations.relu(foo, max_value=5.0), [0, 0, 0, 5, 5])
    np.testing.assert_array_equal(activations.relu(foo, threshold=5.0), [0, 0, 0, 0, 10])
    np.testing.assert_array_equal(activations.relu(foo, 0.5, 6.0, 1.0), [-5.5, -3, -0.5, 5, 6])   # positional
    # elu(x, 0.5)
    np.testing.assert_allclose(activations.elu(test_values, 0.5), test_values, rtol=1e-05)
    negative_values = np.array([[-1, -2]], dtype="float32")
    np.testing.assert_allclose(activations.elu(negative_values, 0.5), (np.exp(negative_values) - 1) / 2, rtol=1e-6)
    np.testing.assert_allclose(activations.elu(negative_values, alpha=-1.0), 1 - np.exp(negative_values), rtol=1e-6)
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    np.testing.assert_allclose(activations.selu(test_values), test_values * scale, rtol=1e-05)
    np.testing.assert_allclose(activations.selu(negative_values), (np.exp(negative_values) - 1) * scale * alpha,
                               rtol=1e-6)
    np.testing.assert_allclose(activations.leaky_relu(foo, alpha=0.2), np.where(foo > 0, foo, 0.2 * foo))
    with pytest.raises(TypeError, match="tanh"):
        activations.tanh(foo, 3)


# Keras' layer tests: (layer, kwargs) and a NumPy reference of what the layer computes
def _keras_layer_cases():
    from actlab.keras import layers
    return [
        (layers.LeakyReLU, {"alpha": 0.0}, lambda x: np.where(x > 0, x, 0.0)),
        (layers.LeakyReLU, {"alpha": 0.5}, lambda x: np.where(x > 0, x, 0.5 * x)),
        (layers.LeakyReLU, {"alpha": -1.0}, lambda x: np.where(x > 0, x, -x)),
        (layers.ELU, {"alpha": 0.0}, lambda x: np.where(x > 0, x, 0.0)),
        (layers.ELU, {"alpha": 0.5}, lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1))),
        (layers.ELU, {"alpha": -1.0}, lambda x: np.where(x > 0, x, -(np.exp(x) - 1))),
        (layers.ThresholdedReLU, {"theta": 0.5}, lambda x: x * (x > 0.5)),
        (layers.Softmax, {"axis": 1}, lambda x: np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)),
        (layers.Softmax, {"axis": -1}, lambda x: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)),
        (layers.ReLU, {"max_value": 10, "negative_slope": 0.2, "threshold": 3.0},
         lambda x: np.where(x >= 10, 10, np.where(x >= 3, x, 0.2 * (x - 3)))),   # the ReLU docstring's cases
        (layers.ReLU, {"max_value": 6}, lambda x: np.clip(x, 0, 6)),
        (layers.ReLU, {"negative_slope": 0.2}, lambda x: np.where(x > 0, x, 0.2 * x)),
        (layers.ReLU, {}, lambda x: np.maximum(x, 0)),
    ]


@pytest.mark.parametrize("case", range(13))
def test_keras_layer_test(case):
    """Keras' layer_test: input shape (2, 3, 4), output as the reference, config round trip, in a model."""
    from actlab.keras.models import Sequential
    cls, kwargs, reference = _keras_layer_cases()[case]
    rng = np.random.RandomState(case)
    x = (10 * rng.random_sample((2, 3, 4)) - 3).astype("float32")    # -3..7: both sides of every threshold
    layer = cls(**kwargs)
    y = layer.forward(x)
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_allclose(y, reference(x.astype(np.float64)), rtol=1e-5, atol=1e-6)
    config = layer.get_config()
    for key, value in kwargs.items():
        assert config[key] == value
    again = engine.layers.from_config({"class_name": cls.__name__, "config": config})
    assert type(again).__name__ == cls.__name__ and again.name == layer.name
    np.testing.assert_array_equal(again.forward(x), y)
    if kwargs.get("axis") != 1:   # in a model (rows of 12); Softmax(axis=1) of a 3-D input has no 2-D analogue
        flat = x.reshape(2, 12)
        model = Sequential([cls(input_shape=(12,), **kwargs)])
        np.testing.assert_allclose(model.predict(flat), reference(flat.astype(np.float64)), rtol=1e-5, atol=1e-6)


def test_keras_layer_argument_checks():
    from actlab.keras import layers
    with pytest.raises(ValueError, match="max_value of a ReLU layer cannot be a negative value. Received: -2"):
        layers.ReLU(max_value=-2.0)
    with pytest.raises(ValueError, match="negative_slope of a ReLU layer cannot be a negative value. Received: -10"):
        layers.ReLU(negative_slope=-10)
    with pytest.raises(ValueError, match="negative_slope of a ReLU layer cannot be None"):
        layers.ReLU(negative_slope=None)
    with pytest.raises(ValueError, match="threshold of a ReLU layer cannot be a negative value. Received: -10"):
        layers.ReLU(threshold=-10)
    with pytest.raises(ValueError, match="threshold of a ReLU layer cannot be None"):
        layers.ReLU(threshold=None)
    with pytest.raises(ValueError, match="theta of a ThresholdedReLU layer cannot be None"):
        layers.ThresholdedReLU(theta=None)
    with pytest.raises(ValueError, match="should be >= 0. Received: -10"):
        layers.ThresholdedReLU(theta=-10)
    with pytest.raises(ValueError, match="invalid value None for parameter alpha of elu"):
        layers.ELU(alpha=None)
    assert layers.ThresholdedReLU().activation.params["threshold"] == 1.0   # Keras' default theta
    assert layers.advanced_activations.ReLU is layers.ReLU is engine.ReLU
    assert layers.advanced_activations.ThresholdedReLU is layers.ThresholdedReLU is engine.ThresholdedReLU


def test_keras2_layer_names_and_summary():
    """Keras 2 names layers dense_1, dense_2, ... per class and the model sequential_1 (until
    clear_session); the summary is laid out as Keras 2.3's print_summary (65 columns, ends 29/55/65)."""
    from actlab.keras import backend as K
    from actlab.keras.layers import Activation, Dense, Dropout, LeakyReLU, PReLU
    from actlab.keras.models import Sequential
    K.clear_session()
    model = Sequential()
    model.add(Dense(512, activation="relu", input_shape=(784,)))
    model.add(Dropout(0.2))
    model.add(Dense(512, activation="relu"))
    model.add(Dropout(0.2))
    model.add(Dense(10, activation="softmax"))
    assert [layer.name for layer in model.layers] == ["dense_1", "dropout_1", "dense_2", "dropout_2", "dense_3"]
    lines = []
    model.summary(print_fn=lines.append)
    # Keras 2.3.1 prints for examples/mnist_mlp.py; it pads each table row to the full 65 columns
    # (trailing blanks), written here with ljust so that the blanks stay visible and exact
    expected = "\n".join([
        'Model: "sequential_1"',
        "_" * 65,
        "Layer (type)                 Output Shape              Param #".ljust(65),
        "=" * 65,
        "dense_1 (Dense)              (None, 512)               401920".ljust(65),
        "_" * 65,
        "dropout_1 (Dropout)          (None, 512)               0".ljust(65),
        "_" * 65,
        "dense_2 (Dense)              (None, 512)               262656".ljust(65),
        "_" * 65,
        "dropout_2 (Dropout)          (None, 512)               0".ljust(65),
        "_" * 65,
        "dense_3 (Dense)              (None, 10)                5130".ljust(65),
        "=" * 65,
        "Total params: 669,706",
        "Trainable params: 669,706",
        "Non-trainable params: 0",
        "_" * 65,
    ])
    assert lines == expected.split("\n")
    more = [Dense(3), Activation("tanh"), LeakyReLU(alpha=0.1), PReLU(), Dense(2, name="out")]
    assert [layer.name for layer in more] == ["dense_4", "activation_1", "leaky_re_lu_1", "p_re_lu_1", "out"]
    assert Sequential().name == "sequential_2"
    K.clear_session()
    assert Dense(1).name == "dense_1" and Sequential().name == "sequential_1"


@pytest.mark.parametrize("zoo_name", ["hard_sigmoid", "hard_sigmoid_keras", "relu", "elu"])
def test_playground_export_names_the_same_function_in_actlab_keras(zoo_name):
    """The playground exports actlab.keras code, where 'hard_sigmoid' means Keras 2's form: the zoo's
    hard_sigmoid (PyTorch's) must be written under a name that actlab.keras reads as that function."""
    from actlab.activations import get
    from actlab.keras.layers import Activation, Dense
    from actlab.keras.models import Sequential
    from actlab.playground.session import _layer_lines
    lines, _, _ = _layer_lines({"activation": zoo_name}, 4, ", input_dim=2", "")
    model = Sequential()
    exec("\n".join(lines), {"model": model, "Dense": Dense, "Activation": Activation})  # noqa: S102
    act = model.layers[-1].activation
    assert act.fn is get(zoo_name).fn and act.params == get(zoo_name).params
