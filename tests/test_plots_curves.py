"""plot_curves draws what it claims: checked against values worked out independently."""
from __future__ import annotations

import numpy as np
import pytest

from actlab.plots import plot_curves, save_figure


def _curves(ax):
    """The curve segments (not the 0 axes, not the kink dots)."""
    return [ln for ln in ax.get_lines()
            if ln.get_marker() in ("None", None, "") and len(ln.get_xdata()) > 2]


def test_two_panels_function_and_derivative():
    fig = plot_curves(["tanh"], x_range=(-4, 4))
    ax_f, ax_d = fig.axes[:2]
    assert ax_f.get_title() == "f(x)" and ax_d.get_title() == "f'(x)"
    (f_line,) = _curves(ax_f)
    (d_line,) = _curves(ax_d)
    x = np.asarray(f_line.get_xdata(), dtype=float)
    assert x.min() == -4 and x.max() == 4
    np.testing.assert_allclose(f_line.get_ydata(), np.tanh(x), atol=1e-12)
    np.testing.assert_allclose(d_line.get_ydata(), 1 / np.cosh(np.asarray(d_line.get_xdata())) ** 2, atol=1e-12)
    assert [t.get_text() for t in ax_f.get_legend().get_texts()] == ["tanh"]
    assert len(plot_curves("tanh", derivative=False).axes) == 1


def test_kinks_drawn_with_the_convention():
    fig = plot_curves("relu")
    ax_d = fig.axes[1]
    # the derivative line is broken at 0: no segment spans both sides
    for ln in _curves(ax_d):
        x = np.asarray(ln.get_xdata())
        assert x.max() < 0 or x.min() > 0
        np.testing.assert_array_equal(ln.get_ydata(), (x > 0).astype(float))
    dots = [ln for ln in ax_d.get_lines() if ln.get_marker() == "o"]
    open_ = [ln for ln in dots if ln.get_markerfacecolor() == "white"]
    closed = [ln for ln in dots if ln.get_markerfacecolor() != "white"]
    # one-sided limits 0 (left) and 1 (right); the value used, relu'(0) = 0
    assert sorted(np.concatenate([ln.get_ydata() for ln in open_]).tolist()) == [0.0, 1.0]
    assert np.concatenate([ln.get_ydata() for ln in closed]).tolist() == [0.0]
    assert all(np.all(np.asarray(ln.get_xdata()) == 0.0) for ln in dots)


def test_hard_swish_kinks():
    fig = plot_curves("hard_swish", x_range=(-5, 5))
    dots = [ln for ln in fig.axes[1].get_lines() if ln.get_marker() == "o"]
    closed = {float(ln.get_xdata()[0]): float(ln.get_ydata()[0]) for ln in dots
              if ln.get_markerfacecolor() != "white"}
    opened = {float(ln.get_xdata()[0]): sorted(np.round(ln.get_ydata(), 6).tolist()) for ln in dots
              if ln.get_markerfacecolor() == "white"}
    # left/right limits of f' = 0 | (2x + 3)/6 | 1: at -3: 0 and -0.5; at 3: 1.5 and 1
    assert opened == {-3.0: [-0.5, 0.0], 3.0: [1.0, 1.5]}
    assert closed == {-3.0: 0.0, 3.0: 1.0}


def test_vector_functions_are_drawn_along_a_line():
    fig = plot_curves("softmax", x_range=(-3, 3))
    (f_line,) = _curves(fig.axes[0])
    x = np.asarray(f_line.get_xdata())
    s = 1 / (1 + np.exp(-x))  # softmax([x, 0])_0 is the sigmoid
    np.testing.assert_allclose(f_line.get_ydata(), s, atol=1e-12)
    (d_line,) = _curves(fig.axes[1])
    np.testing.assert_allclose(d_line.get_ydata(), s * (1 - s), atol=1e-12)


def test_several_activations_and_per_unit_prelu():
    from actlab.activations import get

    fig = plot_curves(["relu", "elu", get("prelu", alpha=np.array([0.1, 0.3]))])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["relu", "elu(alpha=1)", "prelu(alpha=0.1)", "prelu(alpha=0.3)"]


def test_draws_on_given_axes_without_pyplot_state():
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    before = plt.get_fignums()
    fig = Figure()
    axes = fig.subplots(1, 2)
    assert plot_curves("sigmoid", ax=axes) is fig
    assert plt.get_fignums() == before
    with pytest.raises(ValueError, match="2 Axes"):
        plot_curves("sigmoid", ax=axes[0])


def test_bad_arguments():
    with pytest.raises(ValueError, match="x_range"):
        plot_curves("relu", x_range=(2, -2))
    with pytest.raises(ValueError, match="'relux'"):
        plot_curves(["relux"])
    with pytest.raises(ValueError, match="at least one"):
        plot_curves([])


def test_save_figure_formats(tmp_path):
    fig = plot_curves("relu")
    assert save_figure(fig, tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert save_figure(fig, tmp_path / "b.pdf").read_bytes()[:5] == b"%PDF-"
    assert b"<svg" in save_figure(fig, tmp_path / "sub" / "c.svg").read_bytes()
    with pytest.raises(ValueError, match=r"'\.jpg'.*\.png, \.svg, \.pdf"):
        save_figure(fig, tmp_path / "d.jpg")
