"""The Ray executor: a study's runs as Ray tasks, on a local Ray instance or an existing cluster.

``pip install 'actlab[ray]'``. Without ``address`` it starts a local instance for this
process only: ``num_cpus`` = the workers asked for (default the CPU count), no dashboard, no
usage statistics, its files under ``<tmp>/actlab-ray-<uid>``, its object store bounded
(:data:`OBJECT_STORE_MB`), and token authentication on (what Ray >= 2.59 does for a local
instance) with a fresh random token that lives only in this process's environment (and its
children's), so no token file is written. With ``address`` it connects to that cluster as
it is configured (``RAY_AUTH_TOKEN`` etc. are the cluster's business).

What travels: each distinct dataset is put into the object store once per call and handed
to the tasks by reference (workers never read the driver's files); the run configuration
(a plugin activation's source included) goes with each task; results come back as each task
ends (``ray.wait``) and the driver writes them to the store, the only writer. A task lost
with its node is retried (``max_retries``); its run key makes it idempotent: the driver
writes one outcome per run. Each task takes one CPU and pins BLAS to one thread (the local
pool's rule). Torch-engine runs go as ensembles (:meth:`RayExecutor.run_ensembles`): one task per
group of same-data, same-architecture runs, with ``num_gpus=1`` when the cluster has GPUs.
Epoch events travel through a small actor on the driver's node.
"""
from __future__ import annotations

import itertools
import os
import secrets
import tempfile
import time
from collections.abc import Callable

from ...store import canonical_json
from . import Events, Executor, Job, Outcome, execute_batch, execute_run, small_logs

__all__ = ["RayExecutor", "INSTALL_HINT", "OBJECT_STORE_MB", "import_ray"]

INSTALL_HINT = "the ray executor needs Ray, which is not installed: pip install 'actlab[ray]'"
OBJECT_STORE_MB = 512          # a local instance's object store (Ray spills to its temp dir beyond it)
DRAIN_SECONDS = 0.1            # how often the driver collects epoch events
ENSEMBLE_MEMBERS = 64          # runs per ensemble task (the torch engine's default group size)
WINDOW_PER_CPU, WINDOW_MIN = 2, 16   # tasks in flight per cluster CPU (and at least)
EPOCH_EVENT_SECONDS = 0.5      # a task reports epochs at most this often (and its last one always)


def import_ray():
    """``ray``, or ``ValueError`` saying how to install it."""
    try:
        import ray
    except ModuleNotFoundError as exc:
        if exc.name != "ray":
            raise
        raise ValueError(INSTALL_HINT) from None
    return ray


def _reload_ray_config() -> None:
    """Make Ray read RAY_AUTH_* again (it reads them once, at import; ray.init does the same)."""
    try:
        from ray._raylet import AuthenticationTokenLoader, Config

        Config.initialize("")
        AuthenticationTokenLoader.instance().reset_cache()
    except (ImportError, AttributeError):
        pass


def temp_dir() -> str:
    return os.path.join(tempfile.gettempdir(), f"actlab-ray-{os.getuid() if hasattr(os, 'getuid') else 'user'}")


class RayExecutor(Executor):
    """Runs each job as a Ray task (see the module docstring).

    Args:
        address: a cluster's address (``"10.0.0.5:6379"``, ``"auto"``); None starts a local instance.
        workers: CPUs of the local instance (default all); ignored with ``address``.
        max_retries: how often a task lost with its worker or node is run again.
        object_store_mb: the local instance's object store, in MiB.
    """

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None, max_retries: int = 3,
                 object_store_mb: int = OBJECT_STORE_MB):
        if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        self.address, self.workers, self.max_retries = address, workers, max_retries
        self.object_store_mb = int(object_store_mb)
        self._owns_connection = False
        self._sink = None
        self._env_set: list[str] = []
        self.placements: dict[str, tuple] = {}  # run key -> (Ray node id, worker pid) of its latest attempt
        self.ray = import_ray()

    def describe(self) -> str:
        if self.address is not None:
            return f"ray cluster at {self.address}"
        return (f"ray, local instance: {self.workers or os.cpu_count()} CPUs, object store "
                f"{self.object_store_mb} MiB, temp dir {temp_dir()}")

    # -- connection ---------------------------------------------------------------------------
    def _setenv(self, name: str, value: str) -> None:
        if name not in os.environ:
            self._env_set.append(name)
            os.environ[name] = value

    def connect(self) -> None:
        import logging

        ray = self.ray
        if ray.is_initialized():
            return
        self._setenv("RAY_USAGE_STATS_ENABLED", "0")
        if self.address is None:
            self._setenv("RAY_AUTH_MODE", "token")
            if os.environ["RAY_AUTH_MODE"] == "token":
                self._setenv("RAY_AUTH_TOKEN", secrets.token_hex(32))
            _reload_ray_config()
            os.makedirs(temp_dir(), exist_ok=True)
            # "local": a new instance even when another one runs on this machine (never someone else's)
            ray.init(address="local", num_cpus=self.workers or os.cpu_count() or 1, include_dashboard=False,
                     _temp_dir=temp_dir(), object_store_memory=self.object_store_mb * 2 ** 20,
                     log_to_driver=False, logging_level=logging.WARNING)
        else:
            ray.init(address=self.address, log_to_driver=False, logging_level=logging.WARNING)
        self._owns_connection = True

    def close(self) -> None:
        if self._owns_connection:
            self._sink = None
            self.ray.shutdown()
            self._owns_connection = False
        for name in self._env_set:
            os.environ.pop(name, None)
        if self._env_set:
            _reload_ray_config()
        self._env_set.clear()

    def _event_sink(self):
        if self._sink is None:
            ray = self.ray
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            # on the driver's node: it lives and dies with the driver, not with a worker node
            here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)
            self._sink = ray.remote(num_cpus=0, scheduling_strategy=here)(_Sink).remote()
        return self._sink

    # -- running --------------------------------------------------------------------------------
    def run(self, jobs: list[Job], fn: Callable[..., dict], events: Events) -> None:
        ray = self.ray
        self.connect()
        sink = self._event_sink()
        task = ray.remote(_ray_run).options(num_cpus=1, max_retries=self.max_retries, retry_exceptions=False)
        refs = self._datasets(jobs)
        # at most a few tasks per CPU in flight: the scheduler's queue and ray.wait's list stay short
        window = max(WINDOW_MIN, WINDOW_PER_CPU * int(ray.cluster_resources().get("CPU", 1)))
        waiting = iter(jobs)

        def submit(n: int) -> dict:
            out = {}
            for job in itertools.islice(waiting, n):
                out[task.remote(fn, job.config, job.key, refs.get(job.key), sink)] = [job.key]
            return out

        self._collect(submit(window), sink, events, submit)

    def run_ensembles(self, groups: list[list[Job]], batch_fn: Callable[..., list], events: Events) -> None:
        """One Ray task per group of at most :data:`ENSEMBLE_MEMBERS` runs on one dataset and
        architecture: on a GPU (``num_gpus=1``) when the cluster has GPUs, else on one CPU."""
        ray = self.ray
        self.connect()
        sink = self._event_sink()
        gpus = ray.cluster_resources().get("GPU", 0) > 0
        task = ray.remote(_ray_run_batch).options(num_gpus=1 if gpus else 0, num_cpus=0 if gpus else 1,
                                                  max_retries=self.max_retries, retry_exceptions=False)
        chunks: dict[str, list[Job]] = {}
        for job in (j for group in groups for j in group):
            shape = canonical_json({"data": job.config.get("data"), "hidden": job.config.get("model", {}).get("hidden")})
            chunks.setdefault(shape, []).append(job)
        refs = self._datasets([j for group in groups for j in group])
        outstanding = {}
        for same in chunks.values():
            for start in range(0, len(same), ENSEMBLE_MEMBERS):
                part = same[start:start + ENSEMBLE_MEMBERS]
                ref = task.remote(batch_fn, [j.config for j in part], [j.key for j in part],
                                  [refs.get(j.key) for j in part], sink)
                outstanding[ref] = [j.key for j in part]
        self._collect(outstanding, sink, events)

    def _datasets(self, jobs: list[Job]) -> dict:
        """Run key -> object ref of its dataset; each distinct dataset is put into the object store once."""
        from ..runner import load_data

        by_data: dict[str, object] = {}
        out = {}
        for job in jobs:
            data = job.config.get("data")
            if isinstance(data, dict):
                text = canonical_json(data)
                if text not in by_data:
                    by_data[text] = self.ray.put(load_data(data, job.config.get("runtime")))
                out[job.key] = by_data[text]
        return out

    def _collect(self, outstanding: dict, sink, events: Events, more: Callable[[int], dict] | None = None) -> None:
        """Wait for the tasks (``ref -> run keys``), reporting each outcome as it arrives; ``more(n)``
        submits up to ``n`` further tasks as tasks end."""
        ray = self.ray
        last_drain = 0.0
        try:
            while outstanding:
                ready, rest = ray.wait(list(outstanding), num_returns=1, timeout=DRAIN_SECONDS)
                if ready and rest:
                    also, _ = ray.wait(rest, num_returns=len(rest), timeout=0)
                    ready += also
                now = time.monotonic()
                if now - last_drain >= DRAIN_SECONDS or not rest:
                    self._drain(sink, events)
                    last_drain = now
                for ref in ready:
                    keys = outstanding.pop(ref)
                    try:
                        value = ray.get(ref)
                        outcomes = value if isinstance(value, list) else [value]
                    except ray.exceptions.RayError as exc:
                        lost = Outcome(error=f"the Ray task of this run was lost ({self.max_retries} retries): "
                                             f"{type(exc).__name__}: {exc}")
                        outcomes = [lost] * len(keys)
                    for key, outcome in zip(keys, outcomes):
                        events.finished(key, outcome)
                if more is not None and ready:
                    outstanding.update(more(len(ready)))
            self._drain(sink, events)
        except BaseException:
            for ref in outstanding:
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001 - best effort
                    pass
            raise

    def _drain(self, sink, events: Events) -> None:
        try:
            items = self.ray.get(sink.drain.remote(), timeout=30)
        except self.ray.exceptions.RayError:  # the sink's node is gone: progress only, go on
            self._sink = None
            return
        for kind, key, *rest in items:
            if kind == "started":
                self.placements[key] = tuple(rest)
                events.started(key)
            else:
                events.epoch(key, *rest)


class _Sink:
    """An actor that holds epoch events until the driver collects them."""

    def __init__(self):
        self.items: list = []

    def put(self, item) -> None:
        self.items.append(item)

    def drain(self) -> list:
        items, self.items = self.items, []
        return items

    def node(self) -> str:
        import ray

        return ray.get_runtime_context().get_node_id()


_PINNED = []


def _ray_run(fn: Callable, config: dict, key: str, dataset, sink) -> Outcome:
    """One run, in a Ray worker process."""
    if not _PINNED:
        from threadpoolctl import threadpool_limits

        _PINNED.append(threadpool_limits(1))  # one BLAS thread per CPU task
    if dataset is not None:
        from ..runner import preload_data

        preload_data(config["data"], dataset)
    import ray

    node = ray.get_runtime_context().get_node_id()
    ray.get(sink.put.remote(("started", key, node, os.getpid())), timeout=60)  # recorded before the run can end

    last = [0.0]

    def on_epoch(epoch, epochs, logs):
        now = time.monotonic()
        if now - last[0] >= EPOCH_EVENT_SECONDS or epoch >= epochs:  # one small message per half second
            last[0] = now
            sink.put.remote(("epoch", key, epoch, epochs, small_logs(logs)))

    return execute_run(fn, config, on_epoch)


def _ray_run_batch(batch_fn: Callable, configs: list[dict], keys: list[str], datasets: list, sink) -> list[Outcome]:
    """One ensemble of runs, in a Ray worker process (on the GPU Ray assigned it, if any)."""
    import ray

    if not _PINNED:
        from threadpoolctl import threadpool_limits

        _PINNED.append(threadpool_limits(1))
    from ..runner import preload_data

    for config, ref in zip(configs, datasets):  # refs inside a list arrive as refs: fetch them here
        if ref is not None:
            preload_data(config["data"], ray.get(ref))
    node = ray.get_runtime_context().get_node_id()
    ray.get([sink.put.remote(("started", key, node, os.getpid())) for key in keys], timeout=60)

    state = {"epoch": None, "report": False, "last": 0.0}

    def on_epoch(i, epoch, epochs, logs):
        if epoch != state["epoch"]:  # an epoch of the ensemble is reported for all its members, or for none
            now = time.monotonic()
            state["epoch"] = epoch
            state["report"] = now - state["last"] >= EPOCH_EVENT_SECONDS or epoch >= epochs
            if state["report"]:
                state["last"] = now
        if state["report"]:
            sink.put.remote(("epoch", keys[i], epoch, epochs, small_logs(logs)))

    return execute_batch(batch_fn, configs, on_epoch)
