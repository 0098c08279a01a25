"""Groups (undeclared common origin): the exact engine against an independent oracle.

DESIGN.md "Dependence": a group's first member is independent; each later member j is,
with probability c (one c per group), a repetition of one earlier member chosen uniformly
(match fraction m_j over the earlier members), otherwise an independent report of its own
source: P = c m_j + (1 - c) P_independent. The oracle (tests/oracle.py,
``dependence_*``) integrates c and every Beta reliability by tensor-product Gauss-Jacobi
quadrature, exact for these polynomial integrands.

Random checks (robustness draws, MCMC) may fail by chance with probability at most
``TEST_FAILURE_RATE`` per test, split over their comparisons (Bonferroni).
"""

from __future__ import annotations

import copy
import functools
import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from conftest import MAX_DIVERGENT_FRACTION
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from located import assert_one_problem
from oracle import (
    copy_posterior_mean,
    dependence_expectation,
    dependence_log_evidence,
    dependence_log_posterior,
    log10_odds,
    uncertain_variables,
)
from sampling_checks import within_bounded_mc_error
from scipy import integrate, stats
from strategies import (
    compiled_or_skip,
    copy_probabilities,
    dependence_cases,
    light_reliabilities,
    prob,
)

from credence import Beta, Case, CaseError, Claim, Evidence, Group, Source, assess
from credence.compile import compile_case
from credence.exact import exact_assess, exact_log_evidence, exact_posterior, robustness_draws
from credence.io import case_from_dict

TEST_FAILURE_RATE = 1e-4

# Properties that compare two exact runs: half the profile's examples (time).
PROPERTY_EXAMPLES = max(1, settings.default.max_examples // 2)


def small(case: Case) -> None:
    """At most 4 uncertain variables under each hypothesis (the oracle's tensor grid)."""
    assume(all(len(uncertain_variables(case, h)) <= 4 for h in case.hypothesis_ids))


def posterior(data) -> np.ndarray:
    return exact_posterior(compile_case(case_from_dict(data)))


def with_groups():
    """Random cases (binary and multi-hypothesis), up to 2 groups, about channels."""
    return dependence_cases(max_groups=2)


# -- 1. the exact engine against the oracle --------------------------------------------------------


@given(with_groups())
def test_log_evidence_matches_quadrature_oracle(data):
    case, compiled = compiled_or_skip(data)
    small(case)
    expected = dependence_log_evidence(case)
    expected = [expected[h] for h in case.hypothesis_ids]
    # absolute on logs = relative on the likelihood
    np.testing.assert_allclose(exact_log_evidence(compiled), expected, rtol=0, atol=1e-9)
    result = exact_assess(compiled)
    np.testing.assert_allclose(result.log_evidence, expected, rtol=0, atol=1e-9)
    log_post = dependence_log_posterior(case)
    np.testing.assert_allclose(
        result.posterior, [math.exp(log_post[h]) for h in case.hypothesis_ids], rtol=0, atol=1e-9
    )


@given(with_groups())
def test_ledger_matches_quadrature_oracle(data):
    case, compiled = compiled_or_skip(data)
    small(case)
    result = exact_assess(compiled)
    hyps = case.hypothesis_ids
    ids = [e.id for e in case.evidence]
    # No dates: the ledger is in file order, and in_order rows are in file order.
    assert list(compiled.order) == list(range(len(ids)))
    before = log10_odds(dependence_log_posterior(case, keep=[]))
    for t in range(len(ids)):
        log_post = dependence_log_posterior(case, keep=ids[: t + 1])
        after = log10_odds(log_post)
        expected = [after[h] - before[h] for h in hyps]
        np.testing.assert_allclose(result.in_order[t], expected, rtol=0, atol=1e-9, err_msg=ids[t])
        np.testing.assert_allclose(
            result.path[t], [math.exp(log_post[h]) for h in hyps], rtol=0, atol=1e-9
        )
        before = after
    full = log10_odds(dependence_log_posterior(case))
    parents = {p for e in case.evidence for p in e.derived_from or ()}
    for t, item in enumerate(ids):
        if item in parents:
            continue  # removing a parent would change what its children copy
        without = log10_odds(dependence_log_posterior(case, keep=ids[:t] + ids[t + 1 :]))
        expected = [full[h] - without[h] for h in hyps]
        np.testing.assert_allclose(
            result.leave_one_out[t], expected, rtol=0, atol=1e-9, err_msg=item
        )


def test_leave_one_out_of_a_member_keeps_the_others_order():
    # Members [a, b, c] of one Beta(2, 5)-c group; removing b leaves the group [a, c] in that
    # order: the same as a case written without b. Source s has members and an outside report.
    data = {
        "credence": 1,
        "hypotheses": [{"id": "x"}, {"id": "y"}, {"id": "z"}],
        "sources": [
            {"id": "s", "reliability": {"beta": [3, 2]}},
            {"id": "t", "reliability": 0.7},
        ],
        "evidence": [
            {"id": "a", "source": "s", "supports": ["x"]},
            {"id": "b", "source": "t", "refutes": ["y", "z"]},
            {"id": "c", "source": "s", "supports": ["x", "y"]},
            {"id": "d", "source": "s", "refutes": ["x"]},
        ],
        "groups": [{"id": "g", "members": ["a", "b", "c"], "copy_probability": {"beta": [2, 5]}}],
    }
    result = exact_assess(compile_case(case_from_dict(data)))
    rest = copy.deepcopy(data)
    del rest["evidence"][1]
    rest["groups"][0]["members"] = ["a", "c"]
    full = np.log(result.posterior)
    without = np.log(posterior(rest))
    expected = _log10_odds(full) - _log10_odds(without)
    np.testing.assert_allclose(result.leave_one_out[1], expected, rtol=0, atol=1e-12)
    # and a group left with one member is no group: leaving c out of [a, c] is plain a
    two = copy.deepcopy(rest)
    one = copy.deepcopy(rest)
    del one["evidence"][1]
    del one["groups"]
    result_two = exact_assess(compile_case(case_from_dict(two)))
    expected = _log10_odds(np.log(result_two.posterior)) - _log10_odds(np.log(posterior(one)))
    np.testing.assert_allclose(result_two.leave_one_out[1], expected, rtol=0, atol=1e-12)


def test_a_possible_case_whose_ledger_prefix_is_impossible():
    # x (file first) is from s, accuracy 0: alone, "supports" is impossible under true. In the
    # group [y, x] it is a later member: c m + (1 - c) P = 0.5 * 1 + 0.5 * 0 under true.
    # true: 0.8 * 0.5 = 0.4; false: 0.2 * (0.5 + 0.5 * 1) = 0.2. The ledger's prefix {x}
    # is impossible under true (-inf), adding y makes it possible again (+inf): the
    # posterior must still be the full evidence's, 2/3.
    data = {
        "credence": 1,
        "claim": {"statement": "c", "prior": 0.5},
        "sources": [{"id": "s", "reliability": 0.0}, {"id": "t", "reliability": 0.8}],
        "evidence": [
            {"id": "x", "source": "s", "stance": "supports"},
            {"id": "y", "source": "t", "stance": "supports"},
        ],
        "groups": [{"id": "g", "members": ["y", "x"], "copy_probability": 0.5}],
    }
    compiled = compile_case(case_from_dict(data))
    expected_log = np.log([0.4, 0.2])
    np.testing.assert_allclose(exact_log_evidence(compiled), expected_log, atol=1e-12)
    np.testing.assert_allclose(exact_posterior(compiled), [2 / 3, 1 / 3], atol=1e-12)
    result = exact_assess(compiled)
    np.testing.assert_allclose(result.log_evidence, expected_log, atol=1e-12)
    np.testing.assert_allclose(result.posterior, [2 / 3, 1 / 3], atol=1e-12)
    np.testing.assert_allclose(result.path[-1], [2 / 3, 1 / 3], atol=1e-12)
    assert assess(data).probability == pytest.approx(2 / 3, abs=1e-12)


def _log10_odds(log_post: np.ndarray) -> np.ndarray:
    out = []
    for h in range(len(log_post)):
        rest = np.logaddexp.reduce(np.delete(log_post, h))
        out.append((log_post[h] - rest) / math.log(10))
    return np.array(out)


def _moments(a: int, b: int, k: int, j: int = 0) -> Fraction:
    """E[t^k (1 - t)^j] under Beta(a, b), integers: exact."""
    out = Fraction(1)
    for i in range(k):
        out *= Fraction(a + i, a + b + i)
    for i in range(j):
        out *= Fraction(b + i, a + b + k + i)
    return out


def test_hand_computed_group_with_a_report_outside():
    # One source s, accuracy r ~ Beta(3, 1); members [a, b] both support (c ~ Beta(1, 1)),
    # and x, outside the group, refutes. Under true: E[r (c + (1 - c) r) (1 - r)]
    # = E[c] E[r^2 (1 - r)]... expanded: E[c] E[r (1 - r)] + E[1 - c] E[r^2 (1 - r)].
    half = Fraction(1, 2)
    true = half * _moments(3, 1, 1, 1) + half * _moments(3, 1, 2, 1)
    false = half * _moments(3, 1, 1, 1) + half * _moments(3, 1, 1, 2)
    case = Case(
        claim=Claim(statement="c", prior=0.5),
        sources=[Source(id="s", reliability=Beta(3, 1))],
        evidence=[
            Evidence(id="a", source="s", stance="supports"),
            Evidence(id="x", source="s", stance="refutes"),
            Evidence(id="b", source="s", stance="supports"),
        ],
        groups=[Group(id="g", members=["a", "b"])],
    )
    got = exact_log_evidence(compile_case(case))
    np.testing.assert_allclose(got, [math.log(true), math.log(false)], rtol=0, atol=1e-12)


def test_which_member_is_first_matters_when_sources_differ():
    # Both support; c = 0.5. [x (0.9), y (0.6)]: true 0.9 (0.5 + 0.5 0.6) = 0.72,
    # false 0.1 (0.5 + 0.5 0.4) = 0.07. [y, x]: true 0.6 (0.5 + 0.45) = 0.57,
    # false 0.4 (0.5 + 0.05) = 0.22. The first member is the independent one.
    def case(order):
        return {
            "credence": 1,
            "claim": {"statement": "c", "prior": 0.5},
            "sources": [{"id": "sx", "reliability": 0.9}, {"id": "sy", "reliability": 0.6}],
            "evidence": [
                {"id": "x", "source": "sx", "stance": "supports"},
                {"id": "y", "source": "sy", "stance": "supports"},
            ],
            "groups": [{"id": "g", "members": order, "copy_probability": 0.5}],
        }

    assert posterior(case(["x", "y"]))[0] == pytest.approx(0.72 / 0.79, abs=1e-12)
    assert posterior(case(["y", "x"]))[0] == pytest.approx(0.57 / 0.79, abs=1e-12)


# -- 2. properties -------------------------------------------------------------------------------


@settings(max_examples=PROPERTY_EXAMPLES)
@given(with_groups(), st.data())
def test_fixed_copy_probability_zero_is_no_group(data, pick):
    assume(data.get("groups"))
    compiled_or_skip(data)
    g = pick.draw(st.integers(0, len(data["groups"]) - 1))
    zero = copy.deepcopy(data)
    zero["groups"][g]["copy_probability"] = 0.0
    compiled_or_skip(zero)
    plain = copy.deepcopy(zero)
    del plain["groups"][g]
    if not plain["groups"]:
        del plain["groups"]
    np.testing.assert_allclose(posterior(zero), posterior(plain), rtol=0, atol=1e-12)


def _agreeing_members(draw, data, n_members):
    """New reports from random (possibly new) sources all declaring one set.

    In a multi-hypothesis case some say "yes" on the set and some "no" on its complement:
    both declare the same set, so they match.
    """
    hyps = ["true", "false"] if "claim" in data else [h["id"] for h in data["hypotheses"]]
    data["sources"].append({"id": "fresh", "reliability": draw(light_reliabilities())})
    names = [s["id"] for s in data["sources"]]
    if "claim" in data:
        stance = draw(st.sampled_from(["supports", "refutes"]))
        signals = [{"stance": stance}] * n_members
    else:
        declared = draw(
            st.lists(st.sampled_from(hyps), min_size=1, max_size=len(hyps) - 1, unique=True)
        )
        complement = [h for h in hyps if h not in declared]
        signals = [
            draw(st.sampled_from([{"supports": declared}, {"refutes": complement}]))
            for _ in range(n_members)
        ]
    items = []
    for j, signal in enumerate(signals):
        items.append({"id": f"m{j}", "source": draw(st.sampled_from(names)), **signal})
    return items


@settings(max_examples=PROPERTY_EXAMPLES)
@given(dependence_cases(max_groups=1, max_items=4), st.data())
def test_pure_copies_that_agree_add_nothing(data, pick):
    compiled_or_skip(data)
    members = _agreeing_members(pick.draw, data, pick.draw(st.integers(2, 4)))
    grouped = copy.deepcopy(data)
    grouped["evidence"] += members
    grouped.setdefault("groups", []).append(
        {"id": "echo", "members": [m["id"] for m in members], "copy_probability": 1.0}
    )
    compiled_or_skip(grouped)
    first = copy.deepcopy(data)
    first["evidence"].append(members[0])
    np.testing.assert_allclose(posterior(grouped), posterior(first), rtol=0, atol=1e-12)


def test_group_of_one_is_refused():
    data = {
        "credence": 1,
        "claim": {"statement": "c"},
        "sources": [{"id": "s", "reliability": 0.8}],
        "evidence": [{"id": "a", "source": "s", "stance": "supports"}],
        "groups": [{"id": "g", "members": ["a"]}],
    }
    with pytest.raises(CaseError) as info:
        case_from_dict(data)
    (problem,) = info.value.problems
    assert problem.loc == ("groups", 0, "members")
    assert problem.location == "groups[0] (id g).members"
    assert "at least two members" in problem.message
    with pytest.raises(CaseError):
        Group(id="g", members=["a"])


@settings(max_examples=PROPERTY_EXAMPLES)
@given(dependence_cases(max_groups=1, max_items=4), st.data())
def test_permuting_later_members_that_all_agree_changes_nothing(data, pick):
    # All members declare one set: every later member has m = 1 wherever it stands, and its
    # factor c + (1 - c) P_j does not depend on its place. (The first member is the
    # independent one: moving it changes the posterior when sources differ, see
    # test_which_member_is_first_matters_when_sources_differ.)
    compiled_or_skip(data)
    members = _agreeing_members(pick.draw, data, pick.draw(st.integers(3, 4)))
    ids = [m["id"] for m in members]
    data["evidence"] += members
    c = pick.draw(copy_probabilities)
    group = {"id": "agree", "members": ids} | ({} if c is None else {"copy_probability": c})
    data.setdefault("groups", []).append(group)
    compiled_or_skip(data)
    shuffled = copy.deepcopy(data)
    shuffled["groups"][-1]["members"] = [ids[0], *pick.draw(st.permutations(ids[1:]))]
    np.testing.assert_allclose(posterior(data), posterior(shuffled), rtol=0, atol=1e-12)


@given(
    st.sampled_from(["supports", "refutes"]),
    st.one_of(prob, st.tuples(st.integers(1, 6), st.integers(1, 6)).map(lambda t: Beta(*t))),
    copy_probabilities,
    st.permutations(["a", "b", "c"]),
)
def test_any_order_of_one_sources_identical_reports_is_the_same(stance, rel, c, order):
    # Members from one source with one signal are exchangeable: any order, same posterior.
    def case(members):
        return Case(
            claim=Claim(statement="c", prior=0.4),
            sources=[Source(id="s", reliability=rel), Source(id="t", reliability=0.7)],
            evidence=[
                Evidence(id="a", source="s", stance=stance),
                Evidence(id="o", source="t", stance="supports"),
                Evidence(id="b", source="s", stance=stance),
                Evidence(id="c", source="s", stance=stance),
            ],
            groups=[Group(id="g", members=members, copy_probability=c)],
        )

    np.testing.assert_allclose(
        exact_posterior(compile_case(case(order))),
        exact_posterior(compile_case(case(["a", "b", "c"]))),
        rtol=0,
        atol=1e-12,
    )


def test_a_permutation_that_changes_match_fractions_changes_the_posterior():
    # a, b support h0; c supports h1. [a, b, c]: m_b = 1, m_c = 0. [a, c, b]: m_c = 0,
    # m_b = 1/2. Different match fractions, different posteriors (each checked by the oracle).
    def data(order):
        return {
            "credence": 1,
            "hypotheses": [{"id": "h0"}, {"id": "h1"}, {"id": "h2"}],
            "sources": [{"id": f"s{i}", "reliability": 0.8} for i in range(3)],
            "evidence": [
                {"id": "a", "source": "s0", "supports": ["h0"]},
                {"id": "b", "source": "s1", "supports": ["h0"]},
                {"id": "c", "source": "s2", "supports": ["h1"]},
            ],
            "groups": [{"id": "g", "members": order, "copy_probability": {"beta": [2, 2]}}],
        }

    one, two = posterior(data(["a", "b", "c"])), posterior(data(["a", "c", "b"]))
    assert abs(one[0] - two[0]) > 1e-3
    for d, got in ((data(["a", "b", "c"]), one), (data(["a", "c", "b"]), two)):
        case = case_from_dict(d)
        expected = dependence_log_posterior(case)
        np.testing.assert_allclose(
            got, [math.exp(expected[h]) for h in case.hypothesis_ids], rtol=0, atol=1e-12
        )


# -- 3. robustness draws ---------------------------------------------------------------------------

# Up to 15 examples x (at most 4 hypotheses + at most 2 group c's) = 90 <= 100 comparisons,
# each within the empirical Bernstein bound (draws of probabilities lie in [0, 1]).
ROBUSTNESS_COMPARISONS = 100
ROBUST_RATE = TEST_FAILURE_RATE / ROBUSTNESS_COMPARISONS


@settings(max_examples=15)
@given(with_groups(), st.integers(0, 2**32 - 1))
def test_robustness_draws_average_to_the_posterior_and_c_to_its_posterior_mean(data, seed):
    assume(data.get("groups"))
    case, compiled = compiled_or_skip(data)
    small(case)
    post = exact_posterior(compiled)
    draws, parameters = robustness_draws(compiled, post, 16000, np.random.default_rng(seed))
    within_bounded_mc_error(draws, post, ROBUST_RATE)
    for group in case.groups:
        name = f"{group.id}.group_copy_probability"
        if not isinstance(group.copy_prior, Beta):
            assert name not in parameters
            continue
        c = parameters[name]
        assert np.all((c >= 0) & (c <= 1))
        within_bounded_mc_error(c, copy_posterior_mean(case, group.id), ROBUST_RATE)


def test_copy_probability_draws_of_a_hand_case():
    # A group whose members agree pulls c up, one whose members disagree pulls it down.
    def data(second):
        return {
            "credence": 1,
            "claim": {"statement": "c", "prior": 0.5},
            "sources": [
                {"id": "s", "reliability": {"beta": [4, 2]}},
                {"id": "t", "reliability": 0.6},
            ],
            "evidence": [
                {"id": "a", "source": "s", "stance": "supports"},
                {"id": "b", "source": "t", "stance": second},
                {"id": "x", "source": "s", "stance": "supports"},
            ],
            "groups": [{"id": "g", "members": ["a", "b"], "copy_probability": {"beta": [2, 2]}}],
        }

    # Two cases x (the mean of c + two columns of draws) = 6 comparisons share the rate.
    rate = TEST_FAILURE_RATE / 6
    means = []
    for second in ("supports", "refutes"):
        d = data(second)
        result = assess(d, seed=5, draws=20000)
        c = result.parameter_draws["g.group_copy_probability"]
        expected = copy_posterior_mean(case_from_dict(d), "g")
        within_bounded_mc_error(c, expected, rate)
        within_bounded_mc_error(result.draws, result.posterior_array, rate)
        means.append(expected)
    assert means[0] > 0.5 > means[1]


def _posterior_cdf(data, set_value, prior_pdf, points=401):
    """CDF of one uncertain quantity's posterior on a grid, from the oracle with it fixed.

    p(x | E) is proportional to prior_pdf(x) sum_h P(h) E[L_h | x]: ``set_value(data, x)``
    fixes x in a copy of the case and the oracle integrates everything else. Simpson's
    rule on the grid (the density is smooth: a polynomial times a Beta density).
    """
    compiled = compile_case(case_from_dict(data))
    prior = dict(zip(compiled.hypotheses, compiled.prior, strict=True))
    grid = np.linspace(0, 1, points)
    dens = []
    for x in grid:
        d = copy.deepcopy(data)
        set_value(d, float(x))
        case = case_from_dict(d)  # not compiled: c = 1 may be impossible (density 0)
        total = sum(prior[h] * dependence_expectation(case, h) for h in case.hypothesis_ids)
        dens.append(prior_pdf(x) * total)
    dens = np.array(dens)
    cdf = integrate.cumulative_simpson(dens, x=grid, initial=0.0)
    return grid, cdf / cdf[-1]


def test_copy_probability_and_reliability_draws_follow_their_exact_posteriors():
    # KS tests of the group's c and of a member source's accuracy (tied to c through the
    # group) against posteriors from the oracle; each at half of TEST_FAILURE_RATE.
    data = GROUP_AND_CHANNEL  # (with the PyMC tests below)
    compiled = compile_case(case_from_dict(data))
    post = exact_posterior(compiled)
    _, parameters = robustness_draws(compiled, post, 20000, np.random.default_rng(0))

    def set_c(d, x):
        d["groups"][0]["copy_probability"] = x

    def set_wire(d, x):
        d["sources"][1]["reliability"] = x

    for name, set_value, pdf in (
        ("press.group_copy_probability", set_c, stats.beta(2, 2).pdf),
        ("wire.accuracy", set_wire, stats.beta(3, 2).pdf),
    ):
        grid, cdf = _posterior_cdf(data, set_value, pdf)
        pvalue = stats.kstest(parameters[name], lambda q, g=grid, c=cdf: np.interp(q, g, c)).pvalue
        assert pvalue > TEST_FAILURE_RATE / 2, name


# -- 4. the PyMC engine -------------------------------------------------------------------------

GROUP_AND_CHANNEL = {
    "credence": 1,
    "hypotheses": [{"id": "h0"}, {"id": "h1"}, {"id": "h2"}],
    "sources": [
        {
            "id": "gov",
            "reliability": {"beta": [4, 2]},
            "about": [
                {
                    "hypotheses": ["h1"],
                    "reliability": {
                        "sensitivity": {"beta": [8, 2]},
                        "false_positive_rate": {"beta": [6, 4]},
                    },
                }
            ],
        },
        {"id": "wire", "reliability": {"beta": [3, 2]}},
        {"id": "paper", "reliability": 0.7},
    ],
    "evidence": [
        {"id": "w1", "source": "wire", "supports": ["h0"]},
        {"id": "p1", "source": "paper", "supports": ["h0"]},
        {"id": "w2", "source": "wire", "refutes": ["h2"]},
        {"id": "g1", "source": "gov", "refutes": ["h1"]},
        {"id": "g2", "source": "gov", "supports": ["h0", "h1"]},
    ],
    "groups": [
        {"id": "press", "members": ["w1", "p1", "w2"], "copy_probability": {"beta": [2, 2]}}
    ],
}

# Two uncertain groups tied by one source's accuracy: the exact engine refuses them (it
# integrates one such c per source), the oracle integrates all three variables.
TWO_TIED_GROUPS = {
    "credence": 1,
    "claim": {"statement": "c", "prior": 0.4},
    "sources": [{"id": "s", "reliability": {"beta": [3, 2]}}, {"id": "t", "reliability": 0.75}],
    "evidence": [
        {"id": "a", "source": "s", "stance": "supports"},
        {"id": "b", "source": "t", "stance": "supports"},
        {"id": "c", "source": "s", "stance": "refutes"},
        {"id": "d", "source": "s", "stance": "refutes"},
        {"id": "x", "source": "t", "stance": "supports"},
    ],
    "groups": [
        {"id": "g1", "members": ["a", "b"]},
        {"id": "g2", "members": ["c", "d"], "copy_probability": {"beta": [2, 2]}},
    ],
}


@functools.cache
def _mcmc(name: str):
    """One PyMC run per case (about 10 s each), shared by the tests that read it."""
    pytest.importorskip("pymc")
    from credence.mcmc import ConvergenceWarning

    data = {"group_and_channel": GROUP_AND_CHANNEL, "two_tied_groups": TWO_TIED_GROUPS}[name]
    with warnings.catch_warnings():
        # agreement within MCSE is the check; a short run may warn about ESS
        warnings.simplefilter("ignore", ConvergenceWarning)
        return assess(copy.deepcopy(data), engine="mcmc", seed=1, draws=1000, tune=1000)


def _mcse(mcmc, var: str) -> np.ndarray:
    azs = pytest.importorskip("arviz_stats")
    return np.atleast_1d(azs.mcse(mcmc.datatree, var_names=[var], method="mean")[var].values)


@pytest.mark.slow
def test_mcmc_agrees_with_exact_on_a_group_and_an_about_channel():
    mcmc = _mcmc("group_and_channel")
    exact = assess(GROUP_AND_CHANNEL, engine="exact")
    # Three hypotheses and one c: four comparisons share the failure rate.
    z = float(stats.norm.isf(TEST_FAILURE_RATE / (2 * 4)))
    assert mcmc.diagnostics["divergences"] <= MAX_DIVERGENT_FRACTION * len(mcmc.draws)
    err = _mcse(mcmc, "hypothesis_posterior")
    diff = np.abs(mcmc.posterior_array - exact.posterior_array)
    assert np.all(diff <= z * err + 1e-9), (diff, err, mcmc.diagnostics)
    c_mean = float(mcmc.datatree.posterior["group_copy_probability"].mean())
    expected = copy_posterior_mean(case_from_dict(GROUP_AND_CHANNEL), "press")
    assert abs(c_mean - expected) <= z * _mcse(mcmc, "group_copy_probability")[0]


@pytest.mark.slow
def test_mcmc_names_parameter_draws_as_the_exact_engine_does():
    mcmc = _mcmc("group_and_channel")
    exact = assess(GROUP_AND_CHANNEL, engine="exact", draws=10, seed=0)
    assert "press.group_copy_probability" in exact.parameter_draws
    assert "gov.about[h1].sensitivity" in exact.parameter_draws
    assert sorted(mcmc.parameter_draws) == sorted(exact.parameter_draws)


@pytest.mark.slow
def test_two_uncertain_groups_tied_by_a_source_in_both_engines():
    case = case_from_dict(TWO_TIED_GROUPS)
    exact = exact_assess(compile_case(case))
    np.testing.assert_allclose(
        exact.log_evidence,
        [dependence_log_evidence(case)[h] for h in case.hypothesis_ids],
        rtol=1e-9,
        atol=1e-9,
    )
    mcmc = _mcmc("two_tied_groups")
    assert mcmc.diagnostics["divergences"] <= MAX_DIVERGENT_FRACTION * len(mcmc.draws)
    # P(true) and the two c's: three comparisons share the failure rate.
    z = float(stats.norm.isf(TEST_FAILURE_RATE / (2 * 3)))
    expected = math.exp(dependence_log_posterior(case)["true"])
    err = _mcse(mcmc, "hypothesis_posterior")[0]
    assert abs(mcmc.posterior_array[0] - expected) <= z * err + 1e-9, (expected, err)
    draws = mcmc.datatree.posterior["group_copy_probability"]
    errs = _mcse(mcmc, "group_copy_probability")
    for j, g in enumerate(("g1", "g2")):
        got = float(draws.sel(group=g).mean())
        assert abs(got - copy_posterior_mean(case, g)) <= z * errs[j], (g, got, errs[j])


# -- 5. validation -------------------------------------------------------------------------------


def _base(groups, extra_evidence=()):
    return {
        "credence": 1,
        "claim": {"statement": "c"},
        "sources": [{"id": "s", "reliability": 0.8}],
        "evidence": [
            {"id": "a", "source": "s", "stance": "supports"},
            {"id": "b", "source": "s", "stance": "refutes"},
            {"id": "c", "source": "s", "stance": "supports"},
            *extra_evidence,
        ],
        "groups": groups,
    }


@pytest.mark.parametrize(
    ("groups", "extra", "loc", "message"),
    [
        (
            [{"id": "g", "members": ["a", "nope"]}],
            [],
            ("groups", 0, "members", 1),
            "unknown evidence id 'nope'",
        ),
        (
            [{"id": "g", "members": ["a", "b", "a"]}],
            [],
            ("groups", 0, "members", 2),
            "'a' is listed twice",
        ),
        (
            [{"id": "g", "members": ["a", "lr"]}],
            [{"id": "lr", "likelihood_ratio": 2.0}],
            ("groups", 0, "members", 1),
            "'lr' is direct evidence; only sourced reports form groups",
        ),
        (
            [{"id": "g", "members": ["d", "a"]}],
            [{"id": "d", "source": "s", "stance": "supports", "derived_from": ["b"]}],
            ("groups", 0, "members", 0),
            "'d' has derived_from; its origin is declared, so it cannot also be in a group",
        ),
        (
            [{"id": "g", "members": ["a", "b"]}, {"id": "h", "members": ["c", "b"]}],
            [],
            ("groups", 1, "members", 1),
            "'b' is already in group 'g'",
        ),
        (
            [{"id": "g", "members": ["a", "b"]}, {"id": "g", "members": ["c", "d"]}],
            [{"id": "d", "source": "s", "stance": "supports"}],
            ("groups", 1, "id"),
            "duplicate id 'g'",
        ),
        (
            [{"id": "g", "members": ["a"]}],
            [],
            ("groups", 0, "members"),
            "a group needs at least two members (one report alone has no one to copy)",
        ),
    ],
)
def test_each_group_rule_gives_a_located_error(groups, extra, loc, message):
    data = _base(groups, extra)
    g = loc[1]
    assert_one_problem(data, message, loc, f"groups[{g}] (id {groups[g]['id']})")


def test_pure_copy_group_with_a_disagreeing_member_is_refused_at_compile():
    # c = 1: every later member repeats an earlier one; b (refutes) matches none of [a].
    data = _base([{"id": "g", "members": ["a", "c", "b"], "copy_probability": 1.0}])
    case = case_from_dict(data)  # valid as data
    with pytest.raises(CaseError) as info:
        compile_case(case)
    assert info.value.location == "groups[0].members[2]"
    assert "with copy_probability 1 every later member repeats an earlier one" in (
        info.value.message
    )
    assert "disagrees with all before it" in info.value.message
    with pytest.raises(CaseError, match="copy_probability 1"):
        assess(data)
    # members that all agree are possible with c = 1
    fine = _base([{"id": "g", "members": ["a", "c"], "copy_probability": 1.0}])
    assert np.isfinite(exact_log_evidence(compile_case(case_from_dict(fine)))).all()
    mixed = _base([{"id": "g", "members": ["a", "b", "c"], "copy_probability": 1.0}])
    with pytest.raises(CaseError) as info:
        compile_case(case_from_dict(mixed))
    assert info.value.location == "groups[0].members[1]"
