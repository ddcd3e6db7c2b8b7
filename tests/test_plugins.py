"""A user's activation (``--plugin FILE``, ``ACTLAB_PLUGINS``) in every command that trains,
in the spawned worker processes that train the runs, and in the playground's menus."""
from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

from actlab import activations
from actlab.activations import plugins
from actlab.cli import main
from actlab.store import Store
from actlab.studies import make_config
from actlab.studies.runner import train_run


@pytest.fixture(autouse=True)
def _no_plugin_environment(monkeypatch):
    """No plugins named in the environment (conftest restores the registry and loaded plugins)."""
    monkeypatch.delenv("ACTLAB_PLUGINS", raising=False)
    monkeypatch.delenv("ACTLAB_DEBUG", raising=False)


def _plugin(tmp_path, name, scale=1.0, filename=None):
    """x tanh(x) (times ``scale``): smooth, not in the zoo."""
    path = tmp_path / (filename or f"{name}.py")
    path.write_text(textwrap.dedent(f"""
        import numpy as np
        from actlab.activations import register
        register({name!r}, lambda x: {scale} * x * np.tanh(x),
                 lambda x: {scale} * (np.tanh(x) + x * (1 - np.tanh(x) ** 2)))
    """))
    return path


def test_compare_with_a_plugin_trains_it_in_spawned_workers(tmp_path):
    """The done criterion: ``actlab compare --plugin myact.py --activations relu,myact``."""
    path = _plugin(tmp_path, "myact")
    store = tmp_path / "s.db"
    args = ["compare", "--plugin", str(path), "--activations", "relu,myact", "--dataset", "digits",
            "--epochs", "2", "--seeds", "2", "--workers", "2", "--store", str(store), "--out", str(tmp_path / "r"),
            "--no-progress"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    recs = Store(store).runs()
    mine = [r for r in recs if r["config"]["model"]["activation"]["name"] == "myact"]
    assert len(recs) == 4 and len(mine) == 2
    assert all(r["status"] == "done" for r in recs), [r["error"] for r in recs]
    sha = plugins.plugin_of("myact")["sha256"]
    assert all(r["config"]["plugins"] == [sha] for r in mine)
    assert all("plugins" not in r["config"] for r in recs if r not in mine)    # relu's keys are unchanged
    assert "myact" in result.output
    # the report rebuilt from the store alone, with the plugin named again
    result = CliRunner().invoke(main, ["report", "--all", "--store", str(store), "--plugin", str(path),
                                       "-o", str(tmp_path / "again")])
    assert result.exit_code == 0, result.output


def test_a_spawned_process_loads_the_plugin_from_the_config_alone(tmp_path):
    import multiprocessing

    path = _plugin(tmp_path, "spawnact")
    plugins.load_plugin(path)
    cfg = make_config(study="t", dataset="digits", activation="spawnact", hidden="8", epochs=1, batch_size=64)
    path.unlink()        # the worker cannot read the file: it must use the text the config carries
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        result = pool.apply(train_run, (cfg,))
    assert result["status"] == "done" and len(result["history"]["loss"]) == 1
    assert result["history"]["loss"][0] == train_run(cfg)["history"]["loss"][0]   # the same run here


def test_a_changed_plugin_is_a_new_run_and_a_tampered_text_is_refused(tmp_path):
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    plugins.load_plugin(_plugin(a, "keyact", 1.0))
    cfg1 = make_config(study="t", dataset="digits", activation="keyact", hidden="8", epochs=1)
    builtin = make_config(study="t", dataset="digits", activation="relu", hidden="8", epochs=1)
    assert "plugins" not in builtin and "plugins" not in builtin["runtime"]
    # the same name from another text, in a fresh registry: another key
    from actlab.activations import base
    del base._REGISTRY["keyact"]
    plugins.load_plugin(_plugin(b, "keyact", 2.0))
    cfg2 = make_config(study="t", dataset="digits", activation="keyact", hidden="8", epochs=1)
    assert Store.key(cfg1) != Store.key(cfg2)
    stripped = {k: v for k, v in cfg2.items() if k != "plugins"}
    assert Store.key({**stripped, "runtime": {}}) == Store.key({**stripped, "runtime": cfg2["runtime"]})
    bad = json.loads(json.dumps(cfg1))
    bad["runtime"]["plugins"][0]["source"] += "\n# changed"
    with pytest.raises(ValueError, match="SHA-256"):
        plugins.ensure_plugins(bad)
    missing = json.loads(json.dumps(cfg1))
    del missing["runtime"]["plugins"]
    plugins._PLUGINS.clear()
    with pytest.raises(ValueError, match="does not carry"):
        plugins.ensure_plugins(missing)


@pytest.mark.parametrize("command, extra", [
    ("train", ["--dataset", "digits", "--epochs", "1", "--hidden", "8", "--json"]),
    ("depth", ["--depths", "1", "--seeds", "1", "--epochs", "1", "--width", "8", "--probe", "20"]),
    ("dying", ["--lrs", "0.1", "--seeds", "1", "--epochs", "1", "--hidden", "8x2", "--probe", "20"]),
    ("boundary", ["--datasets", "circle", "--seeds", "1", "--epochs", "2", "--samples", "40"]),
])
def test_every_training_command_takes_plugins_from_the_environment(tmp_path, monkeypatch, command, extra):
    path = _plugin(tmp_path, f"env_{command}")
    monkeypatch.setenv("ACTLAB_PLUGINS", str(path))
    acts = [] if command == "train" else ["--activations", f"env_{command}", "--store", str(tmp_path / "s.db"),
                                          "--out", str(tmp_path / "r"), "--no-progress", "--workers", "1"]
    if command == "train":
        acts = ["--activation", f"env_{command}"]
    result = CliRunner().invoke(main, [command, *acts, *extra])
    assert result.exit_code == 0, result.output
    if command != "train":
        recs = Store(tmp_path / "s.db").runs()
        assert recs and all(r["status"] == "done" for r in recs), [r["error"] for r in recs]


def test_a_plugin_that_exits_is_a_failed_plugin(tmp_path):
    path = tmp_path / "quits.py"
    path.write_text("import sys\nsys.exit(0)\n")
    result = CliRunner().invoke(main, ["check", "relu", "--plugin", str(path)])
    assert result.exit_code == 2
    assert "quits.py" in result.stderr and "sys.exit(0)" in result.stderr


def test_the_playground_menus_list_the_plugin(tmp_path):
    pytest.importorskip("starlette")
    from actlab.playground import protocol as P
    from actlab.playground.server import hello

    plugins.load_plugin(_plugin(tmp_path, "menuact"))
    names = [a["name"] for a in hello("s")["activations"]]
    assert "menuact" in names and "relu" in names
    assert "softmax" not in names                        # output-only activations stay out
    assert P.activation_spec("menuact")["activation"] == "menuact"      # a session accepts it
    x = np.linspace(-2, 2, 5)
    assert np.allclose(activations.get("menuact")(x), x * np.tanh(x))


def test_playground_command_loads_plugins_before_serving(tmp_path, monkeypatch):
    pytest.importorskip("starlette")
    from actlab.playground import server

    seen = {}

    def fake_serve(**kw):
        seen["names"] = [a["name"] for a in server.hello("s")["activations"]]

    monkeypatch.setattr(server, "serve", fake_serve)
    path = _plugin(tmp_path, "cliplayact")
    result = CliRunner().invoke(main, ["playground", "--plugin", str(path)])
    assert result.exit_code == 0, result.output
    assert "cliplayact" in seen["names"]
