"""The one study shape: a study is a :class:`Study` declaration, registered with :func:`register_study`.

A study declares its defaults, its grid of runs, its summary and its report sections; everything
else derives from that declaration:

- ``study.run(...)`` makes the grid's run configurations, records the study in the store
  (:meth:`actlab.store.Store.define_study`, so ``actlab report`` can rebuild it), trains what the
  store lacks through :func:`actlab.studies.runner.run_tasks` (any executor) and summarises;
- ``actlab <kind>``: the CLI command, built from the declared options (``actlab.cli`` finds every
  registered study; the store, executor, report and progress options are added to each);
- ``actlab report``: the report rebuilt from the store alone (``study.rebuild``, registered as
  the reporter of its kind in :mod:`actlab.report.rebuild`);
- the study's diagnostics, registered in :data:`actlab.studies.runner.DIAGNOSTICS`.

A new study is one file (plus its test)::

    from actlab.backends import DEFAULT_BACKEND
    from actlab.studies.shape import Study, register_study
    from actlab.studies.config import make_config
    from actlab.studies.runner import Task

    def grid(activations, seeds, *, epochs, study, data_dir=None, n_samples=None, engine=DEFAULT_BACKEND):
        return [Task(make_config(study=study, seed=s, activation=a, epochs=epochs, engine=engine,
                                 n_samples=n_samples, data_dir=data_dir), study)
                for a in activations for s in seeds]

    def summarize(records, settings):       # records: the store's records, in grid order
        return Result(records, settings)    # anything with .settings (and .reuse, set by run)

    def sections(result):                   # -> [actlab.report.Section, ...]
        ...

    MINE = register_study(Study(kind="mine", title="actlab mine: ...", defaults={"activations": ("relu",),
                                "seeds": (0, 1), "epochs": 3}, axes=("activations", "seeds"),
                                grid=grid, summarize=summarize, sections=sections,
                                cli=StudyCli(help="...", options=lambda: [...], from_cli=...)))

Built-in studies are imported by :mod:`actlab.studies` (``__init__``), so that every process that
imports the studies (a spawned worker too) has their diagnostics and reporters; an import error
there is an error, never skipped. This module also holds the helpers the studies share
(:func:`check_list`, :func:`study_params`, :func:`study_name`, the CLI's list parsers and
:func:`cli_default`, which gives every option its default from the declaration; a run's
activation label is :func:`actlab.activations.label_of`).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..backends import DEFAULT_BACKEND
from ..store import Store, canonical_json

__all__ = ["Study", "StudyCli", "STUDIES", "OMITTABLE", "register_study", "get_study", "check_list", "study_params",
           "study_name", "settings_digest", "parse_ints", "parse_seeds", "parse_floats", "cli_default",
           "cli_samples", "samples_option", "data_dir_option", "activation_configs"]


# -- helpers the studies share ----------------------------------------------------------------------
def check_list(name: str, values: Iterable[Any], kind: Any, minimum: float | None = None) -> list:
    """``list(values)``, each of type ``kind`` (not bool) and ``>= minimum``; else a ValueError."""
    values = list(values)
    if not values:
        raise ValueError(f"{name} must not be empty")
    kind_name = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
    for v in values:
        if not isinstance(v, kind) or isinstance(v, bool) or (minimum is not None and v < minimum):
            raise ValueError(f"{name}: {v!r} is not a valid value (expected {kind_name}"
                             f"{'' if minimum is None else f' >= {minimum}'})")
    return values


def study_params(kind_defaults: Mapping, given: dict, lists: Sequence[str]) -> dict:
    """A study's parameters with every default filled in (JSON-able; ``data_dir`` left out)."""
    unknown = sorted(set(given) - set(kind_defaults) - {"data_dir", "n_samples", "engine"})
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)}; valid: {', '.join(sorted(kind_defaults))}")
    params = {k: v for k, v in {**kind_defaults, **given}.items() if k != "data_dir"}
    for k in lists:
        params[k] = list(params[k])
    params.setdefault("n_samples", None)
    params.setdefault("engine", DEFAULT_BACKEND)
    return params


def settings_digest(params: dict) -> str:
    """8 hex digits of the settings (SHA-256 of their canonical JSON): the same settings, the same digits."""
    return hashlib.sha256(canonical_json(params).encode("ascii")).hexdigest()[:8]


def study_name(kind: str, params: dict) -> str:
    """``<kind>-<dataset>-<8 hex digits of the settings>``: the same settings, the same study."""
    return f"{kind}-{params.get('dataset', 'toy')}-{settings_digest(params)}"


def parse_ints(text: str, what: str, minimum: int = 0) -> list[int]:
    """``"1,2,4"`` -> ``[1, 2, 4]`` (a CLI list option named ``what``)."""
    try:
        values = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{what} must be comma-separated integers, got {text!r}") from None
    if not values or any(v < minimum for v in values):
        raise ValueError(f"{what} must be integers >= {minimum}, got {text!r}")
    return values


def parse_seeds(text: str) -> list[int]:
    """``"3"`` = seeds 0, 1, 2; ``"0,5,7"`` = those seeds."""
    values = parse_ints(text, "--seeds")
    if len(values) == 1 and "," not in str(text):
        if values[0] < 1:
            raise ValueError(f"--seeds N needs N >= 1 (seeds 0..N-1), got {text!r}")
        return list(range(values[0]))
    return values


def parse_floats(text: str, what: str) -> list[float]:
    """``"0.1,1"`` -> ``[0.1, 1.0]``, each positive and finite."""
    try:
        values = [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"{what} must be comma-separated numbers, got {text!r}") from None
    if not values or any(not (v > 0 and math.isfinite(v)) for v in values):
        raise ValueError(f"{what} must be positive numbers, got {text!r}")
    return values


def cli_default(defaults: Mapping[str, Any], key: str) -> Any:
    """The command-line form of the declared default ``defaults[key]``: a study option's ``default=``,
    so that ``--help`` shows the declared value and the option parses back to it.

    A list or tuple is joined by commas (numbers as ``str`` writes them, activation configs by their
    label, ``leaky_relu(alpha=0.2)``), except ``seeds`` ``0, 1, ..., n-1``, which is ``"n"`` (the
    count form :func:`parse_seeds` reads); an activation config (a dict with a ``name``) is its
    label; anything else (a number, a name, None: "the dataset's preset") is itself.

    >>> cli_default({"depths": (1, 2, 4), "lrs": (0.01, 1.0)}, "depths"), cli_default({"lrs": (0.01, 1.0)}, "lrs")
    ('1,2,4', '0.01,1.0')
    >>> cli_default({"seeds": (0, 1, 2)}, "seeds"), cli_default({"seeds": (0, 5)}, "seeds")
    ('3', '0,5')
    >>> cli_default({"activations": ("relu", {"name": "leaky_relu", "alpha": 0.2})}, "activations")
    'relu,leaky_relu(alpha=0.2)'
    """
    from ..activations import label_of

    if key not in defaults:
        raise ValueError(f"no default named {key!r}; declared: {', '.join(defaults)}")
    value = defaults[key]
    if isinstance(value, Mapping):
        return label_of(value)
    if not isinstance(value, (list, tuple)):
        return value
    if key == "seeds" and value and list(value) == list(range(len(value))):
        return str(len(value))
    return ",".join(label_of(v) if isinstance(v, Mapping) else str(v) for v in value)


def activation_configs(params: dict) -> dict:
    """A ``resolve`` hook: ``params`` with ``activations`` as activation configs (the name and every
    parameter, defaults filled in), as the command gives them: ``"relu"`` and ``{"name": "relu"}``
    then name the same study (an unknown name is a ValueError here, before anything runs)."""
    from .compare import parse_activations

    return {**params, "activations": parse_activations(params["activations"])}


def cli_samples(dataset: str, samples: int | None) -> int | None:
    """``--samples`` of a command that trains many runs (``depth``, ``dying``): as given; if not
    given, for MNIST and Fashion-MNIST the study notes' draw (:data:`actlab.presets.NOTES_SAMPLES`
    of all 70,000, split 80/20) rather than the official 60,000 / 10,000 split the Python API
    (``n_samples=None``) uses; otherwise None (the whole dataset, as the API)."""
    from .. import presets
    from ..datasets.idx import IDX_NAMES

    if samples is None and dataset in IDX_NAMES:
        return presets.NOTES_SAMPLES
    return samples


def samples_option():
    """``--samples`` of a command that trains many runs (depth, dying, phase): read by :func:`cli_samples`."""
    import click

    return click.option("--samples", type=click.IntRange(min=2), default=None,
                        help="Use this many samples (MNIST: drawn from all 70,000, split 80/20).")


def data_dir_option():
    """``--data-dir`` of every study command that can train on MNIST."""
    import click

    return click.option("--data-dir", type=click.Path(file_okay=False), default=None,
                        help="Where to look for MNIST files first.")


# -- the declaration --------------------------------------------------------------------------------
OMITTABLE = ("engine", "name")   # the common options a study's command may leave out (StudyCli.omit)


@dataclass(frozen=True)
class StudyCli:
    """How a study appears on the command line (``actlab <kind>``).

    ``options()`` returns the study's own click options, in the order ``--help`` lists them (the
    store, executor, report, progress, plugin and rerun options are added by ``actlab.cli``);
    ``from_cli(**values)`` turns their values into the keywords of :meth:`Study.run` (ValueError
    for a bad value); ``show(result, console)`` prints the headline tables. The values named in
    ``report_options`` (e.g. a figure's resolution) go to :meth:`Study.report` instead.
    ``epilog`` ends ``--help``. ``command`` is the command's name, default the kind; two words
    (``"reproduce notes"``) make it a subcommand of a group (``actlab reproduce``), whose
    ``--help`` line is the first ``group_help`` its studies declare.
    """

    help: str
    options: Callable[[], list]
    from_cli: Callable[..., dict]
    show: Callable[[Any, Any], None] | None = None
    report_options: tuple[str, ...] = ()
    omit: tuple[str, ...] = ()      # common options the command does not offer: "engine", "name"
    epilog: str | None = None
    command: str = ""
    group_help: str = ""

    def __post_init__(self):
        bad = sorted(set(self.omit) - set(OMITTABLE))
        if bad:
            raise ValueError(f"StudyCli.omit: {', '.join(bad)} cannot be omitted; valid: {', '.join(OMITTABLE)}")

    def path(self, kind: str) -> tuple[str, ...]:
        """The command's words: ``("boundary",)``, ``("reproduce", "notes")``."""
        words = tuple((self.command or kind).split())
        if not 1 <= len(words) <= 2:
            raise ValueError(f"a study's command is one word or a group and a subcommand, got {self.command!r}")
        return words


@dataclass(frozen=True)
class Study:
    """One study, declared once: see the module docstring.

    ``grid(**params, study=name, data_dir=...)`` returns the study's :class:`~actlab.studies.runner.Task`
    list; ``summarize(records, settings)`` the result object (with a ``settings`` dict; ``run`` sets
    its ``reuse``); ``sections(result)`` the report's sections. ``axes`` are the list-valued
    parameters (the grid's axes: stored as lists). ``diagnostics`` maps a diagnostic name the
    grid's configurations record to its function (``fn(model, data, epoch, **params)``).

    Optional hooks: ``title`` may be ``title(result)`` (a title naming the study);
    ``resolve(params)`` returns the full parameters from the given ones over the defaults (e.g. a
    dataset's preset filled in, names parsed and checked, sorted): they name the study, are stored
    and make the grid; ``name_of(params)`` names the study (default :func:`study_name`);
    ``preload``: True loads each dataset of the grid once before any run (one clear error if one is
    missing), False nothing, or ``preload(tasks, params)`` checks what the study needs (e.g. the
    data and every network's memory).
    """

    kind: str
    title: str | Callable[[Any], str]
    defaults: Mapping[str, Any]
    grid: Callable[..., list]
    summarize: Callable[[list, dict], Any]
    sections: Callable[[Any], list]
    axes: tuple[str, ...] = ()
    diagnostics: Mapping[str, Callable] = field(default_factory=dict)
    cli: StudyCli | None = None
    preload: bool | Callable[[list, dict], None] = True
    resolve: Callable[[dict], dict] | None = None
    name_of: Callable[[dict], str] | None = None

    def params(self, **given: Any) -> dict:
        """The study's parameters: ``given`` over the defaults, resolved (``data_dir`` left out)."""
        params = study_params(self.defaults, given, ())
        if self.resolve is not None:
            params = self.resolve(params)   # may turn e.g. a seed count into the list of seeds
        for k in self.axes:
            params[k] = list(params[k])
        return params

    def default_name(self, params: dict) -> str:
        """The study's name for these (resolved) parameters: the same settings, the same name."""
        return self.name_of(params) if self.name_of is not None else study_name(self.kind, params)

    def tasks(self, params: dict, name: str, data_dir: Any = None) -> list:
        return self.grid(**params, data_dir=data_dir, study=name)

    def run(self, *, store: Store | None = None, workers: int = 1, progress: bool = False, name: str | None = None,
            rerun: bool = False, executor=None, **given: Any):
        """Run (or reuse from ``store``; ``rerun=True`` trains again) every run of the grid and summarise.

        ``given`` are the study's parameters (see ``defaults``; also ``n_samples``, ``engine``
        and ``data_dir``); the study is recorded in the store under ``name`` (default derived
        from the settings, :func:`study_name`).
        """
        from .config import load_data
        from .runner import reuse_or_rerun, run_tasks, train_run

        params = self.params(**given)
        name = name or self.default_name(params)
        store = store if store is not None else Store()
        tasks = self.tasks(params, name, given.get("data_dir"))
        if callable(self.preload):
            self.preload(tasks, params)
        elif self.preload:
            for data, runtime in {canonical_json(t.config["data"]): (t.config["data"], t.config.get("runtime"))
                                  for t in tasks}.values():
                load_data(data, runtime)
        store.define_study(name, self.kind, params)
        reuse = reuse_or_rerun(tasks, store, rerun)
        records = run_tasks(tasks, train_run, store=store, workers=workers, progress=progress,
                            description=f"{name}: runs", executor=executor)
        result = self.summarize(records, {**params, "name": name, "store": str(store.path)})
        result.reuse = reuse
        return result

    def report(self, result: Any, out_dir: Any, *, meta: dict | None = None, **options: Any):
        """Write the study's report into ``out_dir``; returns the path of index.html.

        ``options`` go to ``sections(result, **options)`` (presentation only, e.g. a resolution)."""
        from ..report import write_report

        title = self.title(result) if callable(self.title) else self.title
        return write_report(out_dir, title, self.sections(result, **options), meta=meta)

    def rebuild(self, store: Store, study: str, params: dict, out_dir: Any = None):
        """The report of the stored study ``study`` from the store alone (``actlab report``).

        The stored parameters are read as :meth:`params` reads given ones (a setting stored by an
        older version without it takes its default; keys the study no longer has are ignored).
        Where the store holds none of the grid's runs by key (stored by a version whose keys
        differ), the runs tagged with the study are summarised."""
        from ..report import default_out_dir

        params = self.params(**{k: v for k, v in params.items() if k in self.defaults or k in ("n_samples", "engine")})
        records = [store.get(Store.key(t.config)) for t in self.tasks(params, study)]
        if not any(records):
            records = store.runs(study=study)
        result = self.summarize(records, {**params, "name": study, "store": str(store.path)})
        return self.report(result, out_dir if out_dir is not None else default_out_dir(study),
                           meta={"study": study, "store": str(store.path)})


STUDIES: dict[str, Study] = {}


def register_study(study: Study, *, overwrite: bool = False) -> Study:
    """Register ``study``: its reporter, its diagnostics, its CLI command (``actlab <kind>``).

    A kind registered twice is an error (``overwrite=True`` replaces it, e.g. a module reloaded).
    """
    from ..report.rebuild import register_reporter
    from .runner import DIAGNOSTICS

    if not isinstance(study, Study):
        raise ValueError(f"register_study expects a Study, got {study!r:.100}")
    if study.kind in STUDIES and not overwrite and STUDIES[study.kind] is not study:
        raise ValueError(f"a study of kind {study.kind!r} is registered already")
    if study.cli is not None:
        study.cli.path(study.kind)   # a valid command name
    for name, fn in study.diagnostics.items():
        if DIAGNOSTICS.get(name, fn) is not fn:
            raise ValueError(f"study {study.kind!r}: the diagnostic {name!r} is registered already")
        DIAGNOSTICS[name] = fn
    register_reporter(study.kind, study.rebuild, overwrite=True)
    STUDIES[study.kind] = study
    return study


def get_study(kind: str) -> Study:
    """The registered study of ``kind`` (ValueError naming the registered ones otherwise)."""
    if kind not in STUDIES:
        raise ValueError(f"unknown study {kind!r}; registered: {', '.join(sorted(STUDIES)) or 'none'}")
    return STUDIES[kind]
