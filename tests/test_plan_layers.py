"""A new activation that becomes a layer of its own is one entry in ``actlab.plan.OWN_LAYER``.

A throwaway "minout" (the min of k pieces per unit: not elementwise, it widens the Dense as maxout
does) is registered in the zoo and entered in the plan's table only; the NumPy engine, its memory
estimate, the playground's curve and its export then build it from the plan with no other change.
Oracles: the min of the Dense's pieces worked out here with NumPy, closed-form parameter counts,
the closed form -|x| of the curve.
"""
from __future__ import annotations

import numpy as np
import pytest

from actlab import plan
from actlab.activations import base as _base
from actlab.engine import layers as L
from actlab.engine import mlp


def _minout(x, k=2):
    n = x.shape[-1]
    return np.min(x.reshape(*x.shape[:-1], n // k, k), axis=-1)


def _d_minout(x, y, k=2):
    n = x.shape[-1]
    g = x.reshape(*x.shape[:-1], n // k, k)
    mask = np.zeros_like(g)
    np.put_along_axis(mask, np.argmin(g, axis=-1)[..., None], 1.0, axis=-1)
    return mask.reshape(x.shape)


def _vjp_minout(x, y, g, k=2):
    mask = _d_minout(x, y, k)
    mask.reshape(*x.shape[:-1], -1, k)[...] *= g[..., None]
    return mask


@pytest.fixture
def minout(monkeypatch):
    act = _base.Activation("minout_test", _minout, _d_minout, params={"k": 2}, elementwise=False,
                           vjp_fn=_vjp_minout)
    monkeypatch.setitem(_base._REGISTRY, "minout_test", act)
    monkeypatch.setitem(plan.OWN_LAYER, "minout_test", plan.OwnLayer(widen="k"))
    return act


def test_the_plan_alone_makes_a_new_activation_a_widening_layer(minout):
    (block,) = plan.layer_plan("4", {"name": "minout_test", "k": 3})
    assert (block.units, block.width, block.k, block.layer, block.learned) == (4, 12, 3, "minout_test", ())
    assert plan.structure({"name": "minout_test", "k": 3}) == "minout_test3"

    model = mlp.build_mlp(2, "4", {"name": "minout_test", "k": 3}, 1, seed=0, dtype="float64")
    dense, own = model.layers[0], model.layers[1]
    assert isinstance(dense, L.Dense) and dense.units == 12 and dense.activation.name == "linear"
    assert type(own) is L.Activation and own.output_dim == 4
    x = np.random.default_rng(0).normal(size=(5, 2))
    model.forward(x, training=False, keep=True)
    z = x @ dense.params["kernel"] + dense.params["bias"]
    np.testing.assert_allclose(model.outputs_[1], z.reshape(5, 4, 3).min(axis=-1), rtol=1e-12)
    # a Dense cannot apply it (it changes the width), as for maxout
    with pytest.raises(ValueError, match=r"minout_test changes the width: use Dense\(units \* k\) followed by "
                                         r"Activation\('minout_test', k=k\)"):
        L.Dense(4, activation="minout_test")
    with pytest.raises(ValueError, match="minout_test with k=3 needs an input width divisible by k, got 7"):
        L.Activation("minout_test", k=3).build(7, None, np.float64)

    # 2 -> 12 (+ 12 biases) -> 4 -> 1: no per-unit parameters in the widening layer
    assert mlp.estimate_memory(2, "4", {"name": "minout_test", "k": 3}, 1, dtype="float64")["weights"] \
        == 8 * (2 * 12 + 12 + 4 * 1 + 1)


def test_the_playground_draws_and_exports_a_new_layer_activation_from_the_plan(minout):
    from actlab.playground import session as S

    curve = S._curve({"activation": "minout_test", "params": {"k": 2}})
    np.testing.assert_allclose(curve["y"], np.round(-np.abs(S.CURVE_X), 4))   # min(x, -x) = -|x|
    lines, keras, only = S._layer_lines({"activation": "minout_test", "params": {"k": 2}}, 3, ", input_dim=2", "")
    assert lines == ["model.add(Dense(6, input_dim=2))",
                     "model.add(Activation('minout_test', k=2))  # from actlab's zoo"]
    assert keras == {"Dense", "Activation"} and only == set()


def test_learned_parameters_are_counted_from_the_plan():
    # prelu's slope is learned per unit: 2 -> 8 (+ 8 biases) -> PReLU's 8 slopes -> 1
    assert [b.learned for b in plan.layer_plan("8x2", "prelu")] == [("alpha",), ("alpha",)]
    got = mlp.estimate_memory(2, "8", "prelu", 1, dtype="float64")["weights"]
    assert got == 8 * (2 * 8 + 8 + 8 + 8 * 1 + 1)
    model = mlp.build_mlp(2, "8", "prelu", 1, seed=0)
    assert sum(layer.count_params() for layer in model.layers) == 2 * 8 + 8 + 8 + 8 * 1 + 1


def test_the_torch_engine_trains_a_new_layer_activation_as_the_numpy_engine(minout):
    pytest.importorskip("torch")
    from actlab.engine import SGD
    from actlab.torch_engine.model import TorchEnsemble

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[(x[:, 0] * x[:, 1] > 0).astype(int)]

    def model():
        m = mlp.build_mlp(3, "4", {"name": "minout_test", "k": 2}, 2, seed=1)
        m.compile(optimizer=SGD(learning_rate=0.1), metrics=["accuracy"])
        return m

    h_np = model().fit(x, y, epochs=2, batch_size=16, verbose=0).history
    h_t = TorchEnsemble(model(), device="cpu").fit(x, y, epochs=2, batch_size=16)[0]
    np.testing.assert_allclose(h_t["loss"], h_np["loss"], rtol=2e-4, atol=2e-5)
