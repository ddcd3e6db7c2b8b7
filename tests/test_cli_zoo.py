"""``actlab list | show | plot | check`` through click's CliRunner."""
from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from click.testing import CliRunner

from actlab.activations import names
from actlab.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def runner(monkeypatch):
    monkeypatch.delenv("ACTLAB_PLUGINS", raising=False)
    monkeypatch.delenv("ACTLAB_DEBUG", raising=False)
    return CliRunner()


def _plugin(tmp_path, name, derivative, filename="plugin.py"):
    path = tmp_path / filename
    path.write_text(textwrap.dedent(f"""
        import numpy as np
        from actlab.activations import register
        register({name!r}, lambda x: x * np.tanh(x), {derivative}, overwrite=True)
    """))
    return path


# d/dx x tanh x = tanh x + x (1 - tanh^2 x)
RIGHT = "lambda x: np.tanh(x) + x * (1 - np.tanh(x) ** 2)"
WRONG = "lambda x: np.tanh(x) + x * (1 - np.tanh(x))"


def test_list_contains_every_registered_name(runner):
    result = runner.invoke(main, ["list"])
    assert result.exit_code == 0, result.output
    for n in names():
        assert n in result.output
    assert "swish" in result.output  # aliases column


def test_list_json(runner):
    result = runner.invoke(main, ["list", "--json"])
    assert result.exit_code == 0
    data = {d["name"]: d for d in json.loads(result.stdout)}
    assert set(names()) <= set(data)
    assert data["sigmoid"]["properties"]["output_range"] == [0.0, 1.0]
    assert data["sigmoid"]["properties"]["max_abs_derivative"] == 0.25  # sigma' <= 1/4
    assert data["relu"]["properties"]["output_range"] == [0.0, "inf"]
    assert data["leaky_relu"]["params"] == {"alpha": 0.01}
    assert "swish" in data["silu"]["aliases"]


def test_show_relu_prints_formula_properties_and_values(runner):
    result = runner.invoke(main, ["show", "relu"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert r"f(x) = \max(0, x)" in out
    assert "Nair & Hinton" in out
    assert "kinks: 0" in out
    # values worked out by hand: relu(-3) = 0, relu(3) = 3, relu'(0) = 0, relu'(1) = 1
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 3 and cells[0] in {"-3", "-1", "0", "1", "3"}:
            rows[float(cells[0])] = (float(cells[1]), float(cells[2]))
    assert rows == {-3.0: (0.0, 0.0), -1.0: (0.0, 0.0), 0.0: (0.0, 0.0), 1.0: (1.0, 1.0), 3.0: (3.0, 1.0)}


def test_show_with_params(runner):
    result = runner.invoke(main, ["show", "leaky_relu", "-p", "alpha=0.2"])
    assert result.exit_code == 0
    assert "-0.2 " in result.output or "-0.2 │" in result.output  # f(-1) = -0.2
    assert "-0.6" in result.output  # f(-3)
    result = runner.invoke(main, ["show", "gelu", "--param", "approximate=true"])
    assert result.exit_code == 0 and "approximate=True" in result.output
    result = runner.invoke(main, ["show", "softmax"])
    assert result.exit_code == 0 and "0.829245" in result.output  # e^3 / (e^-3 + e^-1 + 1 + e + e^3)


def test_show_bad_parameter(runner):
    result = runner.invoke(main, ["show", "elu", "-p", "beta=1"])
    assert result.exit_code == 2
    assert "'beta'" in result.stderr and "alpha" in result.stderr
    result = runner.invoke(main, ["show", "elu", "-p", "alpha"])
    assert result.exit_code == 2 and "NAME=VALUE" in result.stderr
    result = runner.invoke(main, ["show", "celu", "-p", "alpha=-1"])   # elu takes alpha <= 0 (as Keras), celu not
    assert result.exit_code == 2 and "invalid value -1 for parameter alpha of celu" in result.stderr


def test_plot_writes_a_png_that_is_not_blank(runner, tmp_path):
    import matplotlib.image

    out = tmp_path / "curves.png"
    result = runner.invoke(main, ["plot", "relu", "tanh", "hard_swish", "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data[:8] == PNG_MAGIC
    img = matplotlib.image.imread(str(out))
    assert img.ndim == 3 and img.shape[1] > img.shape[0]  # two panels side by side
    assert img[..., :3].var() > 0
    # the derivative panel really adds something: wider than a single panel
    single = tmp_path / "single.png"
    assert runner.invoke(main, ["plot", "relu", "--no-derivative", "-o", str(single)]).exit_code == 0
    assert matplotlib.image.imread(str(single)).shape[1] < img.shape[1]


def test_plot_writes_svg(runner, tmp_path):
    out = tmp_path / "curves.svg"
    result = runner.invoke(main, ["plot", "elu", "selu", "--range", "-3", "3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")
    assert "elu" in out.read_text() or root.findall(".//{http://www.w3.org/2000/svg}path")


def test_plot_errors(runner, tmp_path):
    result = runner.invoke(main, ["plot", "relu", "-o", str(tmp_path / "x.gif")])
    assert result.exit_code == 2 and "'.gif'" in result.stderr and ".png" in result.stderr
    result = runner.invoke(main, ["plot", "reluu", "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "'reluu'" in result.stderr and "Did you mean" in result.stderr
    assert not (tmp_path / "x.png").exists()
    result = runner.invoke(main, ["plot", "relu", "--range", "3", "-3", "-o", str(tmp_path / "y.png")])
    assert result.exit_code == 2 and "x_range" in result.stderr


def test_check_named_activations_pass(runner):
    result = runner.invoke(main, ["check", "relu", "softmax", "gelu_tanh"])
    assert result.exit_code == 0, result.output
    assert "3/3 pass" in result.output


def test_check_json(runner):
    result = runner.invoke(main, ["check", "hard_swish", "--json", "--no-torch"])
    assert result.exit_code == 0
    (report,) = json.loads(result.stdout)
    assert report["ok"] is True
    statuses = {r["oracle"]: r["status"] for r in report["results"]}
    assert statuses == {"central differences": "pass", "pytorch float64": "skipped", "kinks": "pass",
                        "stability": "pass"}


def test_check_with_a_wrong_plugin_derivative_exits_1_and_names_it(runner, tmp_path):
    plugin = _plugin(tmp_path, "cli_xtanh_wrong", WRONG)
    result = runner.invoke(main, ["check", "cli_xtanh_wrong", "--plugin", str(plugin)])
    assert result.exit_code == 1, result.output
    assert "cli_xtanh_wrong" in result.output and "FAILED" in result.output
    assert "central differences" in result.output


def test_check_with_a_right_plugin_derivative_passes(runner, tmp_path):
    plugin = _plugin(tmp_path, "cli_xtanh_right", RIGHT)
    result = runner.invoke(main, ["check", "cli_xtanh_right", "--plugin", str(plugin)])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_plugins_from_the_environment(runner, tmp_path, monkeypatch):
    a = _plugin(tmp_path, "cli_env_a", RIGHT, "a.py")
    b = _plugin(tmp_path, "cli_env_b", WRONG, "b.py")
    monkeypatch.setenv("ACTLAB_PLUGINS", f"{a}{__import__('os').pathsep}{b}")
    result = runner.invoke(main, ["check", "cli_env_a", "cli_env_b", "--no-torch"])
    assert result.exit_code == 1
    assert "1/2 pass" in result.output and "FAILED: cli_env_b" in result.output
    listed = runner.invoke(main, ["list"])
    assert "cli_env_a" in listed.output


def test_broken_plugins_give_one_clear_line(runner, tmp_path):
    result = runner.invoke(main, ["check", "relu", "--plugin", str(tmp_path / "missing.py")])
    assert result.exit_code == 2 and "missing.py" in result.stderr
    bad = tmp_path / "bad.py"
    bad.write_text("raise RuntimeError('boom')\n")
    result = runner.invoke(main, ["check", "relu", "--plugin", str(bad)])
    assert result.exit_code == 2
    assert "bad.py" in result.stderr and "boom" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("code", ["sys.exit(0)", "sys.exit(3)", "raise SystemExit", "raise GeneratorExit"])
def test_a_plugin_that_exits_is_a_failed_plugin(runner, tmp_path, code):
    bad = tmp_path / "exits.py"
    bad.write_text(f"import sys\n{code}\n")
    result = runner.invoke(main, ["check", "relu", "--no-torch", "--plugin", str(bad)])
    assert result.exit_code == 2, result.output
    assert "exits.py" in result.stderr and "failed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_unknown_activation_exit_2_names_the_value(runner):
    result = runner.invoke(main, ["check", "relu", "nosuchact"])
    assert result.exit_code == 2
    assert result.stderr.startswith("actlab: error:")
    assert "'nosuchact'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    result = runner.invoke(main, ["show", "rleu"])
    assert result.exit_code == 2 and "Did you mean 'relu'" in result.stderr


def test_check_all_default(runner):
    result = runner.invoke(main, ["check", "--no-torch"])
    assert result.exit_code == 0, result.output
    for n in names():
        if not n.startswith(("cli_", "test_")):
            assert n in result.output


def test_parse_params():
    from actlab.cli.zoo import parse_params

    p = parse_params(["alpha=0.2", "approximate=True", "k=3", "alpha2=[0.1, 0.2]", "name=x"])
    assert p["alpha"] == 0.2 and p["approximate"] is True and p["k"] == 3 and isinstance(p["k"], int)
    np.testing.assert_array_equal(p["alpha2"], [0.1, 0.2])
    assert p["name"] == "x"


def test_docs_zoo_lists_every_function_and_its_plugin_example_passes(runner, tmp_path):
    import re
    from pathlib import Path

    from actlab.activations import zoo

    doc = (Path(__file__).resolve().parents[1] / "docs" / "zoo.md").read_text()
    for act in zoo._ZOO:
        assert f"| `{act.name}` |" in doc, act.name
    code = re.search(r"```python\n# myact.py\n(.*?)```", doc, re.S).group(1)
    plugin = tmp_path / "myact.py"
    plugin.write_text(code)
    result = runner.invoke(main, ["check", "xtanh", "--plugin", str(plugin)])
    assert result.exit_code == 0, result.output
