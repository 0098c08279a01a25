"""Value of information against closed forms, numerical integration and its own identities."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from conftest import EXAMPLES
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from oracle import quad_log_evidence
from scipy import integrate, stats
from strategies import cases

from credence import CaseError, assess
from credence.case import Beta, TwoCoin
from credence.compile import compile_case
from credence.exact import exact_assess, exact_log_evidence
from credence.explain.voi import rank_next_sources, value_of_information
from credence.io import case_from_dict, load_case
from credence.words import words

NK = EXAMPLES / "north-korea-troops.yaml"
ACH = EXAMPLES / "competing_hypotheses.yaml"


def entropy(p):
    p = np.asarray(p)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def binary(prior=0.5, evidence=(), sources=()):
    return {
        "credence": 1,
        "claim": {"statement": "c", "prior": prior},
        "sources": list(sources),
        "evidence": list(evidence),
    }


def check_identities(v):
    """Martingale, entropy reduction two ways, probabilities that sum to 1."""
    np.testing.assert_allclose(v.preposterior_mean, v.posterior, rtol=0, atol=1e-12)
    np.testing.assert_allclose(v.probability.sum(), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(v.likelihood.sum(axis=0)[v.posterior > 0], 1.0, atol=1e-12)
    after = sum(
        p * entropy(post) for p, post in zip(v.probability, v.posteriors, strict=True) if p > 0
    )
    assert v.expected_entropy_reduction == pytest.approx(entropy(v.posterior) - after, abs=1e-12)
    # Mutual information: non-negative up to rounding.
    assert v.expected_entropy_reduction >= -1e-12
    assert 0.0 <= v.p_band_change <= 1.0 + 1e-12
    assert 0.0 <= v.p_leading_change <= 1.0 + 1e-12


# -- closed forms --------------------------------------------------------------------


@pytest.mark.parametrize("r", [0.5, 0.6, 0.8, 0.95, 0.3])
def test_new_one_coin_source_follows_bayes_rule(r):
    data = binary(
        {"beta": [2, 5]},
        sources=[{"id": "s", "reliability": "C"}],
        evidence=[
            {"id": "a", "source": "s", "stance": "supports"},
            {"id": "b", "likelihood_ratio": 2.5},
        ],
    )
    p = assess(data).probability
    v = value_of_information(data, source="new", reliability=r)
    yes = p * r + (1 - p) * (1 - r)
    no = p * (1 - r) + (1 - p) * r
    np.testing.assert_allclose(v.probability, [yes, no], rtol=0, atol=1e-12)
    np.testing.assert_allclose(v.likelihood, [[r, 1 - r], [1 - r, r]], rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        v.posteriors[:, 0], [p * r / yes, p * (1 - r) / no], rtol=0, atol=1e-12
    )
    assert v.hypothetical and v.about == ("true",) and v.subject == "true"
    check_identities(v)


def test_band_and_leader_change_by_hand():
    # prior 0.6, a 90% source: yes -> 0.931 (true leads), no -> 0.143 (false leads)
    v = value_of_information(binary(0.6), source="x", reliability=0.9)
    p_no = 0.6 * 0.1 + 0.4 * 0.9
    assert v.p_leading_change == pytest.approx(p_no, abs=1e-12)
    assert words(0.6) == "likely"
    assert v.words_after == ("very likely", "very unlikely")  # 0.931, 0.143
    assert v.p_band_change == pytest.approx(1.0, abs=1e-12)
    # a 52% source cannot move 0.5 out of "roughly even chance" nor change the leader
    v = value_of_information(binary(0.5), source="x", reliability=0.52)
    assert v.p_band_change == 0.0
    assert v.p_leading_change == pytest.approx(0.5, abs=1e-12)  # "no" makes false lead


@pytest.mark.parametrize(
    "reliability",
    [
        0.5,
        "E",
        "F",
        Beta(3, 3),
        {"beta": [7, 7]},
        TwoCoin(sensitivity=0.3, false_positive_rate=0.3),
    ],
)
def test_a_source_that_says_nothing_has_no_value(reliability):
    # Any new source whose predictive P(yes | H) is the same under every H.
    for data in (load_case(NK), load_case(ACH)):
        v = value_of_information(data, source="coin", reliability=reliability)
        assert abs(v.expected_entropy_reduction) <= 1e-12
        assert v.p_band_change == 0.0 and v.p_leading_change == 0.0
        for post in v.posteriors:
            np.testing.assert_allclose(post, v.posterior, rtol=0, atol=1e-12)


def test_a_perfect_source_removes_all_uncertainty():
    # accuracy 1 on a binary claim: the answer reveals the truth; information = entropy.
    v = value_of_information(binary(0.3), source="oracle", reliability=1.0)
    assert v.expected_entropy_reduction == pytest.approx(entropy([0.3, 0.7]), abs=1e-12)
    np.testing.assert_allclose(v.posteriors, [[1, 0], [0, 1]], atol=1e-12)


def test_an_impossible_answer_has_no_posterior():
    # The claim is certain after an accuracy-1 report; "no" from that source is impossible.
    data = binary(
        0.5,
        sources=[{"id": "s", "reliability": 1.0}],
        evidence=[{"id": "a", "source": "s", "stance": "supports"}],
    )
    v = value_of_information(data, source="s")
    np.testing.assert_allclose(v.probability, [1.0, 0.0], atol=1e-12)
    assert np.isnan(v.posteriors[1]).all()
    assert v.to_dict()["answers"][1]["posterior"] == {"true": None, "false": None}
    check_identities(v)


# -- an existing source: its reliability is informed by its reports ---------------------


def test_existing_beta_source_by_numerical_integration():
    # s ~ Beta(3, 2): two supports, one refutes, and a partial copy of t's report
    # (copy probability Beta(2, 3), mean 0.4; it enters linearly, so its mean is exact).
    data = binary(
        0.4,
        sources=[{"id": "s", "reliability": {"beta": [3, 2]}}, {"id": "t", "reliability": 0.7}],
        evidence=[
            {"id": "t1", "source": "t", "stance": "supports"},
            {"id": "s1", "source": "s", "stance": "supports"},
            {"id": "s2", "source": "s", "stance": "supports"},
            {"id": "s3", "source": "s", "stance": "refutes"},
            {
                "id": "s4",
                "source": "s",
                "stance": "supports",
                "derived_from": ["t1"],
                "copy_probability": {"beta": [2, 3]},
            },
        ],
    )
    cbar = 0.4

    def likelihood(r, h, extra=None):  # P(evidence [+ one more report of s] | H, r)
        right = r if h else 1 - r  # P(supports | H, r)
        t = 0.7 if h else 0.3
        out = t * right * right * (1 - right) * (cbar + (1 - cbar) * right)
        if extra == "yes":
            out *= right
        elif extra == "no":
            out *= 1 - right
        return out * stats.beta.pdf(r, 3, 2)

    def integral(h, extra=None):
        return integrate.quad(likelihood, 0, 1, args=(h, extra), epsabs=1e-14, epsrel=1e-13)[0]

    prior = np.array([0.4, 0.6])
    evidence = np.array([integral(True), integral(False)])
    posterior = prior * evidence / (prior * evidence).sum()
    lik = np.array([[integral(h, a) / integral(h) for h in (True, False)] for a in ("yes", "no")])
    p_answer = lik @ posterior
    after = lik * posterior / p_answer[:, None]

    v = value_of_information(data, source="s")
    assert not v.hypothetical
    np.testing.assert_allclose(v.posterior, posterior, rtol=0, atol=1e-8)
    np.testing.assert_allclose(v.likelihood, lik, rtol=0, atol=1e-8)
    np.testing.assert_allclose(v.probability, p_answer, rtol=0, atol=1e-8)
    np.testing.assert_allclose(v.posteriors, after, rtol=0, atol=1e-8)
    check_identities(v)


def test_existing_two_coin_source_about_another_set_by_numerical_integration():
    # K = 3; source g is two-coin: s = P(yes on A | H in A) ~ Beta(4, 2),
    # f = P(yes on A | H not in A) ~ Beta(2, 5). It has said "yes" on {a} twice.
    # Asked about {a, b}: under H = b the new report depends on s, the old ones on f.
    data = {
        "credence": 1,
        "hypotheses": [
            {"id": "a", "prior": 0.2},
            {"id": "b", "prior": 0.5},
            {"id": "c", "prior": 0.3},
        ],
        "sources": [
            {
                "id": "g",
                "reliability": {
                    "sensitivity": {"beta": [4, 2]},
                    "false_positive_rate": {"beta": [2, 5]},
                },
            }
        ],
        "evidence": [
            {"id": "g1", "source": "g", "supports": ["a"]},
            {"id": "g2", "source": "g", "supports": ["a"]},
        ],
    }
    pdf_s = stats.beta(4, 2).pdf
    pdf_f = stats.beta(2, 5).pdf

    def expect(fn, pdf):
        return integrate.quad(lambda x: fn(x) * pdf(x), 0, 1, epsabs=1e-14, epsrel=1e-13)[0]

    # old reports: s^2 under a, f^2 under b and c; new "yes" on {a, b}: s under a, b; f under c
    old = {"a": (lambda s: s**2, pdf_s), "b": (lambda f: f**2, pdf_f), "c": (lambda f: f**2, pdf_f)}
    evidence = np.array([expect(*old[h]) for h in "abc"])
    yes = np.array(
        [
            expect(lambda s: s**3, pdf_s) / evidence[0],
            4 / 6,  # E[s]: under b the old reports taught f only
            expect(lambda f: f**3, pdf_f) / evidence[2],
        ]
    )
    prior = np.array([0.2, 0.5, 0.3])
    posterior = prior * evidence / (prior * evidence).sum()
    lik = np.vstack([yes, 1 - yes])
    p_answer = lik @ posterior
    v = value_of_information(data, source="g", about=["b", "a"])
    assert v.about == ("a", "b")
    np.testing.assert_allclose(v.likelihood, lik, rtol=0, atol=1e-8)
    np.testing.assert_allclose(v.probability, p_answer, rtol=0, atol=1e-8)
    np.testing.assert_allclose(v.posteriors, lik * posterior / p_answer[:, None], atol=1e-8)
    check_identities(v)


# -- properties over random cases ---------------------------------------------------------


def valid(data):
    try:
        return case_from_dict(data), compile_case(case_from_dict(data))
    except CaseError:
        assume(False)


@settings(max_examples=40, deadline=None)
@given(cases(), st.data())
def test_preposterior_identities_hold(data, draw):
    case, _ = valid(data)
    source = draw.draw(st.sampled_from([s.id for s in case.sources]))
    about = None
    if not case.is_binary:
        about = draw.draw(
            st.lists(st.sampled_from(case.hypothesis_ids), min_size=1, max_size=2, unique=True)
        )
    before = copy.deepcopy(case.to_dict())
    try:
        v = value_of_information(case, source=source, about=about)
    except CaseError:
        assume(False)
    check_identities(v)
    np.testing.assert_allclose(v.posterior, assess(case).posterior_array, rtol=0, atol=1e-12)
    assert case.to_dict() == before  # the input is untouched


@settings(max_examples=20, deadline=None)
@given(cases(max_items=4))
def test_predictive_probability_matches_numerical_integration(data):
    # P(yes | H, E) = P(E, yes | H) / P(E | H), both by the quadrature oracle.
    case, _ = valid(data)
    source = case.sources[0].id
    about = None if case.is_binary else [case.hypothesis_ids[1]]
    v = value_of_information(case, source=source, about=about)
    extra = {"id": "extra", "source": source}
    extra |= {"stance": "supports"} if case.is_binary else {"supports": about}
    more = case_from_dict(data | {"evidence": [*data["evidence"], extra]})
    before, after = quad_log_evidence(case), quad_log_evidence(more)
    expected = [np.exp(after[h] - before[h]) for h in case.hypothesis_ids]
    live = v.posterior > 1e-12
    np.testing.assert_allclose(v.likelihood[0][live], np.array(expected)[live], atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(cases())
def test_exact_log_evidence_is_the_engines(data):
    _, compiled = valid(data)
    np.testing.assert_allclose(
        exact_log_evidence(compiled), exact_assess(compiled).log_evidence, rtol=1e-12, atol=1e-10
    )


# -- ranking ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [NK, ACH])
def test_ranking_order_matches_the_values(path):
    case = load_case(path)
    candidates = {
        "new-a": "A",
        "coin": 0.5,
        "insider": TwoCoin(sensitivity=0.9, false_positive_rate=0.2),
    }
    ranking = rank_next_sources(case, candidates=candidates)
    assert sorted(ranking.sources) == sorted([s.id for s in case.sources] + list(candidates))
    values = [v.expected_entropy_reduction for v in ranking.entries]
    assert all(a >= b - 1e-12 for a, b in zip(values, values[1:], strict=False))
    for v in ranking.entries:
        alone = value_of_information(
            case,
            source=v.source,
            reliability=candidates.get(v.source),
            about=ranking.about if not case.is_binary else None,
        )
        assert v.expected_entropy_reduction == pytest.approx(
            alone.expected_entropy_reduction, abs=1e-15
        )
    assert ranking.sources[-1] == "coin"
    frame = ranking.to_frame()
    assert list(frame.index) == list(ranking.sources)
    json.dumps(ranking.to_dict())


def test_multi_hypothesis_default_is_the_leading_hypothesis():
    case = load_case(ACH)
    leading = assess(case).leading
    v = value_of_information(case, source="nis")
    assert v.about == (leading,) and v.subject == leading
    check_identities(v)
    frame = v.to_frame()
    assert list(frame.index) == ["yes", "no"]
    assert frame["probability"].sum() == pytest.approx(1.0)
    out = json.loads(json.dumps(v.to_dict()))
    assert out["preposterior_mean"] == pytest.approx(dict(assess(case).posterior), abs=1e-12)


# -- refusals -----------------------------------------------------------------------------


def test_refusals():
    case = load_case(NK)
    with pytest.raises(ValueError, match="unknown source"):
        value_of_information(case, source="nobody")
    with pytest.raises(ValueError, match="already a source"):
        value_of_information(case, source="nis", reliability=0.9)
    with pytest.raises(ValueError, match="already a source"):
        rank_next_sources(case, candidates={"cnn": 0.9})
    with pytest.raises(ValueError, match="binary case"):
        value_of_information(case, source="nis", about=["true"])
    with pytest.raises(ValueError, match="hypothesis ids"):
        value_of_information(load_case(ACH), source="nis", about=["war"])
    with pytest.raises(CaseError):
        value_of_information(case, source="x", reliability=1.5)


def test_cases_for_the_pymc_engine_are_refused():
    data = binary(
        0.5,
        sources=[{"id": "s", "kind": "media", "reliability": 0.7}],
        evidence=[{"id": "a", "likelihood_ratio": {"lognormal": [0.5, 0.3]}}],
    )
    with pytest.raises(CaseError, match="PyMC engine"):
        value_of_information(data, source="s")
    with pytest.raises(CaseError, match="PyMC engine"):
        rank_next_sources(data | {"pooling": {"by": "kind"}})
