"""bench/gpu.sh: its CPU fallback runs everywhere (tiny settings) and writes what it says.

Not a timed test: only that the phases ran, the files exist and the summary's numbers are the
phases' own (model-epochs per second = K / seconds per epoch of bench/ensemble.py's rows)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_gpu_script_cpu_fallback_writes_its_results(tmp_path):
    pytest.importorskip("torch")
    env = {**os.environ, "PYTHON": sys.executable, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    res = subprocess.run(["bash", str(REPO / "bench" / "gpu.sh"), "--cpu", "--out", str(tmp_path)], check=False,
                         capture_output=True, text=True, timeout=480, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "no GPU found" in res.stdout
    s = json.loads((tmp_path / "gpu-summary.json").read_text())
    assert s["mode"] == "cpu-fallback" and s["gpu"] is None
    phases = {p["phase"]: p for p in s["phases"]}
    assert "skipped" in phases["tests"]
    assert phases["ensemble-cpu"]["returncode"] == 0 and phases["notes"]["returncode"] == 0
    assert "ensemble-cuda" not in phases
    ens = json.loads((tmp_path / "gpu-ensemble-cpu.json").read_text())
    assert [r["K"] for r in s["ensembles"]] == [r["K"] for r in ens["rows"]] == [1, 2]
    for row, e in zip(s["ensembles"], ens["rows"]):
        assert row["cpu_s_per_epoch"] == e["s_per_epoch"]
        assert row["cpu_model_epochs_per_s"] == pytest.approx(row["K"] / e["s_per_epoch"])
        assert "cuda_model_epochs_per_s" not in row
    # the notes' 6 rows, one seed, 2 and 1 epochs: 6 distinct runs, all on the CPU, none reused
    n = s["notes"]
    assert n["runs"] == 6 and n["done"] + n["diverged"] == 6 and n["devices"] == ["cpu"] and n["finished"]
    md = (tmp_path / "gpu-summary.md").read_text()
    assert "no GPU found" in md and "not GPU numbers" in md and "| 2 |" in md
    for name in ("gpu-ensemble-cpu.md", "gpu-ensemble-cpu.log", "gpu-notes.log", "gpu-notes.md"):
        assert (tmp_path / name).stat().st_size > 0, name
