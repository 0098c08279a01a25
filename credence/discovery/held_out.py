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
identifiers (the same in process and on Dask). Each fold's reports are
scored under the fit with that fold's own expected counts taken out of the
sources', copy propensities', class prior's and fidelity's posteriors (the
cavity: one coordinate-ascent step of the fit without the fold). In each
claim's likelihood every parameter enters linearly (a source reports on a
claim once), so under the factorised posterior its expectation is the
likelihood at the posterior means: the score is the exact predictive
probability of each fold under its cavity.

.. math::

   \mathrm{CV} = \sum_f \log p(\text{reports of fold } f \mid
   \bar\theta_{-f}),\qquad
   \bar\theta_{-f} = \mathrm{mean}(\text{prior} + \text{counts} - \text{counts}_f).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
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
    posterior_params,
    sum_stats,
)

__all__ = [
    "FOLDS",
    "cavities",
    "claim_folds",
    "fold_evidence",
    "fold_stats",
    "held_out",
    "split_block",
    "standard_error",
]

#: Folds of claims.
FOLDS = 10


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


def split_block(block: Block, fold: np.ndarray) -> list[Block | None]:
    """A block's claims as one block per fold (None for a fold without claims).

    Parameters
    ----------
    block : Block
    fold : numpy.ndarray of int
        Fold of each of the block's claims.

    Returns
    -------
    list of Block or None
    """
    out: list[Block | None] = []
    report_fold = fold[block.claim]
    for f in range(FOLDS):
        keep = fold == f
        if not keep.any():
            out.append(None)
            continue
        rows = np.flatnonzero(report_fold == f)
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
    return out


def fold_stats(parts: Sequence[Block | None], exp: Expectations) -> list[tuple | None]:
    """Each fold's expected counts under the fit (:func:`~.vb.block_step` without ``log_z``).

    With per-claim candidate sets the class counts (of no use: there is no
    class prior) are left empty, as their widths differ between pieces.

    Parameters
    ----------
    parts : list of Block or None
        From :func:`split_block`.
    exp : Expectations
        The fit's.

    Returns
    -------
    list of tuple or None
    """
    out: list[tuple | None] = []
    for part in parts:
        if part is None:
            out.append(None)
            continue
        source, classes, copies, fidelity, _ = block_step(part, exp)
        if part.n_candidates is not None:
            classes = np.zeros(0)
        out.append((source, classes, copies, fidelity))
    return out


def cavities(
    result: VBResult,
    priors: Priors,
    group: np.ndarray,
    counts: Sequence[tuple | None],
) -> list[Expectations | None]:
    """Each fold's cavity: the fit's posteriors without the fold's counts, at their means.

    Parameters
    ----------
    result : VBResult
        The fit (its learned priors are kept).
    priors : Priors
        The fit's priors (class prior and fidelity prior).
    group : numpy.ndarray of int
        Group code of each source (its pooled prior).
    counts : list of tuple or None
        Per fold, ``(source, classes, copies, fidelity)`` counts summed over
        blocks (:func:`fold_stats`), None for a fold without claims.

    Returns
    -------
    list of Expectations or None
        In the form of :class:`~.vb.Expectations`, the logs of the means.
    """
    total = sum_stats([c for c in counts if c is not None])
    out: list[Expectations | None] = []
    for fold in counts:
        if fold is None:
            out.append(None)
            continue
        rest = [t - c for t, c in zip(total, fold, strict=True)]
        out.append(at_means(priors.model, *posterior_params(result, priors, group, rest)))
    return out


def fold_evidence(
    parts: Sequence[Block | None], exps: Sequence[Expectations | None]
) -> np.ndarray:
    """Log predictive probability of each fold's reports under its cavity.

    Parameters
    ----------
    parts : list of Block or None
        From :func:`split_block`.
    exps : list of Expectations or None
        From :func:`cavities`.

    Returns
    -------
    numpy.ndarray
        ``(FOLDS,)``: the log probability of each fold's reports and known
        labels (zero for a fold without claims).
    """
    return np.array([
        0.0 if part is None else block_log_evidence(part, exp)
        for part, exp in zip(parts, exps, strict=True)
    ])


def held_out(
    map_pieces: Callable[[Callable[[list[Block | None]], Any]], list],
    result: VBResult,
    priors: Priors,
    group: np.ndarray,
) -> np.ndarray:
    """A fit's held-out log likelihood per fold, from pieces of whole claims.

    Parameters
    ----------
    map_pieces : callable
        ``map_pieces(fn)`` applies ``fn`` to each piece of the reports, split
        by fold (:func:`split_block` with :func:`claim_folds`), and returns
        the results in order: in process over blocks, on Dask over partitions.
    result : VBResult
    priors : Priors
    group : numpy.ndarray of int
        Group code of each source, as the fit was given.

    Returns
    -------
    numpy.ndarray
        ``(FOLDS,)``.
    """
    exp = result.expectations
    per_piece = map_pieces(lambda parts: fold_stats(parts, exp))
    counts: list[tuple | None] = []
    for f in range(FOLDS):
        present = [c[f] for c in per_piece if c[f] is not None]
        counts.append(sum_stats(present) if present else None)
    exps = cavities(result, priors, group, counts)
    return sum(map_pieces(lambda parts: fold_evidence(parts, exps)), np.zeros(FOLDS))


def standard_error(difference: np.ndarray) -> float:
    """Standard error of a summed per-fold difference of held-out log likelihoods.

    Parameters
    ----------
    difference : numpy.ndarray
        ``(FOLDS,)`` per-fold differences between two fits.

    Returns
    -------
    float
        ``sqrt(FOLDS * var(difference))``, the folds taken as independent.
    """
    return float(np.sqrt(difference.size * np.var(difference, ddof=1)))
