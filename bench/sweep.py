"""The cost of running a sweep through an executor: the local pool against Ray, on the same cores.

A sweep of 48 short runs on the digits set (4 activations x 2 learning rates x 6 seeds,
784→ hidden 32, a few epochs) goes through ``run_tasks`` three ways, each into a fresh store:

- ``local``: the local pool (``LocalExecutor(workers)``), the default of every study;
- ``ray``: a local Ray instance with ``workers`` CPUs (its start-up timed apart: it is paid
  once per command, not per run); local and ray alternate ``--repeat`` times, medians reported;
- ``inline``: the same runs one after another in this process (``LocalExecutor(1)``): the
  pure compute each run needs, for the per-task overhead below.

Reported: wall time of each, the ratio ray / local, and the per-task overhead of each
executor in ms: ``(wall x workers - sum of the runs' own seconds) / runs``, the time a core
spends per run on anything but training (process start, pickling, scheduling, store writes,
idle cores at the end of the sweep). Then the driver's store: how many results per second it
writes (``claim`` + ``finish`` of a run with a realistic history, one transaction each), and a
no-op task's round trip through each executor.

    python bench/sweep.py                          # 48 runs, 2 workers (a few minutes)
    python bench/sweep.py --runs 8 --epochs 1 --out /tmp/s   # a quick look

Results: ``bench/results/sweep.json`` and ``sweep.md`` (``--out`` elsewhere).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ACTIVATIONS = ("relu", "tanh", "elu", "sigmoid")
LRS = (0.05, 0.2)


def tasks(runs: int, epochs: int, hidden: str, study: str):
    from actlab.studies.runner import Task, make_config

    out = []
    seed = 0
    while len(out) < runs:
        for act in ACTIVATIONS:
            for lr in LRS:
                if len(out) < runs:
                    out.append(Task(make_config(study=study, seed=seed, dataset="digits", hidden=hidden, activation=act,
                                                learning_rate=lr, epochs=epochs, batch_size=32), study))
        seed += 1
    return out


def noop(config: dict) -> dict:
    """A run that does nothing: what an executor costs per task, and nothing else."""
    return {"status": "done", "history": {"epoch": [1], "val_accuracy": [0.0]}, "diagnostics": {},
            "diverged_epoch": None, "seconds": 0.0}


def time_sweep(executor, ts, store_path, fn=None) -> dict:
    from actlab.store import Store
    from actlab.studies.runner import run_tasks, train_run

    store = Store(store_path)
    t0 = time.perf_counter()
    recs = run_tasks(ts, fn or train_run, store, progress=False, executor=executor)
    wall = time.perf_counter() - t0
    assert all(r["status"] == "done" for r in recs), [r["status"] for r in recs]
    return {"wall": wall, "run_seconds": sum(r["seconds"] or 0.0 for r in recs), "runs": len(recs)}


def store_writes(path: Path, n: int, epochs: int) -> float:
    """Results per second the driver writes: claim + finish, each its own transaction."""
    from actlab.store import Store

    store = Store(path)
    history = {k: [0.123456789 * (i + 1) for i in range(epochs)]
               for k in ("loss", "accuracy", "val_loss", "val_accuracy", "seconds")}
    history["epoch"] = list(range(1, epochs + 1))
    diag = {"info": {"params": 12345, "n_train": 1437, "n_test": 360, "input_dim": 64, "num_classes": 10}}
    t0 = time.perf_counter()
    for i in range(n):
        key = f"{i:064x}"
        store.claim(key, {"i": i})
        store.finish(key, "done", history=history, diagnostics=diag, seconds=1.0)
    return n / (time.perf_counter() - t0)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=48)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--hidden", default="32")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--noop-tasks", type=int, default=200)
    ap.add_argument("--writes", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3, help="Alternated repetitions of local and ray (median).")
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args(argv)
    from actlab.studies.executors import LocalExecutor

    tmp = Path(tempfile.mkdtemp(prefix="actlab-bench-sweep-"))
    out: dict = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": platform.platform(),
                             "load_average_at_start": list(os.getloadavg())},
                 "settings": {k: getattr(args, k) for k in ("runs", "epochs", "hidden", "workers", "noop_tasks",
                                                            "writes", "repeat")}}
    results: dict = {}
    results["inline"] = time_sweep(LocalExecutor(1), tasks(args.runs, args.epochs, args.hidden, "inline"),
                                   tmp / "inline.sqlite")
    reps: dict[str, list] = {"local": [], "ray": [], "local_noop": [], "ray_noop": []}
    ray_ex = None
    if not args.skip_ray:
        from actlab.studies.executors.ray_executor import RayExecutor

        ray_ex = RayExecutor(workers=args.workers)
        t0 = time.perf_counter()
        ray_ex.connect()
        out["ray_startup_seconds"] = time.perf_counter() - t0
    try:
        for rep in range(args.repeat):  # alternated, so that a change in the machine's load hits both
            local = LocalExecutor(args.workers)
            reps["local"].append(time_sweep(local, tasks(args.runs, args.epochs, args.hidden, "local"),
                                            tmp / f"local{rep}.sqlite"))
            reps["local_noop"].append(time_sweep(local, tasks(args.noop_tasks, 1, "8", "noop"),
                                                 tmp / f"local-noop{rep}.sqlite", fn=noop))
            if ray_ex is not None:
                reps["ray"].append(time_sweep(ray_ex, tasks(args.runs, args.epochs, args.hidden, "ray"),
                                              tmp / f"ray{rep}.sqlite"))
                reps["ray_noop"].append(time_sweep(ray_ex, tasks(args.noop_tasks, 1, "8", "noop"),
                                                   tmp / f"ray-noop{rep}.sqlite", fn=noop))
    finally:
        if ray_ex is not None:
            ray_ex.close()
    for name, runs in reps.items():
        if runs:  # the repetition with the median wall time
            results[name] = sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]
            results[name]["walls"] = [r["wall"] for r in runs]
    compute = results["inline"]["run_seconds"] / results["inline"]["runs"]
    for name, r in results.items():
        w = 1 if name == "inline" else args.workers
        r["overhead_ms_per_task"] = 1000 * (r["wall"] * w - r["run_seconds"]) / r["runs"]
        r["wall_per_task_ms"] = 1000 * r["wall"] / r["runs"]
    out["results"] = results
    out["compute_seconds_per_run_inline"] = compute
    if "ray" in results:
        out["ray_over_local_wall"] = results["ray"]["wall"] / results["local"]["wall"]
    out["store_writes_per_second"] = statistics.median(
        store_writes(tmp / f"writes{i}.sqlite", args.writes, args.epochs) for i in range(3))
    out["machine"]["load_average_at_end"] = list(os.getloadavg())
    dest = Path(args.out)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "sweep.json").write_text(json.dumps(out, indent=1) + "\n")
    (dest / "sweep.md").write_text(markdown(out) + "\n")
    print(markdown(out))
    return out


def markdown(out: dict) -> str:
    s, r = out["settings"], out["results"]
    lines = [f"# Sweep executors: {s['runs']} digits runs (hidden {s['hidden']}, {s['epochs']} epochs), "
             f"{s['workers']} workers, {out['machine']['cpus']} CPUs",
             "", f"Load average at start {out['machine']['load_average_at_start']}, at end "
             f"{out['machine']['load_average_at_end']} (other processes shared the cores).", "",
             "| executor | runs | wall s (median) | every repetition | runs' own s | overhead ms/task "
             "(cores x wall - compute) | wall ms/task |",
             "|---|---:|---:|---|---:|---:|---:|"]
    for name, x in r.items():
        walls = ", ".join(f"{w:.2f}" for w in x.get("walls", [x["wall"]]))
        lines.append(f"| {name} | {x['runs']} | {x['wall']:.2f} | {walls} | {x['run_seconds']:.2f} | "
                     f"{x['overhead_ms_per_task']:.1f} | {x['wall_per_task_ms']:.1f} |")
    lines.append("")
    if "ray_over_local_wall" in out:
        lines.append(f"- ray / local wall time: **{out['ray_over_local_wall']:.3f}** (Ray's start-up, "
                     f"{out['ray_startup_seconds']:.1f} s once per command, not included)")
    lines.append(f"- inline compute per run: {1000 * out['compute_seconds_per_run_inline']:.0f} ms")
    lines.append(f"- the driver's store: **{out['store_writes_per_second']:.0f} results/s** "
                 "(claim + finish, one transaction each, median of 3)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
