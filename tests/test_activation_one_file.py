"""An activation is one file: a plugin declaring the function, its derivative, its formula and its
PyTorch form in one ``register`` call works in the NumPy engine, the torch engine, ``actlab check``
and the playground's export, with nothing added anywhere else.

Oracles: central differences of the loss in float64 (the NumPy engine's backprop through the new
activation), the NumPy derivative (torch autograd through its torch form), and the playground's own
test loss (the exported script, run on the exported weights).
"""
from __future__ import annotations

import base64
import contextlib
import io
import json
import runpy
import sys
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

from actlab import activations as acts
from actlab.activations.plugins import load_plugin
from actlab.cli import main
from actlab.engine import Dense, Sequential
from test_engine import assert_gradients_match

NAME = "softclip_one_file"

# the whole activation: a tanh clipped softly at +-a, f(x) = a tanh(x / a), f'(x) = 1 - tanh^2(x / a)
PLUGIN = textwrap.dedent(f'''
    import numpy as np
    from actlab.activations import Domain, register

    register(
        {NAME!r},
        lambda x, a=2.0: a * np.tanh(x / a),
        lambda x, a=2.0: 1.0 - np.tanh(x / a) ** 2,
        params={{"a": 2.0}},
        domains={{"a": Domain(gt=0, reason="the level it saturates at")}},
        formula=r"f(x) = a \\tanh(x / a)",
        derivative_formula=r"f'(x) = 1 - \\tanh^2(x / a)",
        torch=lambda torch, x, a: a * torch.tanh(x / a),
        overwrite=True,
    )
''')


@pytest.fixture
def plugin(tmp_path):
    path = tmp_path / "softclip.py"
    path.write_text(PLUGIN)
    load_plugin(str(path))
    return path


def test_numpy_engine_backpropagates_through_it(plugin):
    act = acts.get(NAME, a=1.5)
    x = np.linspace(-4.0, 4.0, 9)
    np.testing.assert_allclose(act(x), 1.5 * np.tanh(x / 1.5), rtol=1e-15)
    rng = np.random.default_rng(0)
    xb, labels = rng.normal(size=(6, 3)), rng.integers(0, 2, 6)
    model = Sequential([Dense(4, activation=act, input_dim=3), Dense(4, activation=NAME),
                        Dense(2, activation="softmax")], seed=1, dtype="float64")
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    assert assert_gradients_match(model, xb, np.eye(2)[labels]) == 6


def test_torch_engine_runs_its_torch_form_with_the_numpy_derivative(plugin):
    torch = pytest.importorskip("torch")
    from actlab.torch_engine.activations import native, torch_activation

    act = acts.get(NAME, a=0.75)
    assert native(act)                      # its own torch ops, not the host fallback
    x = np.array([-30.0, -3.0, -0.5, 0.0, 0.25, 1.0, 4.0, 30.0])
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = torch_activation(act)(t)
    y.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), act(x), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(t.grad.numpy(), act.derivative(x), rtol=1e-12, atol=1e-15)


def test_actlab_check_passes_it(plugin, monkeypatch):
    monkeypatch.delenv("ACTLAB_PLUGINS", raising=False)
    result = CliRunner().invoke(main, ["check", NAME, "--plugin", str(plugin), "--json", "-p", "a=0.5"])
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.stdout)
    statuses = {r["oracle"]: r["status"] for r in report["results"]}
    assert report["ok"] and statuses["central differences"] == "pass" and statuses["stability"] == "pass"


def test_playground_exports_it_and_the_script_evaluates_like_the_session(plugin, tmp_path, monkeypatch):
    from actlab.playground import protocol as P
    from actlab.playground.session import Session

    assert NAME in P.hidden_activations()
    session = Session(P.validate_config({"dataset": "moons", "seed": 3, "layers": [
        {"units": 5, "activation": NAME, "params": {"a": 1.5}}, {"units": 3, "activation": NAME}]}))
    session.step(40)
    msg = session.export()
    script = msg["script"]
    assert f"model.add(Activation({NAME!r}, a=1.5))" in script
    (tmp_path / msg["script_name"]).write_text(script)
    (tmp_path / msg["weights_name"]).write_bytes(base64.b64decode(msg["weights"]))
    monkeypatch.setattr(sys, "argv", [msg["script_name"]])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):   # in this process: the plugin is registered here
        runpy.run_path(str(tmp_path / msg["script_name"]), run_name="__main__")
    loss, _ = json.loads(out.getvalue().strip().split("test", 1)[1].strip())
    model = session.trainers[0].model
    expected = float(model.loss.value(session.y_test, model.predict(session.x_test)))
    # the script's points are rounded to 6 decimals
    assert loss == pytest.approx(expected, abs=2e-4)
