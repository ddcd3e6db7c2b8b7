"""The training step's matrix products through PyTorch's BLAS (``actlab.engine.kernels.GEMM``).

* the choice: ``ACTLAB_GEMM`` / ``Gemm.select`` parsing (a ValueError naming the valid values),
  ``auto`` falling back to NumPy where torch is not installed, ``torch`` refusing there;
* the one-thread rule: PyTorch's products only while NumPy's BLAS runs one thread, and then
  PyTorch with one thread too (its own count given back afterwards);
* ``Gemm.matmul`` against NumPy (float32 tolerance) and a float64 oracle, for ``x W``, ``x^T g``
  and ``g W^T`` at the notes' shapes, writing into the same memory (no copy);
* a whole training step with PyTorch's products against the plain path (``DenseOps``, outside
  a step) and against float64.
"""
from __future__ import annotations

import importlib.util
import sys
import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from actlab.engine import SGD, build_mlp, kernels


@pytest.fixture
def gemm():
    """``kernels.GEMM`` with its state and torch's thread count restored afterwards."""
    g = kernels.GEMM
    saved = (g.choice, g.active, g._torch_threads)
    before = sys.modules["torch"].get_num_threads() if "torch" in sys.modules else None
    yield g
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(before or g._torch_threads or torch.get_num_threads())
    g.choice, g.active, g._torch_threads = saved


@pytest.mark.parametrize("value, expected", [(None, "auto"), ("", "auto"), ("auto", "auto"), ("NumPy", "numpy"),
                                             (" torch ", "torch")])
def test_gemm_choice_parsing(value, expected):
    assert kernels.parse_gemm_choice(value) == expected


@pytest.mark.parametrize("value", ["mkl", "1", "numpy,torch"])
def test_bad_gemm_choice_names_the_value_and_the_valid_ones(value, gemm):
    with pytest.raises(ValueError) as err:
        kernels.parse_gemm_choice(value)
    assert repr(value) in str(err.value) and "auto, numpy, torch" in str(err.value)
    with pytest.raises(ValueError, match="ACTLAB_GEMM"):
        gemm.select(environ={"ACTLAB_GEMM": value})


def test_the_environment_variable_chooses(gemm):
    assert gemm.select(environ={"ACTLAB_GEMM": "numpy"}) == "numpy"
    assert gemm.choice == "numpy"
    assert not gemm.refresh()
    assert gemm.select("numpy", environ={"ACTLAB_GEMM": "torch"}) == "numpy"   # the argument wins


def test_without_torch_auto_is_numpy_and_torch_is_refused(gemm, monkeypatch):
    if gemm._torch is not None:
        monkeypatch.setattr(gemm, "_torch", None)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    assert gemm.select("auto") == "numpy"
    with threadpool_limits(1):
        assert not gemm.refresh()
    assert gemm.select(environ={}) == "numpy"
    with pytest.raises(ValueError, match="needs PyTorch"):
        gemm.select("torch")


def test_auto_keeps_the_products_in_numpy_even_with_torch_installed(gemm):
    """``auto`` is NumPy's (warm) BLAS; PyTorch's only when asked for (docs/speed.md)."""
    _torch()
    assert gemm.select("auto") == "numpy"
    with threadpool_limits(1):
        assert not gemm.refresh()
    assert gemm.select("torch") == "torch"
    with threadpool_limits(1):
        assert gemm.refresh()


def test_the_first_step_of_a_process_warms_the_blas_up_once(gemm, monkeypatch):
    """The warm-up product runs at the first training step, once, before any of its products."""
    events = []
    real_warm_up = kernels.Gemm.warm_up
    monkeypatch.setattr(gemm, "warmed", False)
    monkeypatch.setattr(gemm, "warm_up", lambda: (events.append("warm-up"), real_warm_up(gemm)))
    real_matmul = np.matmul
    monkeypatch.setattr(kernels.np, "matmul", lambda *a, **k: (events.append("product"), real_matmul(*a, **k))[1])
    model = build_mlp(8, "16", "relu", 3, seed=0)
    model.compile(optimizer=SGD(learning_rate=0.1), loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.random((4, 8), dtype=np.float32), np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    for _ in range(3):
        model.train_step(x, y)
    assert events[0] == "warm-up" and events.count("warm-up") == 1 and "product" in events
    assert gemm.warmed


def test_the_warm_up_product_is_a_384_square_float32_product(monkeypatch):
    seen = []
    real = np.matmul
    monkeypatch.setattr(kernels.np, "matmul", lambda a, b, out=None: (seen.append((a.shape, b.shape, a.dtype)),
                                                                     real(a, b, out=out))[1])
    g = kernels.Gemm()
    g.warm_up()
    assert seen == [((384, 384), (384, 384), np.float32)] and g.warmed


def _torch():
    return pytest.importorskip("torch")


def test_torch_products_only_with_one_blas_thread(gemm):
    torch = _torch()
    gemm.select("torch")
    torch.set_num_threads(2)
    gemm._torch_threads = None
    with threadpool_limits(2):
        assert not gemm.refresh()
    with threadpool_limits(1):
        assert gemm.refresh()
        a = np.ones((64, 64), np.float32)
        out = np.empty_like(a)
        gemm.matmul(a, a, out)                 # loads torch if needed: with one thread
        gemm.refresh()
        assert torch.get_num_threads() == 1
    with threadpool_limits(2):
        assert not gemm.refresh()
        assert torch.get_num_threads() == 2    # given back
    assert gemm.select("numpy") == "numpy"
    with threadpool_limits(1):
        assert not gemm.refresh()


SHAPES = [  # the notes' MLP at batch 100: forward x W, backward x^T g and g W^T
    ("x W", (100, 784), (784, 200), False, False),
    ("x W", (100, 200), (200, 200), False, False),
    ("x^T g", (100, 784), (100, 200), True, False),
    ("g W^T", (100, 200), (200, 200), False, True),
    ("g W^T", (100, 10), (200, 10), False, True),
]


@pytest.mark.parametrize("name, sa, sb, ta, tb", SHAPES)
def test_torch_matmul_equals_numpy_and_float64(gemm, name, sa, sb, ta, tb):
    torch = _torch()
    rng = np.random.default_rng(1)
    a0 = rng.standard_normal(sa).astype(np.float32)
    b0 = rng.standard_normal(sb).astype(np.float32)
    a, b = (a0.T if ta else a0), (b0.T if tb else b0)
    out = np.full((a.shape[0], b.shape[1]), np.nan, np.float32)
    view = torch.from_numpy(out)
    assert view.data_ptr() == out.ctypes.data               # torch writes into our array: no copy
    assert torch.from_numpy(a).data_ptr() == a.ctypes.data   # transposed views too
    with threadpool_limits(1):
        gemm.matmul(a, b, out)
    np.testing.assert_allclose(out, a @ b, rtol=1e-5, atol=1e-5 * np.sqrt(a.shape[1]))
    oracle = a.astype(np.float64) @ b.astype(np.float64)
    err = np.abs(out - oracle) / (np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64))
    assert err.max() < 2 * a.shape[1] * np.finfo(np.float32).eps   # the classical bound of a float32 dot product


def test_read_only_operands_take_numpy_without_a_warning(gemm):
    _torch()
    a = np.arange(64 * 64, dtype=np.float32).reshape(64, 64) / 4096
    a.flags.writeable = False
    out = np.empty_like(a)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gemm.matmul(a, a.T, out)
    np.testing.assert_array_equal(out, a @ a.T)


@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_a_training_step_with_torch_products_equals_the_plain_path(gemm, monkeypatch, act):
    """Gradients of one step with PyTorch's products (inside a step) against ``Sequential.gradients``
    (DenseOps, NumPy, outside a step) and against the same model in float64."""
    _torch()
    rng = np.random.default_rng(4)
    x = rng.random((64, 96), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 64)]
    model = build_mlp(96, "128x2", act, 10, seed=3)
    model.compile(optimizer=SGD(learning_rate=0.05), loss="categorical_crossentropy")
    m64 = build_mlp(96, "128x2", act, 10, seed=3, dtype="float64")
    m64.compile(optimizer=SGD(learning_rate=0.05), loss="categorical_crossentropy")
    m64.set_weights([w.astype(np.float64) for w in model.get_weights()])
    reference = [g for layer in model.gradients(x, y) for g in layer.values()]
    oracle = [g for layer in m64.gradients(x.astype(np.float64), y.astype(np.float64)) for g in layer.values()]
    calls = []
    real = gemm.matmul
    monkeypatch.setattr(gemm, "matmul", lambda a, b, out: (calls.append((a.shape, b.shape)), real(a, b, out)))
    gemm.select("torch")
    w0 = model.get_weights()
    with threadpool_limits(1):
        model.train_step(x, y)
    # x W of the two 128-wide hidden layers and g W^T of the second (the rest is narrower than 64)
    assert sorted(calls) == [((64, 96), (96, 128)), ((64, 128), (128, 128)), ((64, 128), (128, 128))]
    got = [layer.grads[k] for layer in model.layers for k in layer.params]
    for g, r, o in zip(got, reference, oracle):
        np.testing.assert_allclose(g, r, rtol=2e-5, atol=1e-6)
        np.testing.assert_allclose(g, o, rtol=1e-4, atol=1e-6)
    for a, b, g in zip(w0, model.get_weights(), reference):
        np.testing.assert_allclose(a - b, 0.05 * g, rtol=1e-3, atol=1e-6)


def test_torch_tanh_is_within_one_ulp_of_float64(gemm):
    _torch()
    z = np.linspace(-12, 12, 100 * 200 * 5, dtype=np.float32).reshape(500, 200)
    out = np.full_like(z, np.nan)
    gemm.tanh(z, out)
    np.testing.assert_array_max_ulp(out, np.tanh(z.astype(np.float64)).astype(np.float32), maxulp=1)
    assert np.all(np.abs(out) <= 1) and np.all(np.sign(out) == np.sign(z))


@pytest.mark.parametrize("elementwise", ["numpy", "numba"])
def test_a_step_takes_torch_tanh_only_for_large_float32_blocks(gemm, monkeypatch, elementwise):
    """Without numba's kernels (``ACTLAB_ELEMENTWISE=numpy``) PyTorch computes the large float32
    tanh blocks; with them numba's tanh kernel takes every float32 block instead."""
    _torch()
    if elementwise == "numba":
        pytest.importorskip("numba")
    e = kernels.ELEMENTWISE
    monkeypatch.setattr(e, "choice", e.choice)   # restored afterwards
    monkeypatch.setattr(e, "module", e.module)
    e.select(elementwise)
    calls = []
    real = gemm.tanh
    monkeypatch.setattr(gemm, "tanh", lambda z, out: (calls.append(z.shape), real(z, out)))
    rng = np.random.default_rng(2)
    for width, batch, taken in [(128, 64, True), (48, 64, False), (128, 16, False)]:
        model = build_mlp(20, f"{width}x2", "tanh", 3, seed=1)
        model.compile(optimizer=SGD(learning_rate=0.05), loss="categorical_crossentropy")
        x = rng.random((batch, 20), dtype=np.float32)
        y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, batch)]
        for choice in ("numpy", "torch"):
            calls.clear()
            gemm.select(choice)
            with threadpool_limits(1):
                model.train_step(x, y)
            z = model.layers[0].z
            np.testing.assert_array_max_ulp(model.layers[0].y, np.tanh(z.astype(np.float64)).astype(np.float32),
                                            maxulp=2 if elementwise == "numpy" else 1)
            expected = taken and choice == "torch" and elementwise == "numpy"
            assert calls == ([(batch, width)] * 2 if expected else []), (width, batch, choice)


def _step_in_child(queue):
    with threadpool_limits(1):
        model = build_mlp(96, "128x2", "tanh", 10, seed=3)
        model.compile(optimizer=SGD(learning_rate=0.05), loss="categorical_crossentropy")
        rng = np.random.default_rng(4)
        x = rng.random((64, 96), dtype=np.float32)
        loss, _ = model.train_step(x, np.eye(10, dtype=np.float32)[rng.integers(0, 10, 64)])
        queue.put((kernels.GEMM.forked_after_torch, kernels.GEMM.active, float(loss)))


@pytest.mark.skipif(not hasattr(__import__("os"), "register_at_fork"), reason="no fork on this platform")
def test_a_child_forked_after_torch_keeps_numpy_and_does_not_hang(gemm):
    """A forked child whose parent had set torch's threads used to hang in torch.set_num_threads."""
    import multiprocessing

    torch = _torch()
    gemm.select("torch")
    with threadpool_limits(1):
        gemm.refresh()
        a = np.ones((64, 64), np.float32)
        gemm.matmul(a, a, np.empty_like(a))   # the parent uses torch and sets its threads
    torch.set_num_threads(2)
    big = torch.ones(512, 512)
    torch.tanh(big @ big, out=big)            # and runs its thread pools with two threads
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_step_in_child, args=(queue,))
    child.start()
    child.join(timeout=30)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child hung")
    assert child.exitcode == 0
    forked, active, loss = queue.get(timeout=5)
    assert forked and not active and np.isfinite(loss)


# -- plain SGD fused into the weight-gradient product (Gemm.update) ------------------------------
def test_the_update_product_equals_the_two_step_update_and_float64(gemm):
    """``W -= r x^T g`` by one product of NumPy's BLAS against ``W - r (x^T g)`` in float32 and
    float64, at the notes' shapes; arrays it does not take are refused (False, nothing done)."""
    if kernels._numpy_sgemm() is None:
        pytest.skip("NumPy's BLAS exposes no CBLAS sgemm here")
    gemm.select("numpy")
    rng = np.random.default_rng(8)
    for n, fan_in, units in [(100, 784, 200), (100, 200, 10), (7, 3, 5)]:
        x = rng.random((n, fan_in), dtype=np.float32)
        g = rng.standard_normal((n, units)).astype(np.float32) * 0.01
        w = rng.standard_normal((fan_in, units)).astype(np.float32) * 0.05
        expected64 = w.astype(np.float64) - 0.01 * (x.astype(np.float64).T @ g.astype(np.float64))
        expected32 = w - np.float32(0.01) * (x.T @ g)
        got = w.copy()
        assert gemm.update(x, g, got, 0.01)
        np.testing.assert_allclose(got, expected32, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(got, expected64, rtol=1e-6, atol=1e-7)
    w0 = w.copy()
    assert not gemm.update(x.astype(np.float64), g, w, 0.01)
    assert not gemm.update(np.asfortranarray(x), g, w, 0.01)
    np.testing.assert_array_equal(w, w0)
    with pytest.raises(ValueError):
        gemm.update(x[:-1], g, w, 0.01)


def _fit_steps(model_kw, opt, x, y, steps, fused):
    model = build_mlp(20, "32x2", "tanh", 4, seed=5, **model_kw)
    model.compile(optimizer=opt(), loss="categorical_crossentropy")
    calls = []
    real = kernels.Gemm.update
    kernels.GEMM.update = lambda *a: calls.append(1) or (real(kernels.GEMM, *a) if fused else False)
    try:
        for _ in range(steps):
            model.train_step(x, y)
    finally:
        del kernels.GEMM.update
    return model, len(calls)


@pytest.mark.parametrize("opt, fused_expected", [
    (lambda: SGD(learning_rate=0.1), True),
    (lambda: SGD(learning_rate=0.1, decay=0.3), True),
    (lambda: SGD(learning_rate=0.1, momentum=0.5), False),
])
def test_steps_with_the_fused_update_equal_the_optimizer_steps(gemm, opt, fused_expected):
    """Three steps where the layers update their own weights (the product, or, where it declines,
    the gradient then ``kernels.sgd_update``) against the same steps through the optimizer on the
    flat arrays (a model with a penalty never fuses: its gradient is needed), and float64."""
    if kernels._numpy_sgemm() is None:
        pytest.skip("NumPy's BLAS exposes no CBLAS sgemm here")
    from actlab.engine import regularizers

    gemm.select("numpy")
    rng = np.random.default_rng(9)
    x = rng.random((16, 20), dtype=np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 16)]
    fused, n_fused = _fit_steps({}, opt, x, y, 3, fused=True)
    declined, n_declined = _fit_steps({}, opt, x, y, 3, fused=False)
    assert n_fused == n_declined == (3 * 3 if fused_expected else 0)   # three dense layers a step
    reference = build_mlp(20, "32x2", "tanh", 4, seed=5, dtype="float64")
    reference.compile(optimizer=opt(), loss="categorical_crossentropy")
    for _ in range(3):
        reference.train_step(x.astype(np.float64), y.astype(np.float64))
    # the optimizer's path: a zero penalty keeps the layers from updating themselves
    plain = build_mlp(20, "32x2", "tanh", 4, seed=5, kernel_regularizer=regularizers.l2(0.0))
    plain.compile(optimizer=opt(), loss="categorical_crossentropy")
    for _ in range(3):
        plain.train_step(x, y)
    assert plain._fused_update_rate() is None
    for a, b, c, d in zip(fused.get_weights(), declined.get_weights(), plain.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, c, rtol=2e-6, atol=2e-7)
        np.testing.assert_allclose(b, c, rtol=2e-6, atol=2e-7)
        np.testing.assert_allclose(a, d, rtol=1e-5, atol=1e-6)
    assert fused.optimizer.iterations == plain.optimizer.iterations == 3


def test_remembered_addresses_follow_the_living_array(monkeypatch):
    """``_address`` gives ``a.ctypes.data``; an entry left by another (dead) array of the same
    identity and shape is not taken; a view has its own address."""
    import weakref

    monkeypatch.setattr(kernels, "_ADDRESSES", {})
    a = np.ones((6, 4), np.float32)
    assert kernels._address(a) == a.ctypes.data == kernels._address(a)
    view = a[2:]
    assert kernels._address(view) == view.ctypes.data != a.ctypes.data
    other = np.zeros((6, 4), np.float32)
    b = np.ones((6, 4), np.float32)
    kernels._ADDRESSES[(id(b), b.shape)] = (weakref.ref(other), 12345)   # as if b had a dead array's id
    assert kernels._address(b) == b.ctypes.data
