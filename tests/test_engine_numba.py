"""The training step's element-wise passes through numba (``actlab.engine.kernels.ELEMENTWISE``).

* the choice: ``ACTLAB_ELEMENTWISE`` / ``Elementwise.select`` parsing (a ValueError naming the
  valid values), ``auto`` falling back to NumPy where numba does not import, ``numba`` refusing;
* each kernel against the NumPy passes it replaces, bit for bit (the same float32 operations in
  the same order), with zeros of both signs, infinities and NaN among the inputs;
* the float32 tanh kernel, which is not NumPy's bits: against float64's tanh in ulps over every
  exponent range (at most 0.985 ulp), odd bit for bit, against a NumPy transcription of its
  algorithm (bit for bit, its fused multiply-adds emulated exactly), and the same check failing
  for worse variants of that algorithm;
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
    """relu and sigmoid: the same bits either way; tanh: numba's kernel, within 1 ulp of the
    correctly rounded tanh and 2 ulp of NumPy's float32 tanh (1.36 ulp off)."""
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
    expected = np.empty_like(z)
    real(z, expected)
    np.testing.assert_array_equal(_bits(results[1]), _bits(expected))
    np.testing.assert_array_max_ulp(results[1], np.tanh(z.astype(np.float64)).astype(np.float32), maxulp=1)
    np.testing.assert_array_max_ulp(results[1], results[0], maxulp=2)
    # float64 arrays (and anything else the kernel's signature refuses) take NumPy's tanh
    z64, y64 = z.astype(np.float64), np.empty(z.shape)
    with np.errstate(all="ignore"):
        pair.forward(z64, y64, np.zeros_like(z64))
    np.testing.assert_array_equal(y64, np.tanh(z64))
    assert len(calls) == 1


@pytest.mark.parametrize("name", ["relu", "tanh", "sigmoid"])
def test_backward_with_the_bias_sum_equals_backward_then_np_sum(name):
    """``backward_sum(y, g, sums, kind)``: the bits of ``<f>_backward`` for the gradient and of
    ``np.sum(g, axis=0)`` (rows added in order) for the bias gradient; shapes that do not match,
    and an unknown kind, are refused."""
    nk = _numba_kernels()
    rng = np.random.default_rng(13)
    with np.errstate(invalid="ignore"):   # inf % 1 is NaN: a NaN output among the others
        y = np.tanh(_awkward(rng, (100, 37))) if name == "tanh" else np.abs(_awkward(rng, (100, 37))) % 1
    g = _awkward(rng, (100, 37))
    g[np.isnan(g) | np.isinf(g)] = 0.5    # finite gradients, so that the sums compare bit for bit
    expected = g.copy()
    getattr(nk, f"{name}_backward")(y, expected)
    got, sums = g.copy(), np.full(37, np.nan, np.float32)
    with np.errstate(all="ignore"):
        nk.backward_sum(y, got, sums, getattr(nk, name.upper()))
        np.testing.assert_array_equal(_bits(got), _bits(expected))
        np.testing.assert_array_equal(_bits(sums), _bits(np.sum(expected, axis=0)))
    np.testing.assert_allclose(sums, expected.astype(np.float64).sum(axis=0), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError):
        nk.backward_sum(y, got, np.empty(36, np.float32), getattr(nk, name.upper()))
    with pytest.raises(ValueError):
        nk.backward_sum(y, got, sums, 3)
    plain = np.full(37, np.nan, np.float32)
    nk.column_sum(expected, plain)          # the sums of any activation's gradient: the same bits
    np.testing.assert_array_equal(_bits(plain), _bits(sums))
    with pytest.raises(ValueError):
        nk.column_sum(expected, np.empty(36, np.float32))


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


KERNELS = ("bias_add", "relu_backward", "tanh_backward", "sigmoid_backward", "sgd_update", "tanh_forward",
           "softmax_forward", "cce_value_and_delta", "count_correct", "backward_sum", "column_sum")


@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid"])
def test_training_steps_with_numba_equal_the_numpy_steps(act, elementwise, monkeypatch):
    """With NumPy's softmax and NumPy's bias sums, relu and sigmoid steps give the same bits as
    NumPy's passes (the cross-entropy kernel's delta has NumPy's bits too). Three kernels are not
    NumPy's fast path's bits: the softmax (its exponential is float64's, rounded; NumPy's float32
    exp is its own approximation), tanh (within 1 ulp of the exact one, NumPy's up to 1.36 ulp
    off) and the derivative passes that also sum the bias gradient (``np.sum``'s order, where the
    NumPy path takes a BLAS matrix-vector product); with them the weights after three steps agree
    to float32 rounding (measured: at most 3.0e-8 apart)."""
    nk = _numba_kernels()
    calls = {}
    for name in KERNELS:
        real = getattr(nk, name)
        monkeypatch.setattr(nk, name, lambda *a, _r=real, _n=name: calls.setdefault(_n, []).append(1) or _r(*a))
    plain = _train(act, "numpy")
    assert not calls
    fast = _train(act, "numba")
    assert {"bias_add", "backward_sum", "sgd_update", "softmax_forward", "cce_value_and_delta"} <= set(calls)
    assert ("tanh_forward" in calls) == (act == "tanh")
    for a, b in zip(plain, fast):
        np.testing.assert_allclose(b, a, rtol=2e-6, atol=2e-7)
    if act != "tanh":
        def refuse(*arrays):
            raise TypeError("as for arrays the kernel does not take: kernels.py takes NumPy's passes")
        for name in ("softmax_forward", "backward_sum", "column_sum"):
            monkeypatch.setattr(nk, name, refuse)
        calls.clear()
        same = _train(act, "numba")
        assert {"bias_add", f"{act}_backward", "sgd_update", "cce_value_and_delta"} <= set(calls)
        for a, b in zip(plain, same):
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


# -- the output layer's kernels: softmax, cross-entropy and delta, the correct count ------------------
def _output_rows(rng, n=200, m=10):
    """Logits with ties, large ranges and the NaN/inf cases of a diverging run among ordinary rows."""
    z = (rng.standard_normal((n, m)) * rng.choice([0.1, 1.0, 10.0, 60.0], size=(n, 1))).astype(np.float32)
    z[0] = 0.0                                  # all tied
    z[1, 3] = z[1, 7] = 50.0                    # two tied maxima
    z[2, 4] = -200.0                            # an exponential that underflows
    return z


def test_softmax_kernel_is_within_an_ulp_of_float64():
    nk = _numba_kernels()
    z = _output_rows(np.random.default_rng(21))
    p = np.empty_like(z)
    nk.softmax_forward(z, p)
    d = (z - z.max(axis=1, keepdims=True)).astype(np.float64)
    exact = np.exp(d) / np.exp(d).sum(axis=1, keepdims=True)
    np.testing.assert_array_max_ulp(p, exact.astype(np.float32), maxulp=1)
    from actlab.activations import zoo
    ours = np.testing.assert_array_max_ulp(p, exact.astype(np.float32), maxulp=1).max()
    numpys = np.testing.assert_array_max_ulp(zoo.softmax(z), exact.astype(np.float32), maxulp=50).max()
    assert ours <= numpys, (ours, numpys)        # measured: 1 against 3 ulp
    bad = np.array([[0.0, np.nan, 1.0], [np.inf, 0.0, 1.0]], np.float32)
    out = np.empty_like(bad)
    nk.softmax_forward(bad, out)
    with np.errstate(invalid="ignore"):
        expected = zoo.softmax(bad)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(expected))   # NaN wherever NumPy's has one


def test_cross_entropy_kernel_value_and_delta():
    """The delta has the bits of ``Loss.fused_delta``; the value is the clipped cross-entropy's
    (against float64 of the same formula, and NumPy's float32 one to its rounding)."""
    nk = _numba_kernels()
    from actlab.activations import zoo
    from actlab.engine import losses

    rng = np.random.default_rng(22)
    z = _output_rows(rng)
    p = zoo.softmax(z)
    p[5, :] = 0.0
    p[5, 2] = 1.0                                # clipped at both ends
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, len(p))]
    delta = np.full_like(p, np.nan)
    value = nk.cce_value_and_delta(y, p, delta)
    loss = losses.get("categorical_crossentropy")
    np.testing.assert_array_equal(_bits(delta), _bits(loss.fused_delta(y, p)))
    clipped = np.clip(p.astype(np.float64), np.float32(1e-7), np.float32(1 - 1e-7))
    exact = -(y * np.log(clipped)).sum() / len(p)
    assert value == pytest.approx(exact, rel=1e-12)
    assert value == pytest.approx(losses.categorical_crossentropy(y, p), rel=1e-6)
    p[7, 1] = np.nan
    assert np.isnan(nk.cce_value_and_delta(y, p, delta))


def test_count_correct_kernel_equals_argmax():
    nk = _numba_kernels()
    rng = np.random.default_rng(23)
    p = _output_rows(rng)
    p[3, 5] = np.nan                             # np.argmax takes the first NaN
    p[4, [2, 6]] = np.nan
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, len(p))]
    y[0] = 0.0                                   # a row without a label: argmax 0
    y[1, [3, 7]] = 1.0
    y[2] = p[2] > 0                              # ties in the targets too
    y[3, 5] = 1.0
    y[4, 2] = 1.0
    for k in range(3):                           # several columns agreeing, to count > 1
        y[10 + k] = 0.0
        y[10 + k, np.argmax(p[10 + k])] = 1.0
    expected = int(np.count_nonzero(p.argmax(axis=1) == y.argmax(axis=1)))
    assert nk.count_correct(y, p) == expected and expected >= 5
    with pytest.raises(TypeError):
        nk.count_correct(y.astype(np.float64), p.astype(np.float64))
    with pytest.raises(ValueError):
        nk.count_correct(y[:, :5].copy(), p)


def test_the_output_kernels_run_in_fit_and_agree_with_numpy(elementwise, monkeypatch):
    """A short fit with accuracy: numba's output kernels run (each step) and give the loss and the
    accuracy of the NumPy path to float32 rounding; float64 (not taken by the kernels) agrees."""
    nk = _numba_kernels()
    rng = np.random.default_rng(24)
    x = rng.random((300, 20), dtype=np.float32)
    y = np.eye(5, dtype=np.float32)[rng.integers(0, 5, 300)]
    histories = {}
    calls = {}

    def counted(name, real):
        def kernel(*arrays):
            out = real(*arrays)                  # a refused signature raises: not counted
            calls.setdefault(name, []).append(1)
            return out
        return kernel

    for name in ("softmax_forward", "cce_value_and_delta", "count_correct"):
        monkeypatch.setattr(nk, name, counted(name, getattr(nk, name)))
    for choice, dtype in [("numpy", "float32"), ("numba", "float32"), ("numba", "float64")]:
        calls.clear()
        elementwise.select(choice)
        model = build_mlp(20, "32", "relu", 5, seed=2, dtype=dtype)
        model.compile(optimizer=SGD(learning_rate=0.1), loss="categorical_crossentropy", metrics=["accuracy"])
        histories[choice, dtype] = model.fit(x.astype(dtype), y.astype(dtype), epochs=3, batch_size=50,
                                             verbose=0).history
        steps = 3 * 6
        if choice == "numba" and dtype == "float32":
            assert {k: len(v) for k, v in calls.items()} == {"softmax_forward": steps, "cce_value_and_delta": steps,
                                                             "count_correct": steps}
        else:
            assert not calls
    h_np, h_nb, h_64 = histories.values()
    np.testing.assert_allclose(h_nb["loss"], h_np["loss"], rtol=1e-6)
    np.testing.assert_allclose(h_nb["loss"], h_64["loss"], rtol=1e-5)
    assert h_nb["accuracy"] == h_np["accuracy"] == h_64["accuracy"]


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


def _fma32(a, b, c):
    """float32 ``a * b + c`` rounded once, as the kernel's ``_fma``: the product is exact in
    float64, the sum is rounded to odd there (TwoSum's error term decides) and then to float32,
    which rounds the exact value correctly (53 >= 24 + 2 bits)."""
    a, b, c = (np.asarray(v, np.float32).astype(np.float64) for v in (a, b, c))
    p = a * b
    s = p + c
    bb = s - p
    err = (p - (s - bb)) + (c - bb)
    inexact = np.isfinite(s) & (err != 0) & (s.view(np.uint64) % 2 == 0)
    s = np.where(inexact, np.nextafter(s, np.where(err > 0, np.inf, -np.inf)), s)
    return s.astype(np.float32)


def _horner(coefficients, v, fma=True):
    """``c0 + v (c1 + v (c2 + ...))`` in float32, each step fused (the kernel) or not."""
    p = np.float32(coefficients[-1])
    for c in coefficients[-2::-1]:
        p = _fma32(p, v, c) if fma else (p * v + c).astype(np.float32)
    return p


def _tanh_float32(x, small=None, P=None, Q=None, fma=True):
    """A NumPy transcription of ``_numba_kernels.tanh_forward`` (the defaults: the same float32
    operations in the same order, the fused ones through :func:`_fma32`), or a worse variant:
    another polynomial or switch point, or unfused multiply-adds, for the tests' checks to reject."""
    nk = _numba_kernels()
    f32 = np.float32
    small = nk._TANH_SMALL if small is None else f32(small)
    P, Q = nk._P if P is None else [f32(c) for c in P], nk._Q if Q is None else [f32(c) for c in Q]
    fused = _fma32 if fma else (lambda a, b, c: (f32(a) * f32(b) + f32(c)).astype(f32))
    with np.errstate(all="ignore"):
        a = np.abs(x.astype(f32))
        u = a * a
        y_small = fused(a * u, _horner(P, u, fma), a)
        b = np.where(a < nk._TANH_CLAMP, a, nk._TANH_CLAMP)    # NaN too
        s = b + b
        k = fused(s, nk._LOG2E, nk._MAGIC) - nk._MAGIC
        r = fused(k, nk._LN2_LO, fused(k, nk._LN2_HI, s))
        two_k = np.ldexp(f32(1), k.astype(np.int32)).astype(f32)
        y_large = f32(1) - f32(2) / fused(fused(r * r, _horner(Q, r, fma), r), two_k, two_k + f32(1))
        return np.copysign(np.where(a >= small, y_large, y_small), x).astype(f32)


def test_tanh_kernel_is_within_an_ulp_of_float64():
    """At most 0.985 ulp from float64's tanh. Measured over every float32 in [0, 9.2] (1.09e9
    values): 0.97937 ulp at 0.9027404, 0.18% of the values not the correctly rounded float32 (here
    0.942 ulp at 0.90669036, 1.8%: these inputs are denser above 0.1, where the misses are).
    NumPy's float32 tanh is 1.36 ulp off, and this check rejects worse variants of the algorithm
    (next test)."""
    nk = _numba_kernels()
    x = _tanh_inputs()
    y = np.empty_like(x)
    nk.tanh_forward(x.reshape(2, -1), y.reshape(2, -1))
    err = _ulps(y, x)
    assert err.max() <= 0.985, (err.max(), x[err.argmax()])
    assert np.mean(y != np.tanh(x.astype(np.float64)).astype(np.float32)) < 0.03   # mostly correctly rounded (1.8%)
    # the kernel is the documented algorithm, bit for bit
    np.testing.assert_array_equal(_bits(y), _bits(_tanh_float32(x)))
    # the special values: +-0 keep their sign, +-inf give +-1, NaN stays NaN
    special = np.array([[0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-45, -1e-45, 9.02, -9.02]], np.float32)
    out = np.empty_like(special)
    nk.tanh_forward(special, out)
    np.testing.assert_array_equal(out[0, [0, 1, 2, 3, 6, 7, 8, 9]],
                                  np.float32([0.0, -0.0, 1.0, -1.0, 1e-45, -1e-45, 1.0, -1.0]))
    assert list(np.signbit(out[0, :2])) == [False, True]
    assert np.isnan(out[0, 4:6]).all()


# a polynomial of degree 4 in a^2 below 0.55 (the same fit on [0, 0.55]), and exp(r) of degree 5
_P_055 = (-0.33333316445350647, 0.13332585990428925, -0.05385230854153633, 0.021071678027510643, -0.006274237297475338)
_Q_DEG5 = (0.499992311000824, 0.16667115688323975, 0.04189033433794975, 0.008312501944601536)


@pytest.mark.parametrize("variant", ["switch at 0.55", "exp of degree 5", "unfused"])
def test_the_ulp_check_rejects_a_worse_evaluation(variant):
    """The same algorithm switching to ``1 - 2 / (exp(2a) + 1)`` at 0.55 (with a polynomial fitted
    to [0, 0.55]; measured 1.31 ulp: the subtraction loses more there), with ``exp(r)`` of degree
    5 (1.30 ulp), or with plain multiplications and additions in place of the fused ones (1.03
    ulp), is more than 0.985 ulp off on the same inputs: the check above can fail. (NumPy's own float32 tanh: 1.37 ulp.)"""
    x = _tanh_inputs()
    kwargs = {"switch at 0.55": {"small": 0.55, "P": _P_055}, "exp of degree 5": {"Q": _Q_DEG5},
              "unfused": {"fma": False}}[variant]
    assert _ulps(_tanh_float32(x, **kwargs), x).max() > 0.985
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
