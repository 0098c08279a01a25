"""The PyMC engine against a hand-written PyMC model of the same 20-report case.

Run: ``python benchmarks/bench_mcmc.py``. Both sides use the same sampler, draws,
tuning and chains. "first" is a fresh structure in this process (build, compile,
sample; credence also computes its diagnostics, ledger and sensitivity); "warm" is
the same again once compiled (credence: a new ``assess`` call hitting its model
cache; hand-written: sampling the already compiled model). ESS/s is the smallest
bulk ESS of P(true | evidence, phi) over the warm time.
"""

from __future__ import annotations

import importlib.util
import logging
import time
import warnings

import numpy as np

from credence import assess
from credence.io import case_from_dict

DRAWS, TUNE, CHAINS = 1000, 1000, 2
PRIOR = 0.3
RELIABILITY = [(16, 4), (13, 7), (11, 9), (8, 2), (3, 2)]


def case_data(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    sources = [
        {"id": f"s{i}", "reliability": {"beta": list(ab)}} for i, ab in enumerate(RELIABILITY)
    ]
    evidence = [
        {"id": f"e{j}", "source": f"s{j % len(RELIABILITY)}",
         "stance": "supports" if rng.random() < 0.7 else "refutes"}
        for j in range(20)
    ]
    return {"credence": 1, "claim": {"statement": "benchmark", "prior": PRIOR},
            "sources": sources, "evidence": evidence}


def hand_written(data: dict):
    import pymc as pm
    import pytensor.tensor as pt

    src = np.array([int(e["source"][1:]) for e in data["evidence"]])
    sup = np.array([e["stance"] == "supports" for e in data["evidence"]])
    a, b = np.array(RELIABILITY, float).T
    with pm.Model(coords={"hypothesis": ["true", "false"]}) as model:
        r = pm.Beta("r", a, b)
        log_r, log_not_r = pt.log(r[src]), pt.log1p(-r[src])
        ll_true = pt.where(sup, log_r, log_not_r).sum()
        ll_false = pt.where(sup, log_not_r, log_r).sum()
        joint = pt.stack([np.log(PRIOR) + ll_true, np.log(1 - PRIOR) + ll_false])
        pm.Potential("evidence", pt.special.logsumexp(joint))
        pm.Deterministic("p", pt.special.softmax(joint), dims="hypothesis")
    return model


def ess_true(tree, var):
    import arviz_stats as azs

    return float(azs.ess(tree, var_names=[var], method="bulk")[var].min())


def run(sampler: str) -> list[tuple]:
    import pymc as pm

    from credence.mcmc import clear_cache

    data = case_data()
    clear_cache()
    opts = dict(engine="mcmc", sampler=sampler, draws=DRAWS, tune=TUNE, chains=CHAINS)
    t = time.perf_counter()
    assess(data, seed=1, **opts)
    first = time.perf_counter() - t
    data2 = case_data()
    data2["sources"][0]["reliability"] = {"beta": [15, 5]}  # same structure, other values
    t = time.perf_counter()
    a = assess(case_from_dict(data2), seed=2, **opts)
    warm = time.perf_counter() - t
    rows = [("credence", sampler, first, warm, ess_true(a.datatree, "hypothesis_posterior") / warm)]

    t = time.perf_counter()
    model = hand_written(data)
    if sampler == "nutpie":
        import nutpie

        compiled = nutpie.compile_pymc_model(model)

        def sample(seed):
            return nutpie.sample(compiled, draws=DRAWS, tune=TUNE, chains=CHAINS, cores=CHAINS,
                                 seed=seed, progress_bar=False, save_warmup=False)
    else:
        def sample(seed):
            return pm.sample(DRAWS, tune=TUNE, chains=CHAINS, cores=1, random_seed=seed,
                             progressbar=False, nuts_sampler="pymc", model=model,
                             compute_convergence_checks=False)
    sample(1)
    first = time.perf_counter() - t
    t = time.perf_counter()
    tree = sample(2)
    warm = time.perf_counter() - t
    rows.append(("hand-written", sampler, first, warm, ess_true(tree, "p") / warm))
    return rows


def main() -> None:
    logging.getLogger("pymc").setLevel(logging.WARNING)
    warnings.simplefilter("ignore")
    samplers = ["pymc"] + (["nutpie"] if importlib.util.find_spec("nutpie") else [])
    rows = [row for s in samplers for row in run(s)]
    print(f"20 reports, 5 sources; {CHAINS} chains x ({TUNE} tune + {DRAWS} draws)")
    print(f"{'model':<14}{'sampler':<9}{'first (s)':>11}{'warm (s)':>10}{'ESS/s warm':>12}")
    for name, sampler, first, warm, ess_s in rows:
        print(f"{name:<14}{sampler:<9}{first:>11.2f}{warm:>10.2f}{ess_s:>12.0f}")


if __name__ == "__main__":
    main()
