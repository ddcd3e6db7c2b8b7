"""``actlab train``: its result equals the same run through the Python API; errors exit 2 (or 1)."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from actlab import datasets
from actlab.cli import main
from actlab.engine import SGD, Adam, Dense, PReLU, Sequential


def invoke(*args):
    return CliRunner().invoke(main, ["train", *args])


def api_run(act_layers, hidden, *, seed, epochs, lr, batch_size, optimizer=None):
    """The same training written directly against the engine (no build_mlp, no CLI code)."""
    data = datasets.load("digits", seed=seed)
    eye = np.eye(10, dtype=np.float32)
    model = Sequential(seed=seed)
    width = 64
    for units in hidden:
        model.add(Dense(units, input_dim=width, **act_layers["dense"]))
        for layer in act_layers["after"]():
            model.add(layer)
        width = units
    model.add(Dense(10, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer=optimizer or SGD(learning_rate=lr),
                  metrics=["accuracy"])
    model.fit(data.x_train, eye[data.y_train], epochs=epochs, batch_size=batch_size, verbose=0)
    return model.evaluate(data.x_test, eye[data.y_test], verbose=0), data


def test_train_digits_matches_python_api():
    result = invoke("--dataset", "digits", "--activation", "tanh", "--hidden", "32x2", "--epochs", "4",
                    "--lr", "0.1", "--batch-size", "50", "--seed", "3")
    assert result.exit_code == 0, result.output
    (loss, acc), data = api_run({"dense": {"activation": "tanh"}, "after": list}, [32, 32], seed=3, epochs=4,
                                lr=0.1, batch_size=50)
    assert acc > 0.5        # it learned something, so equality below is not a coincidence of chance
    m = re.search(r"test accuracy: ([0-9.]+) \((\d+)/(\d+)\)", result.output)
    assert m, result.output
    assert float(m.group(1)) == pytest.approx(acc, abs=5e-5)
    assert int(m.group(2)) == round(acc * data.n_test) and int(m.group(3)) == data.n_test
    assert result.output.count("epoch ") == 4      # one progress line per epoch (no terminal)
    assert "64-32-32-10" in result.output


def test_train_json_prelu_param_and_adam_match_api():
    result = invoke("--dataset", "digits", "--activation", "prelu", "--param", "alpha=0.25", "--hidden", "24",
                    "--epochs", "3", "--optimizer", "adam", "--lr", "0.005", "--batch-size", "64", "--seed", "1",
                    "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    (loss, acc), _ = api_run({"dense": {}, "after": lambda: [PReLU(alpha_initializer=0.25)]}, [24], seed=1,
                             epochs=3, lr=None, batch_size=64, optimizer=Adam(learning_rate=0.005))
    assert out["status"] == "done"
    assert out["test_accuracy"] == acc
    assert out["test_loss"] == pytest.approx(loss, rel=1e-6)
    assert out["history"]["val_accuracy"][-1] == acc
    assert out["config"]["activation"] == {"name": "prelu", "alpha": 0.25}
    assert len(out["history"]["loss"]) == 3


def test_train_save_weights(tmp_path):
    path = tmp_path / "w.npz"
    result = invoke("--dataset", "digits", "--hidden", "8", "--epochs", "1", "--save-weights", str(path), "-q")
    assert result.exit_code == 0, result.output
    with np.load(path, allow_pickle=False) as data:
        shapes = [data[k].shape for k in sorted(data.files) if k.startswith("w")]
    assert shapes == [(64, 8), (8,), (8, 10), (10,)]


def test_bad_activation_exits_2_naming_it():
    result = invoke("--activation", "rleu", "--epochs", "1")
    assert result.exit_code == 2
    assert "'rleu'" in result.output and "relu" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("hidden", ["20y", "0x-1", "abc"])
def test_bad_hidden_exits_2(hidden):
    result = invoke("--hidden", hidden, "--epochs", "1")
    assert result.exit_code == 2
    assert repr(hidden) in result.output


@pytest.mark.parametrize("args,needle", [
    (["--dataset", "mnistt"], "'mnistt'"),
    (["--optimizer", "adagrad"], "adagrad"),
    (["--param", "alpha"], "NAME=VALUE"),
    (["--activation", "relu", "--param", "alpha=0.1"], "'alpha'"),
    (["--optimizer", "adam", "--momentum", "0.9"], "--momentum"),
    (["--save-weights", "w.h5"], ".npz"),
    (["--official-split"], "--official-split"),
    (["--init", "glorot_unifrom"], "glorot_uniform"),
])
def test_user_errors_exit_2(args, needle):
    result = invoke(*args, "--epochs", "1", "--hidden", "4")
    assert result.exit_code == 2, result.output
    assert needle in result.output


@pytest.mark.parametrize("value, shown", [("abc", "'abc'"), ("nan", "'nan'"), ("NaN", "nan"), ("Infinity", "inf")])
def test_a_parameter_outside_its_domain_exits_2_with_one_line(value, shown):
    result = invoke("--activation", "leaky_relu", "--param", f"alpha={value}", "--epochs", "1", "--hidden", "4")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (f"actlab: error: invalid value {shown} for parameter alpha of leaky_relu: "
                                     "expected a finite number (the slope for x < 0)")


def test_mnist_missing_data_exits_2(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    for var in ("ACTLAB_DATA", "MNIST_DIR", "XDG_CACHE_HOME", "KERAS_HOME", "ACTLAB_DOWNLOAD"):
        monkeypatch.delenv(var, raising=False)
    result = invoke("--dataset", "mnist", "--data-dir", str(tmp_path / "nowhere"), "--epochs", "1")
    assert result.exit_code == 2
    assert "nowhere" in result.output


def test_diverged_exits_1_with_one_line():
    result = invoke("--dataset", "digits", "--activation", "linear", "--hidden", "16", "--epochs", "3",
                    "--lr", "1e6", "--raw-pixels", "-q")
    assert result.exit_code == 1
    lines = [s for s in result.output.splitlines() if "diverged" in s]
    assert len(lines) == 1 and re.search(r"epoch \d+, batch \d+", lines[0])
    assert "Traceback" not in result.output
    result = invoke("--dataset", "digits", "--activation", "linear", "--hidden", "16", "--epochs", "3",
                    "--lr", "1e6", "--raw-pixels", "--json")
    assert result.exit_code == 1
    assert json.loads(result.output)["status"] == "diverged"


def test_train_mnist_notes_protocol_with_samples(mnist_dir):
    result = invoke("--dataset", "mnist", "--samples", "10000", "--data-dir", str(mnist_dir), "--hidden", "32",
                    "--epochs", "2", "--lr", "0.1", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert (out["config"]["n_train"], out["config"]["n_test"]) == (8000, 2000)   # 10,000 drawn, 80/20
    assert out["test_accuracy"] > 0.8


def test_circle_needs_a_nonlinearity():
    """The notes' TensorFlow Playground point: a linear network cannot separate the circle, tanh can."""
    accs = {}
    for act in ("linear", "tanh"):
        result = invoke("--dataset", "circle", "--noise", "0.05", "--activation", act, "--hidden", "8x2",
                        "--optimizer", "adam", "--lr", "0.03", "--epochs", "60", "--batch-size", "10", "--json")
        assert result.exit_code == 0, result.output
        accs[act] = json.loads(result.output)["test_accuracy"]
    assert accs["linear"] < 0.75
    assert accs["tanh"] > 0.9


def test_train_engine_torch_agrees_with_the_engine_api():
    pytest.importorskip("torch")
    result = invoke("--dataset", "digits", "--activation", "tanh", "--hidden", "32x2", "--epochs", "4",
                    "--lr", "0.1", "--batch-size", "50", "--seed", "3", "--engine", "torch", "--device", "cpu",
                    "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    # the oracle: the NumPy engine through its own API, same seed (same weights and batch order)
    (loss, acc), _ = api_run({"dense": {"activation": "tanh"}, "after": list}, [32, 32], seed=3, epochs=4,
                             lr=0.1, batch_size=50)
    assert out["config"]["engine"] == "torch"
    assert out["test_accuracy"] == pytest.approx(acc, abs=1.5 / 360)   # float32 rounding may move one sample
    assert out["test_loss"] == pytest.approx(loss, rel=1e-4)
    assert len(out["history"]["loss"]) == 4


def test_train_engine_torch_diverged_exits_1():
    pytest.importorskip("torch")
    result = invoke("--dataset", "digits", "--activation", "linear", "--hidden", "16", "--epochs", "3",
                    "--lr", "1e6", "--raw-pixels", "--engine", "torch", "--device", "cpu")
    assert result.exit_code == 1, result.output
    lines = [s for s in result.output.splitlines() if "diverged" in s]
    assert len(lines) == 1 and re.search(r"epoch \d+, batch \d+", lines[0])


def test_train_warns_on_a_busy_machine(monkeypatch):
    """At a load average of 8 on 2 cores, BLAS threads spin-wait (docs/speed.md): ``actlab train``
    says how to avoid it, once, on stderr; with OPENBLAS_NUM_THREADS set it says nothing."""
    import os

    monkeypatch.setattr(os, "getloadavg", lambda: (8.0, 8.0, 8.0))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    args = ("--dataset", "digits", "--hidden", "8", "--epochs", "1", "--samples", "200")
    result = CliRunner().invoke(main, ["train", *args])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("the machine is busy (load 8.0)") == 1
    assert "OPENBLAS_NUM_THREADS=1" in result.stderr
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    result = CliRunner().invoke(main, ["train", *args])
    assert result.exit_code == 0, result.output
    assert "busy" not in result.output


def test_busy_machine_rule():
    from actlab.engine.kernels import busy_machine_blas_threads as rule

    assert rule(load=1.6, cores=2, environ={}) == 1
    assert rule(load=1.4, cores=2, environ={}) is None
    assert rule(load=0.0, cores=2, environ={}) is None
    assert rule(load=30.0, cores=1, environ={}) is None                 # one core: one thread anyway
    assert rule(load=9.0, cores=2, environ={"OMP_NUM_THREADS": "2"}) is None   # the user's choice
    assert rule(load=7.6, cores=8, environ={}) == 1


@pytest.mark.parametrize("command", [["list"], ["train", "--epochs", "1"], ["depth", "--help"]])
def test_a_bad_actlab_gemm_is_one_line_at_startup_naming_it_and_the_choices(command):
    """ACTLAB_GEMM is checked when ``actlab`` starts, for every command (not first inside fit)."""
    from actlab.engine.kernels import GEMM_CHOICES

    result = CliRunner().invoke(main, command, env={"ACTLAB_GEMM": "blas"})
    assert result.exit_code == 2, result.output
    assert result.stdout == ""                        # nothing ran: no table, no epoch line, no help
    (line,) = result.stderr.strip().splitlines()
    assert "ACTLAB_GEMM='blas'" in line and all(choice in line for choice in GEMM_CHOICES), line


@pytest.mark.parametrize("value", ["", "auto", " NumPy ", "torch"])
def test_a_valid_actlab_gemm_is_accepted_at_startup(value):
    result = CliRunner().invoke(main, ["list"], env={"ACTLAB_GEMM": value})
    assert result.exit_code == 0, result.output
