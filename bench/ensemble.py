"""Throughput of actlab's torch engine ensembles: K models trained at once vs K runs one after another.

The work is the benchmark's (784-200-200-200-200-10, batch 100, SGD lr 0.01, MNIST notes
protocol: 8,000 training images). Members differ in seed (weights and batch order) and alternate
tanh / relu. For each K the ensemble trains ``--epochs`` epochs (the first is warm-up); its
seconds per epoch are compared with K times the seconds per epoch of one model alone on the
same engine (measured in the same run, alternated with the ensembles), and with K times the
NumPy engine's. Results: ``bench/results/ensemble.json`` and ``ensemble.md``.

For comparison it also measures what ``actlab compare`` does with the NumPy engine on this
machine: ``--numpy-procs`` processes (default: one per allowed core) training one model each at
the same time, one BLAS thread per process, as the study runner's workers do. Its throughput is
the sum over the processes of one model-epoch per median epoch time.

    python bench/ensemble.py                  # K = 1, 2, 4, 8, 16 on the CPU (a few minutes)
    python bench/ensemble.py --ks 1,2 --epochs 2 --n-samples 500 --synthetic --out /tmp/e
"""
from __future__ import annotations

import argparse
import json
import os
import queue as _queue
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (bench/run.py: data loading and the machine description)

HERE = Path(__file__).resolve().parent


def run_config(seed: int, epochs: int, engine: str) -> dict:
    """Member ``seed``'s run configuration: the benchmark's network (784-200-200-200-200-10,
    tanh for even seeds, relu for odd ones), SGD lr 0.01, batch 100."""
    from actlab.studies.config import make_config

    return make_config(study="bench-ensemble", seed=seed, dataset="mnist", protocol="notes", hidden="200x4",
                       activation="tanh" if seed % 2 == 0 else "relu", optimizer="sgd", learning_rate=0.01,
                       batch_size=100, epochs=epochs, engine=engine)


def _dataset(data):
    from actlab.datasets import Dataset

    xtr, ytr, xte, yte = data
    return Dataset(name="bench", x_train=xtr, y_train=ytr, x_test=xte, y_test=yte, num_classes=10,
                   input_shape=(xtr.shape[1],))


def _models(k: int, data, epochs: int, engine: str = "torch"):
    """The K members, built by the backend registry (``actlab.backends``) from their run configurations."""
    from actlab.backends import get_backend

    d = _dataset(data)
    return [get_backend(engine).build(run_config(i, epochs, engine), d) for i in range(k)]


GRAPHS_USED: dict[int, str] = {}   # K -> whether the last ensemble of K replayed CUDA graphs (or why not)


def time_torch(k: int, data, epochs: int, device: str, cuda_graphs: bool = True) -> list[float]:
    """Seconds per epoch of K members trained as one ensemble: training only, as ``time_numpy``
    (the backend's ``train`` would add a test-set evaluation to every epoch)."""
    from actlab.torch_engine.model import TorchEnsemble

    xtr, ytr = data[0], bench._one_hot(data[1])
    ens = TorchEnsemble(_models(k, data, epochs), device=device, cuda_graphs=cuda_graphs)
    ens.fit(xtr, ytr, epochs=epochs, batch_size=100)
    GRAPHS_USED[k] = ens.graph_used
    return list(ens.epoch_seconds)


def time_numpy(data, epochs: int, seed: int = 0) -> list[float]:
    """Seconds per epoch of one member on the NumPy engine, built and trained by its backend
    (``build``, then ``fit``, timed epoch by epoch by a callback)."""
    from actlab.backends import get_backend
    from actlab.engine import Callback

    xtr, ytr = data[0], bench._one_hot(data[1])
    backend = get_backend("numpy")
    d = _dataset(data)
    m = backend.build(run_config(seed, epochs, "numpy"), d)
    out: list[float] = []

    class Timer(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            out.append(time.perf_counter() - self.t)

    backend.fit(m, xtr, ytr, epochs=epochs, batch_size=100, callbacks=[Timer()])
    return out


def _numpy_proc(data, seed: int, epochs: int, queue) -> None:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        queue.put((seed, time_numpy(data, epochs, seed)))


def time_numpy_procs(data, epochs: int, procs: int) -> list[float]:
    """Each process's median epoch time (first excluded) when ``procs`` NumPy runs train at once.

    Forked processes (nothing is pickled but the results): the data and this module's functions
    are inherited as they are."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_numpy_proc, args=(data, i, epochs, queue)) for i in range(procs)]
    for w in workers:
        w.start()
    runs: dict[int, list[float]] = {}
    while len(runs) < procs:
        try:
            seed, times = queue.get(timeout=5)
            runs[seed] = times
        except _queue.Empty:
            failed = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if failed:
                for w in workers:
                    w.terminate()
                raise RuntimeError(f"a NumPy benchmark process failed (exit code {failed[0]})") from None
    for w in workers:
        w.join()
    return [statistics.median(runs[i][1:]) for i in range(procs)]


def _torch_threads():
    try:
        import torch
    except ImportError:
        return None
    return torch.get_num_threads()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ks", default="1,2,4,8,16", help="ensemble sizes (default 1,2,4,8,16)")
    p.add_argument("--epochs", type=int, default=3, help="epochs per measurement; the first is warm-up")
    p.add_argument("--rounds", type=int, default=2, help="measurements per K, alternated (default 2)")
    p.add_argument("--n-samples", type=int, default=10000)
    p.add_argument("--synthetic", action="store_true")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-cuda-graphs", action="store_true",
                   help="on CUDA, launch every kernel from Python (the default replays each step as a CUDA graph)")
    p.add_argument("--numpy-procs", type=int, default=None,
                   help="NumPy runs trained at once in processes (default: the allowed cores; 0: skip)")
    p.add_argument("--out", default=str(HERE / "results"))
    p.add_argument("--name", default="ensemble")
    args = p.parse_args(argv)
    ks = [int(k) for k in args.ks.split(",") if k]
    if args.epochs < 2:
        p.error("--epochs must be at least 2 (the first is warm-up)")
    if args.data_dir is None:
        shared = HERE.parent.parent / "shared" / "data" / "mnist"
        args.data_dir = str(shared) if shared.is_dir() else None
    data = bench._load(args)
    procs = len(os.sched_getaffinity(0)) if args.numpy_procs is None else args.numpy_procs
    load0 = os.getloadavg()[0]
    raw: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    for r in range(args.rounds):
        order = (["numpy"] + ks) if r % 2 == 0 else (ks[::-1] + ["numpy"])
        if procs > 0:
            order.insert(1 if r % 2 == 0 else len(order) - 1, "procs")
        for k in order:
            if k == "procs":
                per_proc = time_numpy_procs(data, args.epochs, procs)
                raw.setdefault("numpy_procs", []).append(per_proc)
                print(f"[round {r + 1}] numpy x{procs}  {statistics.median(per_proc):.4f} s/epoch each", flush=True)
                continue
            if k == "numpy":
                times = time_numpy(data, args.epochs)
                key = "numpy"
            else:
                times = time_torch(k, data, args.epochs, args.device, cuda_graphs=not args.no_cuda_graphs)
                key = f"torch/{k}"
            raw.setdefault(key, []).extend(times[1:])
            print(f"[round {r + 1}] {key:10s} {statistics.median(times[1:]):.4f} s/epoch", flush=True)
    single = statistics.median(raw["torch/1"]) if "torch/1" in raw else None
    numpy_single = statistics.median(raw["numpy"])
    rows = []
    for k in ks:
        s = statistics.median(raw[f"torch/{k}"])
        row = {"K": k, "s_per_epoch": s, "model_epochs_per_s": k / s,
               "gain_vs_sequential_torch": (k * single / s) if single else None,
               "gain_vs_sequential_numpy": k * numpy_single / s, "cuda_graph": GRAPHS_USED.get(k)}
        rows.append(row)
    procs_row = None
    if procs > 0:
        # per round, the throughput of the processes together; the median over rounds
        rates = [sum(1.0 / t for t in per_proc) for per_proc in raw["numpy_procs"]]
        rate = statistics.median(rates)
        procs_row = {"processes": procs, "model_epochs_per_s": rate,
                     "s_per_epoch_each": statistics.median([t for pp in raw["numpy_procs"] for t in pp]),
                     "gain_vs_sequential_numpy": rate * numpy_single}
    result = {"started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "device": args.device,
              "seconds": time.perf_counter() - t0, "load": [load0, os.getloadavg()[0]],
              "machine": bench.machine(), "numpy_single_s_per_epoch": numpy_single,
              "settings": {"ks": ks, "epochs": args.epochs, "rounds": args.rounds, "n_samples": args.n_samples,
                           "synthetic": args.synthetic, "cuda_graphs": not args.no_cuda_graphs,
                           "cores_allowed": len(os.sched_getaffinity(0)),
                           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
                           "torch_threads": _torch_threads()}, "rows": rows, "numpy_processes": procs_row,
              "raw": raw}
    md = [f"# Ensembles on the torch engine ({result['started']}, device {args.device})", "",
          f"Machine: {result['machine'].get('Model name', '?')}, {result['machine']['cpus']} CPUs; "
          f"load average at start / end {result['load'][0]:.2f} / {result['load'][1]:.2f}; "
          f"cores allowed {result['settings']['cores_allowed']}, torch threads {result['settings']['torch_threads']}. "
          f"GPU: {result['machine']['gpu']}.", "",
          f"Work per member: 784-200-200-200-200-10, {args.n_samples - round(args.n_samples * 0.2)} training "
          "samples, batch 100, SGD lr 0.01; members alternate tanh/relu with different seeds. "
          f"NumPy engine, one model: {numpy_single:.4f} s/epoch."
          + (f" CUDA graphs: {', '.join(f'K={k}: {GRAPHS_USED[k]}' for k in ks if k in GRAPHS_USED)}."
             if args.device.startswith("cuda") else ""), "",
          "| K | s/epoch (all K) | model-epochs/s | gain vs K torch runs in sequence | gain vs K NumPy runs in sequence |",
          "|---|---|---|---|---|"]
    for r in rows:
        g = f"{r['gain_vs_sequential_torch']:.2f}" if r["gain_vs_sequential_torch"] else "—"
        md.append(f"| {r['K']} | {r['s_per_epoch']:.4f} | {r['model_epochs_per_s']:.2f} | {g} | "
                  f"{r['gain_vs_sequential_numpy']:.2f} |")
    md.append("")
    if procs_row:
        md += [f"What `actlab compare` does with the NumPy engine instead: {procs} runs at once in "
               f"{procs} processes, one BLAS thread each: {procs_row['s_per_epoch_each']:.4f} s/epoch per "
               f"model, **{procs_row['model_epochs_per_s']:.2f} model-epochs/s**, "
               f"{procs_row['gain_vs_sequential_numpy']:.2f}x the NumPy engine running the models one after "
               "another (with the libraries' default threads).", ""]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(result, indent=1))
    (out / f"{args.name}.md").write_text("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
