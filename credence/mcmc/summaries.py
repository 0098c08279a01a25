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


def _tail_length(n: int, r_eff: np.ndarray, both: bool) -> np.ndarray:
    """Draws in the Pareto tail, as ``arviz_stats`` chooses them (per row)."""
    r_eff = np.asarray(r_eff, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.where(n * r_eff > 225, np.floor(3 * np.sqrt(n / r_eff)), np.floor(n / 5))
    if both:
        tail = np.clip(tail, 5, n // 2)
    return tail.astype(int)


def _gpd_fit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Generalized Pareto (k, sigma) of each row of sorted exceedances ``x`` (M, n).

    Row by row the empirical-Bayes fit of ``arviz_stats`` (Zhang and Stephens
    2009, with its weakly informative prior on k; Vehtari et al. 2024).
    """
    prior_bs, prior_k = 3, 10
    M, n = x.shape
    m_est = 30 + int(n**0.5)
    xstar = x[:, int((n / 4 + 0.5) - 1)]
    valid = xstar > x[:, 0]
    safe = np.where(valid, xstar, 1.0)
    b = 1 - np.sqrt(m_est / (np.arange(1, m_est + 1, dtype=float) - 0.5))
    with np.errstate(invalid="ignore", divide="ignore"):
        b = b[None, :] / (prior_bs * safe[:, None]) + 1 / x[:, -1:]
        k = np.mean(np.log1p(-b[:, :, None] * x[:, None, :]), axis=2)
        len_scale = n * (np.log(-b / k) - k - 1)
        w = np.exp(len_scale - logsumexp(len_scale, axis=1, keepdims=True))
        w = np.where(w >= 10 * np.finfo(float).eps, w, 0.0)
        w /= w.sum(axis=1, keepdims=True)
        b_post = np.sum(b * w, axis=1)
        kappa = np.mean(np.log1p(-b_post[:, None] * x), axis=1)
        sigma = -kappa / b_post
    kappa = (n * kappa + prior_k * 0.5) / (n + prior_k)
    kappa = np.where(np.isnan(kappa), np.inf, kappa)
    return np.where(valid, kappa, np.nan), np.where(valid, sigma, np.nan)


def _smooth_rows(log_w: np.ndarray, tail: int) -> tuple[np.ndarray, np.ndarray]:
    """Pareto-smooth the largest ``tail`` log weights of each row; normalise each row.

    The rows share one tail length. Returns the normalised log weights and
    Pareto k per row; a row whose tail is flat (no tail to fit) keeps its raw
    weights and gets k = -inf.
    """
    M, n = log_w.shape
    log_w = log_w - log_w.max(axis=1, keepdims=True)
    order = np.argsort(log_w, axis=1)
    rows = np.arange(M)[:, None]
    ids = order[:, n - tail :]
    draws_tail = log_w[rows, ids]
    cutoff = log_w[rows[:, 0], order[:, n - tail - 1]]
    max_tail, min_tail = draws_tail.max(axis=1), draws_tail.min(axis=1)
    flat = np.abs(max_tail - min_tail) < np.finfo(float).tiny
    with np.errstate(over="ignore", invalid="ignore"):
        khat, sigma = _gpd_fit(np.exp(draws_tail) - np.exp(cutoff)[:, None])
    khat = np.where(flat, -np.inf, khat)
    smooth = np.isfinite(khat)
    if smooth.any():
        p = np.arange(0.5, tail) / tail
        kk, ss, mu = khat[smooth, None], sigma[smooth, None], np.exp(cutoff[smooth])[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(
                kk == 0,
                mu - ss * np.log1p(-p),
                mu + ss * np.expm1(-kk * np.log1p(-p)) / np.where(kk == 0, 1.0, kk),
            )
            q = np.where(ss <= 0, np.nan, q)
            smoothed = np.log(q)
        cap = max_tail[smooth, None]
        smoothed = np.where(smoothed > cap, cap, smoothed)
        sub = log_w[smooth]
        sub[np.arange(sub.shape[0])[:, None], ids[smooth]] = smoothed
        log_w[smooth] = sub
    return log_w - logsumexp(log_w, axis=1, keepdims=True), khat


def _psis(log_ratio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PSIS-normalised log weights and Pareto k of each row of log importance ratios.

    As ``arviz_stats.base.array_stats.psislw`` (relative efficiency 1) row by row.
    """
    tail = int(_tail_length(log_ratio.shape[1], np.ones(1), both=False)[0])
    return _smooth_rows(log_ratio, tail)


def _log10_odds(log_p: np.ndarray) -> np.ndarray:
    """log10 odds of each hypothesis against all the others; last axis is hypotheses."""
    log_p = log_p - logsumexp(log_p, axis=-1, keepdims=True)
    K = log_p.shape[-1]
    rest = np.stack([logsumexp(np.delete(log_p, h, axis=-1), axis=-1) for h in range(K)], axis=-1)
    with np.errstate(invalid="ignore"):
        return (log_p - rest) / LN10


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
    in_ledger = items[:, order]
    # Every subset at once, (2N + 1, S, K): the prefixes in ledger order, all the
    # evidence, and all but each item.
    prefixes = log_prior[None] + np.cumsum(np.moveaxis(in_ledger, 1, 0), axis=0)
    without = full[None] - np.moveaxis(in_ledger, 1, 0)
    joints = np.concatenate([prefixes, full[None], without])
    log_ratio = logsumexp(joints, axis=2) - logsumexp(full, axis=1)[None]
    log_w, ks = _psis(log_ratio)
    estimates = logsumexp(log_w[:, :, None] + log_softmax(joints, axis=2), axis=1)
    with np.errstate(divide="ignore"):
        log_path = np.concatenate([np.log(prior_mean)[None], estimates[:N]])
    log_post, log_without = estimates[N], estimates[N + 1 :]
    ks = np.concatenate([ks[:N], ks[N + 1 :]])
    odds = _log10_odds(log_path)
    with np.errstate(invalid="ignore"):
        in_order = np.diff(odds, axis=0)
        leave_one_out = _log10_odds(log_post) - _log10_odds(log_without)
    path = np.exp(log_path[1:] - logsumexp(log_path[1:], axis=1, keepdims=True))
    k_max = float(np.nanmax(ks, initial=-np.inf)) if not np.isnan(ks).all() else math.nan
    return in_order, leave_one_out, path, k_max


def _cjs_distance(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Cumulative Jensen-Shannon distance between draws and weighted draws, per row.

    As ``arviz_stats``' ``_cjs_dist`` on each row of ``x`` and ``w`` (R, S).
    """
    order = np.argsort(x, axis=1)
    x = np.take_along_axis(x, order, axis=1)
    w = np.take_along_axis(w, order, axis=1)
    n = x.shape[1]
    width = np.diff(x, axis=1)
    cdf_p = np.linspace(1 / n, 1 - 1 / n, n - 1)[None, :]
    cdf_q = np.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)[:, :-1]
    p_int = np.sum(cdf_p * width, axis=1)
    q_int = np.sum(cdf_q * width, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = np.where(cdf_p != 0, np.log2(cdf_p), 0.0)
        log_q = np.where(cdf_q != 0, np.log2(cdf_q), 0.0)
        mid = 0.5 * (cdf_p + cdf_q)
        log_mid = np.where(mid != 0, np.log2(mid), 0.0)
    pq = np.sum(width * (cdf_p * (log_p - log_mid)), axis=1) + 0.5 / np.log(2) * (q_int - p_int)
    qp = np.sum(width * (cdf_q * (log_q - log_mid)), axis=1) + 0.5 / np.log(2) * (p_int - q_int)
    return np.sqrt((np.maximum(pq, 0) + np.maximum(qp, 0)) / (p_int + q_int))


def _power_scaled_weights(components: np.ndarray, r_eff: np.ndarray, alpha: float) -> np.ndarray:
    """Normalised PSIS weights (M, S) of each component (M, chain, draw) raised to ``alpha``.

    As ``arviz_stats.base.array_stats.power_scale_lw``: the tail length follows
    each component's relative tail ESS ``r_eff`` (M,).
    """
    M = components.shape[0]
    log_w = (alpha - 1.0) * components.reshape(M, -1)
    tails = _tail_length(log_w.shape[1], r_eff, both=True)
    out = np.empty_like(log_w)
    for tail in np.unique(tails):
        rows = tails == tail
        out[rows] = _smooth_rows(log_w[rows], int(tail))[0]
    w = np.exp(out - out.max(axis=1, keepdims=True))
    return w / w.sum(axis=1, keepdims=True)


def power_scaling(
    quantities: np.ndarray, components: np.ndarray, alphas: tuple[float, float] = (0.99, 1.01)
) -> np.ndarray:
    """Power-scaling sensitivity of each quantity to each log-density component.

    As :func:`arviz_stats.psense`: a component is raised to the power alpha
    by Pareto-smoothed importance weights, and the sensitivity is the
    derivative of the cumulative Jensen-Shannon distance between the weighted
    and unweighted draws of a quantity (Kallioinen et al. 2024). Computed for
    every pair at once.

    Parameters
    ----------
    quantities : ndarray (Q, chain, draw)
    components : ndarray (M, chain, draw)
    alphas : (float, float)

    Returns
    -------
    ndarray (M, Q)
        0 where the component or the quantity does not vary over the draws.
    """
    M, Q = components.shape[0], quantities.shape[0]
    out = np.zeros((M, Q))
    comp_varies = np.ptp(components.reshape(M, -1), axis=1) > 0
    x = quantities.reshape(Q, -1)
    qty_varies = np.ptp(x, axis=1) > 0
    if not comp_varies.any() or not qty_varies.any():
        return out
    used = components[comp_varies]
    x = x[qty_varies]
    m, q = used.shape[0], x.shape[0]
    # Rows (component, quantity, sign): the distance is taken for x and for -x.
    signed = np.concatenate([x, -x])  # (2q, S)
    values = np.broadcast_to(signed[None], (m, 2 * q, x.shape[1])).reshape(m * 2 * q, -1)
    # arviz-stats' power_scale_lw takes the tail ESS of all draws as one sequence
    # (chains concatenated), not per chain; the tail length follows from it.
    flat = used.reshape(m, 1, -1)
    r_eff = np.atleast_1d(array_stats.ess(flat, method="tail", prob=0.05, relative=True))
    grads = []
    for alpha in alphas:
        w = _power_scaled_weights(used, r_eff, alpha)  # (m, S)
        weights = np.broadcast_to(w[:, None], (m, 2 * q, w.shape[1])).reshape(m * 2 * q, -1)
        cjs = _cjs_distance(values, weights).reshape(m, 2, q).max(axis=1)
        grads.append(cjs / np.log2(alpha))
    sense = (-grads[0] + grads[1]) / 2
    out[np.ix_(comp_varies, qty_varies)] = sense
    return out
