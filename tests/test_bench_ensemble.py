"""bench/ensemble.py builds its members through the backend registry, and they are the
benchmark's network: the same weights, bit for bit, as bench/run.py's ``_actlab_model``
(``build_mlp(784, "200x4", act, 10, seed)`` compiled with SGD lr 0.01), the same optimizer and loss."""
from __future__ import annotations

import numpy as np
from test_bench import _load   # the bench scripts loaded as modules, one definition


def _layers(model):
    """The layers' configurations without their names (a process-wide counter numbers them)."""
    return [{k: v for k, v in layer.get_config().items() if k != "name"} for layer in model.layers]


def test_ensemble_members_are_the_benchmarks_network():
    ens = _load("ensemble")
    run = _load("run")
    rng = np.random.default_rng(0)
    x = rng.random((40, 784), dtype=np.float32)
    y = rng.integers(0, 10, 40)
    data = (x[:30], y[:30], x[30:], y[30:])
    for engine in ("numpy", "torch"):     # the torch backend builds the NumPy model the ensemble copies
        members = ens._models(3, data, 2, engine)
        for seed, m in enumerate(members):
            ref = run._actlab_model("tanh" if seed % 2 == 0 else "relu", seed=seed)
            assert _layers(m) == _layers(ref)
            assert all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(m.get_weights(), ref.get_weights()))
            assert m.optimizer.get_config() == ref.optimizer.get_config()
            assert m.loss.name == ref.loss.name and m.metrics == ref.metrics
