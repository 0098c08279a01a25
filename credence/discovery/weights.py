"""What moved each claim: its reports' weights of evidence.

A fitted claim's posterior (held out from its own counts, as the estimator
prints it: :func:`~credence.discovery.vb.block_held_out_terms`) is Bayes' rule
over its reports, taken in time order: with copying, each report's probability
depends on the reports before it. A report's weight is a change in the log10
odds of the claim's most probable label (in bans, as a case file's ledger has
them, :mod:`credence.ledger`): *in order*, as the report is added after the
ones before it (a claim's weights sum to its posterior log10 odds less its
prior's); *left out*, when it is removed and the others kept in their order
(with copying, the later reports then match among fewer earlier ones, and one
left first is its source's own). With copying, the posterior probability that
a report repeats an earlier one says how much of it was discounted. For a
claim whose label was given, the weights are what its reports say of that
label. The fitted parameters are held fixed throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from credence.discovery import shared_error
from credence.discovery.arrays import row_sums
from credence.discovery.copying import earlier_matches
from credence.discovery.table import Reports
from credence.discovery.vb import (
    Block,
    HeldOutTerms,
    VBResult,
    block_held_out_terms,
    block_posterior,
    block_terms_posterior,
)
from credence.ledger import log10_odds, zero_negligible

__all__ = ["ReportWeights", "block_report_weights", "weights_table"]


@dataclass(frozen=True, eq=False)
class ReportWeights:
    """Per report of a block: its place on its claim, its weights, and its copy probability.

    Attributes
    ----------
    order : numpy.ndarray of int
        ``(N,)`` the report's place among its claim's reports (1 for the first).
    in_order : numpy.ndarray
        ``(N,)`` change in the log10 odds of the claim's most probable label
        as the report is added after the ones before it.
    leave_one_out : numpy.ndarray
        ``(N,)`` change in those log10 odds when the report is removed from
        all of its claim's reports (what it adds to the others).
    probability_after : numpy.ndarray
        ``(N,)`` that label's probability once the report is added, in order.
    copy_probability : numpy.ndarray or None
        ``(N,)`` posterior probability that the report repeats an earlier one
        (None without copying).
    """

    order: np.ndarray
    in_order: np.ndarray
    leave_one_out: np.ndarray
    probability_after: np.ndarray
    copy_probability: np.ndarray | None


#: A claim's running sums go rank by rank, all claims at once, up to this many
#: reports; a claim with more is summed on its own (a loop over its length would be
#: a Python loop over every rank).
RANKS_AT_ONCE = 64


def block_report_weights(block: Block, result: VBResult) -> tuple[np.ndarray, ReportWeights]:
    """A block's claims' posteriors, and its reports' weights toward their most probable labels.

    Parameters
    ----------
    block : Block
    result : VBResult
        The fit.

    Returns
    -------
    posterior : numpy.ndarray
        ``(n_claims, K)`` as :func:`~credence.discovery.vb.block_held_out_posterior`
        (from the same terms, computed once).
    weights : ReportWeights
    """
    terms = block_held_out_terms(block, result)
    posterior = block_terms_posterior(block, terms)
    verdict = posterior.argmax(axis=1)
    size = block.claim.shape[0]
    two = terms.two_valued
    with np.errstate(divide="ignore"):
        logs = np.log(_by_label(block, terms.probabilities(), two))
    rank = block.earlier
    if rank is None:  # without copying, in the table's order
        rank = earlier_matches(block.claim, block.label, np.arange(size))[0]
    before = _exclusive_sums(block.claim, rank, logs)
    if terms.copy is None:
        later = without = _exclusive_sums(block.claim, rank, logs, later=True)
    else:
        gone = _logs_without(terms, rank, _by_label(block, terms.own, two))
        k = logs.shape[1]
        # the later reports' sums with and without the report, in one pass
        sums = _exclusive_sums(block.claim, rank, np.concatenate([logs, gone[1]], axis=1),
                               later=True)
        later = sums[:, :k]
        without = _later_without(block, rank, gone, sums[:, k:])
    pick = np.arange(size), verdict[block.claim]

    def odds(scores: np.ndarray) -> np.ndarray:
        return log10_odds(_log_posterior(block, terms, scores))[pick]

    log_after = _log_posterior(block, terms, before + logs)
    everything = before + logs + later
    in_order = _change(log10_odds(log_after)[pick], odds(before))
    leave_one_out = _change(odds(everything), odds(before + without))
    with np.errstate(invalid="ignore"):
        after = np.exp(log_after - log_after.max(axis=1, keepdims=True))
    copy_probability = None
    if terms.copy is not None:
        claim_scores = np.zeros((block.n_claims, logs.shape[1]))
        claim_scores[block.claim] = everything
        _, apparent = block_posterior(block, claim_scores, terms)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(logs > -np.inf, terms.copied[:, None] / np.exp(logs), 0.0)
        copy_probability = np.minimum(row_sums(apparent[block.claim] * share), 1.0)
    return posterior, ReportWeights(rank + 1, in_order, leave_one_out,
                                    after[pick] / row_sums(after), copy_probability)


def _change(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """``new - old`` in bans, negligible changes 0 (nothing moves a claim already certain)."""
    with np.errstate(invalid="ignore"):
        return zero_negligible(np.where(new == old, 0.0, new - old))


def _by_label(block: Block, values: list[np.ndarray], two: bool) -> np.ndarray:
    """``(N, K)`` from per-label arrays (``two``: if the report names the label, if not)."""
    if not two:
        return np.stack(values, axis=1)
    k = block.n_classes
    names = (block.claim_label - block.claim * k)[:, None] == np.arange(k)
    return np.where(names, values[0][:, None], values[1][:, None])


def _exclusive_sums(
    group: np.ndarray, rank: np.ndarray, values: np.ndarray, later: bool = False
) -> np.ndarray:
    """Per report, the sum of ``values`` over the reports of its group before it (or after it).

    ``rank`` orders the reports within a group (distinct ranks). Each sum is a
    run of additions within one group, never a difference of running totals.
    """
    out = np.zeros_like(values)
    group = np.unique(group, return_inverse=True)[1].reshape(-1)
    size = np.bincount(group)
    long = size[group] > RANKS_AT_ONCE
    short = np.flatnonzero(~long)
    running = np.zeros((size.size, values.shape[1]))
    by_rank = short[np.argsort(rank[short], kind="stable")]
    ranks = np.split(by_rank, np.cumsum(np.bincount(rank[short]))[:-1])
    for at in reversed(ranks) if later else ranks:  # a group has one report a rank
        out[at] = running[group[at]]
        running[group[at]] += values[at]
    members = np.flatnonzero(long)
    members = members[np.lexsort((rank[members], group[members]))]
    for run in np.split(members, np.flatnonzero(np.diff(group[members])) + 1):
        if run.size:
            run = run[::-1] if later else run
            out[run[1:]] = np.cumsum(values[run[:-1]], axis=0)
    return out


def _logs_without(terms: HeldOutTerms, rank: np.ndarray, own: np.ndarray) -> list[np.ndarray]:
    """Each report's log probability, ``(N, K)``, once one earlier report is gone.

    Removing report r leaves each later report j one earlier report fewer, and
    one fewer with j's label if r had it: j's probability is then one of two
    values, the first where r had j's label and the second where it had
    another. A report left first has no earlier one to repeat, and is its
    source's own.
    """
    earlier = rank - 1  # of a later report, once an earlier one is gone
    c = np.where(earlier > 0, terms.copy, 0.0)
    same = np.rint(terms.match * rank)  # earlier reports with the same label
    with np.errstate(divide="ignore"):
        return [np.log((c * np.maximum(same - gone, 0.0) / np.maximum(earlier, 1))[:, None]
                       + (1.0 - c)[:, None] * own) for gone in (1.0, 0.0)]


def _later_without(
    block: Block, rank: np.ndarray, logs: list[np.ndarray], all_not: np.ndarray
) -> np.ndarray:
    """Per report, the summed log probabilities of its claim's later reports without it.

    ``logs`` are :func:`_logs_without`'s two values and ``all_not`` the second's
    sums over each report's later reports: the sums over r's later reports are
    sums over the later reports with r's label and over all of them.
    """
    k = all_not.shape[1]
    by_label = block.claim * (int(block.label.max(initial=0)) + 1) + block.label
    # both values' sums over the later reports with r's label, in one pass
    same = _exclusive_sums(by_label, rank, np.concatenate(logs, axis=1), later=True)
    same_had, same_not = same[:, :k], same[:, k:]
    return same_had + all_not - same_not


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


def weights_table(
    reports: Reports, verdict: np.ndarray, rows: np.ndarray, weights: ReportWeights
) -> pd.DataFrame:
    """The estimator's ``report_weights_``: a row per report, by claim and in time order.

    Parameters
    ----------
    reports : Reports
        The coded reports (their claims, sources and labels name the rows).
    verdict : numpy.ndarray of int
        Each claim's most probable label.
    rows : numpy.ndarray of int
        The reports' rows of ``reports``, in the order of ``weights``.
    weights : ReportWeights

    Returns
    -------
    pandas.DataFrame
        ``claim, source, label, order, claim_label, log10_bf_in_order,
        log10_bf_leave_one_out, probability_after`` and, with copying,
        ``copy_probability``.
    """
    claim = reports.claim[rows]
    verdict = verdict[claim]
    if reports.per_claim:
        label = reports.candidate_values[claim, reports.label[rows]]
        toward = reports.candidate_values[claim, verdict]
    else:
        labels = reports.classes if reports.report_labels is None else reports.report_labels
        label, toward = labels[reports.label[rows]], reports.classes[verdict]
    table = pd.DataFrame({
        "claim": reports.claims[claim],
        "source": reports.sources[reports.source[rows]],
        "label": label,
        "order": weights.order,
        "claim_label": toward,
        "log10_bf_in_order": weights.in_order,
        "log10_bf_leave_one_out": weights.leave_one_out,
        "probability_after": weights.probability_after,
    })
    if weights.copy_probability is not None:
        table["copy_probability"] = weights.copy_probability
    return table.iloc[np.lexsort((weights.order, claim))].reset_index(drop=True)
