"""Robustness draws: exact sampling of P(H | evidence, phi), phi ~ p(phi | evidence).

Each check compares a Monte Carlo mean with the exact value within the empirical
Bernstein bound (draws of a probability lie in [0, 1]). A test may fail by chance
with probability TEST_FAILURE_RATE; the hypothesis-driven test makes up to 30
examples x 4 hypotheses = 120 checks, so each check gets a 120th of it. With
16,000 draws the bound is about 0.017 for draws of standard deviation 0.33, and
0.007 for 0.1.
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sampling_checks import within_bounded_mc_error
from scipy import integrate, stats
from strategies import cases

from credence import CaseError, assess

TEST_FAILURE_RATE = 1e-4


def within_mc_error(samples: np.ndarray, expected: np.ndarray) -> None:
    within_bounded_mc_error(samples, expected, TEST_FAILURE_RATE / 120)


@settings(max_examples=30)
@given(cases(), st.integers(0, 2**32 - 1))
def test_draws_average_to_the_posterior(data, seed):
    try:
        result = assess(data, seed=seed, draws=16000)
    except CaseError:
        assume(False)
    within_mc_error(result.draws, result.posterior_array)


def test_reliability_draws_follow_the_exact_posterior():
    # One Beta(2, 2) source, a derived report mixing in a copy: p(r | E) by quadrature.
    data = {
        "credence": 1,
        "claim": {"statement": "c", "prior": 0.4},
        "sources": [{"id": "s", "reliability": {"beta": [2, 2]}}, {"id": "t", "reliability": 0.7}],
        "evidence": [
            {"id": "a", "source": "t", "stance": "supports"},
            {
                "id": "b",
                "source": "s",
                "stance": "supports",
                "derived_from": ["a"],
                "copy_probability": {"beta": [2, 3]},
            },
            {"id": "c", "source": "s", "stance": "refutes"},
        ],
    }
    result = assess(data, seed=3, draws=20000)
    r = result.parameter_draws["s.accuracy"]
    cbar = 0.4

    def joint(x, h):  # p(r, H, E) up to a constant
        prior_h = 0.4 if h else 0.6
        t = 0.7 if h else 0.3
        b = cbar * 1.0 + (1 - cbar) * (x if h else 1 - x)
        c = (1 - x) if h else x
        return prior_h * t * b * c * stats.beta.pdf(x, 2, 2)

    z = sum(integrate.quad(joint, 0, 1, args=(h,))[0] for h in (True, False))

    def cdf(q):
        return sum(integrate.quad(joint, 0, q, args=(h,))[0] for h in (True, False)) / z

    # KS test at alpha 1e-4 against the exact marginal posterior of r.
    grid = np.linspace(0.001, 0.999, 200)
    table = np.array([cdf(q) for q in grid])
    pvalue = stats.kstest(r, lambda q: np.interp(q, grid, table)).pvalue
    assert pvalue > 1e-4
    within_mc_error(result.draws, result.posterior_array)
    assert "b.copy_probability" in result.parameter_draws
    assert "claim.prior" not in result.parameter_draws


def test_interval_brackets_and_seed_repeats():
    data = {
        "credence": 1,
        "claim": {"statement": "c", "prior": {"beta": [2, 8]}},
        "sources": [{"id": "s", "reliability": "B"}, {"id": "u", "reliability": "F"}],
        "evidence": [
            {"id": "a", "source": "s", "stance": "supports"},
            {"id": "b", "source": "u", "stance": "refutes"},
        ],
    }
    one, two = assess(data, seed=11), assess(data, seed=11)
    lo, hi = one.interval
    assert 0 <= lo <= hi <= 1
    assert one.interval == two.interval
    np.testing.assert_array_equal(one.draws, two.draws)
    assert "claim.prior" in one.parameter_draws
    frac_inside = np.mean((one.draws[:, 0] >= lo) & (one.draws[:, 0] <= hi))
    assert abs(frac_inside - 0.9) < 0.01
    within_mc_error(one.draws, one.posterior_array)


def test_fixed_parameters_give_a_point_interval():
    data = {
        "credence": 1,
        "claim": {"statement": "c", "prior": 0.5},
        "sources": [{"id": "s", "reliability": 0.8}],
        "evidence": [{"id": "a", "source": "s", "stance": "supports"}],
    }
    result = assess(data, seed=0)
    assert result.interval == (result.probability, result.probability)
