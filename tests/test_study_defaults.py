"""One source for a study's defaults: ``actlab <study>`` with no options runs what ``STUDY.run()`` runs.

Every registered study with a command is invoked through the real ``actlab`` group (the CLI's own
option defaults, parsed by click and turned into parameters by the study's ``from_cli``), with
:func:`actlab.cli.common.run_study` replaced by a stub that records what the command would run.
Oracle: the study's own ``study.params()`` with no arguments, the study name it gives and the
grid it makes (the store keys of its runs, in order). Documented exceptions are checked against their documented source:
MNIST's ``--samples`` in depth and dying (:func:`actlab.studies.shape.cli_samples`), phase's
per-dataset grid (:data:`actlab.studies.phase.DATASET_DEFAULTS`), sweep's grid (its file).

The second test changes each declared default (an integer by one, a float halved, a list by
dropping its last item) and checks that the command follows: a default typed again as a literal in
a click option fails it.
"""
from __future__ import annotations

import pytest
from click.testing import CliRunner

import actlab.studies  # noqa: F401  (every built-in study registers itself)
from actlab import presets
from actlab.backends import DEFAULT_BACKEND
from actlab.cli import diagnostics as study_cli
from actlab.cli import main
from actlab.store import Store
from actlab.studies.compare import parse_activations
from actlab.studies.shape import STUDIES, cli_default, cli_samples

WITH_CLI = sorted(kind for kind, study in STUDIES.items() if study.cli is not None)
SPEC = '[sweep]\ndataset = "digits"\nepochs = 1\n[grid]\nactivation = ["relu", "tanh"]\n'


class _Ran(Exception):
    """Raised by the stub in place of running the study."""


def _given(monkeypatch, tmp_path, study, *args) -> dict:
    """What ``actlab <study's command> ARGS`` hands to ``Study.run`` (its parameters)."""
    seen: dict = {}

    def stub(run, *, store_path, executor, address, workers, rerun, no_progress, study=None, name=None, **given):
        seen.update(given)
        raise _Ran

    monkeypatch.setattr(study_cli, "run_study", stub)
    if study.kind == "sweep":
        spec = tmp_path / "spec.toml"
        spec.write_text(SPEC)
        args = (str(spec), *args)
    res = CliRunner().invoke(main, [*study.cli.path(study.kind), *args, "--store", str(tmp_path / "s.sqlite")])
    assert isinstance(res.exception, _Ran), res.output
    assert seen.pop("data_dir", None) is None
    return seen


def _keys(study, params: dict) -> list[str]:
    return [Store.key(t.config) for t in study.tasks(params, "defaults-test")]


def _api(study, tmp_path, **given) -> dict:
    """``study.params(**given)``; a sweep's grid and fixed settings come from its file (what the command read)."""
    if study.kind == "sweep":
        from actlab.studies.sweep import load_spec

        spec = load_spec(tmp_path / "spec.toml")
        given = {"fixed": spec.fixed, "grid": spec.grid, **given}
    return study.params(**given)


def _check_same(study, cli: dict, api: dict) -> None:
    assert cli == api
    assert study.default_name(cli) == study.default_name(api)   # the same study in the store
    assert _keys(study, cli) == _keys(study, api)                # the same runs, in the same order


@pytest.mark.parametrize("kind", WITH_CLI)
def test_the_command_with_no_options_runs_the_studys_defaults(kind, monkeypatch, tmp_path):
    study = STUDIES[kind]
    given = _given(monkeypatch, tmp_path, study)
    cli, api = study.params(**given), _api(study, tmp_path)
    _check_same(study, cli, api)
    assert {t.config["engine"] for t in study.tasks(cli, "defaults-test")} == {DEFAULT_BACKEND}


@pytest.mark.parametrize("kind", [k for k in ("depth", "dying") if k in WITH_CLI])
def test_mnist_samples_of_a_study_of_many_runs_are_the_notes_draw(kind, monkeypatch, tmp_path):
    """Documented difference: the command draws the notes' 10,000 images; the API takes all 70,000."""
    study = STUDIES[kind]
    given = _given(monkeypatch, tmp_path, study, "--dataset", "mnist")
    assert given["n_samples"] == cli_samples("mnist", None) == presets.NOTES_SAMPLES
    _check_same(study, study.params(**given), study.params(dataset="mnist", n_samples=presets.NOTES_SAMPLES))
    assert cli_samples("digits", None) is None and cli_samples("mnist", 500) == 500


def test_phase_takes_each_datasets_grid_from_dataset_defaults(monkeypatch, tmp_path):
    """Documented difference: ``actlab phase --dataset mnist`` runs MNIST's grid and budget."""
    from actlab.studies.phase import DATASET_DEFAULTS, PHASE

    given = _given(monkeypatch, tmp_path, PHASE, "--dataset", "mnist")
    _check_same(PHASE, PHASE.params(**given), PHASE.params(dataset="mnist", **DATASET_DEFAULTS["mnist"]))


def _changed(value):
    """Another valid value of a default: an integer plus one, a positive float halved, a list less its
    last item; None: leave it (names, None, booleans)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value + 1
    if isinstance(value, float) and value > 0:
        return value / 2
    if isinstance(value, (list, tuple)) and len(value) > 1:
        return type(value)(value[:-1])
    return None


@pytest.mark.parametrize("kind", WITH_CLI)
def test_a_default_changed_in_the_declaration_changes_the_command(kind, monkeypatch, tmp_path):
    """The command reads each default from the declaration: a click option with a literal of its
    own would keep the old value and differ here."""
    study = STUDIES[kind]
    changed = {k: _changed(v) for k, v in study.defaults.items() if _changed(v) is not None}
    assert changed, f"{kind}: no default to change"
    for key, value in changed.items():
        with monkeypatch.context() as m:
            m.setitem(study.defaults, key, value)
            if kind == "phase":   # phase's defaults are digits' DATASET_DEFAULTS (the command reads those)
                from actlab.studies.phase import DATASET_DEFAULTS

                if key in DATASET_DEFAULTS["digits"]:
                    m.setitem(DATASET_DEFAULTS["digits"], key, list(value) if isinstance(value, tuple) else value)
            given = _given(m, tmp_path, study)
            cli, api = study.params(**given), _api(study, tmp_path)
            assert cli[key] == api[key], key
            _check_same(study, cli, api)


def test_cli_default_is_what_the_option_parses_back():
    from actlab.studies.shape import parse_floats, parse_ints, parse_seeds

    d = {"depths": (1, 2, 10), "lrs": (0.001, 1.0), "seeds": (0, 1, 2), "few": (0, 5), "width": 64,
         "activations": ("relu", {"name": "leaky_relu", "alpha": 0.2}), "act": {"name": "elu", "alpha": 0.5},
         "hidden": None}
    assert parse_ints(cli_default(d, "depths"), "--depths") == [1, 2, 10]
    assert parse_floats(cli_default(d, "lrs"), "--lrs") == [0.001, 1.0]
    assert cli_default(d, "seeds") == "3" and parse_seeds("3") == [0, 1, 2]
    assert cli_default(d, "few") == "0,5"
    assert cli_default(d, "activations") == "relu,leaky_relu(alpha=0.2)"
    assert parse_activations(cli_default(d, "activations")) == parse_activations(d["activations"])
    assert cli_default(d, "act") == "elu(alpha=0.5)"
    assert cli_default(d, "width") == 64 and cli_default(d, "hidden") is None
    with pytest.raises(ValueError, match="'nope'"):
        cli_default(d, "nope")


def _commands(group, ctx):
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if hasattr(cmd, "list_commands"):
            yield from _commands(cmd, ctx)
        else:
            yield cmd


def test_every_commands_engine_optimizer_loss_and_init_come_from_the_registries():
    """Engine, optimizer, loss and initializer names and defaults: one definition each, which every
    command (``train``, each study's, any group's subcommands) and the playground read."""
    import click

    from actlab.backends import backend_names, get_backend
    from actlab.engine import initializers, losses, optimizers
    from actlab.playground import protocol
    from actlab.studies.reproduce import LOSS_LABELS

    assert DEFAULT_BACKEND in backend_names() and get_backend(DEFAULT_BACKEND).name == DEFAULT_BACKEND
    assert all(cls.name == name for name, cls in optimizers.OPTIMIZERS.items())
    assert tuple(LOSS_LABELS) == losses.CLASSIFICATION_LOSSES and set(losses.CLASSIFICATION_LOSSES) <= set(losses.LOSSES)
    assert initializers.DEFAULT_INITIALIZER in initializers.INITIALIZERS
    seen = set()
    with click.Context(main) as ctx:
        for cmd in _commands(main, ctx):
            for p in cmd.params:
                if p.name == "engine":
                    assert (tuple(p.type.choices), p.default) == (tuple(backend_names()), DEFAULT_BACKEND), cmd.name
                elif p.name == "optimizer":
                    assert set(p.type.choices) == set(optimizers.OPTIMIZERS), cmd.name
                    assert p.default is None or p.default in optimizers.OPTIMIZERS, cmd.name
                elif p.name == "loss":
                    assert (tuple(p.type.choices), p.default) == (losses.CLASSIFICATION_LOSSES, losses.DEFAULT_LOSS), \
                        cmd.name
                elif p.name in ("init", "kernel_init"):
                    assert p.default == initializers.DEFAULT_INITIALIZER, cmd.name
                else:
                    continue
                seen.add((cmd.name, p.name))
    assert {("train", "engine"), ("train", "optimizer"), ("train", "loss"), ("train", "kernel_init"),
            ("compare", "engine"), ("compare", "optimizer"), ("depth", "init"), ("notes", "loss")} <= seen
    assert protocol.DEFAULT_CONFIG["optimizer"] in protocol.OPTIMIZERS == tuple(optimizers.OPTIMIZERS)
    assert protocol.DEFAULT_CONFIG["initializer"] == initializers.DEFAULT_INITIALIZER
