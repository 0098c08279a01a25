r"""A pooled prior's own uncertainty, integrated out of what a fit exports.

A pooled fit learns each group's prior :math:`\mathrm{Beta}(\kappa m, \kappa(1 - m))`
as a point (empirical Bayes, :mod:`credence.discovery.pooling`), and every source's
posterior is that prior plus its counts. Where the prior is well determined (many
sources with records) that is the hierarchical posterior; where it is not, the point
can be anywhere its evidence is flat, up to complete pooling, and a source with three
reports would be exported as if hundreds of reports had been seen about it.

Here the prior's parameters get a posterior of their own: the same evidence the
pooled step climbs (the sources' expected counts under a Beta-binomial, or Pólya,
likelihood), over the same range (each parameter at least
:data:`~credence.discovery.pooling.MIN_ALPHA`, their sum at most
:func:`~credence.discovery.pooling.concentration_cap` of the group's counts), flat
in the mean :math:`m` and in :math:`\log \kappa`, so that its mode is the evidence's
maximum. A source's posterior :math:`\int \mathrm{Beta}(\kappa m + a_j, \kappa(1 - m) + b_j)\,
p(m, \kappa \mid \text{counts})`, and a new source's :math:`\int
\mathrm{Beta}(\kappa m, \kappa(1 - m))\, p(m, \kappa \mid \text{counts})`, are
returned as the Beta with the same mean and variance (Kass and Steffey [1]_ make
the same correction to first order). On a rich record this is the fit's own
posterior; on a thin one, no source is known better than its group's reports
together say.

The integral is Gauss-Legendre quadrature in :math:`(\log \kappa, v)`, where
:math:`m` runs over its allowed interval at that :math:`\kappa` as :math:`v` runs
over (0, 1), each axis zoomed :data:`ZOOMS` times onto the nodes holding the
posterior's mass (:math:`v` at each :math:`\kappa` on its own).

References
----------
.. [1] Kass, R. E. and Steffey, D. (1989). Approximate Bayesian inference in
   conditionally independent hierarchical models (parametric empirical Bayes
   models). *Journal of the American Statistical Association* 84(407), 717-726.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, logsumexp

from credence.discovery.pooling import MIN_ALPHA, concentration_cap
from credence.discovery.threads import thread_map

__all__ = ["COARSE", "GRID", "ZOOMS", "marginal_betas", "predictive_betas"]

#: Gauss-Legendre nodes along each axis of the final grid, and of the coarser grids
#: that zoom onto the posterior's mass first, and how many of those there are.
GRID = 32
COARSE = 16
ZOOMS = 3
#: Grid points whose log posterior is this far below the best one carry no mass.
_NEGLIGIBLE = 40.0
#: Sources whose evidence is summed at once (bounds the memory to grid x this).
_CHUNK = 2048


def _nodes(lo: np.ndarray, hi: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` Gauss-Legendre nodes and weights on each interval (lo, hi), along the last axis."""
    x, w = np.polynomial.legendre.leggauss(n)
    half = (np.asarray(hi) - np.asarray(lo))[..., None] / 2.0
    return np.asarray(lo)[..., None] + half * (x + 1.0), half * w


def _shapes(t: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The prior's parameters at grid coordinates, and log dm/dv."""
    kappa = np.exp(t)
    width = 1.0 - 2.0 * MIN_ALPHA / kappa
    m = MIN_ALPHA / kappa + width * v
    return kappa * m, kappa * (1.0 - m), np.log(width)


def _log_posterior(t: np.ndarray, v: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Log density in (log kappa, v), flat in (log kappa, m): log dm/dv plus the evidence.

    The sources' evidence is summed a chunk at a time, the chunks on threads (SciPy's
    special functions release the GIL) and added in order, so the result does not
    depend on the number of threads.
    """
    alpha, beta, out = _shapes(t, v)
    seen = counts[counts.sum(axis=1) > 0]
    chunks = [seen[start:start + _CHUNK] for start in range(0, len(seen), _CHUNK)]

    def evidence(chunk: np.ndarray) -> np.ndarray:
        return betaln(alpha[:, None] + chunk[:, 0], beta[:, None] + chunk[:, 1]).sum(axis=1)

    for part in thread_map(evidence, chunks):
        out += part
    return out - len(seen) * betaln(alpha, beta)


def _row_weights(t: np.ndarray, counts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` nodes in v at each log concentration ``t``, zoomed row by row, and log weights."""
    lo, hi = np.zeros(t.size), np.ones(t.size)
    for zoom in range(ZOOMS + 1):
        nodes = COARSE if zoom < ZOOMS else n
        v, w = _nodes(lo, hi, nodes)
        log_p = _log_posterior(np.repeat(t, nodes), v.ravel(), counts).reshape(v.shape)
        log_p += np.log(w)
        if zoom == ZOOMS:
            return v, log_p
        lo, hi = _zoom(v, log_p, lo, hi)


def _zoom(x: np.ndarray, log_p: np.ndarray, lo: np.ndarray | float,
          hi: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Each row's interval narrowed to its nodes with mass, with a margin of the widest gap.

    A unimodal density's peak lies between its best node and a neighbour, so it stays in.
    """
    mass = log_p > log_p.max(axis=-1, keepdims=True) - _NEGLIGIBLE
    gap = np.diff(x, axis=-1).max(axis=-1)
    return (np.maximum(lo, np.where(mass, x, np.inf).min(axis=-1) - gap),
            np.minimum(hi, np.where(mass, x, -np.inf).max(axis=-1) + gap))


def _weights(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid points (alpha, beta) of a group's prior and their posterior weights."""
    lo, hi = np.log(2.0 * MIN_ALPHA), np.log(concentration_cap(counts.sum(), 2))
    for zoom in range(ZOOMS + 1):
        n = COARSE if zoom < ZOOMS else GRID
        t, wt = _nodes(lo, hi, n)
        v, log_p = _row_weights(t, counts, n)
        log_p += np.log(wt)[:, None]
        if zoom == ZOOMS:
            break
        lo, hi = _zoom(t, logsumexp(log_p, axis=1), lo, hi)
    tt = np.broadcast_to(t[:, None], v.shape).ravel()
    log_p = log_p.ravel()
    mass = log_p > log_p.max() - _NEGLIGIBLE
    weight = np.exp(log_p[mass] - log_p[mass].max())
    alpha, beta, _ = _shapes(tt[mass], v.ravel()[mass])
    return alpha, beta, weight / weight.sum()


def _matched(mean: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The Beta parameters with these first two moments, ``(..., 2)``."""
    var = np.maximum(second - mean**2, np.finfo(float).tiny)
    total = mean * (1.0 - mean) / var - 1.0
    return np.stack([mean * total, (1.0 - mean) * total], axis=-1)


def _by_group(counts: np.ndarray, group: np.ndarray | None) -> tuple[np.ndarray, int]:
    code = np.zeros(len(counts), np.intp) if group is None else np.asarray(group, np.intp)
    return code, int(code.max(initial=0)) + 1


def marginal_betas(counts: np.ndarray, group: np.ndarray | None = None) -> np.ndarray:
    """Each source's Beta posterior with its group's pooled prior integrated out.

    Parameters
    ----------
    counts : numpy.ndarray
        ``(S, 2)`` expected counts of every source (its posterior less its pooled prior).
    group : numpy.ndarray of int, optional
        Group code of each source (default one group).

    Returns
    -------
    numpy.ndarray
        ``(S, 2)`` the Beta with the posterior's mean and variance.
    """
    counts = np.asarray(counts, dtype=float)
    code, n_groups = _by_group(counts, group)
    out = np.empty_like(counts)
    for g in range(n_groups):
        members = np.flatnonzero(code == g)
        if members.size == 0:
            continue
        alpha, beta, weight = _weights(counts[members])
        mean = np.empty(members.size)
        second = np.empty(members.size)
        for start in range(0, members.size, _CHUNK):
            part = counts[members[start:start + _CHUNK]]
            a = alpha[:, None] + part[:, 0]
            total = a + beta[:, None] + part[:, 1]
            mean[start:start + _CHUNK] = weight @ (a / total)
            second[start:start + _CHUNK] = weight @ (a * (a + 1.0) / (total * (total + 1.0)))
        out[members] = _matched(mean, second)
    return out


def predictive_betas(counts: np.ndarray, group: np.ndarray | None = None) -> np.ndarray:
    """A new source's Beta in each group: the pooled prior averaged over its posterior.

    Parameters
    ----------
    counts, group
        As for :func:`marginal_betas` (a group without sources gets the
        hyperprior's).

    Returns
    -------
    numpy.ndarray
        ``(G, 2)`` the Beta with the same mean and variance.
    """
    counts = np.asarray(counts, dtype=float)
    code, n_groups = _by_group(counts, group)
    out = np.empty((n_groups, 2))
    for g in range(n_groups):
        members = np.flatnonzero(code == g)
        alpha, beta, weight = _weights(counts[members])
        total = alpha + beta
        out[g] = _matched(
            weight @ (alpha / total), weight @ (alpha * (alpha + 1.0) / (total * (total + 1.0)))
        )
    return out
