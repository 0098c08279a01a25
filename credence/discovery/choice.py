"""Model choice: the candidate fits a truth-discovery fit runs, and which it keeps.

:func:`search` runs the candidates (each source model with fixed and pooled
priors, then the best with copying); :func:`choose_final` tries a shared
error and picks among them by held-out log likelihood
(:mod:`credence.discovery.held_out`) with :func:`choose`'s rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from credence.discovery import models, shared_error
from credence.discovery.held_out import standard_error
from credence.discovery.table import Reports
from credence.discovery.vb import Block, Priors, VBResult, block_apparent_posterior

__all__ = [
    "MIN_GAIN",
    "MIN_INFORMATION",
    "MIN_KNOWN_CLAIMS",
    "best_fit",
    "block_information",
    "candidate_fits",
    "choose",
    "choose_final",
    "information",
    "learned",
    "margin",
    "search",
    "size",
]


def candidate_fits(reports: Reports, model: str | None, copying: bool | None) -> list[tuple]:
    """The (model, copying) pairs a fit tries: the forced ones, or every one that applies.

    Parameters
    ----------
    reports : Reports
    model : str or None
    copying : bool or None

    Returns
    -------
    list of (str, bool)
    """
    if model is not None:
        names = [model]
    else:
        names = [
            name
            for name, source_model in models.MODELS.items()
            if not source_model.check(
                reports.n_classes, reports.n_labels, reports.label_match, reports.per_claim
            )
        ]
        if "two-coin" in names:  # the same channel as a two-label confusion matrix
            names.remove("dawid-skene")
    flags = [False, True] if copying is None else [bool(copying)]
    return [(name, flag) for name in names for flag in flags]


#: A candidate fit whose claims' posteriors carry less than this (mean KL from the
#: class prior, nats per claim without gold) has learned nothing about the claims.
MIN_INFORMATION = 0.01


def information(
    apparent: np.ndarray,
    class_params: np.ndarray | None,
    gold: np.ndarray,
    fidelity_params: np.ndarray | None = None,
) -> tuple:
    """What a fit's reports say about its claims: summed KL(q(A_i) || its prior), claims counted.

    ``A_i`` is the label claim i's reports describe: its true label, unless the
    fit has a shared error (then a claim's true label may stay near the class
    prior however clear its reports, by design, and is not the measure).

    Parameters
    ----------
    apparent : numpy.ndarray
        ``(n_claims, K)`` posteriors of the described labels
        (:func:`~credence.discovery.vb.block_apparent_posterior`).
    class_params : numpy.ndarray or None
        Dirichlet posterior of the class prior (None: per-claim candidates,
        counted as informative).
    gold : numpy.ndarray
        Known label per claim, -1 where unknown (those claims are not counted).
    fidelity_params : numpy.ndarray, optional
        Beta posterior of the fidelity (or Dirichlet rows of a story channel
        by label), with a shared error: the described label's prior is the
        class prior passed through it.

    Returns
    -------
    (float, int)
    """
    free = gold < 0
    if class_params is None:
        return np.inf, int(free.sum())
    prior = class_params / class_params.sum()
    if fidelity_params is not None:
        prior = prior @ shared_error.channel(fidelity_params, prior.size)
    q = apparent[free]
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(q > 0, q * (np.log(q) - np.log(prior)), 0.0).sum()
    return float(kl), int(free.sum())


#: The least gain in held-out log likelihood, in nats a claim, for which a richer fit is
#: chosen over a simpler one (as well as more than a standard error of the gain): below
#: it the fits' claim probabilities hardly differ, and the richer fit costs time.
MIN_GAIN = 1e-3


def margin(difference: np.ndarray, n_claims: int) -> float:
    """How much more a richer fit must predict held-out claims to be chosen over a simpler one.

    Parameters
    ----------
    difference : numpy.ndarray
        Per-claim held-out log likelihood of one fit less the other's.
    n_claims : int

    Returns
    -------
    float
        The larger of the difference's standard error and :data:`MIN_GAIN`
        nats a claim.
    """
    return max(standard_error(difference), MIN_GAIN * n_claims)


def size(priors: Priors) -> tuple[int, int, int]:
    """How complex a fit is: its free parameters per source, its story channel's, its pooling.

    Compared in that order. A shared error adds parameters in all, not per
    source, and pooling a few; neither makes a fit richer by the first count.
    Of the two forms of shared error, a story channel by label (K(K - 1)
    parameters) counts as richer than one fidelity (one). Pooled priors count
    as richer than fixed ones: among fits of one size otherwise, the pooled
    fit is kept only where it predicts held-out claims better by more than
    :func:`choose`'s margin. On a small table (tens of sources and claims) the
    held-out likelihoods lie within a standard error of each other, and the
    analyst's fixed priors are the ones to keep.

    Parameters
    ----------
    priors : Priors

    Returns
    -------
    (int, int, int)
        Free parameters a source; 1 for a story channel by label, else 0; 1
        if the priors are pooled, else 0.
    """
    rows = 1 if priors.source.ndim == 1 else priors.source.shape[0]
    per_source = priors.source.size - rows + (priors.copy is not None)
    return per_source, int(shared_error.is_channel(priors.fidelity)), int(priors.pooling)


def learned(info: float) -> bool:
    """Whether a fit learned about the claims: at least :data:`MIN_INFORMATION` nats a claim.

    Parameters
    ----------
    info : float
        Mean information per claim (:func:`information`).

    Returns
    -------
    bool
    """
    return info >= MIN_INFORMATION


def _informative(info: list[float]) -> list[int]:
    """The fits that learned about the claims (all, if none did)."""
    return [i for i in range(len(info)) if learned(info[i])] or list(range(len(info)))


def best_fit(folds: list[np.ndarray], info: list[float]) -> int:
    """The informative fit with the highest held-out log likelihood (see :func:`choose`).

    Parameters
    ----------
    folds : list of numpy.ndarray
    info : list of float

    Returns
    -------
    int
    """
    return max(_informative(info), key=lambda i: folds[i].sum())


def block_information(block: Block, result: VBResult) -> tuple[float, int]:
    """:func:`information` of a block's claims under a fit.

    Parameters
    ----------
    block : Block
    result : VBResult

    Returns
    -------
    (float, int)
    """
    q = block_apparent_posterior(block, result.expectations)
    return information(q, result.class_params, block.gold, result.fidelity_params)


def choose(
    folds: list[np.ndarray], info: list[float], sizes: list, n_claims: int = 0
) -> tuple[int, str]:
    """The simplest fit within one standard error of the best held-out likelihood.

    Among the fits that learned about the claims (:func:`learned`: mean-field
    variational Bayes can settle where no source carries information and
    agreement is all copying), the one with the highest held-out log
    likelihood is the best; a simpler fit (:func:`size`: fewer parameters a
    source, then one fidelity rather than a story channel by label, then
    fixed priors rather than pooled ones) whose held-out likelihood is within
    one standard error of the paired difference from it (or within
    :data:`MIN_GAIN` nats a claim, :func:`margin`) is chosen instead (the
    one-standard-error rule of cross-validation: Hastie, Tibshirani and
    Friedman, *The Elements of Statistical Learning*, 2nd ed., sec. 7.10), so
    that copying, a richer channel or pooling is kept only where the reports
    show it. Among fits of one size the higher held-out likelihood wins.

    Parameters
    ----------
    folds : list of numpy.ndarray
        Each fit's held-out log likelihood per claim
        (:func:`~credence.discovery.held_out.held_out`).
    info : list of float
        Mean information per claim of each fit.
    sizes : list of tuples or of int
        Each fit's :func:`size` (compared in order).
    n_claims : int, default 0
        Claims in the table.

    Returns
    -------
    index : int
    reason : {"best", "uninformative", "simpler"}
        Whether the chosen fit has the highest held-out likelihood, or one
        with more was set aside as uninformative, or it is simpler than the
        best and within a standard error of it.
    """
    totals = np.array([f.sum() for f in folds])
    if len(folds) == 1 or np.isnan(totals).all():
        return 0, "best"
    candidates = _informative(info)
    best = best_fit(folds, info)
    within = [
        i for i in candidates
        if totals[best] - totals[i] <= margin(folds[best] - folds[i], n_claims)
    ]
    index = min(within, key=lambda i: (sizes[i], -totals[i]))
    if index != best:
        return index, "simpler"
    return index, "best" if best == int(np.argmax(totals)) else "uninformative"


def search(
    pairs: list[tuple],
    copying: bool | None,
    pooling: tuple[bool, ...],
    run: Callable[..., Any],
    score: Callable[[], np.ndarray],
    information: Callable[[], float],
) -> None:
    """Run the candidate fits in the order model choice uses.

    Every source model without copying first, with each of ``pooling``'s
    priors (given both, fixed priors first and the pooled fit continuing
    it); then, when ``copying`` is None, the best of them that learned about
    the claims (by held-out log likelihood; :func:`learned`) with copying.
    Forced choices run as given. A pooled fit with copying that learned
    nothing about the claims (see :func:`choose`) is followed by the same fit
    with the copy propensities' prior kept at its start (the reliabilities'
    still learned): with few reports per source, learning both priors can
    settle where every source is uninformative and all agreement is copying,
    a fixed point whose bound exceeds that of the informative one.

    Parameters
    ----------
    pairs : list of (str, bool)
        From :func:`candidate_fits`.
    copying : bool or None
    pooling : tuple of bool
        Fit with fixed priors (False), pooled ones (True), or both
        ``(False, True)``.
    run : callable
        ``run(model, copying, pooling, start=None, shared=False,
        pool_copying=True)`` fits one candidate: ``start`` the index of an
        earlier fit to warm-start from, ``shared`` with a shared error,
        ``pool_copying`` False to keep the copy prior fixed.
    score, information : callable
        The held-out log likelihood per claim and the information per claim of
        the fit ``run`` made last.
    """
    best: dict[bool, tuple] = {}  # by whether the fit learned: (score, model, pooled)
    count = 0
    for model, flag in pairs:
        if copying is None and flag:
            continue
        for pooled in pooling:
            # a pooled fit after a fixed-prior one continues it: pooling starts from there
            run(model, flag, pooled, start=count - 1 if pooled and len(pooling) > 1 else None)
            count += 1
            if flag and pooled and information() < MIN_INFORMATION:
                run(model, flag, pooled, pool_copying=False)
                count += 1
            if copying is None:
                key = learned(information())
                entry = (score().sum(), model, pooled)
                if key not in best or entry[0] > best[key][0]:
                    best[key] = entry
    if copying is None:
        _, model, pooled = best.get(True, best.get(False))
        run(model, True, pooled)
        if pooled and information() < MIN_INFORMATION:
            run(model, True, pooled, pool_copying=False)


#: Fewest claims with known labels for which model choice tries a shared error. On a
#: claim whose label is unknown a shared error only reshapes the class prior its
#: reports are scored against (P(reports) sums the class prior passed through the
#: fidelity), so only the known claims test it; on sheets of a few claims with one of
#: them known it was chosen by noise on a third of them, and their claims' log loss
#: was 0.03 nats worse.
MIN_KNOWN_CLAIMS = 10


def choose_final(
    run: Callable[..., Any],
    scores: Callable[[], tuple[list, list, list, int]],
    settings: Callable[[int], tuple[str, bool, Priors]],
    shared_error: bool | str | None,
    n_known: int,
    by_label: bool = True,
) -> tuple[int, str]:
    """Choose among the fits :func:`search` ran, then try the choice with a shared error.

    Parameters
    ----------
    run : callable
        As for :func:`search`, with ``shared`` True (or "label") for a shared error.
    scores : callable
        The arguments of :func:`choose` for the fits so far.
    settings : callable
        ``settings(i) -> (model, copying, priors)`` of fit ``i``.
    shared_error : bool, "label" or None
        True (or "label": a story channel by label): fit the chosen model
        again with a shared error, warm-started from it (a shared error from
        the start of a fit tends to settle at a worse optimum), and return
        that fit. None: when at least :data:`MIN_KNOWN_CLAIMS` claims' labels
        are known (only they teach the fidelity), fit the best fit by held-out
        likelihood
        (:func:`best_fit`; it may be richer than the chosen one) again with
        each form of shared error, then choose among all fits. False: no
        shared error.
    n_known : int
        Claims whose labels are known.
    by_label : bool, default True
        Whether the claims share their labels (a story channel by label
        needs them).

    Returns
    -------
    index : int
    reason : str
        As :func:`choose`.
    """
    index, reason = choose(*scores())
    if shared_error or (shared_error is None and n_known >= MIN_KNOWN_CLAIMS):
        # from the best fit: a shared error can make a richer fit the better one
        folds, info, _, _ = scores()
        best = index if shared_error else best_fit(folds, info)
        model, copying, priors = settings(best)
        forms = [shared_error] if shared_error else [True, "label"][: 1 + by_label]
        for form in forms:
            run(model, copying, priors.pooling, start=best, shared=form,
                pool_copying=priors.pool_copying)
        if shared_error:
            return len(scores()[0]) - 1, "best"
        index, reason = choose(*scores())
    return index, reason
