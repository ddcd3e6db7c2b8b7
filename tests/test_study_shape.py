"""The one study shape (actlab.studies.shape): a study declared in one place gets everything else.

A throwaway study is declared here, in this test module and nowhere else: it gets an ``actlab``
command (its options, plus the common ones), runs through the store and an executor, records
its own diagnostic, and ``actlab report`` rebuilds its report with its own sections. Oracles:
the parameter count of a 64-8-10 MLP worked by hand; the store's records and keys.
"""
import subprocess
import sys

import pytest
from click.testing import CliRunner

from actlab.store import Store

KIND = "throwaway-shape"


def _declare():
    """The whole throwaway study: one declaration (what a new study file holds)."""
    from dataclasses import dataclass, field

    from actlab.report import Section, Table
    from actlab.studies.config import make_config
    from actlab.studies.runner import Task
    from actlab.activations import label_of
    from actlab.studies.shape import Study, StudyCli, check_list, parse_seeds, register_study

    def params_diagnostic(model, data, epoch):
        return {"params": int(model.count_params())} if epoch == 0 else None

    def grid(activations, seeds, *, epochs, study, data_dir=None, n_samples=None, engine="numpy"):
        return [Task(make_config(study=study, seed=s, dataset="digits", hidden="8", activation=a, optimizer="sgd",
                                 learning_rate=0.1, epochs=epochs, batch_size=64, engine=engine, n_samples=n_samples,
                                 data_dir=data_dir, diagnostics={"throwaway_params": {}}), study)
                for a in activations for s in check_list("seeds", seeds, int, 0)]

    @dataclass
    class Result:
        records: list
        settings: dict = field(default_factory=dict)
        reuse: tuple | None = None

    def summarize(records, settings):
        return Result([r for r in records if r], dict(settings))

    def sections(result):
        rows = [[label_of(r["config"]["model"]["activation"]), r["config"]["seed"], r["status"],
                 r["diagnostics"]["throwaway_params"][0]["params"]] for r in result.records]
        return [Section("Throwaway runs", "Every run of the throwaway study.",
                        tables=[Table(["activation", "seed", "status", "params"], rows, name="throwaway-runs")])]

    def options():
        import click

        return [click.option("--activations", default="relu,tanh", show_default=True, help="Comma-separated."),
                click.option("--seeds", default="1", show_default=True, help="N or a list."),
                click.option("--epochs", type=click.IntRange(min=1), default=1, show_default=True)]

    def from_cli(activations, seeds, epochs):
        return {"activations": [a.strip() for a in activations.split(",")], "seeds": parse_seeds(seeds),
                "epochs": epochs}

    def show(result, console):
        console.print(f"throwaway: {len(result.records)} runs")

    return register_study(Study(
        kind=KIND, title="actlab throwaway: the study shape", axes=("activations", "seeds"),
        defaults={"activations": ("relu",), "seeds": (0,), "epochs": 1}, grid=grid, summarize=summarize,
        sections=sections, diagnostics={"throwaway_params": params_diagnostic},
        cli=StudyCli(help="A throwaway study declared in a test.", options=options, from_cli=from_cli, show=show)))


@pytest.fixture()
def throwaway():
    from actlab.report.rebuild import REPORTERS
    from actlab.studies.runner import DIAGNOSTICS
    from actlab.studies.shape import STUDIES

    study = _declare()
    yield study
    STUDIES.pop(KIND, None)
    REPORTERS.pop(KIND, None)
    DIAGNOSTICS.pop("throwaway_params", None)


def test_a_study_declared_in_one_place_gets_a_command_runs_and_is_rebuilt(tmp_path, throwaway):
    from actlab.cli import main

    store_path = tmp_path / "s.sqlite"
    help_text = CliRunner().invoke(main, ["--help"]).output
    assert KIND in help_text
    help_text = CliRunner().invoke(main, [KIND, "--help"]).output
    for opt in ("--activations", "--seeds", "--epochs", "--store", "--executor", "--workers", "--rerun", "--out"):
        assert opt in help_text

    out = tmp_path / "report"
    args = [KIND, "--activations", "relu,tanh", "--seeds", "2", "--store", str(store_path), "--out", str(out),
            "--workers", "1", "--no-progress"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "throwaway: 4 runs" in result.output and "report:" in result.output
    assert "throwaway-runs" in (out / "index.html").read_text()

    store = Store(store_path)
    (study,) = store.studies()
    assert study["kind"] == KIND and study["runs"] == 4
    records = store.runs(study=study["name"])
    assert sorted(r["status"] for r in records) == ["done"] * 4
    # its own diagnostic ran in the run: a 64-8-10 MLP has 64*8 + 8 + 8*10 + 10 = 610 parameters
    assert all(r["diagnostics"]["throwaway_params"] == [{"epoch": 0, "params": 610}] for r in records)
    # the keys are the configurations' hashes, as for every other study
    assert {r["key"] for r in records} == {Store.key(t.config) for t in throwaway.tasks(
        throwaway.params(activations=["relu", "tanh"], seeds=[0, 1], epochs=1), study["name"])}

    # a second run reuses all four
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0 and "4 of 4 runs reused" in result.output

    # `actlab report` rebuilds it with the study's own sections (not the generic report)
    rebuilt = tmp_path / "rebuilt"
    result = CliRunner().invoke(main, ["report", "--study", study["name"], "--store", str(store_path),
                                       "-o", str(rebuilt)])
    assert result.exit_code == 0, result.output
    html = (rebuilt / "index.html").read_text()
    assert "actlab throwaway: the study shape" in html and "throwaway-runs" in html


def test_the_python_api_of_a_declared_study(tmp_path, throwaway):
    from actlab.studies.executors import LocalExecutor

    store = Store(tmp_path / "s.sqlite")
    res = throwaway.run(store=store, activations=["relu"], seeds=[0], executor=LocalExecutor(1))
    assert res.reuse == (0, 1) and [r["status"] for r in res.records] == ["done"]
    assert res.settings["name"].startswith(f"{KIND}-toy-")


def test_registration_fails_loudly(throwaway):
    from dataclasses import replace

    from actlab.studies.runner import _diagnostic
    from actlab.studies.shape import get_study, register_study

    assert get_study(KIND) is throwaway
    with pytest.raises(ValueError, match="registered already"):
        register_study(replace(throwaway, title="another"))
    with pytest.raises(ValueError, match="unknown study 'nope'"):
        get_study("nope")
    with pytest.raises(ValueError, match="unknown diagnostic 'nope'"):
        _diagnostic("nope")


def test_the_built_in_studies_are_registered():
    from actlab.report.rebuild import REPORTERS
    from actlab.studies.runner import DIAGNOSTICS
    from actlab.studies.shape import STUDIES

    assert {"compare", "reproduce-notes", "sweep", "depth", "dying", "boundary", "phase"} <= set(REPORTERS)
    assert {"layers", "units", "final_weights"} <= set(DIAGNOSTICS)
    assert all(STUDIES[kind].cli is not None
               for kind in ("depth", "dying", "boundary", "phase", "sweep", "compare", "reproduce-notes"))
    assert STUDIES["reproduce-notes"].cli.path("reproduce-notes") == ("reproduce", "notes")


def test_the_optional_hooks_of_the_shape(tmp_path, throwaway):
    """resolve, name_of, a title from the result and StudyCli.omit, on the throwaway study."""
    from dataclasses import replace

    from actlab.cli.diagnostics import study_command
    from actlab.studies.executors import LocalExecutor
    from actlab.studies.shape import StudyCli

    with pytest.raises(ValueError, match="StudyCli.omit: workers cannot be omitted; valid: engine, name"):
        StudyCli(help="x", options=list, from_cli=dict, omit=("workers",))
    study = replace(throwaway, title=lambda result: f"throwaway {result.settings['name']}",
                    resolve=lambda p: {**p, "activations": sorted(p["activations"])},
                    name_of=lambda p: "throwaway-" + "-".join(p["activations"]),
                    cli=replace(throwaway.cli, omit=("engine",)))
    store = Store(tmp_path / "s.sqlite")
    res = study.run(store=store, activations=["tanh", "relu"], seeds=[0], executor=LocalExecutor(1))
    assert res.settings["name"] == "throwaway-relu-tanh" and res.settings["activations"] == ["relu", "tanh"]
    assert store.study_info("throwaway-relu-tanh")["params"]["activations"] == ["relu", "tanh"]
    index = study.report(res, tmp_path / "rep")
    assert "throwaway throwaway-relu-tanh" in index.read_text()
    names = [p.name for p in study_command(study).params]
    assert "engine" not in names and {"name", "workers", "store_path", "activations"} <= set(names)


def test_plots_and_reports_do_not_import_the_studies():
    code = ("import sys\n"
            "from actlab.report.rebuild import generic_report\n"
            "from actlab.plots.training import plot_final_accuracy, plot_learning_curves\n"

            "h = {'epoch': [1, 2], 'val_accuracy': [0.5, 0.6], 'loss': [1.0, 0.8]}\n"
            "plot_learning_curves({'relu': [h, h, h]})\n"
            "plot_final_accuracy({'relu': [0.5, 0.6, 0.7]})\n"
            "print(sorted(m for m in sys.modules if m.startswith('actlab.studies')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_actlab_report_in_a_fresh_process_finds_the_built_in_reporters(tmp_path):
    from actlab.studies import dying

    store_path = tmp_path / "s.sqlite"
    res = dying.dying_study(["relu"], [0.1], [0], store=Store(store_path), epochs=1, hidden="4", probe=20)
    cmd = [sys.executable, "-c", "from actlab.cli import main; main()", "report", "--study", res.settings["name"],
           "--store", str(store_path), "-o", str(tmp_path / "again")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "dead-by-lr" in (tmp_path / "again" / "index.html").read_text()


def _declare_with_hooks(calls):
    """A throwaway study that uses every optional hook: resolve, name, a preload check, a title from
    the result, an epilog, and a command that is a subcommand of a group."""
    from dataclasses import dataclass, field

    from actlab.report import Section
    from actlab.studies.config import make_config
    from actlab.studies.runner import Task
    from actlab.studies.shape import Study, StudyCli, register_study

    def resolve(params):                       # e.g. a preset filled in: the stored, named parameters
        return {**params, "width": params["width"] or 4}

    def grid(seeds, *, width, study, data_dir=None, n_samples=None, engine="numpy"):
        return [Task(make_config(study=study, seed=s, dataset="digits", hidden=str(width), optimizer="sgd",
                                 learning_rate=0.1, epochs=1, batch_size=64, engine=engine), study) for s in seeds]

    @dataclass
    class Result:
        records: list
        settings: dict = field(default_factory=dict)
        reuse: tuple | None = None

    def options():
        import click

        return [click.option("--width", type=int, default=None)]

    return register_study(Study(
        kind="throwaway-hooks", title=lambda result: f"throwaway of width {result.settings['width']}",
        defaults={"seeds": (0,), "width": None}, axes=("seeds",), grid=grid,
        summarize=lambda records, settings: Result([r for r in records if r], dict(settings)),
        sections=lambda result: [Section("Runs", f"{len(result.records)} runs")],
        resolve=resolve, name_of=lambda params: f"hooks-w{params['width']}",
        preload=lambda tasks, params: calls.append((len(tasks), params["width"])),
        cli=StudyCli(help="A throwaway subcommand.", options=options, from_cli=lambda width: {"width": width},
                     epilog="The throwaway epilog.", command="throwaway-group sub", group_help="Throwaway group.")))


@pytest.fixture()
def with_hooks():
    from actlab.report.rebuild import REPORTERS
    from actlab.studies.shape import STUDIES

    calls = []
    yield _declare_with_hooks(calls), calls
    STUDIES.pop("throwaway-hooks", None)
    REPORTERS.pop("throwaway-hooks", None)


def test_the_optional_hooks_and_a_group_subcommand(tmp_path, with_hooks):
    from actlab.cli import main

    study, calls = with_hooks
    assert study.params() == {"seeds": [0], "width": 4, "n_samples": None, "engine": "numpy"}
    assert study.default_name(study.params()) == "hooks-w4"
    runner = CliRunner()
    assert "Throwaway group." in runner.invoke(main, ["--help"]).output
    assert "sub" in runner.invoke(main, ["throwaway-group", "--help"]).output
    help_text = runner.invoke(main, ["throwaway-group", "sub", "--help"]).output
    assert "A throwaway subcommand." in help_text and "The throwaway epilog." in help_text and "--store" in help_text
    store_path = tmp_path / "s.sqlite"
    res = runner.invoke(main, ["throwaway-group", "sub", "--width", "3", "--store", str(store_path), "--workers", "1",
                               "--no-progress", "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert calls == [(1, 3)]                                           # the preload check saw the grid
    (stored,) = Store(store_path).studies()
    assert stored["name"] == "hooks-w3" and Store(store_path).study_info("hooks-w3")["params"]["width"] == 3
    assert "throwaway of width 3" in (tmp_path / "r" / "index.html").read_text()
    # actlab report reads the stored parameters back through resolve (a missing setting: its default)
    Store(store_path).define_study("hooks-w3", "throwaway-hooks", {"seeds": [0]})
    res = runner.invoke(main, ["report", "--study", "hooks-w3", "--store", str(store_path), "-o", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    assert "throwaway of width 4" in (tmp_path / "b" / "index.html").read_text()


def test_a_declared_study_command_runs_through_run_study(tmp_path, monkeypatch, throwaway):
    """The study command uses cli.common.run_study: the executor gets --workers as given (None: Ray's
    own CPUs), and Ctrl-C names the study whose finished runs are kept."""
    import contextlib

    from actlab.cli import common, main
    from actlab.studies.shape import Study

    seen = {}

    @contextlib.contextmanager
    def fake_executor(name, address, workers):
        seen["executor"] = (name, address, workers)
        yield None

    def interrupted_run(self, **kw):
        seen["run"] = kw
        raise KeyboardInterrupt

    monkeypatch.setattr(common, "open_executor", fake_executor)
    monkeypatch.setattr(Study, "run", interrupted_run)
    res = CliRunner().invoke(main, [KIND, "--activations", "relu", "--store", str(tmp_path / "s.sqlite"),
                                    "--no-progress"])
    assert res.exit_code == 130, res.output
    name = throwaway.default_name(throwaway.params(activations=["relu"], seeds=[0], epochs=1))
    assert f"0 finished runs of {name} are stored" in res.stderr
    assert seen["executor"] == ("local", None, None) and seen["run"]["name"] == name
    assert seen["run"]["workers"] >= 1 and seen["run"]["progress"] is False
