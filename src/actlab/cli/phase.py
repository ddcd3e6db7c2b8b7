"""``actlab phase``: the empirical phase diagram of trainability, with the theory's 6 xi_c curve over it."""
from __future__ import annotations

import math

import click

from .common import console as _console
from .common import (
    executor_options,
    no_progress_option,
    out_option,
    plugin_option,
    rerun_option,
    say_reuse,
    store_option,
    workers_option,
)
from .common import run_study as _run_study


def parse_grid(text: str, what: str, integer: bool = False) -> list:
    """``"1,1.5,2"``, or an arithmetic progression ``"1,1.25,...,4"`` (first, second, ..., last)."""
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    cast = int if integer else float
    kind = "integers" if integer else "numbers"
    try:
        if "..." in parts:
            if len(parts) != 4 or parts[2] != "...":
                raise ValueError
            a, b, last = cast(parts[0]), cast(parts[1]), cast(parts[3])
            step = b - a
            if not step > 0 or last < b:
                raise ValueError
            n = math.floor((last - a) / step + 1e-9)
            values = [a + k * step for k in range(n + 1)]
            values = [round(v, 12) if not integer else v for v in values]
        else:
            values = [cast(p) for p in parts]
    except ValueError:
        raise ValueError(f"{what} must be comma-separated {kind} or 'first,second,...,last' (increasing), "
                         f"got {text!r}") from None
    if not values or any(not (math.isfinite(v) and v > 0) for v in values):
        raise ValueError(f"{what} must be positive {kind}, got {text!r}")
    return values


@click.command("phase")
@click.option("--dataset", default="digits", show_default=True, help="digits, mnist, fashion_mnist.")
@click.option("--activation", default="tanh", show_default=True,
              help="One activation, parameters in parentheses: 'leaky_relu(alpha=0.2)'.")
@click.option("--sigma-b2", "sigma_b2", type=float, default=0.05, show_default=True, help="Bias variance sigma_b^2.")
@click.option("--sigma-w2", "sigma_w2", default=None,
              help="Weight variances sigma_w^2 (times 1/fan_in): a list or 'first,second,...,last' "
                   "[digits: 0.5,1,...,4; mnist: 1,1.25,...,4].")
@click.option("--depths", default=None, help="Numbers of hidden layers: a list or 'first,second,...,last' "
              "[digits: 2,5,10,15,20,30,40,50; mnist: 10,20,...,60].")
@click.option("--width", type=click.IntRange(min=1), default=None, help="Units per hidden layer [digits 64, mnist 100].")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="SGD steps per run, exactly: the last epoch is cut [digits 300, mnist 500].")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="[32]")
@click.option("--lr", type=float, default=None, help="Learning rate, plain SGD [0.01].")
@click.option("--seeds", default="1", show_default=True, help="N (seeds 0..N-1) or a list such as 0,5,7.")
@click.option("--samples", type=click.IntRange(min=2), default=None,
              help="Use this many samples (MNIST: drawn from all 70,000, split 80/20).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Where to look for MNIST files first.")
@click.option("--name", default=None, help="Study name in the store (default derived from the settings).")
@workers_option
@executor_options
@store_option
@out_option
@no_progress_option
@plugin_option
@rerun_option
def phase_cmd(dataset, activation, sigma_b2, sigma_w2, depths, width, steps, batch_size, lr, seeds, samples, data_dir,
              name, workers, executor, address, store_path, out_dir, no_progress, plugins, rerun):
    """The empirical phase diagram (Schoenholz et al. 2017): test accuracy after --steps SGD
    steps over a grid of sigma_w^2 x depth, drawn as a heatmap with the mean-field prediction
    depth = 6 xi_c(sigma_w^2) over it.

    Every net has weights N(0, sigma_w^2/fan_in) and biases N(0, sigma_b^2) in every layer. The
    report says how many runs trained (test accuracy >= 2 x chance) inside and outside the
    predicted region. Example: actlab phase --dataset mnist --sigma-w2 1,1.25,...,4 --depths 10,20,...,100.
    """
    from ..activations.plugins import load_plugins
    from ..studies.phase import PhaseSpec, run_phase, write_phase_report
    from ..studies.runner import default_workers
    from ..studies.shape import parse_seeds as _seeds

    if not (math.isfinite(sigma_b2) and sigma_b2 >= 0):
        raise ValueError(f"--sigma-b2 must be a finite number >= 0, got {sigma_b2!r}")
    if lr is not None and not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"--lr must be a positive number, got {lr!r}")
    load_plugins(plugins)
    spec = PhaseSpec.for_dataset(
        dataset, activation=activation, sigma_b2=sigma_b2,
        sigma_w2=None if sigma_w2 is None else parse_grid(sigma_w2, "--sigma-w2"),
        depths=None if depths is None else parse_grid(depths, "--depths", True), width=width, steps=steps,
        batch_size=batch_size, lr=lr, seeds=_seeds(seeds), n_samples=samples, name=name)
    workers = workers or default_workers()
    result, store = _run_study(run_phase, spec, store_path=store_path, executor=executor, address=address,
                               workers=workers, rerun=rerun, no_progress=no_progress, data_dir=data_dir)
    from rich.table import Table

    means, divs = result.grid()
    t = Table(title=f"{spec.name}: test accuracy % after {spec.steps} steps (rows: depth; x: diverged runs)")
    t.add_column("depth")
    for s in spec.sigma_w2:
        t.add_column(f"{s:g}", justify="right")
    for depth, mrow, drow in zip(spec.depths, means, divs):
        t.add_row(str(depth), *[("-" if m is None else f"{100 * m:.0f}") + ("x" if d else "") for m, d in zip(mrow, drow)])
    t.add_row("6 xi_c", *["inf" if math.isinf(v) else ("-" if math.isnan(v) else f"{v:.0f}") for v in result.limit])
    _console().print(t)
    c = result.counts()
    click.echo(f"trained (test accuracy >= {100 * c['threshold']:.0f}%): inside the predicted region "
               f"{c['inside'][1]}/{c['inside'][0]}, outside {c['outside'][1]}/{c['outside'][0]}")
    say_reuse(result, store, rerun)
    path = write_phase_report(result, out_dir)
    click.echo(f"report: {path}")


def register(main: click.Group) -> None:
    """Add ``phase`` to the ``actlab`` group."""
    main.add_command(phase_cmd)
