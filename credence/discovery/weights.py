"""What moved each claim: its reports' weights of evidence, in time order.

A fitted claim's posterior (held out from its own counts, as the estimator
prints it: :func:`~credence.discovery.vb.block_held_out_terms`) is Bayes' rule
over its reports, taken in time order: with copying, each report's probability
depends only on the reports before it. A report's weight is the change in the
log10 odds of the claim's most probable label as it is added (in bans, as a
case file's ledger has them, :mod:`credence.ledger`), so a claim's weights sum
to its posterior log10 odds less its prior's; with copying, the posterior
probability that the report repeats an earlier one says how much of it was
discounted. For a claim whose label was given, the weights are what its
reports say of that label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from credence.discovery import shared_error
from credence.discovery.arrays import row_sums
from credence.discovery.copying import earlier_matches
from credence.discovery.vb import (
    Block,
    HeldOutTerms,
    VBResult,
    block_held_out_terms,
    block_posterior,
)
from credence.ledger import log10_odds, zero_negligible

__all__ = ["ReportWeights", "block_report_weights"]


@dataclass(frozen=True, eq=False)
class ReportWeights:
    """Per report of a block: its rank on its claim, weight, posterior after it, copy probability.

    Attributes
    ----------
    order : numpy.ndarray of int
        ``(N,)`` the report's place among its claim's reports (1 for the first).
    log10_bf : numpy.ndarray
        ``(N,)`` change in the log10 odds of the claim's most probable label
        as the report is added after the ones before it.
    probability_after : numpy.ndarray
        ``(N,)`` that label's probability once the report is added.
    copy_probability : numpy.ndarray or None
        ``(N,)`` posterior probability that the report repeats an earlier one
        (None without copying).
    """

    order: np.ndarray
    log10_bf: np.ndarray
    probability_after: np.ndarray
    copy_probability: np.ndarray | None


def block_report_weights(block: Block, result: VBResult, verdict: np.ndarray) -> ReportWeights:
    """The weights of a block's reports toward their claims' most probable labels.

    Parameters
    ----------
    block : Block
    result : VBResult
        The fit.
    verdict : numpy.ndarray of int
        ``(n_claims,)`` each claim's most probable label (from its posterior).

    Returns
    -------
    ReportWeights
    """
    terms = block_held_out_terms(block, result)
    n, k = block.n_claims, block.n_classes
    size = block.claim.shape[0]
    logs = terms.log_probabilities()
    if terms.label is not None:  # the report names its label, or another
        names = (block.claim_label - block.claim * k)[:, None] == np.arange(k)
        per_label = np.where(names, logs[0][:, None], logs[1][:, None])
    else:
        per_label = np.stack(logs, axis=1)
    rank = block.earlier
    if rank is None:  # without copying, in the table's order
        rank = earlier_matches(block.claim, block.label, np.arange(size))[0]
    # each claim's running sum, rank by rank (a claim has one report a rank)
    before = np.empty((size, k))
    running = np.zeros((n, k))
    by_rank = np.argsort(rank, kind="stable")
    start = 0
    for count in np.bincount(rank):
        at = by_rank[start:start + count]
        start += count
        before[at] = running[block.claim[at]]
        running[block.claim[at]] += per_label[at]
    pick = np.arange(size), verdict[block.claim]
    log_after = _log_posterior(block, terms, before + per_label)
    after = log10_odds(log_after)[pick]
    before = log10_odds(_log_posterior(block, terms, before))[pick]
    with np.errstate(invalid="ignore"):  # nothing moves a claim that is already certain
        weight = zero_negligible(np.where(after == before, 0.0, after - before))
        probability = np.exp(log_after - log_after.max(axis=1, keepdims=True))
    probability = probability[pick] / row_sums(probability)
    copy_probability = None
    if terms.copied is not None:
        _, apparent = block_posterior(block, running, terms)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(per_label > -np.inf, terms.copied[:, None] / np.exp(per_label), 0.0)
        copy_probability = np.minimum(row_sums(apparent[block.claim] * share), 1.0)
    return ReportWeights(rank + 1, weight, probability, copy_probability)


def _log_posterior(block: Block, terms: HeldOutTerms, scores: np.ndarray) -> np.ndarray:
    """Unnormalised log posterior of each report's claim given ``scores``, ``(N, K)``."""
    claim = block.claim
    prior = terms.prior[claim]
    if terms.fidelity is None:
        return prior + scores
    n_candidates = (np.full(claim.shape[0], block.n_classes) if block.n_candidates is None
                    else block.n_candidates[claim])
    scores = np.where(np.arange(block.n_classes) < n_candidates[:, None], scores, -np.inf)
    fidelity = terms.fidelity[claim] if terms.by_label else terms.fidelity[:, claim]
    q_true = shared_error.posterior(scores, prior, fidelity, n_candidates,
                                    np.full(claim.shape[0], -1), by_label=terms.by_label)[0]
    with np.errstate(divide="ignore"):
        return np.log(q_true)
