"""The documentation site builds with no warnings."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    env.pop("PYTHONWARNINGS", None)
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "site" / "index.html").exists()
    for page in ("tutorial-north-korea", "case-format", "cli", "model", "api"):
        assert (tmp_path / "site" / page / "index.html").exists(), page
    api = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    assert "credence.assess" in api or "assess" in api


def _sessions(page: Path) -> list[tuple[list[str], list[str]]]:
    """The ``$ credence ...`` commands of a page's console blocks and the lines they print."""
    sessions: list[tuple[list[str], list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
        for line in block.splitlines():
            if line.startswith("$ credence "):
                sessions.append((shlex.split(line)[2:], []))
            elif line.startswith("$ "):
                sessions.append(([], []))  # not a credence command: not checked
            elif sessions:
                sessions[-1][1].append(line)
    return [s for s in sessions if s[0]]


def _close(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize("page", ["cli.md", "case-format.md"])
def test_documented_sessions_are_real(page, tmp_path, monkeypatch):
    """Every ``$ credence`` command shown in these pages prints what the page shows.

    They run beside a copy of ``examples/`` and of the hostile corpus (the files the
    error examples name). Numbers in JSON are compared to 1e-9 relative: the seeded
    robustness draws may differ in the last bits on another CPU.
    """
    from credence.cli import main

    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    for path in (ROOT / "tests" / "hostile").iterdir():
        shutil.copy(path, tmp_path / path.name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "100")
    sessions = _sessions(ROOT / "docs" / page)
    assert sessions
    for argv, expected in sessions:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(argv)
            except SystemExit:
                pass
        lines = [line.rstrip() for line in (out.getvalue() + err.getvalue()).splitlines()]
        if expected and expected[0].startswith("{"):
            assert len(lines) == 1 and _close(json.loads(lines[0]), json.loads(expected[0])), argv
        else:
            assert lines == [line.rstrip() for line in expected], argv
