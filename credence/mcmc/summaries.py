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

LN10 = math.log(10.0)
# arviz-stats widens a Pareto tail shorter than 5 draws (few effective draws) and says so;
# the smoothing is still valid, and the Pareto k reported beside the ledger covers it.
_SHORT_TAIL = "Number of tail draws cannot be less than 5"


class ConvergenceWarning(UserWarning):
    """An MCMC run whose diagnostics fail: its numbers may be wrong."""


def _none_if_nan(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


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
        "r_hat_max": _none_if_nan(r_hat),
        "ess_bulk_min": _none_if_nan(ess_bulk),
        "ess_tail_min": _none_if_nan(ess_tail),
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


def _psis(log_ratio: np.ndarray) -> tuple[np.ndarray, float]:
    """PSIS-normalised log weights and Pareto k of one vector of log importance ratios."""
    try:
        # array_stats.psislw takes a log-likelihood and weights by its negation (as in LOO).
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_SHORT_TAIL, category=UserWarning)
            log_w, k = array_stats.psislw(-log_ratio)
    except ValueError:
        # The largest ratios are all equal (few distinct values): no tail to smooth.
        return log_ratio - logsumexp(log_ratio), -math.inf
    return log_w, float(k)


def _log10_odds(log_p: np.ndarray) -> np.ndarray:
    """log10 odds of each hypothesis against all the others; last axis is hypotheses."""
    log_p = log_p - logsumexp(log_p, axis=-1, keepdims=True)
    K = log_p.shape[-1]
    rest = np.stack([logsumexp(np.delete(log_p, h, axis=-1), axis=-1) for h in range(K)], axis=-1)
    with np.errstate(invalid="ignore"):
        return (log_p - rest) / LN10


def _estimate(log_joint: np.ndarray, full: np.ndarray) -> tuple[np.ndarray, float]:
    """Log P(H | a subset of the evidence) by importance sampling from the full posterior.

    ``log_joint`` (S, K) is log P(h | phi) + log P(subset | h, phi) per draw, and
    ``full`` the same with all the evidence. The ratio of the two marginals over
    h reweights draws of p(phi | evidence) into draws of p(phi | subset).
    """
    log_ratio = logsumexp(log_joint, axis=1) - logsumexp(full, axis=1)
    log_w, k = _psis(log_ratio)
    return logsumexp(log_w[:, None] + log_softmax(log_joint, axis=1), axis=0), k


def ledger(
    items: np.ndarray, log_prior: np.ndarray, order: np.ndarray, prior_mean: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The ledger of an MCMC run, by Pareto-smoothed importance sampling.

    Every quantity is the exact engine's, P(H | a subset of the evidence)
    with every parameter integrated out, estimated from the posterior draws:
    draw s of p(phi | evidence) is reweighted by
    ``P(subset | phi_s) / P(evidence | phi_s)`` (each a sum over hypotheses) to
    stand for p(phi | subset), and P(H | subset) is the weighted mean of
    P(H | subset, phi_s). Weights are Pareto-smoothed (PSIS).

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
    ks = [-math.inf]
    prefix = log_prior.copy()
    with np.errstate(divide="ignore"):
        log_path = [np.log(prior_mean)]
    for i in order:
        prefix = prefix + items[:, i]
        estimate, k = _estimate(prefix, full)
        log_path.append(estimate)
        ks.append(k)
    log_path = np.array(log_path)
    log_post = _estimate(full, full)[0]
    without = []
    for i in order:
        estimate, k = _estimate(full - items[:, i], full)
        without.append(estimate)
        ks.append(k)
    odds = _log10_odds(log_path)
    with np.errstate(invalid="ignore"):
        in_order = np.diff(odds, axis=0)
        leave_one_out = _log10_odds(log_post) - _log10_odds(np.array(without).reshape(N, K))
    path = np.exp(log_path[1:] - logsumexp(log_path[1:], axis=1, keepdims=True))
    return in_order, leave_one_out, path, max(ks)


def power_scaling(
    quantity: np.ndarray, component: np.ndarray, alphas: tuple[float, float] = (0.99, 1.01)
) -> float:
    """Power-scaling sensitivity of a quantity to one log-density component.

    As :func:`arviz_stats.psense`: the component is raised to the power alpha
    by Pareto-smoothed importance weights, and the sensitivity is the
    derivative of the cumulative Jensen-Shannon distance between the weighted
    and unweighted draws of ``quantity`` (Kallioinen et al. 2024).

    Parameters
    ----------
    quantity, component : ndarray (chain, draw)
    alphas : (float, float)

    Returns
    -------
    float
        0 when the component does not vary over the draws.
    """
    if np.ptp(component) == 0 or np.ptp(quantity) == 0:
        return 0.0
    weights = []
    for alpha in alphas:
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_SHORT_TAIL, category=UserWarning)
                log_w = array_stats.power_scale_lw(component, alpha=alpha, axis=(0, 1))
        except ValueError:
            # The component takes few distinct values (one per hypothesis, say):
            # no tail to smooth, and the raw weights are bounded.
            log_w = (alpha - 1.0) * component
        w = np.exp(log_w - log_w.max())
        weights.append(w / w.sum())
    return float(
        array_stats.power_scale_sense(
            quantity, weights[0], weights[1], lower_alpha=alphas[0], upper_alpha=alphas[1]
        )
    )
