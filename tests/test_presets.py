"""One preset per dataset: ``actlab train``, ``actlab compare``, ``make_config`` and ``CompareSpec``
resolve the same settings, and ``--help`` prints them."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from actlab import datasets, presets
from actlab.cli import main
from actlab.studies import CompareSpec, make_config
from actlab.studies.runner import load_data


def _train_json(*args):
    result = CliRunner().invoke(main, ["train", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["config"]


def _api(dataset, **kw):
    cfg = make_config(study="t", dataset=dataset, **kw)
    spec = CompareSpec(activations=["relu"], seeds=1, dataset=dataset, **kw).resolved()
    return cfg, spec


def _check_same(cli, cfg, spec, expected):
    assert "x".join(map(str, [cli["hidden"][0], len(cli["hidden"])])) == expected["hidden"]
    assert cfg["model"]["hidden"] == spec.hidden == expected["hidden"]
    assert cli["optimizer"]["name"] == cfg["train"]["optimizer"]["name"] == spec.optimizer == expected["optimizer"]
    assert cli["optimizer"]["learning_rate"] == cfg["train"]["optimizer"]["learning_rate"] \
        == spec.learning_rate == expected["learning_rate"]
    assert cli["batch_size"] == cfg["train"]["batch_size"] == spec.batch_size == expected["batch_size"]
    assert cli["epochs"] == cfg["train"]["epochs"] == spec.epochs == expected["epochs"]


@pytest.mark.parametrize("dataset, expected", [
    ("digits", {"hidden": "64x2", "optimizer": "sgd", "learning_rate": 0.05, "batch_size": 32, "epochs": 30}),
    ("circle", {"hidden": "8x2", "optimizer": "adam", "learning_rate": 0.01, "batch_size": 10, "epochs": 100}),
])
def test_cli_and_api_resolve_the_same_preset(dataset, expected):
    assert presets.resolve(dataset) == expected
    cli = _train_json("--dataset", dataset)
    cfg, spec = _api(dataset)
    _check_same(cli, cfg, spec, expected)
    data = load_data(cfg["data"])       # the run's data (what compare and the studies train on)
    assert (cli["n_train"], cli["n_test"]) == (data.n_train, data.n_test)
    direct = datasets.load(dataset)
    assert (direct.n_train, direct.n_test) == (data.n_train, data.n_test)


def test_another_optimizer_gets_its_own_learning_rate_everywhere():
    cli = _train_json("--dataset", "digits", "--optimizer", "adam", "--epochs", "1")
    cfg, spec = _api("digits", optimizer="adam", epochs=1)
    # the preset's 0.05 belongs to sgd; adam keeps its own default, 0.001
    assert cli["optimizer"]["learning_rate"] == cfg["train"]["optimizer"]["learning_rate"] == 0.001
    assert spec.learning_rate is None and presets.resolve("digits", optimizer="adam")["learning_rate"] is None
    assert cli["hidden"] == [64, 64] and cfg["model"]["hidden"] == "64x2"


def test_mnist_is_the_official_split_from_the_cli_and_the_api(mnist_dir):
    expected = presets.resolve("mnist")
    assert expected == {"hidden": "200x4", "optimizer": "sgd", "learning_rate": 0.01, "batch_size": 100,
                        "epochs": 20}
    # one short epoch of a small network: the data protocol and the optimizer are the preset's
    cli = _train_json("--dataset", "mnist", "--data-dir", str(mnist_dir), "--hidden", "8", "--epochs", "1")
    cfg = make_config(study="t", dataset="mnist", data_dir=str(mnist_dir))
    data = load_data(cfg["data"], cfg["runtime"])
    direct = datasets.load("mnist", data_dir=mnist_dir)
    assert (cli["n_train"], cli["n_test"]) == (data.n_train, data.n_test) == (direct.n_train, direct.n_test) \
        == (60000, 10000)
    assert cli["optimizer"]["learning_rate"] == cfg["train"]["optimizer"]["learning_rate"] == 0.01
    assert cli["batch_size"] == cfg["train"]["batch_size"] == 100


@pytest.mark.parametrize("command", ["train", "compare"])
def test_help_lists_every_preset(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for name, p in presets.PRESETS.items():
        assert f"{name} {p.text()}" in text or f"{name}  {p.text()}" in result.output, name
    assert "digits: 64x2" in text and "mnist, fashion_mnist: 200x4" in text        # --hidden
    assert "digits: 0.05" in text                                                  # --lr
    assert "digits: 30" in text and "digits: 32" in text                           # --epochs, --batch-size


def test_unknown_dataset_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="'mnistt'"):
        presets.get("mnistt")
    assert presets.get("Fashion-MNIST") is presets.PRESETS["fashion_mnist"]


@pytest.mark.parametrize("dataset", datasets.names())
def test_every_dataset_has_a_preset_and_the_api_reads_it(dataset):
    expected = presets.resolve(dataset)
    p = presets.get(dataset)
    assert expected == {"hidden": p.hidden, "optimizer": p.optimizer, "learning_rate": p.learning_rate,
                        "batch_size": p.batch_size, "epochs": p.epochs}
    cfg, spec = _api(dataset)
    assert (cfg["model"]["hidden"], cfg["train"]["optimizer"]["name"], cfg["train"]["optimizer"]["learning_rate"],
            cfg["train"]["batch_size"], cfg["train"]["epochs"]) == tuple(expected.values())
    assert (spec.hidden, spec.optimizer, spec.learning_rate, spec.batch_size, spec.epochs) == tuple(expected.values())
    assert spec.target == p.target


# -- one source for names and protocol numbers (issue 10, item 4) -----------------------------


def _choices(command: str) -> list[str] | None:
    import click

    cmd = main.get_command(click.Context(main), command)   # declared studies' commands are built on demand
    return next((list(p.type.choices) for p in getattr(cmd, "params", ()) if p.name == "optimizer"), None)


def test_optimizer_names_are_the_engine_registry_everywhere():
    import inspect

    from actlab.cli import training
    from actlab.engine.optimizers import OPTIMIZERS
    from actlab.playground import protocol

    commands = [c for c in main.list_commands(None) if _choices(c) is not None]
    assert {"train", "compare"} <= set(commands)
    for command in commands:
        assert sorted(_choices(command)) == sorted(OPTIMIZERS), command
    assert protocol.OPTIMIZERS == tuple(OPTIMIZERS)
    assert {k: v[0] for k, v in training.OPTIMIZERS.items()} == OPTIMIZERS
    # whether an optimizer takes momentum is read from its class, not typed again
    for cls, has_momentum in training.OPTIMIZERS.values():
        assert has_momentum == ("momentum" in inspect.signature(cls).parameters)


def test_the_notes_sample_count_is_defined_once():
    import inspect

    from actlab.datasets.protocol import notes_protocol
    from actlab.studies.reproduce import ReproduceSpec

    assert inspect.signature(notes_protocol).parameters["n_samples"].default == presets.NOTES_SAMPLES
    assert ReproduceSpec().n_samples == presets.NOTES_SAMPLES
    out = CliRunner().invoke(main, ["reproduce", "notes", "--help"], terminal_width=200).output
    assert f"{presets.NOTES_SAMPLES:,}" in out


def test_the_notes_network_and_protocol_are_the_presets(monkeypatch):
    """reproduce notes reads the MNIST preset (network, optimizer, learning rate, batch) and the notes'
    protocol (samples, test share) from actlab.presets: its runs, its defaults and its --help."""
    import inspect

    from actlab.datasets.protocol import notes_protocol
    from actlab.studies.reproduce import BUDGETS, REPRODUCE, ReproduceSpec

    mnist = presets.PRESETS["mnist"]
    spec = ReproduceSpec()
    assert (spec.hidden, spec.learning_rate, spec.test_fraction) == (mnist.hidden, mnist.learning_rate,
                                                                      presets.NOTES_TEST_FRACTION)
    assert {b["batch_size"] for b in BUDGETS.values()} == {mnist.batch_size}
    assert inspect.signature(notes_protocol).parameters["test_fraction"].default == presets.NOTES_TEST_FRACTION
    cfg = REPRODUCE.tasks(REPRODUCE.params(seeds=1), "t")[0].config
    assert (cfg["model"]["hidden"], cfg["train"]["optimizer"]["name"], cfg["train"]["optimizer"]["learning_rate"],
            cfg["train"]["batch_size"], cfg["data"]["test_fraction"], cfg["data"]["n_samples"]) == (
        mnist.hidden, mnist.optimizer, mnist.learning_rate, mnist.batch_size, presets.NOTES_TEST_FRACTION,
        presets.NOTES_SAMPLES)
    text = " ".join(CliRunner().invoke(main, ["reproduce", "notes", "--help"], terminal_width=200).output.split())
    assert "784-200-200-200-200-10, SGD 0.01" in text and "split 80/20" in text
    assert f"SGD learning rate (the notes': {mnist.learning_rate:g})" in text
    assert f"Batch size of both budgets (default {mnist.batch_size})" in text


def test_depth_reads_its_optimizer_from_the_presets_and_dying_is_plain_sgd():
    from actlab.engine.optimizers import OPTIMIZERS
    from actlab.studies import depth, dying

    from actlab.engine.optimizers import SGD

    sgd = presets.get("digits").optimizer
    assert depth.DEFAULTS["optimizer"] == presets.get(depth.DEFAULTS["dataset"]).optimizer == sgd
    assert dying.OPTIMIZER == SGD.name   # the dying study is about plain SGD's learning rate, whatever the preset
    help_text = CliRunner().invoke(main, ["depth", "--help"]).output
    assert f"--optimizer [{'|'.join(OPTIMIZERS)}]" in help_text
    assert f"[default: {sgd}]" in help_text.split("--optimizer", 1)[1].split("--lr", 1)[0]
    (task,) = dying.dying_tasks(["relu"], [0.1], [0], epochs=1)
    assert task.config["train"]["optimizer"]["name"] == sgd


# -- defaults typed once: train vs make_config, Dense, --init, the toy data (issue 10 leftovers) ----


def _train_param(name):
    from actlab.cli.training import train_cmd

    return next(p for p in train_cmd.params if p.name == name)


def test_train_and_make_config_read_the_same_defaults():
    import inspect

    from actlab.engine.model import DEFAULT_DTYPE, DTYPES, Sequential

    config_defaults = inspect.signature(make_config).parameters
    for option, keyword, value in (("dataset", "dataset", presets.DEFAULT_DATASET),
                                   ("activation", "activation", presets.DEFAULT_ACTIVATION),
                                   ("seed", "seed", presets.DEFAULT_SEED),
                                   ("dtype", "dtype", DEFAULT_DTYPE)):
        assert _train_param(option).default == config_defaults[keyword].default == value, option
    assert tuple(_train_param("dtype").type.choices) == DTYPES
    assert inspect.signature(Sequential).parameters["dtype"].default == DEFAULT_DTYPE
    # what `actlab train` runs with no options is make_config's run with no settings
    cli = _train_json("--epochs", "1")
    cfg = make_config(study="t", epochs=1)
    assert cli["dataset"] == cfg["data"]["name"] == presets.DEFAULT_DATASET
    assert cli["activation"]["name"] == cfg["model"]["activation"]["name"] == presets.DEFAULT_ACTIVATION
    assert cli["dtype"] == cfg["model"]["dtype"] == DEFAULT_DTYPE
    text = " ".join(CliRunner().invoke(main, ["train", "--help"]).output.split())
    assert f"[default: {presets.DEFAULT_DATASET}]" in text and f"[default: {presets.DEFAULT_ACTIVATION}]" in text


def test_dense_reads_the_default_initializer():
    import inspect

    from actlab.engine import initializers
    from actlab.engine.layers import Dense

    assert inspect.signature(Dense).parameters["kernel_initializer"].default == initializers.DEFAULT_INITIALIZER
    assert Dense(2).kernel_initializer is initializers.get(initializers.DEFAULT_INITIALIZER)


@pytest.mark.parametrize("command", [["train"], ["depth"]])
def test_init_help_lists_every_initializer_of_the_registry(command):
    from actlab.engine.initializers import INITIALIZERS

    text = " ".join(CliRunner().invoke(main, [*command, "--help"]).output.split())
    init_help = text.split("--init TEXT", 1)[1].split("[default:", 1)[0]
    assert all(name in init_help for name in INITIALIZERS), init_help
    assert "critical" in init_help


def test_toy_data_defaults_are_defined_once(monkeypatch):
    import inspect

    import importlib

    from actlab.playground import protocol

    toy = importlib.import_module("actlab.datasets.toy")   # the package's ``toy`` is the function

    for fn in (toy.toy, toy.toy_regression, toy.generate):
        params = inspect.signature(fn).parameters
        assert (params["n_samples"].default, params["noise"].default) == (presets.TOY_SAMPLES, presets.TOY_NOISE)
    assert inspect.signature(toy.toy).parameters["test_fraction"].default == presets.TOY_TEST_FRACTION
    assert inspect.signature(datasets.load_digits).parameters["test_fraction"].default == presets.TEST_FRACTION
    # the loader reads the constants when it is called: a changed default changes the data
    monkeypatch.setattr(presets, "TOY_SAMPLES", 40)
    monkeypatch.setattr(presets, "TOY_TEST_FRACTION", 0.25)
    d = datasets.load("circle")
    assert (d.n_train, d.n_test) == (30, 10)
    monkeypatch.setattr(presets, "TEST_FRACTION", 0.5)
    d = datasets.load("digits")
    assert d.n_test == pytest.approx(1797 / 2, abs=1)
    monkeypatch.undo()
    # the playground's start (TensorFlow Playground's noise and split) and train's --help
    assert protocol.DEFAULT_CONFIG["noise"] == presets.TOY_NOISE
    assert protocol.DEFAULT_CONFIG["train_ratio"] == 1.0 - presets.TOY_TEST_FRACTION
    text = " ".join(CliRunner().invoke(main, ["train", "--help"]).output.split())
    assert f"toy sets: {presets.TOY_SAMPLES})" in text
    assert f"(default {presets.TEST_FRACTION:g}; {presets.TOY_TEST_FRACTION:g} for the toy sets)" in text
    assert f"default {presets.TOY_NOISE:g})" in text
    assert f"{presets.TOY_SAMPLES} points (noise {presets.TOY_NOISE:g})" in presets.PRESETS["circle"].data
