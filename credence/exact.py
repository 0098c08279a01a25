"""The exact engine: posterior, ledger and robustness draws, with no sampling error.

Given H, each report's probability is linear in the one reliability parameter
theta it depends on: ``u (1 - theta) + v theta`` with ``u, v >= 0``, the
copy probability at its mean (it enters one factor linearly, so its mean is
exact). Under each hypothesis every (report, parameter) factor is one of

* constant (``u == v``): the parameter is fixed, or the report is a pure copy
  (c = 1) whose factor is its match fraction m whatever theta is;
* plain (``u == 0`` or ``v == 0``): ``v theta`` or ``u (1 - theta)``, an
  independent report, or a derived one with ``c m == 0``;
* a mixture ``u ((1 - theta) + rho theta)``, ``rho = v / u``.

Constants are pulled out; plain factors only shift the Beta's parameters. A
parameter's M mixtures with D distinct ratios rho (their "types"; a chain
sharing one copy probability has one or two) multiply to
``prod_d ((1 - theta) + rho_d theta)^n_d``, whose weights in the unscaled
Bernstein basis ``sum_k w_k theta^k (1 - theta)^(M - k)`` are binomial
coefficients for each type, convolved across types. The weights are
non-negative, so the Beta expectation
``sum_k w_k B(a + k, b + M - k) / B(a, b)`` is a sum of positive terms computed
in log space without cancellation, with Beta ratios that stay finite for
parameters up to the largest float (:mod:`credence.special`).

Cost, for n reports and K hypotheses:

* constants and plain reports: O(1) each, so a case without mixtures
  (including any chain of agreeing pure copies) costs O(n K), ledger included;
* a parameter with M mixtures of D types: weights O(M) for one type, O(M^2)
  at most to convolve several; posterior and the leave-one-out of its plain
  reports O(M); leave-one-out of its mixtures O(D) evaluations, one per type
  (each type's reports contribute the same), each a convolution;
* the in-order ledger of a parameter with mixtures follows its posterior over
  k through its T reports in ledger order, O(j) for a report after j
  mixtures, except that a run of at least ``_RUN`` consecutive mixtures of one
  type, met while the state has fewer than ``_RUN_COMPONENTS`` components (in
  practice: the first run, such as a whole copy chain), costs O(1) per report:
  ``E[((1 - theta) + rho theta)^t]`` under a Beta is a Gauss hypergeometric
  function of t with a three-term recurrence (:func:`_run`), checked against
  direct sums at O(R) cost for a run of R and stepped through if it ever
  disagrees. A chain of 20,000 partial copies: O(T); the worst case (long runs
  of several types interleaved, or plain reports interleaved with mixtures)
  stays O(T M) time, O(M) memory;
* robustness draws: O(M) per parameter to set up, then
  O(draws (P + K n_distinct + K n_uncertain)) where identical derived reports
  with a fixed copy probability count once and n_uncertain reports have their
  own uncertain copy probability (each drawn per draw, through its copy-or-not
  indicator). Memory is bounded whatever the case: draws are taken in chunks
  of about ``_CHUNK_NUMBERS`` numbers, the uncertain copy probabilities in
  blocks of ``_BLOCK_NUMBERS`` reduced at once into the log-likelihood, and
  returned only while they number at most ``_KEEP_NUMBERS`` (draws x reports).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from credence.bernstein import Mixture, log_binomial, log_expectation, mixtures_of
from credence.compile import CLAIM_PRIOR_NAME, CompiledCase, refuse_pymc_only
from credence.errors import CaseError
from credence.exact_chain import Chain
from credence.exact_groups import (
    Component,
    component_log_evidence,
    components,
    draw_component,
)
from credence.ledger import in_order_deltas, leave_one_out_deltas
from credence.likelihood import (
    claim_log_prior,
    copy_mixture,
    counts_log_likelihood,
    fixed_log_likelihood,
    independent_probability,
    report_probability,
)
from credence.special import log_beta_ratio, logsumexp

__all__ = [
    "ExactResult",
    "exact_assess",
    "exact_log_evidence",
    "exact_posterior",
    "logsumexp",
    "robustness_draws",
]

_TINY = np.nextafter(0.0, 1.0)
_EPS = np.finfo(float).epsneg
#: Numbers held at once by one chunk of robustness draws.
_CHUNK_NUMBERS = 1 << 20
#: Draws of uncertain copy probabilities made at once (a block of reports x a chunk of draws).
_BLOCK_NUMBERS = 1 << 17
#: Most copy-probability draws returned (draws x reports); beyond, they are reduced and dropped.
_KEEP_NUMBERS = 1 << 22

CONSTANT, RISE, FALL, MIXTURE, GROUP = 0, 1, 2, 3, 4
#: Runs of at least this many identical mixtures (in ledger order) take the recurrence.
_RUN = 8
#: ... from a state of fewer components than this (a direct check costs O(components R)).
_RUN_COMPONENTS = 64
#: Largest disagreement (natural log, relative above 1) between a run's recurrence and a direct sum.
_RUN_CHECK = 1e-11


@dataclass(frozen=True)
class _Terms:
    """Each report's factor under each hypothesis, split as described in the module."""

    const: np.ndarray  # (n, K) log of the constant part
    kind: np.ndarray  # (n, K) CONSTANT, RISE, FALL, MIXTURE or GROUP (in a component)
    log_rho: np.ndarray  # (n, K) log rho of mixtures
    rise: np.ndarray  # (P, K) plain factors theta of random parameters
    fall: np.ndarray  # (P, K) plain factors 1 - theta of random parameters
    members: dict[tuple[int, int], np.ndarray]  # (p, h) with mixtures -> reports, ledger order
    mixtures: dict[tuple[int, int], Mixture]
    position: np.ndarray  # (n_evidence,) place of each item in ledger order
    log_u: np.ndarray  # (n, K) log P(report | H) at theta = 0 (copy probabilities at their mean)
    log_v: np.ndarray  # (n, K) ... at theta = 1
    components: list[Component]  # reports tied by groups, integrated in exact_groups


def _terms(compiled: CompiledCase) -> _Terms:
    n, K = compiled.report_param.shape
    P = compiled.n_params
    position = np.empty(len(compiled.evidence_ids), int)
    position[compiled.order] = np.arange(len(compiled.order))
    comps = components(compiled, position)
    copy = compiled.copy_mean
    random = compiled.param_random
    theta = np.where(random, 0.0, compiled.param_value)
    args = (compiled.report_param, compiled.report_rises, compiled.report_match)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_u = np.log(report_probability(theta, copy, *args))
        log_v = np.log(report_probability(np.where(random, 1.0, theta), copy, *args))
        free = random[compiled.report_param] & (log_u != log_v)
        kind = np.where(
            free, np.where(log_u == -np.inf, RISE, np.where(log_v == -np.inf, FALL, MIXTURE)), 0
        )
        const = np.where(kind == RISE, log_v, log_u)
        for comp in comps:
            kind[comp.reports, comp.h] = GROUP
            const[comp.reports, comp.h] = 0.0
        log_rho = np.where(kind == MIXTURE, log_v - log_u, np.nan)
    key = compiled.report_param * K + np.arange(K)
    rise = np.bincount(key[kind == RISE], minlength=P * K).reshape(P, K).astype(float)
    fall = np.bincount(key[kind == FALL], minlength=P * K).reshape(P, K).astype(float)
    members: dict[tuple[int, int], np.ndarray] = {}
    mixtures: dict[tuple[int, int], Mixture] = {}
    mixed = np.zeros(P * K, bool)
    mixed[key[kind == MIXTURE]] = True
    r, h = np.nonzero(mixed[key] & (kind != CONSTANT) & (kind != GROUP))
    if r.size:
        keys = key[r, h]
        sort = np.lexsort((position[compiled.report_evidence[r]], keys))
        r, keys = r[sort], keys[sort]
        bounds = np.r_[0, np.flatnonzero(np.diff(keys)) + 1, len(keys)]
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            p, hh = divmod(int(keys[lo]), K)
            group = r[lo:hi]
            members[p, hh] = group
            mix = group[kind[group, hh] == MIXTURE]
            mixtures[p, hh] = mixtures_of(log_rho[mix, hh])
    return _Terms(
        const, kind, log_rho, rise, fall, members, mixtures, position, log_u, log_v, comps
    )


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


def _deltas(compiled: CompiledCase, terms: _Terms) -> tuple[np.ndarray, ...]:
    """Per evidence item (file order): log-evidence added in order, and lost when left out.

    Also the log evidence of the groups' components up to each ledger position
    (see :func:`_component_deltas`).
    """
    n_items = len(compiled.evidence_ids)
    K = compiled.n_hypotheses
    step = np.zeros((n_items, K))
    loo = np.zeros((n_items, K))
    step[compiled.direct_evidence] += compiled.direct_loglik
    loo[compiled.direct_evidence] += compiled.direct_loglik

    n = compiled.report_param.shape[0]
    if n == 0:
        return step, loo, np.zeros((n_items, K))
    position = terms.position
    evidence = compiled.report_evidence
    a_all, b_all = compiled.param_alpha, compiled.param_beta
    step[evidence] += terms.const
    loo[evidence] += terms.const

    # Plain factors of parameters without mixtures: Beta-Binomial updates,
    # all (report, hypothesis) pairs at once, grouped by (parameter, hypothesis).
    mixed = np.zeros((compiled.n_params, K), bool)
    for p, h in terms.mixtures:
        mixed[p, h] = True
    r, h = np.nonzero((terms.kind == RISE) | (terms.kind == FALL))
    p = compiled.report_param[r, h]
    keep = ~mixed[p, h]
    r, h, p = r[keep], h[keep], p[keep]
    if r.size:
        key = p * K + h
        sort = np.lexsort((position[evidence[r]], key))
        r, h, p, key = r[sort], h[sort], p[sort], key[sort]
        rises = (terms.kind[r, h] == RISE).astype(float)
        # running counts before each report within its group
        start = np.r_[True, key[1:] != key[:-1]]
        first = np.flatnonzero(start)[np.cumsum(start) - 1]
        before = np.cumsum(rises) - rises
        n1 = before - before[first]
        n0 = np.arange(len(r)) - first - n1
        a, b = a_all[p], b_all[p]
        step[evidence[r], h] += log_beta_ratio(a + n1, b + n0, rises, 1 - rises)
        N1, N0 = terms.rise[p, h], terms.fall[p, h]
        loo[evidence[r], h] += log_beta_ratio(a + N1 - rises, b + N0 - 1 + rises, rises, 1 - rises)

    for (p, h), mix in terms.mixtures.items():
        _mixture_deltas(compiled, terms, p, h, mix, step, loo)
    level = np.zeros((n_items, K))
    for comp in terms.components:
        _component_deltas(compiled, terms, comp, step, loo, level)
    return step, loo, level


def _component_deltas(compiled, terms, comp, step, loo, level) -> None:
    """In-order and leave-one-out deltas of the reports of a component (see exact_groups).

    ``level`` (ledger positions, K) gains the component's log evidence up to each
    position: a prefix of a group can be impossible where the whole is not, so
    the path is not the sum of the steps there.
    """
    items = compiled.report_evidence[comp.reports]
    full = component_log_evidence(compiled, terms, comp)
    found = None
    if Chain.applies(compiled, comp):
        found = Chain(compiled, terms, comp).deltas(full)
    if found is not None:
        values, left_out = found
    else:
        values = np.array(
            [
                component_log_evidence(compiled, terms, comp, comp.reports[: t + 1])
                for t in range(len(comp.reports))
            ]
        )
        left_out = np.array(
            [
                full - component_log_evidence(compiled, terms, comp, np.delete(comp.reports, t))
                for t in range(len(comp.reports))
            ]
        )
    with np.errstate(invalid="ignore"):
        step[items, comp.h] += np.diff(values, prepend=0.0)
    loo[items, comp.h] += left_out
    at = np.zeros(len(level))
    at[terms.position[items]] = 1.0
    filled = np.concatenate([[0.0], values])[np.cumsum(at).astype(int)]
    level[:, comp.h] += filled


def _mixture_deltas(compiled, terms, p, h, mix, step, loo) -> None:
    """In-order and leave-one-out deltas of the reports of a parameter with mixtures."""
    a, b = compiled.param_alpha[p], compiled.param_beta[p]
    members = terms.members[p, h]
    kind = terms.kind[members, h]
    item = compiled.report_evidence[members]
    N1, N0 = terms.rise[p, h], terms.fall[p, h]
    w = mix.weights
    full = log_expectation(w, a, b, N1, N0)

    # leave one out: one evaluation per plain direction and per mixture type
    rises = kind == RISE
    falls = kind == FALL
    if rises.any():
        loo[item[rises], h] += full - log_expectation(w, a, b, N1 - 1, N0)
    if falls.any():
        loo[item[falls], h] += full - log_expectation(w, a, b, N1, N0 - 1)
    mixes = kind == MIXTURE
    without = log_expectation(mix.without, a, b, N1, N0)
    d = np.searchsorted(mix.ratios, terms.log_rho[members[mixes], h])
    loo[item[mixes], h] += full - without[d]

    # in order: log E[product of the first t factors], t = 1..T
    values = _in_order(a, b, kind, terms.log_rho[members, h], int(N1), int(N0), len(w) - 1)
    step[item, h] += np.diff(values, prepend=0.0)


def _in_order(a, b, kind, log_rho, N1: int, N0: int, M: int, runs: bool = True) -> np.ndarray:
    """Log E[product of a parameter's first t factors] under Beta(a, b), t = 1..T.

    The factors (``kind``, ``log_rho`` per report, in ledger order) are those
    left once constants are pulled out: ``theta``, ``1 - theta`` or
    ``(1 - theta) + rho theta``; N1, N0 and M count them. The state is the
    posterior over k, the number of ``theta`` terms taken from the mixtures so
    far: log weights of the components Beta(a + n1 + k, b + n0 + j - k). A plain
    factor reweighs it, a mixture grows it by one (O(j) each). A run of at
    least ``_RUN`` mixtures of one ratio takes :func:`_run` instead (O(1) per
    report for a one-component state) unless ``runs`` is False.
    """
    T = len(kind)
    out = np.empty(T)
    means = _ComponentMeans(a, b, N1, N0, M)
    # end of the run of identical mixtures starting at each report
    same = (kind[1:] == MIXTURE) & (kind[:-1] == MIXTURE) & (log_rho[1:] == log_rho[:-1])
    breaks = np.flatnonzero(np.r_[~same, True])
    run_end = breaks[np.searchsorted(breaks, np.arange(T))] + 1
    state = np.zeros(1)
    n1 = n0 = 0
    t = 0
    stepwise_until = 0  # a run whose recurrence failed its check is stepped through
    while t < T:
        j = len(state) - 1
        if (
            runs
            and t >= stepwise_until
            and kind[t] == MIXTURE
            and run_end[t] - t >= _RUN
            and j < _RUN_COMPONENTS
        ):
            end = run_end[t]
            alpha = a + n1 + np.arange(j + 1)
            beta = b + n0 + j - np.arange(j + 1)
            done = _run(state, alpha, beta, float(log_rho[t]), end - t)
            if done is not None:
                out[t:end], state = done
                t = end
                continue
            stepwise_until = end
        if kind[t] == RISE:
            state = state + means.up(n1, n0, j)
            n1 += 1
        elif kind[t] == FALL:
            state = state + means.down(n1, n0, j)
            n0 += 1
        else:
            grown = np.empty(j + 2)
            grown[-1] = -np.inf
            grown[:-1] = state + means.down(n1, n0, j)
            up = state + (log_rho[t] + means.up(n1, n0, j))
            grown[1:] = np.logaddexp(grown[1:], up)
            state = grown
        top = state.max()
        out[t] = float(top + np.log(np.exp(state - top).sum())) if top > -np.inf else -np.inf
        t += 1
    return out


def _grow(state, alpha, beta, log_rho: float, R: int) -> np.ndarray:
    """The state after R more mixtures of ratio rho, directly: O(len(state) R).

    Component k times ``((1 - t) + rho t)^R = sum_i C(R, i) rho^i t^i (1 - t)^(R - i)``
    gives component k + i the weight
    ``C(R, i) rho^i B(alpha_k + i, beta_k + R - i) / B(alpha_k, beta_k)``.
    """
    i = np.arange(R + 1)
    binomial = log_binomial(R, log_rho)
    out = np.full(len(state) + R, -np.inf)
    for k, sk in enumerate(state):
        if sk > -np.inf:
            part = sk + binomial + log_beta_ratio(alpha[k], beta[k], i, R - i)
            out[k : k + R + 1] = np.logaddexp(out[k : k + R + 1], part)
    return out


def _run(state, alpha, beta, log_rho: float, R: int):
    """Log E after each of R mixtures of one ratio rho, and the state after them.

    For one component Beta(alpha, beta) the value after t mixtures is
    ``F_t = E[((1 - theta) + rho theta)^t] = 2F1(-t, alpha; alpha + beta; 1 - rho)``,
    which satisfies the contiguous relation

        (alpha + beta + t) F_{t+1} = (t + beta + (alpha + t) rho) F_t - t rho F_{t-1}.

    It is run forward on the ratios ``F_{t+1} / F_t`` with rho <= 1 (for
    rho > 1, ``F_t = rho^t F_t(beta, alpha, 1 / rho)``): F is then the dominant
    solution and rounding errors do not grow, except in a transient where the
    mass of Beta near theta = 1 dominates and rho is small. The result is
    therefore checked against direct sums (:func:`_grow`) at t = 16, 64, ...
    and R; on any disagreement beyond ``_RUN_CHECK`` this returns None and the
    caller steps through the run. Cost O(len(state) R), O(R) for one component.
    """
    flip = log_rho > 0
    lo_a, lo_b = (beta, alpha) if flip else (alpha, beta)
    rho = math.exp(-abs(log_rho))
    shift = log_rho if flip else 0.0
    total = lo_a + lo_b
    if not (np.isfinite(total + R).all() and rho > 0.0):
        return None
    live = state > -np.inf
    weight = state[live]
    lo_a, lo_b, total = lo_a[live], lo_b[live], total[live]
    log_f = np.zeros_like(weight)
    values = np.empty(R)
    ratio = (lo_b + lo_a * rho) / total
    scalar = len(weight) == 1
    if scalar:  # plain floats: one component is the common case (a chain)
        ratio, aa, bb, cc, w0 = (
            float(ratio[0]),
            float(lo_a[0]),
            float(lo_b[0]),
            float(total[0]),
            float(weight[0]),
        )
        acc = w0
        log = math.log
        for t in range(R):
            if t:
                ratio = ((t + bb + (aa + t) * rho) - t * rho / ratio) / (cc + t)
            acc += log(ratio) + shift
            values[t] = acc
    else:
        for t in range(R):
            if t:
                ratio = ((t + lo_b + (lo_a + t) * rho) - t * rho / ratio) / (total + t)
            log_f += np.log(ratio) + shift
            values[t] = logsumexp(weight + log_f)
    check = 16  # checkpoints 16, 64, 256, ...: together O(R) direct terms
    while check < R:
        if not _agrees(values[check - 1], logsumexp(_grow(state, alpha, beta, log_rho, check))):
            return None
        check *= 4
    grown = _grow(state, alpha, beta, log_rho, R)
    if not _agrees(values[-1], logsumexp(grown)):
        return None
    return values, grown


def _agrees(x: float, y: float) -> bool:
    return bool(abs(x - y) <= _RUN_CHECK * max(1.0, abs(y)))


class _ComponentMeans:
    """Log means of theta and 1 - theta under Beta(a + n1 + k, b + n0 + j - k), k = 0..j.

    Moderate parameters read logs from tables; large ones (where a difference
    of logs would lose digits) use ``-log1p(y / x)`` for ``log(x / (x + y))``.
    """

    def __init__(self, a: float, b: float, n1: int, n0: int, m: int) -> None:
        self.a, self.b = a, b
        self.tables = a + b + n1 + n0 + m < 1e6
        if self.tables:
            self.log_a = np.log(a + np.arange(n1 + m + 1))
            self.log_b = np.log(b + np.arange(n0 + m + 1))
            self.log_s = np.log(a + b + np.arange(n1 + n0 + m + 1))

    def _parameters(self, n1: int, n0: int, j: int) -> tuple[np.ndarray, np.ndarray]:
        k = np.arange(j + 1)
        return self.a + n1 + k, self.b + n0 + j - k

    def up(self, n1: int, n0: int, j: int) -> np.ndarray:
        """Log of the mean of theta of each component."""
        if self.tables:
            return self.log_a[n1 : n1 + j + 1] - self.log_s[n1 + n0 + j]
        up, down = self._parameters(n1, n0, j)
        return -np.log1p(down / up)

    def down(self, n1: int, n0: int, j: int) -> np.ndarray:
        """Log of the mean of 1 - theta of each component."""
        if self.tables:
            return self.log_b[n0 : n0 + j + 1][::-1] - self.log_s[n1 + n0 + j]
        up, down = self._parameters(n1, n0, j)
        return -np.log1p(up / down)


def _log_evidence(compiled: CompiledCase, terms: _Terms) -> np.ndarray:
    """Log P(evidence | H) (K,), summed over parameters rather than items."""
    random = compiled.param_random
    a = compiled.param_alpha[random][:, None]
    b = compiled.param_beta[random][:, None]
    per_param = log_beta_ratio(a, b, terms.rise[random], terms.fall[random])
    index = np.cumsum(random) - 1
    for (p, h), mix in terms.mixtures.items():
        per_param[index[p], h] = log_expectation(
            mix.weights,
            compiled.param_alpha[p],
            compiled.param_beta[p],
            terms.rise[p, h],
            terms.fall[p, h],
        )
    fixed = terms.const.sum(axis=0) + compiled.direct_loglik.sum(axis=0)
    grouped = np.zeros(compiled.n_hypotheses)
    for comp in terms.components:
        grouped[comp.h] += component_log_evidence(compiled, terms, comp)
    return fixed + per_param.sum(axis=0) + grouped


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
    log_evidence = exact_log_evidence(compiled)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_post = np.log(compiled.prior) + log_evidence
    if not np.isfinite(log_post).any():
        exact_assess(compiled)  # raises, naming the item that makes it impossible
    return np.exp(log_post - logsumexp(log_post))


def exact_log_evidence(compiled: CompiledCase) -> np.ndarray:
    """Log P(evidence | H) (K,), every uncertain parameter integrated out.

    The log marginal likelihood of all the evidence under each hypothesis,
    without the prior; ``-inf`` where the evidence is impossible under H.
    Differences between cases that share all but some items give predictive
    probabilities, e.g. of one more report (:mod:`credence.explain.voi`).

    Parameters
    ----------
    compiled : CompiledCase

    Returns
    -------
    ndarray (K,)

    Raises
    ------
    CaseError
        The case uses an extension only the PyMC engine computes.

    Examples
    --------
    >>> from credence import Case, Claim, Evidence, Source
    >>> from credence.compile import compile_case
    >>> case = Case(
    ...     claim=Claim(statement="c"),
    ...     sources=[Source(id="s", reliability=0.8)],
    ...     evidence=[Evidence(id="e", source="s", stance="supports")],
    ... )
    >>> np.exp(exact_log_evidence(compile_case(case))).round(6).tolist()
    [0.8, 0.2]
    """
    refuse_pymc_only(compiled, ": use --engine mcmc")
    with np.errstate(divide="ignore", invalid="ignore"):
        return _log_evidence(compiled, _terms(compiled))


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
    refuse_pymc_only(compiled, ": use --engine mcmc")
    with np.errstate(divide="ignore", invalid="ignore"):
        return _exact(compiled)


def _exact(compiled: CompiledCase) -> ExactResult:
    terms = _terms(compiled)
    step, loo, level = _deltas(compiled, terms)
    log_prior = np.log(compiled.prior)
    grouped = np.zeros_like(step, dtype=bool)
    for comp in terms.components:
        grouped[compiled.report_evidence[comp.reports], comp.h] = True
    alone = np.where(grouped, 0.0, step)
    path = log_prior + np.cumsum(alone[compiled.order], axis=0) + level
    # Not the sum of the steps: a prefix of a group may be impossible (-inf) where the
    # whole is possible (a later member explains it), and -inf + inf is not a number.
    log_evidence = _log_evidence(compiled, terms)
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
    in_order = np.empty_like(step)
    in_order[compiled.order] = in_order_deltas(np.vstack([log_prior, path]))
    leave_one_out = leave_one_out_deltas(log_post, log_post - loo)
    path_posterior = np.exp(path - logsumexp(path, axis=1, keepdims=True))
    return ExactResult(log_evidence, posterior, in_order, leave_one_out, path_posterior)


def _beta_draws(rng: np.random.Generator, a, b) -> np.ndarray:
    """Beta(a, b) draws, also where ``a + b`` overflows (``rng.beta`` gives 0 there)."""
    draws = rng.beta(a, b)
    a, b = np.broadcast_arrays(a, b)
    with np.errstate(over="ignore"):
        huge = ~np.isfinite(a + b)
    if huge.any():
        x = rng.standard_gamma(a[huge])
        y = rng.standard_gamma(b[huge])
        draws = np.asarray(draws, dtype=float).copy()
        draws[huge] = 1.0 / (1.0 + y / x)
    return draws


def _uncertain_copies(rng, compiled, reports, theta, H, out) -> np.ndarray:
    """Log-likelihood (draws, K) of reports with uncertain copy probabilities.

    Given H and theta each report's c is a two-component mixture: its
    copy-or-not indicator z is drawn first (copied with probability
    ``c_mean m / (c_mean m + (1 - c_mean) P_independent(H))``), then
    ``c ~ Beta(a + z, b + 1 - z)``. Reports are taken in blocks of columns so
    that a block holds about ``_BLOCK_NUMBERS`` draws; the c's of a block are
    reduced to the log-likelihood at once and kept only in ``out`` (draws,
    reports) when given.
    """
    size = len(H)
    ll = np.zeros((size, compiled.n_hypotheses))
    width = max(1, _BLOCK_NUMBERS // size)
    for lo in range(0, reports.size, width):
        cols = reports[lo : lo + width]
        match = compiled.report_match[cols]
        independent = independent_probability(
            theta, compiled.report_param[cols], compiled.report_rises[cols]
        )
        at_h = np.take_along_axis(independent, H[:, None, None], axis=2)
        cbar = np.broadcast_to(compiled.copy_mean[cols], (size, cols.size))
        copied = copy_mixture(cbar, match, np.zeros_like(at_h))[..., 0]
        total = copy_mixture(cbar, match, at_h)[..., 0]
        z = rng.random(total.shape) * total < copied
        c = _copy_draws(rng, compiled.report_copy_alpha[cols], compiled.report_copy_beta[cols], z)
        if out is not None:
            out[:, lo : lo + cols.size] = c
        with np.errstate(divide="ignore"):
            ll += np.log(copy_mixture(c, match, independent)).sum(axis=1)
    return ll


def _copy_draws(rng, a: np.ndarray, b: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Beta(a + z, b + 1 - z) draws (draws, reports) for per-report a, b.

    As ``X / (X + Y)`` with ``X ~ Gamma(a + z)``, ``Y ~ Gamma(b + 1 - z)``: one
    Gamma(1) (exponential) added to X or Y. With one (a, b) for all reports
    (the common case) the Gamma draws take a scalar shape, twice as fast.
    """
    if not (np.all(a == a[0]) and np.all(b == b[0])):
        return _beta_draws(rng, a + z, b + ~z)
    x = rng.standard_gamma(a[0], z.shape)
    y = rng.standard_gamma(b[0], z.shape)
    e = rng.standard_exponential(z.shape)
    x += np.where(z, e, 0.0)
    y += np.where(z, 0.0, e)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 / (1.0 + y / x)


def _report_args(compiled: CompiledCase, reports: np.ndarray) -> tuple[np.ndarray, ...]:
    """(param, rises, match) of the chosen reports, as the likelihood functions take them."""
    return (
        compiled.report_param[reports],
        compiled.report_rises[reports],
        compiled.report_match[reports],
    )


def _distinct_derived(compiled: CompiledCase, reports: np.ndarray) -> tuple[np.ndarray, ...]:
    """Derived reports with the same probability function, counted once.

    Returns representatives and, for each, how many of ``reports`` share it.
    """
    if not reports.size:
        return reports, np.zeros(0)
    rows = np.column_stack(
        [
            compiled.report_param[reports],
            compiled.report_rises[reports],
            compiled.report_copy_value[reports],
            compiled.report_match[reports],
        ]
    )
    _, first, counts = np.unique(rows, axis=0, return_index=True, return_counts=True)
    return reports[first], counts.astype(float)


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
    is a mixture of Betas (one Beta without mixtures); each uncertain copy
    probability is drawn through its copy-or-not indicator.

    Parameters
    ----------
    compiled : CompiledCase
    posterior : ndarray (K,)
        P(H | evidence), from :func:`exact_assess`.
    n_draws : int
    rng : numpy.random.Generator
    chunk : int
        Most draws evaluated together; fewer when a case has many distinct
        derived reports, so that a chunk holds about a million numbers.

    Returns
    -------
    draws : ndarray (n_draws, K)
        P(H | evidence, phi) per draw; its mean is the posterior.
    parameters : dict of str to ndarray
        The draws of phi, keyed by parameter name. Per-report copy
        probabilities (``"<evidence id>.copy_probability"``) are included
        only while draws x such reports is at most ``_KEEP_NUMBERS`` (4M,
        32 MB): beyond, they are drawn block by block, used and dropped, so
        that memory does not grow with draws x reports.
    """
    K = compiled.n_hypotheses
    terms = _terms(compiled)
    H = rng.choice(K, size=n_draws, p=posterior)
    random = np.flatnonzero(compiled.param_random)
    column = np.cumsum(compiled.param_random) - 1
    alpha, beta = compiled.param_alpha, compiled.param_beta
    theta_r = _beta_draws(
        rng,
        alpha[random][None, :] + terms.rise[random][:, H].T,
        beta[random][None, :] + terms.fall[random][:, H].T,
    )
    for (p, h), mix in terms.mixtures.items():
        s = np.flatnonzero(H == h)
        if not s.size:
            continue
        n1, n0 = terms.rise[p, h], terms.fall[p, h]
        w = mix.weights
        M = len(w) - 1
        k = np.arange(M + 1)
        logp = w + log_beta_ratio(alpha[p], beta[p], n1 + k, n0 + M - k)
        k = rng.choice(M + 1, size=s.size, p=np.exp(logp - logsumexp(logp)))
        theta_r[s, column[p]] = _beta_draws(rng, alpha[p] + n1 + k, beta[p] + n0 + M - k)
    group_c = np.broadcast_to(compiled.group_copy_value, (n_draws, len(compiled.group_ids))).copy()
    for comp in terms.components:
        s = np.flatnonzero(H == comp.h)
        if not s.size:
            continue
        c, theta_p = draw_component(rng, compiled, terms, comp, s.size, _beta_draws)
        for u, g in enumerate(comp.uncertain):
            group_c[s, g] = c[:, u]
        for p, values in theta_p.items():
            theta_r[s, column[p]] = values
    # A Beta draw can round to exactly 0 or 1; keep log(theta) finite.
    np.clip(theta_r, _TINY, 1.0 - _EPS, out=theta_r)

    derived = np.flatnonzero(compiled.report_derived)
    uncertain = derived[compiled.copy_random[derived]]
    known, weight = _distinct_derived(compiled, derived[~compiled.copy_random[derived]])
    keep = n_draws * uncertain.size <= _KEEP_NUMBERS
    copy_u = np.empty((n_draws, uncertain.size)) if keep else None
    with np.errstate(divide="ignore"):
        log_prior = np.broadcast_to(np.log(compiled.prior), (n_draws, K))
    parameters = {
        name: theta_r[:, column[i]]
        for i, name in enumerate(compiled.param_names)
        if compiled.param_random[i]
    }
    if compiled.prior_beta is not None:
        pa, pb = compiled.prior_beta
        prior_p = _beta_draws(rng, pa + (H == 0), pb + (H == 1))
        with np.errstate(divide="ignore"):  # a draw may round to 0 or 1: log 0 is -inf
            log_prior = claim_log_prior(prior_p)
        parameters[CLAIM_PRIOR_NAME] = prior_p
    for g in np.flatnonzero(compiled.group_random):
        parameters[compiled.group_copy_names[g]] = group_c[:, g]
    later = np.flatnonzero(compiled.report_mixed & ~compiled.report_derived)

    rise, fall = compiled.independent_counts
    fixed = fixed_log_likelihood(compiled)
    per_draw = compiled.n_params + K * (known.size + later.size + 1)
    chunk = max(1, min(chunk, _CHUNK_NUMBERS // per_draw))
    draws = np.empty((n_draws, K))
    for start in range(0, n_draws, chunk):
        rows = slice(start, min(start + chunk, n_draws))
        size = rows.stop - rows.start
        theta = np.broadcast_to(compiled.param_value, (size, compiled.n_params)).copy()
        theta[:, random] = theta_r[rows]
        with np.errstate(divide="ignore"):
            ll = fixed + counts_log_likelihood(theta[:, random], rise[random], fall[random])
            if known.size:
                copy = np.broadcast_to(compiled.report_copy_value[known], (size, known.size))
                p_known = report_probability(theta, copy, *_report_args(compiled, known))
                ll = ll + (np.log(p_known) * weight[:, None]).sum(axis=1)
            if later.size:
                copy = group_c[rows][:, compiled.report_group[later]]
                p_later = report_probability(theta, copy, *_report_args(compiled, later))
                ll = ll + np.log(p_later).sum(axis=1)
        if uncertain.size:
            out = copy_u[rows] if keep else None
            ll = ll + _uncertain_copies(rng, compiled, uncertain, theta, H[rows], out)
        log_post = log_prior[rows] + ll
        draws[rows] = np.exp(log_post - logsumexp(log_post, axis=1, keepdims=True))
    if keep:
        for j, r in enumerate(uncertain):
            parameters[compiled.copy_name(r)] = copy_u[:, j]
    return draws, parameters
