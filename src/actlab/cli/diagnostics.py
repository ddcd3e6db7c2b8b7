"""``actlab depth | dying | boundary`` and every other study declared with a CLI: :func:`study_command`.

A study (:class:`actlab.studies.shape.Study`) declares its own options and how to show its
result; the command built here adds the common options, runs the study through the results
store (``--store``: running it again reuses the finished runs, an interrupted study resumes),
prints its headline numbers and writes its report (HTML with the plots embedded, PNG and SVG
plots, Markdown and CSV tables) into ``--out``. The ``actlab`` group finds the registered
studies itself (``actlab.cli._Group``), so a new study needs no edit here.
"""
from __future__ import annotations

import click

from .common import console as _console
from .common import engine_option, executor_options, plugin_option, rerun_option, say_reuse, store_option
from .common import interrupted as _interrupted
from .common import open_executor as _open_executor
from .common import open_store as _store
from .common import no_progress_option, out_option, workers_option


def _out(out_dir, name):
    from pathlib import Path

    from ..report import default_out_dir

    return Path(out_dir) if out_dir else default_out_dir(name)


def _workers(workers):
    from ..studies.runner import default_workers

    return workers or default_workers()


_common = [
    ("engine", engine_option),
    ("name", click.option("--name", default=None, help="Study name in the store (default derived from the settings).")),
    ("workers", workers_option),
    ("executor", executor_options),
    ("store", store_option),
    ("out", out_option),
    ("progress", no_progress_option),
    ("plugin", plugin_option),
    ("rerun", rerun_option),
]


def _with_common(fn, omit=()):
    for key, opt in reversed(_common):
        if key not in omit:
            fn = opt(fn)
    return fn


def study_command(study) -> click.Command:
    """The ``actlab <kind>`` command of a :class:`~actlab.studies.shape.Study` with a CLI declaration:
    its own options, then the common ones (engine, name, workers, executor, store, out, progress,
    plugins, rerun; less those the study omits); it checks the options before it opens the store,
    runs the study through the store, prints its headline and writes its report."""
    spec = study.cli

    def command(workers, executor, address, store_path, out_dir, no_progress, plugins, rerun, **values):
        from ..activations.plugins import load_plugins

        common = {k: values.pop(k) for k in ("engine", "name") if k not in spec.omit}
        load_plugins(plugins)
        params = spec.from_cli(**{k: v for k, v in values.items() if k not in spec.report_options})
        store = _store(store_path)
        try:
            with _open_executor(executor, address, workers) as ex:
                result = study.run(store=store, workers=_workers(workers), progress=not no_progress, rerun=rerun,
                                   executor=ex, **common, **params)
        except KeyboardInterrupt:
            _interrupted(store, common.get("name") or params.get("name"))
        if spec.show is not None:
            spec.show(result, _console())
        say_reuse(result, store, rerun)
        path = study.report(result, _out(out_dir, result.settings["name"]),
                            meta={"study": result.settings["name"], "store": str(store.path)},
                            **{k: values[k] for k in spec.report_options})
        click.echo(f"report: {path}")

    command.__doc__ = spec.help
    command.__name__ = f"{study.kind}_cmd"
    command = _with_common(command, spec.omit)
    for opt in reversed(spec.options()):
        command = opt(command)
    return click.command(study.kind)(command)


def register(main: click.Group) -> None:
    """Nothing to add: the ``actlab`` group builds the registered studies' commands on demand
    (``depth``, ``dying``, ``boundary``; :func:`study_command`)."""
