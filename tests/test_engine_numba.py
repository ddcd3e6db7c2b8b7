"""The training step's element-wise passes through numba (``actlab.engine.kernels.ELEMENTWISE``).

* the choice: ``ACTLAB_ELEMENTWISE`` / ``Elementwise.select`` parsing (a ValueError naming the
  valid values), ``auto`` falling back to NumPy where numba does not import, ``numba`` refusing;
* each kernel against the NumPy passes it replaces, bit for bit (the same float32 operations in
  the same order), with zeros of both signs, infinities and NaN among the inputs;
* whole training steps with the kernels against the same steps through NumPy (bit for bit) and
  against float64;
* a read-only installation (no writable cache directory): the kernels still compile and run.

The kernel tests skip where numba is not installed (``pip install 'actlab[fast]'``).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from actlab.engine import SGD, build_mlp, kernels

SRC = Path(kernels.__file__).resolve().parents[2]   # the directory holding the actlab package


@pytest.fixture
def elementwise():
    """``kernels.ELEMENTWISE`` with its state restored afterwards."""
    e = kernels.ELEMENTWISE
    saved = (e.choice, e.module)
    yield e
    e.choice, e.module = saved


def _numba_kernels():
    pytest.importorskip("numba")
    from actlab.engine import _numba_kernels

    return _numba_kernels


def _bits(a):
    return np.ascontiguousarray(a).view(np.uint32)


def _awkward(rng, shape):
    """float32 values with +-0, +-inf, NaN and subnormals among ordinary ones."""
    a = rng.standard_normal(shape).astype(np.float32)
    flat = a.reshape(-1)
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-40, 1.0, -1.0], np.float32)
    flat[: len(specials)] = specials
    rng.shuffle(flat)
    return a


@pytest.mark.parametrize("value, expected", [(None, "auto"), ("", "auto"), ("auto", "auto"), ("NumPy", "numpy"),
                                             (" numba ", "numba")])
def test_elementwise_choice_parsing(value, expected):
    assert kernels.parse_elementwise_choice(value) == expected


@pytest.mark.parametrize("value", ["fast", "1", "numpy,numba"])
def test_bad_elementwise_choice_names_the_value_and_the_valid_ones(value, elementwise):
    with pytest.raises(ValueError) as err:
        kernels.parse_elementwise_choice(value)
    assert repr(value) in str(err.value) and "auto, numpy, numba" in str(err.value)
    with pytest.raises(ValueError, match="ACTLAB_ELEMENTWISE"):
        elementwise.select(environ={"ACTLAB_ELEMENTWISE": value})


@pytest.mark.parametrize("command", [["list"], ["train", "--epochs", "1"]])
def test_a_bad_actlab_elementwise_is_one_line_at_startup_naming_it_and_the_choices(command):
    from click.testing import CliRunner

    from actlab.cli import main

    result = CliRunner().invoke(main, command, env={"ACTLAB_ELEMENTWISE": "fast"})
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert "ACTLAB_ELEMENTWISE='fast'" in line and all(c in line for c in kernels.ELEMENTWISE_CHOICES), line


def test_numpy_choice_never_loads_the_kernels(elementwise):
    assert elementwise.select(environ={"ACTLAB_ELEMENTWISE": "numpy"}) == "numpy"
    assert elementwise.module is None
    assert elementwise.select("numpy", environ={"ACTLAB_ELEMENTWISE": "numba"}) == "numpy"   # the argument wins


def test_without_numba_auto_is_numpy_and_numba_is_refused(elementwise, monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)   # import numba raises ImportError
    monkeypatch.delitem(sys.modules, "actlab.engine._numba_kernels", raising=False)
    import actlab.engine

    # an earlier step may have imported the kernels: `from . import` would find the attribute
    monkeypatch.delattr(actlab.engine, "_numba_kernels", raising=False)
    assert elementwise.select("auto") == "numpy"
    assert elementwise.module is None
    with pytest.raises(ValueError, match=r"needs numba .*auto, numpy"):
        elementwise.select("numba")
    # and a training step runs on NumPy's passes
    elementwise.choice = None
    monkeypatch.setenv("ACTLAB_ELEMENTWISE", "auto")
    model = build_mlp(5, "4", "relu", 3, seed=0)
    model.compile(optimizer=SGD(learning_rate=0.1), loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.train_step(rng.random((6, 5), dtype=np.float32), np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2]])
    assert elementwise.choice == "numpy" and elementwise.module is None


def test_with_numba_auto_takes_it(elementwise):
    nk = _numba_kernels()
    assert elementwise.select(environ={}) == "numba"
    assert elementwise.module is nk


def test_bias_add_equals_numpy_bit_for_bit():
    nk = _numba_kernels()
    rng = np.random.default_rng(1)
    z, b = _awkward(rng, (37, 29)), _awkward(rng, (29,))
    expected = z + b
    nk.bias_add(z, b)
    np.testing.assert_array_equal(_bits(z), _bits(expected))


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid"])
def test_activation_backward_equals_numpy_bit_for_bit(name):
    nk = _numba_kernels()
    rng = np.random.default_rng(2)
    y, g = _awkward(rng, (41, 23)), _awkward(rng, (41, 23))
    if name == "relu":
        y = np.maximum(y, 0, dtype=np.float32)  # a relu output: zeros (also -0), positives, inf, NaN
        y[0, :3] = [-0.0, 0.0, np.nan]
    with np.errstate(all="ignore"):   # inf * 0 and the like: NaN either way
        if name == "relu":
            expected = g * (y > 0).astype(np.float32)
        elif name == "tanh":
            expected = g * (np.float32(1) - y * y)
        else:
            expected = g * ((np.float32(1) - y) * y)
    assert expected.dtype == np.float32
    getattr(nk, f"{name}_backward")(y, g)
    np.testing.assert_array_equal(_bits(g), _bits(expected))


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid"])
def test_in_place_backward_with_numba_equals_the_numpy_kernel(name, elementwise):
    """The engine's in-place pair (``ACTIVATION_KERNELS``) gives the same bits either way."""
    _numba_kernels()
    from actlab import activations

    pair = kernels.ACTIVATION_KERNELS[getattr(activations.zoo, name)]
    rng = np.random.default_rng(3)
    z = rng.standard_normal((50, 40)).astype(np.float32) * 3
    zeros = np.zeros_like(z)
    results = []
    for choice in ("numpy", "numba"):
        elementwise.select(choice)
        y, g, tmp = np.empty_like(z), rng.standard_normal(z.shape).astype(np.float32), np.empty_like(z)
        g = np.random.default_rng(4).standard_normal(z.shape).astype(np.float32)
        pair.forward(z, y, zeros)
        pair.backward(y, g, tmp, zeros)
        results.append(g)
    np.testing.assert_array_equal(_bits(results[0]), _bits(results[1]))


@pytest.mark.parametrize("rate", [0.01, 0.1, 1.0, 3e-5, 0.0])
def test_sgd_update_equals_numpy_bit_for_bit(rate):
    nk = _numba_kernels()
    rng = np.random.default_rng(5)
    w, g = _awkward(rng, (1000,)), _awkward(rng, (1000,))
    with np.errstate(all="ignore"):
        expected = w - rate * g           # NumPy 2: the Python float is taken as float32
    assert expected.dtype == np.float32
    nk.sgd_update(w, g, np.float32(rate))
    np.testing.assert_array_equal(_bits(w), _bits(expected))


def test_sgd_update_through_kernels_keeps_numpy_rounding_for_a_float64_rate(elementwise):
    """A NumPy float64 rate makes NumPy's product float64 before its rounding to float32: that
    case stays in NumPy; a Python float takes the kernel, with the same bits."""
    _numba_kernels()
    rng = np.random.default_rng(6)
    w, g = rng.standard_normal(5000).astype(np.float32), rng.standard_normal(5000).astype(np.float32)
    for rate in (np.float64(0.01), 0.01):
        got = []
        for choice in ("numpy", "numba"):
            elementwise.select(choice)
            p = w.copy()
            kernels.sgd_update(p, g, rate, work=np.empty_like(w))
            got.append(p)
        np.testing.assert_array_equal(_bits(got[0]), _bits(got[1]))


def test_kernels_refuse_what_they_do_not_handle(elementwise):
    """Other dtypes and layouts: TypeError (kernels.py then takes NumPy's passes); shapes that do
    not match: ValueError (no read or write out of bounds)."""
    nk = _numba_kernels()
    a64 = np.ones((4, 3))
    with pytest.raises(TypeError):
        nk.bias_add(a64, np.ones(3))
    with pytest.raises(TypeError):
        nk.relu_backward(a64, a64.copy())
    a = np.ones((4, 6), np.float32)
    with pytest.raises(TypeError):
        nk.tanh_backward(a[:, ::2], a[:, ::2].copy())     # not contiguous
    with pytest.raises(ValueError):
        nk.bias_add(a, np.ones(5, np.float32))
    with pytest.raises(ValueError):
        nk.sigmoid_backward(a, np.ones((6, 4), np.float32))
    with pytest.raises(ValueError):
        nk.sgd_update(np.ones(3, np.float32), np.ones(4, np.float32), np.float32(0.1))
    # and through kernels.py such arrays take NumPy's passes
    elementwise.select("numba")
    z = np.arange(12.0).reshape(4, 3)
    assert not kernels._fused(nk.bias_add, z, np.ones(3))
    ops = kernels.FastDenseOps(kernels._acts.get("relu"), 3, 2, np.float64)
    out = ops.affine(np.ones((4, 2)), np.ones((2, 3)), np.arange(3.0))
    np.testing.assert_array_equal(out, np.full((4, 3), 2.0) + np.arange(3.0))


def _train(act, choice, dtype="float32", steps=3):
    kernels.ELEMENTWISE.select(choice)
    rng = np.random.default_rng(7)
    x = rng.random((32, 12)).astype(dtype)
    y = np.eye(4, dtype=dtype)[rng.integers(0, 4, 32)]
    model = build_mlp(12, "16x2", act, 4, seed=8, dtype=dtype)
    model.compile(optimizer=SGD(learning_rate=0.05), loss="categorical_crossentropy")
    for _ in range(steps):
        model.train_step(x, y)
    return model.get_weights()


@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid"])
def test_training_steps_with_numba_equal_the_numpy_steps(act, elementwise, monkeypatch):
    nk = _numba_kernels()
    calls = {}
    for name in ("bias_add", "relu_backward", "tanh_backward", "sigmoid_backward", "sgd_update"):
        real = getattr(nk, name)
        monkeypatch.setattr(nk, name, lambda *a, _r=real, _n=name: calls.setdefault(_n, []).append(1) or _r(*a))
    plain = _train(act, "numpy")
    assert not calls
    fast = _train(act, "numba")
    assert {"bias_add", f"{act}_backward", "sgd_update"} <= set(calls)   # the kernels ran
    for a, b in zip(plain, fast):
        np.testing.assert_array_equal(_bits(a), _bits(b))
    # and float64 (which the kernels leave to NumPy) agrees to float32 precision
    for a, b in zip(_train(act, "numba", "float64"), fast):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)


_READ_ONLY_SCRIPT = """
import os, sys
import numpy as np
from actlab.engine import kernels
assert kernels.__file__.startswith(sys.argv[1]), kernels.__file__
assert kernels.ELEMENTWISE.select("numba") == "numba"
m = kernels.ELEMENTWISE.module
z = np.ones((3, 4), np.float32)
m.bias_add(z, np.arange(4, dtype=np.float32))
assert (z == np.arange(1, 5, dtype=np.float32)).all()
print("OK", type(m.bias_add._cache).__name__)
"""


def test_a_read_only_installation_still_runs_the_kernels(tmp_path):
    """No writable cache directory (NUMBA_CACHE_DIR unset, the package and HOME read-only): the
    kernels compile in memory and nothing is written. (Root writes through file modes, so the
    package's ``__pycache__`` and HOME are also regular files here: no one can create a
    directory under them.)"""
    _numba_kernels()
    site = tmp_path / "site"
    shutil.copytree(SRC / "actlab", site / "actlab", ignore=shutil.ignore_patterns("__pycache__"))
    (site / "actlab" / "engine" / "__pycache__").write_text("")
    home = tmp_path / "home"
    home.write_text("")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    for d, _, files in os.walk(site):
        for f in files:
            os.chmod(os.path.join(d, f), 0o444)
        os.chmod(d, 0o555)
    numba_dir = Path(sys.modules["numba"].__file__).parents[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "XDG_"))}
    env.update(HOME=str(home), PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=os.pathsep.join([str(site), str(numba_dir)]))
    try:
        proc = subprocess.run([sys.executable, "-c", _READ_ONLY_SCRIPT, str(site)], capture_output=True,
                              text=True, env=env, cwd=str(tmp_path), timeout=240)
    finally:
        for d, _, _ in os.walk(site):
            os.chmod(d, 0o755)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["OK", "NullCache"], proc.stdout   # compiled in memory, no cache
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before, "nothing written"
