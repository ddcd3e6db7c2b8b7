"""Executors: where a study's runs are computed. The driver (:func:`actlab.studies.runner.run_tasks`)
decides what to run, claims it in the results store and is the only process that writes
there; an executor computes runs and streams back what happens to them.

The interface is small, so that a cluster back end is one more module:

- ``executor.run(jobs, fn, events)`` computes every :class:`Job` with the run function ``fn``
  (``fn(config, on_epoch=None) -> dict``, see :mod:`actlab.studies.runner`) and returns when
  each job has an outcome. As things happen it calls, in the driver's process and thread,
  ``events.started(key)`` (a worker began the job; again on a retry), ``events.epoch(key,
  epoch, epochs, logs)`` (an epoch of a running job ended) and ``events.finished(key,
  outcome)`` (exactly once per job, with an :class:`Outcome`). Ctrl-C (``KeyboardInterrupt``)
  stops the workers and propagates.
- ``executor.close()`` gives back what the executor holds (processes, a cluster connection);
  executors are context managers.

Executors: ``"local"`` (:class:`LocalExecutor`, crash-tolerant worker processes on this
machine, the default) and ``"ray"`` (:class:`actlab.studies.executors.ray_executor.RayExecutor`,
a local Ray instance or an existing Ray cluster; ``pip install 'actlab[ray]'``).
"""
from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Job", "Outcome", "Events", "Executor", "EXECUTORS", "make_executor", "execute_run", "execute_batch",
           "LocalExecutor"]


@dataclass
class Job:
    """One run to compute: its key in the store and its configuration."""

    key: str
    config: dict


@dataclass
class Outcome:
    """What became of a job: the run function's result, or an error (a traceback, or why the
    run was lost), and the wall time it took."""

    result: dict | None = None
    error: str | None = None
    seconds: float = 0.0


class Events(Protocol):
    def started(self, key: str) -> None: ...

    def epoch(self, key: str, epoch: int, epochs: int, logs: dict) -> None: ...

    def finished(self, key: str, outcome: Outcome) -> None: ...


class Executor:
    """The base of every executor (see the module docstring)."""

    name = "?"

    def run(self, jobs: list[Job], fn: Callable[..., dict], events: Events) -> None:
        raise NotImplementedError

    def run_ensembles(self, groups: list[list[Job]], batch_fn: Callable[..., list], events: Events) -> None:
        """Train each group of jobs at once with an engine's ``batch_fn(configs, on_epoch=None) ->
        results`` (``on_epoch(i, epoch, epochs, logs)``), reporting per job as :meth:`run` does.
        The default trains the groups one after another in this process."""
        for group in groups:
            for job in group:
                events.started(job.key)

            def on_epoch(i, epoch, epochs, logs, group=group):
                events.epoch(group[i].key, epoch, epochs, small_logs(logs))

            for job, outcome in zip(group, execute_batch(batch_fn, [j.config for j in group], on_epoch)):
                events.finished(job.key, outcome)

    def describe(self) -> str:
        return self.name

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def accepts(fn: Callable, name: str) -> bool:
    """Whether ``fn`` takes a keyword argument ``name``."""
    import inspect

    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def small_logs(logs: dict | None) -> dict:
    """The numbers of an epoch's logs that progress displays need (cheap to send)."""
    return {k: float(v) for k, v in (logs or {}).items()
            if k in ("loss", "val_accuracy", "accuracy") and isinstance(v, (int, float))}


def execute_run(fn: Callable[..., dict], config: dict, on_epoch: Callable | None = None) -> Outcome:
    """Call the run function; an exception becomes an :class:`Outcome` with its traceback
    (``KeyboardInterrupt`` propagates). Used by every executor, in the worker."""
    t0 = time.perf_counter()
    try:
        result = fn(config, on_epoch=on_epoch) if on_epoch is not None and accepts(fn, "on_epoch") else fn(config)
    except Exception:  # noqa: BLE001 - a failing run is recorded, the study goes on
        return Outcome(error=traceback.format_exc(), seconds=time.perf_counter() - t0)
    return Outcome(result=result, seconds=time.perf_counter() - t0)


def execute_batch(batch_fn: Callable[..., list], configs: list[dict], on_epoch: Callable | None = None) -> list[Outcome]:
    """Call an ensemble function; one :class:`Outcome` per config (its traceback on every one when it raises)."""
    t0 = time.perf_counter()
    try:
        results = batch_fn(configs, on_epoch=on_epoch)
        if len(results) != len(configs):
            raise ValueError(f"the ensemble function returned {len(results)} results for {len(configs)} runs")
    except Exception:  # noqa: BLE001 - recorded on every run of the batch
        error = traceback.format_exc()
        return [Outcome(error=error, seconds=time.perf_counter() - t0) for _ in configs]
    seconds = time.perf_counter() - t0
    return [Outcome(result=r, seconds=seconds) for r in results]


EXECUTORS = ("local", "ray")


def make_executor(name: str = "local", *, workers: int | None = None, address: str | None = None,
                  **options: Any) -> Executor:
    """An executor by name: ``"local"`` (``workers`` processes) or ``"ray"`` (``address`` of a
    cluster, or a local instance with ``workers`` CPUs). ``ValueError`` for an unknown name,
    an ``address`` with the local executor, or Ray missing."""
    if name == "local":
        if address is not None:
            raise ValueError(f"--address {address!r} needs --executor ray (the local executor runs on this machine)")
        return LocalExecutor(workers or default_workers())
    if name == "ray":
        from .ray_executor import RayExecutor

        return RayExecutor(address=address, workers=workers, **options)
    raise ValueError(f"unknown executor {name!r}; valid: {', '.join(EXECUTORS)}")


def default_workers() -> int:
    """min(CPU count, 4)."""
    import os

    return max(1, min(os.cpu_count() or 1, 4))


from .local import LocalExecutor  # noqa: E402  (it builds on the definitions above)
