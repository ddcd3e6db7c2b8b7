"""User activations from plugin files, in this process and in the processes that train runs.

A plugin is a plain Python file that calls :func:`actlab.activations.register`. Load one with
:func:`load_plugin` (the command line: ``--plugin FILE.py``, repeatable, or the environment
variable ``ACTLAB_PLUGINS``, paths separated by ``os.pathsep``).

Runs train in other processes (spawned workers, later other machines), where the user's file
was never loaded, and perhaps cannot be read. So a run whose activation a plugin registered
carries the plugin with it (:func:`config_part`): the SHA-256 of the file's text in the part
of the configuration that forms the run's key (a changed plugin is a different run), the text
itself in the ``runtime`` part (not hashed). :func:`ensure_plugins` is called by the run
function (``studies.runner.train_run``) in whatever process runs it: it loads each plugin the
configuration carries once per process, after checking the text against its hash. The source
comes from the configurations the study builds in the user's own process; nothing stored in a
results store is ever executed.
"""
from __future__ import annotations

import hashlib
import os
import sys
import types
from collections.abc import Iterable
from pathlib import Path

from . import base

__all__ = [
    "PLUGIN_ENV",
    "config_part",
    "ensure_plugins",
    "load_plugin",
    "load_plugins",
    "load_source",
    "loaded",
    "plugin_of",
]

PLUGIN_ENV = "ACTLAB_PLUGINS"

_BY_PATH: dict[str, str] = {}           # resolved path -> sha256 of the text loaded from it
_PLUGINS: dict[str, dict] = {}          # sha256 -> {"file", "sha256", "source", "names"}
_OWNER: dict[str, str] = {}             # activation name or alias -> sha256 of its plugin


def _sha256(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def load_source(source: str, file: str = "<plugin>", sha256: str | None = None) -> list[str]:
    """Run a plugin's text (once per process and text); returns the names it registered.

    ``sha256``, when given, must be the hash of ``source`` (``ValueError`` otherwise). A plugin
    that raises, or calls ``sys.exit``, is a ``ValueError`` naming ``file``.
    """
    digest = _sha256(source)
    if sha256 is not None and sha256 != digest:
        raise ValueError(f"plugin {file!r}: its text does not match its SHA-256 {sha256[:12]}... "
                         f"(got {digest[:12]}...)")
    if digest in _PLUGINS:
        return list(_PLUGINS[digest]["names"])
    before = set(base.names(include_aliases=True))
    mod_name = "actlab_plugin_" + digest[:12]
    module = types.ModuleType(mod_name)
    module.__file__ = file
    try:
        code = compile(source, file, "exec")
        exec(code, module.__dict__)  # noqa: S102 - running the user's own plugin is the point
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the user's file is at fault (sys.exit too): one line, not a traceback
        what = f"called sys.exit({exc.code!r})" if isinstance(exc, SystemExit) else f"{type(exc).__name__}: {exc}"
        raise ValueError(f"plugin {file!r} failed: {what}") from None
    sys.modules[mod_name] = module
    names = sorted(set(base.names(include_aliases=True)) - before)
    _PLUGINS[digest] = {"file": Path(file).name, "sha256": digest, "source": source, "names": names}
    for name in names:
        _OWNER[name] = digest
    return names


def load_plugin(path: str | os.PathLike) -> list[str]:
    """Run a user's Python file (once per process) so that its ``register(...)`` calls take
    effect; returns the activation names it registered."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(f"plugin file not found: {str(path)!r}")
    key = str(p.resolve())
    if key in _BY_PATH:
        return list(_PLUGINS[_BY_PATH[key]]["names"])
    try:
        source = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot load plugin {str(path)!r}: {exc}") from None
    names = load_source(source, str(path))
    _BY_PATH[key] = _sha256(source)
    return names


def load_plugins(paths: Iterable[str | os.PathLike] = ()) -> list[str]:
    """The plugins named in ``ACTLAB_PLUGINS`` and then those given; the names they registered."""
    env = [s for s in os.environ.get(PLUGIN_ENV, "").split(os.pathsep) if s.strip()]
    out: list[str] = []
    for p in [*env, *paths]:
        out += load_plugin(p)
    return out


def loaded() -> list[dict]:
    """The plugins loaded in this process: ``{"file", "sha256", "names"}`` each."""
    return [{k: v for k, v in p.items() if k != "source"} for p in _PLUGINS.values()]


def plugin_of(name: str) -> dict | None:
    """The plugin (``{"file", "sha256", "source", "names"}``) that registered the activation
    ``name``, or None for a built-in one."""
    digest = _OWNER.get(str(name).strip().lower().replace("-", "_"))
    return None if digest is None else dict(_PLUGINS[digest])


def config_part(activation_name: str) -> tuple[list[str], list[dict]]:
    """What a run configuration carries for its activation: ``(shas, runtime_entries)``, the
    plugin's SHA-256 for the key part and ``{"file", "sha256", "source"}`` for ``runtime``;
    ``([], [])`` for a built-in activation."""
    plugin = plugin_of(activation_name)
    if plugin is None:
        return [], []
    return [plugin["sha256"]], [{k: plugin[k] for k in ("file", "sha256", "source")}]


def ensure_plugins(config: dict) -> None:
    """Load every plugin that ``config`` carries (``config["runtime"]["plugins"]``) into this
    process, once each; ``ValueError`` when the configuration names a plugin (``"plugins"``)
    whose text it does not carry, or a text that does not match its hash."""
    entries = (config.get("runtime") or {}).get("plugins") or []
    for entry in entries:
        load_source(entry["source"], entry.get("file") or "<plugin>", entry["sha256"])
    missing = [sha for sha in config.get("plugins") or [] if sha not in _PLUGINS]
    if missing:
        raise ValueError(f"this run needs the plugin with SHA-256 {missing[0][:12]}..., whose text its "
                         "configuration does not carry (config['runtime']['plugins'])")

