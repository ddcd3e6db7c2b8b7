"""The zoo against independent oracles: central differences, PyTorch float64 autograd, exact
kink values worked out by hand, and the properties each activation claims, measured on grids."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from actlab import activations as A
from actlab.activations import get, names, zoo
from actlab.activations.check import check


ZOO = [a.name for a in zoo._ZOO]  # the zoo itself, not what other tests may have registered
ELEMENTWISE = [n for n in ZOO if get(n).elementwise]
VECTOR = [n for n in ZOO if not get(n).elementwise]

# parameter variants worth checking beyond the defaults
VARIANTS = [
    ("gelu", {"approximate": True}), ("elu", {"alpha": 0.5}), ("elu", {"alpha": 2.0}),
    ("leaky_relu", {"alpha": 0.2}), ("leaky_relu", {"alpha": 2.0}), ("celu", {"alpha": 0.5}),
    ("celu", {"alpha": 3.0}), ("hard_tanh", {"min_val": -2.0, "max_val": 3.0}),
    ("softshrink", {"lambd": 1.5}), ("hardshrink", {"lambd": 0.1}), ("rrelu", {"lower": 0.1, "upper": 0.3}),
    ("prelu", {"alpha": 0.25}), ("prelu", {"alpha": np.array([0.0, 0.25, -0.5, 1.5])}), ("maxout", {"k": 3}),
    # Keras accepts ELU slopes of 0 and below (its own layer tests use 0, 0.5, -1)
    ("elu", {"alpha": 0.0}), ("elu", {"alpha": -1.0}), ("elu", {"alpha": -2.5}),
    # Keras' ReLU(max_value, negative_slope, threshold) and ThresholdedReLU(theta)
    ("relu_keras", {"negative_slope": 0.2, "max_value": 10.0, "threshold": 3.0}),
    ("relu_keras", {"max_value": 6.0}), ("relu_keras", {"negative_slope": 0.2}),
    ("relu_keras", {"threshold": 0.5}), ("relu_keras", {"negative_slope": 2.0, "threshold": 1.0}),
    ("relu_keras", {"negative_slope": 0.3, "max_value": 1.0, "threshold": 2.0}),
]
VARIANT_IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in p.items())}"[:40] for n, p in VARIANTS]


def _torch():
    return pytest.importorskip("torch", reason="torch not installed")


def _strict():
    """overflow, invalid and divide-by-zero raise; warnings are errors (underflow to 0 is fine)."""
    class _S:
        def __enter__(self):
            self.e = np.errstate(over="raise", invalid="raise", divide="raise", under="ignore")
            self.w = warnings.catch_warnings()
            self.e.__enter__()
            self.w.__enter__()
            warnings.simplefilter("error")

        def __exit__(self, *a):
            self.w.__exit__(*a)
            self.e.__exit__(*a)
    return _S()


def _away_from_kinks(act, x, gap=1e-3):
    keep = np.ones(x.shape, bool)
    for k in act.kinks:
        keep &= np.abs(x - k) > gap
    return x[keep]


# ----------------------------------------------------------------------------- the zoo is complete

def test_every_function_of_the_issue_is_registered():
    wanted = """linear sigmoid tanh relu leaky_relu prelu elu maxout rrelu softmax log_softmax selu celu
        gelu silu swish mish softplus softsign relu6 hard_sigmoid hard_tanh hard_swish log_sigmoid
        tanhshrink softshrink hardshrink exponential gelu_tanh erf""".split()
    have = set(names(include_aliases=True))
    assert not [w for w in wanted if w not in have]
    for n in ZOO:
        act = get(n)
        assert act.formula and act.derivative_formula, n
        assert act.properties_fn is not None, n
        assert callable(getattr(A, n)), n  # importable by name


# ----------------------------------------------------------------------------- oracle 1: central differences

@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_matches_central_differences(name):
    act = get(name)
    x = _away_from_kinks(act, np.concatenate([np.linspace(-8, 8, 4001), [-30.0, -15.0, 15.0, 30.0]]))
    h = 1e-6 * np.maximum(1.0, np.abs(x))
    num = (act(x + h) - act(x - h)) / (2 * h)
    ana = act.derivative(x)
    tol = 1e-6 * np.abs(num) + 1e-8 + 1e-14 * np.abs(act(x)) / h  # rounding: ~eps |f| / h
    bad = np.abs(ana - num) > tol
    assert not bad.any(), f"{name}: first bad x={x[bad][:3]}, f'={ana[bad][:3]}, numeric={num[bad][:3]}"


@pytest.mark.parametrize("name", VECTOR)
def test_vjp_matches_central_differences(name):
    act = get(name)
    rng = np.random.default_rng(1)
    x = rng.normal(scale=2.0, size=(3, 6))
    y = act(x)
    g = rng.normal(size=y.shape)
    num = np.zeros_like(x)
    h = 1e-6
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        num[idx] = (np.sum(g * act(x + e)) - np.sum(g * act(x - e))) / (2 * h)
    np.testing.assert_allclose(act.vjp(x, y, g), num, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(act.vjp(x, None, g), num, rtol=1e-6, atol=1e-8)


# ----------------------------------------------------------------------------- oracle 2: PyTorch float64

def _torch_functions(torch):
    F = torch.nn.functional
    f64 = torch.float64
    return {
        "linear": lambda t: t * 1.0, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": F.relu,
        "leaky_relu": lambda t: F.leaky_relu(t, 0.01), "prelu": lambda t: F.prelu(t, torch.zeros(1, dtype=f64)),
        "elu": F.elu, "rrelu": lambda t: F.rrelu(t, 1 / 8, 1 / 3, training=False),
        "softmax": lambda t: F.softmax(t, -1), "log_softmax": lambda t: F.log_softmax(t, -1),
        "maxout": lambda t: t.reshape(*t.shape[:-1], -1, 2).max(-1).values,
        "selu": F.selu, "celu": F.celu, "gelu": F.gelu, "silu": F.silu, "mish": F.mish,
        "softplus": F.softplus, "softsign": F.softsign, "relu6": F.relu6, "hard_sigmoid": F.hardsigmoid,
        "hard_tanh": F.hardtanh, "hard_swish": F.hardswish, "log_sigmoid": F.logsigmoid,
        "tanhshrink": F.tanhshrink, "softshrink": F.softshrink, "hardshrink": F.hardshrink,
        "exponential": torch.exp, "erf": torch.erf,
        "hard_sigmoid_keras": lambda t: torch.clamp(t * 0.2 + 0.5, 0.0, 1.0),
        "relu_keras": F.relu,   # the defaults
    }


def test_torch_table_covers_the_zoo():
    torch = _torch()
    assert set(_torch_functions(torch)) == set(ZOO)


@pytest.mark.parametrize("name", ZOO)
def test_value_and_gradient_match_pytorch_float64(name):
    torch = _torch()
    fn = _torch_functions(torch)[name]
    act = get(name)
    rng = np.random.default_rng(2)
    if act.elementwise:
        x = _away_from_kinks(act, np.linspace(-12, 12, 2401))
        g = rng.normal(size=x.shape)
    else:
        x = rng.normal(scale=3.0, size=(5, 8))
        g = rng.normal(size=act(x).shape)
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    out = fn(t)
    out.backward(torch.tensor(g))
    np.testing.assert_allclose(act(x), out.detach().numpy(), rtol=1e-7, atol=1e-8)
    ours = act.derivative(x) * g if act.elementwise else act.vjp(x, None, g)
    np.testing.assert_allclose(ours, t.grad.numpy(), rtol=1e-7, atol=1e-8)


# ----------------------------------------------------------------------------- check() itself, every oracle

@pytest.mark.parametrize("name", ZOO + ["gelu_tanh", "swish"])
def test_check_passes_all_three_oracles(name):
    report = check(name)
    assert report.ok, report.to_text()
    statuses = {r.oracle: r.status for r in report.results}
    assert statuses["central differences"] == "pass"
    assert statuses["stability"] == "pass"
    assert statuses["kinks"] == ("pass" if get(name).elementwise else "skipped")
    try:
        import torch  # noqa: F401
        has_torch = True
    except ImportError:
        has_torch = False
    if has_torch and (get(name).torch_name or name in ("exponential", "erf")):
        assert statuses["pytorch float64"] == "pass"
    else:
        assert statuses["pytorch float64"] == "skipped"


@pytest.mark.parametrize("name,params", VARIANTS, ids=VARIANT_IDS)
def test_check_passes_for_parameter_variants(name, params):
    report = check(name, **params)
    assert report.ok, report.to_text()


# ----------------------------------------------------------------------------- stability, dtype, shape

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ZOO)
def test_stable_over_wide_inputs(name, dtype):
    act = get(name)
    x = np.concatenate([np.linspace(-1e4, 1e4, 4001), [-1e4, -1000.0, -88.8, -0.0, 0.0, 88.8, 1000.0, 1e4]])
    x = x[: (x.size // 4) * 4].astype(dtype).reshape(-1, 4)  # width 4: maxout pairs
    with _strict():
        y = act(x)
        d = act.derivative(x) if act.elementwise else act.vjp(x, y, np.ones_like(y))
    for arr in (y, d):
        assert arr.dtype == dtype
        assert np.all(np.isfinite(arr)), f"{name}: not finite at {x[~np.isfinite(arr)][:3] if arr.shape == x.shape else '?'}"
    assert d.shape == x.shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_shape_and_dtype_preserved(name, dtype):
    act = get(name)
    for x in (np.array(0.5, dtype=dtype), np.array(-2.0, dtype=dtype), np.linspace(-3, 3, 7).astype(dtype),
              np.linspace(-3, 3, 12).astype(dtype).reshape(3, 4)):
        y, d = act(x), act.derivative(x)
        assert np.shape(y) == x.shape and np.shape(d) == x.shape
        assert np.asarray(y).dtype == dtype and np.asarray(d).dtype == dtype
    # lists and ints become float64
    assert act([1, 2]).dtype == np.float64


def test_float32_agrees_with_float64():
    x = np.linspace(-20, 20, 801)
    for name in ELEMENTWISE:
        act = get(name)
        np.testing.assert_allclose(act(x.astype(np.float32)), act(x), rtol=1e-5, atol=1e-5, err_msg=name)
        np.testing.assert_allclose(act.derivative(x.astype(np.float32)), act.derivative(x), rtol=1e-4,
                                   atol=1e-5, err_msg=name)


# ----------------------------------------------------------------------------- exact kink values

SELU_SCALE = 1.0507009873554804934193349852946
KINK_VALUES = [
    # (name, params, x, f'(x) worked out by hand: the one-sided derivative of smaller magnitude)
    ("relu", {}, 0.0, 0.0),
    ("leaky_relu", {}, 0.0, 0.01),
    ("leaky_relu", {"alpha": 0.3}, 0.0, 0.3),
    ("leaky_relu", {"alpha": 2.0}, 0.0, 1.0),  # |2| > |1|: the right slope
    ("prelu", {"alpha": 0.25}, 0.0, 0.25),
    ("rrelu", {}, 0.0, (1 / 8 + 1 / 3) / 2),
    ("relu6", {}, 0.0, 0.0), ("relu6", {}, 6.0, 0.0),
    ("hard_tanh", {}, -1.0, 0.0), ("hard_tanh", {}, 1.0, 0.0),
    ("hard_tanh", {"min_val": -2.0, "max_val": 3.0}, 3.0, 0.0),
    ("hard_sigmoid", {}, -3.0, 0.0), ("hard_sigmoid", {}, 3.0, 0.0),
    ("hard_swish", {}, -3.0, 0.0),  # left 0, right (2(-3)+3)/6 = -0.5
    ("hard_swish", {}, 3.0, 1.0),   # left (2*3+3)/6 = 1.5, right 1
    ("softshrink", {}, -0.5, 0.0), ("softshrink", {}, 0.5, 0.0),
    ("hardshrink", {}, -0.5, 0.0), ("hardshrink", {}, 0.5, 0.0),
    ("softshrink", {"lambd": 2.0}, 2.0, 0.0),
    ("selu", {}, 0.0, SELU_SCALE),  # left scale*alpha ~ 1.758, right scale
    ("elu", {"alpha": 2.0}, 0.0, 1.0),  # left alpha e^0 = 2, right 1
    ("elu", {"alpha": 0.5}, 0.0, 0.5),
    ("elu", {}, 0.0, 1.0),  # alpha = 1: differentiable, f'(0) = 1
    ("elu", {"alpha": 0.0}, 0.0, 0.0),    # left 0, right 1
    ("elu", {"alpha": -0.5}, 0.0, -0.5),  # left -0.5, right 1
    ("elu", {"alpha": -2.0}, 0.0, 1.0),   # left -2, right 1
    ("hard_sigmoid_keras", {}, -2.5, 0.0), ("hard_sigmoid_keras", {}, 2.5, 0.0),  # 0.2 inside, 0 outside
    ("relu_keras", {}, 0.0, 0.0),
    ("relu_keras", {"threshold": 1.0}, 1.0, 0.0),  # a jump from 0 to 1: left 0
    ("relu_keras", {"negative_slope": 0.2, "max_value": 6.0, "threshold": 1.0}, 1.0, 0.2),  # left 0.2, right 1
    ("relu_keras", {"negative_slope": 0.2, "max_value": 6.0, "threshold": 1.0}, 6.0, 0.0),  # left 1, right 0
    # f jumps at a threshold > 0: the right quotient is infinite, the left slope is the smaller
    ("relu_keras", {"negative_slope": 2.0, "threshold": 1.0}, 1.0, 2.0),
    ("relu_keras", {"negative_slope": 0.3, "max_value": 1.0, "threshold": 2.0}, 2.0, 0.3),
    ("relu_keras", {"negative_slope": 2.0}, 0.0, 1.0),   # continuous: left 2, right 1
    ("relu_keras", {"negative_slope": 0.5, "max_value": 0.0}, 0.0, 0.0),   # left 0.5, right 0
]


@pytest.mark.parametrize("name,params,x,expected", KINK_VALUES)
def test_exact_derivative_at_kinks(name, params, x, expected):
    act = get(name, **params)
    for dtype in (np.float32, np.float64):
        d = act.derivative(np.array([x], dtype=dtype))
        assert d[0] == np.asarray(expected, dtype=dtype), f"{name}{params}'({x}) = {d[0]!r}, expected {expected!r}"
        assert act.derivative(np.array(x, dtype=dtype)) == np.asarray(expected, dtype=dtype)


def test_relu_derivative_at_zero_is_exactly_zero():
    d = get("relu").derivative(np.array([-0.0, 0.0]))
    assert d.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_kink_values_are_the_smaller_one_sided_derivative(name):
    """Independent of check(): one-sided differences at every declared kink."""
    act = get(name)
    for k in act.kinks:
        h = 1e-8
        left = (act(np.array(k)) - act(np.array(k - h))) / h
        right = (act(np.array(k + h)) - act(np.array(k))) / h
        expected = left if abs(left) < abs(right) else right
        assert float(act.derivative(np.array(k))) == pytest.approx(float(expected), abs=1e-6), (name, k)


# ----------------------------------------------------------------------------- properties

WIDE = np.unique(np.concatenate([-np.logspace(4, -3, 300), np.linspace(-50, 50, 200001), np.logspace(-3, 4, 300)]))


@pytest.mark.parametrize("name", ELEMENTWISE + ["gelu_tanh"])
def test_output_range_holds_and_is_approached(name):
    act = get(name)
    lo, hi = act.properties.output_range
    y = act(WIDE)
    assert y.min() >= lo - 1e-12 and y.max() <= hi + 1e-12, (y.min(), y.max(), lo, hi)
    if math.isfinite(lo):
        assert y.min() - lo < 1e-3
    else:
        assert y.min() < -50  # f(-1e4) goes far below zero
    if math.isfinite(hi):
        assert hi - y.max() < 1e-3
    else:
        assert y.max() > 50
    assert act.properties.bounded == (math.isfinite(lo) and math.isfinite(hi))


@pytest.mark.parametrize("name", VECTOR)
def test_output_range_of_vector_functions(name):
    act = get(name)
    lo, hi = act.properties.output_range
    rng = np.random.default_rng(3)
    y = act(rng.normal(scale=20.0, size=(200, 10)))
    assert y.min() >= lo and y.max() <= hi
    assert (y.min() - lo < 1e-3) if math.isfinite(lo) else y.min() < -20
    assert (hi - y.max() < 1e-3) if math.isfinite(hi) else y.max() > 20


@pytest.mark.parametrize("name", ELEMENTWISE + ["gelu_tanh"])
def test_monotonic_claim(name):
    act = get(name)
    steps = np.diff(act(WIDE))
    if act.properties.monotonic:
        assert steps.min() >= 0
    else:
        assert steps.min() < -1e-6


@pytest.mark.parametrize("name", ZOO)
def test_zero_centred_claim(name):
    act = get(name)
    if act.elementwise:
        y, y0 = act(WIDE), float(act(0.0))
    else:
        y = act(np.random.default_rng(4).normal(scale=5.0, size=(100, 6)))
        y0 = float(np.max(act(np.zeros((1, 6)))))  # softmax of zeros is 1/6, maxout 0
    both_signs = y.min() < 0 < y.max()
    assert act.properties.zero_centred == (y0 == 0.0 and both_signs)


@pytest.mark.parametrize("name", ELEMENTWISE + ["gelu_tanh"])
def test_max_abs_derivative_claim(name):
    act = get(name)
    claim = act.properties.max_abs_derivative
    if math.isinf(claim):
        assert abs(float(act.derivative(700.0))) > 1e300
        return
    measured = np.abs(act.derivative(WIDE)).max()
    assert measured <= claim * (1 + 1e-9)
    assert claim - measured < 1e-3


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_max_abs_derivative_of_softmax_jacobians(name):
    act = get(name)
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.normal(scale=4.0, size=(500, 4)), [[0.0, 0.0, -50.0, -50.0]]])
    jac = act.derivative(x)
    assert np.abs(jac).max() <= act.properties.max_abs_derivative + 1e-12
    assert act.properties.max_abs_derivative - np.abs(jac).max() < 1e-3


@pytest.mark.parametrize("name", ELEMENTWISE + ["gelu_tanh"])
def test_smooth_claim_and_kinks(name):
    act = get(name)
    assert bool(act.kinks) == (not act.properties.smooth)
    x = _away_from_kinks(act, np.linspace(-8, 8, 160001), gap=2e-4)
    d = act.derivative(x)
    jumps = np.abs(np.diff(d)) / (1.0 + np.maximum(np.abs(d[1:]), np.abs(d[:-1])))
    gaps = np.diff(x) < 2e-4  # adjacent points (no kink between them)
    assert jumps[gaps].max() < 1e-2, f"{name}: f' jumps near x={x[1:][gaps][np.argmax(jumps[gaps])]}"
    for k in act.kinks:  # each declared kink is one: f' jumps there, or f itself does
        dl, dr = act.derivative(np.array([k - 1e-6, k + 1e-6]))
        fl, fr = act(np.array([k - 1e-9, k + 1e-9]))
        assert abs(dr - dl) > 1e-3 or abs(fr - fl) > 1e-3, (name, k)


# ----------------------------------------------------------------------------- the registry

def test_unknown_name_lists_valid_names_and_closest_match():
    with pytest.raises(ValueError) as exc:
        get("typo")
    msg = str(exc.value)
    assert "'typo'" in msg and "relu" in msg and "softmax" in msg
    with pytest.raises(ValueError, match="Did you mean 'relu'"):
        get("rleu")


def test_aliases():
    x = np.linspace(-4, 4, 81)
    assert get("swish").name == "silu"
    np.testing.assert_allclose(get("swish")(x), x / (1 + np.exp(-x)), rtol=1e-14, atol=1e-16)
    assert A.swish is A.silu
    gt = get("gelu_tanh")
    assert gt.params["approximate"] is True
    expected = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(gt(x), expected, rtol=1e-14, atol=1e-15)
    assert get("Leaky-ReLU").name == "leaky_relu"
    assert get(None).name == "linear"


def test_with_params_and_validation():
    assert get("leaky_relu", alpha=0.2)(np.array([-1.0]))[0] == -0.2
    with pytest.raises(ValueError, match="'beta'"):
        get("elu").with_params(beta=1.0)
    with pytest.raises(ValueError, match="invalid value 0 for parameter alpha of celu"):
        get("celu", alpha=0)
    with pytest.raises(ValueError, match="invalid value -1 for parameter alpha of celu"):
        get("celu", alpha=-1)
    with pytest.raises(ValueError, match="invalid value nan for parameter alpha of elu"):
        get("elu", alpha=float("nan"))
    with pytest.raises(ValueError, match="min_val"):
        get("hard_tanh", min_val=1.0, max_val=1.0)
    with pytest.raises(ValueError, match="lower"):
        get("rrelu", lower=0.5, upper=0.1)
    with pytest.raises(ValueError, match="invalid value 0 for parameter k of maxout"):
        get("maxout", k=0)
    with pytest.raises(ValueError, match="approximate"):
        get("gelu", approximate="yes")
    with pytest.raises(ValueError, match="cannot interpret 3"):
        get(3)


@pytest.mark.parametrize("name, param, value, expected", [
    ("leaky_relu", "alpha", "abc", "a finite number"),
    ("leaky_relu", "alpha", float("nan"), "a finite number"),
    ("leaky_relu", "alpha", float("inf"), "a finite number"),
    ("leaky_relu", "alpha", True, "a finite number"),
    ("prelu", "alpha", np.array([0.1, np.nan]), "a finite number or an array of them, one per unit"),
    ("prelu", "alpha", -np.inf, "a finite number"),
    ("elu", "alpha", float("-inf"), "a finite number"),
    ("celu", "alpha", -1.0, "a finite number > 0"),
    ("rrelu", "lower", -0.1, "a finite number >= 0"),
    ("rrelu", "upper", float("nan"), "a finite number >= 0"),
    ("maxout", "k", 2.5, "an integer >= 1"),
    ("maxout", "k", 0, "an integer >= 1"),
    ("softmax", "axis", "last", "an integer or a tuple of integers"),
    ("log_softmax", "axis", (1, 2.0), "an integer or a tuple of integers"),
    ("gelu", "approximate", 1, "true or false"),
    ("hard_tanh", "max_val", float("inf"), "a finite number"),
    ("softshrink", "lambd", -0.5, "a finite number >= 0"),
    ("hardshrink", "lambd", float("nan"), "a finite number >= 0"),
])
def test_a_parameter_outside_its_domain_names_value_parameter_activation_and_domain(name, param, value, expected):
    shown = repr(value.tolist() if isinstance(value, np.ndarray) else value)
    with pytest.raises(ValueError) as info:
        get(name, **{param: value})
    assert str(info.value).startswith(f"invalid value {shown} for parameter {param} of {name}: expected {expected}")


def test_every_default_lies_in_its_domain_and_every_domain_names_a_parameter():
    for n in names():
        act = get(n)
        assert set(act.domains) <= set(act.params), n
        for k, v in act.params.items():
            act.check_param(k, v)  # raises if a default were outside its own domain
            assert act.domain(k) is not None or v is None, (n, k)


def test_a_registered_activation_with_parameters_gets_domains_too():
    from actlab.activations import Domain, register

    act = register("test_scaled_tanh", lambda x, a=1.0: np.tanh(a * x),
                   lambda x, a=1.0: a / np.cosh(a * x) ** 2, params={"a": 1.0, "b": 2.0},
                   domains={"a": Domain(gt=0, reason="a positive gain")}, overwrite=True)
    assert act.with_params(a=2.0).params["a"] == 2.0
    with pytest.raises(ValueError, match=r"invalid value -1 for parameter a of test_scaled_tanh: "
                                         r"expected a finite number > 0 \(a positive gain\)"):
        act.with_params(a=-1)
    with pytest.raises(ValueError, match="invalid value nan for parameter b of test_scaled_tanh"):
        act.with_params(b=float("nan"))  # no declared domain: a finite number, as the default


def test_get_callable_with_and_without_derivative():
    def cube(x):
        return x ** 3
    act = get(cube)
    x = np.linspace(-2, 2, 9)
    np.testing.assert_allclose(act.derivative(x), 3 * x**2, rtol=1e-6, atol=1e-8)
    assert act.numerical_derivative

    def sq(x):
        return x * x
    sq.derivative = lambda x: 2 * x + 1.0  # deliberately wrong: used as given
    act2 = get(sq)
    assert not act2.numerical_derivative
    np.testing.assert_array_equal(act2.derivative(x), 2 * x + 1.0)
    assert not check(act2, use_torch=False).ok


def test_register_user_function_wrong_and_right_derivative():
    A.register("test_user_cube", lambda x: x ** 3, lambda x: 3 * x ** 2, overwrite=True)
    assert check("test_user_cube").ok
    A.register("test_user_cube_bad", lambda x: x ** 3, lambda x: 3 * x ** 2 + (x > 2), overwrite=True)
    report = check("test_user_cube_bad")
    assert not report.ok
    cd = report["central differences"]
    assert cd.status == "fail" and cd.worst_x > 2
    with pytest.raises(ValueError, match="already registered"):
        A.register("test_user_cube", lambda x: x, lambda x: x)


# ----------------------------------------------------------------------------- vector functions, rrelu, prelu

def test_softmax_rows_sum_to_one_and_jacobian():
    act = get("softmax")
    rng = np.random.default_rng(6)
    x = rng.normal(scale=5.0, size=(4, 5))
    x[0] += 1000.0  # shifted by the row max: no overflow
    y = act(x)
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-14)
    jac = zoo.d_softmax(x, None)
    h = 1e-6
    num = np.zeros_like(jac)
    for j in range(x.shape[1]):
        e = np.zeros_like(x)
        e[:, j] = h
        num[:, :, j] = (act(x + e) - act(x - e)) / (2 * h)
    np.testing.assert_allclose(jac, num, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="axis=0"):
        zoo.d_softmax(x, None, axis=0)


def test_maxout_by_hand_and_vjp():
    x = np.array([[1.0, -2.0, 3.0, 5.0, -1.0, -4.0]])
    act = get("maxout")
    np.testing.assert_array_equal(act(x), [[1.0, 5.0, -1.0]])
    g = np.array([[10.0, 20.0, 30.0]])
    np.testing.assert_array_equal(act.vjp(x, None, g), [[10.0, 0.0, 0.0, 20.0, 30.0, 0.0]])
    np.testing.assert_array_equal(get("maxout", k=3)(x), [[3.0, 5.0]])
    with pytest.raises(ValueError, match="divisible"):
        get("maxout", k=4)(x)


def test_rrelu_at_inference_is_leaky_with_mean_slope():
    x = np.linspace(-5, 5, 101)
    np.testing.assert_array_equal(get("rrelu", lower=0.1, upper=0.3)(x), np.where(x > 0, x, 0.2 * x))
    np.testing.assert_array_equal(get("rrelu")(x), get("leaky_relu", alpha=(1 / 8 + 1 / 3) / 2)(x))


def test_prelu_per_unit_alpha():
    alpha = np.array([0.0, 0.1, 0.5])
    x = np.array([[-2.0, -2.0, -2.0], [3.0, 3.0, 3.0]])
    act = get("prelu", alpha=alpha)
    np.testing.assert_array_equal(act(x), [[0.0, -0.2, -1.0], [3.0, 3.0, 3.0]])
    np.testing.assert_array_equal(act.derivative(x), [[0.0, 0.1, 0.5], [1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(zoo.d_prelu_alpha(x), [[-2.0, -2.0, -2.0], [0.0, 0.0, 0.0]])
    p = act.properties
    assert p.monotonic and p.max_abs_derivative == 1.0 and p.output_range == (-math.inf, math.inf)
    neg = get("prelu", alpha=np.array([0.2, -1.5]))
    assert neg.properties.monotonic is False and neg.properties.max_abs_derivative == 1.5


def test_leaky_relu_negative_alpha_properties():
    p = get("leaky_relu", alpha=-0.5).properties
    y = get("leaky_relu", alpha=-0.5)(WIDE)
    assert p.output_range[0] == y.min() == 0.0
    assert p.monotonic is False and p.zero_centred is False


# ----------------------------------------------------------------------------- Keras 2's forms

def test_hard_sigmoid_keras_is_keras2_form_and_hard_sigmoid_is_pytorch_form():
    x = np.linspace(-4, 4, 8001)
    # Keras 2's activations_test reference, element by element
    ref = np.array([0.0 if v * 0.2 + 0.5 <= 0 else (1.0 if v * 0.2 + 0.5 >= 1 else v * 0.2 + 0.5) for v in x])
    np.testing.assert_allclose(get("hard_sigmoid_keras")(x), ref, rtol=0, atol=1e-15)
    np.testing.assert_allclose(get("hard_sigmoid")(x), np.minimum(np.maximum(x + 3, 0), 6) / 6, atol=1e-15)
    gap = np.abs(get("hard_sigmoid_keras")(x) - get("hard_sigmoid")(x))
    assert gap.max() == pytest.approx(1 / 12, abs=1e-9)   # at x = +-2.5: 1 vs 5.5/6
    assert get("hard_sigmoid_keras").derivative(np.array([-3.0, -1.0, 0.0, 2.0, 3.0])).tolist() == \
        [0.0, 0.2, 0.2, 0.2, 0.0]


def test_relu_keras_against_keras_docstring_examples():
    foo = np.array([-10, -5, 0.0, 5, 10], dtype=np.float32)
    relu = get("relu_keras")
    np.testing.assert_array_equal(relu(foo), [0, 0, 0, 5, 10])
    np.testing.assert_array_equal(get("relu_keras", negative_slope=0.5)(foo), [-5, -2.5, 0, 5, 10])
    np.testing.assert_array_equal(get("relu_keras", max_value=5.0)(foo), [0, 0, 0, 5, 5])
    np.testing.assert_array_equal(get("relu_keras", threshold=5.0)(foo), [0, 0, 0, 0, 10])
    # ReLU layer docstring: threshold 1.5 on [-3, -1, 1, 2]
    np.testing.assert_array_equal(get("relu_keras", threshold=1.5)([-3.0, -1.0, 1.0, 2.0]), [0, 0, 0, 2])
    # the defaults are relu, bit for bit, derivative included
    x = np.linspace(-5, 5, 1001)
    assert np.array_equal(relu(x), get("relu")(x)) and np.array_equal(relu.derivative(x), get("relu").derivative(x))
    assert get("thresholded_relu").params == {"negative_slope": 0.0, "max_value": None, "threshold": 1.0}
    for bad in ({"negative_slope": -0.1}, {"threshold": -1.0}, {"max_value": -2.0}, {"threshold": math.nan}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            get("relu_keras", **bad)


@pytest.mark.parametrize("alpha", [0.0, -1.0, -2.5])
def test_elu_with_alpha_zero_or_negative(alpha):
    act = get("elu", alpha=alpha)
    x = np.linspace(-30, 5, 3501)
    np.testing.assert_allclose(act(x), np.where(x > 0, x, alpha * (np.exp(x) - 1)), rtol=1e-12, atol=1e-15)
    y = act(WIDE)
    p = act.properties
    assert p.output_range == (0.0, math.inf) and y.min() >= 0.0
    assert p.monotonic == (alpha >= 0) and p.max_abs_derivative == max(1.0, abs(alpha))
    assert not p.zero_centred and act.kinks == (0.0,)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exponential_equals_exp_wherever_exp_is_finite(dtype):
    lim = zoo.exp_limit(dtype)
    top = float(np.log(np.finfo(dtype).max))
    # the band just below log(max) (the old rule saturated from log(max) - 0.01) and the edge itself
    x = np.concatenate([np.linspace(-120, top - 0.02, 20001), np.linspace(top - 0.02, top, 4001),
                        [np.nextafter(lim, dtype(-np.inf)), lim]]).astype(dtype)
    x = x[x <= lim]
    assert np.sum(x > top - 0.01) > 1000
    with np.errstate(over="ignore"):
        exact = np.exp(x)
    assert np.all(np.isfinite(exact))
    np.testing.assert_array_equal(get("exponential")(x), exact)
    np.testing.assert_array_equal(get("exponential").derivative(x), exact)   # f' = f
    # just beyond, exp overflows; exponential stays at the largest value exp reaches, the same for f'
    with np.errstate(over="ignore"):
        assert np.isinf(np.exp(np.nextafter(lim, dtype(np.inf))))
    beyond = np.array([np.nextafter(lim, dtype(np.inf)), top + 1, 1e4], dtype=dtype)
    with _strict():
        y, d = get("exponential")(beyond), get("exponential").derivative(beyond)
    assert np.all(y == np.exp(lim)) and np.all(d == np.exp(lim))
    assert np.exp(lim) > np.finfo(dtype).max * (1 - 1e-5)   # within 1e-5 of the largest float, not 0.99


# -- docstrings written from the registry (issue 10, item 6) ---------------------------------


def _doc_params(act):
    return [(k, repr(v)) for k, v in act.params.items()]


@pytest.mark.parametrize("name", names())
def test_docstring_shows_formula_derivative_parameters_and_paper(name):
    import pydoc

    act = get(name)
    fn = getattr(A, name)   # the stateless function of the same name
    shown = pydoc.render_doc(act, renderer=pydoc.plaintext)   # what help(get(name)) prints
    for doc in (act.__doc__, fn.__doc__):
        assert act.formula and act.formula in doc
        assert act.derivative_formula and act.derivative_formula in doc
        for param, default in _doc_params(act):
            assert f"{param} (" in doc and f"Default: ``{default}``" in doc
            assert act.domain(param).describe() in doc
        assert act.paper in doc   # '' for the few without one
        if act.torch_name:
            assert f"torch.nn.{act.torch_name}" in doc
    assert act.formula in shown and act.derivative_formula in shown
    assert A.Activation.__doc__.startswith("An activation function")   # the class keeps its own


@pytest.mark.parametrize("name", names())
def test_docstring_examples_run(name):
    import doctest

    act = get(name)
    for doc in (act.__doc__, getattr(A, name).__doc__):
        parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        test = parser.get_doctest(doc, {}, name, None, 0)
        assert test.examples
        runner.run(test)
        assert runner.failures == 0


def test_docstring_follows_the_parameters_and_keeps_the_functions_own_text():
    doc = get("leaky_relu", alpha=0.2).__doc__
    assert doc.startswith("leaky_relu(alpha=0.2):")
    assert "Default: ``0.01`` (here ``0.2``)" in doc
    assert "get('leaky_relu', alpha=0.2)" in doc
    assert "Default: ``0.01``" in get("leaky_relu").__doc__ and "(here" not in get("leaky_relu").__doc__
    # rrelu's own note on training survives under Notes, in the function's and the object's docstring
    assert "each unit draws its slope uniformly" in A.rrelu.__doc__
    assert "each unit draws its slope uniformly" in get("rrelu").__doc__


def test_a_registered_plugin_gets_a_docstring():
    def cube(x, scale=2.0):
        """Scaled cube, for the test."""
        return scale * x ** 3

    act = A.register("cube_doc", cube, lambda x, scale=2.0: 3 * scale * x ** 2, params={"scale": 2.0},
                     formula=r"f(x) = s x^3", derivative_formula=r"f'(x) = 3 s x^2",
                     domains={"scale": A.Domain(gt=0, reason="the scale")},
                     paper="Nobody (2026), Cubes", description="A cube.")
    for doc in (act.__doc__, get("cube_doc").__doc__):
        assert doc.startswith("cube_doc(scale=2.0): A cube.")
        assert r"f(x) = s x^3" in doc and r"f'(x) = 3 s x^2" in doc
        assert "scale (float): a finite number > 0 (the scale). Default: ``2.0``" in doc
        assert "Nobody (2026), Cubes" in doc and "Scaled cube, for the test." in doc
    bare = A.register("bare_doc", lambda x: x, lambda x: np.ones_like(x))
    assert "(no formula given)" in bare.__doc__ and "get('bare_doc')" in bare.__doc__


# -- one label (issue 10, item 4) -------------------------------------------------------------


def test_label_shows_parameters_that_differ_from_the_default():
    assert get("relu").label() == "relu"
    assert get("leaky_relu", alpha=0.2).label() == "leaky_relu(alpha=0.2)"
    assert get("leaky_relu").label() == "leaky_relu"
    assert get("leaky_relu").label(every=True) == "leaky_relu(alpha=0.01)"
    assert get("elu").label(every=True) == "elu(alpha=1)"                         # floats as :g
    assert get("rrelu", lower=0.1, upper=0.2).label() == "rrelu(lower=0.1, upper=0.2)"
    assert get("rrelu", upper=0.5).label(every=True) == "rrelu(lower=0.125, upper=0.5)"
    assert get("gelu_tanh").label() == "gelu(approximate=True)"
    assert get("prelu", alpha=np.zeros(3)).label() == "prelu(alpha=array[3])"
    assert get("relu_keras", max_value=6.0).label() == "relu_keras(max_value=6)"


def test_label_of_a_stored_configuration():
    assert A.label_of({"name": "elu", "alpha": 1.0}) == "elu"                       # the default: no parameters
    assert A.label_of({"name": "elu", "alpha": 1}) == "elu"                         # an int equal to it too
    assert A.label_of({"name": "leaky_relu", "alpha": 0.2}) == "leaky_relu(alpha=0.2)"
    assert A.label_of(get("leaky_relu", alpha=0.2).config()) == get("leaky_relu", alpha=0.2).label()
    assert A.label_of("gelu_tanh") == "gelu(approximate=True)"
    # a plugin's activation not loaded in this process: its parameters as stored
    assert A.label_of({"name": "not_loaded", "a": 0.5}) == "not_loaded(a=0.5)"
    assert A.label_of(None) == "None"
