"""Explain-the-verdict benchmark: what_would_change, prior_sensitivity, reliability_tornado.

Run::

    .venv/bin/python benchmarks/bench_explain.py            # 10, 50, 100, 200 reports
    .venv/bin/python benchmarks/bench_explain.py --quick    # 10 and 50, one repeat

Synthetic binary cases from ``cases.make_case`` (a mix of one-coin, graded and
two-coin sources, a few derived reports, one direct item). Each time is the best
of a few runs, after one warm-up. Goal: the full sweep (all three) of a 50-item
case in under a second. Prints a table; not a test suite.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from cases import make_case  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from credence.explain import (  # noqa: E402
    prior_sensitivity,
    reliability_tornado,
    what_would_change,
)

GOAL_REPORTS = 50
GOAL_SECONDS = 1.0


def best_time(fn, repeats: int) -> tuple[float, object]:
    result = fn()  # warm-up: lazy imports (scipy for the tornado)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = (10, 50) if args.quick else (10, 50, 100, 200)
    repeats = 1 if args.quick else 3

    table = Table(title="credence.explain on synthetic cases (best of runs)")
    for column in (
        "reports",
        "sources",
        "rows",
        "what_would_change",
        "prior_sensitivity",
        "tornado",
        "full sweep",
        f"goal (< {GOAL_SECONDS:g} s at {GOAL_REPORTS})",
    ):
        table.add_column(column, justify="right")
    for n in sizes:
        case = make_case(n)
        t_change, changes = best_time(lambda case=case: what_would_change(case), repeats)
        t_prior, _ = best_time(lambda case=case: prior_sensitivity(case), repeats)
        t_tornado, _ = best_time(lambda case=case: reliability_tornado(case), repeats)
        total = t_change + t_prior + t_tornado
        goal = ""
        if n == GOAL_REPORTS:
            goal = "[green]met[/green]" if total < GOAL_SECONDS else "[bold red]MISSED[/bold red]"
        table.add_row(
            str(n),
            str(len(case.sources)),
            str(len(changes.rows)),
            fmt(t_change),
            fmt(t_prior),
            fmt(t_tornado),
            fmt(total),
            goal,
        )
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
