"""``actlab playground``: the live training page, served locally."""
from __future__ import annotations

import click

from .common import plugin_option


def register(main: click.Group) -> None:
    @main.command("playground")
    @click.option("--host", default="127.0.0.1", show_default=True,
                  help="Address to listen on (keep 127.0.0.1 unless you mean to share it).")
    @click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
                  help="Port to listen on.")
    @click.option("--open", "open_browser", is_flag=True, help="Open the page in the web browser.")
    @plugin_option
    def playground(host: str, port: int, open_browser: bool, plugins: tuple[str, ...]) -> None:
        """Train networks live in the browser: boundaries, neurons, gradient norms, dead units."""
        from actlab.activations.plugins import load_plugins

        load_plugins(plugins)   # their activations join the menus
        try:
            from actlab.playground.server import serve
            serve(host=host, port=port, open_browser=open_browser)
        except ModuleNotFoundError as exc:
            raise click.ClickException(str(exc)) from None
