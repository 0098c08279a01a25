"""Shared checks of the sampling tests of truth discovery's full-Bayes fit."""

from conftest import MAX_DIVERGENT_FRACTION
from scipy.stats import norm

# How often each sampling test may fail by chance. Its comparisons share the rate
# (Bonferroni): |estimate - target| <= z MCSE with z = norm.isf(rate / (2 n)) for n
# comparisons (normal CLT for a posterior mean, MCSE from the effective sample size).
TEST_FAILURE_RATE = 1e-4
# Split R-hat of converged chains at these effective sample sizes stays near 1.01;
# a chain in another mode gives far more.
MAX_R_HAT = 1.05


def z_bound(n_comparisons):
    return norm.isf(TEST_FAILURE_RATE / (2 * n_comparisons))


def check_sampler_health(fit, draws, chains):
    diagnostics = fit.diagnostics
    assert diagnostics["divergences"] <= MAX_DIVERGENT_FRACTION * draws * chains, diagnostics
    assert diagnostics["r_hat_max"] < MAX_R_HAT, diagnostics
