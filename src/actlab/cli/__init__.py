"""The ``actlab`` command line: one click group, one module per command family.

User mistakes (bad names, bad values, missing data) exit with status 2 and one clear line;
tracebacks are for bugs only (``ACTLAB_DEBUG=1`` shows them for user errors too).
"""
from __future__ import annotations

import importlib
import os
import sys

import click

# Each module registers its commands on ``main`` through ``register(main)``.
COMMAND_MODULES = [
    "actlab.cli.zoo",        # list, show, plot, check
    "actlab.cli.training",   # train, compare
    "actlab.cli.playground",  # playground
    "actlab.cli.studies",    # compare (the study; after training), reproduce, runs, report
    "actlab.cli.diagnostics",  # depth, dying, boundary
    "actlab.cli.theory",     # criticality
    "actlab.cli.phase",      # phase
]


class _Group(click.Group):
    def invoke(self, ctx):
        from actlab.datasets.idx import DownloadError  # a failed download is the user's network, not a bug

        try:
            return super().invoke(ctx)
        except (ValueError, FileNotFoundError, KeyError, DownloadError) as exc:
            if os.environ.get("ACTLAB_DEBUG"):
                raise
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            click.echo(f"actlab: error: {msg}", err=True)
            sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="actlab")
def main() -> None:
    """actlab: see, derive, train and compare activation functions."""


for _name in COMMAND_MODULES:
    try:
        _mod = importlib.import_module(_name)
    except ModuleNotFoundError as _exc:  # a command family not written yet
        if _exc.name != _name:
            raise
        continue
    _mod.register(main)
