r"""Cross-validated predictive likelihood of a variational fit, for choosing among models.

Model choice by the evidence lower bound is biased when the candidates'
mean-field bounds are not equally tight: with few reports per source the
copying model's bound is the looser (each source's accuracy and copy
propensity are factorised apart though their errors correlate), and
comparing bounds then prefers reports being independent even where they
are copies, and the fit counts copies as confirmation. Held-out likelihood
measures what matters instead: how well a fit predicts reports (and known
labels) it was not fitted to.

The claims are split into :data:`FOLDS` folds by a hash of their
identifiers (the same in process and on Dask). For each fold the fit is
continued on the other folds' claims alone (warm-started from the fit on
all of them, at most :data:`REFIT_ITER` iterations), and the fold's reports
are scored under that refit. In each claim's likelihood every parameter
enters linearly (a source reports on a claim once), so under the refit's
factorised posterior the claim's predictive probability is its likelihood at
the posterior means:

.. math::

   \mathrm{CV} = \sum_i \log p(\text{reports of claim } i \mid
   \bar\theta_{-f(i)}),

summed over claims ``i``, ``f(i)`` being claim i's fold; the terms are kept
per claim, for the standard error of two fits' difference
(:func:`standard_error`).

Scoring a fold under the fit with only the fold's own counts taken out (no
refit) is cheaper but not honest: the other claims' posteriors still carry
the fold's influence, an optimism that grows with a model's freedom (on a
table without copying it put a copying fit with fixed priors 300 nats ahead
of one without; refits put it 120 nats behind).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from credence.discovery.vb import (
    Block,
    Expectations,
    Priors,
    VBResult,
    at_means,
    block_log_evidence,
    block_step,
    run_vb,
    staged,
    sum_stats,
)

__all__ = ["FOLDS", "REFIT_ITER", "claim_folds", "held_out", "split_block", "standard_error"]

#: Folds of claims.
FOLDS = 5


def claim_folds(claims: np.ndarray) -> np.ndarray:
    """The fold of each claim, from a hash of its identifier.

    Parameters
    ----------
    claims : numpy.ndarray
        Claim identifiers.

    Returns
    -------
    numpy.ndarray of int
        In ``[0, FOLDS)``.
    """
    hashed = pd.util.hash_array(np.asarray(claims, dtype=object))
    return (hashed % np.uint64(FOLDS)).astype(np.intp)


def split_block(block: Block, fold: np.ndarray, held: int) -> tuple[Block | None, Block | None]:
    """A block's claims in fold ``held``, and the rest (None for a part without claims).

    Parameters
    ----------
    block : Block
    fold : numpy.ndarray of int
        Fold of each of the block's claims (:func:`claim_folds`).
    held : int
        The fold held out.

    Returns
    -------
    (Block or None, Block or None)
    """
    out: list[Block | None] = []
    report_in = fold[block.claim] == held
    for keep, rows in ((fold == held, np.flatnonzero(report_in)),
                       (fold != held, np.flatnonzero(~report_in))):
        if not keep.any():
            out.append(None)
            continue
        local = np.cumsum(keep) - 1
        claim = local[block.claim[rows]]
        k = block.n_classes

        def take(values: np.ndarray | None, rows: np.ndarray = rows) -> np.ndarray | None:
            return None if values is None else values[rows]

        out.append(replace(
            block,
            claim=claim,
            source=block.source[rows],
            label=block.label[rows],
            n_claims=int(keep.sum()),
            gold=block.gold[keep],
            n_candidates=None if block.n_candidates is None else block.n_candidates[keep],
            claim_label=claim * k + block.claim_label[rows] % k,
            source_label=block.source_label[rows],
            log_others=block.log_others[rows] if np.ndim(block.log_others) else block.log_others,
            source_total=np.bincount(block.source[rows], minlength=block.n_sources).astype(float),
            named=take(block.named),
            earlier=take(block.earlier),
            log_match=take(block.log_match),
            match_fraction=take(block.match_fraction),
            source_later=take(block.source_later),
        ))
    return out[0], out[1]


#: Most iterations of each fold's refit (warm-started, it usually settles in fewer).
REFIT_ITER = 20

Pieces = Callable[[Callable[[tuple[Block | None, Block | None]], Any]], list]


def _rest_step(parts: tuple[Block | None, Block | None], exp: Expectations) -> tuple | None:
    """:func:`~.vb.block_step` on a piece's claims outside the held-out fold.

    With per-claim candidate sets the class counts (of no use: there is no
    class prior) are left empty, as their widths differ between pieces.
    """
    rest = parts[1]
    if rest is None:
        return None
    counts = block_step(rest, exp)
    if rest.n_candidates is not None:
        counts = (counts[0], np.zeros(0), *counts[2:])
    return counts


def _evidence(parts: tuple[Block | None, Block | None], exp: Expectations) -> np.ndarray:
    return np.zeros(0) if parts[0] is None else block_log_evidence(parts[0], exp)


def held_out(
    fold_pieces: Callable[[int], Pieces],
    result: VBResult,
    priors: Priors,
    group: np.ndarray | None,
    tol: float,
    callback: Callable[[Any], None] | None = None,
) -> np.ndarray:
    """A fit's held-out log likelihood per claim, from pieces of whole claims.

    Parameters
    ----------
    fold_pieces : callable
        ``fold_pieces(f)`` splits each piece of the reports (a block in
        process, a partition on Dask) into its claims in fold ``f`` and the
        rest (:func:`split_block`), where the piece is, and returns
        ``map(fn)``, which applies ``fn`` to each piece's pair and returns the
        results in order.
    result : VBResult
        The fit on every claim.
    priors : Priors
    group : numpy.ndarray of int or None
        Group code of each source, as the fit was given.
    tol : float
        The fit's convergence tolerance.
    callback : callable, optional
        Called with each refit iteration's :class:`~.vb.IterationInfo`.

    Returns
    -------
    numpy.ndarray
        ``(n_claims,)`` each claim's held-out log likelihood: fold by fold,
        each fold's claims piece by piece (an order that is the same for
        every fit to the same pieces, so two fits' values pair by claim).
    """
    empty = (
        np.zeros_like(result.source_params),
        np.zeros(0) if result.class_params is None else np.zeros_like(result.class_params),
        np.zeros(0) if result.copy_params is None else np.zeros_like(result.copy_params),
        np.zeros(()),  # a zero of every fidelity's shape
    )
    out = []
    for fold in range(FOLDS):
        pieces = fold_pieces(fold)

        def step(exp: Expectations, pieces: Pieces = pieces) -> tuple:
            counts = [c for c in pieces(partial(_rest_step, exp=exp)) if c is not None]
            return sum_stats(counts) if counts else (*empty, 0.0)

        refit = run_vb(priors, empty, step, group=group, max_iter=REFIT_ITER, tol=tol,
                       callback=staged(callback, f"fold {fold + 1} of {FOLDS}"), start=result)
        exp = at_means(priors.model, refit.source_params, refit.class_params,
                       refit.copy_params, refit.fidelity_params)
        out.extend(pieces(partial(_evidence, exp=exp)))
    return np.concatenate(out)


def standard_error(difference: np.ndarray) -> float:
    """Standard error of a summed per-claim difference of held-out log likelihoods.

    From the claims' values, as for the pointwise predictive accuracy of
    leave-one-out and K-fold cross-validation (Vehtari, Gelman and Gabry,
    *Statistics and Computing* 27, 2017, sec. 5): with five folds, a
    standard error from the folds' sums would rest on four degrees of
    freedom, and on a table of a few claims it fell below the gain of fits
    that predicted the claims' truths worse.

    Parameters
    ----------
    difference : numpy.ndarray
        ``(n_claims,)`` per-claim differences between two fits.

    Returns
    -------
    float
        ``sqrt(n_claims * var(difference))``, the claims taken as independent;
        with one claim, infinite (no gain shows above noise) unless the fits
        agree.
    """
    if difference.size < 2:
        return float(np.inf) if np.any(difference) else 0.0
    return float(np.sqrt(difference.size * np.var(difference, ddof=1)))
