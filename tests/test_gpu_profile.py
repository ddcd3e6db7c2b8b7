"""bench/gpu_profile.py on the CPU (the embedded digits, one seed, 3 and 1 epochs): it groups the
notes' table as the study defines it and writes positive timings and a profile per group; and the
runs it builds for the notes' table (5 seeds) fall into the ensembles 15/5/5/5.

Not a timed test: the expected groups are derived from the study's rows (``NOTES_ROWS``: rows of
one layer structure and budget are one ensemble, whatever their activations), not from the script.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load_script():
    """bench/gpu_profile.py as a module (the sys.path entries it adds are taken back)."""
    import importlib.util

    saved = list(sys.path)
    try:
        spec = importlib.util.spec_from_file_location("gpu_profile", REPO / "bench" / "gpu_profile.py")
        gp = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(gp)
    finally:
        sys.path[:] = saved
    return gp


def expected_groups(seeds: int) -> dict[tuple[str, str], Counter]:
    """(structure, budget) -> activations and their member counts, from the notes' rows."""
    from actlab import plan
    from actlab.studies.reproduce import NOTES_ROWS

    groups: dict[tuple[str, str], Counter] = {}
    for row in NOTES_ROWS:
        key = (plan.structure(row.activation_config), row.budget)
        groups.setdefault(key, Counter())[row.activation_config["name"]] += seeds
    return groups


def test_expected_groups_are_the_notes_table():
    # the notes' six rows: tanh, ReLU, LeakyReLU (long) share the plain layers; PReLU has its own
    assert expected_groups(5) == {("plain", "long"): Counter(tanh=5, relu=5, leaky_relu=5),
                                  ("plain", "short"): Counter(leaky_relu=5),
                                  ("prelu", "long"): Counter(prelu=5), ("prelu", "short"): Counter(prelu=5)}


def test_the_notes_table_in_groups_of_15_5_5_5():
    """The runs the script builds for the notes' table (5 seeds), in the backend's ensembles."""
    pytest.importorskip("torch")
    from actlab.torch_engine.backend import TorchBackend

    gp = _load_script()
    runs, params = gp.notes_runs(seeds=5, epochs=20, short_epochs=None, dataset="digits", n_samples=None, data_dir=None)
    assert len(runs) == 30 and {r.config["engine"] for r in runs} == {"torch"}
    assert {r.config["data"]["scale"] for r in runs} == {True}   # --inputs scaled
    chunks, _, _ = TorchBackend(device="cpu").plan(runs)
    groups = gp.describe_groups(runs, chunks, params)
    assert {(g["structure"], g["budget"]): Counter(g["activations"]) for g in groups} == expected_groups(5)
    assert sorted(g["members"] for g in groups) == [5, 5, 5, 15]
    assert all(g["seeds"] == [0, 1, 2, 3, 4] for g in groups)


def test_trace_statistics_of_a_hand_made_cuda_trace(tmp_path):
    """The GPU-only arithmetic, on a trace written by hand: two overlapping kernels (0-10 and 5-15 us,
    two streams), a copy (20-22 us), a host operator (not device time); 2 steps in 100 us of wall."""
    torch = pytest.importorskip("torch")
    gp = _load_script()
    events = [{"ph": "X", "cat": "kernel", "name": "gemm", "ts": 0.0, "dur": 10.0, "args": {"stream": 7}},
              {"ph": "X", "cat": "kernel", "name": "tanh", "ts": 5.0, "dur": 10.0, "args": {"stream": 8}},
              {"ph": "X", "cat": "gpu_memcpy", "name": "Memcpy DtoH", "ts": 20.0, "dur": 2.0},
              {"ph": "X", "cat": "cpu_op", "name": "aten::bmm", "ts": 0.0, "dur": 50.0},
              {"ph": "M", "name": "process_name", "args": {"name": "x"}}]
    st = gp.trace_stats(events, torch.device("cuda"), wall=100e-6, steps=2, epochs=1)
    assert st["kernels"] == 2 and st["kernels_per_step"] == 1.0 and st["streams"] == 2 and st["events"] == 3
    assert st["gpu_busy_sum_s"] == pytest.approx(22e-6)     # 10 + 10 + 2
    assert st["gpu_busy_union_s"] == pytest.approx(17e-6)   # [0, 15] and [20, 22]
    assert st["busy_fraction"] == pytest.approx(0.17) and st["mean_kernel_us"] == pytest.approx(10.0)
    assert st["busy_sum_per_step_ms"] == pytest.approx(0.011)
    assert [r["name"] for r in st["top_by_time"]] == ["gemm", "tanh", "Memcpy DtoH"]
    kept = gp.write_trace(events, tmp_path / "t.json.gz", limit=2)   # from the first device event on
    assert (kept["events"], kept["of"]) == (2, 4)


def test_gpu_profile_on_the_cpu(tmp_path):
    pytest.importorskip("torch")
    seeds = 1
    env = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    res = subprocess.run([sys.executable, str(REPO / "bench" / "gpu_profile.py"), "--out", str(tmp_path),
                          "--device", "cpu", "--dataset", "digits", "--epochs", "3", "--seeds", str(seeds)],
                         check=False, capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    r = json.loads((tmp_path / "gpu-profile.json").read_text())
    assert r["env"]["device"] == "cpu" and r["env"]["gpu"] is None and "triton" in r["env"]
    assert r["settings"]["epochs"] == 3 and r["settings"]["short_epochs"] == 1   # the study's max(1, 3 // 10)
    assert r["runs"] == 6 * seeds
    got = {(g["structure"], g["budget"]): Counter(g["activations"]) for g in r["groups"]}
    assert got == expected_groups(seeds)
    for g in r["groups"]:
        assert g["members"] == sum(g["activations"].values()) and g["epochs"] == (3 if g["budget"] == "long" else 1)
        assert g["full_epochs"] == (1000 if g["budget"] == "long" else 100)
    assert not r["skipped"] and not r["errors"]
    alone = r["phases"]["alone"]
    assert len(alone) == len(r["groups"]) and all(a["s_per_epoch"] > 0 and a["epochs"] == 3 for a in alone)
    assert r["phases"]["serial_s_per_epoch"] == pytest.approx(sum(a["s_per_epoch"] for a in alone))
    assert r["phases"]["together"]["s_per_epoch"] > 0 and r["phases"]["together_long"]["s_per_epoch"] > 0
    full, cut = r["prediction"]["full"], r["prediction"]["cut"]
    assert (full["long_epochs"], full["short_epochs"]) == (1000, 100) and full["together_s"] > 0
    assert cut["measured_train_s"] > 0 and sum(cut["statuses"].values()) == 6 * seeds
    labels = [p["label"] for p in r["profiles"]]
    assert labels == [f"group {i}" for i in range(len(r["groups"]))] + ["all groups together"]
    for p in r["profiles"]:
        assert p["events"] > 0 and p["wall_s"] > 0 and p["top_by_time"] and p["top_by_count"]
    files = sorted(f.name for f in tmp_path.iterdir())
    assert len(files) <= 6 and all(f.stat().st_size < 5e6 for f in tmp_path.iterdir())
    assert {"gpu-profile.json", "gpu-profile.md", "gpu-profile-ops.txt"} <= set(files)
    md = (tmp_path / "gpu-profile.md").read_text()
    assert "not GPU numbers" in md and "Predicted full table" in md and md in res.stdout
