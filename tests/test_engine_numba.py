"""The training step's element-wise passes through numba (``actlab.engine.kernels.ELEMENTWISE``).

* the choice: ``ACTLAB_ELEMENTWISE`` / ``Elementwise.select`` parsing (a ValueError naming the
  valid values), ``auto`` falling back to NumPy where numba does not import, ``numba`` refusing;
* each kernel against the NumPy passes it replaces, bit for bit (the same float32 operations in
  the same order), with zeros of both signs, infinities and NaN among the inputs;
* the float32 tanh kernel (evaluated in float64), which is not NumPy's bits: against float64's
  tanh in ulps over every exponent range (at most 0.5002 ulp), odd bit for bit, against a NumPy
  transcription of its algorithm (bit for bit), and the same check failing for a truncated or a
  float32 evaluation of that algorithm;
* whole training steps with the kernels against the same steps through NumPy (bit for bit; a tanh
  network to float32 rounding, as its tanh differs by an ulp) and against float64;
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
    """The engine's in-place pair (``ACTIVATION_KERNELS``) gives the same bits either way, from
    the same forward output (tanh's forward differs by an ulp: the next test)."""
    _numba_kernels()
    from actlab import activations

    pair = kernels.ACTIVATION_KERNELS[getattr(activations.zoo, name)]
    rng = np.random.default_rng(3)
    z = rng.standard_normal((50, 40)).astype(np.float32) * 3
    zeros = np.zeros_like(z)
    elementwise.select("numpy")
    y = np.empty_like(z)
    pair.forward(z, y, zeros)
    results = []
    for choice in ("numpy", "numba"):
        elementwise.select(choice)
        g, tmp = np.random.default_rng(4).standard_normal(z.shape).astype(np.float32), np.empty_like(z)
        pair.backward(y, g, tmp, zeros)
        results.append(g)
    np.testing.assert_array_equal(_bits(results[0]), _bits(results[1]))


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid"])
def test_in_place_forward_with_numba(name, elementwise, monkeypatch):
    """relu and sigmoid: the same bits either way; tanh: numba's kernel (float64 inside), the
    correctly rounded float64 tanh here, within 2 ulp of NumPy's float32 tanh (1.36 ulp off)."""
    nk = _numba_kernels()
    from actlab import activations

    calls = []
    real = nk.tanh_forward
    monkeypatch.setattr(nk, "tanh_forward", lambda z, y: (real(z, y), calls.append(z.shape)))   # calls done
    pair = kernels.ACTIVATION_KERNELS[getattr(activations.zoo, name)]
    z = _awkward(np.random.default_rng(9), (50, 40)) * np.float32(3)
    zeros = np.zeros_like(z)
    results = []
    for choice in ("numpy", "numba"):
        elementwise.select(choice)
        y = np.full_like(z, 7.0)
        with np.errstate(all="ignore"):
            pair.forward(z, y, zeros)
        results.append(y)
    assert calls == ([z.shape] if name == "tanh" else [])
    if name != "tanh":
        np.testing.assert_array_equal(_bits(results[0]), _bits(results[1]))
        return
    np.testing.assert_array_equal(_bits(results[1]), _bits(np.tanh(z.astype(np.float64)).astype(np.float32)))
    np.testing.assert_array_max_ulp(results[1], results[0], maxulp=2)
    # float64 arrays (and anything else the kernel's signature refuses) take NumPy's tanh
    z64, y64 = z.astype(np.float64), np.empty(z.shape)
    with np.errstate(all="ignore"):
        pair.forward(z64, y64, np.zeros_like(z64))
    np.testing.assert_array_equal(y64, np.tanh(z64))
    assert len(calls) == 1


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
    with pytest.raises(ValueError):
        nk.tanh_forward(a, np.ones((6, 4), np.float32))
    with pytest.raises(TypeError):
        nk.tanh_forward(a64, a64.copy())
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
    """relu and sigmoid: the same bits as NumPy's passes. tanh: its forward kernel is not NumPy's
    float32 tanh (it is the correctly rounded one, NumPy's is up to 1.36 ulp off), so the
    weights after three steps agree to float32 rounding instead (measured: at most 3.0e-8 apart)."""
    nk = _numba_kernels()
    calls = {}
    for name in ("bias_add", "relu_backward", "tanh_backward", "sigmoid_backward", "sgd_update", "tanh_forward"):
        real = getattr(nk, name)
        monkeypatch.setattr(nk, name, lambda *a, _r=real, _n=name: calls.setdefault(_n, []).append(1) or _r(*a))
    plain = _train(act, "numpy")
    assert not calls
    fast = _train(act, "numba")
    assert {"bias_add", f"{act}_backward", "sgd_update"} <= set(calls)   # the kernels ran
    assert ("tanh_forward" in calls) == (act == "tanh")
    for a, b in zip(plain, fast):
        if act == "tanh":
            np.testing.assert_allclose(b, a, rtol=2e-6, atol=2e-7)
        else:
            np.testing.assert_array_equal(_bits(a), _bits(b))
    # and float64 (which the kernels leave to NumPy) agrees to float32 precision
    for a, b in zip(_train(act, "numba", "float64"), fast):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)


def test_a_tanh_epoch_with_numba_agrees_with_numpy_and_float64(elementwise):
    """An epoch (10 steps) of a 784-200x2-10 tanh network, the notes' widths and batch: numba's
    tanh against NumPy's (float32) and against the same network in float64; the numba run is no
    further from float64 than NumPy's run (its tanh is the more accurate one)."""
    _numba_kernels()
    rng = np.random.default_rng(11)
    x = rng.random((1000, 784), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 1000)]
    runs = {}
    for choice, dtype in [("numpy", "float32"), ("numba", "float32"), ("numpy", "float64")]:
        elementwise.select(choice)
        model = build_mlp(784, "200x2", "tanh", 10, seed=12, dtype=dtype)
        model.compile(optimizer=SGD(learning_rate=0.01), loss="categorical_crossentropy")
        history = model.fit(x.astype(dtype), y.astype(dtype), epochs=1, batch_size=100, shuffle=False, verbose=0)
        runs[choice, dtype] = history.history["loss"], model.get_weights()
    (loss_np, w_np), (loss_nb, w_nb), (loss_64, w_64) = runs.values()
    np.testing.assert_allclose(loss_nb, loss_np, rtol=1e-6)
    np.testing.assert_allclose(loss_nb, loss_64, rtol=1e-5)
    for a, b, c in zip(w_np, w_nb, w_64):   # measured: 1.5e-8 and 4.3e-8 apart at most (|w| < 0.17)
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=2e-7)
        np.testing.assert_allclose(b, c, rtol=1e-5, atol=2e-7)
    err_nb = max(np.abs(b - c).max() for b, c in zip(w_nb, w_64))
    err_np = max(np.abs(a - c).max() for a, c in zip(w_np, w_64))
    assert err_nb <= 1.5 * err_np, (err_nb, err_np)


# -- the float32 tanh kernel against float64 -----------------------------------------------------
def _ulps(y32, x32):
    """|y - tanh(x)| in float32 ulps of the exact value (float64's tanh), per element: the
    spacing of float32 numbers in the binade of |tanh(x)|, 2^-149 below the normal range."""
    ref = np.tanh(x32.astype(np.float64))
    _, exponent = np.frexp(ref)
    ulp = np.ldexp(1.0, np.maximum(exponent - 24, -149))
    return np.abs(y32.astype(np.float64) - ref) / ulp


def _tanh_inputs():
    """float32 inputs of every range where tanh's float32 value behaves differently, both signs."""
    rng = np.random.default_rng(13)
    f32 = np.float32
    pos = [
        np.arange(1, 4096, dtype=np.uint32).view(f32),                      # subnormals
        np.geomspace(1e-45, 1e-8, 20_000).astype(f32),                      # tanh(x) = x in float32
        np.geomspace(1e-8, 1e-3, 50_000).astype(f32),
        np.geomspace(1e-3, 0.1, 50_000).astype(f32),
        np.linspace(0.1, 1, 200_000, dtype=f32),
        np.linspace(1, 9.2, 800_000, dtype=f32),                              # densely
        np.arange(np.float32(8.99).view(np.uint32), np.float32(9.03).view(np.uint32)).view(f32),  # float32
        np.geomspace(9.2, 3.4e38, 10_000).astype(f32),                       # tanh becomes 1 near 9.01
        np.array([3.9522567, 10.0, 3.4028235e38, np.inf], f32),               # the measured worst; the clamp
        (rng.random(200_000) * 10).astype(f32),
        np.abs(rng.standard_normal(200_000).astype(f32) * 3),
        rng.integers(0, 0x7F800000, 200_000, dtype=np.uint32).view(f32),   # every exponent, uniformly
    ]
    x = np.concatenate(pos)
    return np.concatenate([x, -x])


def _tanh_by_doublings(x, dtype=np.float64, terms=7):
    """A NumPy transcription of ``_numba_kernels.tanh_forward``'s algorithm (``terms=7``, float64:
    the same operations in the same order), or a worse one: a shorter Taylor polynomial or float32
    arithmetic, for the tests' checks to reject."""
    from math import factorial

    t = np.dtype(dtype).type
    c = [t(1 / factorial(k)) for k in range(1, 8)]    # 1/1!, ..., 1/7!
    with np.errstate(invalid="ignore"):
        z = x.astype(dtype)
        a = np.abs(z)
        a = np.where(a > 10, t(10), a)
        s = a * t(1 / 16)
        if terms == 7:
            s2 = s * s
            m = s * (((c[0] + s * c[1]) + s2 * (c[2] + s * c[3])) + (s2 * s2) * ((c[4] + s * c[5]) + s2 * c[6]))
        else:
            p = c[terms - 1]
            for ck in c[terms - 2::-1]:
                p = ck + s * p
            m = s * p
        for _ in range(5):
            m = m * (t(2) + m)
        return np.copysign(m / (m + t(2)), z).astype(np.float32)


def test_tanh_kernel_is_within_half_an_ulp_of_float64():
    """At most 0.5002 ulp from float64's tanh: the correctly rounded float32 but within 6.6e-12
    (relative) of a tie. Measured over every float32 in [0, 10] (1.09e9 values): 0.50011 ulp at
    3.9522567, 1,165 values not correctly rounded. NumPy's float32 tanh is 1.36 ulp off, and this
    check rejects the same algorithm evaluated in float32 or with 3 Taylor terms (next test)."""
    nk = _numba_kernels()
    x = _tanh_inputs()
    y = np.empty_like(x)
    nk.tanh_forward(x.reshape(2, -1), y.reshape(2, -1))
    err = _ulps(y, x)
    assert err.max() <= 0.5002, (err.max(), x[err.argmax()])
    assert np.mean(y != np.tanh(x.astype(np.float64)).astype(np.float32)) < 1e-4   # correctly rounded (2.7e-5)
    # the kernel is the documented algorithm, bit for bit
    np.testing.assert_array_equal(_bits(y), _bits(_tanh_by_doublings(x)))
    # the special values: +-0 keep their sign, +-inf give +-1, NaN stays NaN
    special = np.array([[0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-45, -1e-45, 9.02, -9.02]], np.float32)
    out = np.empty_like(special)
    nk.tanh_forward(special, out)
    np.testing.assert_array_equal(out[0, [0, 1, 2, 3, 6, 7, 8, 9]],
                                  np.float32([0.0, -0.0, 1.0, -1.0, 1e-45, -1e-45, 1.0, -1.0]))
    assert list(np.signbit(out[0, :2])) == [False, True]
    assert np.isnan(out[0, 4:6]).all()


@pytest.mark.parametrize("dtype, terms", [(np.float32, 7), (np.float64, 3), (np.float64, 5), (np.float64, 6)])
def test_the_ulp_check_rejects_a_worse_evaluation(dtype, terms):
    """The same algorithm in float32 arithmetic (measured: 8 ulp), or with the expm1 polynomial
    cut to 3, 5 or 6 terms (175, 0.64 and 0.5038 ulp), is more than 0.5002 ulp off on the same
    inputs: the check above can fail. (NumPy's own float32 tanh: 1.37 ulp.)"""
    x = _tanh_inputs()
    assert _ulps(_tanh_by_doublings(x, dtype, terms), x).max() > 0.5002
    assert _ulps(np.tanh(x), x).max() > 1


def test_tanh_kernel_is_odd_bit_for_bit():
    nk = _numba_kernels()
    x = np.abs(_awkward(np.random.default_rng(14), (300, 200)) * np.float32(4))
    y_pos, y_neg = np.empty_like(x), np.empty_like(x)
    nk.tanh_forward(x, y_pos)
    nk.tanh_forward(-x, y_neg)
    np.testing.assert_array_equal(_bits(y_neg), _bits(-y_pos))


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
