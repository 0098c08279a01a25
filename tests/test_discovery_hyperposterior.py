"""The pooled prior's uncertainty integrated out of exports, against direct integration."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.special import betaln
from sheet import SHEET

from credence.discovery import TruthDiscovery, copy_probability
from credence.discovery.bridge import exported_betas, sources_yaml
from credence.discovery.hyperposterior import marginal_betas, predictive_betas
from credence.discovery.pooling import MIN_ALPHA, concentration_cap, pooled_prior
from credence.discovery.simulate import copy_cascades


def _moments_by_quadrature(counts, source=None):
    """Mean and variance of a source's parameter (None: a new source's), by scipy's dblquad
    over (log kappa, m) in the pooled prior's range, flat in both (the module's docstring).

    The range of m is cut at ten standard errors either side of the pooled mean, so that
    the adaptive rule finds a sharp peak there.
    """

    def log_density(m, kappa):
        alpha, beta = kappa * m, kappa * (1 - m)
        return sum(betaln(alpha + a, beta + b) - betaln(alpha, beta) for a, b in counts)

    a, b = (0.0, 0.0) if source is None else counts[source]
    top = np.log(concentration_cap(counts.sum(), 2))
    total = counts.sum(axis=0) + 1.0
    pooled = total[0] / total.sum()
    spread = 10 * np.sqrt(pooled * (1 - pooled) / total.sum())
    cuts = [pooled - spread, pooled + spread]
    peak = max(log_density(m, k) for m in np.r_[np.linspace(0.05, 0.95, 19), pooled]
               for k in np.exp(np.linspace(0.1, top - 0.1, 19)))

    def moment(f):
        def integrand(m, t):
            kappa = np.exp(t)
            return np.exp(log_density(m, kappa) - peak) * f(kappa * m + a, kappa * (1 - m) + b)

        def edges(t):
            lo, hi = MIN_ALPHA / np.exp(t), 1 - MIN_ALPHA / np.exp(t)
            return [lo, *np.clip(cuts, lo, hi), hi]

        return sum(
            integrate.dblquad(
                integrand, np.log(2 * MIN_ALPHA), top,
                lambda t, i=i: edges(t)[i], lambda t, i=i: edges(t)[i + 1],
                epsabs=0, epsrel=1e-9,
            )[0]
            for i in range(3)
        )

    z = moment(lambda x, y: 1.0)
    mean = moment(lambda x, y: x / (x + y)) / z
    second = moment(lambda x, y: x * (x + 1) / ((x + y) * (x + y + 1))) / z
    return mean, second - mean**2


def _beta_moments(pair):
    a, b = pair
    return a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1))


RECORDS = {
    # a thin record: complete pooling is as likely as any
    "thin": np.array([[0.6, 1.4], [1.2, 1.4], [1.4, 0.6], [0.8, 1.8]]),
    # sources that differ, with records
    "varied": np.array([[25.0, 3.0], [5.0, 0.0], [9.0, 9.0], [30.0, 2.0], [0.0, 0.0]]),
    # sources alike: the concentration's posterior piles up at its largest value
    "alike": np.array([[9.0, 3.0], [20.0, 6.0], [14.0, 6.0], [7.0, 3.0], [21.0, 9.0]]),
    # alike, with long records: a peak a thousandth wide
    "long": np.array([[1552.0, 107.0], [2790.0, 195.0], [410.0, 31.0], [2011.0, 139.0],
                      [95.0, 6.0], [2650.0, 190.0]]),
}


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_source_posteriors_match_direct_integration(name):
    counts = RECORDS[name]
    out = marginal_betas(counts)
    for j in (0, 1, len(counts) - 1):
        mean, var = _moments_by_quadrature(counts, j)
        got_mean, got_var = _beta_moments(out[j])
        # quadrature error of the zoomed Gauss-Legendre grids, measured <= 2e-5 on 24
        # random records up to 3,000 reports a source
        assert got_mean == pytest.approx(mean, rel=1e-5)
        assert got_var == pytest.approx(var, rel=1e-4)


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_a_new_sources_prior_matches_direct_integration(name):
    counts = RECORDS[name]
    mean, var = _moments_by_quadrature(counts)
    got_mean, got_var = _beta_moments(predictive_betas(counts)[0])
    assert got_mean == pytest.approx(mean, rel=1e-5)
    assert got_var == pytest.approx(var, rel=1e-4)


def test_a_source_without_reports_is_a_new_source_and_groups_are_apart():
    counts = RECORDS["varied"]
    np.testing.assert_allclose(marginal_betas(counts)[-1], predictive_betas(counts)[0],
                               rtol=1e-12)
    thin = RECORDS["thin"]
    both = np.vstack([counts, thin])
    group = np.r_[np.zeros(len(counts), int), np.ones(len(thin), int)]
    np.testing.assert_allclose(
        marginal_betas(both, group),
        np.vstack([marginal_betas(counts), marginal_betas(thin)]), rtol=1e-12,
    )
    np.testing.assert_allclose(
        predictive_betas(both, group),
        np.vstack([predictive_betas(counts), predictive_betas(thin)]), rtol=1e-12,
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 300), st.floats(0, 300)), min_size=1, max_size=10))
def test_no_source_is_surer_than_its_groups_reports_pooled(counts):
    # Complete pooling, the surest the prior can be, makes every source's parameter the
    # group's mean, whose posterior under the flat prior is Beta(1 + sum a, 1 + sum b):
    # no export may claim more.
    counts = np.array(counts)
    for out in (marginal_betas(counts), predictive_betas(counts)):
        assert (out > 0).all()
        assert (out.sum(axis=1) <= 2 + counts.sum()).all()


def test_on_a_rich_record_the_export_is_the_fits_own_posterior():
    rng = np.random.default_rng(3)
    n = rng.integers(20, 60, 300)
    right = rng.binomial(n, rng.beta(8, 2, 300))
    counts = np.stack([right, n - right], axis=1).astype(float)
    hyper = np.array([[2.0, 1.0]])
    for _ in range(200):  # the pooled prior, to convergence
        hyper = pooled_prior(counts, None, 1, hyper, steps=5)
    fitted = hyper[0] + counts
    out = marginal_betas(counts)
    np.testing.assert_allclose(out[:, 0] / out.sum(1), fitted[:, 0] / fitted.sum(1), atol=2e-3)
    np.testing.assert_allclose(out.sum(1), fitted.sum(1), rtol=0.05)


@pytest.mark.parametrize("model", ["one-coin", "two-coin"])
@pytest.mark.parametrize("seed", [0, 1])
def test_a_thin_record_exports_what_it_knows(model, seed):
    # twelve sources, three reports on each of twenty claims
    thin = copy_cascades(20, 12, reports_per_claim=3, copy=(1.0, 19.0), seed=seed)
    record = thin.reports[["claim", "source", "label"]]
    fitted = TruthDiscovery(model, copying=False, shared_error=False).fit(
        record, thin.truth.iloc[:1])
    assert fitted.priors_.pooling
    # the fit's own prior is at most complete pooling's posterior: 60 reports in all
    assert fitted.source_prior_.sum(axis=-1).max() <= 2 + len(record) + 1e-9
    betas = exported_betas(fitted)
    p = fitted.positive_index_
    own = ({"reliability": fitted.source_params_} if model == "one-coin" else
           {"sensitivity": fitted.source_params_[:, p, [p, 1 - p]],
            "false_positive_rate": fitted.source_params_[:, 1 - p, [p, 1 - p]]})
    for field, pairs in betas.items():
        # no source is known better than all the reports together, nor (the prior's
        # own uncertainty integrated in) better than the fit holds it
        assert pairs.sum(axis=1).max() <= 2 + len(record)
        assert (pairs.sum(axis=1) <= own[field].sum(axis=1) * (1 + 1e-9)).all()


def test_fixed_priors_export_the_fits_posterior():
    fitted = TruthDiscovery("two-coin", pooling=False).fit(SHEET, {"ceasefire": "false"})
    betas = exported_betas(fitted)
    p = fitted.positive_index_
    np.testing.assert_array_equal(betas["sensitivity"], fitted.source_params_[:, p, [p, 1 - p]])
    np.testing.assert_array_equal(
        betas["false_positive_rate"], fitted.source_params_[:, 1 - p, [p, 1 - p]]
    )


def test_copy_propensities_export_with_their_priors_uncertainty():
    cascades = copy_cascades(150, 30, copy=(6.0, 4.0), seed=2)
    fitted = TruthDiscovery("one-coin", copying=True).fit(
        cascades.reports[["claim", "source", "label"]])
    assert fitted.priors_.pool_copying  # (on some tables the copy prior is kept fixed)
    counts = fitted.copy_params_ - fitted.copy_prior_[0]
    for j, source in enumerate(fitted.sources_[:5]):
        pair = copy_probability(fitted, source=source, digits=9).beta
        assert _beta_moments(pair) == pytest.approx(
            _beta_moments(marginal_betas(counts)[j]), rel=1e-6)
        assert sum(pair) <= 2 + counts.sum()
    assert _beta_moments(copy_probability(fitted, digits=9).beta) == pytest.approx(
        _beta_moments(predictive_betas(counts)[0]), rel=1e-6)


def test_a_kind_too_small_to_pool_keeps_and_exports_its_fixed_prior():
    sim = copy_cascades(300, 15, copy=(1.0, 19.0), seed=3)
    df = sim.reports[["claim", "source", "label"]].copy()
    official = sorted(df["source"].unique())[-3:]  # three sources of one kind, twelve of another
    df["kind"] = np.where(df["source"].isin(official), "official", "wire")
    fitted = TruthDiscovery("one-coin", copying=False, shared_error=False).fit(df)
    assert fitted.priors_.pooling and list(fitted.kinds_) == ["official", "wire"]
    assert fitted.choice_.endswith("; fixed priors for kind ['official']: fewer than the 10 "
                                   "sources a learned prior needs")
    np.testing.assert_array_equal(fitted.source_prior_[0], fitted.reliability_prior)
    assert not np.allclose(fitted.source_prior_[1], fitted.reliability_prior)
    small = fitted.source_group_ == 0
    betas = exported_betas(fitted)["reliability"]
    np.testing.assert_array_equal(betas[small], fitted.source_params_[small])
    assert not np.allclose(betas[~small], fitted.source_params_[~small])
    assert "# (Where a kind's prior was learned, that prior's own uncertainty" in (
        sources_yaml(fitted))
    # so too the copy propensities, with copying
    copying = TruthDiscovery("one-coin", copying=True, shared_error=False).fit(df)
    assert copying.priors_.pool_copying
    i = copying.sources_.get_loc(official[0])
    assert copy_probability(copying, source=official[0], digits=9).beta == pytest.approx(
        tuple(copying.copy_params_[i]), rel=1e-9)
    assert copy_probability(copying, kind="official", digits=9).beta == pytest.approx(
        tuple(copying.copy_prior_[0]), rel=1e-9)
    np.testing.assert_array_equal(copying.copy_prior_[0], copying.copy_prior)
