"""The report writer and the training plots: files, embedding, escaping, CSV round trip, rebuild."""
from __future__ import annotations

import base64
import csv
import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from actlab.report import Section, Table, markdown_to_html, write_report
from actlab.store import Store


def _figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2))
    ax = fig.subplots()
    ax.plot([0, 1, 2], [0, 1, 4])
    ax.set_title("squares")
    return fig


def test_write_report_files_and_embedding(tmp_path):
    rows = [["relu", 0.1 + 0.2, 3, None], ["tanh<script>", float("nan"), -1, "x|y"]]
    path = write_report(tmp_path / "r", "My <study>", [
        Section("Results", "Some **bold** text and `code`.\n\n- one\n- two",
                figures=[("curve", _figure()), _figure()],
                tables=[Table(["act", "acc", "n", "note"], rows, title="Accuracy", name="acc"),
                        (["a", "b"], [[1, 2]])]),
        Section("More", "1. first\n2. second"),
    ], meta={"store": "/x.sqlite"})
    out = tmp_path / "r"
    assert path == out / "index.html"
    page = path.read_text()
    # escaped, never raw HTML from data
    assert "<script>" not in page and "tanh&lt;script&gt;" in page and "My &lt;study&gt;" in page
    assert "<strong>bold</strong>" in page and "<code>code</code>" in page and "<li>two</li>" in page
    assert "<ol><li>first</li><li>second</li></ol>" in page
    # both figures embedded; the embedded bytes are the PNG files
    embedded = [base64.b64decode(b) for b in re.findall(r'data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]
    files = {p.name: p.read_bytes() for p in (out / "figures").glob("*.png")}
    assert sorted(files) == ["curve.png", "squares.png"]
    assert sorted(embedded) == sorted(files.values())
    for name in ("curve.svg", "squares.svg"):
        assert ET.parse(out / "figures" / name).getroot().tag == "{http://www.w3.org/2000/svg}svg"
    # CSV round trip keeps full float precision; None is empty
    with open(out / "tables" / "acc.csv", newline="") as fh:
        back = list(csv.reader(fh))
    assert back[0] == ["act", "acc", "n", "note"]
    assert float(back[1][1]) == 0.1 + 0.2 and back[1][3] == "" and math.isnan(float(back[2][1]))
    assert len(back) == 3
    assert (out / "tables" / "results-2.csv").read_text().splitlines() == ["a,b", "1,2"]
    md = (out / "tables" / "acc.md").read_text()
    assert "| act | acc | n | note |" in md and "x\\|y" in md
    report_md = (out / "report.md").read_text()
    assert "## Results" in report_md and "![curve](figures/curve.png)" in report_md


def test_bad_tables_and_sections_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="row 0 has 1 cells"):
        Table(["a", "b"], [[1]])
    with pytest.raises(ValueError, match="Section"):
        write_report(tmp_path, "t", ["not a section"])


def test_markdown_subset():
    html = markdown_to_html("# Head\n\ntext with [a link](x.html) and *it*\n\n```\n<b>\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    assert "<h3>Head</h3>" in html and '<a href="x.html">a link</a>' in html and "<em>it</em>" in html
    assert "<pre><code>&lt;b&gt;</code></pre>" in html
    assert "<th>a</th>" in html and "<td>2</td>" in html


def test_learning_curves_plot_mean_and_band():
    from actlab.plots.training import plot_final_accuracy, plot_learning_curves

    runs = [{"val_accuracy": [0.2, 0.4, 0.6], "loss": [2.0, 1.0, 0.5]},
            {"val_accuracy": [0.4, 0.6, 0.8], "loss": [1.0, 0.5, 0.25]},
            {"val_accuracy": [0.3, 0.5], "loss": [1.5, 0.75]}]          # stopped early (diverged)
    fig = plot_learning_curves({"relu": runs}, metrics=["val_accuracy", "loss"])
    ax = fig.axes[0]
    mean_line = ax.lines[0]
    np.testing.assert_allclose(mean_line.get_ydata(), [30.0, 50.0, 70.0])   # accuracy in %, as the tables
    assert ax.get_ylabel() == "test accuracy (%)" and ax.yaxis.get_major_formatter()(50.0, 0) == "50%"
    band = ax.collections[0].get_paths()[0].vertices
    at2 = band[band[:, 0] == 2, 1]                                      # epoch 2: three runs, s = 10 points
    assert at2.max() == pytest.approx(50 + 4.303 * 10 / math.sqrt(3), rel=1e-3)   # t(0.975, 2)
    assert not (band[:, 0] == 3).any()          # epoch 3: two runs, an interval not worth drawing
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), [1.5, 0.75, 0.375])   # losses unscaled
    assert fig.axes[1].get_yscale() == "log"
    fig2 = plot_final_accuracy({"relu": [0.9, 0.92, None], "tanh": [0.8, 0.82]}, diverged={"relu": 1},
                               reference={"relu": 0.941})
    ax2 = fig2.axes[0]
    pos = dict(zip([t.get_text() for t in ax2.get_yticklabels()], ax2.get_yticks()))
    assert pos == {"relu (1 diverged)": 1, "tanh": 0}                   # first group on top
    dots = {tuple(np.round(c.get_offsets()[:, 0], 6)) for c in ax2.collections if len(c.get_offsets()) == 2}
    assert dots == {(90.0, 92.0), (80.0, 82.0)} and ax2.get_xlabel() == "final test accuracy (%)"
    assert [ln.get_xdata()[0] for ln in ax2.lines if ln.get_marker() == "D"] == [pytest.approx(94.1)]
    assert not [c for c in ax2.containers]      # two runs each: no error bar (not informative)
    with pytest.raises(ValueError, match="'minutes'"):
        plot_learning_curves({"relu": runs}, x="minutes")


def test_every_series_has_its_own_dash_pattern_and_marker():
    """relu must not hide under leaky_relu and elu: no two groups share colour, dashes and marker."""
    from actlab.plots import plot_curves
    from actlab.plots.style import LINESTYLES, series_styles
    from actlab.plots.training import plot_learning_curves

    names = ["relu", "tanh", "sigmoid", "leaky_relu", "elu", "gelu", "silu", "mish", "selu", "softplus"]
    styles = series_styles(len(names))
    assert len({(str(s["linestyle"]), s["marker"]) for s in styles}) == len(names)
    assert len({s["color"] for s in styles}) == len(names)
    same = [{"val_accuracy": [0.5, 0.7, 0.9], "loss": [1.0, 0.5, 0.2]}] * 3   # identical curves on top of each other
    fig = plot_learning_curves({n: same for n in names[:5]}, metrics=["val_accuracy"])
    means = [ln for ln in fig.axes[0].lines if ln.get_label().endswith("(n=3)")]
    assert len(means) == 5
    assert len({(ln.get_linestyle(), ln.get_marker()) for ln in means}) == 5
    assert means[0].get_linestyle() == "-" and means[1].get_linestyle() == "--"
    curves = plot_curves(["relu", "leaky_relu", "elu"], derivative=False)
    drawn = {ln.get_label(): ln.get_linestyle() for ln in curves.axes[0].lines if not ln.get_label().startswith("_")}
    assert len(drawn) == 3 and len(set(drawn.values())) == 3 and len(LINESTYLES) >= 8


def test_rebuild_generic_report_and_unknown_study(tmp_path):
    from actlab.report.rebuild import rebuild_report

    store = Store(tmp_path / "s.sqlite")
    for seed in (0, 1):
        cfg = {"seed": seed, "model": {"activation": {"name": "relu"}}}
        key = Store.key(cfg)
        store.claim(key, cfg)
        store.tag(key, "adhoc")
        store.finish(key, "done", history={"epoch": [1, 2], "val_accuracy": [0.5, 0.6 + seed / 10],
                                           "loss": [1.0, 0.5]})
    path = rebuild_report(store, "adhoc", tmp_path / "out")
    with open(tmp_path / "out" / "tables" / "runs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(float(r["test acc %"]) for r in rows) == pytest.approx([60.0, 70.0])
    assert "data:image/png;base64," in path.read_text()
    with pytest.raises(ValueError, match="no study 'other'.*adhoc"):
        rebuild_report(store, "other", tmp_path / "x")
