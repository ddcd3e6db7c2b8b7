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
from actlab.keras.datasets import mnist
from actlab.keras.models import Sequential
from actlab.keras.layers import Dense, Activation
from actlab.keras.layers.advanced_activations import LeakyReLU, PReLU
from actlab.keras.optimizers import SGD
from actlab.keras.utils import np_utils

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
