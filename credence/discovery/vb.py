r"""Mean-field variational Bayes for truth discovery, in NumPy.

The model. Claim :math:`i` has an unknown true label :math:`T_i`; source :math:`j`
reports label :math:`l` on it with a probability that depends on :math:`T_i` and
the source's reliability :math:`\theta_j`:

- one-coin: :math:`P(l \mid t) = r_j` if :math:`l = t`, else
  :math:`(1 - r_j) / (K_i - 1)` (errors spread evenly over the other labels
  of the claim's :math:`K_i` candidates), :math:`r_j \sim \mathrm{Beta}(a, b)`;
- Dawid–Skene: :math:`P(l \mid t) = \Theta_j[t, l]`, each row of the confusion
  matrix Dirichlet;
- two-coin: Dawid–Skene with two labels: sensitivity
  :math:`s_j = \Theta_j[+, +]` and false-positive rate :math:`f_j = \Theta_j[-, +]`,
  each Beta.

The true labels have a Dirichlet class prior (or, with per-claim candidate
sets, a uniform prior over each claim's candidates).

The approximation :math:`q(T)\,q(\theta)\,q(\pi)` is fitted by coordinate
ascent. Every quantity a step needs from the reports is a sum over reports
(per-source counts, class counts, the evidence bound), so the reports can be
split into blocks, each holding every report of its claims, and the sums
added: :mod:`credence.discovery.dask` runs the same steps on a cluster.

References
----------
.. [1] Dawid, A. P. and Skene, A. M. (1979). Maximum likelihood estimation of
   observer error-rates using the EM algorithm. *Applied Statistics* 28(1).
.. [2] Simpson, E., Roberts, S., Psorakis, I. and Smith, A. (2013). Dynamic
   Bayesian combination of multiple imperfect classifiers. In *Decision Making
   and Imperfection*, Springer (variational IBCC).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import digamma, gammaln

from credence.options import strict_options

__all__ = [
    "MODELS",
    "Block",
    "Expectations",
    "IterationInfo",
    "Priors",
    "VBResult",
    "block_claim_posterior",
    "block_init_stats",
    "block_step",
    "expectations",
    "kl_dirichlet",
    "make_block",
    "make_priors",
    "run_vb",
    "sum_stats",
]

Model = Literal["one-coin", "two-coin", "dawid-skene"]
#: The source models.
MODELS: tuple[str, ...] = ("one-coin", "two-coin", "dawid-skene")


@dataclass(frozen=True, eq=False)
class Priors:
    """Prior parameters of a fit.

    Attributes
    ----------
    model : {"one-coin", "two-coin", "dawid-skene"}
    source : numpy.ndarray
        One-coin: ``[a, b]`` of the Beta prior of the accuracy. Two-coin and
        Dawid–Skene: ``(K, K)`` Dirichlet parameters, one row per true label.
    classes : numpy.ndarray or None
        Dirichlet parameters of the class prior; None for per-claim candidates.
    """

    model: str
    source: np.ndarray
    classes: np.ndarray | None


@strict_options
def make_priors(
    model: str,
    n_classes: int,
    *,
    per_claim: bool = False,
    reliability: tuple[float, float] = (2.0, 1.0),
    sensitivity: tuple[float, float] = (2.0, 1.0),
    false_positive_rate: tuple[float, float] = (1.0, 2.0),
    confusion: tuple[float, float] = (1.0, 0.1),
    class_prior: float = 1.0,
    positive: int = 1,
) -> Priors:
    """Build the prior of a model.

    Parameters
    ----------
    model : {"one-coin", "two-coin", "dawid-skene"}
    n_classes : int
        K, the number of labels.
    per_claim : bool, default False
        Per-claim candidate sets (one-coin only; uniform prior over candidates).
    reliability : (a, b)
        One-coin accuracy prior Beta(a, b).
    sensitivity, false_positive_rate : (a, b)
        Two-coin priors; ``positive`` is the index of the positive label.
    confusion : (diagonal, off-diagonal), default (1, 0.1)
        Dawid–Skene: each row of the confusion matrix is Dirichlet with
        ``diagonal`` on the correct label and ``off-diagonal`` elsewhere.
        The default favours the diagonal (prior mean 1 / (1 + 0.1 (K - 1))
        on it) with a small total pseudo-count (1 + 0.1 (K - 1)), so the
        rows of a source with a handful of reports follow its reports rather
        than being pulled towards a uniform row; with one report the
        posterior is still a wide Dirichlet, never a point.
    class_prior : float
        Symmetric Dirichlet parameter of the class prior.
    positive : int, default 1

    Returns
    -------
    Priors
    """
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, not {model!r}")
    if per_claim and model != "one-coin":
        raise ValueError(f"per-claim candidate sets need the one-coin model, not {model}")
    if model == "two-coin" and n_classes != 2:
        raise ValueError(f"the two-coin model needs two labels, not {n_classes}")
    if model == "dawid-skene" and n_classes > 4_000:
        raise ValueError(f"a Dawid-Skene prior of {n_classes:,} labels is too large (most 4,000)")
    for name, pair in (
        ("reliability", reliability),
        ("sensitivity", sensitivity),
        ("false_positive_rate", false_positive_rate),
        ("confusion", confusion),
    ):
        if len(pair) != 2 or not all(np.isfinite(pair)) or min(pair) <= 0:
            raise ValueError(f"{name} prior must be two positive numbers, not {pair!r}")
    if not (np.isfinite(class_prior) and class_prior > 0):
        raise ValueError(f"class_prior must be positive, not {class_prior!r}")
    if model == "one-coin":
        source = np.asarray(reliability, dtype=float)
    elif model == "two-coin":
        negative = 1 - positive
        source = np.empty((2, 2))
        source[positive, positive], source[positive, negative] = sensitivity
        source[negative, positive], source[negative, negative] = false_positive_rate
    else:
        diagonal, off = confusion
        source = np.full((n_classes, n_classes), float(off))
        np.fill_diagonal(source, float(diagonal))
    classes = None if per_claim else np.full(n_classes, float(class_prior))
    return Priors(model=model, source=source, classes=classes)


@dataclass(frozen=True, eq=False)
class Block:
    """The reports of a set of claims (every report of each), coded as arrays.

    Build with :func:`make_block`; ``claim`` codes are local to the block,
    ``source`` codes are global.
    """

    claim: np.ndarray
    source: np.ndarray
    label: np.ndarray
    n_claims: int
    n_sources: int
    n_classes: int
    gold: np.ndarray
    n_candidates: np.ndarray | None
    claim_label: np.ndarray
    source_label: np.ndarray
    log_others: np.ndarray | float
    source_total: np.ndarray


def make_block(
    claim: np.ndarray,
    source: np.ndarray,
    label: np.ndarray,
    *,
    n_claims: int,
    n_sources: int,
    n_classes: int,
    gold: np.ndarray | None = None,
    n_candidates: np.ndarray | None = None,
) -> Block:
    """Code a block of reports for the fitting steps.

    Parameters
    ----------
    claim, source, label : array of int
        Codes per report; ``claim`` in ``[0, n_claims)``, ``source`` in
        ``[0, n_sources)``, ``label`` in ``[0, n_classes)`` (or below the
        claim's number of candidates).
    n_claims, n_sources, n_classes : int
    gold : array of int, optional
        Known label per claim, -1 where unknown.
    n_candidates : array of int, optional
        Per-claim candidate-set sizes; None when every claim has all
        ``n_classes`` labels.

    Returns
    -------
    Block
    """
    claim = np.asarray(claim, dtype=np.intp)
    source = np.asarray(source, dtype=np.intp)
    label = np.asarray(label, dtype=np.intp)
    gold = np.full(n_claims, -1, np.intp) if gold is None else np.asarray(gold, np.intp)
    if n_candidates is None:
        log_others: np.ndarray | float = float(np.log(n_classes - 1))
    else:
        n_candidates = np.asarray(n_candidates, dtype=np.intp)
        # A claim with one candidate has no "other" label; its value never matters.
        log_others = np.log(np.maximum(n_candidates - 1, 1).astype(float))[claim]
    return Block(
        claim=claim,
        source=source,
        label=label,
        n_claims=int(n_claims),
        n_sources=int(n_sources),
        n_classes=int(n_classes),
        gold=gold,
        n_candidates=n_candidates,
        claim_label=claim * n_classes + label,
        source_label=source * n_classes + label,
        log_others=log_others,
        source_total=np.bincount(source, minlength=n_sources).astype(float),
    )


@dataclass(frozen=True, eq=False)
class Expectations:
    """Expected log parameters under q: what an E-step needs.

    Attributes
    ----------
    model : str
    source : numpy.ndarray
        One-coin: ``(S, 2)`` of ``E[log r], E[log(1 - r)]``; otherwise
        ``(S, K, K)`` of ``E[log Theta[t, l]]``.
    classes : numpy.ndarray or None
        ``E[log pi]``.
    """

    model: str
    source: np.ndarray
    classes: np.ndarray | None


def _expected_log(alpha: np.ndarray) -> np.ndarray:
    return digamma(alpha) - digamma(alpha.sum(axis=-1, keepdims=True))


def expectations(
    model: str, source_params: np.ndarray, class_params: np.ndarray | None
) -> Expectations:
    """Expected log parameters of Beta / Dirichlet posteriors.

    Parameters
    ----------
    model : str
    source_params : numpy.ndarray
        ``(S, 2)`` Beta parameters (one-coin) or ``(S, K, K)`` Dirichlet rows.
    class_params : numpy.ndarray or None

    Returns
    -------
    Expectations
    """
    classes = None if class_params is None else _expected_log(class_params)
    return Expectations(model=model, source=_expected_log(source_params), classes=classes)


def _scores(block: Block, exp: Expectations) -> np.ndarray:
    """Unnormalised log q(T_i = t), shape ``(n_claims, K)``."""
    n, k = block.n_claims, block.n_classes
    if exp.model == "one-coin":
        # per-source values first, then one gather each (sources can be many)
        log_wrong = np.ascontiguousarray(exp.source[:, 1])
        gain = (exp.source[:, 0] - log_wrong)[block.source] + block.log_others
        scores = np.bincount(block.claim_label, gain, minlength=n * k).reshape(n, k)
        wrong = np.bincount(block.claim, log_wrong[block.source], minlength=n)
        if np.ndim(block.log_others):
            wrong -= np.bincount(block.claim, block.log_others, minlength=n)
        else:
            wrong -= block.log_others * np.bincount(block.claim, minlength=n)
        scores += wrong[:, None]
    else:
        scores = np.empty((n, k))
        flat = exp.source.transpose(1, 0, 2).reshape(k, -1)
        for t in range(k):
            scores[:, t] = np.bincount(block.claim, flat[t][block.source_label], minlength=n)
    if exp.classes is not None:
        scores += exp.classes
    if block.n_candidates is not None:
        scores -= np.log(block.n_candidates)[:, None]
        scores[np.arange(k) >= block.n_candidates[:, None]] = -np.inf
    return scores


def _normalise(block: Block, scores: np.ndarray) -> tuple[np.ndarray, float]:
    """Posterior q(T) and the sum of log normalisers (the data part of the bound)."""
    # logsumexp by hand (scipy's costs twice as much on (n, K) arrays)
    top = scores.max(axis=1, keepdims=True)
    q = np.exp(scores - top)
    total = q.sum(axis=1, keepdims=True)
    q /= total
    log_z = (top + np.log(total))[:, 0]
    known = np.flatnonzero(block.gold >= 0)
    if known.size:
        log_z[known] = scores[known, block.gold[known]]
        q[known] = 0.0
        q[known, block.gold[known]] = 1.0
    return q, float(log_z.sum())


def _stats(block: Block, model: str, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected counts per source and per class under q(T)."""
    s, k = block.n_sources, block.n_classes
    if model == "one-coin":
        correct = np.bincount(block.source, q.ravel()[block.claim_label], minlength=s)
        source = np.stack([correct, block.source_total - correct], axis=1)
    else:
        source = np.empty((s, k, k))
        for t in range(k):
            source[:, t, :] = np.bincount(
                block.source_label, q[:, t][block.claim], minlength=s * k
            ).reshape(s, k)
    return source, q.sum(axis=0)


def block_init_stats(block: Block, model: str) -> tuple[np.ndarray, np.ndarray]:
    """Counts under the (soft) majority vote, the starting point.

    Parameters
    ----------
    block : Block
    model : str

    Returns
    -------
    source_stats, class_stats : numpy.ndarray
    """
    n, k = block.n_claims, block.n_classes
    votes = np.bincount(block.claim_label, minlength=n * k).reshape(n, k).astype(float)
    empty = votes.sum(axis=1) == 0
    if empty.any():  # a claim without reports starts uniform over its labels
        width = np.full(n, k) if block.n_candidates is None else block.n_candidates
        votes[empty] = (np.arange(k) < width[empty, None]) / width[empty, None]
    q = votes / votes.sum(axis=1, keepdims=True)
    known = np.flatnonzero(block.gold >= 0)
    q[known] = 0.0
    q[known, block.gold[known]] = 1.0
    return _stats(block, model, q)


def block_step(block: Block, exp: Expectations) -> tuple[np.ndarray, np.ndarray, float]:
    """One E-step on a block and the counts the next M-step needs.

    Parameters
    ----------
    block : Block
    exp : Expectations

    Returns
    -------
    source_stats, class_stats : numpy.ndarray
        Expected counts of this block's reports.
    log_z : float
        Sum over the block's claims of the log normaliser of q(T_i).
    """
    q, log_z = _normalise(block, _scores(block, exp))
    source, classes = _stats(block, exp.model, q)
    return source, classes, log_z


def block_claim_posterior(block: Block, exp: Expectations) -> np.ndarray:
    """q(T) of a block's claims, shape ``(n_claims, K)``.

    Parameters
    ----------
    block : Block
    exp : Expectations

    Returns
    -------
    numpy.ndarray
    """
    return _normalise(block, _scores(block, exp))[0]


def kl_dirichlet(alpha: np.ndarray, alpha0: np.ndarray) -> float:
    """Summed KL(Dir(alpha) || Dir(alpha0)) over all leading axes (Beta: last axis 2).

    Parameters
    ----------
    alpha, alpha0 : numpy.ndarray
        Parameters along the last axis; ``alpha0`` broadcasts against ``alpha``.

    Returns
    -------
    float
    """
    alpha0 = np.broadcast_to(alpha0, alpha.shape)
    total, total0 = alpha.sum(-1), alpha0.sum(-1)
    kl = (
        gammaln(total)
        - gammaln(alpha).sum(-1)
        - gammaln(total0)
        + gammaln(alpha0).sum(-1)
        + ((alpha - alpha0) * (digamma(alpha) - digamma(total)[..., None])).sum(-1)
    )
    return float(kl.sum())


@dataclass(frozen=True)
class IterationInfo:
    """One iteration of a fit.

    Attributes
    ----------
    iteration : int
    elbo : float
        The evidence lower bound after this iteration's E-step (never decreases).
    change : float
        Largest change of a posterior mean (source reliabilities, class prior).
    elbo_change : float
        Relative increase of the ELBO over the previous iteration,
        ``(elbo - previous) / |elbo|``; ``inf`` at the first iteration. The
        stopping rule compares it with ``tol``.
    """

    iteration: int
    elbo: float
    change: float
    elbo_change: float = float("inf")


@dataclass(frozen=True, eq=False)
class VBResult:
    """The fitted posteriors of a variational fit.

    Attributes
    ----------
    source_params : numpy.ndarray
        Beta ``(S, 2)`` or Dirichlet ``(S, K, K)`` posterior parameters.
    class_params : numpy.ndarray or None
        Dirichlet posterior of the class prior.
    expectations : Expectations
        Expected logs under the final posteriors (for claim posteriors).
    history : tuple of IterationInfo
    converged : bool
    """

    source_params: np.ndarray
    class_params: np.ndarray | None
    expectations: Expectations
    history: tuple[IterationInfo, ...]
    converged: bool


Step = Callable[[Expectations], tuple[np.ndarray, np.ndarray, float]]


def _means(source: np.ndarray, classes: np.ndarray | None) -> np.ndarray:
    parts = [(source / source.sum(-1, keepdims=True)).ravel()]
    if classes is not None:
        parts.append(classes / classes.sum())
    return np.concatenate(parts)


def run_vb(
    priors: Priors,
    init: tuple[np.ndarray, np.ndarray],
    step: Step,
    *,
    max_iter: int = 500,
    tol: float = 1e-6,
    callback: Callable[[IterationInfo], None] | None = None,
) -> VBResult:
    """Coordinate ascent from initial counts until the evidence bound settles.

    Parameters
    ----------
    priors : Priors
    init : (source_stats, class_stats)
        Starting counts, e.g. summed :func:`block_init_stats`.
    step : callable
        ``step(expectations) -> (source_stats, class_stats, log_z)`` summed
        over all blocks, e.g. :func:`block_step` on one block.
    max_iter : int, default 500
    tol : float, default 1e-6
        Stop when an iteration raises the ELBO by no more than ``tol`` times
        its magnitude (``|elbo - previous| <= tol * |elbo|``). Coordinate
        ascent never lowers the ELBO, so this is a relative-improvement test
        on one number that does not grow with the number of sources; waiting
        for every source's posterior mean to settle instead costs hundreds of
        iterations when most sources have one or two reports, whose
        posteriors barely affect the claims.
    callback : callable, optional
        Called with each :class:`IterationInfo`.

    Returns
    -------
    VBResult
    """
    source_stats, class_stats = init
    source = priors.source + source_stats
    classes = None if priors.classes is None else priors.classes + class_stats
    previous = _means(source, classes)
    previous_elbo = -np.inf
    history: list[IterationInfo] = []
    converged = False
    for iteration in range(1, max_iter + 1):
        exp = expectations(priors.model, source, classes)
        source_stats, class_stats, log_z = step(exp)
        elbo = log_z - kl_dirichlet(source, priors.source)
        if classes is not None:
            elbo -= kl_dirichlet(classes, priors.classes)
        source = priors.source + source_stats
        if classes is not None:
            classes = priors.classes + class_stats
        current = _means(source, classes)
        elbo = float(elbo)
        relative = (elbo - previous_elbo) / abs(elbo) if iteration > 1 else np.inf
        info = IterationInfo(
            iteration, elbo, float(np.abs(current - previous).max()), float(relative)
        )
        previous, previous_elbo = current, elbo
        history.append(info)
        if callback is not None:
            callback(info)
        if abs(relative) <= tol:
            converged = True
            break
    return VBResult(
        source_params=source,
        class_params=classes,
        expectations=expectations(priors.model, source, classes),
        history=tuple(history),
        converged=converged,
    )


def sum_stats(
    parts: Sequence[tuple[np.ndarray, ...]],
) -> tuple[np.ndarray, ...]:
    """Add per-block results field by field, in the given order.

    Parameters
    ----------
    parts : sequence of tuples
        Per-block ``(source_stats, class_stats[, log_z])``.

    Returns
    -------
    tuple
    """
    out = list(parts[0])
    for part in parts[1:]:
        for i, value in enumerate(part):
            out[i] = out[i] + value
    return tuple(out)
