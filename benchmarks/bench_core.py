"""Core benchmarks of credence: import cost, exact assess, scaling, memory, pgmpy side by side.

Run::

    .venv/bin/python benchmarks/bench_core.py            # full
    .venv/bin/python benchmarks/bench_core.py --quick    # fewer repeats

Prints tables (goal, measured, met/missed); not a test suite. Needs the ``bench``
extra (pgmpy) for the last table; without it that table is skipped.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from cases import make_case, make_case_dict, pgmpy_network  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

console = Console(width=max(150, Console().width))

HEAVY = ("pymc", "arviz", "matplotlib", "dask", "pytensor", "pandas")
MUST_NOT = {"pymc", "arviz", "matplotlib", "dask"}  # pytensor, pandas: "ideally"

MET = "[green]met[/green]"
MISSED = "[bold red]MISSED[/bold red]"


def status(ok: bool) -> str:
    return MET if ok else MISSED


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:,.1f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:,.2f} ms"
    return f"{seconds:,.3f} s"


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:,.1f} {unit}" if unit != "B" else f"{n:,.0f} B"
        n /= 1024
    return f"{n:,.1f} GiB"


def time_call(fn: Callable[[], Any], repeats: int, min_batch: float) -> tuple[float, float]:
    """(median, min) seconds per call over ``repeats`` batches of >= ``min_batch`` s each."""
    fn()  # warm up (lazy imports, caches)
    number = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= min_batch or number >= 1_000_000:
            break
        number *= 2 if elapsed == 0 else max(2, int(min_batch / elapsed * 1.2))
    per_call = []
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            per_call.append((time.perf_counter() - t0) / number)
    finally:
        if gc_was:
            gc.enable()
    return statistics.median(per_call), min(per_call)


# -- 1. import ---------------------------------------------------------------------

_IMPORT_PROBE = r"""
import json, sys, time
HEAVY = %r
def loaded():
    return {m: m in sys.modules for m in HEAVY}
t0 = time.perf_counter()
import credence
t1 = time.perf_counter()
after_import = loaded()
n_after_import = len(sys.modules)
credence.assess  # resolve the lazy API attribute (what `from credence import assess` costs)
t2 = time.perf_counter()
after_attr = loaded()
case = credence.Case(
    claim=credence.Claim(statement="x", prior=0.5),
    sources=[credence.Source(id="s", reliability="B")],
    evidence=[credence.Evidence(id="e", source="s", stance="supports")],
)
credence.assess(case, seed=0)
t3 = time.perf_counter()
after_assess = loaded()
print(json.dumps({"import": t1 - t0, "attr": t2 - t1, "first_assess": t3 - t2,
                  "after_import": after_import, "after_attr": after_attr,
                  "after_assess": after_assess, "n_modules": n_after_import}))
"""


def bench_import(runs: int) -> None:
    probe = _IMPORT_PROBE % (HEAVY,)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="0")
    # one throw-away run so .pyc files exist; then fresh interpreters
    subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, env=env)
    results, walls, bare = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", probe], check=True, capture_output=True, text=True, env=env
        )
        walls.append(time.perf_counter() - t0)
        results.append(json.loads(out.stdout))
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, env=env)
        bare.append(time.perf_counter() - t0)
    med = {k: statistics.median(r[k] for r in results) for k in ("import", "attr", "first_assess")}
    wall, bare_wall = statistics.median(walls), statistics.median(bare)

    t = Table(
        title=f"1. import cost (fresh interpreter, median of {runs} runs)", title_justify="left"
    )
    for col in ("measure", "median", "goal", "status"):
        t.add_column(col, justify="right" if col in ("median", "goal") else "left")
    t.add_row(
        "`import credence`", fmt_time(med["import"]), "<= 0.3 s", status(med["import"] <= 0.3)
    )
    t.add_row(
        "  + resolve `credence.assess` (loads pydantic, numpy, case/io/api)",
        fmt_time(med["attr"]),
        "",
        "",
    )
    both = med["import"] + med["attr"]
    t.add_row(
        "`from credence import assess` (import + resolve)",
        fmt_time(both),
        "<= 0.3 s",
        status(both <= 0.3),
    )
    t.add_row(
        "  + first assess() of a 1-report case (loads scipy.special, exact)",
        fmt_time(med["first_assess"]),
        "",
        "",
    )
    t.add_row(
        "subprocess wall: probe script / bare `python -c pass`",
        f"{fmt_time(wall)} / {fmt_time(bare_wall)}",
        "",
        "",
    )
    console.print(t)

    t = Table(title="   heavy modules in sys.modules (any run)", title_justify="left")
    for col in (
        "module",
        "after `import credence`",
        "after `credence.assess`",
        "after first assess()",
        "required absent",
        "status",
    ):
        t.add_column(col)
    for m in HEAVY:
        flags = [
            any(r[stage][m] for r in results)
            for stage in ("after_import", "after_attr", "after_assess")
        ]
        must = m in MUST_NOT
        ok = not any(flags)
        t.add_row(
            m,
            *("[red]loaded[/red]" if f else "absent" for f in flags),
            "yes" if must else "ideally",
            status(ok) if must else ("absent" if ok else "[yellow]loaded[/yellow]"),
        )
    console.print(t)


# -- 2. the 50-report case, broken down ----------------------------------------------


STAGES = {
    "compile": "compile_case(case)",
    "exact": "exact_assess(compiled)  (posterior + ledger)",
    "draws": "robustness_draws(compiled, posterior, 4000 draws)",
    "posterior": "exact_assess(compile_case(case))",
    "assess": "assess(case)  (total; draws lazy in current API)",
    "interval": "assess(case).interval  (total incl. 4000 draws)",
}


def _stages(case, draws: int = 4000) -> dict[str, Callable[[], Any]]:
    import numpy as np

    import credence
    from credence.compile import compile_case
    from credence.exact import exact_assess, robustness_draws

    compiled = compile_case(case)
    result = exact_assess(compiled)
    rng = np.random.default_rng(0)
    return {
        "compile": lambda: compile_case(case),
        "exact": lambda: exact_assess(compiled),
        "draws": lambda: robustness_draws(compiled, result.posterior, draws, rng),
        "posterior": lambda: exact_assess(compile_case(case)),
        "assess": lambda: credence.assess(case, seed=0),
        "interval": lambda: credence.assess(case, seed=0).interval,
    }


def bench_50(repeats: int, min_batch: float) -> None:
    from credence.compile import compile_case

    case = make_case(50)
    c = compile_case(case)
    n_derived = int(c.report_derived.sum())
    desc = (
        f"50 reports, {len(case.sources)} sources, {c.n_params} parameters "
        f"({int(c.param_random.sum())} Beta), {n_derived} derived, 1 direct"
    )
    t = Table(
        title=f"2. exact assess of one case: {desc}; in-process, median of {repeats}",
        title_justify="left",
    )
    for col in ("stage", "median", "min", "goal", "status"):
        t.add_column(col, justify="left" if col == "stage" else "right")
    for key, fn in _stages(case).items():
        med, best = time_call(fn, repeats, min_batch)
        total = key in ("assess", "interval")
        t.add_row(
            STAGES[key],
            fmt_time(med),
            fmt_time(best),
            "<= 1 ms" if total else "",
            status(med <= 1e-3) if total else "",
        )
    data = make_case_dict(50)
    from credence.io import case_from_dict

    med, best = time_call(lambda: case_from_dict(data), repeats, min_batch)
    t.add_row(
        "(not in goal) case_from_dict(data)  (validation)", fmt_time(med), fmt_time(best), "", ""
    )
    console.print(t)


# -- 3. scaling and memory --------------------------------------------------------------


def _peak(fn: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak


def bench_scale(repeats: int, min_batch: float, sizes: list[int], mem_sizes: list[int]) -> None:
    import credence
    from credence.compile import compile_case
    from credence.exact import exact_assess
    from credence.io import case_from_dict

    t = Table(
        title="3a. scaling: time per call (in-process, case already validated)",
        title_justify="left",
    )
    for col in (
        "reports",
        "sources",
        "derived",
        "compile",
        "exact_assess",
        "robustness_draws",
        "assess()",
        "assess().interval",
        "goal",
        "status",
    ):
        t.add_column(col, justify="right")
    rows: list[tuple[int, int | None]] = [(n, None) for n in sizes] + [(5000, 20)]
    for n, n_sources in rows:
        case = make_case(n, n_sources=n_sources)
        c = compile_case(case)
        stages = _stages(case)
        reps = repeats if n < 5000 else max(3, repeats // 3)
        times = {
            k: time_call(fn, reps, min_batch)[0] for k, fn in stages.items() if k != "posterior"
        }
        compile_t, exact_t, draws_t, total_t, interval_t = (
            times[k] for k in ("compile", "exact", "draws", "assess", "interval")
        )
        goal = n == 5000
        t.add_row(
            f"{n:,}",
            f"{len(case.sources):,}",
            f"{int(c.report_derived.sum()):,}",
            fmt_time(compile_t),
            fmt_time(exact_t),
            fmt_time(draws_t),
            fmt_time(total_t),
            fmt_time(interval_t),
            "<= 100 ms" if goal else "",
            status(max(total_t, interval_t) <= 0.1) if goal else "",
        )
    console.print(t)

    t = Table(
        title="3b. memory: tracemalloc peak during the call (case already validated)",
        title_justify="left",
    )
    for col in (
        "reports",
        "validated Case",
        "compile + exact_assess",
        "per report",
        "assess().interval (4000 draws)",
        "per report",
        "goal",
        "status",
    ):
        t.add_column(col, justify="right")
    per_report: list[float] = []
    for n in mem_sizes:
        data = make_case_dict(n)
        case_bytes = _peak(lambda: case_from_dict(data))
        case = case_from_dict(data)
        exact_bytes = _peak(lambda: exact_assess(compile_case(case)))
        assess_bytes = _peak(lambda: (lambda a: (a, a.interval))(credence.assess(case, seed=0)))
        per_report.append(assess_bytes / n)
        t.add_row(
            f"{n:,}",
            fmt_bytes(case_bytes),
            fmt_bytes(exact_bytes),
            fmt_bytes(exact_bytes / n),
            fmt_bytes(assess_bytes),
            fmt_bytes(assess_bytes / n),
            "",
            "",
        )
    spread = max(per_report[1:]) / min(per_report[1:]) if len(per_report) > 2 else float("nan")
    t.add_row(
        "linear?",
        "",
        "",
        "",
        "",
        f"x{spread:.2f}",
        "bytes/report within x1.5 (from 5,000 up)",
        status(spread <= 1.5),
    )
    console.print(t)


# -- 4. pgmpy side by side -----------------------------------------------------------------


def bench_pgmpy(repeats: int, min_batch: float, sizes: list[int]) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgmpy
            from pgmpy.inference import VariableElimination
    except ImportError:
        console.print("4. pgmpy is not installed (pip install -e '.[bench]'): skipped")
        return
    import numpy as np

    import credence
    from credence.compile import compile_case
    from credence.exact import exact_assess, exact_posterior
    from credence.io import case_from_dict

    t = Table(
        title=(
            f"4. vs pgmpy {pgmpy.__version__} VariableElimination.query(['H'], evidence=all reports), "
            f"fixed reliabilities; pgmpy model built once outside the timing; median of {repeats}"
        ),
        title_justify="left",
    )
    for col in (
        "reports",
        "P(true)",
        "max|Δ| exact/assess",
        "pgmpy query",
        "credence query",
        "ratio",
        "credence exact",
        "ratio",
        "credence assess()",
        "ratio",
        "+ .interval",
        "ratio",
        "goal",
        "status",
    ):
        t.add_column(col, justify="right")
    for n in sizes:
        data = make_case_dict(n, n_sources=max(1, round(0.4 * n)), fixed=True, seed=7 + n)
        case = case_from_dict(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model, observed = pgmpy_network(data)
            ve = VariableElimination(model)

            def query():
                return ve.query(["H"], evidence=observed, show_progress=False)

            pg = query().values
            pg_t = time_call(query, repeats, min_batch)[0]
        compiled = compile_case(case)
        query_post = exact_posterior(compiled)
        q_t = time_call(lambda: exact_posterior(compiled), repeats, min_batch)[0]
        exact_post = exact_assess(compile_case(case)).posterior
        assess_post = credence.assess(case, seed=0).posterior_array
        diff_exact = float(np.max(np.abs(exact_post - pg)))
        diff_assess = float(np.max(np.abs(assess_post - pg)))
        diff_exact = max(diff_exact, float(np.max(np.abs(query_post - pg))))
        ex_t = time_call(lambda: exact_assess(compile_case(case)), repeats, min_batch)[0]
        as_t = time_call(lambda: credence.assess(case, seed=0), repeats, min_batch)[0]
        iv_t = time_call(lambda: credence.assess(case, seed=0).interval, repeats, min_batch)[0]
        ok = max(diff_exact, diff_assess) <= 1e-9 and pg_t / q_t >= 8
        t.add_row(
            f"{n:,}",
            f"{exact_post[0]:.10f}",
            f"{diff_exact:.0e}/{diff_assess:.0e}",
            fmt_time(pg_t),
            fmt_time(q_t),
            f"{pg_t / q_t:,.1f}x",
            fmt_time(ex_t),
            f"{pg_t / ex_t:,.1f}x",
            fmt_time(as_t),
            f"{pg_t / as_t:,.1f}x",
            fmt_time(iv_t),
            f"{pg_t / iv_t:,.1f}x",
            "|Δ|<=1e-9, >=8x",
            status(ok),
        )
    console.print(t)
    console.print(
        "   ratio = pgmpy time / credence time. The goal is judged like for like on `credence "
        "query` = exact_posterior(compiled): P(H | evidence) on a model built once, as pgmpy's "
        "query on its network. `credence exact` = exact_assess(compile_case(case)) adds compiling "
        "the case and the ledger (in-order and leave-one-out), assess() adds building the result, "
        "and `+ .interval` the 4000 robustness draws; pgmpy computes none of these."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller memory sizes")
    parser.add_argument("--skip", nargs="*", default=[], choices=["import", "50", "scale", "pgmpy"])
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also print cProfile top functions of assess(case).interval",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    repeats = 5 if quick else 15
    min_batch = 0.02 if quick else 0.05
    import platform

    import numpy as np

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    console.print(
        f"credence benchmarks — Python {platform.python_version()}, numpy {np.__version__}, "
        f"{os.cpu_count()} cores, load average {load:.2f} at start, {'quick' if quick else 'full'} run"
    )
    if "import" not in args.skip:
        bench_import(3 if quick else 9)
    if "50" not in args.skip:
        bench_50(repeats, min_batch)
    if "scale" not in args.skip:
        bench_scale(repeats, min_batch, [50, 500, 5000], [500, 5000, 50000])
    if "pgmpy" not in args.skip:
        bench_pgmpy(repeats, min_batch, [20, 50, 200])
    if args.profile:
        for n, n_sources in ((50, None), (5000, None), (5000, 20)):
            profile(n, n_sources)


def profile(n: int, n_sources: int | None, top: int = 14) -> None:
    """cProfile of compile, exact_assess and the robustness draws of one case (by own time)."""
    import cProfile
    import pstats

    import credence

    case = make_case(n, n_sources=n_sources)
    calls = max(1, 200 // max(1, n // 50))
    credence.assess(case, seed=0).interval  # warm up
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        credence.assess(case, seed=0).interval
    prof.disable()
    stats = pstats.Stats(prof).sort_stats("tottime")
    total = stats.total_tt / calls
    t = Table(
        title=f"profile: assess(case).interval, {n:,} reports, {len(case.sources):,} sources, "
        f"{calls} calls, {fmt_time(total)}/call under cProfile; top {top} by own time",
        title_justify="left",
    )
    for col in ("function", "calls/assess", "own/assess", "cum/assess", "own %"):
        t.add_column(col, justify="left" if col == "function" else "right")
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    for (file, line, name), (_cc, nc, tt, ct, _callers) in rows:
        where = f"{Path(file).name}:{line}({name})" if line else name
        t.add_row(
            where,
            f"{nc / calls:,.1f}",
            fmt_time(tt / calls),
            fmt_time(ct / calls),
            f"{100 * tt / stats.total_tt:.1f}%",
        )
    console.print(t)


if __name__ == "__main__":
    main()
