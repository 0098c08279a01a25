"""What an MCMC run reports beside the posterior: diagnostics, ledger, sensitivity.

Array in, numbers out (NumPy and arviz-stats' array layer); the labelled
DataTree is assembled by :mod:`credence.mcmc.engine`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from arviz_stats.base import array_stats
from scipy.special import log_softmax, logsumexp

from credence.jsonable import finite_or_none
from credence.ledger import in_order_deltas, leave_one_out_deltas

__all__ = [
    "ConvergenceWarning",
    "R_HAT_MAX",
    "check_convergence",
    "convergence",
    "ledger",
    "power_scaling",
]

#: Thresholds (Vehtari et al. 2021, "Rank-normalization, folding, and localization").
R_HAT_MAX = 1.01
ESS_PER_CHAIN = 100
#: Pareto k above which an importance-sampling estimate is unreliable (Vehtari et al. 2024).
PARETO_K_MAX = 0.7


class ConvergenceWarning(UserWarning):
    """An MCMC run whose diagnostics fail: its numbers may be wrong."""


def convergence(arrays: list[np.ndarray], diverging: np.ndarray) -> dict[str, float | int | None]:
    """R-hat, bulk and tail ESS over every scalar of every variable, and divergences.

    Parameters
    ----------
    arrays : list of ndarray (chain, draw, ...)
        Posterior draws of each variable.
    diverging : ndarray (chain, draw) of bool

    Returns
    -------
    dict
        ``r_hat_max`` (rank-normalised split R-hat; None with one chain),
        ``ess_bulk_min``, ``ess_tail_min``, ``divergences``. Constant
        components (no uncertainty) are skipped.
    """
    flat = [a.reshape(a.shape[0], a.shape[1], -1) for a in arrays]
    ary = np.concatenate(flat, axis=-1) if flat else np.zeros((1, 1, 0))
    ary = np.moveaxis(ary, -1, 0)
    varying = np.ptp(ary.reshape(ary.shape[0], -1), axis=1) > 0 if ary.size else np.zeros(0, bool)
    ary = ary[varying]
    if ary.shape[0] == 0:
        r_hat = ess_bulk = ess_tail = math.nan
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            r_hat = np.nanmax(array_stats.rhat(ary, chain_axis=-2, draw_axis=-1), initial=-np.inf)
            ess_bulk = np.nanmin(array_stats.ess(ary, method="bulk"), initial=np.inf)
            ess_tail = np.nanmin(
                array_stats.ess(ary, method="tail", prob=(0.05, 0.95)), initial=np.inf
            )
    return {
        "r_hat_max": finite_or_none(r_hat),
        "ess_bulk_min": finite_or_none(ess_bulk),
        "ess_tail_min": finite_or_none(ess_tail),
        "divergences": int(np.sum(diverging)),
    }


def check_convergence(diagnostics: dict, chains: int, draws: int) -> list[str]:
    """Warn (:class:`ConvergenceWarning`) naming each failed check and what to try.

    Returns
    -------
    list of str
        The failed checks (empty when all pass).
    """
    failed = []
    r_hat = diagnostics["r_hat_max"]
    if r_hat is not None and r_hat > R_HAT_MAX:
        failed.append(f"r_hat_max {r_hat:.3f} > {R_HAT_MAX}")
    need = ESS_PER_CHAIN * chains
    for key in ("ess_bulk_min", "ess_tail_min"):
        ess = diagnostics[key]
        if ess is not None and ess < need:
            failed.append(f"{key} {ess:.0f} < {need} ({ESS_PER_CHAIN} per chain)")
    if diagnostics["divergences"]:
        failed.append(f"{diagnostics['divergences']} divergent transitions")
    k = diagnostics.get("ledger_pareto_k_max")
    if k is not None and k > PARETO_K_MAX:
        failed.append(f"ledger_pareto_k_max {k:.2f} > {PARETO_K_MAX}")
    if failed:
        advice = []
        if any(f.startswith(("r_hat", "ess")) for f in failed):
            advice.append(
                f"more draws and tuning (e.g. draws={2 * draws}, tune={2 * draws}) or more chains"
            )
        if diagnostics["divergences"]:
            advice.append(
                "target_accept=0.95; divergences in a pooled model often mean a kind has "
                "too few sources to learn its concentration: give pooling.concentration "
                "a larger value or drop pooling"
            )
        if k is not None and k > PARETO_K_MAX:
            advice.append(
                "the ledger is estimated by importance sampling from the posterior and some "
                "items move it too far: read it from engine='exact' where the case allows, "
                "or take more draws"
            )
        warnings.warn(
            "MCMC diagnostics failed: " + "; ".join(failed) + ". Try " + "; ".join(advice) + ".",
            ConvergenceWarning,
            stacklevel=3,
        )
    return failed


def _psis(log_ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PSIS-normalised log weights and Pareto k of each row of log importance ratios.

    Row by row :meth:`arviz_stats.base.array_stats.psislw` with relative
    efficiency 1; it takes the negated log ratios, as PSIS-LOO takes
    log-likelihoods. A row whose Pareto tail is flat has nothing to smooth
    (e.g. an item whose likelihood does not depend on the parameters): it
    keeps its raw weights and gets k = -inf.
    """
    log_w = np.empty(log_ratio.shape)
    ks = np.empty(log_ratio.shape[0])
    for i, row in enumerate(log_ratio):
        try:
            # a near-flat tail makes the Pareto fit take logs of 0 or of negatives; its k says so
            with np.errstate(divide="ignore", invalid="ignore"):
                log_w[i], ks[i] = array_stats.psislw(-row, r_eff=1.0)
        except ValueError:  # arviz-stats: "All tail values are the same"
            log_w[i], ks[i] = row - logsumexp(row), -np.inf
    return log_w, ks


def ledger(
    items: np.ndarray,
    log_prior: np.ndarray,
    order: np.ndarray,
    prior_mean: np.ndarray,
    corrections: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The ledger of an MCMC run, by Pareto-smoothed importance sampling.

    Every quantity is the exact engine's, P(H | a subset of the evidence)
    with every parameter integrated out, estimated from the posterior draws:
    draw s of p(phi | evidence) is reweighted by
    ``P(subset | phi_s) / P(evidence | phi_s)`` (each a sum over hypotheses) to
    stand for p(phi | subset), and P(H | subset) is the weighted mean of
    P(H | subset, phi_s). Weights are Pareto-smoothed (PSIS). The changes in
    log10 odds are then taken as the exact engine takes them
    (:mod:`credence.ledger`).

    Parameters
    ----------
    items : ndarray (S, n_evidence, K)
        log P(item | h, phi_s), file order.
    log_prior : ndarray (S, K)
        log P(h | phi_s).
    order : ndarray of int
        Ledger order.
    prior_mean : ndarray (K,)
        P(h) before any evidence (exact).
    corrections : (ndarray, ndarray), optional
        What to add to the log-likelihood of each prefix and of all but each
        item (both (n_evidence, S, K), ledger order) where it is not the sum of
        the items' terms: members of a group left out, or taken before the
        members listed ahead of them, change the others' match fractions.

    Returns
    -------
    in_order, leave_one_out : ndarray (n_evidence, K)
        Change in log10 odds of each hypothesis, rows in ledger order.
    path : ndarray (n_evidence, K)
        P(H | the items up to this one), ledger order.
    pareto_k_max : float
        Largest Pareto k over the estimates (above 0.7: unreliable).
    """
    S, N, K = items.shape
    full = log_prior + items.sum(axis=1)
    in_ledger = items[:, order]
    # Every subset at once, (2N + 1, S, K): the prefixes in ledger order, all the
    # evidence, and all but each item.
    prefixes = log_prior[None] + np.cumsum(np.moveaxis(in_ledger, 1, 0), axis=0)
    without = full[None] - np.moveaxis(in_ledger, 1, 0)
    if corrections is not None:
        prefixes = prefixes + corrections[0]
        without = without + corrections[1]
    joints = np.concatenate([prefixes, full[None], without])
    log_ratio = logsumexp(joints, axis=2) - logsumexp(full, axis=1)[None]
    log_w, ks = _psis(log_ratio)
    estimates = logsumexp(log_w[:, :, None] + log_softmax(joints, axis=2), axis=1)
    with np.errstate(divide="ignore"):
        log_path = np.concatenate([np.log(prior_mean)[None], estimates[:N]])
    log_post, log_without = estimates[N], estimates[N + 1 :]
    ks = np.concatenate([ks[:N], ks[N + 1 :]])
    in_order = in_order_deltas(log_path)
    leave_one_out = leave_one_out_deltas(log_post, log_without)
    path = np.exp(log_path[1:] - logsumexp(log_path[1:], axis=1, keepdims=True))
    k_max = float(np.nanmax(ks, initial=-np.inf)) if not np.isnan(ks).all() else math.nan
    return in_order, leave_one_out, path, k_max


def _power_scaled_weights(components: np.ndarray, alpha: float) -> np.ndarray:
    """Normalised weights (M, chain, draw) that raise each component to the power ``alpha``.

    Component by component :meth:`arviz_stats.base.array_stats.power_scale_lw`
    (which keeps the Pareto tail between 5 draws and half the draws).
    A component whose Pareto tail is flat (e.g. the log-likelihood of an item
    that takes two values, one per hypothesis) has nothing to smooth: it keeps
    its raw weights.
    """
    log_w = np.empty(components.shape)
    for i, component in enumerate(components):
        try:
            with warnings.catch_warnings():
                # The tail is clipped to 5 .. half the draws; arviz-stats says so each time.
                warnings.filterwarnings("ignore", "Number of tail draws", UserWarning)
                with np.errstate(divide="ignore", invalid="ignore"):
                    log_w[i] = array_stats.power_scale_lw(component, alpha=alpha, axis=(-2, -1))
        except ValueError:  # arviz-stats: "All tail values are the same"
            raw = (alpha - 1.0) * component
            log_w[i] = raw - logsumexp(raw)
    return np.exp(log_w)


def power_scaling(
    quantities: np.ndarray, components: np.ndarray, alphas: tuple[float, float] = (0.99, 1.01)
) -> np.ndarray:
    """Power-scaling sensitivity of each quantity to each log-density component.

    :func:`arviz_stats.psense` on arrays (Kallioinen et al. 2024): each
    component is raised to the power alpha by Pareto-smoothed importance
    weights (:meth:`arviz_stats.base.array_stats.power_scale_lw`), and the
    sensitivity is the derivative of the cumulative Jensen-Shannon distance
    between the weighted and unweighted draws of a quantity
    (:meth:`arviz_stats.base.array_stats.power_scale_sense`).

    Parameters
    ----------
    quantities : ndarray (Q, chain, draw)
    components : ndarray (M, chain, draw)
        Log-density terms, e.g. the log prior and each item's log-likelihood.
    alphas : (float, float)
        The lower and upper power.

    Returns
    -------
    ndarray (M, Q)
        0 where the component or the quantity does not vary over the draws.
    """
    M, Q = components.shape[0], quantities.shape[0]
    out = np.zeros((M, Q))
    comp_varies = np.ptp(components.reshape(M, -1), axis=1) > 0
    qty_varies = np.ptp(quantities.reshape(Q, -1), axis=1) > 0
    if not comp_varies.any() or not qty_varies.any():
        return out
    used, x = components[comp_varies], quantities[qty_varies]
    m, q = used.shape[0], x.shape[0]
    lower, upper = (_power_scaled_weights(used, alpha) for alpha in alphas)
    # One (component, quantity) pair per leading index.
    shape = (m, q, *x.shape[1:])
    sense = array_stats.power_scale_sense(
        np.broadcast_to(x[None], shape),
        np.broadcast_to(lower[:, None], shape),
        np.broadcast_to(upper[:, None], shape),
        lower_alpha=alphas[0],
        upper_alpha=alphas[1],
    )
    out[np.ix_(comp_varies, qty_varies)] = sense
    return out
