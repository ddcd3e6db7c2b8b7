"""bench/run.py and bench/ensemble.py run on tiny settings and compute their ratios right.

Not a timed test: the numbers are not checked, only that every peer that can run here ran and
that the summary's arithmetic (medians after warm-up, ratios, FLOP count) matches a hand
computation from the raw timings."""
from __future__ import annotations

import importlib.util
import json
import statistics
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(BENCH))
    try:
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(BENCH))
    return mod


def test_summary_arithmetic_on_hand_made_timings():
    run = _load("run")

    class Args:
        acts = ["tanh"]
        peers = ["actlab-numpy", "sklearn", "keras-jax"]

    raw = {
        "gemm": [{"times": {"numpy": [9.0, 0.20, 0.30], "torch": [9.0, 0.25, 0.25], "peak_gflops": 100.0,
                            "numpy_cpu": [9.0, 0.5, 0.5], "torch_cpu": [9.0, 0.4, 0.6], "flops_per_epoch": 1e10}}],
        "actlab-numpy/tanh": [{"times": [5.0, 0.3, 0.5, 0.4], "cpu_times": [5.0, 1.0, 1.0, 1.0], "accuracy": 0.9,
                               "peak_rss_kb": 2048, "rss_before_train_kb": 1024}],
        "sklearn/tanh": [{"times": [5.0, 0.8], "cpu_times": [5.0, 0.8], "accuracy": 0.8, "peak_rss_kb": 4096,
                          "rss_before_train_kb": 1024},
                         {"times": [5.0, 1.0], "cpu_times": [5.0, 1.0], "accuracy": 0.85, "peak_rss_kb": 3072,
                          "rss_before_train_kb": 1024}],
    }
    s = run.summarise(raw, Args, {"keras-jax": "no Keras environment"})
    rows = {r["peer"]: r for r in s["rows"]}
    # bound: min(median(numpy after warm-up) = 0.25, median(torch) = 0.25) = 0.25; 1e10 FLOP at 100 GFLOP/s = 0.1 s
    assert s["gemm_bound"]["s_per_epoch"] == pytest.approx(0.25)
    assert s["gemm_bound"]["flop_s_per_epoch"] == pytest.approx(0.1)
    assert rows["actlab-numpy"]["s_per_epoch"] == pytest.approx(0.4)      # median of 0.3, 0.5, 0.4
    assert rows["sklearn"]["s_per_epoch"] == pytest.approx(0.9)           # median of 0.8, 1.0
    assert rows["sklearn"]["accuracy"] == pytest.approx(0.825)
    assert rows["actlab-numpy"]["x_fastest"] == pytest.approx(1.0)
    assert rows["sklearn"]["x_fastest"] == pytest.approx(0.9 / 0.4)
    assert rows["sklearn"]["x_gemm_bound"] == pytest.approx(0.9 / 0.25)
    assert rows["actlab-numpy"]["x_peak_flops"] == pytest.approx(4.0)
    # CPU time: bound min(0.5, 0.5) = 0.5; sklearn 0.9 CPU s is the fastest by CPU, numpy 1.0
    assert s["gemm_bound"]["cpu"]["s_per_epoch"] == pytest.approx(0.5)
    assert rows["sklearn"]["cpu_x_fastest"] == pytest.approx(1.0)
    assert rows["actlab-numpy"]["cpu_x_fastest"] == pytest.approx(1.0 / 0.9)
    assert rows["actlab-numpy"]["cpu_x_gemm_bound"] == pytest.approx(2.0)
    assert rows["sklearn"]["peak_rss_mb"] == pytest.approx(4.0)
    assert rows["sklearn"]["train_rss_growth_mb"] == pytest.approx(3.0)
    assert rows["keras-jax"]["error"] == "no Keras environment"
    md = run.markdown({"summary": s, "machine": {"cpus": 2, "memory_gb": 1, "platform": "p", "numpy": "x",
                                                 "gpu": "none"},
                       "started": "now", "load": [1.0, 2.0],
                       "settings": {"n_train": 8000, "epochs": 4, "rounds": 1}})
    assert "| tanh | sklearn | 0.9000 | 2.25 | 3.60 | 0.9000 | 1.00 | 1.80 |" in md
    assert "not run: no Keras environment" in md
    assert "Paired" not in md


def test_paired_ratios_are_each_epoch_over_the_bound_epoch_before_it():
    run = _load("run")

    class Args:
        acts = ["relu"]
        peers = ["actlab-paired"]

    # two runs; the first pair of each is warm-up. Ratios: 0.33/0.30=1.1, 0.24/0.20=1.2 | 0.50/0.40=1.25
    raw = {"actlab-paired/relu": [
        {"times": [9.0, 0.33, 0.24], "bound_times": [7.0, 0.30, 0.20], "cpu_times": [9.0, 0.33, 0.24],
         "accuracy": 0.9, "peak_rss_kb": 2048, "rss_before_train_kb": 1024},
        {"times": [9.0, 0.50], "bound_times": [7.0, 0.40], "cpu_times": [9.0, 0.5], "accuracy": 0.9,
         "peak_rss_kb": 2048, "rss_before_train_kb": 1024}]}
    row = run.summarise(raw, Args, {})["rows"][0]
    assert row["paired_x_gemm_bound"] == pytest.approx(1.2)
    assert (row["paired_min"], row["paired_max"], row["pairs"]) == (pytest.approx(1.1), pytest.approx(1.25), 3)
    md = run.markdown({"summary": run.summarise(raw, Args, {}), "machine": {"cpus": 2, "memory_gb": 1, "platform": "p",
                                                                          "numpy": "x", "gpu": "none"},
                       "started": "now", "load": [1.0, 2.0], "settings": {"n_train": 8000, "epochs": 3, "rounds": 2}})
    assert "- relu: **1.200x** the bound (range 1.100 to 1.250, 3 pairs)" in md


def test_flop_count_of_the_notes_mlp():
    # per step: forward x W (5 products), backward x^T g (5) and g W^T (4, none for the input)
    run = _load("run")
    per_step = 2 * 100 * (784 * 200 * 2 + 200 * 200 * 3 * 3 + 200 * 10 * 3)
    out, _, _ = run.worker_gemm(type("A", (), {"epochs": 2}), (__import__("numpy").zeros((300, 784), "float32"),))
    assert out["flops_per_epoch"] == 3 * per_step
    assert len(out["numpy"]) == 2


@pytest.mark.slow
def test_bench_runs_on_tiny_settings(tmp_path):
    run = _load("run")
    peers = "actlab-numpy,actlab-paired,actlab-torch,torch-loop,torch-tight,sklearn,keras-jax"
    pytest.importorskip("sklearn")
    src = Path(__file__).resolve().parent.parent / "src"   # the baseline peer: this checkout again
    code = run.main(["--synthetic", "--n-samples", "300", "--epochs", "2", "--rounds", "1", "--acts", "tanh",
                     "--peers", peers, "--out", str(tmp_path), "--name", "tiny",
                     "--keras-python", str(tmp_path / "no-such-python"), "--baseline-src", str(src)])
    assert code == 0
    result = json.loads((tmp_path / "tiny.json").read_text())
    rows = {r["peer"]: r for r in result["summary"]["rows"]}
    assert "no Keras environment" in rows["keras-jax"]["error"]
    expected = ["actlab-numpy", "actlab-paired", "actlab-numpy-base", "sklearn"]
    try:
        import torch  # noqa: F401
        expected += ["actlab-torch", "torch-loop", "torch-tight"]
    except ImportError:
        pass
    for peer in expected:
        r = rows[peer]
        assert r["runs"] == 1, r
        times = result["raw"][f"{peer}/tanh"][0]["times"]
        assert r["s_per_epoch"] == pytest.approx(statistics.median(times[1:]))
        assert 0.0 <= r["accuracy"] <= 1.0 and r["peak_rss_mb"] > 0
    assert min(rows[p]["x_fastest"] for p in expected) == pytest.approx(1.0)
    assert "| tanh | actlab-numpy |" in (tmp_path / "tiny.md").read_text()
    assert rows["actlab-paired"]["accuracy"] == rows["actlab-numpy"]["accuracy"]   # the same training
    paired = result["raw"]["actlab-paired/tanh"][0]
    assert rows["actlab-paired"]["pairs"] == 1 and len(paired["bound_times"]) == len(paired["times"]) == 2
    assert rows["actlab-paired"]["paired_x_gemm_bound"] == pytest.approx(paired["times"][1] / paired["bound_times"][1])


def test_ensemble_bench_runs_on_tiny_settings(tmp_path):
    pytest.importorskip("torch")
    ens = _load("ensemble")
    assert ens.main(["--ks", "1,2", "--epochs", "2", "--rounds", "1", "--n-samples", "300", "--synthetic",
                     "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "ensemble.json").read_text())
    rows = {r["K"]: r for r in result["rows"]}
    s1 = statistics.median(result["raw"]["torch/1"])
    assert rows[1]["gain_vs_sequential_torch"] == pytest.approx(1.0)
    assert rows[2]["gain_vs_sequential_torch"] == pytest.approx(2 * s1 / rows[2]["s_per_epoch"])
    # the NumPy processes row: the sum of the processes' rates, against one NumPy run in sequence
    procs = result["numpy_processes"]
    per_proc = result["raw"]["numpy_procs"][0]
    assert procs["processes"] == len(per_proc) >= 1
    assert procs["model_epochs_per_s"] == pytest.approx(sum(1 / t for t in per_proc))
    assert procs["gain_vs_sequential_numpy"] == pytest.approx(
        procs["model_epochs_per_s"] * statistics.median(result["raw"]["numpy"]))
