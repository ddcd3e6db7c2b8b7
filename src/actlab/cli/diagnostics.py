"""The command of every study declared with a CLI (``actlab compare | depth | dying | boundary |
reproduce notes``, any new one): :func:`study_command`, and :func:`declared_command` for the group
of subcommands a study may belong to.

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
from .common import no_progress_option, out_option, workers_option
from .common import run_study


def _out(out_dir, name):
    from pathlib import Path

    from ..report import default_out_dir

    return Path(out_dir) if out_dir else default_out_dir(name)


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


def study_command(study, command_name: str | None = None) -> click.Command:
    """The command (named ``command_name``, default the kind) of a :class:`~actlab.studies.shape.Study` with a
    CLI declaration: its own options, then the common ones (engine, name, workers, executor, store,
    out, progress, plugins, rerun; less those the study omits); it checks the options before it opens
    the store, runs the study through the store (:func:`~.common.run_study`), prints its headline and
    writes its report."""
    spec = study.cli

    def command(workers, executor, address, store_path, out_dir, no_progress, plugins, rerun, **values):
        from ..activations.plugins import load_plugins

        common = {k: values.pop(k) for k in ("engine", "name") if k not in spec.omit}
        load_plugins(plugins)
        given = {**common, **spec.from_cli(**{k: v for k, v in values.items() if k not in spec.report_options})}
        name = given.pop("name", None)
        name = name or study.default_name(study.params(**given))   # bad values: one line, exit 2
        result, store = run_study(study.run, store_path=store_path, executor=executor, address=address,
                                  workers=workers, rerun=rerun, no_progress=no_progress, study=name, name=name,
                                  **given)
        if spec.show is not None:
            spec.show(result, _console())
        say_reuse(result, store, rerun)
        path = study.report(result, _out(out_dir, name), meta={"study": name, "store": str(store.path)},
                            **{k: values[k] for k in spec.report_options})
        click.echo(f"report: {path}")

    command.__doc__ = spec.help
    command.__name__ = f"{study.kind}_cmd"
    command = _with_common(command, spec.omit)
    for opt in reversed(spec.options()):
        command = opt(command)
    return click.command(command_name or spec.path(study.kind)[-1], epilog=spec.epilog)(command)


def declared_names(studies) -> set[str]:
    """The top-level command names of the declared studies (a group counts once)."""
    return {s.cli.path(s.kind)[0] for s in studies if s.cli is not None}


def declared_command(studies, name: str) -> click.Command | None:
    """The top-level command ``name`` of the declared ``studies``: a study's command, or the group
    of the studies whose command is ``name SUBCOMMAND`` (e.g. ``reproduce notes``); None if none is."""
    members = [(s.cli.path(s.kind), s) for s in studies if s.cli is not None and s.cli.path(s.kind)[0] == name]
    if not members:
        return None
    if len(members) == 1 and len(members[0][0]) == 1:
        return study_command(members[0][1])
    if any(len(path) == 1 for path, _ in members):
        kinds = ", ".join(s.kind for _, s in members)
        raise ValueError(f"the studies {kinds} declare the command {name!r} both as a command and as a group")
    group = click.Group(name, help=next((s.cli.group_help for _, s in members if s.cli.group_help), None))
    for path, s in members:
        group.add_command(study_command(s, path[1]))
    return group


def register(main: click.Group) -> None:
    """Nothing to add: the ``actlab`` group builds the registered studies' commands on demand
    (``compare``, ``depth``, ``dying``, ``boundary``, ``reproduce``; :func:`declared_command`)."""
