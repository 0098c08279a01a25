"""Full Bayes on PyMC against exact enumeration, and the variational fit against it."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln

from credence.discovery import TruthDiscovery

pytest.importorskip("pymc")
from sampling_checks import check_sampler_health, z_bound  # noqa: E402

from credence.discovery.bayes import sample_posterior  # noqa: E402

ROWS = [
    ("c1", "a", 1),
    ("c1", "b", 1),
    ("c1", "c", 0),
    ("c2", "a", 0),
    ("c2", "b", 0),
    ("c2", "c", 0),
    ("c3", "a", 1),
    ("c3", "b", 0),
    ("c3", "c", 1),
    ("c4", "a", 1),
    ("c4", "c", 1),
    ("c5", "b", 0),
    ("c5", "c", 1),
]


def _exact(rows, a=2.0, b=1.0, alpha=1.0):
    """P(T_i = 1 | reports): accuracies Beta(a, b), class prior Dirichlet(alpha), enumerated."""
    claims = sorted({c for c, _, _ in rows})
    sources = sorted({s for _, s, _ in rows})
    weights = {}
    for truth in itertools.product((0, 1), repeat=len(claims)):
        t = dict(zip(claims, truth, strict=True))
        ones = sum(truth)
        log_w = betaln(alpha + ones, alpha + len(claims) - ones) - betaln(alpha, alpha)
        for src in sources:
            right = sum(1 for c, s, lab in rows if s == src and lab == t[c])
            wrong = sum(1 for c, s, lab in rows if s == src and lab != t[c])
            log_w += betaln(a + right, b + wrong) - betaln(a, b)
        weights[truth] = np.exp(log_w)
    total = sum(weights.values())
    return np.array(
        [sum(w for tr, w in weights.items() if tr[i]) / total for i in range(len(claims))]
    )


@pytest.mark.slow
def test_pymc_matches_exact_enumeration():
    df = pd.DataFrame(ROWS, columns=["claim", "source", "label"])
    fit = sample_posterior(df, draws=1000, tune=1000, chains=2, random_seed=3)
    exact = _exact(ROWS)
    got = fit.claim_posterior[:, 1]
    # z MCSE over the 5 claims; the floor covers the error of the estimated MCSE
    # itself where it is tiny.
    tolerance = z_bound(got.size) * fit.claim_posterior_mcse[:, 1] + 0.005
    assert np.all(np.abs(got - exact) <= tolerance), (got, exact, tolerance)
    check_sampler_health(fit, draws=1000, chains=2)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["one-coin", "two-coin"])
def test_vb_agrees_with_pymc(model):
    # Sources with ~150 reports each: the mean-field approximation moves a claim's
    # posterior by a few hundredths (on average 0.013 one-coin, 0.025 two-coin; at
    # most 0.05 and 0.1, measured against runs of 20,000 draws); allowed: 0.05 on
    # average and 0.15 per claim, plus the Monte Carlo error, z MCSE per claim over
    # the 300 claims. When every claim's Monte Carlo error is within z MCSE, the
    # mean is within the mean of those bounds: both checks share one failure rate.
    rng = np.random.default_rng(5)
    n_claims, n_sources = 300, 6
    truth = rng.integers(0, 2, n_claims)
    accuracy = np.array([0.9, 0.8, 0.75, 0.7, 0.65, 0.6])
    claim = np.repeat(np.arange(n_claims), 3)
    source = np.concatenate([rng.choice(n_sources, 3, replace=False) for _ in range(n_claims)])
    label = np.where(rng.random(claim.size) < accuracy[source], truth[claim], 1 - truth[claim])
    df = pd.DataFrame({"claim": claim, "source": source, "label": label})
    fit = sample_posterior(df, model=model, draws=500, tune=500, chains=2, random_seed=1)
    vb = TruthDiscovery(model, pooling=False, copying=False).fit(df)
    diff = np.abs(fit.claim_posterior - vb.claim_posterior_)[:, 1]
    monte_carlo = z_bound(n_claims) * fit.claim_posterior_mcse[:, 1]
    assert np.all(diff <= 0.15 + monte_carlo), (diff.max(), monte_carlo.max())
    assert diff.mean() <= 0.05 + monte_carlo.mean()
    check_sampler_health(fit, draws=500, chains=2)


@pytest.mark.slow
def test_vb_agrees_with_pymc_with_copying_and_pooled_priors():
    # The same model on both sides: one-coin channels and copy propensities, their
    # priors those the pooled variational fit learned (empirical Bayes). Measured on
    # these 300 claims of 4 reports by 6 sources (copy cascades, mean propensity 0.6):
    # 0.037 on average and 0.14 at most, mean field against NUTS. Allowed: 0.06 on
    # average and 0.2 per claim, plus z MCSE per claim (one failure rate, as above).
    from credence.discovery.simulate import copy_cascades

    sim = copy_cascades(300, 6, reports_per_claim=4, copy=(6.0, 4.0), seed=3)
    df = sim.reports[["claim", "source", "label"]]
    fit = sample_posterior(df, model="one-coin", copying=True, pooling=True, draws=500,
                           tune=500, chains=2, random_seed=1)
    vb = TruthDiscovery("one-coin", copying=True).fit(df)
    diff = np.abs(fit.claim_posterior - vb.claim_posterior_)[:, 1]
    monte_carlo = z_bound(diff.size) * fit.claim_posterior_mcse[:, 1]
    assert np.all(diff <= 0.2 + monte_carlo), (diff.max(), monte_carlo.max())
    assert diff.mean() <= 0.06 + monte_carlo.mean()
    check_sampler_health(fit, draws=500, chains=2)


@pytest.mark.slow
def test_pymc_stance_channels_match_exact_enumeration():
    # Report labels false / observing / true about claims false / true; each source's
    # rows Dirichlet([2, 1, 1]) and Dirichlet([1, 1, 2]) (the confusion prior (2, 1)),
    # class prior pinned at 1/2: P(T | reports) by enumerating every truth assignment.
    from scipy.special import gammaln

    rows = [("c1", "a", "true"), ("c1", "b", "observing"), ("c1", "c", "true"),
            ("c2", "a", "false"), ("c2", "b", "false"), ("c3", "a", "observing"),
            ("c3", "c", "true"), ("c4", "b", "true"), ("c4", "c", "false")]
    codes = {"false": 0, "observing": 1, "true": 2}
    alpha = np.array([[2.0, 1.0, 1.0], [1.0, 1.0, 2.0]])

    def log_beta(a):
        return gammaln(a).sum() - gammaln(a.sum())

    claims = sorted({c for c, _, _ in rows})
    weights = {}
    for truth in itertools.product((0, 1), repeat=len(claims)):
        t = dict(zip(claims, truth, strict=True))
        log_w = 0.0
        for src, row in itertools.product("abc", (0, 1)):
            counts = np.zeros(3)
            for c, s, lab in rows:
                if s == src and t[c] == row:
                    counts[codes[lab]] += 1
            log_w += log_beta(alpha[row] + counts) - log_beta(alpha[row])
        weights[truth] = np.exp(log_w)
    total = sum(weights.values())
    exact = np.array([sum(w for tr, w in weights.items() if tr[i]) / total
                      for i in range(len(claims))])
    df = pd.DataFrame(rows, columns=["claim", "source", "label"])
    fit = sample_posterior(df, model="dawid-skene", claim_labels=["false", "true"],
                           confusion_prior=(2.0, 1.0), class_prior=1e6, draws=1000,
                           tune=1000, chains=2, random_seed=4)
    got = fit.claim_posterior[:, list(fit.classes).index("true")]
    tolerance = z_bound(got.size) * fit.claim_posterior_mcse[:, 1] + 0.005
    assert np.all(np.abs(got - exact) <= tolerance), (got, exact, tolerance)
    check_sampler_health(fit, draws=1000, chains=2)
