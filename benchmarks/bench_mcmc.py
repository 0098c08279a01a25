"""The PyMC engine in an analyst's loop, against a hand-written PyMC model of the same case.

Run: ``python benchmarks/bench_mcmc.py`` (several minutes; ``--samplers pymc`` for
PyMC's NUTS only). The case is ``examples/north-korea-troops.yaml``; both sides
sample 2 chains x (1000 tune + 1000 draws) with the same sampler.

Columns, each the wall time of one assessment:

- **first run**: a new process with empty compilation caches (a fresh temporary
  PyTensor ``base_compiledir``, which holds PyTensor's Numba cache, and a fresh
  ``NUMBA_CACHE_DIR``): the first run on a machine.
- **new process**: the same command again in new processes, caches kept
  (median of ``REPEATS``): what an analyst waits for each time they re-run
  ``credence assess --engine mcmc`` after editing the case.
- **in-process warm**: the assessment repeated inside one process (median of
  ``REPEATS`` after a first, untimed one): credence re-uses its cached model
  (a new ``assess`` call); the hand-written side samples its compiled model
  again (``pm.sample`` with the same NUTS step, or ``nutpie.sample``).

Process times include Python's start-up and imports. credence's rows run what
``credence assess FILE --engine mcmc`` runs (the command itself for PyMC's NUTS,
the default), including its ledger, sensitivity, diagnostics and the printed
report; the hand-written rows build the model, sample and print P(true). The
last column is each side's P(true | evidence), against the exact engine's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "north-korea-troops.yaml"
DRAWS, TUNE, CHAINS = 1000, 1000, 2
REPEATS = 3


def hand_written_model():
    """examples/north-korea-troops.yaml written directly in PyMC (see docs/model.md)."""
    import pymc as pm
    import pytensor.tensor as pt

    with pm.Model(coords={"hypothesis": ["true", "false"]}) as model:
        prior = pm.Beta("claim_prior", 2, 8)
        nis = pm.Beta("nis", 16, 4)  # grade B
        zel_s, zel_f = pm.Beta("zelensky_s", 9, 1), pm.Beta("zelensky_f", 3, 7)
        kre_s, kre_f = pm.Beta("kremlin_s", 1, 9), pm.Beta("kremlin_f", 1, 19)
        media = pm.Beta("ukrainian_media", 11, 9)  # grade D
        commentator = pm.Beta("commentator", 1, 1)  # grade F
        copy = pm.Beta("copy", 8, 2)  # zelensky-oct19 repeating nis-oct18
        # P(report | H) for H = (true, false), item by item.
        zelensky_yes = pt.stack([zel_s, zel_f])
        items = [
            zelensky_yes,  # zelensky-oct13 supports
            zelensky_yes,  # zelensky-oct17 supports
            pt.stack([nis, 1 - nis]),  # nis-oct18 supports
            pt.stack([1 - kre_s, 1 - kre_f]),  # peskov-oct18 refutes
            copy * 1.0 + (1 - copy) * zelensky_yes,  # zelensky-oct19, its parent agrees
            # cnn-oct20: a pure copy of agreeing parents, P = 1 under both: no term.
            pt.stack([media, 1 - media]),  # awol-oct21 supports
            pt.stack([1 - commentator, commentator]),  # article refutes
        ]
        log_lik = pt.log(pt.stack(items)).sum(axis=0) + pt.stack([np.log(1.5), 0.0])  # treaty
        joint = pt.log(pt.stack([prior, 1 - prior])) + log_lik
        pm.Potential("evidence", pt.special.logsumexp(joint))
        pm.Deterministic("p", pt.special.softmax(joint), dims="hypothesis")
    return model


def hand_written_sampler(sampler: str):
    """Build and compile the hand-written model; returns a function of a seed giving P(true)."""
    model = hand_written_model()
    if sampler == "nutpie":
        import nutpie

        compiled = nutpie.compile_pymc_model(model)

        def sample(seed):
            return nutpie.sample(
                compiled, draws=DRAWS, tune=TUNE, chains=CHAINS, cores=CHAINS, seed=seed,
                progress_bar=False, save_warmup=False,
            )
    else:
        import pymc as pm

        # Compiled once and reused (pm.sample without ``step`` would compile again
        # on every call).
        step = pm.NUTS(model=model)

        def sample(seed):
            return pm.sample(
                DRAWS, tune=TUNE, chains=CHAINS, cores=1, random_seed=seed, progressbar=False,
                step=step, model=model, compute_convergence_checks=False,
            )

    return lambda seed: float(sample(seed)["posterior"]["p"].sel(hypothesis="true").mean())


def child(kind: str, sampler: str, warm: bool) -> None:
    """One process of the benchmark: prints a JSON line (P(true), in-process times)."""
    import logging
    import warnings

    import pymc  # noqa: F401  (sets its logger's level on import)

    logging.getLogger("pymc").setLevel(logging.WARNING)
    warnings.simplefilter("ignore")
    if kind == "credence":
        from contextlib import redirect_stdout

        from credence import assess
        from credence.report import render

        def once(seed):
            with open(os.devnull, "w") as null, redirect_stdout(null):
                result = assess(EXAMPLE, engine="mcmc", sampler=sampler, seed=seed,
                                draws=DRAWS, tune=TUNE, chains=CHAINS)
                render(result)
            return result.probability
    else:
        once = hand_written_sampler(sampler)

    p = once(1)
    times = []
    if warm:
        for seed in range(2, 2 + REPEATS):
            t = time.perf_counter()
            once(seed)
            times.append(time.perf_counter() - t)
    print(json.dumps({"p_true": p, "warm": times}))


def run_process(args: list[str], env: dict) -> tuple[float, dict]:
    t = time.perf_counter()
    out = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - t
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    last = [line for line in out.stdout.splitlines() if line.startswith("{")]
    return elapsed, (json.loads(last[-1]) if last else {})


def measure(kind: str, sampler: str, cache: Path) -> dict:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # start-up as an installed package has it
    env["PYTENSOR_FLAGS"] = f"base_compiledir={cache / 'pytensor'}"
    env["NUMBA_CACHE_DIR"] = str(cache / "numba")
    me = [sys.executable, str(Path(__file__).resolve()), "--child", kind, sampler]
    if kind == "credence" and sampler == "pymc":
        once = [sys.executable, "-m", "credence", "assess", str(EXAMPLE), "--engine", "mcmc"]
    else:
        once = me
    first, _ = run_process(once, env)
    repeated = [run_process(once, env)[0] for _ in range(REPEATS)]
    _, info = run_process([*me, "--warm"], env)
    return {
        "first": first,
        "process": statistics.median(repeated),
        "warm": statistics.median(info["warm"]),
        "p_true": info["p_true"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", nargs=2, metavar=("KIND", "SAMPLER"))
    parser.add_argument("--warm", action="store_true")
    parser.add_argument("--samplers", nargs="+", default=["pymc", "nutpie"])
    args = parser.parse_args()
    if args.child:
        child(*args.child, warm=args.warm)
        return
    import importlib.util

    from credence import assess

    exact = assess(EXAMPLE).probability
    samplers = [s for s in args.samplers if s != "nutpie" or importlib.util.find_spec("nutpie")]
    rows = []
    for sampler in samplers:
        for kind in ("credence", "hand-written"):
            with tempfile.TemporaryDirectory(prefix="bench-mcmc-") as tmp:
                rows.append((kind, sampler, measure(kind, sampler, Path(tmp))))
    print(f"{EXAMPLE.name}: {CHAINS} chains x ({TUNE} tune + {DRAWS} draws); "
          f"wall seconds; exact P(true) = {exact:.3f}")
    print(f"{'model':<14}{'sampler':<9}{'first run':>11}{'new process':>13}"
          f"{'in-process warm':>17}{'P(true)':>9}")
    for kind, sampler, r in rows:
        print(f"{kind:<14}{sampler:<9}{r['first']:>11.2f}{r['process']:>13.2f}"
              f"{r['warm']:>17.2f}{r['p_true']:>9.3f}")


if __name__ == "__main__":
    main()
