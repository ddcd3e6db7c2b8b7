"""Impossible sizes are refused before anything is allocated; weights are drawn without a float64 copy."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from click.testing import CliRunner

from actlab.engine import initializers, mlp
from actlab.engine.mlp import build_mlp, check_memory, estimate_memory

GiB = 2**30


def test_estimate_by_hand():
    # 3-4-2 with relu, float32, SGD without momentum (one scratch array), batch 5:
    # params = 3*4 + 4 + 4*2 + 2 = 26; weights = gradients = optimizer = 26 * 4 bytes
    # activations: training 5 rows * (3 inputs + 4 * (4 + 2)) + evaluation 1024 rows * 2 * (4 + 2), times 4 bytes
    est = estimate_memory(3, "4", "relu", 2, dtype="float32", batch_size=5, optimizer="sgd")
    assert est["weights"] == est["gradients"] == est["optimizer"] == 26 * 4
    assert est["activations"] == (5 * (3 + 24) + 1024 * 12) * 4
    assert est["total"] == 3 * 26 * 4 + est["activations"]
    # Adam keeps two arrays per parameter; float64 doubles everything; maxout(k=3) widens the Dense to 12
    assert estimate_memory(3, "4", "relu", 2, batch_size=5, optimizer="adam")["optimizer"] == 2 * 26 * 4
    assert estimate_memory(3, "4", "relu", 2, dtype="float64", batch_size=5, optimizer="sgd")["total"] == 2 * est["total"]
    assert estimate_memory(3, "4", {"name": "maxout", "k": 3}, 2)["weights"] == (3 * 12 + 12 + 4 * 2 + 2) * 4


def test_estimate_matches_what_a_built_model_holds():
    model = build_mlp(64, "32x2", "relu", 10, seed=0, dtype="float64")
    weights = sum(w.nbytes for w in model.get_weights())
    assert estimate_memory(64, "32x2", "relu", 10, dtype="float64")["weights"] == weights


def test_an_impossible_network_is_refused_before_any_allocation():
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            build_mlp(784, "100000x50", "relu", 10, seed=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20          # nothing like the 74.5 GiB kernel was asked for
    text = str(info.value)
    assert "784-100000x50-10" in text and "float32" in text and "TiB" in text and "available" in text
    assert "\n" not in text


def test_the_limit_is_the_available_memory(monkeypatch):
    need = estimate_memory(64, "32", "relu", 10, batch_size=32, optimizer="sgd")["total"]
    monkeypatch.setattr(mlp, "available_memory", lambda: (need, "available"))
    check_memory(64, "32", "relu", 10, batch_size=32, optimizer="sgd")        # exactly fits
    monkeypatch.setattr(mlp, "available_memory", lambda: (need - 1, "available"))
    with pytest.raises(ValueError, match=r"an MLP 64-32-10 in float32 needs about .* KiB .* of memory is available"):
        build_mlp(64, "32", "relu", 10, batch_size=32, optimizer="sgd")


def test_available_memory_is_positive():
    have, what = mlp.available_memory()
    assert have > 0 and what


def test_cli_train_refuses_an_impossible_network_with_one_line():
    from actlab.cli import main

    res = CliRunner().invoke(main, ["train", "--hidden", "100000x50", "--epochs", "1"])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("actlab: error: an MLP 64-100000x50-10 in float32 needs about")
    assert "Traceback" not in res.output


@pytest.mark.parametrize("name", ["glorot_uniform", "he_normal", "random_normal", "lecun_normal"])
def test_chunked_draws_equal_one_float64_draw(monkeypatch, name):
    """The values are those of one float64 draw cast to the dtype (the old code), bit for bit."""
    init = initializers.get(name)
    shape = (37, 29)
    monkeypatch.setattr(initializers, "CHUNK", 100)   # many chunks, and redraws across them
    got = init(shape, np.random.default_rng(5), np.float32)
    rng = np.random.default_rng(5)
    fan_in, fan_out = shape
    if name == "glorot_uniform":
        limit = np.sqrt(3.0) * np.sqrt(1.0 / ((fan_in + fan_out) / 2))
        want = rng.uniform(-limit, limit, size=shape)
    elif name == "random_normal":
        want = rng.normal(0.0, 0.05, size=shape)
    else:
        std = np.sqrt((2.0 if name == "he_normal" else 1.0) / fan_in) / 0.87962566103423978
        want = rng.normal(0.0, std, size=shape)
        bad = np.abs(want) > 2 * std
        assert bad.any()
        while bad.any():
            want[bad] = rng.normal(0.0, std, size=int(bad.sum()))
            bad = np.abs(want) > 2 * std
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, want.astype(np.float32))


def test_the_critical_initializer_draws_the_values_of_one_normal_draw(monkeypatch):
    monkeypatch.setattr(initializers, "CHUNK", 100)
    init = initializers.Critical(activation="relu")          # sigma_w^2 = 2 at sigma_b^2 = 0 (He)
    got = init((37, 29), np.random.default_rng(3), np.float32)
    want = np.random.default_rng(3).normal(0.0, np.sqrt(2.0 / 37), size=(37, 29)).astype(np.float32)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", ["glorot_uniform", "he_normal", "critical"])
def test_a_float32_kernel_is_drawn_without_a_float64_copy(name):
    shape = (2000, 1000)                               # 8 MB in float32, 16 MB in float64
    init = initializers.Critical(activation="relu") if name == "critical" else initializers.get(name)
    tracemalloc.start()
    try:
        w = init(shape, np.random.default_rng(0), np.float32)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert w.nbytes == 8_000_000
    assert peak < 1.5 * w.nbytes                       # the old code peaked at 3x (float64 + the cast)
