"""The exact engine: posterior, ledger and robustness draws, with no sampling error.

Given H, each Beta-distributed reliability parameter theta meets a product of
factors linear in theta: ``u (1 - theta) + v theta``. Plain reports give
``theta`` or ``1 - theta``; derived reports give copy mixtures with
``u, v >= 0``. The product, in the unscaled Bernstein basis
``sum_k w_k theta^k (1 - theta)^(M - k)``, has non-negative weights, so its
expectation under Beta(a, b),
``sum_k w_k B(a + k, b + M - k) / B(a, b)``, is a sum of positive terms
computed in log space without cancellation.

Cost: plain reports only shift the Beta's parameters, O(1) each, so a case
without provenance costs O(n K). A parameter with M derived reports under one
hypothesis costs O(M^2) to expand, and O(M^3) for its leave-one-out ledger.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln

from credence.compile import CompiledCase
from credence.errors import CaseError
from credence.likelihood import report_probability

__all__ = ["ExactResult", "exact_assess", "exact_posterior", "robustness_draws"]

LN10 = np.log(10.0)
#: Contributions smaller than this (in bans) are reported as 0.
NEGLIGIBLE = 1e-12
_TINY = np.nextafter(0.0, 1.0)
_EPS = np.finfo(float).epsneg


def logsumexp(x: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """log(sum(exp(x))) along ``axis``; all ``-inf`` gives ``-inf``.

    A plain-NumPy version: the engine calls it on small arrays where
    :func:`scipy.special.logsumexp`'s array-API dispatch dominates the cost.
    """
    x = np.asarray(x, float)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _multiply(rows: np.ndarray, lu: np.ndarray, lv: np.ndarray) -> np.ndarray:
    """Multiply Bernstein weights ``rows[..., k]`` by ``u (1 - t) + v t`` (log space)."""
    pad = np.full(rows.shape[:-1] + (1,), -np.inf)
    return np.logaddexp(
        np.concatenate([rows + lu[..., None], pad], axis=-1),
        np.concatenate([pad, rows + lv[..., None]], axis=-1),
    )


def bernstein_weights(log_u: np.ndarray, log_v: np.ndarray) -> np.ndarray:
    """Log weights of ``prod_i (u_i (1 - t) + v_i t)`` in the unscaled Bernstein basis.

    Returns ``w`` with ``prod = sum_k exp(w[k]) t^k (1 - t)^(M - k)``.
    """
    w = np.zeros(1)
    for lu, lv in zip(log_u, log_v, strict=True):
        w = _multiply(w, np.asarray(lu), np.asarray(lv))
    return w


def _component_logp(w, n1, n0, a, b):
    """Log of each mixture component's mass: w_k + B(a + n1 + k, b + n0 + M - k) - B(a, b)."""
    k = np.arange(len(w))
    with np.errstate(invalid="ignore"):
        return w + betaln(a + n1 + k, b + n0 + len(w) - 1 - k) - betaln(a, b)


def _log_expectation(w, n1, n0, a, b) -> float:
    return float(logsumexp(_component_logp(w, n1, n0, a, b)))


@dataclass(frozen=True)
class _Terms:
    """Per (parameter, hypothesis) sufficient statistics of a compiled case."""

    rise: np.ndarray  # (P, K) plain reports with probability theta
    fall: np.ndarray  # (P, K) plain reports with probability 1 - theta
    mixture: dict[tuple[int, int], np.ndarray]  # (p, h) -> derived report indices, random p
    members: dict[tuple[int, int], np.ndarray]  # (p, h) -> all its reports, in ledger order
    log_u: np.ndarray  # (n, K) log factor at theta = 0 (copy probability at its mean)
    log_v: np.ndarray  # (n, K) log factor at theta = 1
    log_fixed: np.ndarray  # (n, K) log probability of reports whose parameter is fixed
    position: np.ndarray  # (n_evidence,) place of each item in ledger order


def _terms(compiled: CompiledCase) -> _Terms:
    n, K = compiled.report_param.shape
    reports = np.arange(n)
    copy = compiled.copy_mean
    random = compiled.param_random
    theta = np.where(random, 0.0, compiled.param_value)
    with np.errstate(divide="ignore"):
        log_u = np.log(report_probability(theta, copy, compiled, reports))
        log_v = np.log(report_probability(np.where(random, 1.0, theta), copy, compiled, reports))
    rise, fall = compiled.independent_counts
    position = np.empty(len(compiled.evidence_ids), int)
    position[compiled.order] = np.arange(len(compiled.order))
    mixture: dict[tuple[int, int], np.ndarray] = {}
    members: dict[tuple[int, int], np.ndarray] = {}
    derived = compiled.report_derived
    if derived.any():
        # group every (report, hypothesis) pair by (parameter, hypothesis) key
        key = (compiled.report_param * K + np.arange(K)).ravel()
        pair_report = np.repeat(reports, K)
        mixed = np.zeros(compiled.n_params * K, bool)
        mixed[key[np.repeat(derived, K) & random[key // K]]] = True
        chosen = np.flatnonzero(mixed[key])
        chosen = chosen[
            np.lexsort((position[compiled.report_evidence[pair_report[chosen]]], key[chosen]))
        ]
        keys, reps = key[chosen], pair_report[chosen]
        bounds = np.r_[0, np.flatnonzero(np.diff(keys)) + 1, len(keys)] if keys.size else [0]
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            group = reps[lo:hi]
            g = (int(keys[lo]) // K, int(keys[lo]) % K)
            members[g] = group
            mixture[g] = group[derived[group]]
    log_fixed = np.where(random[compiled.report_param], 0.0, log_u)
    return _Terms(rise, fall, mixture, members, log_u, log_v, log_fixed, position)


@dataclass(frozen=True)
class ExactResult:
    """What the exact engine computes for a case (arrays in hypothesis order).

    Attributes
    ----------
    log_evidence : ndarray (K,)
        log P(evidence | H), every uncertain parameter integrated out.
    posterior : ndarray (K,)
    in_order, leave_one_out : ndarray (n_evidence, K)
        Change in log10 odds of each hypothesis (against all others) when the
        item is added after those before it in ledger order / removed from all;
        rows in file order.
    path : ndarray (n_evidence, K)
        Posterior after each item, rows in ledger order.
    """

    log_evidence: np.ndarray
    posterior: np.ndarray
    in_order: np.ndarray
    leave_one_out: np.ndarray
    path: np.ndarray


def _log_odds(log_post: np.ndarray) -> np.ndarray:
    """log10 odds of each hypothesis against the rest; rows are states."""
    K = log_post.shape[-1]
    if K == 2:
        rest = log_post[..., ::-1]
    else:
        others = np.array([[j for j in range(K) if j != h] for h in range(K)])
        rest = logsumexp(log_post[..., others], axis=-1)
    with np.errstate(invalid="ignore"):
        return (log_post - rest) / LN10


def _deltas(compiled: CompiledCase, terms: _Terms) -> tuple[np.ndarray, np.ndarray]:
    """Per evidence item (file order): log-evidence added in order, and lost when left out."""
    n_items = len(compiled.evidence_ids)
    K = compiled.n_hypotheses
    step = np.zeros((n_items, K))
    loo = np.zeros((n_items, K))
    step[compiled.direct_evidence] += compiled.direct_loglik
    loo[compiled.direct_evidence] += compiled.direct_loglik

    if compiled.report_param.shape[0] == 0:
        return step, loo
    position = terms.position
    evidence = compiled.report_evidence
    random = compiled.param_random
    a_all, b_all = compiled.param_alpha, compiled.param_beta
    mixed = np.zeros((compiled.n_params, K), bool)
    for p, h in terms.mixture:
        mixed[p, h] = True

    # Reports whose parameter is fixed: a constant factor.
    step[evidence] += terms.log_fixed
    loo[evidence] += terms.log_fixed

    # Plain reports of random parameters without mixtures: Beta-Binomial updates,
    # all (report, hypothesis) pairs at once, grouped by (parameter, hypothesis).
    n, K = compiled.report_param.shape
    r, h = np.divmod(np.arange(n * K), K)
    p = compiled.report_param.ravel()
    keep = random[p] & ~mixed[p, h] & ~compiled.report_derived[r]
    r, h, p = r[keep], h[keep], p[keep]
    if r.size:
        key = p * K + h
        sort = np.lexsort((position[evidence[r]], key))
        r, h, p, key = r[sort], h[sort], p[sort], key[sort]
        rises = compiled.report_rises[r, h].astype(float)
        # running counts before each report within its group
        start = np.r_[True, key[1:] != key[:-1]]
        first = np.flatnonzero(start)[np.cumsum(start) - 1]
        before = np.cumsum(rises) - rises
        n1 = before - before[first]
        n0 = np.arange(len(r)) - first - n1
        a, b = a_all[p], b_all[p]
        step[evidence[r], h] += betaln(a + n1 + rises, b + n0 + 1 - rises) - betaln(a + n1, b + n0)
        N1, N0 = terms.rise[p, h], terms.fall[p, h]
        loo[evidence[r], h] += betaln(a + N1, b + N0) - betaln(a + N1 - rises, b + N0 - 1 + rises)

    # Parameters with derived reports under h: expand in the Bernstein basis.
    buckets: dict[int, list[tuple[int, int]]] = {}
    for group, derived in terms.mixture.items():
        buckets.setdefault(len(derived), []).append(group)
    for groups in buckets.values():
        _mixture_deltas(compiled, terms, groups, position, step, loo)
    return step, loo


def _mixture_deltas(compiled, terms, groups, position, step, loo) -> None:
    """In-order and leave-one-out deltas for parameters with derived reports.

    ``groups`` are (parameter, hypothesis) pairs with the same number M of
    derived reports, processed together. With T reports in a group: prefix
    products cost O(M^2); in-order steps and plain reports' leave-one-out are
    (T, M + 1) arrays; the derived reports' leave-one-out products are built
    together, O(M^3) operations in M vectorised steps.
    """
    G = len(groups)
    params = np.array([p for p, _ in groups])
    hyps = np.array([h for _, h in groups])
    a = compiled.param_alpha[params][:, None, None]
    b = compiled.param_beta[params][:, None, None]
    evidence = compiled.report_evidence
    lists = [terms.members[group] for group in groups]
    T = max(len(m) for m in lists)
    members = np.zeros((G, T), int)
    valid = np.zeros((G, T), bool)
    for g, m in enumerate(lists):
        members[g, : len(m)] = m
        valid[g, : len(m)] = True
    hh = np.broadcast_to(hyps[:, None], (G, T))
    is_derived = compiled.report_derived[members] & valid
    rises = compiled.report_rises[members, hh]
    up = rises & valid & ~is_derived
    down = ~rises & valid & ~is_derived
    M = int(is_derived[0].sum())
    d_members = members[is_derived].reshape(G, M)
    lu = terms.log_u[d_members, hyps[:, None]]
    lv = terms.log_v[d_members, hyps[:, None]]
    k = np.arange(M + 1)

    def log_expect(rows, n1, n0, degree):
        """rows[..., k]: weight of t^k (1 - t)^(degree - k), -inf beyond the degree."""
        n1, n0, degree = n1[..., None], n0[..., None], degree[..., None]
        with np.errstate(invalid="ignore"):
            comp = betaln(a + n1 + k, b + n0 + degree - k)
            comp = np.where(k <= degree, rows + comp, -np.inf)
        return logsumexp(comp, axis=-1) - betaln(a, b)[..., 0]

    prefix = np.full((G, M + 1, M + 1), -np.inf)
    prefix[:, 0, 0] = 0.0
    for j in range(M):
        prefix[:, j + 1] = _multiply(prefix[:, j, :M], lu[:, j], lv[:, j])

    n1 = np.cumsum(up, axis=1).astype(float)
    n0 = np.cumsum(down, axis=1).astype(float)
    degree = np.cumsum(is_derived, axis=1)
    N1, N0 = n1[:, -1:], n0[:, -1:]
    # rows[:, j]: the product of every derived factor but the j-th
    rows = np.zeros((G, M, 1))
    for i in range(M):
        grown = _multiply(rows, lu[:, i : i + 1], lv[:, i : i + 1])
        kept = np.concatenate([rows, np.full((G, M, 1), -np.inf)], axis=-1)
        rows = np.where((np.arange(M) == i)[None, :, None], kept, grown)
    # One evaluation for three sets of states: after each report in order (T),
    # without each plain report (T), without each derived report (M).
    values = log_expect(
        np.concatenate(
            [
                prefix[np.arange(G)[:, None], degree],
                np.broadcast_to(prefix[:, M][:, None, :], (G, T, M + 1)),
                rows,
            ],
            axis=1,
        ),
        np.concatenate([n1, N1 - up, np.repeat(N1, M, 1)], axis=1),
        np.concatenate([n0, N0 - down, np.repeat(N0, M, 1)], axis=1),
        np.concatenate([degree, np.full((G, T), M), np.full((G, M), M - 1)], axis=1),
    )
    after, without_plain, without_derived = values[:, :T], values[:, T : 2 * T], values[:, 2 * T :]
    delta = np.diff(after, axis=1, prepend=0.0)
    np.add.at(step, (evidence[members[valid]], hh[valid]), delta[valid])
    full = after[:, -1:]
    plain = valid & ~is_derived
    np.add.at(loo, (evidence[members[plain]], hh[plain]), (full - without_plain)[plain])
    np.add.at(
        loo, (evidence[d_members], np.broadcast_to(hyps[:, None], (G, M))), full - without_derived
    )


def _log_evidence(compiled: CompiledCase, terms: _Terms) -> np.ndarray:
    """Log P(evidence | H) (K,), summed over parameters rather than items."""
    random = compiled.param_random
    a = compiled.param_alpha[random][:, None]
    b = compiled.param_beta[random][:, None]
    per_param = betaln(a + terms.rise[random], b + terms.fall[random]) - betaln(a, b)
    index = np.cumsum(random) - 1
    for (p, h), derived in terms.mixture.items():
        w = bernstein_weights(terms.log_u[derived, h], terms.log_v[derived, h])
        per_param[index[p], h] = _log_expectation(
            w, terms.rise[p, h], terms.fall[p, h], compiled.param_alpha[p], compiled.param_beta[p]
        )
    fixed = terms.log_fixed.sum(axis=0) + compiled.direct_loglik.sum(axis=0)
    return fixed + per_param.sum(axis=0)


def _refuse_extensions(compiled: CompiledCase) -> None:
    for location, what in compiled.needs_mcmc:
        raise CaseError(f"{what} needs the PyMC engine: use --engine mcmc", location)


def exact_posterior(compiled: CompiledCase) -> np.ndarray:
    """P(H | evidence) (K,) alone, without the ledger: the fast path for sweeps.

    Parameters
    ----------
    compiled : CompiledCase

    Returns
    -------
    ndarray (K,)

    Raises
    ------
    CaseError
        As :func:`exact_assess`.
    """
    _refuse_extensions(compiled)
    with np.errstate(divide="ignore"):
        log_post = np.log(compiled.prior) + _log_evidence(compiled, _terms(compiled))
    if not np.isfinite(log_post).any():
        exact_assess(compiled)  # raises, naming the item that makes it impossible
    return np.exp(log_post - logsumexp(log_post))


def exact_assess(compiled: CompiledCase) -> ExactResult:
    """Compute the posterior and the ledger of a compiled case exactly.

    Parameters
    ----------
    compiled : CompiledCase

    Returns
    -------
    ExactResult

    Raises
    ------
    CaseError
        The case uses an extension only the PyMC engine computes, or its
        evidence is impossible under every hypothesis.
    """
    _refuse_extensions(compiled)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _exact(compiled)


def _exact(compiled: CompiledCase) -> ExactResult:
    step, loo = _deltas(compiled, _terms(compiled))
    log_prior = np.log(compiled.prior)
    path = log_prior + np.cumsum(step[compiled.order], axis=0)
    log_evidence = step.sum(axis=0)
    log_post = log_prior + log_evidence
    if not np.isfinite(log_post).any():
        dead = int(np.argmax(~np.isfinite(path).any(axis=1))) if len(path) else 0
        item = int(compiled.order[dead]) if len(path) else 0
        raise CaseError(
            "the evidence is impossible under every hypothesis once this item is added "
            "(a source with reliability 0 or 1 contradicting itself or the direct evidence?)",
            f"evidence[{item}]",
        )
    posterior = np.exp(log_post - logsumexp(log_post))
    odds_path = _log_odds(np.vstack([log_prior, path]))
    in_order = np.empty_like(step)
    in_order[compiled.order] = np.diff(odds_path, axis=0)
    leave_one_out = _log_odds(log_post) - _log_odds(log_post - loo)
    # Rounding leaves ~1e-16 where an item contributes exactly nothing (a pure copy).
    in_order[np.abs(in_order) < NEGLIGIBLE] = 0.0
    leave_one_out[np.abs(leave_one_out) < NEGLIGIBLE] = 0.0
    path_posterior = np.exp(path - logsumexp(path, axis=1, keepdims=True))
    return ExactResult(log_evidence, posterior, in_order, leave_one_out, path_posterior)


def robustness_draws(
    compiled: CompiledCase,
    posterior: np.ndarray,
    n_draws: int,
    rng: np.random.Generator,
    chunk: int = 1024,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Exact draws of P(H | evidence, phi) with phi ~ p(phi | evidence).

    phi is every uncertain parameter: reliabilities, copy probabilities and a
    Beta claim prior. H is drawn from its posterior; given H, each reliability
    is a mixture of Betas (one Beta without derived reports); each uncertain
    copy probability is drawn through its copy-or-not indicator.

    Parameters
    ----------
    compiled : CompiledCase
    posterior : ndarray (K,)
        P(H | evidence), from :func:`exact_assess`.
    n_draws : int
    rng : numpy.random.Generator
    chunk : int
        Draws evaluated together; bounds the working memory to about
        ``chunk * (P + K * n_derived)`` numbers.

    Returns
    -------
    draws : ndarray (n_draws, K)
        P(H | evidence, phi) per draw; its mean is the posterior.
    parameters : dict of str to ndarray
        The draws of phi, keyed by parameter name.
    """
    from credence.likelihood import log_likelihood

    K = compiled.n_hypotheses
    terms = _terms(compiled)
    H = rng.choice(K, size=n_draws, p=posterior)
    random = np.flatnonzero(compiled.param_random)
    column = np.cumsum(compiled.param_random) - 1
    alpha, beta = compiled.param_alpha, compiled.param_beta
    theta_r = rng.beta(
        alpha[random][None, :] + terms.rise[random][:, H].T,
        beta[random][None, :] + terms.fall[random][:, H].T,
    )
    for (p, h), derived in terms.mixture.items():
        s = np.flatnonzero(H == h)
        if not s.size:
            continue
        n1, n0 = terms.rise[p, h], terms.fall[p, h]
        w = bernstein_weights(terms.log_u[derived, h], terms.log_v[derived, h])
        logp = _component_logp(w, n1, n0, alpha[p], beta[p])
        k = rng.choice(len(w), size=s.size, p=np.exp(logp - logsumexp(logp)))
        theta_r[s, column[p]] = rng.beta(alpha[p] + n1 + k, beta[p] + n0 + len(w) - 1 - k)
    # A Beta draw can round to exactly 0 or 1; keep log(theta) finite.
    np.clip(theta_r, _TINY, 1.0 - _EPS, out=theta_r)

    derived = np.flatnonzero(compiled.report_derived)
    uncertain = np.flatnonzero(compiled.copy_random[derived])
    chosen = derived[uncertain]
    copy_u = np.empty((n_draws, uncertain.size))
    with np.errstate(divide="ignore"):
        log_prior = np.broadcast_to(np.log(compiled.prior), (n_draws, K))
    parameters = {
        name: theta_r[:, column[i]]
        for i, name in enumerate(compiled.param_names)
        if compiled.param_random[i]
    }
    if compiled.prior_beta is not None:
        pa, pb = compiled.prior_beta
        prior_p = rng.beta(pa + (H == 0), pb + (H == 1))
        log_prior = np.stack([np.log(prior_p), np.log1p(-prior_p)], axis=1)
        parameters["claim.prior"] = prior_p

    draws = np.empty((n_draws, K))
    for start in range(0, n_draws, chunk):
        rows = slice(start, min(start + chunk, n_draws))
        size = rows.stop - rows.start
        theta = np.broadcast_to(compiled.param_value, (size, compiled.n_params)).copy()
        theta[:, random] = theta_r[rows]
        copy = np.broadcast_to(compiled.report_copy_value[derived], (size, derived.size)).copy()
        if uncertain.size:
            independent = report_probability(theta, np.zeros((size, chosen.size)), compiled, chosen)
            independent = np.take_along_axis(independent, H[rows, None, None], axis=2)[..., 0]
            cbar = compiled.copy_mean[chosen]
            copied = cbar * compiled.report_match[chosen]
            z = rng.random(independent.shape) * (copied + (1 - cbar) * independent) < copied
            copy_u[rows] = rng.beta(
                compiled.report_copy_alpha[chosen] + z, compiled.report_copy_beta[chosen] + ~z
            )
            copy[:, uncertain] = copy_u[rows]
        with np.errstate(divide="ignore"):
            log_post = log_prior[rows] + log_likelihood(theta, copy, compiled)
        draws[rows] = np.exp(log_post - logsumexp(log_post, axis=1, keepdims=True))
    for j, r in enumerate(chosen):
        parameters[f"{compiled.evidence_ids[compiled.report_evidence[r]]}.copy_probability"] = (
            copy_u[:, j]
        )
    return draws, parameters
