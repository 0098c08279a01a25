"""The exact engine against independent oracles, and the model's properties."""

from __future__ import annotations

import copy
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from oracle import quad_log_evidence, quad_posterior, rational_posterior
from strategies import cases, int_beta, prob

from credence import CaseError, assess
from credence.compile import compile_case
from credence.exact import exact_assess, exact_posterior
from credence.io import case_from_dict


def posterior(data):
    return exact_assess(compile_case(case_from_dict(data))).posterior


def valid(data):
    try:
        return case_from_dict(data), compile_case(case_from_dict(data))
    except CaseError:
        assume(False)


@given(cases())
def test_matches_numerical_integration(data):
    case, compiled = valid(data)
    expected = quad_posterior(case)
    got = exact_assess(compiled).posterior
    np.testing.assert_allclose(got, [expected[h] for h in case.hypothesis_ids], rtol=0, atol=1e-9)


@given(cases())
def test_posterior_only_path_agrees(data):
    case, compiled = valid(data)
    full = exact_assess(compiled)
    np.testing.assert_allclose(exact_posterior(compiled), full.posterior, rtol=0, atol=1e-12)


@given(cases())
def test_log_evidence_matches_numerical_integration(data):
    case, compiled = valid(data)
    expected = quad_log_evidence(case)
    got = exact_assess(compiled).log_evidence
    np.testing.assert_allclose(
        got, [expected[h] for h in case.hypothesis_ids], rtol=1e-9, atol=1e-9
    )


@given(cases(param=st.one_of(st.sampled_from([0.1, 0.25, 0.5, 0.75, 0.9]), int_beta)))
def test_matches_exact_rational_arithmetic(data):
    for s in data["sources"]:
        if isinstance(s["reliability"], float):
            s["reliability"] = round(s["reliability"], 2)
        if isinstance(s["reliability"], dict) and "beta" in s["reliability"]:
            s["reliability"] = {"beta": [int(x) + 1 for x in s["reliability"]["beta"]]}
    if "claim" in data and isinstance(data["claim"]["prior"], dict):
        data["claim"]["prior"] = 0.3
    case, compiled = valid(data)
    expected = rational_posterior(case)
    got = exact_assess(compiled).posterior
    np.testing.assert_allclose(got, [float(expected[h]) for h in case.hypothesis_ids], atol=1e-10)


def binary(evidence, sources, prior=0.5):
    return {
        "credence": 1,
        "claim": {"statement": "c", "prior": prior},
        "sources": sources,
        "evidence": evidence,
    }


def test_tiny_posterior_is_exact_not_zero():
    # 16 independent reports of accuracy 0.9 refute: odds 9**-16.
    sources = [{"id": f"s{i}", "reliability": 0.9} for i in range(16)]
    evidence = [{"id": f"e{i}", "source": f"s{i}", "stance": "refutes"} for i in range(16)]
    p_true, p_false = posterior(binary(evidence, sources))
    assert p_true == pytest.approx(1 / (1 + 9**16), rel=1e-12)
    assert 1e-16 < p_true < 1e-14
    assert p_false == pytest.approx(1.0, abs=1e-15)


def test_many_reports_one_source_no_cancellation():
    # 300 reports, mixed stances and copies, from one Beta source: checked exactly.
    evidence = []
    for i in range(300):
        item = {"id": f"e{i}", "source": "s", "stance": "supports" if i % 3 else "refutes"}
        if i % 7 == 6:
            item |= {"derived_from": [f"e{i - 1}"], "copy_probability": 0.5}
        evidence.append(item)
    data = binary(evidence, [{"id": "s", "reliability": {"beta": [3, 2]}}], prior=0.2)
    case, compiled = valid(data)
    expected = rational_posterior(case)
    got = exact_assess(compiled).posterior
    assert got[0] == pytest.approx(float(expected["true"]), rel=1e-10)
    assert got[1] == pytest.approx(float(expected["false"]), rel=1e-10)


@given(cases(), st.randoms())
def test_evidence_order_does_not_matter(data, random):
    valid(data)
    shuffled = copy.deepcopy(data)
    random.shuffle(shuffled["evidence"])
    random.shuffle(shuffled["sources"])
    np.testing.assert_allclose(posterior(data), posterior(shuffled), atol=1e-12)


@given(cases(), st.sampled_from(["supports", "refutes"]))
def test_half_accurate_source_changes_nothing(data, stance):
    valid(data)
    noisy = copy.deepcopy(data)
    noisy["sources"].append({"id": "coin", "reliability": 0.5})
    item = {"id": "flip", "source": "coin"}
    if "claim" in data:
        item["stance"] = stance
    else:
        item["supports"] = [data["hypotheses"][0]["id"]]
    noisy["evidence"].append(item)
    np.testing.assert_allclose(posterior(data), posterior(noisy), atol=1e-12)


@given(cases(derived=False))
def test_pure_copy_changes_nothing(data):
    valid(data)
    sourced = [e for e in data["evidence"] if "source" in e]
    assume(sourced)
    echo = copy.deepcopy(data)
    parent = sourced[0]
    item = {k: v for k, v in parent.items() if k in ("source", "stance", "supports", "refutes")}
    echo["evidence"].append({"id": "echo", **item, "derived_from": [parent["id"]]})
    np.testing.assert_allclose(posterior(data), posterior(echo), atol=1e-12)


@given(prob, prob, st.sampled_from(["supports", "refutes"]))
def test_two_independent_identical_reports_square_the_bayes_factor(r, prior, stance):
    sources = [{"id": "a", "reliability": r}, {"id": "b", "reliability": r}]
    one = posterior(binary([{"id": "x", "source": "a", "stance": stance}], sources, prior))
    two = posterior(
        binary(
            [
                {"id": "x", "source": "a", "stance": stance},
                {"id": "y", "source": "b", "stance": stance},
            ],
            sources,
            prior,
        )
    )
    prior_odds = prior / (1 - prior)
    bf1 = (one[0] / one[1]) / prior_odds
    bf2 = (two[0] / two[1]) / prior_odds
    assert bf2 == pytest.approx(bf1**2, rel=1e-10)


@given(prob, st.sampled_from(["supports", "refutes"]))
def test_lone_f_graded_source_is_uninformative(prior, stance):
    p = posterior(
        binary(
            [{"id": "x", "source": "s", "stance": stance}], [{"id": "s", "reliability": "F"}], prior
        )
    )
    assert p[0] == pytest.approx(prior, abs=1e-12)


@given(cases())
def test_posterior_sums_to_one(data):
    valid(data)
    assert math.fsum(posterior(data)) == pytest.approx(1.0, abs=1e-12)


@given(st.floats(0.05, 0.9), st.floats(0.01, 0.09), prob)
def test_posterior_rises_with_accuracy_of_supporting_source(r, step, prior):
    def p(acc):
        return posterior(
            binary(
                [{"id": "x", "source": "s", "stance": "supports"}],
                [{"id": "s", "reliability": acc}],
                prior,
            )
        )[0]

    assert p(r + step) > p(r)


def test_one_coin_beta_closed_form():
    # Beta(a, b) accuracy, k supporting and j refuting reports:
    # P(E | true) = B(a + k, b + j) / B(a, b), P(E | false) = B(a + j, b + k) / B(a, b).
    a, b, k, j = 4, 3, 5, 2
    evidence = [
        {"id": f"e{i}", "source": "s", "stance": "supports" if i < k else "refutes"}
        for i in range(k + j)
    ]
    p = posterior(binary(evidence, [{"id": "s", "reliability": {"beta": [a, b]}}]))
    from scipy.special import betaln

    log_bf = betaln(a + k, b + j) - betaln(a + j, b + k)
    assert p[0] / p[1] == pytest.approx(math.exp(log_bf), rel=1e-12)


def test_admiralty_override():
    data = binary(
        [{"id": "x", "source": "s", "stance": "supports"}], [{"id": "s", "reliability": "B"}]
    )
    assert posterior(data)[0] == pytest.approx(0.8, abs=1e-12)
    data["admiralty"] = {"B": {"beta": [7, 3]}}
    assert posterior(data)[0] == pytest.approx(0.7, abs=1e-12)
    data["admiralty"] = {"B": 0.6}
    assert posterior(data)[0] == pytest.approx(0.6, abs=1e-12)


def test_direct_likelihood_ratio_and_likelihood():
    p = posterior(binary([{"id": "t", "likelihood_ratio": 4}], [], prior=0.2))
    assert p[0] / p[1] == pytest.approx(4 * 0.25, rel=1e-12)
    multi = {
        "credence": 1,
        "hypotheses": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
        "evidence": [{"id": "d", "likelihood": {"a": 0.9, "b": 0.3, "c": 0.0}}],
    }
    np.testing.assert_allclose(posterior(multi), [0.75, 0.25, 0.0], atol=1e-15)


def test_rational_oracle_is_exact_on_a_hand_case():
    # One source of accuracy 3/4 supports: P(true) = 3/4 with a uniform prior.
    case = case_from_dict(
        binary(
            [{"id": "x", "source": "s", "stance": "supports"}], [{"id": "s", "reliability": 0.75}]
        )
    )
    assert rational_posterior(case)["true"] == Fraction(3, 4)


def test_assess_reports_the_same_posterior():
    data = binary(
        [{"id": "x", "source": "s", "stance": "supports"}],
        [{"id": "s", "reliability": {"beta": [8, 2]}}],
        prior=0.3,
    )
    result = assess(data, seed=0)
    assert result.probability == pytest.approx(0.3 * 0.8 / (0.3 * 0.8 + 0.7 * 0.2), abs=1e-12)
    assert set(result.posterior) == {"true", "false"}
