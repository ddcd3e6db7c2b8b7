"""bench/sweep.py on tiny settings (local pool only): it runs, and its overhead arithmetic is right.

Not a timed test: only the summary's arithmetic is checked against the raw numbers it reports."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_bench_sweep_runs_and_its_arithmetic(tmp_path):
    spec = importlib.util.spec_from_file_location("sweep", BENCH / "sweep.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["sweep"] = mod  # the pool's workers import its no-op run function as sweep.noop
    sys.path.insert(0, str(BENCH))  # (spawned workers get this sys.path)
    try:
        spec.loader.exec_module(mod)
        out = mod.main(["--runs", "3", "--epochs", "1", "--noop-tasks", "3", "--writes", "10", "--repeat", "1",
                        "--workers", "2", "--skip-ray", "--out", str(tmp_path)])
    finally:
        sys.modules.pop("sweep", None)
        sys.path.remove(str(BENCH))
    saved = json.loads((tmp_path / "sweep.json").read_text())
    assert saved["results"].keys() == {"inline", "local", "local_noop"}
    for name, r in saved["results"].items():
        cores = 1 if name == "inline" else 2
        assert abs(r["overhead_ms_per_task"] - 1000 * (r["wall"] * cores - r["run_seconds"]) / r["runs"]) < 1e-9
        assert abs(r["wall_per_task_ms"] - 1000 * r["wall"] / r["runs"]) < 1e-9
    assert saved["results"]["local"]["runs"] == 3 and saved["results"]["local_noop"]["runs"] == 3
    assert saved["store_writes_per_second"] > 0 and out["settings"]["runs"] == 3
    assert "| local | 3 |" in (tmp_path / "sweep.md").read_text()
