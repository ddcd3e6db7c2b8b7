"""One definition of a dead unit (actlab.engine.inspect), used by the dying study and the playground.

Networks are built by hand so that which units are dead is known by construction: on the
playground's points (x1, x2 in [-6, 6]) a unit with weights (1, 0) and bias -100 has z < 0 on
every point, one with weights 0 and bias 0 has z = 0 exactly, one with bias +100 has z > 0.
The playground's frame and the dying study's diagnostic (on a model built from the study's own
configuration, float32) must name exactly the units worked out below; and a dead unit must get
exactly zero gradient in every one of its parameters, an alive one not (the engine's backprop as
the oracle).
"""
from types import SimpleNamespace

import numpy as np
import pytest

from actlab.engine import SGD, build_mlp
from actlab.engine import inspect as I
from actlab.engine import layers as L
from actlab.playground.protocol import validate_config
from actlab.playground.session import Session
from actlab.studies import diagnostics as D
from actlab.studies.dying import dying_tasks, units_diagnostic
from actlab.studies.runner import build_model

# Layer 1 (inputs x1, x2): unit 0 z = x1 (both signs), unit 1 z = x1 - 100 (< 0 everywhere),
# unit 2 z = 0 exactly, unit 3 z = x2 + 100 (> 0 everywhere).
K1 = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
B1 = np.array([0.0, -100.0, 0.0, 100.0])
# Layer 2 reads only unit 3 (h3 = x2 + 100 > 90 for every activation below): unit 0 z = -h3 < 0,
# unit 1 z = h3 > 0, unit 2 z = 0 exactly.
K2 = np.zeros((4, 3))
K2[3, 0], K2[3, 1] = -1.0, 1.0
B2 = np.zeros(3)

# activation spec -> dead units of (layer 1, layer 2)
CASES = [
    # ReLU'(z) = 0 for z <= 0 (ReLU'(0) = 0): the z < 0 and z = 0 units
    ({"activation": "relu"}, [[1, 2], [0, 2]]),
    # slope 0.01 below 0 (and at 0): never dead
    ({"activation": "leaky_relu"}, [[], []]),
    # a leaky ReLU of slope 0 is a ReLU
    ({"activation": "leaky_relu", "params": {"alpha": 0.0}}, [[1, 2], [0, 2]]),
    # PReLU at alpha = 0: f' = 0 for z <= 0, but d f / d alpha = min(z, 0) = z != 0 where z < 0:
    # only the z = 0 units are dead (the old playground called the z < 0 ones dead too)
    ({"activation": "prelu"}, [[2], [2]]),
    ({"activation": "prelu", "params": {"alpha": 0.0}}, [[2], [2]]),
    # PReLU at alpha = 0.25: f'(z) = 0.25 for z <= 0: never dead
    ({"activation": "prelu", "params": {"alpha": 0.25}}, [[], []]),
    # RReLU in inference: the mean slope (1/8 + 1/3) / 2 below 0: never dead; with both bounds 0, a ReLU
    ({"activation": "rrelu"}, [[], []]),
    ({"activation": "rrelu", "params": {"lower": 0.0, "upper": 0.0}}, [[1, 2], [0, 2]]),
    # maxout (below): the winning piece always has slope 1: never dead, even with every piece < 0
    ({"activation": "maxout"}, [[], []]),
    ({"activation": "maxout", "params": {"k": 3}}, [[], []]),
]


def _dense_and_prelu(model):
    dense = [layer for layer in model.layers if isinstance(layer, L.Dense)]
    return dense[:-1], [layer for layer in model.layers if isinstance(layer, L.PReLU)]


def _set_hidden_weights(model, spec):
    """Give the two hidden layers of ``model`` the weights above (each maxout piece a copy of the
    unit's weights, the later pieces shifted by -1, -2: still < 0 where the unit is < 0)."""
    (d1, d2), _ = _dense_and_prelu(model)
    k = spec.get("params", {}).get("k", 2) if spec["activation"] == "maxout" else 1
    for dense, kernel, bias in ((d1, K1, B1), (d2, K2, B2)):
        w = dense.params["kernel"]
        b = dense.params["bias"]
        if k > 1:   # rows of layer 2 are layer 1's units (one output per maxout unit)
            w[...] = np.repeat(kernel, k, axis=1)
            b[...] = np.repeat(bias, k) - np.tile(np.arange(k), len(bias))
        else:
            w[...] = kernel
            b[...] = bias


def _playground_dead(spec):
    cfg = validate_config({"dataset": "gauss", "n_points": 200, "seed": 3, "features": ["x1", "x2"],
                           "layers": [{"units": 4, **spec}, {"units": 3, **spec}]})
    session = Session(cfg)
    model = session.trainers[0].model
    _set_hidden_weights(model, spec)
    x = session.x_train
    assert x.min(axis=0)[0] < 0 < x.max(axis=0)[0] and np.abs(x).max() < 10   # unit 0: z = x1 takes both signs
    dead = session.frame()["models"][0]["dead"]
    return [np.flatnonzero(m).tolist() for m in dead], x


def _dying_study_dead(spec, x):
    act = {"name": spec["activation"], **spec.get("params", {})}
    (task,) = dying_tasks([act], [0.1], [0], hidden="4,3", probe=len(x))
    assert task.config["model"]["dtype"] == "float32"
    data = SimpleNamespace(x_train=x, num_classes=3)
    model = build_model(task.config, data)
    _set_hidden_weights(model, spec)
    out = units_diagnostic(model, data, 0, probe=task.config["diagnostics"]["units"]["probe"])
    masks = D.dead_units(model, x.astype(np.float32))
    assert out["dead"] == [float(np.mean(m)) for m in masks]
    assert out["dead_count"] == [int(m.sum()) for m in masks]
    return [np.flatnonzero(m).tolist() for m in masks]


@pytest.mark.parametrize("spec, expected", CASES, ids=lambda v: str(v) if isinstance(v, dict) else "")
def test_the_playground_and_the_dying_study_name_the_same_dead_units(spec, expected):
    playground, x = _playground_dead(spec)
    assert playground == expected
    assert _dying_study_dead(spec, x) == expected


def _one_layer(spec, units=4, inputs=2, seed=0):
    act = {"name": spec["activation"], **spec.get("params", {})}
    m = build_mlp(inputs, [units], act, 3, seed=seed, dtype="float64")
    m.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.1))
    return m


@pytest.mark.parametrize("spec, expected", CASES, ids=lambda v: str(v) if isinstance(v, dict) else "")
def test_a_dead_unit_gets_no_gradient_and_an_alive_one_does(spec, expected):
    # one hidden layer of layer 1's units, random output weights and targets: whatever the loss
    # on top, a dead unit's kernel column, bias (and PReLU slope) get exactly 0, an alive unit's not
    rng = np.random.default_rng(5)
    x = rng.uniform(-6, 6, size=(60, 2))
    m = _one_layer(spec)
    dense = [layer for layer in m.layers if isinstance(layer, L.Dense)]
    k = spec.get("params", {}).get("k", 2) if spec["activation"] == "maxout" else 1
    if k > 1:
        dense[0].params["kernel"][...] = np.repeat(K1, k, axis=1)
        dense[0].params["bias"][...] = np.repeat(B1, k) - np.tile(np.arange(k), 4)
    else:
        dense[0].params["kernel"][...] = K1
        dense[0].params["bias"][...] = B1
    dead = I.dead_units(m, x)[0]
    assert np.flatnonzero(dead).tolist() == expected[0]
    y = np.eye(3)[rng.integers(0, 3, size=60)]
    grads = m.gradients(x, y)
    i = m.layers.index(dense[0])
    gk, gb = grads[i]["kernel"], grads[i]["bias"]
    prelu = [(j, layer) for j, layer in enumerate(m.layers) if isinstance(layer, L.PReLU)]
    for unit in range(4):
        cols = slice(unit * k, (unit + 1) * k)
        moved = [np.abs(gk[:, cols]).max(), np.abs(gb[cols]).max()]
        if prelu:
            moved.append(abs(grads[prelu[0][0]]["alpha"][unit]))
        assert (max(moved) == 0.0) == bool(dead[unit]), (unit, moved)


def test_idle_maxout_pieces_are_the_ones_that_never_win():
    # unit u's pieces: (x1, x1 - 100) for unit 0 -> piece 1 never wins; unit 1: (x1 + 100, x1) -> piece 1
    # idle; unit 2: (x2, -x2) -> both win somewhere
    x = np.random.default_rng(1).uniform(-6, 6, size=(80, 2))
    m = _one_layer({"activation": "maxout"}, units=3)
    dense = m.layers[0]
    dense.params["kernel"][...] = [[1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 1, -1]]
    dense.params["bias"][...] = [0, -100, 100, 0, 0, 0]
    assert not I.dead_units(m, x)[0].any()
    (idle,) = I.idle_pieces(m, x)
    assert idle.tolist() == [[False, True], [False, True], [False, False]]
    assert I.idle_pieces(_one_layer({"activation": "relu"}), x) == [None]


def test_a_saturated_sigmoid_unit_is_saturated_not_dead():
    # z = -30 on every point: sigmoid' = 9.4e-14, not 0 (the old playground's 1e-8 threshold called
    # it dead, the dying study did not); it is saturated on every point
    x = np.random.default_rng(2).uniform(-6, 6, size=(40, 2))
    m = _one_layer({"activation": "sigmoid"}, units=2)
    m.layers[0].params["kernel"][...] = 0.0
    m.layers[0].params["bias"][...] = [-30.0, 0.0]
    assert I.dead_units(m, x)[0].tolist() == [False, False]
    (p,) = I.probe(m, x)
    assert np.all(p.d[:, 0] > 0) and np.all(p.d[:, 0] < 1e-12)
    assert I.layer_stats(m, x)[0]["saturated"] == 0.5
    cfg = validate_config({"dataset": "gauss", "seed": 3, "layers": [{"units": 2, "activation": "sigmoid"}]})
    session = Session(cfg)
    dense = session.trainers[0].model.layers[0]
    dense.params["kernel"][...] = 0.0
    dense.params["bias"][...] = [-30.0, 0.0]
    assert session.frame()["models"][0]["dead"] == [[False, False]]


def test_the_studies_read_the_one_definition():
    assert D.dead_units is I.dead_units and D.measure is I.measure and D.DEAD_UNIT is I.DEAD_UNIT
    assert "exactly 0" in I.DEAD_UNIT and "PReLU" in I.DEAD_UNIT and "maxout" in I.DEAD_UNIT


def test_the_dying_report_states_the_one_definition():
    from actlab.studies.dying import DyingResult, DyingRun, dying_sections

    run = DyingRun("relu", 0.1, 0, "done", units=[4], epochs=[0, 1], dead=[[0.0], [0.25]],
                   inactive=[[0.0], [0.25]], accuracy=0.9)
    summary = dying_sections(DyingResult([run], {"probe": 10}))[0]
    assert I.DEAD_UNIT in summary.text_markdown and "first 10 training examples" in summary.text_markdown


# -- each activation layer's probe: the local derivatives its own backward pass uses ---------------
@pytest.mark.parametrize("make", [lambda: L.Activation("relu"), lambda: L.LeakyReLU(alpha=0.2),
                                  lambda: L.ELU(alpha=0.5), lambda: L.Activation("tanh"),
                                  lambda: L.PReLU(alpha_initializer=0.3), lambda: L.RReLU(),
                                  lambda: L.Maxout(k=3)], ids=["relu", "leaky", "elu", "tanh", "prelu", "rrelu",
                                                               "maxout"])
def test_a_layers_probe_is_what_its_backward_pass_sends(make):
    layer = make()
    rng = np.random.default_rng(5)
    layer.build(6, rng, np.float64)
    x = rng.normal(size=(7, 6))
    x[0] = 0.0                                   # the kinks
    dx = rng.uniform(0.5, 2.0, size=x.shape)     # the input's own dx/dz, chained through
    p = layer.probe(x, dx)
    y = layer.forward(x, training=False)
    g = rng.normal(size=y.shape)
    gx = layer.backward(g)                       # the oracle: dL/dx = g * dy/dx, summed per unit
    np.testing.assert_array_equal(p.y, y)
    assert layer.activation_name is not None
    if p.winners is None:
        np.testing.assert_allclose(p.d * g, dx * gx, rtol=1e-14)
    else:   # maxout: the gradient reaches exactly the winning piece, with slope 1
        pieces = gx.reshape(7, -1, 3)
        won = np.take_along_axis(pieces, p.winners[..., None], axis=-1)[..., 0]
        np.testing.assert_array_equal(won, g)
        assert np.count_nonzero(pieces) == np.count_nonzero(g)
        np.testing.assert_array_equal(p.d, np.take_along_axis(dx.reshape(7, -1, 3), p.winners[..., None], -1)[..., 0])
    if p.dalpha is not None:                     # PReLU: its slope's gradient
        np.testing.assert_allclose((p.dalpha * g).sum(axis=0), layer.grads["alpha"], rtol=1e-14)
    assert L.Dense(3).activation_name is None and L.Dropout(0.5).activation_name is None


def test_the_saturation_criterion_is_the_registry_entrys():
    from dataclasses import replace

    from actlab.activations import base, get

    y = np.array([[0.1, 0.6, -0.7, 0.995]])
    assert I.saturation_fraction("tanh", y, np.ones_like(y)) == 0.25            # |y| > 0.99
    base.add(replace(get("tanh"), name="tanh_half_saturated", saturated=lambda v: np.abs(v) > 0.5), overwrite=True)
    try:
        assert I.saturation_fraction("tanh_half_saturated", y, np.ones_like(y)) == 0.75
    finally:
        del base._REGISTRY["tanh_half_saturated"]
    # without a criterion: |f'| < 0.01 max|f'|
    assert I.saturation_fraction("relu", y, np.array([[0.0, 1.0, 0.0, 1.0]])) == 0.5
