"""Special functions, extreme Beta parameters, long provenance chains and large parent sets."""

from __future__ import annotations

import math
import subprocess
import sys
import tracemalloc

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracle import quad_posterior, rational_posterior
from scipy import stats

from credence import assess
from credence.compile import compile_case
from credence.exact import (
    _RUN,
    FALL,
    MIXTURE,
    RISE,
    _copy_draws,
    _in_order,
    _run,
    exact_assess,
    exact_posterior,
    robustness_draws,
)
from credence.io import case_from_dict
from credence.special import betaln, gammaln, log_beta_ratio, logsumexp, xlogy
from credence.testing import chain_case, parent_set_case

positive = st.floats(1e-300, 1e308, allow_nan=False, allow_infinity=False)
log_uniform = st.floats(-690.0, 709.0).map(math.exp)


def mp_betaln(a: float, b: float) -> float:
    """log B(a, b) from log-gammas at 400 digits (enough for arguments up to 1e308)."""
    with mpmath.workdps(400):
        a, b = mpmath.mpf(a), mpmath.mpf(b)
        return float(mpmath.loggamma(a) + mpmath.loggamma(b) - mpmath.loggamma(a + b))


def mp_log_beta_ratio(a: float, b: float, k: int, j: int) -> float:
    """log B(a + k, b + j) / B(a, b) as a sum of logs of ratios below 1, at 40 digits."""
    with mpmath.workdps(40):
        a, b = mpmath.mpf(a), mpmath.mpf(b)
        out = -sum(mpmath.log1p(b / (a + i)) for i in range(k))
        out -= sum(mpmath.log1p((a + k) / (b + i)) for i in range(j))
        return float(out)


# -- special functions ---------------------------------------------------------------------

#: Below x = 10 gammaln shifts x up and subtracts logs of about 13, losing a few ulps to
#: cancellation: on 60,000 random x in (0.05, 12) its error against mpmath reaches
#: 1.15e-14 times max(1, |value|). The bound leaves room for other CPUs' libm.
GAMMALN_TOLERANCE = 3e-14


@given(st.one_of(positive, log_uniform, st.floats(1e-3, 30)))
def test_gammaln_matches_math_lgamma(x):
    try:
        expected = math.lgamma(x)
    except OverflowError:
        expected = math.inf
    got = float(gammaln(x))
    if math.isinf(expected):
        assert got == math.inf
    else:
        assert abs(got - expected) <= GAMMALN_TOLERANCE * max(1.0, abs(expected))


@given(st.one_of(log_uniform, st.floats(0.05, 30)))
def test_gammaln_matches_mpmath(x):
    with mpmath.workdps(40):
        expected = mpmath.loggamma(mpmath.mpf(x))
    if abs(expected) > 1.7e308:
        return
    bound = GAMMALN_TOLERANCE * max(1.0, abs(float(expected)))
    assert abs(float(gammaln(x)) - float(expected)) <= bound


@given(log_uniform, log_uniform)
def test_betaln_matches_mpmath(a, b):
    # Below 10 betaln sums three log-gammas, each good to 1e-14 of its own size (plus
    # ~4e-15 near the zeros at 1 and 2): the bound is the sum of theirs. Above, it is
    # computed without cancellation, to 1e-14 of its value.
    expected = mp_betaln(a, b)
    tol = 2e-14 * max(1.0, abs(expected))
    if max(a, b) < 10:
        tol += 1e-14 * sum(abs(math.lgamma(x)) for x in (a, b, a + b)) + 1.2e-14
    assert abs(float(betaln(a, b)) - expected) <= tol


@given(log_uniform, log_uniform, st.integers(0, 40), st.integers(0, 40))
def test_log_beta_ratio_matches_mpmath(a, b, k, j):
    expected = mp_log_beta_ratio(a, b, k, j)
    got = float(log_beta_ratio(a, b, k, j))
    assert abs(got - expected) <= 1e-13 * max(1.0, abs(expected))


def test_special_functions_at_the_edges():
    assert float(gammaln(1.0)) == pytest.approx(0.0, abs=5e-15)
    assert float(gammaln(1e-300)) == pytest.approx(-math.log(1e-300), rel=1e-15)
    assert np.isinf(gammaln(1e308))
    # Beta(1e308, 1e308): finite log B although a + b overflows
    expected = mp_betaln(1e308, 1e308)
    assert float(betaln(1e308, 1e308)) == pytest.approx(expected, rel=1e-14)
    assert float(log_beta_ratio(1e308, 1e308, 3, 2)) == pytest.approx(5 * math.log(0.5), rel=1e-14)
    assert float(xlogy(0.0, 0.0)) == 0.0
    assert float(xlogy(2.0, 3.0)) == pytest.approx(2 * math.log(3.0), rel=1e-15)
    assert float(logsumexp([-np.inf, -np.inf])) == -np.inf
    assert float(logsumexp([1000.0, 1000.0])) == pytest.approx(1000 + math.log(2), rel=1e-15)


def test_exact_path_does_not_import_scipy():
    code = "import sys, credence.compile, credence.exact; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- Beta parameters at the edge of the float range ----------------------------------------


def test_huge_beta_prior_and_reliability_are_point_masses():
    data = {
        "credence": 1,
        "claim": {"statement": "c", "prior": {"beta": [1e308, 1e308]}},
        "sources": [
            {"id": "s", "reliability": {"beta": [1e308, 1e308]}},
            {"id": "t", "reliability": {"beta": [3e307, 1e307]}},
        ],
        "evidence": [
            {"id": "a", "source": "s", "stance": "supports"},
            {"id": "b", "source": "t", "stance": "supports"},
            {"id": "c", "source": "t", "stance": "supports"},
            {"id": "d", "source": "s", "stance": "refutes", "derived_from": ["a"]},
        ],
    }
    with pytest.raises(Exception, match="disagrees"):
        compile_case(case_from_dict(data))
    data["evidence"][3]["copy_probability"] = {"beta": [1e308, 1e308]}
    result = assess(data, seed=1, draws=500)
    # prior 1/2, s at 1/2 (no information), t at 3/4 twice: odds 9
    assert result.probability == pytest.approx(0.9, rel=1e-12)
    assert result.interval == pytest.approx((0.9, 0.9), rel=1e-9)
    assert np.isfinite(result.leave_one_out).all()


# -- long provenance chains ----------------------------------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.parametrize("n", [2000, 20000])
def test_chain_of_agreeing_pure_copies_equals_the_root_alone(n):
    root = assess(chain_case(1), seed=0, draws=200)
    full = assess(chain_case(n), seed=0, draws=200)
    assert full.probability == pytest.approx(root.probability, abs=1e-12)
    np.testing.assert_array_equal(full.in_order[1:], 0.0)
    np.testing.assert_array_equal(full.leave_one_out[1:], 0.0)
    assert full.in_order[0] == pytest.approx(root.in_order[0], abs=1e-12)


@pytest.mark.timeout(120)
def test_chain_of_2000_partial_copies_completes_and_is_consistent():
    data = chain_case(2000, copy=0.999)
    compiled = compile_case(case_from_dict(data))
    result = exact_assess(compiled)
    assert math.fsum(result.posterior) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(exact_posterior(compiled), result.posterior, atol=1e-12)
    # the in-order contributions add up to the posterior log odds
    odds = math.log10(result.posterior[0] / result.posterior[1]) - math.log10(0.3 / 0.7)
    assert result.in_order[:, 0].sum() == pytest.approx(odds, abs=1e-9)
    draws, _ = robustness_draws(compiled, result.posterior, 2000, np.random.default_rng(0))
    se = draws[:, 0].std() / math.sqrt(len(draws))
    assert abs(draws[:, 0].mean() - result.posterior[0]) < 4 * se + 1e-12


@given(
    st.lists(st.sampled_from(["supports", "refutes"]), min_size=2, max_size=9),
    st.one_of(st.sampled_from([0.0, 0.25, 0.5, 0.9, 1.0]), st.just({"beta": [2, 3]})),
    st.tuples(st.integers(1, 6), st.integers(1, 6)),
)
def test_short_chains_match_exact_rational_arithmetic(stances, copy, ab):
    if copy == 1.0:  # a pure copy must agree with its parent
        stances = [stances[0]] * len(stances)
    data = chain_case(len(stances), copy=copy, stances=stances, reliability={"beta": list(ab)})
    case = case_from_dict(data)
    expected = rational_posterior(case)
    got = exact_assess(compile_case(case)).posterior
    np.testing.assert_allclose(got, [float(expected[h]) for h in case.hypothesis_ids], atol=1e-10)


@given(st.integers(2, 8), st.sampled_from([0.3, 0.9]))
def test_chain_leave_one_out_of_the_last_matches_a_shorter_chain(n, copy):
    full = chain_case(n, copy=copy)
    shorter = chain_case(n - 1, copy=copy)
    result = assess(full, seed=0, draws=10)
    post, without = quad_posterior(case_from_dict(full)), quad_posterior(case_from_dict(shorter))
    expected = math.log10(post["true"] / post["false"]) - math.log10(
        without["true"] / without["false"]
    )
    assert result.leave_one_out[-1, 0] == pytest.approx(expected, abs=1e-9)


# -- large parent sets ---------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_one_report_with_2000_parents():
    data = parent_set_case(2000, 1, 2000)
    result = assess(data, seed=0, draws=500)
    assert math.fsum(result.posterior_array) == pytest.approx(1.0, abs=1e-12)


def test_many_parents_match_numerical_integration():
    data = parent_set_case(12, 6, 5, copy=0.7)
    case = case_from_dict(data)
    expected = quad_posterior(case)
    got = exact_assess(compile_case(case)).posterior
    np.testing.assert_allclose(got, [expected[h] for h in case.hypothesis_ids], atol=1e-9)


# -- runs of identical mixtures: the recurrence against the step-by-step ledger -------------


@st.composite
def factor_runs(draw):
    """Kinds and log ratios of one parameter's factors in ledger order, in blocks."""
    ratios = draw(
        st.lists(st.floats(-30.0, 30.0).filter(lambda r: abs(r) > 1e-9), min_size=1, max_size=3)
    )
    kind, log_rho = [], []
    for _ in range(draw(st.integers(1, 6))):
        what = draw(st.sampled_from(["rise", "fall", "mixture", "mixture"]))
        n = draw(st.integers(1, 4 if what != "mixture" else 120))
        if what == "mixture":
            kind += [MIXTURE] * n
            log_rho += [draw(st.sampled_from(ratios))] * n
        else:
            kind += [RISE if what == "rise" else FALL] * n
            log_rho += [math.nan] * n
    return np.array(kind), np.array(log_rho)


@given(factor_runs(), st.floats(-2.0, 4.0), st.floats(-2.0, 4.0))
def test_runs_of_mixtures_match_the_step_by_step_ledger(factors, log_a, log_b):
    kind, log_rho = factors
    a, b = 10.0**log_a, 10.0**log_b
    counts = int((kind == RISE).sum()), int((kind == FALL).sum()), int((kind == MIXTURE).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        fast = _in_order(a, b, kind, log_rho, *counts)
        slow = _in_order(a, b, kind, log_rho, *counts, runs=False)
    # each report's in-order contribution, in bans
    np.testing.assert_allclose(
        np.diff(fast, prepend=0.0) / math.log(10),
        np.diff(slow, prepend=0.0) / math.log(10),
        atol=1e-9,
    )


@given(
    st.floats(0.05, 200.0),
    st.floats(0.05, 200.0),
    st.floats(-12.0, 12.0).filter(lambda r: abs(r) > 1e-6),
    st.integers(_RUN, 300),
)
def test_run_recurrence_matches_the_hypergeometric_function(a, b, log_rho, R):
    # one component Beta(a, b): log E[((1 - t) + rho t)^n] = log 2F1(-n, a; a + b; 1 - rho)
    done = _run(np.zeros(1), np.array([a]), np.array([b]), log_rho, R)
    assert done is not None
    values, _ = done
    rho = mpmath.exp(mpmath.mpf(log_rho))
    with mpmath.workdps(60):
        for n in sorted({1, 2, R // 2, R}):
            expected = mpmath.log(mpmath.hyp2f1(-n, a, a + b, 1 - rho))
            assert values[n - 1] == pytest.approx(float(expected), rel=1e-11, abs=1e-11)


def test_a_run_after_other_mixtures_has_several_components():
    # a few mixtures of another ratio first: the run starts from a 4-component state
    kind = np.array([RISE] + [MIXTURE] * 3 + [FALL] + [MIXTURE] * 200)
    log_rho = np.where(kind == MIXTURE, math.log(0.3), math.nan)
    log_rho[4 + 1 :] = math.log(2.5)
    fast = _in_order(3.0, 2.0, kind, log_rho, 1, 1, 203)
    slow = _in_order(3.0, 2.0, kind, log_rho, 1, 1, 203, runs=False)
    np.testing.assert_allclose(np.diff(fast), np.diff(slow), atol=1e-12)


@given(
    st.lists(st.sampled_from(["supports", "refutes"]), min_size=1, max_size=3),
    st.integers(10, 40),
    st.sampled_from([0.3, 0.9, 0.999]),
)
def test_medium_chain_ledger_matches_numerical_integration(head, n, copy):
    # the last item's in-order contribution is the change in log odds from the chain without it
    stances = head + ["supports"] * (n - len(head))
    full = chain_case(n, copy=copy, stances=stances)
    shorter = chain_case(n - 1, copy=copy, stances=stances[:-1])
    result = exact_assess(compile_case(case_from_dict(full)))
    post = quad_posterior(case_from_dict(full))
    without = quad_posterior(case_from_dict(shorter))
    expected = math.log10(post["true"] / post["false"]) - math.log10(
        without["true"] / without["false"]
    )
    assert result.in_order[-1, 0] == pytest.approx(expected, abs=1e-9)
    assert result.posterior[0] == pytest.approx(post["true"], abs=1e-9)


# -- robustness draws with a copy probability per report ------------------------------------


@pytest.mark.parametrize("ab", [(9.0, 1.0), (0.5, 3.0), (2.0, 2.0)])
def test_copy_draws_follow_their_beta(ab):
    a, b = ab
    rng = np.random.default_rng(7)
    z = rng.random((400, 50)) < 0.5
    c = _copy_draws(rng, np.full(50, a), np.full(50, b), z)
    assert stats.kstest(c[z], stats.beta(a + 1, b).cdf).pvalue > 1e-4
    assert stats.kstest(c[~z], stats.beta(a, b + 1).cdf).pvalue > 1e-4


@pytest.mark.timeout(300)
def test_chain_of_20000_partial_copies_completes_in_bounded_memory():
    # exact: the same posterior and ledger with c = 0.9 and c ~ Beta(9, 1) (c enters linearly)
    fixed = compile_case(case_from_dict(chain_case(20000, copy=0.9)))
    uncertain = compile_case(case_from_dict(chain_case(20000, copy={"beta": [9, 1]})))
    one, two = exact_assess(fixed), exact_assess(uncertain)
    np.testing.assert_allclose(two.posterior, one.posterior, atol=1e-12)
    np.testing.assert_allclose(two.in_order, one.in_order, atol=1e-12)
    odds = math.log10(one.posterior[0] / one.posterior[1]) - math.log10(0.3 / 0.7)
    assert one.in_order[:, 0].sum() == pytest.approx(odds, abs=1e-9)
    # the first run of identical mixtures against the step-by-step ledger (2,000 reports)
    short = compile_case(case_from_dict(chain_case(2000, copy=0.9)))
    np.testing.assert_allclose(exact_assess(short).in_order, one.in_order[:2000], atol=1e-9)
    # draws: 20,000 copy probabilities per draw are drawn in blocks and not kept
    tracemalloc.start()
    try:
        draws, parameters = robustness_draws(
            uncertain, two.posterior, 500, np.random.default_rng(0)
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100 * 2**20
    assert "e1.copy_probability" not in parameters
    assert "s.accuracy" in parameters
    # P(false) = 3.5e-6 comes from theta near 1/2, which 500 draws do not reach
    np.testing.assert_allclose(draws.sum(axis=1), 1.0, atol=1e-12)
    se = draws[:, 1].std() / math.sqrt(len(draws))
    assert abs(draws[:, 1].mean() - two.posterior[1]) < 4 * se + 1e-5


def test_copy_probability_draws_are_kept_when_they_fit():
    compiled = compile_case(case_from_dict(chain_case(50, copy={"beta": [9, 1]})))
    posterior = exact_assess(compiled).posterior
    _, parameters = robustness_draws(compiled, posterior, 1000, np.random.default_rng(0))
    assert parameters["e49.copy_probability"].shape == (1000,)
