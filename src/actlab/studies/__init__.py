"""Studies that answer the study notes' questions, run through the results store.

``runner`` executes runs (in parallel, resumable) and holds the generic run function;
``compare`` and ``reproduce`` are the comparison of activations and the notes' MNIST table;
``stats`` holds the summary statistics. The depth, dying-ReLU and boundary studies live in
their own modules.
"""
from .compare import CompareSpec, run_compare
from .reproduce import ReproduceSpec, run_reproduce
from .runner import DIAGNOSTICS, Task, make_config, register_diagnostic, run_tasks, train_run

__all__ = ["DIAGNOSTICS", "CompareSpec", "ReproduceSpec", "Task", "make_config", "register_diagnostic",
           "run_compare", "run_reproduce", "run_tasks", "train_run"]
