"""The README's sample session is what the command prints."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from credence.testing import run_cli

ROOT = Path(__file__).resolve().parents[1]


def test_readme_session_matches_the_command():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```console\n(.*?)```", text, re.S).group(1).splitlines()
    command, shown = block[0], [line for line in block[1:] if line != "..."]
    argv = shlex.split(command.removeprefix("$ ./dev run credence "))
    run = run_cli(argv, cwd=ROOT)
    assert run.status == 0
    printed = [_stable(line.rstrip()) for line in run.stdout.splitlines()]
    for line in shown:
        message = f"README shows {line!r}; the command prints:\n{run.stdout}"
        assert _stable(line) in printed, message


def _stable(line: str) -> str:
    """The line without the robustness interval's bounds, which are Monte Carlo estimates."""
    return re.sub(r"interval [^)]*\)", "interval ...)", line)
