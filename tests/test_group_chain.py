"""The fast ledger of large groups (exact_chain.Chain) against the direct path."""

from __future__ import annotations

import datetime as dt

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sampling_checks import within_bounded_mc_error

import credence.exact_chain as exact_chain
from credence import Beta, Case, Claim, Evidence, Group, Hypothesis, Source
from credence.compile import compile_case
from credence.exact import exact_assess, robustness_draws
from credence.exact_chain import _EIGH_NODES, _beta_nodes

#: Chance that a correct engine fails one of this file's Monte Carlo checks.
TEST_FAILURE_RATE = 1e-4


def chain_case(seed: int, n: int, multi: bool, copy) -> Case:
    """A group of n reports from n sources, extra reports of some of them, dates shuffled."""
    rng = np.random.default_rng(seed)
    grades = ["A", "B", "C", 0.7, {"beta": [3, 2]}]
    sources = [
        Source(id=f"s{i}", reliability=grades[int(rng.integers(len(grades)))]) for i in range(n)
    ]
    hypotheses = ["x", "y", "z"]

    def signal(i: int) -> dict:
        if multi:
            key = "supports" if rng.random() < 0.6 else "refutes"
            return {key: [hypotheses[int(rng.integers(3))]]}
        return {"stance": "supports" if rng.random() < 0.7 else "refutes"}

    def day() -> dt.date:
        return dt.date(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 20)))

    evidence = [Evidence(id=f"e{i}", source=f"s{i}", date=day(), **signal(i)) for i in range(n)]
    evidence += [
        Evidence(id=f"o{k}", source=f"s{int(rng.integers(n))}", date=day(), **signal(k))
        for k in range(n // 3)
    ]
    members = [f"e{i}" for i in rng.permutation(n)]
    kw = {"hypotheses": [Hypothesis(id=h) for h in hypotheses]} if multi else {}
    return Case(
        claim=None if multi else Claim(statement="c", prior=0.4),
        sources=sources,
        evidence=evidence,
        groups=[Group(id="g", members=members, copy_probability=copy)],
        **kw,
    )


copies = st.one_of(
    st.floats(0.0, 0.95),
    st.tuples(st.floats(0.3, 5.0), st.floats(0.3, 5.0)).map(lambda ab: Beta(*ab)),
)


@settings(deadline=None, max_examples=30)
@given(st.integers(0, 2**32), st.integers(5, 14), st.booleans(), copies)
def test_chain_ledger_equals_the_direct_path(seed, n, multi, copy):
    compiled = compile_case(chain_case(seed, n, multi, copy))
    fast = exact_assess(compiled)
    saved = exact_chain.CHAIN_MIN_REPORTS
    exact_chain.CHAIN_MIN_REPORTS = 10**9
    try:
        direct = exact_assess(compiled)
    finally:
        exact_chain.CHAIN_MIN_REPORTS = saved
    np.testing.assert_allclose(fast.log_evidence, direct.log_evidence, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(fast.in_order, direct.in_order, atol=1e-9)
    np.testing.assert_allclose(fast.leave_one_out, direct.leave_one_out, atol=1e-9)


def test_chain_draws_have_the_posterior_as_their_mean():
    compiled = compile_case(chain_case(3, 60, True, Beta(2, 3)))
    posterior = exact_assess(compiled).posterior
    draws, parameters = robustness_draws(compiled, posterior, 40_000, np.random.default_rng(7))
    assert "g.group_copy_probability" in parameters
    # TEST_FAILURE_RATE split over the K hypotheses
    within_bounded_mc_error(draws, posterior, TEST_FAILURE_RATE / len(posterior))


@pytest.mark.parametrize(
    ("n", "a", "b"),
    [
        (1, 2.0, 3.0),
        (2, 1.0, 1.0),
        (5, 0.5, 0.5),
        (7, 0.3, 0.7),
        (16, 3.0, 9.0),
        (17, 2.0, 2.0),
        (300, 1.0, 1.0),
        (60, 40.0, 3.0),
        (20, 0.5, 0.5000000000000001),
        (20, 0.5000000000000001, 0.5000000000000001),
    ],
)
def test_beta_quadrature_integrates_polynomials_exactly(n, a, b):
    nodes, log_w = _beta_nodes(n, a, b)
    assert len(nodes) == n and np.all((nodes > 0) & (nodes < 1))
    degree = min(2 * n - 1, 40 if n > _EIGH_NODES else 2 * n - 1)
    with mpmath.workdps(50):
        for k in range(0, degree + 1, max(1, degree // 8)):
            exact = float(mpmath.beta(a + k, b) / mpmath.beta(a, b))
            got = float(np.exp(log_w) @ nodes**k)
            assert got == pytest.approx(exact, rel=1e-10)
