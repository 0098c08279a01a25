"""Full Bayes for truth discovery on PyMC, for small data (up to ~50k reports).

The same model as :mod:`credence.discovery.vb` — any source model, stance
channels, copying, a shared error — sampled with NUTS. With pooling, the sources' priors are
the ones the variational fit learned (empirical Bayes: the same model, its
hyperparameters set from the data), so the two fits answer the same question. The true
labels are discrete, so they are summed out of the likelihood (``logsumexp``
over each claim's labels); their posterior is then the average over draws of
P(T_i | theta, pi, reports), computed by the same code as the variational
E-step, fed the sampled log parameters instead of expected ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from credence.discovery import models, shared_error
from credence.discovery.estimator import TruthDiscovery, block_of
from credence.discovery.table import Reports
from credence.discovery.vb import Expectations, block_claim_posterior
from credence.options import MAX_DRAWS, whole_number

__all__ = ["BayesFit", "build_model", "sample_posterior"]


@dataclass(frozen=True, eq=False)
class BayesFit:
    """Posterior draws of a truth-discovery model and what they imply.

    Attributes
    ----------
    claims : pandas.Index
    classes : numpy.ndarray
    claim_posterior : numpy.ndarray
        ``(n_claims, K)`` posterior probability of each label.
    claim_posterior_mcse : numpy.ndarray
        Its Monte Carlo standard error (from the effective sample size).
    source_mean : numpy.ndarray
        Posterior mean of each source's parameters (accuracy, or confusion rows).
    diagnostics : dict
        ``r_hat_max``, ``ess_bulk_min``, ``divergences``.
    idata : xarray.DataTree
        The draws.
    """

    claims: pd.Index
    classes: np.ndarray
    claim_posterior: np.ndarray
    claim_posterior_mcse: np.ndarray
    source_mean: np.ndarray
    diagnostics: dict[str, Any]
    idata: Any


def build_model(
    reports: Reports,
    model: str,
    source_prior: np.ndarray,
    class_prior: np.ndarray,
    copy_prior: np.ndarray | None = None,
    fidelity_prior: np.ndarray | None = None,
):
    """The PyMC model of coded reports, with the truths summed out.

    Parameters
    ----------
    reports : Reports
        Global label set (per-claim candidate sets are not supported here).
    model : {"one-coin", "two-coin", "dawid-skene"}
    source_prior : numpy.ndarray
        ``(S, ...)`` prior parameters of every source (a model's parameter shape).
    class_prior : numpy.ndarray
        Dirichlet parameters of the class prior.
    copy_prior : numpy.ndarray, optional
        ``(S, 2)`` Beta prior of every source's copy propensity; None: the
        reports are independent.
    fidelity_prior : numpy.ndarray, optional
        ``(2,)`` Beta prior of the fidelity of claims' reports, or ``(K, K)``
        Dirichlet rows of a story channel by label
        (:mod:`credence.discovery.shared_error`); None: no shared error
        (true and apparent labels are one).

    Returns
    -------
    pymc.Model
    """
    import pymc as pm
    import pytensor.tensor as pt

    if reports.per_claim:
        raise ValueError("full Bayes supports one label set for all claims, not per-claim")
    source_model = models.get(model)
    n, k, s = reports.n_claims, reports.n_classes, reports.n_sources
    block = block_of(reports, copying=copy_prior is not None)
    coords = {
        "source": np.arange(s),
        "truth": np.arange(k),
        "apparent": np.arange(k),
        "label": np.arange(reports.n_labels),
    }
    with pm.Model(coords=coords) as pm_model:
        pi = pm.Dirichlet("class_prior", a=class_prior, dims="truth")
        log_params = source_model.pymc_parameters(source_prior, s)
        if copy_prior is not None:
            c = pm.Beta(
                "copy_propensity", alpha=copy_prior[:, 0], beta=copy_prior[:, 1], dims="source"
            )
            later = block.earlier > 0
            matched = later & np.isfinite(block.log_match)
            log_match = np.where(matched, block.log_match, 0.0)
            log_copy = log_match + pt.log(c)[block.source]
            log_own = pt.switch(later, pt.log1p(-c)[block.source], 0.0)
        columns = []
        for t in range(k):
            term = source_model.pymc_term(block, log_params, t)
            if copy_prior is not None:
                own = term + log_own
                term = pt.switch(matched, pt.logaddexp(log_copy, own), own)
            columns.append(pt.zeros(n)[block.claim].inc(term))
        scores = pt.stack(columns, axis=1)
        if shared_error.is_channel(fidelity_prior):
            channel = pm.Dirichlet("fidelity", a=fidelity_prior, dims=("truth", "apparent"))
            step = pt.log(channel)  # (truth, apparent)
        elif fidelity_prior is not None:
            rho = pm.Beta("fidelity", alpha=fidelity_prior[0], beta=fidelity_prior[1])
            same, other = shared_error.transition(
                pt.stack([pt.log(rho), pt.log1p(-rho)]), np.array([k]), xp=pt
            )
            step = pt.where(np.eye(k, dtype=bool), same[0], other[0])  # (truth, apparent)
        if fidelity_prior is not None:
            # log P(reports | T = t): the apparent label summed out
            scores = pm.math.logsumexp(scores[:, None, :] + step[None, :, :], axis=2)
            scores = scores.reshape((n, k))
        scores = scores + pt.log(pi)[None, :]
        known = reports.gold >= 0
        free = np.flatnonzero(~known)
        fixed = np.flatnonzero(known)
        total = pm.math.logsumexp(scores[free], axis=1).sum()
        if fixed.size:
            total = total + scores[fixed, reports.gold[fixed]].sum()
        pm.Potential("reports", total)
    return pm_model


def _conditional(
    reports: Reports, model: str, draws: dict[str, np.ndarray], copying: bool
) -> np.ndarray:
    """P(T | parameters, reports) for each draw, shape ``(n_draws, n_claims, K)``."""
    source_model = models.get(model)
    block = block_of(reports, copying=copying)
    out = np.empty((draws["class_prior"].shape[0], reports.n_claims, reports.n_classes))
    for d in range(out.shape[0]):
        copy = None
        if copying:
            c = draws["copy_propensity"][d]
            copy = np.stack([np.log(c), np.log1p(-c)], axis=1)
        fidelity = None
        if "fidelity" in draws:
            rho = draws["fidelity"][d]
            channel = shared_error.is_channel(rho)
            fidelity = np.log(rho) if channel else np.array([np.log(rho), np.log1p(-rho)])
        exp = Expectations(
            model=model,
            source=source_model.draws_to_log_params(draws[source_model.variable][d]),
            classes=np.log(draws["class_prior"][d]),
            copy=copy,
            fidelity=fidelity,
        )
        out[d] = block_claim_posterior(block, exp)
    return out


def sample_posterior(
    X: pd.DataFrame | Reports,
    y: Any = None,
    *,
    model: str = "one-coin",
    copying: bool = False,
    pooling: bool = False,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    random_seed: int | None = None,
    **estimator_params: Any,
) -> BayesFit:
    """Sample the posterior of a truth-discovery model with NUTS (imports PyMC).

    Parameters
    ----------
    X : pandas.DataFrame or Reports
        Reports, as :meth:`TruthDiscovery.fit` takes.
    y : optional
        Known labels of some claims.
    model : {"one-coin", "two-coin", "dawid-skene"}
    copying : bool, default False
        Model copying among the reports on a claim.
    pooling : bool, default False
        Use the priors a pooled variational fit learns; False: the priors as given.
    draws, tune, chains : int
        Draws per chain (1 to 1,000,000), tuning steps (0 to 1,000,000),
        chains (1 to 64).
    random_seed : int, optional
        From 0 to 2**32 - 1.
    **estimator_params
        Priors and options, as :class:`TruthDiscovery` takes them.

    Returns
    -------
    BayesFit

    Notes
    -----
    Sampling is started from the variational fit's posterior means, which
    keeps every chain in the mode where sources are better than chance (the
    model is symmetric under relabelling when the priors are weak).
    """
    import pymc as pm
    from arviz_stats.base import array_stats

    estimator = TruthDiscovery(model, copying=copying, pooling=pooling, **estimator_params)
    estimator._check_params()
    whole_number("draws", draws, 1, MAX_DRAWS)
    whole_number("tune", tune, 0, 1_000_000)
    whole_number("chains", chains, 1, 64)
    if random_seed is not None:
        whole_number("random_seed", random_seed, 0, 2**32 - 1)
    reports = estimator._encode(X, y)
    vb = estimator.fit(reports)
    group = vb.source_group_
    source_prior = vb.source_prior_[group]
    copy_prior = vb.copy_prior_[group] if copying else None
    pm_model = build_model(
        reports, model, source_prior, vb.priors_.classes, copy_prior, vb.priors_.fidelity
    )
    means = vb.source_params_ / vb.source_params_.sum(-1, keepdims=True)
    source_model = models.get(model)
    start = {"class_prior": vb.class_prior_}
    start[source_model.variable] = source_model.start_values(means)
    if copying:
        start["copy_propensity"] = vb.copy_params_[:, 0] / vb.copy_params_.sum(axis=1)
    if vb.shared_error_:
        start["fidelity"] = shared_error.posterior_mean(vb.fidelity_params_)
    with pm_model:
        idata = pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=1,
            random_seed=random_seed,
            progressbar=False,
            compute_convergence_checks=False,
            nuts_sampler="pymc",
            initvals=start,
        )
    names = ["class_prior", source_model.variable] + (["copy_propensity"] if copying else [])
    names += ["fidelity"] if vb.shared_error_ else []
    arrays = {name: np.asarray(idata.posterior[name].values) for name in names}
    flat = {name: a.reshape(-1, *a.shape[2:]) for name, a in arrays.items()}
    conditional = _conditional(reports, model, flat, copying)
    per_chain = conditional.reshape(chains, draws, *conditional.shape[1:])
    posterior = conditional.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ess = array_stats.ess(np.moveaxis(per_chain, (0, 1), (-2, -1)), method="mean")
        mcse = np.sqrt(conditional.var(axis=0) / np.where(ess > 0, ess, np.nan))
        pooled = np.concatenate([a.reshape(chains, draws, -1) for a in arrays.values()], axis=-1)
        pooled = np.moveaxis(pooled, -1, 0)
        r_hat = array_stats.rhat(pooled, chain_axis=-2, draw_axis=-1)
        ess_bulk = array_stats.ess(pooled, method="bulk")
    diverging = np.asarray(idata.sample_stats["diverging"].values)
    diagnostics = {
        "r_hat_max": float(np.nanmax(r_hat)) if chains > 1 else None,
        "ess_bulk_min": float(np.nanmin(ess_bulk)),
        "divergences": int(diverging.sum()),
    }
    second = flat[source_model.variable]
    return BayesFit(
        claims=pd.Index(reports.claims, name="claim"),
        classes=reports.classes,
        claim_posterior=posterior,
        claim_posterior_mcse=np.nan_to_num(mcse),
        source_mean=second.mean(axis=0),
        diagnostics=diagnostics,
        idata=idata,
    )
