r"""Copying among the reports on one claim: DESIGN.md's group semantics.

The reports on a claim are taken in time order (their ``date``, then their
order in the table). The first is independent. Each later report of source
:math:`j` is, with probability :math:`c_j` (its copy propensity), a repetition
of one earlier report on that claim chosen uniformly, and otherwise an
independent report from its own channel:

.. math:: P(l_n \mid t) = c_j\, m_n + (1 - c_j)\, P_j(l_n \mid t),

where :math:`m_n` is the fraction of earlier reports on the claim with the same
label. A copy carries no information about the claim; amplification is not
confirmation. Each :math:`c_j` is Beta, its prior pooled over the sources (or
the sources of one kind) like the reliabilities.

The variational fit keeps, per report, q(copy | T = t) exact given the other
factors (a structured mean field): the report's term in the claim's score is
:math:`\log(e^{E\log c_j} m_n + e^{E\log(1 - c_j)} e^{E\log P_j(l_n \mid t)})`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["earlier_matches"]


def earlier_matches(
    claim: np.ndarray, label: np.ndarray, position: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each report: how many reports on its claim came before it, and the match fraction.

    Parameters
    ----------
    claim, label : numpy.ndarray of int
        Codes per report.
    position : numpy.ndarray of int
        Order of the reports (ties are not allowed: ranks, e.g. by date then
        file order).

    Returns
    -------
    earlier : numpy.ndarray of intp
        Number of earlier reports on the same claim.
    log_match : numpy.ndarray of float
        log of the fraction of those with the same label; ``-inf`` where none
        matches or there is no earlier report.

    Examples
    --------
    >>> import numpy as np
    >>> earlier, log_m = earlier_matches(np.array([0, 0, 0]), np.array([1, 1, 0]),
    ...                                  np.array([0, 1, 2]))
    >>> earlier.tolist(), np.exp(log_m).tolist()
    ([0, 1, 2], [0.0, 1.0, 0.0])
    """
    claim = np.asarray(claim, np.int64)
    label = np.asarray(label, np.int64)
    position = np.asarray(position)
    n = claim.shape[0]
    earlier = _rank_within(claim, position)
    key = claim * (int(label.max(initial=0)) + 1) + label
    same = _rank_within(key, position)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_match = np.where(earlier > 0, np.log(same) - np.log(np.maximum(earlier, 1)), -np.inf)
    return earlier.astype(np.intp, copy=False), log_match.reshape(n)


def _rank_within(group: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Number of earlier items (by position) in each item's group."""
    order = np.lexsort((position, group))
    sorted_group = group[order]
    start = np.searchsorted(sorted_group, sorted_group, side="left")
    rank = np.empty(group.shape[0], np.int64)
    rank[order] = np.arange(group.shape[0]) - start
    return rank
