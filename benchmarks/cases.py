"""Synthetic cases for the benchmarks, and the same cases as pgmpy networks.

``make_case_dict(n_reports, seed=...)`` builds a binary case as plain data (the
case-file form): a mix of one-coin Beta / fixed accuracies, two-coin channels,
Admiralty grades, a few derived reports with copy probabilities and one direct
item. With ``fixed=True`` every reliability, copy probability and the prior are
numbers, so the case is an ordinary discrete Bayesian network (hypothesis H ->
one node per report, derived reports also conditioned on their parents) that
``pgmpy_network`` builds independently of credence's compiler.
"""

from __future__ import annotations

from typing import Any

import numpy as np

GRADES = "ABCDEF"


def _prob(rng: np.random.Generator, lo: float, hi: float) -> float:
    return round(float(rng.uniform(lo, hi)), 4)


def _beta(rng: np.random.Generator, lo: float = 1.5, hi: float = 20.0) -> dict[str, list[float]]:
    return {"beta": [round(float(rng.uniform(lo, hi)), 2), round(float(rng.uniform(lo, hi)), 2)]}


def _reliability(rng: np.random.Generator, i: int, fixed: bool) -> Any:
    kind = i % 10  # a fixed, reproducible mix
    if fixed:
        if kind < 7:
            return _prob(rng, 0.52, 0.9)  # one-coin accuracy
        return {"sensitivity": _prob(rng, 0.5, 0.95), "false_positive_rate": _prob(rng, 0.05, 0.6)}
    if kind < 3:
        return _beta(rng)  # one-coin Beta accuracy
    if kind < 5:
        return _prob(rng, 0.52, 0.9)  # one-coin fixed accuracy
    if kind < 7:
        return GRADES[int(rng.integers(0, 6))]  # Admiralty grade
    if kind < 8:
        return {"admiralty": GRADES[int(rng.integers(0, 5))]}
    # two-coin: a Beta sensitivity, the false-positive rate a number or a Beta
    fpr = _beta(rng, 1.5, 8.0) if kind == 9 else _prob(rng, 0.05, 0.6)
    return {"sensitivity": _beta(rng, 4.0, 20.0), "false_positive_rate": fpr}


def make_case_dict(
    n_reports: int,
    *,
    n_sources: int | None = None,
    seed: int = 20241018,
    fixed: bool = False,
    derived_fraction: float = 0.08,
    direct: bool = True,
) -> dict[str, Any]:
    """A binary case of ``n_reports`` sourced reports (plus one direct item) as plain data.

    Parameters
    ----------
    n_reports : int
        Sourced reports.
    n_sources : int, optional
        Default ``max(1, round(0.4 * n_reports))`` (20 sources for 50 reports).
    seed : int
        Everything is drawn from ``numpy.random.default_rng(seed)``.
    fixed : bool
        Fixed numbers for every reliability, copy probability and the prior.
    derived_fraction : float
        Share of reports (after the first few) derived from 1-2 earlier reports.
    direct : bool
        Add one direct item (a likelihood ratio).
    """
    rng = np.random.default_rng(seed)
    if n_sources is None:
        n_sources = max(1, round(0.4 * n_reports))
    sources = [
        {"id": f"s{i}", "reliability": _reliability(rng, i, fixed)} for i in range(n_sources)
    ]
    # every source reports at least once, the rest at random
    owner = np.concatenate(
        [
            np.arange(min(n_sources, n_reports)),
            rng.integers(0, n_sources, max(0, n_reports - n_sources)),
        ]
    )
    rng.shuffle(owner)
    supports = rng.random(n_reports) < 0.6
    derived = rng.random(n_reports) < derived_fraction
    derived[:5] = False
    evidence: list[dict[str, Any]] = []
    for i in range(n_reports):
        item: dict[str, Any] = {
            "id": f"e{i}",
            "source": f"s{owner[i]}",
            "stance": "supports" if supports[i] else "refutes",
        }
        if derived[i]:
            k = int(rng.integers(1, 3))
            parents = rng.choice(i, size=min(k, i), replace=False)
            item["derived_from"] = [f"e{p}" for p in sorted(parents)]
            if fixed or rng.random() < 0.5:
                item["copy_probability"] = _prob(rng, 0.2, 0.9)
            else:
                item["copy_probability"] = _beta(rng, 2.0, 10.0)
        evidence.append(item)
    if direct:
        evidence.insert(n_reports // 2, {"id": "direct", "likelihood_ratio": 1.5})
    prior: Any = 0.4 if fixed else {"beta": [4.0, 6.0]}
    return {
        "credence": 1,
        "title": f"synthetic {n_reports} reports, {n_sources} sources (seed {seed})",
        "claim": {"statement": "synthetic claim", "prior": prior},
        "sources": sources,
        "evidence": evidence,
    }


def make_case(n_reports: int, **kwargs: Any):
    """The same case as a validated :class:`credence.Case`."""
    from credence.io import case_from_dict

    return case_from_dict(make_case_dict(n_reports, **kwargs))


# -- the same (fixed-reliability) case as a pgmpy network ----------------------


def _p_yes(reliability: Any) -> tuple[float, float]:
    """P(yes on {true} | H = true), P(yes on {true} | H = false) of a fixed channel."""
    if isinstance(reliability, dict):
        return float(reliability["sensitivity"]), float(reliability["false_positive_rate"])
    r = float(reliability)
    return r, 1.0 - r


def pgmpy_network(case: dict[str, Any]):
    """The fixed-reliability case as a pgmpy network, and its evidence assignment.

    Node ``H`` (state 0 = claim true, 1 = false) with the claim prior; per report a
    binary node (1 = "supports", 0 = "refutes") with CPD P(report | H) from its
    channel; a derived report also has its parent reports as parents, with
    P(yes | H, parents) = c * (share of parents saying yes) + (1 - c) * P_independent.
    The direct item is a node with P(E | true) / P(E | false) = its likelihood ratio.

    Returns
    -------
    model : pgmpy.models.DiscreteBayesianNetwork
    evidence : dict
        Every report node observed.
    """
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

    prior = float(case["claim"]["prior"])
    channel = {s["id"]: _p_yes(s["reliability"]) for s in case["sources"]}
    edges: list[tuple[str, str]] = []
    cpds = [TabularCPD("H", 2, [[prior], [1.0 - prior]])]
    observed: dict[str, int] = {}
    for item in case["evidence"]:
        node = item["id"]
        edges.append(("H", node))
        if "likelihood_ratio" in item:
            lr = float(item["likelihood_ratio"])
            x, y = lr / (1.0 + lr), 1.0 / (1.0 + lr)  # P(E=1 | true), P(E=1 | false)
            cpds.append(
                TabularCPD(node, 2, [[1 - x, 1 - y], [x, y]], evidence=["H"], evidence_card=[2])
            )
            observed[node] = 1
            continue
        yes_t, yes_f = channel[item["source"]]
        observed[node] = 1 if item["stance"] == "supports" else 0
        parents = item.get("derived_from")
        if not parents:
            cpds.append(
                TabularCPD(
                    node,
                    2,
                    [[1 - yes_t, 1 - yes_f], [yes_t, yes_f]],
                    evidence=["H"],
                    evidence_card=[2],
                )
            )
            continue
        c = float(item.get("copy_probability", 1.0))
        edges.extend((p, node) for p in parents)
        k = len(parents)
        # columns: H most significant, then parents in order (states 0 = refutes, 1 = supports)
        grid = np.array(np.meshgrid(*([[0, 1]] * (k + 1)), indexing="ij")).reshape(k + 1, -1)
        h, pa = grid[0], grid[1:]
        independent = np.where(h == 0, yes_t, yes_f)
        p_yes = c * pa.mean(axis=0) + (1.0 - c) * independent
        cpds.append(
            TabularCPD(
                node,
                2,
                np.vstack([1.0 - p_yes, p_yes]),
                evidence=["H", *parents],
                evidence_card=[2] * (k + 1),
            )
        )
    model = DiscreteBayesianNetwork(edges)
    model.add_cpds(*cpds)
    model.check_model()
    return model, observed
