"""Where the torch engine's time goes on the notes' table (``actlab reproduce notes --engine torch
--inputs scaled --seeds 5``): a diagnostic for one short GPU run.

The runs are the study's own (the CLI's options through ``_from_cli``, the study's grid, normalised
and deduplicated as the runner does), with the budgets cut to ``--epochs`` (long rows) and
``--short-epochs`` (short rows), and grouped into ensembles by the torch backend's own
:meth:`~actlab.torch_engine.backend.TorchBackend.plan` (``group_key``). Then, each ensemble trained
by the backend's generator (``TorchBackend._train_group``) as ``TorchBackend.train`` drives it:

a. each group alone (``train_together`` with one job on CUDA; drained on the CPU), one group
   after another — so (c), the groups one after the other, is the sum of these;
b. all groups together through ``train_together`` (one CUDA stream each), and the long-budget
   groups together (what runs after the short ones have finished);
   in (a) and (b) every group trains ``--epochs`` epochs; seconds per epoch exclude the first
   epoch (CUDA-graph capture, first-touch costs; reported apart as setup);
   then ``TorchBackend.train`` on the cut table itself (the whole path, long and short budgets);
d. the full table (long groups 1000 epochs, short 100) predicted from (a) and (b);
e. ``torch.profiler`` on one epoch (after a warm-up epoch) of each group alone, and of all groups
   together: kernels per step, GPU-busy time (sum and union of kernel intervals) against wall
   time, the top kernels by time and by count; the profiler's tables as text, by device time and
   by self CPU time (``gpu-profile-ops.txt``), and two chrome traces cut to their first ~20,000 events
   (``gpu-profile-trace-*.json.gz``, for https://ui.perfetto.dev).

Also recorded: torch and CUDA versions, the GPU, whether triton imports (nothing is compiled).
A time guard (``--time-limit``, default 140 s) skips the phases that would not fit and says so.
Results: ``gpu-profile.json`` and ``gpu-profile.md`` in ``--out`` (the md is also printed).

Without CUDA (or with ``--device cpu``) the same phases run on the CPU, for testing: e.g.
``--dataset digits --epochs 4 --seeds 1``.
"""
from __future__ import annotations

import argparse
import copy
import gzip
import json
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "src"))  # runs from a clone without installing actlab, as bench/gpu.py
sys.path.insert(0, str(HERE))
import gpu as gpucheck  # noqa: E402  (bench/gpu.py: find_mnist, cuda_device)

TIME_LIMIT = 140.0          # seconds; the script stays under 150 s on a GPU at the defaults
TRACE_EVENTS = 20000        # events kept per chrome trace (a few MB as JSON, well under 1 MB gzipped)
TOP = 15
DEVICE_CATS = ("kernel", "gpu_memcpy", "gpu_memset")


# -- the runs ---------------------------------------------------------------------------------
def notes_runs(*, seeds: int, epochs: int, short_epochs: int | None, dataset: str, n_samples: int | None,
               data_dir: str | None):
    """The runs of ``actlab reproduce notes --engine torch --inputs scaled`` with these options, as
    the runner hands them to the backend; and the resolved study parameters."""
    from actlab.store import Store
    from actlab.studies.reproduce import DEFAULTS, REPRODUCE, _from_cli
    from actlab.studies.runner import _run

    given = {"engine": "torch", **_from_cli(
        seeds=seeds, epochs=epochs, short_epochs=short_epochs, batch_size=None, quick=False, inputs="scaled",
        dataset=dataset, samples=n_samples or DEFAULTS["n_samples"], lr=DEFAULTS["learning_rate"],
        loss=DEFAULTS["loss"], data_dir=data_dir)}
    params = REPRODUCE.params(**given)
    name = REPRODUCE.default_name(params)
    configs: dict[str, dict] = {}
    for task in REPRODUCE.tasks(params, name, given["data_dir"]):   # as run_tasks: normalised, once per key
        cfg = Store.normalize(task.config)
        cfg.setdefault("study", task.study)
        configs.setdefault(Store.key(cfg), cfg)
    return [_run(cfg) for cfg in configs.values()], params


def with_epochs(run, epochs: int):
    """``run`` with another budget (same data, same everything else)."""
    from actlab.backends import Run

    cfg = copy.deepcopy(run.config)
    cfg["train"]["epochs"] = int(epochs)
    return Run(cfg, run.data, run.diagnostics)


def describe_groups(runs, chunks, params) -> list[dict]:
    from actlab import plan
    from actlab.studies.reproduce import BUDGETS

    out = []
    for i, chunk in enumerate(chunks):
        cfgs = [runs[j].config for j in chunk]
        epochs = int(cfgs[0]["train"]["epochs"])
        budget = "long" if epochs == params["epochs"] else "short"
        acts = Counter(c["model"]["activation"]["name"] for c in cfgs)
        data = runs[chunk[0]].data
        out.append({"group": i, "members": len(chunk), "budget": budget, "epochs": epochs,
                    "full_epochs": BUDGETS[budget]["epochs"], "activations": dict(acts),
                    "structure": plan.structure(cfgs[0]["model"]["activation"]),
                    "seeds": sorted({c["seed"] for c in cfgs}), "n_train": int(data.x_train.shape[0]),
                    "n_test": int(data.x_test.shape[0]), "batch_size": int(cfgs[0]["train"]["batch_size"])})
    return out


# -- timing -----------------------------------------------------------------------------------
class Clock:
    def __init__(self, device):
        import torch
        self.cuda = device.type == "cuda"
        self.torch = torch

    def sync(self) -> None:
        if self.cuda:
            self.torch.cuda.synchronize()

    def now(self) -> float:
        self.sync()
        return time.perf_counter()


def marked(gen, marks: list, hook=None):
    """Pass a job's stages through, noting the time of each ``"done"`` (its epoch's results were
    read back, so its stream's work for the epoch is finished); ``hook(n_done)`` after each."""
    while True:
        try:
            stage = next(gen)
        except StopIteration as stop:
            return stop.value
        if stage == "done":
            marks.append(time.perf_counter())
            if hook is not None:
                hook(len(marks))
        yield stage


def drive(jobs, device):
    """Drive job functions as ``TorchBackend.train`` does: on CUDA through ``train_together``; on the
    CPU one after another (a single job either way is trained alone)."""
    from actlab.torch_engine.backend import _drain
    from actlab.torch_engine.model import train_together

    if device.type == "cuda":
        return train_together(jobs, device)
    return [_drain(job()) for job in jobs]


def per_epoch(marks: list) -> float | None:
    """Seconds per epoch after the first."""
    return (marks[-1] - marks[0]) / (len(marks) - 1) if len(marks) > 1 else None


def time_alone(backend, runs, chunk, device, clock) -> dict:
    marks: list = []
    t0 = clock.now()
    drive([lambda: marked(backend._train_group([runs[i] for i in chunk], device, None), marks)], device)
    t1 = clock.now()
    pe = per_epoch(marks)
    return {"s_per_epoch": pe, "first_epoch_s": marks[0] - t0, "setup_s": (marks[0] - t0) - (pe or 0.0),
            "total_s": t1 - t0, "epochs": len(marks)}


def time_together(backend, runs, chunks, device, clock) -> dict:
    """All ``chunks`` at once through ``train_together`` (on the CPU too: the host interleaves them)."""
    from actlab.torch_engine.model import train_together

    marks: list[list] = [[] for _ in chunks]
    jobs = [lambda chunk=chunk, m=m: marked(backend._train_group([runs[i] for i in chunk], device, None), m)
            for chunk, m in zip(chunks, marks)]
    t0 = clock.now()
    train_together(jobs, device)
    t1 = clock.now()
    rounds = [max(m[r] for m in marks) for r in range(min(len(m) for m in marks))]
    pe = per_epoch(rounds)
    return {"s_per_epoch": pe, "first_epoch_s": rounds[0] - t0, "setup_s": (rounds[0] - t0) - (pe or 0.0),
            "total_s": t1 - t0, "epochs": len(rounds), "per_group_s_per_epoch": [per_epoch(m) for m in marks]}


# -- profiling --------------------------------------------------------------------------------
def profile(backend, runs, chunks, device, clock, tmp: Path, epochs: int) -> dict:
    """Profile ``epochs`` epochs (after a warm-up epoch) of ``chunks`` trained together (one chunk:
    alone); returns the statistics, the profiler's tables and the chrome trace's events."""
    import torch
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    from actlab.torch_engine.model import train_together

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    prof = torch_profile(activities=acts)
    state = {"on": False, "t0": None, "t1": None, "ready": 0, "over": 0}
    n = len(chunks)

    def hook(done: int) -> None:   # start once every job finished its warm-up epoch, stop after `epochs` more
        if done == 1:
            state["ready"] += 1
            if state["ready"] == n:
                state["t0"] = clock.now()
                prof.start()
                state["on"] = True
        elif done == 1 + epochs:
            state["over"] += 1
            if state["over"] == n and state["on"]:
                clock.sync()
                state["t1"] = time.perf_counter()
                prof.stop()
                state["on"] = False

    marks: list[list] = [[] for _ in chunks]
    prof_runs = [with_epochs(r, 1 + epochs) for r in runs]
    jobs = [lambda chunk=chunk, m=m: marked(backend._train_group([prof_runs[i] for i in chunk], device, None), m, hook)
            for chunk, m in zip(chunks, marks)]
    (train_together if n > 1 else drive)(jobs, device)
    if state["on"]:   # not reached (a member diverged and its ensemble stopped early)
        clock.sync()
        state["t1"] = time.perf_counter()
        prof.stop()
    if state["t0"] is None:
        raise RuntimeError("the profiler never started (an ensemble stopped before its second epoch)")
    wall = state["t1"] - state["t0"]
    avg = prof.key_averages()
    table = avg.table(sort_by="self_cpu_time_total", row_limit=30)   # the host's side
    if device.type == "cuda":
        table = avg.table(sort_by="self_device_time_total", row_limit=30) + "\n(by self CPU time)\n" + table
    raw = tmp / f"trace-{time.monotonic_ns()}.json"
    prof.export_chrome_trace(str(raw))
    try:
        events = json.loads(raw.read_text()).get("traceEvents", [])
        note = None
    except ValueError as exc:   # the profiler's tables still say a lot
        events, note = [], f"the chrome trace could not be read: {str(exc)[:200]}"
    steps = sum(_steps(runs[chunk[0]]) for chunk in chunks) * epochs   # summed over the groups
    stats = trace_stats(events, device, wall, steps, epochs)
    if note:
        stats["note"] = note
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return {"stats": stats, "table": table, "events": events}


def warm_profiler(device) -> float:
    """Start and stop the profiler once on a trivial computation (its first start initialises
    Kineto, and CUPTI on CUDA: about a second that would otherwise land in the first profile)."""
    import torch
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    t = time.perf_counter()
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with torch_profile(activities=acts):
        (torch.ones(64, device=device) * 2).sum().item()
    return time.perf_counter() - t


def _steps(run) -> int:
    n, b = run.data.x_train.shape[0], int(run.config["train"]["batch_size"])
    return -(-n // b)


def _union(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for s, e in sorted(intervals):
        if e > end:
            total += e - max(s, end)
            end = e
    return total


def trace_stats(events: list, device, wall: float, steps: int, epochs: int) -> dict:
    """From the chrome trace: the device's activity (CUDA: kernels, copies, sets; CPU: the operators)."""
    cats = DEVICE_CATS if device.type == "cuda" else ("cpu_op",)
    dev = [e for e in events if e.get("ph") == "X" and e.get("cat") in cats]
    by_name: dict[str, list] = {}
    for e in dev:
        by_name.setdefault(e.get("name", "?"), []).append(float(e.get("dur", 0.0)))
    total_us = sum(sum(d) for d in by_name.values())
    rows = [{"name": name[:120], "count": len(d), "total_ms": sum(d) / 1e3, "mean_us": sum(d) / len(d),
             "share": (sum(d) / total_us) if total_us else 0.0} for name, d in by_name.items()]
    out = {"what": "CUDA kernels, copies and sets" if device.type == "cuda" else "CPU operators (nested: "
           "an operator's time includes its children's)", "profiled_epochs": epochs, "steps": steps,
           "wall_s": wall, "wall_per_step_ms": 1e3 * wall / steps if steps else None,
           "events": len(dev), "events_per_step": len(dev) / steps if steps else None,
           "top_by_time": sorted(rows, key=lambda r: -r["total_ms"])[:TOP],
           "top_by_count": sorted(rows, key=lambda r: -r["count"])[:TOP]}
    if device.type == "cuda":
        kernels = [e for e in dev if e["cat"] == "kernel"]
        busy_sum = sum(float(e.get("dur", 0.0)) for e in dev) / 1e6
        busy_union = _union([(float(e["ts"]), float(e["ts"]) + float(e.get("dur", 0.0))) for e in dev]) / 1e6
        out.update({"kernels": len(kernels), "kernels_per_step": len(kernels) / steps if steps else None,
                    "streams": len({(e.get("args") or {}).get("stream") for e in kernels}),
                    "gpu_busy_sum_s": busy_sum, "gpu_busy_union_s": busy_union,
                    "busy_sum_per_step_ms": 1e3 * busy_sum / steps if steps else None,
                    "busy_fraction": busy_union / wall if wall else None,
                    "mean_kernel_us": sum(float(e.get("dur", 0.0)) for e in kernels) / len(kernels)
                    if kernels else None})
        if not kernels:
            out["note"] = "no kernel records (CUPTI not available to the profiler?)"
    return out


def write_trace(events: list, path: Path, limit: int = TRACE_EVENTS) -> dict:
    """The trace's first ``limit`` timed events from the first device event on (metadata kept), gzipped."""
    meta = [e for e in events if e.get("ph") == "M"]
    timed = sorted((e for e in events if e.get("ph") != "M" and "ts" in e), key=lambda e: float(e["ts"]))
    first = next((float(e["ts"]) for e in timed if e.get("cat") in DEVICE_CATS), None)
    if first is not None:
        timed = [e for e in timed if float(e["ts"]) >= first]
    kept = timed[:limit]
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump({"traceEvents": meta + kept}, fh)
    return {"file": path.name, "events": len(kept), "of": len(timed), "bytes": path.stat().st_size,
            "span_ms": (float(kept[-1]["ts"]) - float(kept[0]["ts"])) / 1e3 if kept else 0.0}


# -- the environment --------------------------------------------------------------------------
def environment(device) -> dict:
    import torch

    env = {"torch": torch.__version__, "cuda": torch.version.cuda, "device": str(device),
           "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
           "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
           "threads": torch.get_num_threads(), "python": sys.version.split()[0]}
    try:
        import triton
        env["triton"] = getattr(triton, "__version__", "imported (no version)")
    except Exception as exc:  # noqa: BLE001  (absent or broken: record why)
        env["triton"] = None
        env["triton_error"] = f"{type(exc).__name__}: {exc}"[:200]
    return env


class Guard:
    """Skips the phases that would end past the deadline, and says which."""

    def __init__(self, limit: float):
        self.t0 = time.monotonic()
        self.deadline = self.t0 + limit
        self.skipped: list[str] = []

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def allows(self, phase: str, estimate: float) -> bool:
        if estimate > self.left():
            self.skipped.append(f"{phase} (needs ~{estimate:.0f} s, {max(0.0, self.left()):.0f} s left)")
            print(f"gpu_profile: skipped {phase}: needs ~{estimate:.0f} s, {max(0.0, self.left()):.0f} s left",
                  flush=True)
            return False
        return True


# -- main -------------------------------------------------------------------------------------
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="directory for gpu-profile.json/.md, the profiler table and traces")
    p.add_argument("--data-dir", default=None, help="MNIST directory (default: ../shared/data/mnist or the usual search)")
    p.add_argument("--dataset", default="mnist", choices=["mnist", "digits"],
                   help="mnist (the notes' table) or the embedded digits (for a CPU test)")
    p.add_argument("--epochs", type=int, default=20, help="epochs of the long rows (and of each timed group)")
    p.add_argument("--short-epochs", type=int, default=None,
                   help="epochs of the short rows (default: the study's, epochs // 10, at least 1)")
    p.add_argument("--seeds", type=int, default=5, help="seeds per row (the notes' table: 5)")
    p.add_argument("--n-samples", type=int, default=None, help="MNIST images drawn (default the notes' 10,000)")
    p.add_argument("--device", choices=["cuda", "cpu"], default=None, help="default: CUDA when present")
    p.add_argument("--profile-epochs", type=int, default=1, help="epochs profiled (after a warm-up epoch)")
    p.add_argument("--no-profile", action="store_true", help="the timings only (no torch.profiler)")
    p.add_argument("--time-limit", type=float, default=TIME_LIMIT, help="seconds; later phases are skipped to stay under")
    args = p.parse_args(argv)
    for name in ("epochs", "seeds", "profile_epochs"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")
    if args.epochs < 2 or (args.short_epochs is not None and not 1 <= args.short_epochs < args.epochs):
        p.error(f"--epochs must be at least 2 and --short-epochs between 1 and --epochs - 1 (the budgets must "
                f"differ: the study's rows would merge), got {args.epochs} and {args.short_epochs}")
    guard = Guard(args.time_limit)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from actlab.studies.reproduce import BUDGETS
    from actlab.torch_engine.backend import TorchBackend
    from actlab.torch_engine.model import resolve_device

    name, why = gpucheck.cuda_device()
    if args.device == "cuda" and name is None:
        p.error(f"--device cuda: {why}")
    device = resolve_device(args.device or ("cuda" if name else "cpu"))
    if device.type != "cuda":
        print(f"gpu_profile: on the CPU ({why if name is None else '--device cpu'}): not GPU numbers", flush=True)
    data_dir = args.data_dir
    if args.dataset == "mnist":
        if data_dir is None:
            shared = REPO.parent / "shared" / "data" / "mnist"
            data_dir = str(shared) if shared.is_dir() else None
        data_dir = gpucheck.find_mnist(data_dir)
        if data_dir is None:
            p.error(f"MNIST not found (--data-dir {args.data_dir!r}); give --data-dir or --dataset digits")
    clock = Clock(device)
    res: dict = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "env": environment(device),
                 "settings": {"dataset": args.dataset, "data_dir": data_dir, "epochs": args.epochs,
                              "short_epochs": None, "seeds": args.seeds, "n_samples": args.n_samples,
                              "profile_epochs": args.profile_epochs, "time_limit_s": args.time_limit,
                              "full_epochs": {k: BUDGETS[k]["epochs"] for k in BUDGETS}},
                 "phases": {}}
    print(f"gpu_profile: {res['env']}", flush=True)
    res["errors"] = []

    def failed(phase: str, exc: BaseException) -> None:
        traceback.print_exc()
        res["errors"].append(f"{phase}: {type(exc).__name__}: {str(exc)[:300]}")

    t = time.perf_counter()
    runs, params = notes_runs(seeds=args.seeds, epochs=args.epochs, short_epochs=args.short_epochs,
                              dataset=args.dataset, n_samples=args.n_samples, data_dir=data_dir)
    short = res["settings"]["short_epochs"] = params["short_epochs"]   # the study's resolution
    res["load_s"] = time.perf_counter() - t
    backend = TorchBackend(device=device)
    chunks, devices, _ = backend.plan(runs)
    groups = describe_groups(runs, chunks, params)
    res["runs"], res["groups"] = len(runs), groups
    print(f"gpu_profile: {len(runs)} runs loaded in {res['load_s']:.1f} s; groups: " +
          "; ".join(f"{g['members']} x {g['structure']} {g['budget']} {g['activations']}" for g in groups), flush=True)
    timed = [with_epochs(r, args.epochs) for r in runs]   # every group trains --epochs epochs when timed
    long_chunks = [c for c, g in zip(chunks, groups) if g["budget"] == "long"]

    # warm-up: CUDA context, cuBLAS handles, lazily loaded kernels (the smallest group, two epochs)
    warm = min(chunks, key=len)
    t = clock.now()
    drive([lambda: backend._train_group([with_epochs(runs[i], 2) for i in warm], device, None)], device)
    res["phases"]["warmup_s"] = clock.now() - t

    # (a) each group alone, one after another: also (c), the groups serially
    alone: list = [None] * len(chunks)
    for i, chunk in enumerate(chunks):
        seen = [a for a in alone if a]
        est = (max(a["total_s"] * len(chunk) / groups[j]["members"] for j, a in enumerate(alone) if a) * 1.5
               if seen else 0.0)
        if guard.allows(f"alone: group {i}", est):
            alone[i] = time_alone(backend, timed, chunk, device, clock)
            print(f"gpu_profile: group {i} alone: {alone[i]['s_per_epoch']:.4f} s/epoch", flush=True)
    res["phases"]["alone"] = alone
    done = [a for a in alone if a]
    serial = sum(a["s_per_epoch"] for a in done) if len(done) == len(chunks) else None
    res["phases"]["serial_s_per_epoch"] = serial

    # (b) all groups together; the long groups together; the cut table through TorchBackend.train
    est_all = sum(a["total_s"] for a in done) * 1.2 if done else 0.0
    together = None
    if len(done) == len(chunks) and guard.allows("together: all groups", est_all):
        together = time_together(backend, timed, chunks, device, clock)
        print(f"gpu_profile: all groups together: {together['s_per_epoch']:.4f} s/epoch", flush=True)
    res["phases"]["together"] = together
    longs = None
    if together and len(long_chunks) < len(chunks) and guard.allows(
            "together: long groups", sum(alone[chunks.index(c)]["total_s"] for c in long_chunks) * 1.2):
        longs = (time_together(backend, timed, long_chunks, device, clock) if len(long_chunks) > 1
                 else alone[chunks.index(long_chunks[0])])
        print(f"gpu_profile: long groups together: {longs['s_per_epoch']:.4f} s/epoch", flush=True)
    res["phases"]["together_long"] = longs

    # (d) the prediction: setup, then the short budget's epochs with every group, the rest with the long ones
    pred = None
    if together and longs:
        def predict(long_e: int, short_e: int) -> dict:
            setup = max(0.0, together["setup_s"])
            s = setup + short_e * together["s_per_epoch"] + (long_e - short_e) * longs["s_per_epoch"]
            ser = sum(a["setup_s"] + a["s_per_epoch"] * (long_e if g["budget"] == "long" else short_e)
                      for a, g in zip(alone, groups))
            return {"long_epochs": long_e, "short_epochs": short_e, "together_s": s, "serial_s": ser,
                    "setup_s": setup}
        pred = {"full": predict(BUDGETS["long"]["epochs"], BUDGETS["short"]["epochs"]),
                "cut": predict(args.epochs, short)}
        table_est = pred["cut"]["together_s"] * 1.5 + 2
        if guard.allows("the cut table through TorchBackend.train", table_est):
            try:
                t = clock.now()
                results = backend.train(runs)
                pred["cut"]["measured_train_s"] = clock.now() - t
                pred["cut"]["statuses"] = dict(Counter(r["status"] for r in results))
            except Exception as exc:  # noqa: BLE001  (recorded; the profiles still run)
                failed("the cut table through TorchBackend.train", exc)
    res["prediction"] = pred
    res["profiles"], res["traces"] = [], []
    save(res, guard, out)   # the timings are on disk before the profiler starts (should it take the process down)

    # (e) the profiles: each group alone, then all together
    profiles: list = []
    texts: list[str] = []
    traces: list = []
    if args.no_profile:
        guard.skipped.append("profiles (--no-profile)")
    elif guard.allows("profiles", 5.0):
        res["phases"]["profiler_warmup_s"] = warm_profiler(device)
    with tempfile.TemporaryDirectory(prefix="actlab-gpuprof-") as tmp:
        jobs = [(f"group {i}", [c]) for i, c in enumerate(chunks)] + [("all groups together", chunks)]
        jobs = [] if args.no_profile or "profiler_warmup_s" not in res["phases"] else jobs
        for label, cs in jobs:
            idx = [chunks.index(c) for c in cs]
            per = [alone[i]["s_per_epoch"] if alone[i] else None for i in idx]
            base = sum(per) if None not in per else None
            est = 4.0 + (base or 1.0) * (1 + args.profile_epochs) * 4
            if not guard.allows(f"profile: {label}", est):
                continue
            try:
                pr = profile(backend, runs, cs, device, clock, Path(tmp), args.profile_epochs)
            except Exception as exc:  # noqa: BLE001  (a profiler failure loses that profile only)
                failed(f"profile: {label}", exc)
                continue
            st = pr["stats"]
            st["label"] = label
            st["groups"] = idx
            if label.startswith("group") and base is not None:
                st["unprofiled_s_per_epoch"] = base
                if st.get("gpu_busy_union_s") is not None:
                    st["busy_fraction_unprofiled"] = st["gpu_busy_union_s"] / (base * args.profile_epochs)
            if label.startswith("all") and together:
                st["unprofiled_s_per_epoch"] = together["s_per_epoch"]
                if st.get("gpu_busy_union_s") is not None:
                    st["busy_fraction_unprofiled"] = st["gpu_busy_union_s"] / (together["s_per_epoch"] * args.profile_epochs)
            profiles.append(st)
            texts.append(f"== {label} (groups {idx}; {st['steps']} steps, {st['wall_s']:.3f} s profiled) ==\n"
                         + pr["table"])
            biggest = max(range(len(chunks)), key=lambda i: len(chunks[i]))
            if pr["events"] and (label == f"group {biggest}" or label.startswith("all")):
                tag = "all" if label.startswith("all") else f"group{biggest}"
                try:
                    traces.append(write_trace(pr["events"], out / f"gpu-profile-trace-{tag}.json.gz"))
                except Exception as exc:  # noqa: BLE001
                    failed(f"trace: {label}", exc)
            print(f"gpu_profile: profiled {label}", flush=True)
    res["profiles"] = profiles
    res["traces"] = traces
    if texts:
        (out / "gpu-profile-ops.txt").write_text("\n\n".join(texts))
    md = save(res, guard, out)
    print(md)
    print(f"gpu_profile: results in {out}")
    return 0


def save(res: dict, guard: Guard, out: Path) -> str:
    """Write ``gpu-profile.json`` and ``.md`` with what ``res`` holds so far; the md."""
    res["skipped"] = guard.skipped
    res["seconds"] = time.monotonic() - guard.t0
    (out / "gpu-profile.json").write_text(json.dumps(res, indent=1, default=str))
    md = markdown(res)
    (out / "gpu-profile.md").write_text(md)
    return md


def _f(x, fmt: str = ".4f") -> str:
    return "—" if x is None else format(x, fmt)


def markdown(r: dict) -> str:
    env, s = r["env"], r["settings"]
    where = env["gpu"] or f"the CPU ({env['threads']} threads; not GPU numbers)"
    md = [f"# Where the notes' table's time goes: torch engine on {where} ({r['started']})", "",
          f"torch {env['torch']}, CUDA {env['cuda']}, triton {env['triton'] or 'not importable'}; "
          f"{r['runs']} runs ({s['dataset']}, {s['seeds']} seeds), loaded in {r['load_s']:.1f} s; timed groups "
          f"train {s['epochs']} epochs (s/epoch after the first); warm-up {_f(r['phases'].get('warmup_s'), '.1f')} s; "
          f"{r['seconds']:.0f} s in all.", "",
          "| group | members | structure | activations | budget (full) | alone s/epoch | alone setup s "
          "| in 'all together' s/epoch | kernels/step | GPU busy ms/step | busy fraction |",
          "|---|---|---|---|---|---|---|---|---|---|---|"]
    alone = r["phases"].get("alone") or []
    tog = r["phases"].get("together") or {}
    prof = {p["label"]: p for p in r.get("profiles", [])}
    for g in r["groups"]:
        a = alone[g["group"]] if g["group"] < len(alone) and alone[g["group"]] else {}
        pt = (tog.get("per_group_s_per_epoch") or [None] * len(r["groups"]))[g["group"]]
        pr = prof.get(f"group {g['group']}", {})
        acts = ", ".join(f"{k} x{v}" for k, v in g["activations"].items())
        md.append(f"| {g['group']} | {g['members']} | {g['structure']} | {acts} | {g['budget']} {g['epochs']} "
                  f"({g['full_epochs']}) | {_f(a.get('s_per_epoch'))} | {_f(a.get('setup_s'), '.2f')} | {_f(pt)} | "
                  f"{_f(pr.get('kernels_per_step', pr.get('events_per_step')), '.0f')} | "
                  f"{_f(pr.get('busy_sum_per_step_ms'), '.3f')} | {_f(pr.get('busy_fraction_unprofiled'), '.2f')} |")
    ser = r["phases"].get("serial_s_per_epoch")
    lg = r["phases"].get("together_long") or {}
    md += ["", f"Seconds per epoch: groups one after another (sum of alone) {_f(ser)}; all groups together "
           f"{_f(tog.get('s_per_epoch'))}" + (f" (overlap gain {ser / tog['s_per_epoch']:.2f}x)" if ser and tog else "")
           + f"; the long groups together {_f(lg.get('s_per_epoch'))}."]
    pred = r.get("prediction")
    if pred:
        f, c = pred["full"], pred["cut"]
        md += ["", f"**Predicted full table** ({f['long_epochs']}/{f['short_epochs']} epochs): "
               f"{f['together_s']:.1f} s together (setup {f['setup_s']:.1f} s + {f['short_epochs']} epochs of all "
               f"groups + {f['long_epochs'] - f['short_epochs']} of the long ones), {f['serial_s']:.1f} s one group after "
               "another; plus loading the data and the CLI's own work (store, report)."]
        if "measured_train_s" in c:
            md.append(f"Check on the cut table ({c['long_epochs']}/{c['short_epochs']} epochs) through "
                      f"`TorchBackend.train`: predicted {c['together_s']:.2f} s, measured {c['measured_train_s']:.2f} s "
                      f"({c['statuses']}).")
    for p in r.get("profiles", []):
        steps = "group-steps" if len(p["groups"]) > 1 else "steps"
        md += ["", f"## Profile: {p['label']} ({p['steps']} {steps} in {p['profiled_epochs']} epoch(s), "
               f"{p['wall_s']:.3f} s profiled, unprofiled {_f(p.get('unprofiled_s_per_epoch'))} s/epoch)", ""]
        if "kernels" in p:
            md.append(f"{p['kernels']} kernels ({_f(p['kernels_per_step'], '.1f')}/step, mean "
                      f"{_f(p['mean_kernel_us'], '.1f')} us) on {p['streams']} stream(s); GPU busy: sum "
                      f"{p['gpu_busy_sum_s']:.3f} s, union {p['gpu_busy_union_s']:.3f} s = "
                      f"{_f(p['busy_fraction'], '.2f')} of the profiled wall, "
                      f"{_f(p.get('busy_fraction_unprofiled'), '.2f')} of the unprofiled.")
        else:
            md.append(f"{p['what']}: {p['events']} ({_f(p['events_per_step'], '.1f')}/step).")
        if p.get("note"):
            md.append(f"Note: {p['note']}")
        md += ["", "| top by time | count | total ms | share | | top by count | count | mean us |",
               "|---|---|---|---|---|---|---|---|"]
        for a, b in zip(p["top_by_time"], p["top_by_count"]):
            md.append(f"| `{a['name'][:70]}` | {a['count']} | {a['total_ms']:.2f} | {a['share']:.2f} | | "
                      f"`{b['name'][:70]}` | {b['count']} | {b['mean_us']:.1f} |")
    if r.get("traces"):
        md += ["", "Traces (first events from the first device event; https://ui.perfetto.dev): " +
               ", ".join(f"`{t['file']}` ({t['events']} of {t['of']} events, {t['span_ms']:.1f} ms, "
                         f"{t['bytes'] / 1e6:.2f} MB)" for t in r["traces"])]
    for e in r.get("errors", []):
        md += ["", f"**Failed**: {e}"]
    md += ["", "Skipped (time guard, options): " + ("; ".join(r["skipped"]) if r["skipped"] else "nothing") + "."]
    return "\n".join(md) + "\n"


if __name__ == "__main__":
    sys.exit(main())
