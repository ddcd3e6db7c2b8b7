"""``actlab criticality`` through click's CliRunner, and the phase-diagram plot."""
from __future__ import annotations

import json
import math
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

from actlab import theory as T
from actlab.cli import main


@pytest.fixture
def runner(monkeypatch):
    monkeypatch.delenv("ACTLAB_PLUGINS", raising=False)
    monkeypatch.delenv("ACTLAB_DEBUG", raising=False)
    return CliRunner()


def test_tanh_at_sigma_b2_005_json(runner):
    """The issue's done-criterion: 1.7610 (checked independently with scipy quad in test_theory.py)."""
    res = runner.invoke(main, ["criticality", "tanh", "--sigma-b2", "0.05", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert len(rows) == 1 and set(rows[0]) == {"sigma_b2", "sigma_w2", "q_star", "chi1", "xi_c"}
    assert rows[0]["sigma_b2"] == 0.05 and round(rows[0]["sigma_w2"], 4) == 1.7610
    assert rows[0]["chi1"] == 1.0 and rows[0]["xi_c"] is None   # infinite at the edge
    assert rows[0]["q_star"] == pytest.approx(T.q_star("tanh", rows[0]["sigma_w2"], 0.05).q_star, rel=1e-9)


def test_relu_gives_2_and_no_edge_with_a_bias(runner):
    res = runner.invoke(main, ["criticality", "relu", "--sigma-b2", "0"])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[-1].split()[:2] == ["0", "2"]
    res = runner.invoke(main, ["criticality", "relu", "--sigma-b2", "0", "--sigma-b2", "0.1", "--json"])
    rows = json.loads(res.output)
    assert rows[0]["sigma_w2"] == 2.0
    assert rows[1]["sigma_w2"] is None and "no fixed point" in rows[1]["reason"]
    assert rows[1]["q_star"] is None and rows[1]["chi1"] is None and rows[1]["xi_c"] is None


def test_parameters_change_the_edge(runner):
    res = runner.invoke(main, ["criticality", "leaky_relu", "-p", "alpha=0.5", "--sigma-b2", "0", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)[0]["sigma_w2"] == pytest.approx(2 / 1.25, rel=1e-10)


def test_a_plugin_gets_its_edge(runner, tmp_path):
    # 2 tanh(x / 2): chi_1 at q* = 0 is sigma_w2 f'(0)^2 = sigma_w2, so the edge at sigma_b2 = 0 is 1
    plugin = tmp_path / "halftanh.py"
    plugin.write_text(textwrap.dedent("""
        import numpy as np
        from actlab.activations import register
        register("half_tanh_cli", lambda x: 2 * np.tanh(x / 2), lambda x: 1 - np.tanh(x / 2) ** 2)
    """))
    res = runner.invoke(main, ["criticality", "half_tanh_cli", "--plugin", str(plugin), "--sigma-b2", "0",
                               "--sigma-b2", "0.2", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert rows[0]["sigma_w2"] == pytest.approx(1.0, abs=1e-6)
    # rescaling: its edge at sigma_b2 = 0.2 is tanh's at 0.05
    assert rows[1]["sigma_w2"] == pytest.approx(T.edge_of_chaos("tanh", 0.05).sigma_w2, rel=1e-9)


@pytest.mark.parametrize("args,needle", [
    (["criticality", "tanhh"], "unknown activation 'tanhh'"),
    (["criticality", "softmax"], "elementwise"),
    (["criticality", "tanh", "--sigma-b2", "-1"], "--sigma-b2 must be a finite number >= 0, got -1.0"),
    (["criticality", "tanh", "--plot", "x.gif"], "valid extensions: .png, .svg, .pdf"),
    (["criticality", "elu", "-p", "beta=1"], "no parameter 'beta'"),
])
def test_bad_input_is_one_line_and_exit_2(runner, args, needle):
    res = runner.invoke(main, args)
    assert res.exit_code == 2, res.output
    assert needle in res.output and "Traceback" not in res.output


def _edge_line(fig):
    ax = fig.axes[0]
    cs = [c for c in ax.get_children() if c.get_gid() == "edge"]
    assert len(cs) == 1
    return np.concatenate([p.vertices for p in cs[0].get_paths()])


def test_plot_draws_the_edge_where_the_theory_puts_it(runner, tmp_path, monkeypatch):
    from actlab.plots import theory as P

    # a coarse grid keeps the test fast; the edge line is the chi_1 = 1 contour of that grid
    monkeypatch.setitem(P.plot_phase_diagram.__kwdefaults__, "resolution", (24, 6))
    monkeypatch.setitem(P.plot_phase_diagram.__kwdefaults__, "xi_resolution", (6, 3))
    figs = []
    real = P.plot_phase_diagram
    monkeypatch.setattr(P, "plot_phase_diagram", lambda *a, **k: figs.append(real(*a, **k)) or figs[-1])
    out = tmp_path / "phase.png"
    res = runner.invoke(main, ["criticality", "tanh", "--sigma-b2", "0.1", "--plot", str(out)])
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 10_000
    line = _edge_line(figs[0])   # (sigma_w2, sigma_b2) vertices
    edge = T.edge_of_chaos("tanh", 0.1).sigma_w2
    near = line[np.argmin(np.abs(line[:, 1] - 0.1))]
    assert near[1] == pytest.approx(0.1, abs=0.02)
    assert near[0] == pytest.approx(edge, rel=0.05)
    # the edge at sigma_b2 = 0 (sigma_w2 = 1) also lies on the line
    bottom = line[np.argmin(line[:, 1])]
    assert bottom[1] == pytest.approx(0.0, abs=1e-9) and bottom[0] == pytest.approx(1.0, rel=0.05)
    assert math.isfinite(edge)
