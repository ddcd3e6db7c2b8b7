"""The results store and the runner: keys, claims, WAL, concurrent writers, resume after a kill."""
from __future__ import annotations

import copy
import hashlib
import json
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import actlab
from actlab.store import Store
from actlab.studies.runner import Task, make_config, run_tasks, train_run

CONFIG = {
    "study": "s",
    "seed": 3,
    "data": {"name": "digits", "n_samples": None, "scale": True, "seed": 3},
    "model": {"hidden": "200x4", "activation": {"name": "leaky_relu", "alpha": 0.01},
              "init": "glorot_uniform", "dtype": "float32"},
    "train": {"optimizer": {"name": "sgd", "learning_rate": 0.01}, "epochs": 5, "batch_size": 100},
}


def _leaves(obj, path=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, path + (k,))
    else:
        yield path, obj


def _set(obj, path, value):
    for k in path[:-1]:
        obj = obj[k]
    obj[path[-1]] = value


def _reversed_dict(obj):
    if isinstance(obj, dict):
        return {k: _reversed_dict(obj[k]) for k in reversed(list(obj))}
    return obj


# -- keys -----------------------------------------------------------------------------------------
def test_key_is_sha256_of_sorted_compact_json_with_version_and_engine():
    # independent oracle: the canonical text written out by hand
    cfg = {"seed": 1, "model": {"hidden": "8", "activation": {"name": "relu"}}, "lr": 0.1}
    text = ('{"engine":"numpy","lr":0.1,"model":{"activation":{"name":"relu"},"hidden":"8"},'
            f'"seed":1,"version":"{actlab.__version__}"}}')
    assert Store.key(cfg) == hashlib.sha256(text.encode()).hexdigest()


def test_key_stable_under_dict_order_and_numpy_scalars():
    a = copy.deepcopy(CONFIG)
    b = _reversed_dict(copy.deepcopy(CONFIG))
    assert list(b) != list(a)
    assert Store.key(a) == Store.key(b)
    c = copy.deepcopy(CONFIG)
    c["seed"] = np.int64(3)
    c["train"]["optimizer"]["learning_rate"] = np.float64(0.01)
    assert Store.key(c) == Store.key(a)


def test_key_changes_with_every_value_but_study_and_runtime():
    base = Store.key(CONFIG)
    seen = {base}
    for path, value in _leaves(CONFIG):
        cfg = copy.deepcopy(CONFIG)
        if isinstance(value, bool):
            new = not value
        elif isinstance(value, (int, float)):
            new = value + 1 if isinstance(value, int) else value * 1.0000001
        elif value is None:
            new = 7
        else:
            new = value + "x"
        _set(cfg, path, new)
        k = Store.key(cfg)
        if path == ("study",):
            assert k == base
        else:
            assert k not in seen, path
            seen.add(k)
    for field, value in (("version", "9.9"), ("engine", "torch")):
        assert Store.key({**CONFIG, field: value}) != base
    assert Store.key({**CONFIG, "runtime": {"data_dir": "/x"}}) == base
    with pytest.raises(ValueError, match="non-finite"):
        Store.key({**CONFIG, "seed": float("nan")})


# -- claims and records -------------------------------------------------------------------------
def test_claim_finish_cycle(tmp_path):
    s = Store(tmp_path / "r.sqlite")
    k = Store.key(CONFIG)
    assert s.get(k) is None
    assert s.claim(k, CONFIG) is True
    assert s.get(k)["status"] == "running"
    assert s.claim(k, CONFIG) is False          # running here already
    s.finish(k, "failed", error="boom")
    assert s.get(k)["error"] == "boom"
    assert s.claim(k, CONFIG) is True           # failed runs are retried
    assert s.get(k)["error"] is None and s.get(k)["attempts"] == 2
    s.finish(k, "done", history={"loss": np.array([0.5, 0.25])}, diagnostics={"x": 1}, seconds=1.5)
    rec = s.get(k)
    assert rec["status"] == "done" and rec["history"] == {"loss": [0.5, 0.25]}
    assert rec["config"]["engine"] == "numpy" and rec["config"]["version"] == actlab.__version__
    assert rec["seconds"] == 1.5
    assert s.claim(k, CONFIG) is False          # a result is never recomputed
    s.tag(k, "a")
    s.tag(k, "b")
    s.tag(k, "a")
    assert s.tags(k) == ["a", "b"]
    assert [r["key"] for r in s.runs(study="b")] == [k]
    assert s.runs(study="zzz") == [] and s.runs(status="failed") == []
    assert s.find(k[:10])["key"] == k
    with pytest.raises(ValueError, match="diverged_epoch"):
        s.finish(k, "diverged")
    with pytest.raises(ValueError, match="unknown run status 'ok'"):
        s.finish(k, "ok")


def test_wal_mode_is_on(tmp_path):
    path = tmp_path / "r.sqlite"
    s = Store(path)
    s.claim("a" * 64, {"x": 1})
    # an independent connection sees the persistent journal mode
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert (tmp_path / "r.sqlite-wal").exists()


def _claim_and_exit(path, key):
    Store(path).claim(key, {"k": key})
    os._exit(0)


def _claim_and_sleep(path, key, ready):
    Store(path).claim(key, {"k": key})
    ready.set()
    time.sleep(60)


def test_claim_of_a_dead_or_live_worker(tmp_path):
    path = str(tmp_path / "r.sqlite")
    ctx = multiprocessing.get_context("spawn")
    p = ctx.Process(target=_claim_and_exit, args=(path, "k1"))
    p.start()
    p.join(30)
    s = Store(path)
    assert s.get("k1")["status"] == "running" and s.get("k1")["pid"] == p.pid
    assert s.claim("k1", {"k": "k1"}) is True   # its worker is gone: claimed again
    ready = ctx.Event()
    q = ctx.Process(target=_claim_and_sleep, args=(path, "k2", ready))
    q.start()
    try:
        assert ready.wait(30)
        assert s.claim("k2", {"k": "k2"}) is False  # alive: not taken
    finally:
        q.kill()
        q.join(10)
    assert s.claim("k2", {"k": "k2"}) is True


def _writer(path, worker, n, out):
    s = Store(path)
    won = []
    for i in range(n):
        key = f"own-{worker}-{i}"
        assert s.claim(key, {"w": worker, "i": i})
        s.tag(key, "concurrent")
        s.finish(key, "done", history={"i": [i]})
        shared = f"shared-{i}"
        if s.claim(shared, {"i": i}):
            won.append(shared)
            s.finish(shared, "done", history={"by": [worker]})
    out.put((worker, won))


def test_concurrent_writers_lose_nothing(tmp_path):
    path = str(tmp_path / "r.sqlite")
    Store(path)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    n, workers = 30, 3
    procs = [ctx.Process(target=_writer, args=(path, w, n, out)) for w in range(workers)]
    for p in procs:
        p.start()
    won = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    s = Store(path)
    assert len(s.runs(study="concurrent")) == n * workers
    assert all(r["status"] == "done" for r in s.runs())
    # each shared run was claimed by exactly one process
    all_won = [k for w in won.values() for k in w]
    assert sorted(all_won) == sorted(f"shared-{i}" for i in range(n))
    for k in all_won:
        by = s.get(k)["history"]["by"][0]
        assert k in won[by]


# -- the runner ------------------------------------------------------------------------------------
FNS = textwrap.dedent('''
    import os, signal, time

    def fake_run(config):
        with open(config["counter"], "a") as fh:
            fh.write(f"{config['seed']}\\n")
        if config.get("kill_at") == config["seed"] and os.path.exists(config["armed"]):
            os.killpg(os.getpgid(0), signal.SIGKILL)   # the whole study dies at once
        if config.get("exit_at") == config["seed"]:
            os._exit(3)                                  # one worker dies
        if config.get("raise_at") == config["seed"]:
            raise RuntimeError(f"boom in seed {config['seed']}")
        time.sleep(config.get("sleep", 0.0))
        return {"status": "done", "history": {"epoch": [1], "val_accuracy": [config["seed"] / 10]},
                "diagnostics": {}, "diverged_epoch": None, "seconds": 0.0}
''')


@pytest.fixture
def fns(tmp_path, monkeypatch):
    (tmp_path / "actlab_test_fns.py").write_text(FNS)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib
    return importlib.import_module("actlab_test_fns")


def _counts(path):
    if not os.path.exists(path):
        return {}
    seeds = [int(line) for line in open(path).read().split()]
    return {s: seeds.count(s) for s in set(seeds)}


def _tasks(tmp_path, n, **extra):
    return [Task({"seed": i, "counter": str(tmp_path / "counter.txt"), "armed": str(tmp_path / "armed"),
                  **extra}, "resume") for i in range(n)]


def test_a_killed_study_resumes_without_redoing_finished_runs(tmp_path, fns):
    store_path = tmp_path / "r.sqlite"
    (tmp_path / "armed").write_text("1")
    n = 8
    script = textwrap.dedent(f'''
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from actlab.store import Store
        from actlab.studies.runner import Task, run_tasks
        from actlab_test_fns import fake_run
        tasks = [Task({{"seed": i, "counter": {str(tmp_path / "counter.txt")!r}, "armed": {str(tmp_path / "armed")!r},
                       "kill_at": 5, "sleep": 0.3}}, "resume") for i in range({n})]
        run_tasks(tasks, fake_run, Store({str(store_path)!r}), workers=2, progress=False)
    ''')
    proc = subprocess.run([sys.executable, "-c", script], start_new_session=True, timeout=120,
                          capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    store = Store(store_path)
    done_before = {r["config"]["seed"] for r in store.runs(status="done")}
    assert 0 < len(done_before) < n
    assert 5 not in done_before
    first = _counts(tmp_path / "counter.txt")
    os.remove(tmp_path / "armed")

    tasks = _tasks(tmp_path, n, kill_at=5, sleep=0.3)
    recs = run_tasks(tasks, fns.fake_run, store, workers=2, progress=False)
    assert [r["status"] for r in recs] == ["done"] * n
    assert [r["config"]["seed"] for r in recs] == list(range(n))
    after = _counts(tmp_path / "counter.txt")
    for seed in range(n):
        again = after.get(seed, 0) - first.get(seed, 0)
        assert again == (0 if seed in done_before else 1), (seed, done_before, first, after)
    # a third run computes nothing
    run_tasks(tasks, fns.fake_run, store, workers=2, progress=False)
    assert _counts(tmp_path / "counter.txt") == after


def test_a_raising_run_is_failed_and_the_others_finish_then_it_is_retried(tmp_path, fns):
    store = Store(tmp_path / "r.sqlite")
    tasks = _tasks(tmp_path, 4, raise_at=2)
    recs = run_tasks(tasks, fns.fake_run, store, workers=1, progress=False)
    assert [r["status"] for r in recs] == ["done", "done", "failed", "done"]
    assert "RuntimeError: boom in seed 2" in recs[2]["error"]
    assert recs[2]["history"] is None
    run_tasks(tasks, fns.fake_run, store, workers=1, progress=False)
    assert _counts(tmp_path / "counter.txt") == {0: 1, 1: 1, 2: 2, 3: 1}


def test_a_dying_worker_fails_only_its_run(tmp_path, fns):
    store = Store(tmp_path / "r.sqlite")
    tasks = _tasks(tmp_path, 4, exit_at=1, sleep=0.2)
    recs = run_tasks(tasks, fns.fake_run, store, workers=2, progress=False)
    assert [r["status"] for r in recs] == ["done", "failed", "done", "done"]
    assert "died" in recs[1]["error"]
    assert [r["history"]["val_accuracy"] for i, r in enumerate(recs) if i != 1] == [[0.0], [0.2], [0.3]]


def test_a_diverging_run_is_recorded_with_its_epoch(tmp_path):
    from actlab import datasets
    from actlab.engine import DivergedError, build_mlp
    from actlab.engine.optimizers import SGD

    # a linear net on the raw 0..16 pixels at this rate blows up to inf (a relu net would die instead)
    cfg = make_config(study="div", dataset="digits", scale="raw", hidden="64x2", activation="linear",
                      learning_rate=0.05, epochs=3, batch_size=32, seed=0)
    store = Store(tmp_path / "r.sqlite")
    rec, = run_tasks([Task(cfg, "div")], train_run, store, progress=False)
    assert rec["status"] == "diverged"
    # oracle: the same training done directly on the engine
    d = datasets.load("digits", scale="raw", seed=0)
    model = build_mlp(64, "64x2", "linear", 10, seed=0)
    model.compile(optimizer=SGD(learning_rate=0.05), loss="categorical_crossentropy", metrics=["accuracy"])
    y_train, y_test = d.one_hot()
    with pytest.raises(DivergedError) as exc, np.errstate(all="ignore"):
        model.fit(d.x_train, y_train, epochs=3, batch_size=32, validation_data=(d.x_test, y_test), verbose=0)
    assert rec["diverged_epoch"] == exc.value.epoch + 1
    assert len(rec["history"]["epoch"]) == exc.value.epoch
    assert store.claim(rec["key"], cfg) is False  # a result


def test_train_run_history_matches_the_engine(tmp_path):
    from actlab import datasets
    from actlab.engine import build_mlp
    from actlab.engine.optimizers import SGD

    cfg = make_config(study="t", dataset="digits", hidden="16", activation="tanh", epochs=2,
                      batch_size=50, learning_rate=0.1, seed=4)
    rec, = run_tasks([Task(cfg, "t")], train_run, Store(tmp_path / "r.sqlite"), progress=False)
    d = datasets.load("digits", seed=4)
    model = build_mlp(64, "16", "tanh", 10, seed=4)
    model.compile(optimizer=SGD(learning_rate=0.1), loss="categorical_crossentropy", metrics=["accuracy"])
    y_train, y_test = d.one_hot()
    h = model.fit(d.x_train, y_train, epochs=2, batch_size=50, validation_data=(d.x_test, y_test), verbose=0)
    assert rec["status"] == "done"
    assert rec["history"]["epoch"] == [1, 2]
    np.testing.assert_allclose(rec["history"]["val_accuracy"], h.history["val_accuracy"], rtol=0, atol=0)
    np.testing.assert_allclose(rec["history"]["loss"], h.history["loss"], rtol=1e-12)
    assert len(rec["history"]["seconds"]) == 2 and all(t > 0 for t in rec["history"]["seconds"])


CALLS: list[int] = []


class _CountingTorch:
    """The torch backend on the CPU, counting how many runs each call trains."""

    name, trains_together = "torch", True

    def __init__(self):
        from actlab.backends import get_backend

        self.inner = get_backend("torch")

    def build(self, config, data):
        return self.inner.build(config, data)

    def fit(self, model, x, y, **kw):
        return self.inner.fit(model, x, y, **kw)

    def train(self, runs, on_epoch=None):
        CALLS.append(len(runs))
        return self.inner.train(runs, on_epoch=on_epoch, device="cpu")


def test_torch_runs_go_to_the_ensemble_engine_and_match_numpy(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    from actlab import backends

    monkeypatch.setitem(backends._REGISTRY, "torch", _CountingTorch())
    CALLS.clear()
    store = Store(tmp_path / "r.sqlite")
    cfgs = [make_config(study="e", activation=a, seed=s, hidden="16", epochs=2, batch_size=64, engine=engine)
            for engine in ("numpy", "torch") for a in ("relu", "tanh") for s in (0, 1)]
    recs = run_tasks([Task(c, "e") for c in cfgs], train_run, store, workers=1, progress=False)
    assert CALLS == [4]                          # the four torch runs, as one call
    assert all(r["status"] == "done" for r in recs)
    for np_rec, torch_rec in zip(recs[:4], recs[4:]):
        np.testing.assert_allclose(torch_rec["history"]["loss"], np_rec["history"]["loss"], rtol=1e-4)
    run_tasks([Task(c, "e") for c in cfgs], train_run, store, workers=1, progress=False)
    assert CALLS == [4]                          # nothing recomputed
