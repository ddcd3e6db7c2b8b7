"""``actlab playground``: the live training page, served locally."""
from __future__ import annotations

import click

from .common import plugin_option


def register(main: click.Group) -> None:
    from actlab.playground import protocol as P

    @main.command("playground")
    @click.option("--host", default="127.0.0.1", show_default=True,
                  help="Address to listen on. Keep 127.0.0.1 unless you mean to share it: any other address "
                       "(0.0.0.0: every interface) prints a warning and requires the per-launch token printed "
                       "in the URL.")
    @click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
                  help="Port to listen on (0: any free port).")
    @click.option("--open", "open_browser", is_flag=True, help="Open the page in the web browser.")
    @click.option("--idle-timeout", type=click.FloatRange(min=0), default=P.IDLE_TIMEOUT_S / 60,
                  show_default=True, metavar="MINUTES",
                  help="Close a tab's session after this many minutes without a message from it "
                       "(0: never), freeing its slot.")
    @click.option("--max-sessions", type=click.IntRange(min=1), default=P.MAX_SESSIONS, show_default=True,
                  help="Sessions (tabs) the server holds at once.")
    @click.option("--max-sessions-per-client", type=click.IntRange(min=1), default=P.MAX_SESSIONS_PER_CLIENT,
                  show_default=True, help="Sessions one client address holds at once.")
    @plugin_option
    def playground(host: str, port: int, open_browser: bool, idle_timeout: float, max_sessions: int,
                   max_sessions_per_client: int, plugins: tuple[str, ...]) -> None:
        """Train networks live in the browser: boundaries, neurons, gradient norms, dead units."""
        from actlab.activations.plugins import load_plugins

        load_plugins(plugins)   # their activations join the menus
        try:
            from actlab.playground.server import serve
        except ModuleNotFoundError as exc:
            raise click.ClickException(str(exc)) from None
        try:
            serve(host=host, port=port, open_browser=open_browser, idle_timeout=idle_timeout * 60 or None,
                  max_sessions=max_sessions, max_sessions_per_client=max_sessions_per_client)
        except ModuleNotFoundError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
