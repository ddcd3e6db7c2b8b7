"""Throughput of actlab's torch engine ensembles: K models trained at once vs K runs one after another.

The work is the benchmark's (784-200-200-200-200-10, batch 100, SGD lr 0.01, MNIST notes
protocol: 8,000 training images). Members differ in seed (weights and batch order) and alternate
tanh / relu. For each K the ensemble trains ``--epochs`` epochs (the first is warm-up); its
seconds per epoch are compared with K times the seconds per epoch of one model alone on the
same engine (measured in the same run, alternated with the ensembles), and with K times the
NumPy engine's. Results: ``bench/results/ensemble.json`` and ``ensemble.md``.

    python bench/ensemble.py                  # K = 1, 2, 4, 8, 16 on the CPU (a few minutes)
    python bench/ensemble.py --ks 1,2 --epochs 2 --n-samples 500 --synthetic --out /tmp/e
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402  (bench/run.py: data loading and the machine description)

HERE = Path(__file__).resolve().parent


def _models(k: int):
    return [bench._actlab_model("tanh" if i % 2 == 0 else "relu", seed=i) for i in range(k)]


def time_torch(k: int, data, epochs: int, device: str) -> list[float]:
    from actlab.torch_engine.model import TorchEnsemble

    xtr, ytr = data[0], bench._one_hot(data[1])
    ens = TorchEnsemble(_models(k), device=device)
    ens.fit(xtr, ytr, epochs=epochs, batch_size=100)
    return list(ens.epoch_seconds)


def time_numpy(data, epochs: int) -> list[float]:
    xtr, ytr = data[0], bench._one_hot(data[1])
    m = _models(1)[0]
    out = []
    for e in range(epochs):
        t = time.perf_counter()
        m.fit(xtr, ytr, epochs=e + 1, initial_epoch=e, batch_size=100, verbose=0)
        out.append(time.perf_counter() - t)
    return out


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
    load0 = os.getloadavg()[0]
    raw: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    for r in range(args.rounds):
        order = (["numpy"] + ks) if r % 2 == 0 else (ks[::-1] + ["numpy"])
        for k in order:
            if k == "numpy":
                times = time_numpy(data, args.epochs)
                key = "numpy"
            else:
                times = time_torch(k, data, args.epochs, args.device)
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
               "gain_vs_sequential_numpy": k * numpy_single / s}
        rows.append(row)
    result = {"started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "device": args.device,
              "seconds": time.perf_counter() - t0, "load": [load0, os.getloadavg()[0]],
              "machine": bench.machine(), "numpy_single_s_per_epoch": numpy_single,
              "settings": {"ks": ks, "epochs": args.epochs, "rounds": args.rounds, "n_samples": args.n_samples,
                           "synthetic": args.synthetic, "cores_allowed": len(os.sched_getaffinity(0)),
                           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
                           "torch_threads": _torch_threads()}, "rows": rows, "raw": raw}
    md = [f"# Ensembles on the torch engine ({result['started']}, device {args.device})", "",
          f"Machine: {result['machine'].get('Model name', '?')}, {result['machine']['cpus']} CPUs; "
          f"load average at start / end {result['load'][0]:.2f} / {result['load'][1]:.2f}; "
          f"cores allowed {result['settings']['cores_allowed']}, torch threads {result['settings']['torch_threads']}. "
          f"GPU: {result['machine']['gpu']}.", "",
          f"Work per member: 784-200-200-200-200-10, {args.n_samples - round(args.n_samples * 0.2)} training "
          "samples, batch 100, SGD lr 0.01; members alternate tanh/relu with different seeds. "
          f"NumPy engine, one model: {numpy_single:.4f} s/epoch.", "",
          "| K | s/epoch (all K) | model-epochs/s | gain vs K torch runs in sequence | gain vs K NumPy runs in sequence |",
          "|---|---|---|---|---|"]
    for r in rows:
        g = f"{r['gain_vs_sequential_torch']:.2f}" if r["gain_vs_sequential_torch"] else "—"
        md.append(f"| {r['K']} | {r['s_per_epoch']:.4f} | {r['model_epochs_per_s']:.2f} | {g} | "
                  f"{r['gain_vs_sequential_numpy']:.2f} |")
    md.append("")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(result, indent=1))
    (out / f"{args.name}.md").write_text("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
