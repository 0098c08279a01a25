"""The ledger routine both engines share, and the PyMC engine's summaries of its draws.

References are computed here in probability space (``math.fsum`` over
hypotheses, enumeration over a parameter's values), not with the routines
under test. No test samples.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from credence.ledger import (
    NEGLIGIBLE,
    in_order_deltas,
    leave_one_out_deltas,
    log10_odds,
    zero_negligible,
)

# Probability vectors away from 0 and 1, so the log10 odds are finite.
weights = st.integers(2, 5).flatmap(
    lambda k: arrays(np.float64, k, elements=st.floats(1e-3, 1.0))
)


def normalised(w):
    return [float(x) / math.fsum(w) for x in w]


def odds(p):
    """log10 odds of each hypothesis against the rest, in probability space."""
    return [math.log10(p[h]) - math.log10(math.fsum(p[:h] + p[h + 1 :])) for h in range(len(p))]


@given(weights)
def test_log10_odds_against_the_rest(w):
    p = normalised(w)
    np.testing.assert_allclose(log10_odds(np.log(p)), odds(p), rtol=0, atol=1e-9)
    # Unnormalised log posteriors give the same odds.
    np.testing.assert_allclose(log10_odds(np.log(w) + 3.0), odds(p), rtol=0, atol=1e-9)


def test_log10_odds_of_certain_and_impossible_hypotheses():
    with np.errstate(divide="ignore"):
        got = log10_odds(np.log([1.0, 0.0, 0.0]))
    assert got[0] == np.inf and got[1] == got[2] == -np.inf


@given(st.lists(weights, min_size=2, max_size=6))
def test_in_order_deltas_are_differences_of_successive_odds(path):
    k = len(path[0])
    path = [w[:k] if len(w) >= k else np.resize(w, k) for w in path]
    got = in_order_deltas(np.log(np.array(path)))
    expected = [
        np.subtract(odds(normalised(after)), odds(normalised(before)))
        for before, after in zip(path, path[1:], strict=False)
    ]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


@given(weights, st.lists(weights, min_size=1, max_size=6))
def test_leave_one_out_deltas_are_full_odds_minus_odds_without(full, without):
    k = len(full)
    without = [np.resize(w, k) for w in without]
    got = leave_one_out_deltas(np.log(full), np.log(np.array(without)))
    expected = [np.subtract(odds(normalised(full)), odds(normalised(w))) for w in without]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_an_item_that_changes_nothing_contributes_exactly_zero():
    p = np.log([0.3, 0.5, 0.2])
    # Multiplying every hypothesis by one factor leaves the posterior unchanged;
    # rounding of the log-sum-exp leaves ~1e-16.
    path = np.vstack([p, p + math.log(0.37), p + math.log(0.37) + math.log(2.0) - 0.1])
    assert np.all(in_order_deltas(path)[0] == 0.0)
    assert np.all(leave_one_out_deltas(p, (p + 0.123)[None]) == 0.0)
    x = np.array([NEGLIGIBLE / 2, -NEGLIGIBLE / 2, 2 * NEGLIGIBLE, np.nan])
    zero_negligible(x)
    assert x[0] == x[1] == 0.0 and x[2] == 2 * NEGLIGIBLE and np.isnan(x[3])


def test_ledger_module_does_not_import_scipy():
    code = "import sys, credence.ledger; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- the PyMC engine's importance-sampling ledger -----------------------------------------

summaries = pytest.importorskip("credence.mcmc.summaries")
azs = pytest.importorskip("arviz_stats")


def enumerate_posterior(prior_phi, prior_h, lik, subset):
    """P(H | the items in subset), summing over a discrete parameter phi.

    prior_phi (J,), prior_h (J, K) = P(h | phi_j), lik (J, N, K) = P(item | h, phi_j).
    """
    J, _, K = lik.shape
    joint = [
        [prior_phi[j] * prior_h[j, h] * math.prod(lik[j, i, h] for i in subset) for h in range(K)]
        for j in range(J)
    ]
    total = math.fsum(math.fsum(row) for row in joint)
    return [math.fsum(joint[j][h] for j in range(J)) / total for h in range(K)]


@pytest.mark.parametrize("K", [2, 3])
def test_importance_sampling_ledger_is_exact_on_a_two_point_parameter(K):
    """Draws in exact posterior proportions of a two-valued parameter: the ledger is exact.

    Each importance weight then takes two values and the Pareto tail has nothing
    to smooth, so the estimate equals the enumeration over phi.
    """
    rng = np.random.default_rng(0)
    N = 5
    lik = rng.uniform(0.05, 0.95, size=(2, N, K))
    lik[:, 2] = lik[0, 2]  # an item that does not depend on phi
    prior_h = rng.dirichlet(np.ones(K), size=2)
    counts = np.array([1300, 700])  # the posterior of phi, as draws
    # The prior of phi that has this posterior: p(phi | E) / P(E | phi), normalised.
    evidence = (prior_h * lik.prod(axis=1)).sum(axis=1)
    prior_phi = counts / counts.sum() / evidence
    prior_phi /= prior_phi.sum()
    phi = np.repeat([0, 1], counts)
    items, log_prior = np.log(lik[phi]), np.log(prior_h[phi])
    order = np.array([3, 0, 4, 2, 1])
    prior_mean = prior_phi @ prior_h
    in_order, leave_one_out, path, _ = summaries.ledger(items, log_prior, order, prior_mean)

    before = [float(p) for p in prior_mean]
    everything = enumerate_posterior(prior_phi, prior_h, lik, range(N))
    for t, item in enumerate(order):
        after = enumerate_posterior(prior_phi, prior_h, lik, order[: t + 1])
        np.testing.assert_allclose(path[t], after, rtol=0, atol=1e-9)
        np.testing.assert_allclose(
            in_order[t], np.subtract(odds(after), odds(before)), rtol=0, atol=1e-9
        )
        before = after
        without = enumerate_posterior(prior_phi, prior_h, lik, [i for i in range(N) if i != item])
        np.testing.assert_allclose(
            leave_one_out[t], np.subtract(odds(everything), odds(without)), rtol=0, atol=1e-9
        )


def test_power_scaling_is_arviz_psense_on_every_component_and_quantity():
    import xarray as xr

    rng = np.random.default_rng(1)
    chains, draws = 2, 500
    theta = rng.normal(size=(chains, draws))
    quantities = np.stack([theta, np.tanh(theta + 0.3 * rng.normal(size=theta.shape))])
    components = np.stack(
        [-0.5 * theta**2, 0.8 * theta - 0.1 * theta**2, np.zeros_like(theta), 2.0 * theta]
    )
    got = summaries.power_scaling(quantities, components)
    coords = {"chain": np.arange(chains), "draw": np.arange(draws)}
    posterior = xr.Dataset(
        {"q": (("q_dim", "chain", "draw"), quantities)}, coords={**coords, "q_dim": [0, 1]}
    ).transpose("chain", "draw", "q_dim")
    for m, component in enumerate(components):
        tree = xr.DataTree.from_dict(
            {
                "posterior": posterior,
                "log_prior": xr.Dataset({"c": (("chain", "draw"), component)}, coords=coords),
                "log_likelihood": xr.Dataset(
                    {"c": (("chain", "draw"), np.zeros_like(component))}, coords=coords
                ),
            }
        )
        if np.ptp(component) == 0:
            assert np.all(got[m] == 0)  # a constant component moves nothing
            continue
        expected = azs.psense(tree, var_names=["q"], group="prior")["q"].values
        np.testing.assert_allclose(got[m], expected, rtol=1e-9)
