"""The Ray executor on a real Ray cluster on this machine (``ray.cluster_utils.Cluster``).

The same compare on Ray and on the local pool gives identical runs; a worker node killed
mid-sweep and a driver killed with SIGKILL mid-sweep (then restarted) both end with every
run done exactly once. Tiny runs; the whole file stays within a few minutes.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time

import pytest

ray = pytest.importorskip("ray", reason="the Ray executor's tests need Ray: pip install 'actlab[ray]'")

from actlab.store import Store  # noqa: E402
from actlab.studies.compare import CompareSpec, compare_tasks, run_compare  # noqa: E402
from actlab.studies.executors.ray_executor import RayExecutor, _reload_ray_config  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.timeout(240)]

SPEC = dict(activations="relu,tanh,elu", seeds=2, dataset="digits", hidden="32", epochs=10, batch_size=64,
            learning_rate=0.1, name="ray-test")
HISTORY = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy")
FAST_FAILURE_DETECTION = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 500,
                          "health_check_failure_threshold": 3}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A head node without CPUs (the driver's node) and two worker nodes with one CPU each."""
    from ray.cluster_utils import Cluster

    saved = {k: os.environ.get(k) for k in ("RAY_USAGE_STATS_ENABLED", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    os.environ.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    _reload_ray_config()
    c = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "object_store_memory": 100 * 2 ** 20, "include_dashboard": False,
        "_system_config": FAST_FAILURE_DETECTION})
    workers = [c.add_node(num_cpus=1, object_store_memory=80 * 2 ** 20) for _ in range(2)]
    c.wait_for_nodes()
    try:
        yield c, workers
    finally:
        if ray.is_initialized():
            ray.shutdown()
        c.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        _reload_ray_config()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The compare on the local pool (two workers: one BLAS thread each, as Ray's tasks)."""
    store = Store(tmp_path_factory.mktemp("local") / "r.sqlite")
    result = run_compare(CompareSpec(**SPEC), store=store, workers=2, progress=False)
    return {r["key"]: r for r in result.records}


def _same_runs(records, reference):
    assert {r["key"] for r in records} == set(reference)
    for r in records:
        ref = reference[r["key"]]
        assert r["status"] == ref["status"] == "done"
        for k in HISTORY:  # identical, not close: the same computation on other processes
            assert r["history"][k] == ref["history"][k], (r["key"], k)


def test_ray_and_local_give_identical_runs(cluster, reference, tmp_path):
    c, _ = cluster
    store = Store(tmp_path / "r.sqlite")
    with RayExecutor(address=c.address) as ex:
        result = run_compare(CompareSpec(**SPEC), store=store, progress=False, executor=ex)
    _same_runs(result.records, reference)
    assert all(r["attempts"] == 1 for r in store.runs())


class _KillANode(RayExecutor):
    """Kills a worker node (SIGKILL, no grace) as soon as a task has started on it; counts task starts."""

    def __init__(self, cluster, node, **kw):
        super().__init__(**kw)
        self.cluster, self.node, self.starts, self.killed = cluster, node, {}, False

    def _drain(self, sink, events):
        class Counting:
            def started(inner, key):
                self.starts[key] = self.starts.get(key, 0) + 1
                events.started(key)

            def epoch(inner, *a):
                events.epoch(*a)

        super()._drain(sink, Counting())
        victims = [pid for node, pid in self.placements.values() if node == self.node.node_id]
        if not self.killed and victims:
            self.cluster.remove_node(self.node, allow_graceful=False)
            for pid in victims:  # the node's worker processes go with it (the node is lost, not drained)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.killed = True


def test_a_worker_node_killed_mid_sweep(cluster, reference, tmp_path):
    c, workers = cluster
    store = Store(tmp_path / "r.sqlite")
    with _KillANode(c, workers[0], address=c.address, max_retries=3) as ex:
        result = run_compare(CompareSpec(**SPEC), store=store, progress=False, executor=ex)
    assert ex.killed
    assert max(ex.starts.values()) >= 2, ex.starts   # a task lost with its node ran again
    _same_runs(result.records, reference)
    runs = store.runs()
    assert len(runs) == len(reference) and all(r["attempts"] == 1 for r in runs)  # written once each
    workers[0] = c.add_node(num_cpus=1, object_store_memory=80 * 2 ** 20)  # the next test has two again
    c.wait_for_nodes()


def test_a_driver_killed_mid_sweep_resumes_from_the_store(cluster, reference, tmp_path):
    c, _ = cluster
    path = tmp_path / "r.sqlite"
    cmd = [sys.executable, "-c", "from actlab.cli import main; main()", "compare", "--executor", "ray",
           "--address", c.address, "--store", str(path), "--out", str(tmp_path / "report"), "--no-progress",
           "--dataset", SPEC["dataset"], "--activations", SPEC["activations"], "--seeds", str(SPEC["seeds"]),
           "--hidden", SPEC["hidden"], "--epochs", str(SPEC["epochs"]), "--batch-size", str(SPEC["batch_size"]),
           "--lr", str(SPEC["learning_rate"]), "--name", SPEC["name"]]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()
            if path.exists() and Store(path).runs(status="done"):
                break
            time.sleep(0.05)
        else:
            pytest.fail("no run finished in time")
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    store = Store(path)
    before = {r["key"] for r in store.runs(status="done")}
    assert 0 < len(before) < len(reference), "the driver was not killed mid-sweep"
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stderr
    runs = store.runs()
    _same_runs(runs, reference)
    assert len(runs) == len(reference)
    for r in runs:   # finished runs were not run again
        assert r["attempts"] == 1 or r["key"] not in before
    assert [Store.key(t.config) for t in compare_tasks(CompareSpec(**SPEC).resolved())] != []


def test_sweep_on_a_local_ray_instance_matches_the_local_pool(tmp_path):
    """``actlab sweep spec.toml --executor ray`` with no address: a local Ray instance of its own."""
    spec = tmp_path / "s.toml"
    spec.write_text('[sweep]\nname = "ray-sweep"\nepochs = 2\nseeds = 1\nhidden = "8"\nbatch_size = 200\n'
                    '[grid]\nactivation = ["relu", "tanh"]\nlr = [0.05, 0.1]\n')
    cmd = [sys.executable, "-c", "from actlab.cli import main; main()", "sweep", str(spec), "--no-progress"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    runs = {}
    for executor in ("ray", "local"):
        store = tmp_path / f"{executor}.sqlite"
        proc = subprocess.run(cmd + ["--executor", executor, "--workers", "2", "--store", str(store), "--out",
                                     str(tmp_path / executor)], capture_output=True, text=True, timeout=180, env=env)
        assert proc.returncode == 0, proc.stderr
        runs[executor] = {r["key"]: r for r in Store(store).runs()}
        if executor == "ray":
            assert "running on ray, local instance: 2 CPUs, object store 512 MiB" in proc.stderr
    assert len(runs["ray"]) == 4
    _same_runs(list(runs["ray"].values()), runs["local"])


def test_torch_runs_go_to_ray_as_one_ensemble_task(cluster, tmp_path):
    pytest.importorskip("torch")
    import numpy as np

    from actlab.studies.runner import Task, make_config, run_tasks, train_run

    c, _ = cluster
    tasks = [Task(make_config(study="e", activation=a, seed=s, hidden="16", epochs=2, batch_size=64, engine="torch"),
                  "e") for a in ("relu", "tanh") for s in (0, 1)]
    local = run_tasks(tasks, train_run, Store(tmp_path / "local.sqlite"), workers=1, progress=False)
    with RayExecutor(address=c.address) as ex:
        remote = run_tasks(tasks, train_run, Store(tmp_path / "ray.sqlite"), progress=False, executor=ex)
        head = ray.get_runtime_context().get_node_id()
    assert [r["status"] for r in remote] == ["done"] * 4, remote[0]["error"]
    # one task per dataset (each seed has its split) trains both activations, on a worker node
    by_seed = {s: {ex.placements[r["key"]] for r in remote if r["config"]["seed"] == s} for s in (0, 1)}
    assert all(len(p) == 1 for p in by_seed.values()), by_seed
    assert all(node != head for p in by_seed.values() for node, _ in p)
    for a, b in zip(local, remote):  # float32 on other threads: equal to rounding
        np.testing.assert_allclose(b["history"]["loss"], a["history"]["loss"], rtol=1e-5)
        np.testing.assert_allclose(b["history"]["val_accuracy"], a["history"]["val_accuracy"], atol=1.5 / 360)


PLUGIN = '''
import numpy as np
from actlab.activations import register
register("ray_test_xtanh", lambda x: x * np.tanh(x), lambda x: np.tanh(x) + x * (1 - np.tanh(x) ** 2))
'''


def test_a_plugin_activation_runs_on_the_workers(cluster, tmp_path):
    """The workers never saw the user's file: the run configuration carries its text."""
    plugins = pytest.importorskip("actlab.activations.plugins",
                                  reason="plugin activations travel in run configurations (issue 9 work)")
    c, _ = cluster
    path = tmp_path / "xtanh.py"
    path.write_text(PLUGIN)
    plugins.load_plugin(path)
    spec = dict(SPEC, activations="relu,ray_test_xtanh", seeds=1, name="ray-plugin")
    # two local workers: one BLAS thread each, as the Ray tasks (so the same float32 sums)
    local = run_compare(CompareSpec(**spec), store=Store(tmp_path / "local.sqlite"), workers=2, progress=False)
    with RayExecutor(address=c.address) as ex:
        remote = run_compare(CompareSpec(**spec), store=Store(tmp_path / "ray.sqlite"), progress=False, executor=ex)
    mine = [r for r in remote.records if r["config"]["model"]["activation"]["name"] == "ray_test_xtanh"]
    assert len(mine) == 1 and mine[0]["status"] == "done", mine[0].get("error")
    _same_runs(remote.records, {r["key"]: r for r in local.records})
