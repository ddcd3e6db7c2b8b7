"""The GPU check behind ``bench/gpu.sh``: tests, ensemble throughput and the notes' table on CUDA.

On a machine where torch sees a CUDA device, within 8 minutes in all:

1. the torch engine's tests (``tests/test_torch_engine.py``) with ``ACTLAB_TEST_DEVICE=cuda``;
2. one model and ensembles of K = 1, 8, 64 (``bench/ensemble.py``) on CUDA and, in the same run,
   the same K on the CPU: model-epochs per second and the GPU's speed-up for each K;
3. the notes' whole table (``actlab reproduce notes``: 6 rows x 5 seeds, the notes' budgets of
   1000 and 100 epochs, inputs scaled to [0, 1]) on the torch engine, timed (goal: < 60 s on one
   H100), in a fresh store so that nothing is reused.

Results: ``gpu-summary.json`` / ``.md`` (and each phase's files, ``gpu-*``) in ``--out``
(default ``bench/results``). Each phase has its own time limit; a phase that runs out is
recorded as such and the others still run.

Without CUDA (or with ``--cpu``) it says that no GPU was found and runs a short CPU version
(K = 1, 2 on 300 synthetic samples; the table on the embedded digits with 2 and 1 epochs, one
seed) into ``--out`` (default ``$TMPDIR/actlab-gpu-fallback``: the committed results are never
overwritten by fallback numbers). The tests' CPU run is the ordinary test suite, so it is skipped.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))  # runs from a clone without installing actlab, as its phases do
TOTAL_SECONDS = 470  # under the 8 minutes the script may take, leaving time to write the summary

# (phase, seconds) on CUDA; the CPU fallback's phases are small enough for the same limits
LIMITS = {"tests": 150, "ensemble-cuda": 60, "ensemble-cuda-eager": 60, "ensemble-cpu": 90, "notes": 150}
GPU = {"ks": "1,8,64", "ensemble_epochs": {"cuda": 3, "cpu": 2}, "n_samples": 10000, "notes_seeds": 5}
FALLBACK = {"ks": "1,2", "ensemble_epochs": {"cpu": 2}, "n_samples": 300, "notes_seeds": 1,
            "notes_epochs": 2, "notes_short_epochs": 1}
NOTES_GOAL_SECONDS = 60.0


def cuda_device() -> tuple[str | None, str]:
    """``(name of CUDA device 0, why)``; the name is None when there is no usable GPU."""
    try:
        import torch
    except ImportError:
        return None, "torch is not installed (pip install 'actlab[torch]')"
    if not torch.cuda.is_available():
        return None, f"torch {torch.__version__} sees no CUDA device"
    return torch.cuda.get_device_name(0), f"torch {torch.__version__}, CUDA {torch.version.cuda}"


def find_mnist(data_dir: str | None) -> str | None:
    """The directory holding MNIST, or None (the notes' table then cannot run on a GPU)."""
    from actlab.datasets.idx import find_files

    try:
        files = find_files("mnist", data_dir)
    except Exception:  # noqa: BLE001  (not found, or unreadable: the summary says MNIST is missing)
        return None
    return str(files.directory)


def _env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("MPLBACKEND", "Agg")
    env.update(extra or {})
    return env


def run_phase(name: str, cmd: list[str], limit: float, log: Path, env: dict | None = None) -> dict:
    """Run ``cmd`` (its own process group, killed whole at ``limit`` seconds); output to ``log``."""
    t0 = time.perf_counter()
    timed_out = False
    with open(log, "w", encoding="utf-8") as fh:
        fh.write("$ " + shlex.join(cmd) + "\n")
        fh.flush()
        proc = subprocess.Popen(cmd, cwd=REPO, env=_env(env), stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=max(1.0, limit))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc, timed_out = None, True
    seconds = time.perf_counter() - t0
    print(f"gpu.sh: {name}: " + (f"ran out of its {limit:.0f} s" if timed_out else f"exit {rc}") +
          f" after {seconds:.1f} s (log: {log.name})", flush=True)
    return {"phase": name, "command": shlex.join(cmd), "seconds": round(seconds, 2), "returncode": rc,
            "timed_out": timed_out, "limit_s": round(limit, 1), "log": log.name}


def _pytest_counts(log: Path) -> dict:
    text = log.read_text(encoding="utf-8", errors="replace")
    found = re.findall(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)", text.splitlines()[-1] if text else "")
    return {kind: int(n) for n, kind in found}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=None, help="results directory (default bench/results; CPU fallback: "
                                               "$TMPDIR/actlab-gpu-fallback)")
    p.add_argument("--cpu", action="store_true", help="the CPU fallback even where CUDA is present")
    p.add_argument("--data-dir", default=None, help="MNIST directory (default: ../shared/data/mnist or the usual search)")
    args = p.parse_args(argv)
    deadline = time.monotonic() + TOTAL_SECONDS

    name, why = cuda_device()
    gpu = name is not None and not args.cpu
    if not gpu:
        print(f"gpu.sh: no GPU found ({'--cpu given' if args.cpu and name else why}): a short CPU run "
              "(tiny K and budgets), not a GPU measurement", flush=True)
    out = Path(args.out) if args.out else (HERE / "results" if gpu else Path(tempfile.gettempdir()) / "actlab-gpu-fallback")
    out.mkdir(parents=True, exist_ok=True)
    settings = GPU if gpu else FALLBACK
    if args.data_dir is None:
        shared = REPO.parent / "shared" / "data" / "mnist"
        args.data_dir = str(shared) if shared.is_dir() else None
    mnist = find_mnist(args.data_dir) if gpu else None
    py = sys.executable
    phases: list[dict] = []

    def limit(phase: str) -> float:
        return min(LIMITS[phase], deadline - time.monotonic() - 5)

    # 1. the torch engine's tests on the GPU
    if gpu:
        log = out / "gpu-tests.log"
        ph = run_phase("tests", [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_torch_engine.py"],
                       limit("tests"), log, {"ACTLAB_TEST_DEVICE": "cuda"})
        ph["counts"] = _pytest_counts(log)
        phases.append(ph)
    else:
        phases.append({"phase": "tests", "skipped": "no GPU: the torch engine's tests run on the CPU in the test suite"})

    # 2. one model and ensembles of K models, on CUDA (each step a CUDA graph, and launched from
    # Python as before) and on the CPU in the same run
    ensembles = {}
    for device in (["cuda", "cuda-eager", "cpu"] if gpu else ["cpu"]):
        tag = f"ensemble-{device}"
        cmd = [py, str(HERE / "ensemble.py"), "--device", device.split("-")[0], "--ks", settings["ks"],
               "--epochs", str(settings["ensemble_epochs"][device.split("-")[0]]), "--rounds", "1",
               "--numpy-procs", "0", "--n-samples", str(settings["n_samples"]), "--out", str(out),
               "--name", f"gpu-{tag}"]
        cmd += ["--no-cuda-graphs"] if device == "cuda-eager" else []
        cmd += ["--data-dir", mnist] if mnist else ["--synthetic"]
        ph = run_phase(tag, cmd, limit(tag), out / f"gpu-{tag}.log")
        phases.append(ph)
        res = out / f"gpu-{tag}.json"
        if ph["returncode"] == 0 and res.exists():
            ensembles[device] = {r["K"]: r for r in json.loads(res.read_text())["rows"]}
    rows = []
    for k in [int(k) for k in settings["ks"].split(",")]:
        row = {"K": k}
        for device, by_k in ensembles.items():
            if k in by_k:
                key = device.replace("-", "_")
                row[f"{key}_s_per_epoch"] = by_k[k]["s_per_epoch"]
                row[f"{key}_model_epochs_per_s"] = by_k[k]["model_epochs_per_s"]
                if device == "cuda":
                    row["cuda_graph"] = by_k[k].get("cuda_graph")
        if "cuda_model_epochs_per_s" in row and "cpu_model_epochs_per_s" in row:
            row["cuda_over_cpu"] = row["cuda_model_epochs_per_s"] / row["cpu_model_epochs_per_s"]
        if "cuda_model_epochs_per_s" in row and "cuda_eager_model_epochs_per_s" in row:
            row["graph_over_eager"] = row["cuda_model_epochs_per_s"] / row["cuda_eager_model_epochs_per_s"]
        rows.append(row)

    # 3. the notes' whole table, timed, in a fresh store
    notes = None
    with tempfile.TemporaryDirectory(prefix="actlab-gpu-") as tmp:
        cli = [py, "-c", "from actlab.cli import main; main()", "reproduce", "notes", "--engine", "torch",
               "--inputs", "scaled", "--seeds", str(settings["notes_seeds"]), "--store", str(Path(tmp) / "s.sqlite"),
               "--out", str(Path(tmp) / "report"), "--no-progress", "--name", "gpu-notes"]
        if gpu and not mnist:
            phases.append({"phase": "notes", "skipped": "MNIST not found: give --data-dir (the notes' table is MNIST)"})
            cli = None
        elif not gpu:
            cli += ["--dataset", "digits", "--epochs", str(settings["notes_epochs"]),
                    "--short-epochs", str(settings["notes_short_epochs"])]
        else:
            cli += ["--data-dir", mnist]
        if cli:
            ph = run_phase("notes", cli, limit("notes"), out / "gpu-notes.log")
            phases.append(ph)
            if (Path(tmp) / "s.sqlite").exists():
                from actlab.store import Store

                recs = Store(Path(tmp) / "s.sqlite", read_only=True).runs()
                statuses = [r["status"] for r in recs]
                engines = [(r.get("diagnostics") or {}).get("engine") or {} for r in recs]
                devices = sorted({e["device"] for e in engines if "device" in e}) or ["?"]
                graphs = sorted({str(e.get("cuda_graph")) for e in engines if "device" in e})
                notes = {"seconds": ph["seconds"], "finished": not ph["timed_out"] and ph["returncode"] == 0,
                         "runs": len(recs), "done": statuses.count("done"), "diverged": statuses.count("diverged"),
                         "devices": devices, "cuda_graphs": graphs, "goal_s": NOTES_GOAL_SECONDS if gpu else None,
                         "goal_met": (ph["returncode"] == 0 and ph["seconds"] < NOTES_GOAL_SECONDS) if gpu else None}
            table = next((Path(tmp) / "report").rglob("*.md"), None) if (Path(tmp) / "report").exists() else None
            if table is not None:
                shutil.copyfile(table, out / "gpu-notes.md")

    sys.path.insert(0, str(HERE))
    import run as bench  # the machine description

    summary = {"started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "gpu": name if gpu else None,
               "mode": "cuda" if gpu else "cpu-fallback", "why": why, "machine": bench.machine(),
               "settings": settings, "mnist": mnist, "phases": phases, "ensembles": rows, "notes": notes,
               "seconds": round(TOTAL_SECONDS - (deadline - time.monotonic()), 1)}
    (out / "gpu-summary.json").write_text(json.dumps(summary, indent=1))
    (out / "gpu-summary.md").write_text(markdown(summary))
    print(markdown(summary))
    print(f"gpu.sh: results in {out}")
    return 0


def markdown(s: dict) -> str:
    if s["gpu"]:
        head = f"# GPU check on {s['gpu']} ({s['started']})"
    else:
        head = (f"# GPU check: no GPU found ({s['why']}) — CPU fallback with tiny settings ({s['started']}); "
                "these are not GPU numbers")
    md = [head, "", f"{s['seconds']:.0f} s in all. Phases:", "", "| phase | seconds | result |", "|---|---|---|"]
    for ph in s["phases"]:
        if "skipped" in ph:
            md.append(f"| {ph['phase']} | — | skipped: {ph['skipped']} |")
            continue
        result = f"ran out of its {ph['limit_s']:.0f} s" if ph["timed_out"] else f"exit {ph['returncode']}"
        if ph.get("counts"):
            result += " (" + ", ".join(f"{n} {k}" for k, n in ph["counts"].items()) + ")"
        md.append(f"| {ph['phase']} | {ph['seconds']:.1f} | {result} (`{ph['log']}`) |")
    md += ["", "Ensembles (784-200x4-10, batch 100, SGD 0.01; model-epochs per second; CUDA: each step "
           "replayed as a CUDA graph; CUDA eager: every kernel launched from Python):", "",
           "| K | CUDA s/epoch | CUDA model-epochs/s | CUDA eager model-epochs/s | graph / eager | CPU s/epoch "
           "| CPU model-epochs/s | CUDA / CPU | CUDA graph |",
           "|---|---|---|---|---|---|---|---|---|"]

    def f(row, key, fmt):
        return format(row[key], fmt) if key in row else "—"

    for r in s["ensembles"]:
        md.append(f"| {r['K']} | {f(r, 'cuda_s_per_epoch', '.4f')} | {f(r, 'cuda_model_epochs_per_s', '.1f')} | "
                  f"{f(r, 'cuda_eager_model_epochs_per_s', '.1f')} | {f(r, 'graph_over_eager', '.1f')} | "
                  f"{f(r, 'cpu_s_per_epoch', '.4f')} | {f(r, 'cpu_model_epochs_per_s', '.2f')} | "
                  f"{f(r, 'cuda_over_cpu', '.1f')} | {r.get('cuda_graph') or '—'} |")
    n = s["notes"]
    md.append("")
    if n:
        goal = "" if n["goal_s"] is None else (f"; goal < {n['goal_s']:.0f} s: " + ("met" if n["goal_met"] else "missed"))
        md.append(f"The notes' table ({s['settings']['notes_seeds']} seeds, inputs scaled, torch engine on "
                  f"{', '.join(n['devices'])}; CUDA graph: {', '.join(n.get('cuda_graphs') or ['?'])}): "
                  f"{n['seconds']:.1f} s for {n['runs']} runs ({n['done']} done, "
                  f"{n['diverged']} diverged)" + ("" if n["finished"] else ", NOT finished") + goal + ".")
    else:
        md.append("The notes' table: not run (see the phases).")
    return "\n".join(md) + "\n"


if __name__ == "__main__":
    sys.exit(main())
