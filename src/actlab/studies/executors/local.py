"""The local executor: runs in this process (one worker) or in a pool of worker processes.

The pool is crash tolerant: a worker that dies (killed, ``os._exit``, out of memory) takes
``concurrent.futures``' pool down with the other workers' runs; each run that was in flight
gets one more try alone in a fresh worker, and if that one dies too the run is reported lost.
Runs not started go to a fresh pool. Workers send ``started`` and ``epoch`` events to the
driver through a pipe, and die with their parent whatever kills it (``PR_SET_PDEATHSIG`` on
Linux, and a watchdog thread that polls the parent's pid everywhere).
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool

from . import Events, Executor, Job, Outcome, execute_run, small_logs

__all__ = ["LocalExecutor", "LOST", "NEVER_STARTED"]

LOST = "the worker process running this run died (killed or exited abruptly)"
NEVER_STARTED = ("worker processes died before starting this run: the run function must be importable by a "
                 "fresh Python process, and a script that starts a study must guard it with "
                 "`if __name__ == '__main__':`")

# in a worker process: (pipe to the driver, the lock that keeps messages whole)
_CHANNEL = None
PARENT_POLL_SECONDS = 0.5


class LocalExecutor(Executor):
    """Runs on this machine: in the driver's process when ``workers == 1`` (or one job), else
    in ``workers`` ``spawn``-ed processes with one BLAS thread per core share each."""

    name = "local"

    def __init__(self, workers: int = 1):
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        self.workers = workers

    def describe(self) -> str:
        return f"local, {self.workers} worker process{'es' if self.workers > 1 else ''}"

    def run(self, jobs: list[Job], fn: Callable[..., dict], events: Events) -> None:
        if self.workers == 1 or len(jobs) <= 1:
            for job in jobs:
                events.started(job.key)
                events.finished(job.key, execute_run(fn, job.config, _epoch_hook(events, job.key)))
            return
        todo = list(jobs)
        while todo:
            started, finished, broken = _pool_round(todo, fn, events, min(self.workers, len(todo)))
            if not broken:
                return
            in_flight = [j for j in todo if j.key in started and j.key not in finished]
            for job in in_flight:
                _, done, _ = _pool_round([job], fn, events, 1)
                if job.key not in done:
                    events.finished(job.key, Outcome(error=LOST))
            remaining = [j for j in todo if j.key not in finished and j.key not in started]
            if not started and not finished:
                # no run could even start: the workers die before running (fn cannot be imported?)
                for job in remaining:
                    events.finished(job.key, Outcome(error=NEVER_STARTED))
                return
            todo = remaining


def _epoch_hook(events: Events, key: str):
    return lambda epoch, epochs, logs: events.epoch(key, epoch, epochs, small_logs(logs))


def _pool_round(todo: list[Job], fn: Callable, events: Events, workers: int) -> tuple[set, set, bool]:
    """Run ``todo`` in one process pool; the keys that started, those that finished, and
    whether the pool broke (a worker died)."""
    ctx = multiprocessing.get_context("spawn")
    reader, writer = ctx.Pipe(duplex=False)
    lock = ctx.Lock()
    executor = cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_worker_init,
        initargs=(max(1, (os.cpu_count() or 1) // workers), os.getpid(), writer, lock))
    futures = {executor.submit(_worker_run, fn, job.config, job.key): job.key for job in todo}
    started: set[str] = set()
    finished: set[str] = set()
    broken = False

    def drain() -> None:
        while True:
            try:
                if not reader.poll():
                    return
                kind, key, *rest = reader.recv()
            except (EOFError, OSError):  # every worker has gone and the pipe is empty
                return
            if key in finished:
                continue
            if kind == "started":
                started.add(key)
                events.started(key)
            elif kind == "epoch":
                events.epoch(key, *rest)

    try:
        pending = set(futures)
        while pending:
            done, pending = cf.wait(pending, timeout=0.1, return_when=cf.FIRST_COMPLETED)
            drain()
            for fut in done:
                key = futures[fut]
                try:
                    outcome = fut.result()
                except BrokenProcessPool:
                    broken = True
                    continue
                except Exception:  # noqa: BLE001 - e.g. the result could not be sent back
                    outcome = Outcome(error=traceback.format_exc())
                finished.add(key)
                events.finished(key, outcome)
    except KeyboardInterrupt:
        _stop(executor)
        raise
    finally:
        writer.close()
    executor.shutdown(wait=True)
    drain()
    reader.close()
    return started, finished, broken


def _stop(executor: cf.ProcessPoolExecutor) -> None:
    processes = list(getattr(executor, "_processes", {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        if p.is_alive():
            p.terminate()
    for p in processes:
        p.join(timeout=10)


# -- in the worker processes --------------------------------------------------------------------
def _worker_init(blas_threads: int = 1, parent: int | None = None, writer=None, lock=None) -> None:
    global _CHANNEL
    # Ctrl-C goes to the whole process group: the parent decides what to do, workers ignore it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent is not None:
        die_with_parent(parent)
    _CHANNEL = None if writer is None else (writer, lock)
    # N workers x the BLAS default of one thread per core oversubscribes the cores: on a loaded
    # 2-core machine two OpenBLAS threads per worker ran ~9x slower than one. Share the cores.
    from threadpoolctl import threadpool_limits
    threadpool_limits(blas_threads)


def die_with_parent(parent: int) -> None:
    """End this process when process ``parent`` ends, however it ends (``kill -9`` included).

    Linux: the kernel sends SIGKILL on the parent's death (``prctl(PR_SET_PDEATHSIG)``). Every
    platform: a daemon thread checks twice a second that the parent is still our parent."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_SECONDS)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="actlab-parent-watchdog", daemon=True).start()


def _send(message: tuple) -> None:
    if _CHANNEL is not None:
        writer, lock = _CHANNEL
        with lock:
            writer.send(message)


def _worker_run(fn: Callable, config: dict, key: str) -> Outcome:
    _send(("started", key))

    def on_epoch(epoch, epochs, logs):
        _send(("epoch", key, epoch, epochs, small_logs(logs)))

    return execute_run(fn, config, on_epoch)
