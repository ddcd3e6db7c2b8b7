"""The README's two set-up commands and `.ci/run` say the same thing, and work on stock Debian.

Stock Debian/Ubuntu python3 refuses `pip install` outside a virtual environment (PEP 668), so
both commands create and activate one before pip; CI runs the test command verbatim.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV = "python3 -m venv .venv && . .venv/bin/activate && "


def _readme_commands() -> dict[str, str]:
    """The commands under "# 1." and "# 2." in the README's first bash block."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.DOTALL).group(1).splitlines()
    out = {}
    for i, line in enumerate(block):
        m = re.match(r"# ([12])\. ", line)
        if m:
            out[m.group(1)] = block[i + 1]
    return out


def _ci_command() -> str:
    lines = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith("# The README's test command, verbatim"))
    return next(line for line in lines[i + 1:] if line.strip() and not line.startswith("#"))


def test_ci_runs_the_readme_test_command_verbatim():
    cmds = _readme_commands()
    assert set(cmds) == {"1", "2"}
    assert _ci_command() == cmds["2"]


def test_readme_commands_use_a_venv_before_pip():
    for cmd in _readme_commands().values():
        assert cmd.startswith(VENV), cmd
        rest = cmd[len(VENV):]
        # inside the venv: its python, never the system's python3 (PEP 668 refuses it)
        assert "python3" not in rest and rest.startswith("python -m pip install "), cmd
    assert _readme_commands()["2"].endswith("python -m pytest -q -p no:cacheprovider")


def test_ci_script_parses_and_stops_on_errors():
    text = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "set -euo pipefail" in text
    assert subprocess.run(["bash", "-n", str(REPO / ".ci" / "run")], check=False).returncode == 0
