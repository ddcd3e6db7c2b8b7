"""The ``actlab`` command line: one click group, one module per command family.

User mistakes (bad names, bad values, missing data) exit with status 2 and one clear line;
tracebacks are for bugs only (``ACTLAB_DEBUG=1`` shows them for user errors too).
"""
from __future__ import annotations

import os
import sys

import click

# Each module registers its commands on ``main`` through ``register(main)``, in this order; the
# studies declared with a CLI (actlab.studies.shape.STUDIES: compare, depth, dying, boundary,
# reproduce notes, ...) are found by the group on demand.
class _Group(click.Group):
    """The ``actlab`` group: user errors as one line (exit 2); registered studies as commands."""

    def _studies(self) -> list:
        import actlab.studies  # noqa: F401  (every built-in study registers itself)
        from actlab.studies.shape import STUDIES

        return list(STUDIES.values())

    def list_commands(self, ctx):
        from .diagnostics import declared_names

        return sorted({*super().list_commands(ctx), *declared_names(self._studies())})

    def get_command(self, ctx, cmd_name):
        cmd = super().get_command(ctx, cmd_name)
        if cmd is None:
            from .diagnostics import declared_command

            cmd = declared_command(self._studies(), cmd_name)
        return cmd

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
    from .common import check_environment

    check_environment()   # e.g. a bad ACTLAB_GEMM: one line before any command runs


from . import diagnostics, playground, studies, theory, training, zoo  # noqa: E402

for _module in (zoo, training, playground, studies, diagnostics, theory):
    _module.register(main)
