"""``actlab criticality``: the edge of chaos of an activation, from the mean-field theory."""
from __future__ import annotations

import json
import math
from typing import Any

import click

from actlab.cli.zoo import _param_option, _plugin_option, load_plugins, parse_params


def _round(v: float | None, digits: int = 12) -> float | None:
    """Round to ``digits`` significant digits (the quadrature's accuracy; 2.0000000000000004 -> 2.0)."""
    if v is None or not math.isfinite(v) or v == 0:
        return v if v is None or math.isfinite(v) else None
    return float(f"{v:.{digits}g}")


def _row(edge) -> dict[str, Any]:
    out = edge.as_dict()
    for k in ("sigma_w2", "q_star", "chi1"):
        out[k] = _round(out[k])
    return out


@click.command("criticality")
@click.argument("name")
@_param_option
@click.option("--sigma-b2", "sigma_b2", type=float, multiple=True,
              help="Bias variance sigma_b^2 (repeatable; default 0 and 0.05).")
@_plugin_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per sigma_b^2.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Also draw the phase diagram (order vs chaos, the edge, contours of xi_c) to this "
                   ".png/.svg/.pdf file (about a minute: xi_c needs a correlation fixed point per point).")
def criticality_cmd(name: str, params: tuple[str, ...], sigma_b2: tuple[float, ...], plugins: tuple[str, ...],
                    as_json: bool, plot_path: str | None) -> None:
    """The edge of chaos of activation NAME: the critical sigma_w^2 for each sigma_b^2.

    For a fully connected net with weights N(0, sigma_w^2 / fan_in) and biases N(0, sigma_b^2),
    the mean-field theory (Poole et al. 2016, Schoenholz et al. 2017) gives the fixed point q*
    of the pre-activation variance and chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2], the per-layer
    growth of the squared gradient. The edge of chaos is chi_1 = 1: there gradients neither
    vanish nor explode and the depth scale xi_c is infinite. Where no sigma_w^2 reaches it
    (ReLU with sigma_b^2 > 0), the reason is printed. See docs/theory.md.
    """
    from actlab import theory
    from actlab.activations import get

    load_plugins(plugins)
    act = get(name, **parse_params(params))
    values = list(sigma_b2) or [0.0, 0.05]
    for v in values:
        if not (v >= 0 and math.isfinite(v)):
            raise ValueError(f"--sigma-b2 must be a finite number >= 0, got {v!r}")
    if plot_path is not None:
        from actlab.plots import SAVE_FORMATS

        if not plot_path.lower().endswith(SAVE_FORMATS):
            raise ValueError(f"cannot save a plot as {plot_path!r}; valid extensions: {', '.join(SAVE_FORMATS)}")
    p = dict(act.params) if act.params else None
    edges = [theory.edge_of_chaos(act, v, p) for v in values]
    if as_json:
        click.echo(json.dumps([_row(e) for e in edges], indent=2))
    else:
        click.echo(f"edge of chaos of {act.label(every=True)} (chi_1 = 1; xi_c is infinite there)")
        click.echo(f"{'sigma_b2':>10}  {'sigma_w2':>12}  {'q*':>12}  {'chi_1':>6}")
        for e in edges:
            if e.sigma_w2 is None:
                click.echo(f"{e.sigma_b2:>10.6g}  {'none':>12}  {'-':>12}  {'-':>6}  {e.reason}")
            else:
                click.echo(f"{e.sigma_b2:>10.6g}  {_round(e.sigma_w2, 10):>12.10g}  {_round(e.q_star, 6):>12.6g}  "
                           f"{1.0:>6g}")
    if plot_path is not None:
        from actlab.plots import save_figure
        from actlab.plots.theory import plot_phase_diagram

        hi = max(max(values) * 2.0, 0.5)
        fig = plot_phase_diagram(act, p, edges=edges, sigma_b2_range=(0.0, hi))
        path = save_figure(fig, plot_path)
        click.echo(f"wrote {path}", err=as_json)


def register(main: click.Group) -> None:
    """Add ``criticality`` to the ``actlab`` group."""
    main.add_command(criticality_cmd)
