"""What the study commands share: the results store, the console, Ctrl-C, common options."""
from __future__ import annotations

import os
import sys
from typing import Callable

import click

from ..backends import DEFAULT_BACKEND, backend_names
from ..store import Store, StoreError, default_path


def check_environment(environ=None) -> None:
    """The environment variables every command reads, checked once when ``actlab`` starts: a bad
    value is a ``ValueError`` naming it and the valid choices (one line, exit status 2), not an
    error from inside the first training step. ``ACTLAB_GEMM``: auto, numpy or torch
    (:func:`actlab.engine.kernels.parse_gemm_choice`); ``ACTLAB_ELEMENTWISE``: auto, numpy or numba
    (:func:`actlab.engine.kernels.parse_elementwise_choice`)."""
    from ..engine.kernels import ELEMENTWISE_VARIABLE, GEMM_VARIABLE, parse_elementwise_choice, parse_gemm_choice

    environ = os.environ if environ is None else environ
    parse_gemm_choice(environ.get(GEMM_VARIABLE))
    parse_elementwise_choice(environ.get(ELEMENTWISE_VARIABLE))


def open_store(path, read_only: bool = False) -> Store:
    """The store at ``--store PATH``, else the default one ($ACTLAB_STORE or the user data dir).

    ``read_only`` for commands that only read (``runs list/show/export``, ``report``): they work on
    a read-only file or directory and create nothing. A bad store (newer format, not SQLite,
    damaged, missing when read-only, a parent that is a file) is a :class:`StoreError`, a
    ``ValueError``: one line and exit status 2.
    """
    try:
        return Store(path or None, read_only=read_only)
    except OSError as exc:  # e.g. a directory on the way that cannot be searched
        raise StoreError(f"cannot open the store {path or default_path()}: {exc.strerror or exc}") from exc


def console():
    from rich.console import Console

    # piped output is not cut to 80 columns: tables stay readable in logs and files
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def interrupted(store: Store, study: str | None = None) -> None:
    """Ctrl-C during a study: say what is kept and how to resume, exit 130."""
    if study is None:
        kept = "Finished runs are stored"
    else:
        done = sum(1 for r in store.runs(study=study) if r["status"] in ("done", "diverged"))
        kept = f"{done} finished runs of {study} are stored"
    click.echo(f"\nactlab: interrupted. {kept} in {store.path}; run the same command again to resume.", err=True)
    sys.exit(130)


def run_study(run: Callable, *args, store_path, executor: str, address, workers: int | None, rerun: bool,
              no_progress: bool, study: str | None = None, **given) -> tuple:
    """Run a study, ``run(*args, store=..., executor=..., workers=..., progress=..., rerun=..., **given)``
    (a declared study's :meth:`~actlab.studies.shape.Study.run`, or a spec object's run function), on
    the command's store and executor; Ctrl-C says what is kept of ``study`` (default: the spec's
    name) and how to resume, exit 130. Returns (result, store).

    ``workers`` None: the executor's default (local: :func:`~actlab.studies.runner.default_workers`;
    Ray without ``--address``: the local instance's CPUs)."""
    from ..studies.runner import default_workers

    if study is None and args:
        study = getattr(args[0], "name", None)
    store = open_store(store_path)
    try:
        with open_executor(executor, address, workers) as ex:
            result = run(*args, store=store, workers=workers or default_workers(), progress=not no_progress,
                         rerun=rerun, executor=ex, **given)
    except KeyboardInterrupt:
        interrupted(store, study)
    return result, store


def say_reuse(result, store: Store, rerun: bool) -> None:
    """``12 of 25 runs reused from STORE; --rerun to train them again`` (after a study)."""
    reuse = getattr(result, "reuse", None)
    if reuse is None:
        return
    reused, total = reuse
    if rerun:
        click.echo(f"{total} runs trained again (--rerun); their results in {store.path} were overwritten")
    else:
        hint = "; --rerun to train them again" if reused else ""
        click.echo(f"{reused} of {total} runs reused from {store.path}{hint}")


out_option = click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
                          help="Report directory (default ./actlab-reports/<study>-<time>).")
no_progress_option = click.option("--no-progress", is_flag=True, help="No progress bars.")
rerun_option = click.option("--rerun", is_flag=True,
                            help="Train every run again, overwriting the results the store holds for them "
                                 "(default: reuse them). Resume an interrupted rerun without --rerun.")
store_option = click.option("--store", "store_path", type=click.Path(dir_okay=False), default=None,
                            help="Results store (SQLite file). Default: $ACTLAB_STORE or the user data dir.")
workers_option = click.option("--workers", type=click.IntRange(min=1), default=None,
                              help="Parallel worker processes (default: min(CPU count, 4)); with --executor "
                                   "ray and no --address, the CPUs of the local Ray instance.")
plugin_option = click.option(
    "--plugin", "plugins", multiple=True, type=click.Path(dir_okay=False),
    help="A Python file that registers activations of your own (repeatable; also $ACTLAB_PLUGINS, "
         "paths separated by the OS path separator). Worker processes get its text with each run.")
class BackendChoice(click.Choice):
    """``--engine``: the registered backends' names, read when the option is parsed (a backend
    registered at run time is a valid choice)."""

    def __init__(self):
        super().__init__(backend_names())

    @property
    def choices(self):
        return tuple(backend_names())

    @choices.setter
    def choices(self, value):
        pass


engine_option = click.option(
    "--engine", type=BackendChoice(), default=DEFAULT_BACKEND, show_default=True,
    help="numpy: the NumPy engine, one run per worker process (the fastest on a CPU). torch: the PyTorch "
         "engine (pip install 'actlab[torch]'), compatible runs trained together as one ensemble, on CUDA "
         "when present.")
executor_option = click.option(
    "--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
    help="local: worker processes on this machine. ray: Ray tasks, on a local Ray instance or the cluster at "
         "--address (pip install 'actlab[ray]').")
address_option = click.option(
    "--address", default=None, metavar="ADDR",
    help="With --executor ray: the address of a running Ray cluster (e.g. 10.0.0.5:6379 or auto); default: start "
         "a local Ray instance.")


def executor_options(fn):
    """``--executor`` and ``--address`` (see :func:`open_executor`)."""
    return executor_option(address_option(fn))


def open_executor(name: str, address: str | None, workers: int | None):
    """The executor a study command runs on (a context manager); says where when it is Ray."""
    from ..studies.executors import make_executor

    executor = make_executor(name, workers=workers, address=address)
    if name != "local":
        click.echo(f"actlab: running on {executor.describe()}", err=True)
    return executor
