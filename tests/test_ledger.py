"""The ledger: contributions in order and left out, checked against the oracle."""

from __future__ import annotations

import copy
import math

import numpy as np
from hypothesis import assume, given
from oracle import quad_posterior
from strategies import cases

from credence import CaseError, assess
from credence.io import case_from_dict


def log10_odds(post: dict[str, float], h: str) -> float:
    rest = math.fsum(p for k, p in post.items() if k != h)
    return math.log10(post[h]) - math.log10(rest)


def result_or_skip(data):
    try:
        return assess(data, seed=0, draws=10)
    except CaseError:
        assume(False)


@given(cases())
def test_in_order_contributions_match_prefix_posteriors(data):
    result = result_or_skip(data)
    hyps = result.hypotheses
    prior_case = case_from_dict({**data, "evidence": []})
    before = quad_posterior(prior_case)
    for t in range(len(data["evidence"])):
        prefix = case_from_dict({**data, "evidence": data["evidence"][: t + 1]})
        after = quad_posterior(prefix)
        assume(all(1e-12 < p < 1 - 1e-12 for p in list(before.values()) + list(after.values())))
        expected = [log10_odds(after, h) - log10_odds(before, h) for h in hyps]
        np.testing.assert_allclose(result.in_order[t], expected, atol=1e-7)
        np.testing.assert_allclose(result.path[t], [after[h] for h in hyps], atol=1e-9)
        before = after


@given(cases())
def test_leave_one_out_matches_posterior_without_the_item(data):
    result = result_or_skip(data)
    full = quad_posterior(case_from_dict(data))
    parents = {p for e in data["evidence"] for p in e.get("derived_from", [])}
    for t, item in enumerate(data["evidence"]):
        if item["id"] in parents:
            continue  # removing a parent would change what its children copy
        rest = copy.deepcopy(data)
        del rest["evidence"][t]
        without = quad_posterior(case_from_dict(rest))
        probs = list(full.values()) + list(without.values())
        assume(all(1e-12 < p < 1 - 1e-12 for p in probs))
        expected = [log10_odds(full, h) - log10_odds(without, h) for h in result.hypotheses]
        np.testing.assert_allclose(result.leave_one_out[t], expected, atol=1e-7)


def test_contributions_add_up_to_the_posterior_odds():
    data = {
        "credence": 1,
        "claim": {"statement": "c", "prior": 0.3},
        "sources": [{"id": "a", "reliability": {"beta": [6, 2]}}, {"id": "b", "reliability": "C"}],
        "evidence": [
            {"id": "x", "source": "a", "stance": "supports", "date": "2024-01-03"},
            {"id": "y", "source": "b", "stance": "refutes", "date": "2024-01-01"},
            {"id": "z", "source": "a", "stance": "supports", "date": "2024-01-02"},
        ],
    }
    result = assess(data, seed=0)
    assert result.evidence_ids == ("y", "z", "x")  # date order
    total = result.in_order[:, 0].sum()
    expected = math.log10(result.probability / (1 - result.probability)) - math.log10(0.3 / 0.7)
    assert math.isclose(total, expected, abs_tol=1e-12)
    ledger = result.ledger
    assert list(ledger.index) == ["y", "z", "x"]
    assert {"log10_bf_in_order", "log10_bf_leave_one_out", "probability_after"} <= set(ledger)
