"""``actlab depth | dying | boundary``: the vanishing gradient, the dying ReLU, decision boundaries.

``dying`` and ``boundary`` are declared in their study modules (:class:`actlab.studies.shape.Study`)
and built here by :func:`study_command`, as every study declared with a CLI is.

Each command runs its study through the results store (``--store``): running it again reuses
the finished runs, an interrupted study resumes. Each prints its headline numbers and writes a
report (HTML with the plots embedded, PNG and SVG plots, Markdown and CSV tables) into ``--out``.
"""
from __future__ import annotations

import math

import click

from .. import presets as _presets
from .common import console as _console
from .common import interrupted as _interrupted
from .common import open_store as _store
from .common import engine_option, executor_options, plugin_option, rerun_option, say_reuse, store_option
from .common import workers_option
from .common import open_executor as _open_executor


def _ints(text: str, what: str, minimum: int = 0) -> list[int]:
    from ..studies.shape import parse_ints

    return parse_ints(text, what, minimum)


def _seeds(text: str) -> list[int]:
    """``"3"`` = seeds 0, 1, 2; ``"0,5,7"`` = those seeds."""
    from ..studies.shape import parse_seeds

    return parse_seeds(text)


def _activations(text: str, plugins=()) -> list[dict]:
    from ..activations.plugins import load_plugins
    from ..studies.compare import parse_activations

    load_plugins(plugins)
    return parse_activations(text)


def _out(out_dir, name):
    from pathlib import Path

    from ..report import default_out_dir

    return Path(out_dir) if out_dir else default_out_dir(name)


def _workers(workers):
    from ..studies.runner import default_workers

    return workers or default_workers()


def _fmt(x, digits=3):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.{digits}g}"


_common = [
    engine_option,
    click.option("--name", default=None, help="Study name in the store (default derived from the settings)."),
    workers_option,
    executor_options,
    store_option,
    click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
                 help="Report directory (default ./actlab-reports/<study>-<time>)."),
    click.option("--no-progress", is_flag=True, help="No progress bars."),
    plugin_option,
    rerun_option,
]


def _with_common(fn):
    for opt in reversed(_common):
        fn = opt(fn)
    return fn


# -- depth --------------------------------------------------------------------------------------
@click.command("depth")
@click.option("--dataset", default="digits", show_default=True, help="digits, mnist, fashion_mnist.")
@click.option("--activations", default="sigmoid,tanh,relu,leaky_relu,elu", show_default=True,
              help="Comma-separated, parameters in parentheses: 'relu,leaky_relu(alpha=0.2)'.")
@click.option("--depths", default="1,2,4,6,8,10", show_default=True, help="Numbers of hidden layers.")
@click.option("--seeds", default="3", show_default=True, help="N (seeds 0..N-1) or a list such as 0,5,7.")
@click.option("--width", type=click.IntRange(min=1), default=64, show_default=True, help="Units per hidden layer.")
@click.option("--epochs", type=click.IntRange(min=0), default=8, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--optimizer", type=click.Choice(["sgd", "adam", "rmsprop"]), default="sgd", show_default=True)
@click.option("--lr", type=float, default=0.1, show_default=True, help="Learning rate.")
@click.option("--probe", type=click.IntRange(min=1), default=500, show_default=True,
              help="Training examples the gradients and statistics are measured on.")
@click.option("--init", default="glorot_uniform", show_default=True,
              help="Weight initializer (glorot_uniform, glorot_normal, he_normal, he_uniform, lecun_uniform, lecun_normal, "
                   "random_normal, truncated_normal).")
@click.option("--samples", type=click.IntRange(min=2), default=None,
              help="Use this many samples (MNIST: drawn from all 70,000, split 80/20).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Where to look for MNIST files first.")
@_with_common
def depth_cmd(dataset, activations, depths, seeds, width, epochs, batch_size, optimizer, lr, probe, init, samples,
              data_dir, engine, name, workers, executor, address, store_path, out_dir, no_progress, plugins, rerun):
    """The vanishing gradient (Glorot & Bengio 2010): gradient norm per layer against depth.

    For every activation, depth and seed: the norm of dL/dW of every layer and the mean, std and
    saturated fraction of every hidden layer, at initialisation and after every epoch, and the
    test accuracy after the budget. Prints the ratio of the first to the last hidden layer's
    gradient norm at initialisation.
    """
    from ..studies.depth import depth_report, depth_study

    store = _store(store_path)
    if dataset in ("mnist", "fashion_mnist") and samples is None:
        samples = _presets.NOTES_SAMPLES   # a study of many runs: the notes' draw, not all 70,000
    try:
        with _open_executor(executor, address, _workers(workers)) as ex:
            result = depth_study(_activations(activations, plugins), _ints(depths, "--depths", 1), _seeds(seeds),
                                 store=store, workers=_workers(workers), progress=not no_progress, name=name, dataset=dataset,
                                 width=width, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                                 learning_rate=lr, probe=probe, init=init, n_samples=samples, data_dir=data_dir,
                                 engine=engine, rerun=rerun, executor=ex)
    except KeyboardInterrupt:
        _interrupted(store)
    from rich.table import Table

    rows = result.ratio_summary(0)
    t = Table(title=f"{result.settings['name']}: gradient norm first / last hidden layer at initialisation "
                    "(geometric mean over seeds [95% CI])")
    t.add_column("activation")
    for d in result.depths:
        t.add_column(f"depth {d}", justify="right")
    for act in result.activations:
        cells = []
        for r in rows:
            if r["activation"] != act:
                continue
            cells.append("-" if not r["seeds"] else _fmt(r["ratio"]) + (
                f" [{_fmt(r['ratio_low'], 2)}, {_fmt(r['ratio_high'], 2)}]" if r["seeds"] > 1 else ""))
        t.add_row(act, *cells)
    acc = Table(title="test accuracy after the budget (mean over seeds; d = diverged runs)")
    acc.add_column("activation")
    for d in result.depths:
        acc.add_column(f"depth {d}", justify="right")
    for act in result.activations:
        acc.add_row(act, *[(_fmt(r["accuracy"]) if r["runs"] else "-") + (f" {r['diverged']}d" if r["diverged"] else "")
                           for r in result.accuracy_summary() if r["activation"] == act])
    console = _console()
    console.print(t)
    console.print(acc)
    failed = sum(r.status == "failed" for r in result.runs)
    if failed:
        click.echo(f"{failed} run(s) failed; `actlab runs list --status failed --store {store.path}` shows them",
                   err=True)
    say_reuse(result, store, rerun)
    path = depth_report(result, _out(out_dir, result.settings["name"]),
                        meta={"study": result.settings["name"], "store": str(store.path)})
    click.echo(f"report: {path}")


# -- any registered study (actlab.studies.shape) ---------------------------------------------------
def study_command(study) -> click.Command:
    """The ``actlab <kind>`` command of a :class:`~actlab.studies.shape.Study` with a CLI declaration:
    its own options, then the common ones (engine, name, workers, executor, store, out, progress,
    plugins, rerun); it runs the study through the store, prints its headline and writes its report."""
    spec = study.cli

    def command(engine, name, workers, executor, address, store_path, out_dir, no_progress, plugins, rerun, **values):
        from ..activations.plugins import load_plugins

        store = _store(store_path)
        try:
            load_plugins(plugins)
            params = spec.from_cli(**{k: v for k, v in values.items() if k not in spec.report_options})
            with _open_executor(executor, address, _workers(workers)) as ex:
                result = study.run(store=store, workers=_workers(workers), progress=not no_progress, name=name,
                                   engine=engine, rerun=rerun, executor=ex, **params)
        except KeyboardInterrupt:
            _interrupted(store)
        if spec.show is not None:
            spec.show(result, _console())
        say_reuse(result, store, rerun)
        path = study.report(result, _out(out_dir, result.settings["name"]),
                            meta={"study": result.settings["name"], "store": str(store.path)},
                            **{k: values[k] for k in spec.report_options})
        click.echo(f"report: {path}")

    command.__doc__ = spec.help
    command.__name__ = f"{study.kind}_cmd"
    command = _with_common(command)
    for opt in reversed(spec.options()):
        command = opt(command)
    return click.command(study.kind)(command)


def register(main: click.Group) -> None:
    """Add ``depth`` to the ``actlab`` group (the studies declared with a CLI, ``dying`` and
    ``boundary``, are found by the group itself: :func:`study_command`)."""
    for cmd in (depth_cmd,):
        main.add_command(cmd)
