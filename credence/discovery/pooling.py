r"""Pooled priors: the population Beta / Dirichlet of a family of sources, learned.

Every source's parameter row :math:`\theta_j` (an accuracy as a Beta, or a row of a
confusion matrix as a Dirichlet) is drawn from a prior :math:`\mathrm{Dir}(\alpha_g)`
shared by the sources of its group :math:`g` (every source, or the sources of one
``kind``). Empirical Bayes sets :math:`\alpha_g` to maximise the evidence of the
sources' expected counts with :math:`\theta` integrated out (a Dirichlet-multinomial,
or Pólya, likelihood), by Minka's fixed point [1]_.

Why the counts' evidence and not the evidence lower bound's own step (the
expected log prior under :math:`q(\theta)`): under mean field, a source with one
report has a posterior already leaning towards the label it gave, and the
lower bound's step reads that lean as sources that differ, learning a prior so
weak that each one-report source's own report dominates its channel; the
claims' posteriors then become overconfident. The counts' evidence of a
one-report source depends only on the prior's mean, so the spread between
sources is learned from the sources that have a record. The price: with
pooling, an iteration no longer provably raises the lower bound (without
pooling it does).

A group's prior is learned only from :data:`MIN_POOLED_SOURCES` sources or
more (:func:`learns`); a smaller group keeps its fixed prior. A population's
spread is read from the differences between its sources, and from a handful
of them the evidence for it is nearly flat with its maximum often at no
spread at all (so in the eight schools of Gelman et al. [2]_, sec. 5.5): on
a four-source table the learned prior made every source alike and left
every claim near the class prior.

References
----------
.. [1] Minka, T. P. (2000, revised 2012). Estimating a Dirichlet distribution.
   Technical report, Microsoft Research.
.. [2] Gelman, A., Carlin, J. B., Stern, H. S., Dunson, D. B., Vehtari, A. and
   Rubin, D. B. (2013). *Bayesian Data Analysis*, 3rd ed. CRC Press.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, zeta

from credence.discovery.arrays import column_sums, row_sums, rows

__all__ = [
    "MAX_CONCENTRATION",
    "MIN_ALPHA",
    "MIN_POOLED_SOURCES",
    "concentration_cap",
    "expected_log",
    "inverse_digamma",
    "learns",
    "pooled_prior",
    "within_cap",
]

#: Largest total pseudo-count of a learned prior row: beyond it every source of the
#: group has, in effect, the same parameters (complete pooling).
MAX_CONCENTRATION = 1e4
#: Smallest learned prior parameter. Below about 1/2, E[log theta] of an entry a
#: source has not used, digamma(alpha) - digamma(A), heads to minus infinity, and a
#: source with one report would be read as certain never to give any other label.
MIN_ALPHA = 0.5
#: Fewest sources a group's prior is learned from (see the module's notes).
MIN_POOLED_SOURCES = 10


def learns(group: np.ndarray | None, n_sources: int, n_groups: int = 1) -> np.ndarray:
    """Which groups' priors are learned: those of at least :data:`MIN_POOLED_SOURCES` sources.

    Parameters
    ----------
    group : numpy.ndarray of int or None
        Group code of each source (None: one group).
    n_sources : int
    n_groups : int, default 1

    Returns
    -------
    numpy.ndarray of bool
        ``(n_groups,)``.
    """
    sizes = (np.array([n_sources]) if group is None
             else np.bincount(np.asarray(group, np.intp), minlength=n_groups))
    return sizes >= MIN_POOLED_SOURCES


def concentration_cap(total: np.ndarray, d: int) -> np.ndarray:
    """Largest total pseudo-count a prior row learned from ``total`` counts may hold.

    The complete-pooling posterior's: a uniform Dirichlet (one pseudo-count an
    entry) plus every count the group's sources have in that row, and at most
    :data:`MAX_CONCENTRATION`. A population prior learned from the sources'
    counts is no surer than all of them together: without the bound, a row
    in which no source of a handful has erred (a few claims) was learned as a
    point mass, and the claims it read were given probabilities of 0.999.

    Parameters
    ----------
    total : numpy.ndarray
        The group's summed counts in each row.
    d : int
        Entries a row.

    Returns
    -------
    numpy.ndarray
        Same shape as ``total``.
    """
    return np.minimum(MAX_CONCENTRATION, d + np.asarray(total, dtype=float))


def within_cap(alpha: np.ndarray, cap: np.ndarray | float = MAX_CONCENTRATION) -> np.ndarray:
    """Prior rows with every entry at least :data:`MIN_ALPHA` and their sums at most ``cap``.

    A row above its cap keeps its entries' floor and shrinks what lies above it
    in proportion.

    Parameters
    ----------
    alpha : numpy.ndarray
        Rows along the last axis.
    cap : numpy.ndarray or float
        Each row's largest sum (broadcast against ``alpha[..., :1]``), at least
        ``MIN_ALPHA`` times the row's length.

    Returns
    -------
    numpy.ndarray
    """
    alpha = np.clip(alpha, MIN_ALPHA, None)
    floor = MIN_ALPHA * alpha.shape[-1]
    total = alpha.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        shrink = np.where(total > cap, (cap - floor) / (total - floor), 1.0)
    return MIN_ALPHA + (alpha - MIN_ALPHA) * shrink


def expected_log(alpha: np.ndarray) -> np.ndarray:
    r""":math:`E[\log \theta]` under Dirichlet (Beta: last axis 2) parameters.

    Parameters
    ----------
    alpha : numpy.ndarray
        Parameters along the last axis.

    Returns
    -------
    numpy.ndarray
        Same shape.
    """
    return digamma(alpha) - digamma(row_sums(alpha))[..., None]


def inverse_digamma(y: np.ndarray, steps: int = 5) -> np.ndarray:
    """The x > 0 with digamma(x) = y, by Newton's method from Minka's start.

    Parameters
    ----------
    y : numpy.ndarray
    steps : int, default 5
        Newton steps (five give about 1e-15 relative error from this start on
        x in [1e-3, 50]; four leave up to 3e-9 near x = 0.45).

    Returns
    -------
    numpy.ndarray
    """
    y = np.atleast_1d(np.asarray(y, dtype=float))
    small = y < -2.22
    x = np.exp(np.where(small, 0.0, y)) + 0.5
    x[small] = -1.0 / (y[small] - digamma(1.0))
    for _ in range(steps):
        x = x - (digamma(x) - y) / zeta(2.0, x)  # trigamma(x) = zeta(2, x)
    return x


def pooled_prior(
    counts: np.ndarray,
    group: np.ndarray | None,
    n_groups: int,
    start: np.ndarray,
    *,
    steps: int = 3,
) -> np.ndarray:
    r"""Prior parameters of each group maximising the Dirichlet-multinomial evidence of the counts.

    Parameters
    ----------
    counts : numpy.ndarray
        ``(S, ..., d)`` expected counts of every source (its posterior minus
        its prior).
    group : numpy.ndarray of int or None
        Group code of each source (None: one group).
    n_groups : int
    start : numpy.ndarray
        ``(n_groups, ..., d)`` current prior parameters (the fixed point's start).
    steps : int, default 3
        Fixed-point steps (warm-started from ``start``, so a fit's successive
        calls keep converging).

    Returns
    -------
    numpy.ndarray
        ``(n_groups, ..., d)``.

    Notes
    -----
    Minka's fixed point for the Pólya (Dirichlet-multinomial) likelihood,
    :math:`\alpha_l \leftarrow \alpha_l \sum_j [\psi(n_{jl} + \alpha_l) - \psi(\alpha_l)]
    / \sum_j [\psi(n_j + A) - \psi(A)]`, with :math:`A = \sum_l \alpha_l`. A source
    with one report informs only the prior's mean (its evidence is
    :math:`\alpha_l / A`), so the spread between sources is learned from the
    sources that have several reports. Each row's concentration is kept within
    :func:`concentration_cap` of its group's counts, and a group of fewer than
    :data:`MIN_POOLED_SOURCES` sources keeps ``start`` (:func:`learns`).
    """
    s = counts.shape[0]
    d = counts.shape[-1]
    flat = counts.reshape(s, -1, d)
    code = np.zeros(s, np.intp) if group is None else np.asarray(group, np.intp)
    learned = learns(code, s, n_groups)
    initial = np.clip(start, MIN_ALPHA, None).astype(float).reshape(n_groups, -1, d)
    alpha = initial
    totals = row_sums(flat)
    group_totals = _group_sum(totals, code, n_groups)
    cap = concentration_cap(group_totals, d)[..., None]
    for _ in range(steps):
        a_total = row_sums(alpha)
        # digamma of the group's parameters once a group, not once a source (a source
        # without counts adds exactly zero to both sums)
        if n_groups == 1:
            top = digamma(flat + alpha[0]) - digamma(alpha[0])
            bottom = digamma(totals + a_total[0]) - digamma(a_total[0])
        else:
            top = digamma(flat + rows(alpha, code)) - rows(digamma(alpha), code)
            bottom = digamma(totals + rows(a_total, code)) - rows(digamma(a_total), code)
        top_sum = _group_sum(top, code, n_groups)
        bottom_sum = _group_sum(bottom, code, n_groups)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = top_sum / bottom_sum[..., None]
        ratio = np.where(np.isfinite(ratio) & (bottom_sum[..., None] > 0), ratio, 1.0)
        alpha = within_cap(alpha * ratio, cap)
    # a row without counts keeps its prior (the fixed point leaves it), as does a group
    # of too few sources
    empty = group_totals <= 0
    alpha[empty] = initial[empty]
    alpha = alpha.reshape(start.shape)
    alpha[~learned] = start[~learned]
    return alpha


def _group_sum(values: np.ndarray, code: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum of ``values`` over sources within each group, ``(n_groups, ...)``."""
    if n_groups == 1:
        return column_sums(values)[None]
    out = np.zeros((n_groups, *values.shape[1:]))
    np.add.at(out, code, values)
    return out
