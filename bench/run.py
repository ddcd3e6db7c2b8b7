"""The speed benchmark of issue 4: the notes' MNIST MLP through actlab and the tools people use instead.

Work (the same for every peer): the MLP 784-200-200-200-200-10 (tanh and relu hidden layers,
softmax output, categorical cross-entropy), plain SGD with learning rate 0.01 and no momentum,
batch 100, on the notes' protocol (10,000 MNIST images drawn with seed 0: 8,000 train, 2,000
test, pixels scaled to [0, 1]), float32.

Peers, each run in its own subprocess (so that its peak memory is its own):

* ``actlab-numpy``   actlab's NumPy engine (``Sequential.fit``)
* ``actlab-paired``  the same engine, each epoch paired with an epoch of the GEMM bound's products in
  the same process (one after the other): its ``paired`` ratio does not drift with the machine
* ``actlab-torch``   actlab's PyTorch engine (``TorchEnsemble`` of one model, CPU)
* ``torch-loop``     an idiomatic PyTorch loop: ``DataLoader`` + ``nn.Sequential`` + ``optim.SGD``
* ``torch-tight``    a tight PyTorch loop: the batches gathered with ``index_select`` from one tensor
  (no ``DataLoader``), ``nn.Sequential``, ``F.cross_entropy``, ``optim.SGD``, gradients set to None
* ``actlab-numpy-base``  the NumPy engine of another checkout (``--baseline-src DIR``, its ``src``):
  the commit before a change, timed in the same run
* ``sklearn``        scikit-learn's ``MLPClassifier`` (sgd, momentum 0, batch 100, lr 0.01, alpha 0)
* ``keras-jax`` / ``keras-torch``  Keras 3 on its JAX and PyTorch back ends, from a separate
  virtual environment (``--keras-python``; see ``bench/README.md``)
* ``gemm``           not a peer: the time of just one epoch's matrix products (the same shapes,
  float32, with NumPy's and with PyTorch's BLAS), the machine's matrix-multiply bound.

actlab's two engines and the PyTorch loop and Keras start from actlab's initial weights (copied);
scikit-learn draws its own (Glorot-uniform as well). Only actlab's two engines share the batch
order; the others shuffle with their own seeded generators.

The runs alternate (round-robin over peers, the order rotated every round) so that a change in
the machine's load hits every peer alike. Reported per peer and activation: seconds per epoch
(median of every epoch after the first of each run), peak resident memory of the process and
its growth during training, test accuracy after the fixed number of epochs; ratios against the
fastest peer and against the GEMM bound. Results go to ``bench/results/`` as JSON and Markdown.

    python bench/run.py                         # the full benchmark (about 5-10 minutes on 2 cores)
    python bench/run.py --epochs 2 --rounds 1 --n-samples 500 --out /tmp/b   # a quick check
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = [784, 200, 200, 200, 200, 10]
PEERS = ["actlab-numpy", "actlab-paired", "actlab-torch", "torch-loop", "torch-tight", "sklearn", "keras-jax", "keras-torch"]
BASELINE_PEER = "actlab-numpy-base"   # added by --baseline-src
KERAS_PEERS = {"keras-jax": "jax", "keras-torch": "torch"}


# ------------------------------------------------------------------------------------- workers
def _rss_now_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


class Timer:
    """Wall-clock and process CPU seconds of each epoch (CPU time is what a busy machine does not
    inflate: with one thread per peer it is the steadier measure)."""

    def __init__(self):
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def start(self):
        self._w, self._c = time.perf_counter(), time.process_time()

    def stop(self):
        self.wall.append(time.perf_counter() - self._w)
        self.cpu.append(time.process_time() - self._c)


def _load(args):
    import numpy as np

    if args.synthetic:
        rng = np.random.default_rng(0)
        n_tr = args.n_samples - round(args.n_samples * 0.2)
        x = rng.random((args.n_samples, 784), dtype=np.float32)
        y = rng.integers(0, 10, args.n_samples)
        return x[:n_tr], y[:n_tr], x[n_tr:], y[n_tr:]
    from actlab import datasets

    d = datasets.notes_protocol(n_samples=args.n_samples, dataset="mnist", test_fraction=0.2, seed=0,
                                data_dir=args.data_dir)
    return d.x_train, d.y_train, d.x_test, d.y_test


def _actlab_model(act, seed=0):
    from actlab.engine import SGD, build_mlp

    m = build_mlp(784, "200x4", act, 10, seed=seed)
    m.compile(optimizer=SGD(learning_rate=0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    return m


def _one_hot(y):
    import numpy as np

    return np.eye(10, dtype=np.float32)[y]


def _epoch_timer(times: Timer):
    """An actlab callback that times each epoch into ``times``."""
    from actlab.engine import Callback

    class EpochTimer(Callback):
        def on_epoch_begin(self, epoch, logs=None):
            times.start()

        def on_epoch_end(self, epoch, logs=None):
            times.stop()

    return EpochTimer()


def worker_actlab_numpy(args, data):
    import numpy as np

    xtr, ytr, xte, yte = data
    m = _actlab_model(args.act)
    times = Timer()
    rss0 = _rss_now_kb()
    m.fit(xtr, _one_hot(ytr), epochs=args.epochs, batch_size=100, verbose=0, callbacks=[_epoch_timer(times)])
    acc = float(np.mean(np.argmax(m.predict(xte), axis=1) == yte))
    return times, acc, rss0


def worker_actlab_torch(args, data):
    import numpy as np
    import torch  # noqa: F401

    from actlab.torch_engine.model import TorchEnsemble

    xtr, ytr, xte, yte = data
    ens = TorchEnsemble(_actlab_model(args.act), device="cpu")
    rss0 = _rss_now_kb()
    times = Timer()

    def lap(epoch, logs):
        times.stop()
        times.start()

    times.start()
    ens.fit(xtr, _one_hot(ytr), epochs=args.epochs, batch_size=100, on_epoch=lap)
    acc = float(np.mean(np.argmax(ens.predict(xte)[0], axis=1) == yte))
    return times, acc, rss0


def _torch_mlp(act):
    """``nn.Sequential`` of the notes' MLP with actlab's initial weights (copied)."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    acts = {"tanh": nn.Tanh, "relu": nn.ReLU}
    mods = []
    for i in range(len(SIZES) - 1):
        mods.append(nn.Linear(SIZES[i], SIZES[i + 1]))
        if i < len(SIZES) - 2:
            mods.append(acts[act]())
    w = _actlab_model(act).get_weights()
    with torch.no_grad():
        for lin, (k, b) in zip([m for m in mods if isinstance(m, nn.Linear)], zip(w[::2], w[1::2])):
            lin.weight.copy_(torch.from_numpy(k.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
    return nn.Sequential(*mods)


def worker_torch_loop(args, data):
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    xtr, ytr, xte, yte = data
    model = _torch_mlp(args.act)
    loader = DataLoader(TensorDataset(torch.from_numpy(xtr), torch.from_numpy(ytr)), batch_size=100,
                        shuffle=True, generator=torch.Generator().manual_seed(0))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    rss0 = _rss_now_kb()
    times = Timer()
    for _ in range(args.epochs):
        times.start()
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        times.stop()
    with torch.no_grad():
        acc = float((model(torch.from_numpy(xte)).argmax(1) == torch.from_numpy(yte)).float().mean())
    return times, acc, rss0


def worker_torch_tight(args, data):
    import torch
    import torch.nn.functional as F

    xtr, ytr, xte, yte = data
    model = _torch_mlp(args.act)
    X, Y = torch.from_numpy(xtr), torch.from_numpy(ytr).long()
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    n = len(X)
    rss0 = _rss_now_kb()
    times = Timer()
    for _ in range(args.epochs):
        times.start()
        perm = torch.randperm(n, generator=gen)
        for s in range(0, n, 100):
            idx = perm[s:s + 100]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(X.index_select(0, idx)), Y.index_select(0, idx))
            loss.backward()
            opt.step()
        times.stop()
    with torch.no_grad():
        acc = float((model(torch.from_numpy(xte)).argmax(1) == torch.from_numpy(yte)).float().mean())
    return times, acc, rss0


def worker_sklearn(args, data):
    import warnings

    import numpy as np
    from sklearn.neural_network import MLPClassifier

    xtr, ytr, xte, yte = data
    clf = MLPClassifier(hidden_layer_sizes=(200,) * 4, activation=args.act, solver="sgd", alpha=0.0,
                        batch_size=100, learning_rate="constant", learning_rate_init=0.01, momentum=0.0,
                        nesterovs_momentum=False, shuffle=True, random_state=0)
    rss0 = _rss_now_kb()
    times = Timer()
    classes = np.arange(10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(args.epochs):
            times.start()
            clf.partial_fit(xtr, ytr, classes=classes)   # one epoch of mini-batch SGD
            times.stop()
    acc = float(np.mean(clf.predict(xte) == yte))
    return times, acc, rss0


def worker_keras(args, data):
    import numpy as np
    import keras

    xtr, ytr, xte, yte = data
    layers = [keras.Input((784,))]
    for i in range(1, len(SIZES)):
        layers.append(keras.layers.Dense(SIZES[i], activation=args.act if i < len(SIZES) - 1 else "softmax"))
    model = keras.Sequential(layers)
    model.set_weights(_actlab_model(args.act).get_weights())   # the same initial weights as actlab's
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    times = Timer()

    class T(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            times.start()

        def on_epoch_end(self, epoch, logs=None):
            times.stop()

    rss0 = _rss_now_kb()
    model.fit(xtr, _one_hot(ytr), epochs=args.epochs, batch_size=100, shuffle=True, verbose=0, callbacks=[T()])
    acc = float(np.mean(np.argmax(model.predict(xte, verbose=0), axis=1) == yte))
    return times, acc, rss0


def _products(xtr):
    """The GEMM bound's arrays and ``epoch_numpy()``: one epoch's matrix products alone (forward
    ``x W``, backward ``x^T g`` and ``g W^T``) in NumPy, after OpenBLAS's warm-up: it ran these
    small products up to 3x slower until one product with a side of 384 had run in the process
    (``actlab.engine.kernels.Gemm``), so the bound is the warm, faster state, as the engine runs it
    (before 2026-11-26 it was timed cold: 0.53 s per epoch against 0.33 s warm)."""
    import numpy as np

    from actlab.engine.kernels import GEMM

    GEMM.warm_up()
    steps = len(xtr) // 100
    rng = np.random.default_rng(0)
    W = [rng.standard_normal((SIZES[i], SIZES[i + 1])).astype(np.float32) * 0.05 for i in range(5)]
    Z = [np.empty((100, SIZES[i + 1]), np.float32) for i in range(5)]
    G = [np.empty((100, SIZES[i]), np.float32) for i in range(5)]
    GW = [np.empty_like(w) for w in W]

    def epoch_numpy():
        for s in range(steps):
            a = xtr[s * 100:(s + 1) * 100]
            x0 = a
            for i in range(5):
                np.matmul(a, W[i], out=Z[i])
                a = Z[i]
            for i in range(4, -1, -1):
                np.matmul((x0 if i == 0 else Z[i - 1]).T, Z[i], out=GW[i])
                if i:
                    np.matmul(Z[i], W[i].T, out=G[i])

    return (W, Z, G, GW), epoch_numpy


def worker_actlab_paired(args, data):
    """actlab's NumPy engine with the GEMM bound in the same process, an engine epoch and a bound
    epoch in turn: the ratio of each pair is measured at one moment and in one memory layout, which
    the round-robin of separate processes cannot give on a machine whose speed drifts."""
    import numpy as np

    xtr, ytr, xte, yte = data
    _, bound_epoch = _products(xtr)
    m = _actlab_model(args.act)
    times = Timer()
    times.bound = []
    timer = _epoch_timer(times)
    rss0 = _rss_now_kb()
    y1 = _one_hot(ytr)
    for epoch in range(args.epochs):   # the batch order of one fit over all the epochs
        t = time.perf_counter()
        bound_epoch()
        times.bound.append(time.perf_counter() - t)
        m.fit(xtr, y1, epochs=epoch + 1, initial_epoch=epoch, batch_size=100, verbose=0, callbacks=[timer])
    acc = float(np.mean(np.argmax(m.predict(xte), axis=1) == yte))
    return times, acc, rss0


def worker_gemm(args, data):
    """One epoch's matrix products alone (forward x W, backward x^T g and g W^T), NumPy and PyTorch."""
    import numpy as np

    xtr = data[0]
    steps = len(xtr) // 100
    (W, Z, G, GW), epoch_numpy = _products(xtr)
    out = {"numpy": [], "torch": [], "numpy_cpu": [], "torch_cpu": []}
    rng = np.random.default_rng(1)
    for _ in range(args.epochs):
        t, c = time.perf_counter(), time.process_time()
        epoch_numpy()
        out["numpy"].append(time.perf_counter() - t)
        out["numpy_cpu"].append(time.process_time() - c)
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        X = torch.from_numpy(xtr)
        Wt = [torch.from_numpy(w) for w in W]
        Zt = [torch.from_numpy(z) for z in Z]
        Gt = [torch.from_numpy(g) for g in G]
        GWt = [torch.from_numpy(g) for g in GW]

        def epoch_torch():
            for s in range(steps):
                a = X[s * 100:(s + 1) * 100]
                x0 = a
                for i in range(5):
                    torch.mm(a, Wt[i], out=Zt[i])
                    a = Zt[i]
                for i in range(4, -1, -1):
                    torch.mm((x0 if i == 0 else Zt[i - 1]).t(), Zt[i], out=GWt[i])
                    if i:
                        torch.mm(Zt[i], Wt[i].t(), out=Gt[i])

        for _ in range(args.epochs):
            t, c = time.perf_counter(), time.process_time()
            epoch_torch()
            out["torch"].append(time.perf_counter() - t)
            out["torch_cpu"].append(time.process_time() - c)
    # a large square product: the machine's peak float32 GEMM rate
    a = rng.standard_normal((1024, 1024)).astype(np.float32)
    c = np.empty_like(a)
    best = min(_timed(lambda: np.matmul(a, a, out=c)) for _ in range(5))
    out["peak_gflops"] = 2 * 1024 ** 3 / best / 1e9
    out["flops_per_epoch"] = steps * sum(2 * 100 * SIZES[i] * SIZES[i + 1] * (3 if i else 2) for i in range(5))
    return out, None, None


def _timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


WORKERS = {"actlab-numpy": worker_actlab_numpy, "actlab-paired": worker_actlab_paired, "actlab-torch": worker_actlab_torch,
           BASELINE_PEER: worker_actlab_numpy, "torch-loop": worker_torch_loop, "torch-tight": worker_torch_tight,
           "sklearn": worker_sklearn, "keras-jax": worker_keras, "keras-torch": worker_keras, "gemm": worker_gemm}


def worker_main(args) -> None:
    data = _load(args)
    load0 = os.getloadavg()[0]
    times, acc, rss0 = WORKERS[args.worker](args, data)
    cpu = bound = None
    if isinstance(times, Timer):
        bound = getattr(times, "bound", None)
        times, cpu = times.wall, times.cpu
    print("BENCH-RESULT " + json.dumps({
        "times": times, "cpu_times": cpu, "bound_times": bound, "accuracy": acc, "rss_before_train_kb": rss0,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "load": [load0, os.getloadavg()[0]],
    }))


# ------------------------------------------------------------------------------------- driver
def _run_worker(python, peer, act, args, env_extra=None):
    cmd = [python, str(Path(__file__).resolve()), "--worker", peer, "--act", act, "--epochs", str(args.epochs),
           "--n-samples", str(args.n_samples)]
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    if args.synthetic:
        cmd.append("--synthetic")
    env = dict(os.environ, **(env_extra or {}))
    if args.threads and shutil.which("taskset"):
        # pinned to that many cores, so that no library's helper threads use more
        cmd = ["taskset", "-c", ",".join(str(c) for c in sorted(os.sched_getaffinity(0))[:args.threads])] + cmd
    if args.threads:
        n = str(args.threads)
        env.update(OMP_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n, MKL_NUM_THREADS=n,
                   XLA_FLAGS=f"--xla_cpu_multi_thread_eigen={'false' if args.threads == 1 else 'true'} "
                             f"intra_op_parallelism_threads={n}")
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout)
    wall = time.perf_counter() - t
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH-RESULT "):
            out = json.loads(line[len("BENCH-RESULT "):])
            out["wall"] = wall
            return out
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}


def _keras_available(python, backend):
    if not python or not Path(python).exists():
        return f"no Keras environment at {python!r} (see bench/README.md to create it)"
    proc = subprocess.run([python, "-c", "import keras, sys; print(keras.__version__, keras.backend.backend())"],
                          capture_output=True, text=True, env=dict(os.environ, KERAS_BACKEND=backend), timeout=300)
    if proc.returncode:
        return "Keras does not import: " + (proc.stderr.strip().splitlines() or ["?"])[-1]
    return None


def _gpu() -> str:
    """CUDA device 0 as torch sees it, or why there is none."""
    try:
        import torch
    except ImportError:
        return "none (torch is not installed)"
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda}, {torch.cuda.device_count()} device(s))"
    return "none (torch sees no CUDA device)"


def machine() -> dict:
    import numpy as np

    info = {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()}
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Model name", "Hypervisor vendor", "L2 cache", "L3 cache"):
                info[key.strip()] = value.strip()
    except OSError:
        pass
    with open("/proc/meminfo") as f:
        info["memory_gb"] = round(int(f.readline().split()[1]) / 1024 ** 2, 1)
    info["numpy"] = np.__version__
    try:
        cfg = np.show_config(mode="dicts")
        info["numpy_blas"] = cfg["Build Dependencies"]["blas"].get("name") + " " + str(
            cfg["Build Dependencies"]["blas"].get("version"))
    except Exception:  # noqa: BLE001
        pass
    for mod in ("torch", "sklearn"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = None
    info["gpu"] = _gpu()
    return info


def _after_warmup(values):
    return values[1:] if len(values) > 1 else values


def summarise(raw: dict, args, skipped: dict) -> dict:
    """Medians after warm-up, ratios against the fastest peer and the GEMM bound (wall and CPU time)."""
    rows = []
    gemm = [r for r in raw.get("gemm", []) if "error" not in r]
    bound: dict = {}
    for clock, suffix in (("wall", ""), ("cpu", "_cpu")):
        per_lib = {}
        for lib in ("numpy", "torch"):
            vals = [t for r in gemm for t in _after_warmup(r["times"].get(lib + suffix) or [])]
            per_lib[lib] = statistics.median(vals) if vals else None
        bound[clock] = {**{f"{lib}_s": v for lib, v in per_lib.items()},
                        "s_per_epoch": min((v for v in per_lib.values() if v), default=None)}
    bound["s_per_epoch"] = bound["wall"]["s_per_epoch"]
    if gemm:
        peak = statistics.median(r["times"]["peak_gflops"] for r in gemm)
        bound["peak_gflops"] = peak
        bound["flops_per_epoch"] = gemm[0]["times"]["flops_per_epoch"]
        bound["flop_s_per_epoch"] = bound["flops_per_epoch"] / (peak * 1e9)
    for act in args.acts:
        for peer in args.peers:
            runs = raw.get(f"{peer}/{act}", [])
            good = [r for r in runs if "error" not in r]
            row = {"peer": peer, "activation": act, "runs": len(good)}
            if not good:
                row["error"] = skipped.get(peer) or next((r["error"] for r in runs if "error" in r), "not run")
                rows.append(row)
                continue
            wall = [t for r in good for t in _after_warmup(r["times"])]
            cpu = [t for r in good for t in _after_warmup(r.get("cpu_times") or [])]
            row.update({
                "s_per_epoch": statistics.median(wall),
                "s_per_epoch_min": min(wall),
                "cpu_s_per_epoch": statistics.median(cpu) if cpu else None,
                "first_epoch_s": statistics.median(r["times"][0] for r in good),
                "accuracy": statistics.median(r["accuracy"] for r in good),
                "peak_rss_mb": max(r["peak_rss_kb"] for r in good) / 1024,
                "train_rss_growth_mb": max(r["peak_rss_kb"] - r["rss_before_train_kb"] for r in good) / 1024,
            })
            pairs = [t / b for r in good if r.get("bound_times")
                     for t, b in zip(_after_warmup(r["times"]), _after_warmup(r["bound_times"]))]
            if pairs:   # actlab-paired: each epoch over the bound epoch just before it, same process
                row.update({"paired_x_gemm_bound": statistics.median(pairs), "paired_min": min(pairs),
                            "paired_max": max(pairs), "pairs": len(pairs)})
            rows.append(row)
    for act in args.acts:
        timed = [r for r in rows if r["activation"] == act and "s_per_epoch" in r]
        if not timed:
            continue
        fastest = min(r["s_per_epoch"] for r in timed)
        cpus = [r["cpu_s_per_epoch"] for r in timed if r.get("cpu_s_per_epoch")]
        for r in timed:
            r["x_fastest"] = r["s_per_epoch"] / fastest
            if bound["s_per_epoch"]:
                r["x_gemm_bound"] = r["s_per_epoch"] / bound["s_per_epoch"]
            if bound.get("flop_s_per_epoch"):
                r["x_peak_flops"] = r["s_per_epoch"] / bound["flop_s_per_epoch"]
            if r.get("cpu_s_per_epoch"):
                r["cpu_x_fastest"] = r["cpu_s_per_epoch"] / min(cpus)
                if bound["cpu"]["s_per_epoch"]:
                    r["cpu_x_gemm_bound"] = r["cpu_s_per_epoch"] / bound["cpu"]["s_per_epoch"]
    return {"rows": rows, "gemm_bound": bound}


def _f(v, fmt):
    return format(v, fmt) if isinstance(v, (int, float)) else "—"


def markdown(result: dict) -> str:
    s = result["summary"]
    b = s["gemm_bound"]
    m = result["machine"]
    st = result["settings"]
    lines = [f"# Benchmark: the notes' MLP on MNIST ({result['started']})", "",
             f"Machine: {m.get('Model name', '?')}, {m['cpus']} CPUs, {m['memory_gb']} GB, {m['platform']}; "
             f"NumPy {m['numpy']} ({m.get('numpy_blas', '?')}), PyTorch {m.get('torch')}, "
             f"scikit-learn {m.get('sklearn')}; GPU: {m['gpu']}.",
             f"Load average (1 min) at start / end: {result['load'][0]:.2f} / {result['load'][1]:.2f} "
             "(the 2 cores were shared with other work; see docs/speed.md).", "",
             f"Work: 784-200-200-200-200-10, {st['n_train']} training samples, batch 100, SGD lr 0.01, "
             f"threads per peer: {st.get('threads', 'default')}, {st['epochs']} epochs per run, {st['rounds']} "
             "runs per peer and activation, alternated. Seconds per epoch: the median over every epoch but "
             "each run's first; wall-clock time and the process's CPU time.", ""]
    if b.get("s_per_epoch"):
        w, c = b["wall"], b["cpu"]
        lines.append(
            "GEMM bound (one epoch's matrix products alone, same shapes, float32, the faster of NumPy's and "
            f"PyTorch's BLAS): wall {_f(w['s_per_epoch'], '.4f')} s (NumPy {_f(w['numpy_s'], '.4f')}, PyTorch "
            f"{_f(w['torch_s'], '.4f')}), CPU {_f(c['s_per_epoch'], '.4f')} s. Peak large-GEMM rate "
            f"{_f(b.get('peak_gflops'), '.0f')} GFLOP/s: the {b.get('flops_per_epoch', 0) / 1e9:.2f} GFLOP of an "
            f"epoch take {_f(b.get('flop_s_per_epoch'), '.4f')} s at that rate.")
        lines.append("")
    lines += ["| activation | peer | s/epoch | x fastest | x GEMM bound | CPU s/epoch | CPU x fastest | "
              "CPU x GEMM bound | x peak-FLOP time | first epoch s | test acc | peak RSS MB | RSS growth MB |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in s["rows"]:
        if "s_per_epoch" not in r:
            lines.append(f"| {r['activation']} | {r['peer']} | — | | | | | | | | | | not run: {r['error']} |")
            continue
        lines.append(
            f"| {r['activation']} | {r['peer']} | {r['s_per_epoch']:.4f} | {r['x_fastest']:.2f} | "
            f"{_f(r.get('x_gemm_bound'), '.2f')} | {_f(r.get('cpu_s_per_epoch'), '.4f')} | "
            f"{_f(r.get('cpu_x_fastest'), '.2f')} | {_f(r.get('cpu_x_gemm_bound'), '.2f')} | "
            f"{_f(r.get('x_peak_flops'), '.2f')} | {r['first_epoch_s']:.3f} | {r['accuracy']:.4f} | "
            f"{r['peak_rss_mb']:.0f} | {r['train_rss_growth_mb']:.1f} |")
    paired = [r for r in s["rows"] if r.get("paired_x_gemm_bound")]
    if paired:
        lines += ["", "Paired (`actlab-paired`: the engine's epochs and the GEMM bound's epochs alternated in one "
                  "process, each engine epoch over the bound epoch before it; median of the pairs after the first):", ""]
        lines += [f"- {r['activation']}: **{r['paired_x_gemm_bound']:.3f}x** the bound (range {r['paired_min']:.3f} to "
                  f"{r['paired_max']:.3f}, {r['pairs']} pairs)" for r in paired]
    lines += ["", "Peak RSS is the whole process (interpreter and libraries included: importing PyTorch or "
              "JAX alone costs a few hundred MB); the growth column is the peak minus the resident size "
              "just before training started. CPU time counts every thread of the process, so with more "
              "than one thread per peer it measures work, not speed.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--act", default="tanh", help=argparse.SUPPRESS)
    p.add_argument("--acts", default="tanh,relu", help="hidden activations (default tanh,relu)")
    p.add_argument("--peers", default=",".join(PEERS), help=f"comma-separated subset of {','.join(PEERS)}")
    p.add_argument("--epochs", type=int, default=6, help="epochs per run; the first is warm-up (default 6)")
    p.add_argument("--rounds", type=int, default=2, help="runs per peer and activation, alternated (default 2)")
    p.add_argument("--n-samples", type=int, default=10000, help="images drawn (80%% train; default 10000)")
    p.add_argument("--data-dir", default=os.environ.get("ACTLAB_DATA_DIR") or
                   (str(HERE.parent.parent / "shared" / "data" / "mnist")
                    if (HERE.parent.parent / "shared" / "data" / "mnist").is_dir() else None))
    p.add_argument("--synthetic", action="store_true", help="random data instead of MNIST (tests)")
    p.add_argument("--keras-python", default=os.environ.get("ACTLAB_KERAS_PYTHON") or next(
                       (str(c) for c in (HERE / ".venv-keras" / "bin" / "python", Path("/tmp/venv-keras/bin/python"))
                        if c.exists()), str(HERE / ".venv-keras" / "bin" / "python")),
                   help="the Python of the Keras 3 + JAX environment (see bench/README.md)")
    p.add_argument("--threads", type=int, default=None,
                   help="threads per peer (OMP/OpenBLAS/MKL/XLA); default: the libraries' own (all cores)")
    p.add_argument("--baseline-src", default=None,
                   help=f"the src/ folder of another actlab checkout: adds the peer {BASELINE_PEER}, its NumPy engine")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per run")
    p.add_argument("--out", default=str(HERE / "results"), help="where to write bench.json and bench.md")
    p.add_argument("--name", default="bench", help="file name stem of the results")
    args = p.parse_args(argv)
    if args.worker:
        worker_main(args)
        return 0
    args.acts = [a for a in args.acts.split(",") if a]
    args.peers = [x for x in args.peers.split(",") if x]
    for x in args.peers:
        if x not in PEERS:
            p.error(f"unknown peer {x!r}; valid: {', '.join(PEERS)}")
    for a in args.acts:
        if a not in ("tanh", "relu"):
            p.error(f"activation {a!r}: the peers are compared on tanh and relu only")
    if args.epochs < 2:
        p.error("--epochs must be at least 2 (the first is warm-up)")
    if args.baseline_src:
        if not (Path(args.baseline_src) / "actlab" / "__init__.py").is_file():
            p.error(f"--baseline-src {args.baseline_src!r} holds no actlab package (give a checkout's src folder)")
        args.peers.append(BASELINE_PEER)
    skipped = {}
    for peer in args.peers:
        if peer in KERAS_PEERS:
            why = _keras_available(args.keras_python, KERAS_PEERS[peer])
            if why:
                skipped[peer] = why
    jobs = [(peer, act) for act in args.acts for peer in args.peers if peer not in skipped]
    jobs.append(("gemm", "tanh"))
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_start = os.getloadavg()[0]
    raw: dict[str, list] = {}
    t0 = time.perf_counter()
    for r in range(args.rounds):
        shift = r % len(jobs)
        for peer, act in jobs[shift:] + jobs[:shift]:   # rotated every round
            python = args.keras_python if peer in KERAS_PEERS else sys.executable
            env = {"KERAS_BACKEND": KERAS_PEERS[peer]} if peer in KERAS_PEERS else None
            if peer == BASELINE_PEER:
                env = {"PYTHONPATH": os.pathsep.join(
                    [str(Path(args.baseline_src).resolve())] + [p for p in [os.environ.get("PYTHONPATH")] if p])}
            out = _run_worker(python, peer, act, args, env)
            key = "gemm" if peer == "gemm" else f"{peer}/{act}"
            raw.setdefault(key, []).append(out)
            msg = out.get("error") or (f"{statistics.median(out['times'][1:]):.4f} s/epoch "
                                       f"(CPU {statistics.median(out['cpu_times'][1:]):.4f}), acc {out['accuracy']:.4f}"
                                       if peer != "gemm" else f"numpy {statistics.median(out['times']['numpy'][1:]):.4f} s")
            print(f"[round {r + 1}/{args.rounds}] {key:22s} {msg}", flush=True)
    result = {"started": started, "seconds": time.perf_counter() - t0, "load": [load_start, os.getloadavg()[0]],
              "machine": machine(),
              "settings": {"epochs": args.epochs, "rounds": args.rounds, "n_samples": args.n_samples,
                           "n_train": args.n_samples - round(args.n_samples * 0.2), "acts": args.acts,
                           "peers": args.peers, "baseline_src": args.baseline_src, "synthetic": args.synthetic, "batch_size": 100,
                           "threads": args.threads or "default (all cores)",
                           "learning_rate": 0.01},
              "skipped": skipped, "raw": raw}
    result["summary"] = summarise(raw, args, skipped)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(result, indent=1))
    (out / f"{args.name}.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
