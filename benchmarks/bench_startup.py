"""Start-up of the command line, as a whole process, beside what any Python program pays.

Run::

    .venv/bin/python benchmarks/bench_startup.py [--repeats N]

Each command runs N times (default 30) as a fresh process; the table shows the median and
the fastest wall time. The floor rows are what the interpreter and the libraries the exact
engine and the format cannot do without (numpy, pydantic, PyYAML) cost on their own.
Run it with ``PYTHONDONTWRITEBYTECODE`` unset, or stale bytecode is compiled anew on
every start and counted.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CREDENCE = str(Path(PYTHON).with_name("credence"))
CASE = "examples/north-korea-troops.yaml"
GOAL = 0.15

COMMANDS = {
    "python -c pass": [PYTHON, "-c", "pass"],
    "python -c 'import numpy'": [PYTHON, "-c", "import numpy"],
    "python -c 'import numpy, pydantic.main, yaml'": [
        PYTHON,
        "-c",
        "import numpy, pydantic.main, yaml",
    ],
    "the same, OpenBLAS single-threaded (as the exact engine runs)": [
        "env",
        "OPENBLAS_NUM_THREADS=1",
        PYTHON,
        "-c",
        "import numpy, pydantic.main, yaml",
    ],
    "credence --version": [CREDENCE, "--version"],
    f"credence validate {CASE}": [CREDENCE, "validate", CASE],
    f"credence assess {CASE} --json": [CREDENCE, "assess", CASE, "--json"],
    f"credence assess {CASE}": [CREDENCE, "assess", CASE],
}


def wall_times(argv: list[str], repeats: int) -> list[float]:
    """Wall time of ``repeats`` fresh runs of ``argv`` (after one warm-up run)."""
    subprocess.run(argv, cwd=ROOT, capture_output=True, check=True)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    """Print the start-up table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    table = Table(title=f"Start-up, {args.repeats} runs each (seconds)", title_justify="left")
    for column in ("command", "median", "fastest", f"goal ≤ {GOAL} s"):
        table.add_column(column, justify="left" if column == "command" else "right")
    for name, argv in COMMANDS.items():
        times = wall_times(argv, args.repeats)
        median = statistics.median(times)
        goal = ""
        if name.endswith("--json"):
            goal = "met" if median <= GOAL else "missed"
        table.add_row(name, f"{median:.3f}", f"{min(times):.3f}", goal)
    Console().print(table)


if __name__ == "__main__":
    main()
