"""The playground's networks are the backend's: a session's model equals, bit for bit, the model
that ``get_backend("numpy").build`` makes of the equivalent run configuration written with the
studies' ``make_config``, and stays equal step after step on the same batches.

Oracle: the run configuration is written here from the playground's settings with
``make_config`` (the studies' schema), independently of :func:`actlab.playground.session.run_config`;
the model built from it is trained here with ``train_step`` on ``epoch_order``'s batches.
"""
from __future__ import annotations

import numpy as np
import pytest

from actlab.backends import get_backend
from actlab.engine.batching import epoch_order
from actlab.playground import protocol as P
from actlab.playground.session import Session, kernel_initializer
from actlab.studies.config import make_config

STEPS = 17

CASES = {
    "binary, adam, l1 and l2, prelu and maxout": (
        {"dataset": "spiral", "optimizer": "adam", "l1": 0.001, "l2": 0.01,
         "layers": [{"units": 5, "activation": "prelu"}, {"units": 3, "activation": "maxout"}]},
        1, "sigmoid", "binary_crossentropy"),
    "multiclass, rmsprop, leaky_relu with its alpha, rrelu": (
        {"dataset": "gauss3", "optimizer": "rmsprop",
         "layers": [{"units": 6, "activation": "leaky_relu", "params": {"alpha": 0.2}},
                    {"units": 4, "activation": "rrelu"}]},
        3, "softmax", "categorical_crossentropy"),
    "regression, critical initializer, l1": (
        {"dataset": "reg_gauss", "initializer": "critical", "sigma_b2": 0.1, "l1": 0.01,
         "layers": [{"units": 3, "activation": "tanh"}, {"units": 4, "activation": "gelu"}]},
        1, "linear", "mean_squared_error"),
}


def _equivalent_config(cfg: dict, layers: list[dict], n_out: int, output: str, loss: str) -> dict:
    acts = [{"name": layer["activation"], **layer.get("params", {})} for layer in layers]
    reg = {"l1": cfg["l1"], "l2": cfg["l2"]} if (cfg["l1"] or cfg["l2"]) else None
    return make_config(study="playground", seed=cfg["seed"], dataset=cfg["dataset"],
                       hidden=[layer["units"] for layer in layers], activation=acts[0], activations=acts,
                       init=kernel_initializer(cfg), dtype="float64", optimizer=cfg["optimizer"],
                       learning_rate=cfg["learning_rate"], batch_size=cfg["batch_size"], epochs=1, loss=loss,
                       regularizer=reg, output=output, output_units=n_out)


def _weights_equal(a, b) -> bool:
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(wa, wb))


def _check(session: Session, trainer: int, config: dict) -> None:
    model = get_backend("numpy").build(config, session.data)
    ours = session.trainers[trainer].model
    assert _weights_equal(ours, model)
    order = epoch_order(session.config["seed"], 0, len(session.train_idx))
    bs = session.config["batch_size"]
    assert STEPS * bs <= len(order)            # the steps stay in epoch 0
    for step in range(STEPS):
        idx = order[step * bs:(step + 1) * bs]
        xb, yb = session.x_train[idx], session.y_train[idx]
        before = ours.loss_value(session.x_train, session.y_train)
        assert model.loss_value(session.x_train, session.y_train) == before
        with np.errstate(all="ignore"):
            model.train_step(xb, yb)
        session.step(1)
        assert _weights_equal(ours, model), f"the weights part after step {step + 1}"
    assert ours.loss_value(session.x_train, session.y_train) == model.loss_value(session.x_train, session.y_train)


@pytest.mark.parametrize("name", list(CASES))
def test_session_model_is_the_backends_model_of_the_equivalent_run_config(name):
    settings, n_out, output, loss = CASES[name]
    session = Session(P.validate_config(settings))
    cfg = session.config
    config = _equivalent_config(cfg, cfg["layers"], n_out, output, loss)
    assert session.trainers[0].model.loss.name == loss
    _check(session, 0, config)


def test_side_by_side_model_is_the_backends_model_of_its_run_config():
    # the critical initializer draws B at its own edge of chaos (no weights copied from A)
    settings = {"dataset": "circle", "initializer": "critical", "l2": 0.003,
                "layers": [{"units": 4, "activation": "tanh"}, {"units": 3, "activation": "tanh"}],
                "compare": {"activation": "elu", "params": {"alpha": 0.5}}}
    session = Session(P.validate_config(settings))
    cfg = session.config
    other = [{"units": layer["units"], **cfg["compare"]} for layer in cfg["layers"]]
    _check(session, 1, _equivalent_config(cfg, other, 1, "sigmoid", "binary_crossentropy"))


def test_run_config_speaks_the_studies_schema():
    from actlab.playground.session import run_config

    settings, n_out, output, loss = CASES["binary, adam, l1 and l2, prelu and maxout"]
    cfg = Session(P.validate_config(settings)).config
    ours = run_config(cfg, cfg["layers"], n_out, output, loss)
    theirs = _equivalent_config(cfg, cfg["layers"], n_out, output, loss)
    assert ours["model"] == theirs["model"]
    assert ours["seed"] == theirs["seed"] and ours["engine"] == theirs["engine"]
    assert {k: theirs["train"][k] for k in ours["train"]} == ours["train"]


def test_optional_model_fields_leave_existing_keys_alone():
    from actlab.store import Store

    base = dict(study="s", dataset="digits", hidden="8", optimizer="sgd", learning_rate=0.1, batch_size=4, epochs=1)
    plain = make_config(**base)
    assert set(plain["model"]) == {"hidden", "activation", "init", "dtype", "dropout"}
    assert Store.key(make_config(**base, regularizer={"l1": 0.0, "l2": 0.1})) != Store.key(plain)
    with pytest.raises(ValueError, match="2 activations given for 1 hidden layers"):
        make_config(**base, activations=["relu", "tanh"])
    with pytest.raises(ValueError, match="output_units must be a positive integer, got 0"):
        make_config(**base, output_units=0)
