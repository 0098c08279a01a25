"""The code base passes ruff (pyflakes, pycodestyle, pydocstyle numpy convention, imports)."""

import subprocess
import sys

from conftest import ROOT


def test_ruff_check():
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "credence", "tests", "benchmarks", "examples"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
