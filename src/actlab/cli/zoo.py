"""``actlab list | show | plot | check``: the zoo from the command line.

User activations come from plugin files (``--plugin FILE.py``, repeatable, or the environment
variable ``ACTLAB_PLUGINS``, paths separated by ``os.pathsep``): plain Python files that call
``actlab.activations.register(...)``.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, Iterable

import click
import numpy as np

from actlab.activations import Activation, aliases, get, names
from actlab.activations.plugins import PLUGIN_ENV, load_plugin, load_plugins  # noqa: F401 (also used by other commands)

from .common import plugin_option

SHOW_X = (-3.0, -1.0, 0.0, 1.0, 3.0)


# ----------------------------------------------------------------------------- helpers


def _parse_value(text: str) -> Any:
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    if isinstance(value, list):
        return np.asarray(value, dtype=np.float64)  # a per-unit parameter (prelu's alpha)
    if isinstance(value, int) and not isinstance(value, bool) and "." not in text:
        return value
    return float(value) if isinstance(value, (int, float)) else value


def parse_params(pairs: Iterable[str]) -> dict[str, Any]:
    """``("alpha=0.2", "approximate=true")`` -> ``{"alpha": 0.2, "approximate": True}``."""
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--param expects NAME=VALUE, got {pair!r}")
        key, value = pair.split("=", 1)
        if not key.strip():
            raise ValueError(f"--param expects NAME=VALUE, got {pair!r}")
        out[key.strip()] = _parse_value(value)
    return out


def _console():
    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=160, soft_wrap=False)


def _num(v: float) -> str:
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if isinstance(v, float) and math.isnan(v):
        return "?"
    return f"{v:.6g}"


def _json_num(v: Any) -> Any:
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _flag(v: bool | None) -> str:
    return "-" if v is None else ("yes" if v else "no")


def _params_text(act: Activation) -> str:
    return ", ".join(f"{k}={_num(v) if isinstance(v, float) else v}" for k, v in act.params.items())


def _aliases_of(name: str) -> list[str]:
    out = []
    for alias, (target, params) in aliases().items():
        if target == name:
            extra = ", ".join(f"{k}={v}" for k, v in params.items())
            out.append(f"{alias} ({extra})" if extra else alias)
    return out


def _describe(act: Activation) -> dict[str, Any]:
    props = act.properties.as_dict()
    return {
        "name": act.name,
        "params": {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in act.params.items()},
        "aliases": _aliases_of(act.name),
        "formula": act.formula,
        "derivative_formula": act.derivative_formula,
        "properties": {k: ([_json_num(x) for x in v] if isinstance(v, list) else _json_num(v))
                       for k, v in props.items()},
        "kinks": list(act.kinks),
        "elementwise": act.elementwise,
        "torch": act.torch_name,
        "paper": act.paper,
        "description": act.description,
    }


def _get_all(name_list: Iterable[str], params: dict[str, Any]) -> list[Activation]:
    return [get(n, **params) for n in name_list]


_plugin_option = plugin_option
_param_option = click.option(
    "--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
    help="Set a parameter, e.g. -p alpha=0.2 (repeatable; lists like [0.1,0.2] for per-unit values).")


# ----------------------------------------------------------------------------- commands


def zoo_markdown(acts: Iterable[Activation]) -> str:
    """The zoo as Markdown: a table of properties, then each function's formulas and paper."""
    acts = list(acts)
    lines = ["| name | parameters | range | monotonic | zero-centred | smooth | bounded | max abs f' "
             "| kinks | PyTorch | aliases |", "|" + "---|" * 11]
    for act in acts:
        p = act.properties
        lo, hi = p.output_range
        cells = [f"`{act.name}`", _params_text(act), f"({_num(lo)}, {_num(hi)})", _flag(p.monotonic),
                 _flag(p.zero_centred), _flag(p.smooth), _flag(p.bounded), _num(p.max_abs_derivative),
                 ", ".join(_num(float(k)) for k in act.kinks), act.torch_name or "",
                 ", ".join(_aliases_of(act.name))]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    lines.append("")
    for act in acts:
        lines += [f"### {act.name}", ""]
        if act.description:
            lines += [act.description, ""]
        if act.formula:
            lines += ["$$" + act.formula + "$$", ""]
        if act.derivative_formula:
            lines += ["$$" + act.derivative_formula + "$$", ""]
        if act.paper:
            lines += [f"Paper: {act.paper}", ""]
    return "\n".join(lines)


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the zoo as JSON.")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print the zoo as Markdown (docs/zoo.md).")
@_plugin_option
def list_cmd(as_json: bool, as_markdown: bool, plugins: tuple[str, ...]) -> None:
    """A table of the zoo: parameters, range, properties, max |f'|, aliases."""
    load_plugins(plugins)
    acts = [get(n) for n in names()]
    if as_json:
        click.echo(json.dumps([_describe(a) for a in acts], indent=2))
        return
    if as_markdown:
        click.echo(zoo_markdown(acts))
        return
    from rich.table import Table

    table = Table(title=f"actlab zoo: {len(acts)} activations", title_justify="left")
    for col in ("name", "parameters", "range", "monotonic", "zero-centred", "smooth", "bounded",
                "max |f'|", "aliases"):
        table.add_column(col, no_wrap=col == "name")
    for act in acts:
        p = act.properties
        lo, hi = p.output_range
        table.add_row(act.name, _params_text(act), f"({_num(lo)}, {_num(hi)})", _flag(p.monotonic),
                      _flag(p.zero_centred), _flag(p.smooth), _flag(p.bounded),
                      _num(p.max_abs_derivative), ", ".join(_aliases_of(act.name)))
    _console().print(table)


@click.command("show")
@click.argument("name")
@_param_option
@_plugin_option
def show_cmd(name: str, params: tuple[str, ...], plugins: tuple[str, ...]) -> None:
    """Formula, derivative, properties, paper and a few values of one activation."""
    load_plugins(plugins)
    act = get(name, **parse_params(params))
    from rich.table import Table

    console = _console()
    d = _describe(act)
    head = act.label(every=True)
    console.print(f"[bold]{head}[/bold]" + (f"   aliases: {', '.join(d['aliases'])}" if d["aliases"] else ""))
    if act.description:
        console.print(act.description, highlight=False)
    console.print(f"formula:    {act.formula or '(not given)'}", markup=False, highlight=False)
    console.print(f"derivative: {act.derivative_formula or '(not given)'}", markup=False, highlight=False)
    props = act.properties
    lo, hi = props.output_range
    console.print(
        f"range ({_num(lo)}, {_num(hi)}); monotonic {_flag(props.monotonic)}; zero-centred "
        f"{_flag(props.zero_centred)}; smooth {_flag(props.smooth)}; bounded {_flag(props.bounded)}; "
        f"max |f'| {_num(props.max_abs_derivative)}", highlight=False)
    if act.kinks:
        console.print("kinks: " + ", ".join(_num(float(k)) for k in act.kinks)
                      + "  (f' there: the one-sided derivative of smaller magnitude)", highlight=False)
    if act.torch_name:
        console.print(f"PyTorch: torch.nn.{act.torch_name}", highlight=False)
    if act.paper:
        console.print(f"paper: {act.paper}", highlight=False)
    if act.elementwise:
        x = np.array(SHOW_X)
        grid = x if not any(isinstance(v, np.ndarray) and v.ndim for v in act.params.values()) else None
        if grid is None:
            console.print("(values not shown: a per-unit parameter array)")
            return
        table = Table(title="values", title_justify="left")
        table.add_column("x", justify="right")
        table.add_column("f(x)", justify="right")
        table.add_column("f'(x)", justify="right")
        for xi, yi, di in zip(x, act(x), act.derivative(x)):
            table.add_row(f"{xi:g}", f"{yi:.6g}", f"{di:.6g}")
        console.print(table)
    else:
        k = int(act.params.get("k", 1))
        width = -(-len(SHOW_X) // k) * k
        x = np.zeros(width)
        x[: len(SHOW_X)] = SHOW_X
        y = act(x)
        console.print(f"f({np.array2string(x, precision=4)}) = {np.array2string(y, precision=6)}",
                      highlight=False)


@click.command("plot")
@click.argument("names_", metavar="NAME...", nargs=-1, required=True)
@click.option("--derivative/--no-derivative", default=True, show_default=True,
              help="Draw f' in a second panel.")
@click.option("--range", "x_range", nargs=2, type=float, default=(-5.0, 5.0), show_default=True,
              metavar="LOW HIGH", help="The inputs shown.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The file to write (.png, .svg or .pdf).")
@click.option("--dpi", type=click.IntRange(20, 1200), default=150, show_default=True)
@_param_option
@_plugin_option
def plot_cmd(names_: tuple[str, ...], derivative: bool, x_range: tuple[float, float], output: str,
             dpi: int, params: tuple[str, ...], plugins: tuple[str, ...]) -> None:
    """Curves of the activations (and their derivatives, side by side) to a PNG/SVG/PDF file."""
    from actlab.plots import SAVE_FORMATS, plot_curves, save_figure

    load_plugins(plugins)
    ext = Path(output).suffix.lower()
    if ext not in SAVE_FORMATS:  # before the work of drawing
        raise ValueError(f"cannot write {output!r}: unknown extension {ext or '(none)'!r}; "
                         f"valid: {', '.join(SAVE_FORMATS)}")
    acts = _get_all(names_, parse_params(params))
    fig = plot_curves(acts, derivative=derivative, x_range=x_range)
    path = save_figure(fig, output, dpi=dpi)
    click.echo(f"wrote {path}")


@click.command("check")
@click.argument("names_", metavar="[NAME]...", nargs=-1)
@click.option("--no-torch", is_flag=True, help="Do not compare with PyTorch autograd.")
@click.option("--float32", "float32", is_flag=True, help="Central differences in float32 (looser).")
@click.option("-v", "--verbose", is_flag=True, help="The full report of every activation.")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
@_param_option
@_plugin_option
def check_cmd(names_: tuple[str, ...], no_torch: bool, float32: bool, verbose: bool, as_json: bool,
              params: tuple[str, ...], plugins: tuple[str, ...]) -> None:
    """Verify derivatives: central differences, PyTorch float64 autograd, exact kink values.

    Checks the named activations (default: all registered ones). Exit status 1 if any fails.
    """
    from actlab.activations.check import check

    load_plugins(plugins)
    parsed = parse_params(params)
    acts = _get_all(names_ or names(), parsed)  # unknown names fail here, before any work
    reports = [check(a, use_torch=not no_torch, dtype=np.float32 if float32 else np.float64) for a in acts]
    failed = [r for r in reports if not r.ok]
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in reports], indent=2, default=str))
    else:
        console = _console()
        if len(reports) == 1 or verbose:
            for r in reports:
                console.print(r.to_rich_table())
        else:
            from rich.table import Table

            table = Table(title=f"derivative checks: {len(reports) - len(failed)}/{len(reports)} pass",
                          title_justify="left")
            for col in ("activation", *[res.oracle for res in reports[0].results], "verdict"):
                table.add_column(col, no_wrap=col == "activation")
            style = {"pass": "green", "fail": "bold red", "skipped": "yellow"}
            for r in reports:
                cells = [f"[{style[res.status]}]{res.status}[/{style[res.status]}]" for res in r.results]
                table.add_row(r.activation, *cells, "[green]OK[/green]" if r.ok else "[bold red]FAILED[/bold red]")
            console.print(table)
            for r in failed:
                console.print(r.to_rich_table())
        if failed:
            console.print(f"[bold red]FAILED[/bold red]: {', '.join(r.activation for r in failed)}")
    if failed:
        sys.exit(1)


def register(main: click.Group) -> None:
    """Add ``list``, ``show``, ``plot`` and ``check`` to the ``actlab`` group."""
    for cmd in (list_cmd, show_cmd, plot_cmd, check_cmd):
        main.add_command(cmd)
