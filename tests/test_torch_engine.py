"""The torch engine against the NumPy engine (an independent implementation with explicit
backpropagation, itself checked against central differences in test_engine.py) and against
PyTorch float64 autograd; ensembles against their members trained alone."""
from __future__ import annotations

import math
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from actlab import activations as acts  # noqa: E402
from actlab.engine import SGD, Adam, Dense, RMSprop, Sequential, build_mlp  # noqa: E402
from actlab.engine.regularizers import l1_l2  # noqa: E402
from actlab.torch_engine.activations import native, torch_activation  # noqa: E402
from actlab.torch_engine.model import TorchEnsemble, resolve_device  # noqa: E402

pytestmark = pytest.mark.torch

# The device the engine's own tests run on: the CPU, or what ACTLAB_TEST_DEVICE names (bench/gpu.sh
# runs this file with ACTLAB_TEST_DEVICE=cuda on a machine with a GPU).
DEVICE = os.environ.get("ACTLAB_TEST_DEVICE", "cpu")
if DEVICE.startswith("cuda") and not torch.cuda.is_available():
    pytest.skip(f"ACTLAB_TEST_DEVICE={DEVICE} but torch sees no CUDA device", allow_module_level=True)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    # small tensors: one thread is as fast, and immune to OpenMP spin-waiting on a busy machine
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _data(n=240, d=12, c=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    w = rng.standard_normal((d, c))
    y = np.eye(c, dtype=np.float32)[np.argmax(x @ w + 0.5 * rng.standard_normal((n, c)), axis=1)]
    return x, y


def _model(act="relu", seed=1, opt=None, hidden="16x2", **kw):
    m = build_mlp(12, hidden, act, 4, seed=seed, **kw)
    m.compile(optimizer=opt() if opt else SGD(learning_rate=0.1), metrics=["accuracy"])
    return m


ONE_SAMPLE = 1.5 / 60  # accuracies: float32 rounding may move one sample across a decision tie (60 validation rows)


def _close(h_np, h_t, rtol=2e-4, atol=2e-5):
    """Histories agree: losses to float32 rounding, accuracies to one sample of the smallest set."""
    for key in h_np:
        tol = max(atol, ONE_SAMPLE) if "accuracy" in key else atol
        np.testing.assert_allclose(h_t[key], h_np[key], rtol=rtol, atol=tol, err_msg=key)


# -- the zoo in torch: values and derivatives equal the NumPy zoo's ----------------------------
_POINTS = np.array([-1e4, -7.5, -3.0, -1.0, -0.5, -0.25, 0.0, 1e-3, 0.3, 0.5, 1.0, 2.0, 3.0, 6.0, 9.0, 1e4])


@pytest.mark.parametrize("name", [n for n in acts.names() if acts.get(n).elementwise])
def test_torch_activation_matches_zoo_value_and_derivative(name):
    act = acts.get(name)
    x = torch.tensor(_POINTS, dtype=torch.float64, requires_grad=True)
    y = torch_activation(act)(x)
    y.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), act(_POINTS), rtol=1e-12, atol=1e-12)
    # the zoo's derivative, kinks included (exact kink values: relu'(0) = 0, hard_tanh'(+-1) = 0 ...)
    np.testing.assert_allclose(x.grad.numpy(), act.derivative(_POINTS), rtol=1e-7, atol=1e-12, err_msg=name)
    assert native(act)


@pytest.mark.parametrize("name,params", [("leaky_relu", {"alpha": 1.5}), ("elu", {"alpha": 2.0}),
                                         ("softshrink", {"lambd": 0.0}), ("hard_tanh", {"min_val": -2.0, "max_val": 0.5}),
                                         ("celu", {"alpha": 0.5}), ("gelu", {"approximate": True}),
                                         ("elu", {"alpha": 0.0}), ("elu", {"alpha": -0.5}), ("elu", {"alpha": -2.0}),
                                         ("relu_keras", {"negative_slope": 0.2, "max_value": 6.0, "threshold": 1.0}),
                                         ("relu_keras", {"negative_slope": 2.0, "threshold": 3.0}),
                                         ("relu_keras", {"negative_slope": 2.0}),
                                         ("relu_keras", {"negative_slope": 0.3, "max_value": 0.5, "threshold": 2.0})])
def test_torch_activation_parameters_and_kinks(name, params):
    act = acts.get(name, **params)
    x = torch.tensor(_POINTS, dtype=torch.float64, requires_grad=True)
    torch_activation(act)(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), act.derivative(_POINTS), rtol=1e-9, atol=1e-12)


def test_user_activation_runs_through_the_host_fallback():
    act = acts.register("cube_torch_test", lambda x: x ** 3, lambda x: 3 * x ** 2, overwrite=True)
    x = torch.tensor([-2.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
    torch_activation(act)(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [12.0, 0.75, 27.0])
    assert not native(act)


def test_maxout_and_softmax_in_torch_match_zoo():
    x = np.array([[1.0, 3.0, -2.0, -2.0, 0.5, 0.25]])
    g = np.array([[0.3, -1.2, 2.0]])
    t = torch.tensor(x, requires_grad=True)
    y = torch_activation(acts.get("maxout", k=2))(t)
    (y * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), acts.get("maxout", k=2)(x))
    # ties go to the first maximum, as the zoo's vjp
    np.testing.assert_allclose(t.grad.numpy(), acts.get("maxout", k=2).vjp(x, None, g))


# -- one model: the torch engine computes what the NumPy engine computes --------------------------
@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid", "leaky_relu", "elu", "selu", "gelu", "mish",
                                 "softplus", "hard_swish", "prelu", "rrelu", "maxout"])
def test_losses_agree_with_numpy_engine_over_epochs(act):
    x, y = _data()
    xv, yv = _data(60, seed=5)
    h_np = _model(act).fit(x, y, epochs=4, batch_size=32, verbose=0, validation_data=(xv, yv)).history
    h_t = TorchEnsemble(_model(act), device=DEVICE).fit(x, y, epochs=4, batch_size=32, validation_data=(xv, yv))[0]
    assert len(h_t["loss"]) == 4
    _close(h_np, h_t)


@pytest.mark.parametrize("opt", [lambda: SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
                                 lambda: SGD(learning_rate=0.05, momentum=0.5, decay=0.01),
                                 lambda: Adam(learning_rate=0.01), lambda: Adam(amsgrad=True),
                                 lambda: RMSprop(momentum=0.5)])
def test_optimizers_and_dropout_agree(opt):
    x, y = _data()
    a, b = _model("tanh", 2, opt, dropout=0.25), _model("tanh", 2, opt, dropout=0.25)
    h_np = a.fit(x, y, epochs=3, batch_size=50, verbose=0).history
    ens = TorchEnsemble(b, device=DEVICE)
    h_t = ens.fit(x, y, epochs=3, batch_size=50)[0]
    _close(h_np, h_t)
    ens.to_numpy()
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wb, wa, rtol=1e-3, atol=2e-5)


def test_regularizers_sigmoid_binary_crossentropy_and_mse_agree():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((100, 12)).astype(np.float32)
    yb = (x[:, :1] + x[:, 1:2] > 0).astype(np.float32)
    for loss, out, y in (("binary_crossentropy", "sigmoid", yb), ("mean_squared_error", "linear", x[:, :2] * 0.5)):
        def make(loss=loss, out=out, y=y):
            m = Sequential([Dense(8, activation="tanh", input_dim=12, kernel_regularizer=l1_l2(1e-3, 1e-2)),
                            Dense(y.shape[1], activation=out, bias_regularizer=l1_l2(1e-3, 0.0))], seed=4)
            m.compile(optimizer=SGD(learning_rate=0.05), loss=loss)
            m.build(12)
            return m
        h_np = make().fit(x, y, epochs=3, batch_size=25, verbose=0).history
        h_t = TorchEnsemble(make(), device=DEVICE).fit(x, y, epochs=3, batch_size=25)[0]
        np.testing.assert_allclose(h_t["loss"], h_np["loss"], rtol=2e-4, atol=1e-6, err_msg=loss)


def test_one_step_matches_float64_autograd():
    """Oracle independent of both engines: the same step written with plain torch float64 autograd."""
    x, y = _data(32)
    m = _model("tanh", 7)
    w0 = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in m.get_weights()]
    ens = TorchEnsemble(m, device=DEVICE)
    ens.fit(x, y, epochs=1, batch_size=32, shuffle=False)
    h = torch.tensor(x, dtype=torch.float64)
    for i in range(3):
        h = h @ w0[2 * i] + w0[2 * i + 1]
        if i < 2:
            h = torch.tanh(h)
    loss = -(torch.tensor(y, dtype=torch.float64) * torch.log_softmax(h, -1)).sum() / 32
    loss.backward()
    for w, got in zip(w0, ens.to_numpy()[0].get_weights()):
        np.testing.assert_allclose(got, (w - 0.1 * w.grad).detach().numpy(), rtol=1e-5, atol=1e-6)


def _torch_optim_steps(m, x, y, make_opt, steps=5):
    """``steps`` full-batch steps of ``m``'s weights with a torch.optim optimizer (float64 autograd)."""
    w = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in m.get_weights()]
    opt = make_opt(w)
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    for _ in range(steps):
        opt.zero_grad()
        (-(yt * torch.log_softmax(torch.tanh(xt @ w[0] + w[1]) @ w[2] + w[3], -1)).sum() / len(x)).backward()
        opt.step()
    return [t.detach().numpy() for t in w]


@pytest.mark.parametrize("ours, theirs, same", [
    (lambda: SGD(learning_rate=0.1, momentum=0.9), lambda w: torch.optim.SGD(w, lr=0.1, momentum=0.9), True),
    (lambda: SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
     lambda w: torch.optim.SGD(w, lr=0.1, momentum=0.9, nesterov=True), True),
    (lambda: RMSprop(learning_rate=0.01), lambda w: torch.optim.RMSprop(w, lr=0.01, alpha=0.9, eps=1e-7), True),
    # Keras 2's Adam adds epsilon to sqrt(v) before the bias correction: PyTorch's differs
    (lambda: Adam(learning_rate=0.01, epsilon=1e-3),
     lambda w: torch.optim.Adam(w, lr=0.01, betas=(0.9, 0.999), eps=1e-3), False),
])
def test_which_torch_optim_rules_equal_the_numpy_engines(ours, theirs, same):
    """Pins the torch engine's choice: torch.optim's SGD (momentum, Nesterov) and RMSprop give the
    NumPy engine's (Keras 2) numbers at a constant learning rate, its Adam does not. The ensemble
    still writes each rule out (TorchEnsemble._update): one stacked tensor holds K members' K
    learning rates, which torch.optim's one rate per parameter group cannot express;
    test_optimizers_and_dropout_agree pins those rules to the NumPy engine."""
    x, y = _data(40)
    m = build_mlp(12, "6", "tanh", 4, seed=3, dtype="float64")
    m.compile(optimizer=ours())
    w_torch = _torch_optim_steps(m, x, y, theirs)
    for _ in range(5):
        m.train_on_batch(x, y)
    agree = all(np.allclose(a, b, rtol=1e-9, atol=1e-12) for a, b in zip(m.get_weights(), w_torch))
    assert agree is same


# -- ensembles -----------------------------------------------------------------------------------
def test_ensemble_members_equal_models_trained_alone():
    x, y = _data()
    spec = [("relu", 0, 0.1), ("tanh", 1, 0.05), ("relu", 2, 0.2), ("elu", 3, 0.1), ("tanh", 1, 0.1)]
    mk = lambda a, s, lr: _model(a, s, lambda: SGD(learning_rate=lr))  # noqa: E731
    together = TorchEnsemble([mk(*t) for t in spec], device=DEVICE).fit(x, y, epochs=3, batch_size=32,
                                                                        validation_data=(x[:50], y[:50]))
    for t, h in zip(spec, together):
        alone = TorchEnsemble(mk(*t), device=DEVICE).fit(x, y, epochs=3, batch_size=32,
                                                       validation_data=(x[:50], y[:50]))[0]
        _close(alone, h, rtol=1e-6, atol=1e-7)
        # and the NumPy engine, to float32 tolerance
        _close(mk(*t).fit(x, y, epochs=3, batch_size=32, verbose=0, validation_data=(x[:50], y[:50])).history, h)


def test_ensemble_with_prelu_and_per_member_data():
    x1, y1 = _data(seed=0)
    x2, y2 = _data(seed=9)
    ms = [_model("prelu", 0), _model("prelu", 5)]
    hs = TorchEnsemble(ms, device=DEVICE).fit([x1, x2], [y1, y2], epochs=2, batch_size=40)
    for (x, y, seed), h in zip(((x1, y1, 0), (x2, y2, 5)), hs):
        _close(_model("prelu", seed).fit(x, y, epochs=2, batch_size=40, verbose=0).history, h)


def test_members_with_and_without_penalties_train_as_alone():
    x, y = _data()

    def make(seed, kernel_reg, bias_reg):
        m = Sequential([Dense(16, activation="tanh", input_dim=12, kernel_regularizer=kernel_reg),
                        Dense(4, activation="softmax", bias_regularizer=bias_reg)], seed=seed)
        m.compile(optimizer=SGD(learning_rate=0.05), metrics=["accuracy"])
        m.build(12)
        return m

    spec = [(0, l1_l2(1e-3, 1e-2), None), (1, None, None), (2, l1_l2(0.0, 5e-2), l1_l2(1e-2, 0.0))]
    hs = TorchEnsemble([make(*t) for t in spec], device=DEVICE).fit(x, y, epochs=3, batch_size=32)
    for t, h in zip(spec, hs):
        _close(make(*t).fit(x, y, epochs=3, batch_size=32, verbose=0).history, h)


def test_ensembles_trained_together_equal_each_trained_alone():
    """train_together interleaves the ensembles' epochs (on CUDA each on its own stream): every
    ensemble computes what it computes alone."""
    from actlab.torch_engine.model import train_together

    x, y = _data()
    xv, yv = _data(60, seed=5)
    kinds = [lambda: [_model("relu", 0), _model("tanh", 1)],
             lambda: [_model("elu", 2, hidden="8x3")],
             lambda: [_model(a, seed, lambda: SGD(learning_rate=0.05, momentum=0.9))
                      for a, seed in (("relu", 3), ("sigmoid", 4))]]
    epochs = [3, 5, 2]   # different lengths: the shorter ones leave the rotation early
    seen = []

    def job(i):
        ens = TorchEnsemble(kinds[i](), device=DEVICE)
        stages = yield from ens.fit_stages(x, y, epochs=epochs[i], batch_size=32, validation_data=(xv, yv),
                                           on_epoch=lambda e, logs: seen.append((i, e)))
        assert stages is None
        return ens.history

    together = train_together([lambda i=i: job(i) for i in range(3)], DEVICE)
    assert seen[:3] == [(0, 0), (1, 0), (2, 0)]   # in turns, not one after another
    for i, hs in enumerate(together):
        alone = TorchEnsemble(kinds[i](), device=DEVICE).fit(x, y, epochs=epochs[i], batch_size=32,
                                                              validation_data=(xv, yv))
        assert len(hs) == len(alone)
        for h, a in zip(hs, alone):
            assert len(h["loss"]) == epochs[i]
            _close(a, h, rtol=1e-6, atol=1e-7)


def test_backend_trains_groups_together_as_alone():
    runner = pytest.importorskip("actlab.studies.runner")
    base = dict(study="t", dataset="digits", epochs=2, batch_size=64, learning_rate=0.05)
    cfgs = [runner.make_config(**base, hidden="16x2", activation="tanh", seed=1),
            runner.make_config(**base, hidden="8", activation="relu", seed=2),
            runner.make_config(**base, hidden="16x2", activation="relu", seed=3)]
    together = runner.train_many([{**c, "engine": "torch"} for c in cfgs], device=DEVICE)
    for cfg, r in zip(cfgs, together):
        alone = runner.train_many([{**cfg, "engine": "torch"}], device=DEVICE)[0]
        np.testing.assert_allclose(r["history"]["loss"], alone["history"]["loss"], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(r["history"]["loss"], runner.train_run(cfg)["history"]["loss"], rtol=2e-4, atol=2e-5)


def test_a_group_puts_equal_activations_side_by_side_and_answers_in_the_given_order(monkeypatch):
    """Runs interleaved by activation (as a study's seeds x activations) form one ensemble whose
    members of one activation are contiguous (slices, not index gathers); each result still goes
    to its own run, equal to that run trained alone."""
    runner = pytest.importorskip("actlab.studies.runner")
    from actlab.torch_engine.backend import BACKEND
    from actlab.torch_engine.model import _Grouped

    base = dict(study="t", dataset="digits", epochs=1, batch_size=64, learning_rate=0.05, hidden="8")
    cfgs = [runner.make_config(**base, activation=a, seed=s) for s in (1, 2) for a in ("tanh", "relu", "elu")]
    chunks, _, _ = BACKEND.plan([runner._run(c) for c in cfgs], device=DEVICE)
    assert chunks == [[0, 3, 1, 4, 2, 5]]
    built = []
    real = _Grouped.__init__
    monkeypatch.setattr(_Grouped, "__init__", lambda self, a, d: (real(self, a, d), built.append(self))[0])
    together = runner.train_many([{**c, "engine": "torch"} for c in cfgs], device=DEVICE)
    assert built and all(g.sizes == [2, 2, 2] for g in built)          # three slices of two members
    for cfg, r in zip(cfgs, together):
        alone = runner.train_many([{**cfg, "engine": "torch"}], device=DEVICE)[0]
        np.testing.assert_allclose(r["history"]["loss"], alone["history"]["loss"], rtol=1e-6, atol=1e-7)


def test_the_fused_softmax_cross_entropy_against_autograd_in_float64():
    """Value: the clipped cross-entropy the NumPy engine reports; gradient: (p - y) / B, which is
    autograd's gradient of -sum(y log softmax(z)) / B for targets summing to one."""
    from actlab.torch_engine.model import _SoftmaxCrossEntropy

    g = torch.Generator().manual_seed(3)
    z = (torch.randn(3, 7, 5, generator=g, dtype=torch.float64) * 3).requires_grad_()
    y = torch.nn.functional.one_hot(torch.randint(0, 5, (3, 7), generator=g), 5).double()
    value, p = _SoftmaxCrossEntropy.apply(z, y)
    w = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)    # a different weight per member
    (value * w).sum().backward()
    z2 = z.detach().clone().requires_grad_()
    ref = -(y * torch.log_softmax(z2, dim=-1)).sum(dim=(1, 2)) / 7
    (ref * w).sum().backward()
    torch.testing.assert_close(z.grad, z2.grad, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(value, ref.detach(), rtol=1e-12, atol=0)   # nothing clipped here
    torch.testing.assert_close(p, torch.softmax(z.detach(), dim=-1), rtol=0, atol=0)
    # a probability under the clip: the value is the NumPy engine's, from the clipped probability
    zc = torch.tensor([[[0.0, -40.0]]], dtype=torch.float64)
    yc = torch.tensor([[[0.0, 1.0]]], dtype=torch.float64)
    clipped, _ = _SoftmaxCrossEntropy.apply(zc, yc)
    assert clipped.item() == pytest.approx(-math.log(1e-7))


def test_diverging_member_is_recorded_and_does_not_disturb_the_others():
    x, y = _data()
    x = x * 50
    ms = [_model("relu", 0, lambda: SGD(learning_rate=1e4)), _model("tanh", 1, lambda: SGD(learning_rate=0.01))]
    with np.errstate(all="ignore"):
        ens = TorchEnsemble(ms, device=DEVICE)
        hs = ens.fit(x, y, epochs=3, batch_size=32)
    assert ens.diverged[0] is not None and ens.diverged[1] is None
    epoch, batch, loss = ens.diverged[0]
    assert len(hs[0]["loss"]) == epoch and not math.isfinite(loss)
    alone = TorchEnsemble(_model("tanh", 1, lambda: SGD(learning_rate=0.01)), device=DEVICE).fit(x, y, epochs=3, batch_size=32)[0]
    _close(alone, hs[1], rtol=1e-6, atol=1e-7)


# -- CUDA graphs: a full batch's step replayed as one graph where the step allows it -------------
def _blocker(ms, steps=100, **kw):
    return TorchEnsemble(ms, device="cpu", **kw).graph_blocker(steps)


def test_graph_blocker_names_what_a_graph_would_freeze():
    plain = lambda: [_model("relu", 0), _model("tanh", 1)]  # noqa: E731
    assert _blocker(plain()) == "not on CUDA (cpu)"
    assert "off" in _blocker(plain(), cuda_graphs=False)
    assert "decays" in _blocker([_model("relu", 0, lambda: SGD(learning_rate=0.1, decay=0.01))])
    assert "Adam" in _blocker([_model("relu", 0, lambda: Adam())])
    assert "RReLU" in _blocker([_model("rrelu", 0)])
    assert "Dropout" in _blocker([_model("relu", 0, dropout=0.2)])
    cube = acts.register("cube_graph_test", lambda x: x ** 3, lambda x: 3 * x ** 2, overwrite=True)
    assert "host" in _blocker([_model(cube, 0)])
    # what may be frozen stays allowed: momentum, RMSprop, penalties, mixed activations
    assert _blocker([_model("relu", 0, lambda: SGD(learning_rate=0.1, momentum=0.9)),
                     _model("elu", 1, lambda: SGD(learning_rate=0.2, momentum=0.9))]) == "not on CUDA (cpu)"
    assert _blocker([_model("relu", 0, lambda: RMSprop(momentum=0.5))]) == "not on CUDA (cpu)"
    ens = TorchEnsemble(plain(), device="cpu")
    x, y = _data()
    ens.fit(x, y, epochs=1, batch_size=32)
    assert ens.graph_used == "not on CUDA (cpu)"


@pytest.mark.skipif(not DEVICE.startswith("cuda"), reason="CUDA graphs need a GPU (ACTLAB_TEST_DEVICE=cuda)")
@pytest.mark.parametrize("case", ["contiguous", "alternating", "momentum-l2", "keras-cce"])
def test_cuda_graph_step_computes_what_the_eager_step_computes(case):
    x, y = _data(250)   # 7 full batches of 32 and a short one of 26, which runs eagerly
    xv, yv = _data(60, seed=5)
    if case == "contiguous":
        mk = lambda: [_model("relu", 0), _model("relu", 1), _model("tanh", 2), _model("elu", 3)]  # noqa: E731
    elif case == "alternating":
        mk = lambda: [_model("relu", 0), _model("tanh", 1), _model("relu", 2), _model("tanh", 3)]  # noqa: E731
    elif case == "momentum-l2":
        def mk():
            ms = []
            for seed, act, reg in ((0, "tanh", l1_l2(1e-3, 1e-2)), (1, "sigmoid", None)):
                m = Sequential([Dense(16, activation=act, input_dim=12, kernel_regularizer=reg),
                                Dense(4, activation="softmax")], seed=seed)
                m.compile(optimizer=SGD(learning_rate=0.05, momentum=0.9, nesterov=True), metrics=["accuracy"])
                m.build(12)
                ms.append(m)
            return ms
    else:
        def mk():
            ms = [build_mlp(12, "16", "relu", 4, seed=s) for s in (0, 1)]
            for m in ms:
                m.compile(optimizer=SGD(learning_rate=0.1), loss="keras_categorical_crossentropy", metrics=["accuracy"])
            return ms
    runs = {}
    for graphs in (True, False):
        ens = TorchEnsemble(mk(), device=DEVICE, cuda_graphs=graphs)
        hs = ens.fit(x, y, epochs=3, batch_size=32, validation_data=(xv, yv))
        runs[graphs] = (ens.graph_used, hs, [w for m in ens.to_numpy() for w in m.get_weights()])
    used = runs[True][0]
    print(f"{case}: graph {used}")
    if case != "alternating":   # index tensors' backward may refuse capture: then the eager step, still right
        assert used == "yes", used
    assert runs[False][0].startswith("off")
    for h_graph, h_eager in zip(runs[True][1], runs[False][1]):
        _close(h_eager, h_graph, rtol=1e-6, atol=1e-7)
    for a, b in zip(runs[True][2], runs[False][2]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    # and one member against the NumPy engine, the independent reference
    ref = mk()[0].fit(x, y, epochs=3, batch_size=32, verbose=0, validation_data=(xv, yv)).history
    _close(ref, runs[True][1][0])


def test_mismatched_members_and_bad_devices_are_rejected():
    with pytest.raises(ValueError, match="layer"):
        TorchEnsemble([_model("relu", 0), _model("relu", 0, hidden="8x2")], device=DEVICE)
    with pytest.raises(ValueError, match="optimizer"):
        TorchEnsemble([_model("relu", 0), _model("relu", 0, lambda: Adam())], device=DEVICE)
    with pytest.raises(ValueError, match="compile"):
        TorchEnsemble(build_mlp(12, "8", "relu", 4), device=DEVICE)
    with pytest.raises(ValueError, match="tpu"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            resolve_device("cuda")


# -- the studies' run functions -------------------------------------------------------------------
def test_train_run_matches_numpy_run_function_on_digits():
    runner = pytest.importorskip("actlab.studies.runner")

    cfg = runner.make_config(study="t", dataset="digits", hidden="16x2", activation="tanh", epochs=2,
                             batch_size=64, learning_rate=0.05, seed=3)
    r_np = runner.train_run(cfg)
    r_t = runner.train_many([{**cfg, "engine": "torch"}], device=DEVICE)[0]
    assert r_t["status"] == "done" and r_t["history"]["epoch"] == [1, 2]
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(r_t["history"][key], r_np["history"][key], rtol=2e-4, atol=2e-5, err_msg=key)
    for key in ("accuracy", "val_accuracy"):  # float32 rounding may move one sample across a tie (360 test rows)
        np.testing.assert_allclose(r_t["history"][key], r_np["history"][key], rtol=0, atol=1.5 / 360, err_msg=key)
    assert r_t["diagnostics"]["info"] == r_np["diagnostics"]["info"]
    # several runs at once: one ensemble for the compatible ones, results in order
    cfgs = [runner.make_config(study="t", dataset="digits", hidden="16x2", activation=a, epochs=2, batch_size=64,
                               learning_rate=0.05, seed=s) for a, s in (("relu", 0), ("tanh", 3), ("prelu", 1))]
    outs = runner.train_many([{**c, "engine": "torch"} for c in cfgs], device=DEVICE)
    assert [o["diagnostics"]["engine"]["ensemble_size"] for o in outs] == [2, 2, 1]
    np.testing.assert_allclose(outs[1]["history"]["loss"], r_t["history"]["loss"], rtol=1e-6)


def test_depth_dying_boundary_studies_on_torch_match_numpy(tmp_path):
    """The studies train on the torch engine as ensembles; their diagnostics (computed on the
    NumPy model the trained weights are copied into) equal the NumPy engine's runs."""
    from actlab.store import Store
    from actlab.studies import boundary, depth, dying

    stores = {e: Store(tmp_path / f"{e}.sqlite") for e in ("numpy", "torch")}
    res = {e: depth.depth_study(["sigmoid", "relu"], [2, 4], [0, 1], store=stores[e], epochs=2, width=16,
                                probe=100, engine=e) for e in stores}
    assert res["torch"].settings["engine"] == "torch" and res["torch"].settings["name"] != res["numpy"].settings["name"]
    sizes = {stores["torch"].get(r.key)["diagnostics"]["engine"]["ensemble_size"] for r in res["torch"].runs}
    assert sizes == {4}            # per depth: 2 activations x 2 seeds trained as one ensemble
    for a in res["numpy"].runs:
        b = [r for r in res["torch"].runs if (r.activation, r.depth, r.seed) == (a.activation, a.depth, a.seed)][0]
        assert a.epochs == b.epochs == [0, 1, 2]
        np.testing.assert_allclose(b.grad_norm[0], a.grad_norm[0], rtol=1e-5)      # same initial weights
        np.testing.assert_allclose(b.grad_norm[2], a.grad_norm[2], rtol=2e-3, atol=1e-7)
        assert b.accuracy == pytest.approx(a.accuracy, abs=0.01)

    # dying: at lr 1.0 relu training is chaotic (float32 differences between the engines grow
    # without bound: dead fractions of 0.70 and 0.58 after two epochs), so there only what must be
    # equal is compared, the measurement at initialisation (the same weights). At lr 0.01
    # training is smooth and every measurement is compared.
    res = {e: dying.dying_study(["relu", "leaky_relu"], [0.01, 1.0], [0], store=stores[e], hidden="32x2",
                                epochs=2, probe=200, engine=e) for e in stores}
    units = {e: {(r.activation, r.lr, r.seed): stores[e].get(r.key)["diagnostics"]["units"] for r in res[e].runs}
             for e in res}
    assert units["torch"].keys() == units["numpy"].keys() and len(units["numpy"]) == 4
    for k, a_units in units["numpy"].items():
        b_units = units["torch"][k]
        a0, b0 = a_units[0], b_units[0]
        assert a0["epoch"] == b0["epoch"] == 0
        assert b0["dead"] == a0["dead"] and b0["inactive"] == a0["inactive"] and b0["units"] == a0["units"] == [32, 32]
        np.testing.assert_allclose(b0["mean"], a0["mean"], rtol=1e-6)
        np.testing.assert_allclose(b0["std"], a0["std"], rtol=1e-6)
        if k[1] == 0.01:
            assert [u["epoch"] for u in a_units] == [u["epoch"] for u in b_units] == [0, 1, 2]
            for a, b in zip(a_units[1:], b_units[1:]):
                np.testing.assert_allclose(b["mean"], a["mean"], rtol=1e-3, atol=1e-6)
                np.testing.assert_allclose(b["std"], a["std"], rtol=1e-3, atol=1e-6)
                assert np.abs(np.subtract(b["dead_count"], a["dead_count"])).max() <= 1
    rows = {e: {(r["activation"], r["lr"]): r for r in res[e].summary()} for e in res}
    for act in ("relu", "leaky_relu"):
        a, b = rows["numpy"][(act, 0.01)], rows["torch"][(act, 0.01)]
        assert a["runs"] == b["runs"] == 1 and a["diverged"] == b["diverged"] == 0
        assert b["dead_at_init"] == a["dead_at_init"]

    res = {e: boundary.boundary_study(["circle", "xor"], ["linear", "tanh"], [0], store=stores[e], hidden="4",
                                      epochs=5, engine=e) for e in stores}
    for a in res["numpy"].runs:
        b = res["torch"].get(a.dataset, a.activation)
        assert b.status == a.status == "done"
        for wa, wb in zip(a.weights, b.weights):
            np.testing.assert_allclose(np.asarray(wb), np.asarray(wa), rtol=1e-3, atol=1e-5)
        assert b.accuracy == pytest.approx(a.accuracy, abs=0.011)


@pytest.mark.parametrize("cmd", [
    ["depth", "--activations", "sigmoid,relu", "--depths", "2", "--seeds", "2", "--epochs", "1", "--width", "8",
     "--probe", "50"],
    ["dying", "--activations", "relu", "--lrs", "0.01,0.1", "--seeds", "1", "--epochs", "1", "--hidden", "8x2",
     "--probe", "50"],
    ["boundary", "--datasets", "circle", "--activations", "linear,tanh", "--epochs", "2", "--samples", "60",
     "--resolution", "10"],
])
def test_study_commands_take_engine_torch(tmp_path, cmd):
    from click.testing import CliRunner

    from actlab.cli import main
    from actlab.store import Store

    result = CliRunner().invoke(main, cmd + ["--engine", "torch", "--store", str(tmp_path / "s.sqlite"),
                                             "--out", str(tmp_path / "r"), "--no-progress"])
    assert result.exit_code == 0, result.output
    runs = Store(tmp_path / "s.sqlite").runs()
    assert runs and all(r["config"]["engine"] == "torch" and r["status"] == "done" for r in runs)
    # every run of a command has the same layer shapes here, so they trained as one ensemble
    assert {r["diagnostics"]["engine"]["ensemble_size"] for r in runs} == {len(runs)}
    assert (tmp_path / "r" / "index.html").exists()
    bad = CliRunner().invoke(main, cmd + ["--engine", "jax", "--store", str(tmp_path / "s.sqlite")])
    assert bad.exit_code == 2 and "jax" in bad.output and "torch" in bad.output
