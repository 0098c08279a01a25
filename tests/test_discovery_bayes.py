"""Full Bayes on PyMC against exact enumeration, and the variational fit against it."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln

from credence.discovery import TruthDiscovery

pytest.importorskip("pymc")
from credence.discovery.bayes import sample_posterior  # noqa: E402

ROWS = [
    ("c1", "a", 1), ("c1", "b", 1), ("c1", "c", 0),
    ("c2", "a", 0), ("c2", "b", 0), ("c2", "c", 0),
    ("c3", "a", 1), ("c3", "b", 0), ("c3", "c", 1),
    ("c4", "a", 1), ("c4", "c", 1),
    ("c5", "b", 0), ("c5", "c", 1),
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
    return np.array([sum(w for tr, w in weights.items() if tr[i]) / total
                     for i in range(len(claims))])


@pytest.mark.slow
def test_pymc_matches_exact_enumeration():
    df = pd.DataFrame(ROWS, columns=["claim", "source", "label"])
    fit = sample_posterior(df, draws=1000, tune=1000, chains=2, random_seed=3)
    exact = _exact(ROWS)
    got = fit.claim_posterior[:, 1]
    # Monte Carlo error: 5 MCSE (a chance failure ~1e-6 per claim) plus a floor.
    tolerance = 5 * fit.claim_posterior_mcse[:, 1] + 0.005
    assert np.all(np.abs(got - exact) <= tolerance), (got, exact, tolerance)
    assert fit.diagnostics["divergences"] == 0
    assert fit.diagnostics["r_hat_max"] < 1.01


@pytest.mark.slow
@pytest.mark.parametrize("model", ["one-coin", "two-coin"])
def test_vb_agrees_with_pymc(model):
    # Sources with ~150 reports each: the mean-field approximation moves claim
    # posteriors by a few hundredths at most; the tolerance is 0.05 on average
    # per claim and 0.15 on the worst claim, well above Monte Carlo error (~0.01).
    rng = np.random.default_rng(5)
    n_claims, n_sources = 300, 6
    truth = rng.integers(0, 2, n_claims)
    accuracy = np.array([0.9, 0.8, 0.75, 0.7, 0.65, 0.6])
    claim = np.repeat(np.arange(n_claims), 3)
    source = np.concatenate([rng.choice(n_sources, 3, replace=False) for _ in range(n_claims)])
    label = np.where(rng.random(claim.size) < accuracy[source], truth[claim], 1 - truth[claim])
    df = pd.DataFrame({"claim": claim, "source": source, "label": label})
    fit = sample_posterior(df, model=model, draws=500, tune=500, chains=2, random_seed=1)
    vb = TruthDiscovery(model).fit(df)
    diff = np.abs(fit.claim_posterior - vb.claim_posterior_)
    assert diff.mean() < 0.05
    assert diff.max() < 0.15
    assert fit.diagnostics["divergences"] == 0
