"""Cost of provenance: copy chains, large parent sets and groups, time and peak memory.

Run::

    .venv/bin/python benchmarks/bench_costs.py            # up to 20,000-report chains
    .venv/bin/python benchmarks/bench_costs.py --quick    # up to 2,000

One process, one table. Each row builds the case as plain data, then times
validation, compilation, ``exact_assess`` (posterior and ledger) and the
robustness draws (4,000) separately; peak memory is tracemalloc's peak over
compile + assess and, separately, over the draws (above what is held before
them), from a second run (tracemalloc slows allocation). Not a test suite:
nothing is asserted.

Figures on the development machine (4,000 draws), before -> after the
recurrence for runs of identical mixtures and the blocked copy draws
(peak memory: before, one figure over compile + assess + draws):

==============================  ================  ================  ===================
case                            exact_assess      draws             peak exact / draws
==============================  ================  ================  ===================
chain 20,000, copy 0.9          9.0 s -> 54 ms    48 ms -> 11 ms    6 -> 9 / 6 MiB
chain 20,000, copy Beta(9, 1)   8.3 s -> 54 ms    7.7 s -> 5.2 s    644 -> 9 / 17 MiB
chain 2,000, copy Beta(9, 1)    78 ms -> 13 ms    0.86 s -> 0.52 s  92 -> 1 / 15 MiB
==============================  ================  ================  ===================

The draws of a per-report copy probability stay O(draws x reports) in time
(each c is drawn); their memory is bounded by blocks.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from credence.compile import compile_case  # noqa: E402
from credence.exact import exact_assess, robustness_draws  # noqa: E402
from credence.io import case_from_dict  # noqa: E402
from credence.testing import chain_case, group_case, parent_set_case  # noqa: E402


def fmt_time(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms" if seconds < 1 else f"{seconds:,.2f} s"


def _run(case, draws: int, traced: bool = False) -> tuple[float, ...]:
    """Times of compile, assess, draws and P(true); with ``traced``, the two peaks."""
    t0 = time.perf_counter()
    compiled = compile_case(case)
    t1 = time.perf_counter()
    result = exact_assess(compiled)
    t2 = time.perf_counter()
    exact_peak = held = 0
    if traced:
        held, exact_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
    robustness_draws(compiled, result.posterior, draws, np.random.default_rng(0))
    t3 = time.perf_counter()
    draws_peak = tracemalloc.get_traced_memory()[1] - held if traced else 0
    return t1 - t0, t2 - t1, t3 - t2, float(result.posterior[0]), exact_peak, draws_peak


def measure(data: dict, draws: int) -> dict[str, float]:
    """Times from one run, peak memory from a second one under tracemalloc."""
    t0 = time.perf_counter()
    case = case_from_dict(data)
    validate = time.perf_counter() - t0
    gc.collect()
    compile_time, assess_time, draws_time, p, _, _ = _run(case, draws)
    gc.collect()
    tracemalloc.start()
    *_, exact_peak, draws_peak = _run(case, draws, traced=True)
    tracemalloc.stop()
    return {
        "validate": validate,
        "compile": compile_time,
        "assess": assess_time,
        "draws": draws_time,
        "exact peak": exact_peak,
        "draws peak": draws_peak,
        "p": p,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="chains up to 2,000 reports")
    parser.add_argument("--draws", type=int, default=4000)
    args = parser.parse_args(argv)

    lengths = [100, 1000, 2000] + ([] if args.quick else [20000])
    rows: list[tuple[str, dict]] = []
    # warm up lazy imports and caches
    measure(chain_case(3, 0.5), 10)
    for n in lengths:
        rows.append((f"chain {n:,}, pure copies", chain_case(n)))
    for n in lengths:
        rows.append((f"chain {n:,}, copy 0.9", chain_case(n, 0.9)))
    for n in lengths:
        rows.append((f"chain {n:,}, copy Beta(9, 1)", chain_case(n, {"beta": [9, 1]})))
    rows.append(("1 report, 2,000 parents", parent_set_case(2000, 1, 2000)))
    rows.append(("200 reports x 200 parents", parent_set_case(1000, 200, 200)))
    if not args.quick:
        rows.append(("2,000 reports x 100 parents", parent_set_case(5000, 2000, 100)))
    for n in [2, 10, 100, 1000, 2000]:
        rows.append((f"group {n:,}, c ~ Beta(1, 1)", group_case(n)))
    rows.append(("group 2,000, c = 0.5", group_case(2000, 0.5)))
    for n in [10, 30]:
        rows.append((f"group {n}, one source, c ~ Beta(1, 1)", group_case(n, n_sources=1)))

    table = Table(title=f"provenance cost ({args.draws:,} robustness draws)", title_justify="left")
    columns = ("validate", "compile", "exact_assess", "draws", "peak exact", "peak draws")
    for col in ("case", *columns, "P(true)"):
        table.add_column(col, justify="left" if col == "case" else "right")
    console = Console(width=140)
    for name, data in rows:
        m = measure(data, args.draws)
        table.add_row(
            name,
            fmt_time(m["validate"]),
            fmt_time(m["compile"]),
            fmt_time(m["assess"]),
            fmt_time(m["draws"]),
            f"{m['exact peak'] / 2**20:,.1f} MiB",
            f"{m['draws peak'] / 2**20:,.1f} MiB",
            f"{m['p']:.6f}",
        )
        console.print(f"[dim]{name}: done[/dim]")
    console.print(table)


if __name__ == "__main__":
    main()
