"""check() must catch what is wrong: every oracle is shown failing on a broken activation."""
from __future__ import annotations

import dataclasses
import sys

import numpy as np
import pytest

from actlab import activations as A
from actlab.activations import Activation, get, zoo
from actlab.activations.check import CheckReport, check, check_all


def _status(report: CheckReport) -> dict[str, str]:
    return {r.oracle: r.status for r in report.results}


def test_wrong_user_derivative_fails_where_it_is_wrong():
    # d/dx sin = cos; this one is wrong (by 0.05) only for x > 1.5
    A.register("test_check_sin_bad", np.sin, lambda x: np.cos(x) + 0.05 * (x > 1.5), overwrite=True)
    report = check("test_check_sin_bad")
    assert not report.ok
    cd = report["central differences"]
    assert cd.status == "fail"
    assert cd.worst_x > 1.5
    assert cd.max_abs_err == pytest.approx(0.05, rel=1e-3)
    text = report.to_text()
    assert "test_check_sin_bad: FAILED" in text and "worst at x=" in text
    A.register("test_check_sin", np.sin, np.cos, overwrite=True)
    assert check("test_check_sin").ok


def test_slightly_wrong_derivative_is_caught():
    # a relative error of 1e-4 is far above the float64 central-difference error (~1e-9)
    A.register("test_check_tanh_off", np.tanh, lambda x: (1 - np.tanh(x) ** 2) * (1 + 1e-4), overwrite=True)
    assert check("test_check_tanh_off")["central differences"].status == "fail"


def test_wrong_kink_convention_is_caught_by_the_kink_oracle():
    # ReLU with f'(0) = 1 instead of the minimum-norm 0
    A.register("test_check_relu_ge", lambda x: np.maximum(x, 0.0), lambda x: (x >= 0).astype(x.dtype),
               kinks=(0.0,), overwrite=True)
    report = check("test_check_relu_ge")
    st = _status(report)
    assert st["kinks"] == "fail" and st["central differences"] == "pass"
    assert report["kinks"].worst_x == 0.0
    assert "expected 0" in report["kinks"].reason


def test_undeclared_kink_is_caught_by_central_differences():
    A.register("test_check_relu_nokink", lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(x.dtype),
               overwrite=True)
    cd = check("test_check_relu_nokink")["central differences"]
    assert cd.status == "fail" and cd.worst_x == 0.0


def test_c1_function_with_a_jump_in_f_second_passes():
    # x|x| is continuously differentiable (f' = 2|x|) though f'' jumps at 0: no false alarm there
    A.register("test_check_xabsx", lambda x: x * np.abs(x), lambda x: 2 * np.abs(x), overwrite=True)
    assert check("test_check_xabsx").ok
    A.register("test_check_xabsx_bad", lambda x: x * np.abs(x), lambda x: 1.5 * np.abs(x), overwrite=True)
    assert check("test_check_xabsx_bad")["central differences"].worst_x == -30.0


def test_unstable_functions_fail_the_stability_check():
    def naive_sigmoid(x):
        return 1.0 / (1.0 + np.exp(-x))  # exp(1e4) overflows
    A.register("test_check_naive_sigmoid", naive_sigmoid,
               lambda x: naive_sigmoid(x) * (1 - naive_sigmoid(x)), overwrite=True)
    report = check("test_check_naive_sigmoid")
    assert _status(report)["stability"] == "fail"
    assert _status(report)["central differences"] == "pass"
    assert "overflow" in report["stability"].reason.lower()


def test_dtype_and_shape_changes_fail_the_stability_check():
    act = Activation("test_check_upcast", fn=lambda x: x.astype(np.float64) * 2.0,
                     der=lambda x, y: np.full(x.shape, 2.0))
    report = check(act)
    assert _status(report)["stability"] == "fail"
    assert "dtype float64" in report["stability"].reason
    flat = Activation("test_check_flat", fn=lambda x: np.ravel(x) * 1.0, der=lambda x, y: np.ones(np.size(x)))
    assert "shape" in check(flat)["stability"].reason


def test_pytorch_oracle_catches_wrong_values():
    torch = pytest.importorskip("torch")  # noqa: F841
    # a self-consistent pair (derivative right for its function) that is not the sigmoid
    shifted = dataclasses.replace(get("sigmoid"), fn=lambda x: zoo.sigmoid(x) + 0.01)
    report = check(shifted)
    st = _status(report)
    assert st["central differences"] == "pass" and st["pytorch float64"] == "fail"
    assert "values differ" in report["pytorch float64"].reason


def test_pytorch_oracle_catches_wrong_gradients():
    pytest.importorskip("torch")
    bad = dataclasses.replace(get("gelu"), der=lambda x, y, approximate=False: zoo.d_silu(x, y))
    st = _status(check(bad))
    assert st["pytorch float64"] == "fail" and st["central differences"] == "fail"


def test_pytorch_parameters_are_mapped():
    pytest.importorskip("torch")
    for name, params in [("leaky_relu", {"alpha": 0.3}), ("elu", {"alpha": 0.7}), ("celu", {"alpha": 2.0}),
                         ("hard_tanh", {"min_val": -0.5, "max_val": 2.0}), ("softshrink", {"lambd": 1.0}),
                         ("gelu", {"approximate": True}), ("rrelu", {"lower": 0.2, "upper": 0.4}),
                         ("prelu", {"alpha": np.array([0.1, -0.2, 0.3])})]:
        r = check(name, **params)["pytorch float64"]
        assert r.status == "pass", (name, r.reason)
    # a mismatch in a parameter would show: our leaky slope 0.3 against PyTorch's 0.01
    wrong = dataclasses.replace(get("leaky_relu", alpha=0.3), params={"alpha": 0.3}, name="leaky_relu")
    wrong = dataclasses.replace(wrong, fn=lambda x, alpha: zoo.leaky_relu(x, 0.01),
                                der=lambda x, y, alpha: zoo.d_leaky_relu(x, y, 0.01))
    assert check(wrong)["pytorch float64"].status == "fail"


def test_pytorch_kink_convention_differences_are_listed_not_failed():
    pytest.importorskip("torch")
    r = check("selu")["pytorch float64"]  # PyTorch: scale*alpha at 0; ours: scale
    assert r.status == "pass"
    assert any("x=0 skipped" in n for n in r.notes)


def test_torch_missing_is_a_clean_skip(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    report = check("relu")
    r = report["pytorch float64"]
    assert r.status == "skipped" and r.reason == "skipped: torch not installed"
    assert report.ok
    assert check("tanh", use_torch=False)["pytorch float64"].status == "skipped"


def test_vector_functions_vjp_and_jacobian_are_checked():
    bad_vjp = dataclasses.replace(get("softmax"), vjp_fn=lambda x, y, g, axis=-1: g * zoo.softmax(x))
    r = check(bad_vjp, use_torch=False)["central differences"]
    assert r.status == "fail" and "vjp" in r.reason
    bad_jac = dataclasses.replace(get("log_softmax"), der=lambda x, y, axis=-1: zoo.d_softmax(x, y))
    r = check(bad_jac, use_torch=False)["central differences"]
    assert r.status == "fail" and "Jacobian" in r.reason
    bad_maxout = dataclasses.replace(get("maxout"), vjp_fn=lambda x, y, g, k=2: np.repeat(g, k, axis=-1) / k)
    assert check(bad_maxout)["central differences"].status == "fail"


def test_a_function_that_raises_is_reported_not_raised():
    A.register("test_check_raises", lambda x: x * 1.0, lambda x: 1 / 0, overwrite=True)
    report = check("test_check_raises")
    assert not report.ok
    assert "ZeroDivisionError" in report["central differences"].reason


def test_float32_mode_passes_for_the_zoo_and_catches_errors():
    for name in ["relu6", "hard_swish", "tanh", "softmax", "elu"]:
        assert check(name, dtype=np.float32, use_torch=False).ok, name
    A.register("test_check_cube_bad32", lambda x: x ** 3, lambda x: 3.1 * x ** 2, overwrite=True)
    assert not check("test_check_cube_bad32", dtype=np.float32).ok
    with pytest.raises(ValueError, match="float16"):
        check("relu", dtype=np.float16)


def test_unknown_name_raises():
    with pytest.raises(ValueError, match="'nope'"):
        check("nope")


def test_custom_grid_and_rendering():
    from rich.console import Console
    report = check("relu", grid=np.linspace(-1, 1, 11))
    assert report["central differences"].n_points == 10  # 0 is a kink: left out
    console = Console(record=True, width=160)
    console.print(report.to_rich_table())
    out = console.export_text()
    assert "central differences" in out and "kinks" in out and "OK" in out
    d = report.as_dict()
    assert d["ok"] is True and len(d["results"]) == 4


def test_check_all_defaults_to_every_name():
    reports = check_all(["relu", "tanh"], use_torch=False)
    assert [r.activation for r in reports] == ["relu", "tanh"]
