"""Exported reliabilities against the same sources' later reports, and what an export costs.

Run (data home pre-filled)::

    CREDENCE_DATA_HOME=../shared/data python benchmarks/bench_export.py

(a) On real sets with every claim's label known: a two-coin fit is given the
labels of a few claims (10, 30, 100, drawn at random, 5 draws each), and each
source's Betas of sensitivity and false-positive rate are scored on its reports
about the other claims, by the Beta-binomial log probability of how many of them
said the positive label (nats per held-out report; higher is better). Compared:
the pooled fit's own posterior (its learned prior taken as known), the pooled
fit's export (that prior's uncertainty integrated in,
:mod:`credence.discovery.hyperposterior`), and a fit with fixed priors. (b) The
time of the export's integral by number of sources in a group.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from scipy.special import betaln, gammaln

from credence import datasets
from credence.discovery import TruthDiscovery, source_reliabilities
from credence.discovery.hyperposterior import marginal_betas

SETS = ["zheng-product", "snow-rte", "snow-temp", "zheng-bluebirds"]


def _log_score(k: np.ndarray, n: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Beta-binomial log probability of k of n."""
    return (gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
            + betaln(k + a, n - k + b) - betaln(a, b))


def _betas(model: TruthDiscovery, exported: bool) -> dict:
    """(sensitivity, false-positive rate) Beta parameters by source."""
    if exported:
        return {s.id: (s.reliability.sensitivity.beta, s.reliability.false_positive_rate.beta)
                for s in source_reliabilities(model, digits=9)}
    p = model.positive_index_
    params = model.source_params_
    return {str(s): (params[i, p, [p, 1 - p]], params[i, 1 - p, [p, 1 - p]])
            for i, s in enumerate(model.sources_)}


def held_out(name: str, sizes: list[int], draws: int) -> pd.DataFrame:
    data = datasets.load(name)
    reports = data.reports.astype(str)
    truth = data.truth.astype(str)
    truth.index = truth.index.astype(str)
    claims = np.array(sorted(set(reports["claim"]) & set(truth.index)))
    rows = []
    for size in sizes:
        for draw in range(draws):
            train = np.random.default_rng(draw).choice(claims, size, replace=False)
            fitted = reports["claim"].isin(train)
            gold = truth.loc[train]
            options = dict(model="two-coin", copying=False, shared_error=False)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pooled = TruthDiscovery(**options).fit(reports[fitted], gold)
                fixed = TruthDiscovery(**options, pooling=False).fit(reports[fitted], gold)
            positive = pooled.classes_[pooled.positive_index_]
            test = reports[~fitted & reports["source"].isin(pooled.sources_.astype(str))]
            test = test.assign(positive=truth.loc[test["claim"]].to_numpy() == positive)
            counts = test.groupby(["source", "positive"])["label"].agg(
                n="size", k=lambda labels: (labels == positive).sum()).reset_index()
            methods = {"pooled, the fit's own": _betas(pooled, False),
                       "pooled, exported": _betas(pooled, True),
                       "fixed priors": _betas(fixed, False)}
            for method, betas in methods.items():
                ab = np.array([betas[s][0 if p else 1]
                               for s, p in zip(counts["source"], counts["positive"], strict=True)])
                score = _log_score(counts["k"].to_numpy(), counts["n"].to_numpy(), ab[:, 0], ab[:, 1])
                rows.append({"data": name, "labelled claims": size, "method": method,
                             "log score / report": score.sum() / counts["n"].sum(),
                             "median concentration": float(np.median(ab.sum(axis=1)))})
    return pd.DataFrame(rows)


def cost(sizes: list[int]) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for size in sizes:
        n = rng.integers(1, 4, size)
        right = rng.binomial(n, rng.beta(4, 2, size))
        counts = np.stack([right, n - right], axis=1) * rng.uniform(0.5, 1.0, (size, 1))
        start = time.perf_counter()
        marginal_betas(counts)
        rows.append({"sources": size, "seconds": time.perf_counter() - start})
    return pd.DataFrame(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one set, two draws")
    args = parser.parse_args()
    sets, draws = (SETS[:1], 2) if args.quick else (SETS, 5)
    table = pd.concat([held_out(name, [10, 30, 100], draws) for name in sets])
    summary = table.groupby(["data", "labelled claims", "method"], sort=False).mean()
    print("(a) held-out reports of the fitted sources, mean over draws\n")
    print(summary.round(3).to_string())
    print("\n(b) the export's integral, one group of sources\n")
    print(cost([1_000, 10_000] if args.quick else [1_000, 10_000, 30_000]).round(2).to_string(
        index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
