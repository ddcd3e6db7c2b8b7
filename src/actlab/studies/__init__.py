"""Studies that answer the study notes' questions, run through the results store.

A study is one :class:`~actlab.studies.shape.Study` declaration (:mod:`actlab.studies.shape`:
defaults, grid of runs, summary, report sections, CLI options), registered with
:func:`~actlab.studies.shape.register_study`. ``config`` builds run configurations, ``runner``
executes runs (in parallel, resumable; executors in ``executors``, the display in ``progress``);
``compare`` and ``reproduce`` are the comparison of activations and the notes' MNIST table,
``sweep`` the TOML grids, ``phase`` the edge of chaos in training, ``depth``, ``dying`` and ``boundary`` the diagnostics studies.

Importing this package imports every built-in study (explicitly: a broken study module is an
error here), so that any process that trains or reports their runs has their diagnostics and
reporters.
"""
from . import boundary, compare, depth, dying, phase, reproduce, sweep  # noqa: F401  (they register themselves)
from .compare import CompareSpec, run_compare
from .reproduce import ReproduceSpec, run_reproduce
from .runner import DIAGNOSTICS, Task, make_config, register_diagnostic, run_tasks, train_run
from .shape import STUDIES, Study, StudyCli, register_study

__all__ = ["DIAGNOSTICS", "STUDIES", "CompareSpec", "ReproduceSpec", "Study", "StudyCli", "Task", "make_config",
           "register_diagnostic", "register_study", "run_compare", "run_reproduce", "run_tasks", "train_run"]
