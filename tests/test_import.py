"""``import credence`` stays light."""

import subprocess
import sys

HEAVY = ["pymc", "pytensor", "arviz", "matplotlib", "dask", "pandas"]


def test_import_does_not_load_heavy_dependencies():
    code = (
        "import sys, credence; credence.Case; credence.assess; print(' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert not [m for m in HEAVY if m in loaded]
