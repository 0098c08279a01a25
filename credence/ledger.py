"""The ledger: how much each evidence item moves each hypothesis, in log10 odds.

Both engines report the ledger with these functions; they differ only in how
they obtain the log posteriors (the exact engine integrates the parameters out
in closed form, the PyMC engine estimates the same quantities by importance
sampling from its draws). Plain NumPy; importing this module does not import
SciPy.

The odds of hypothesis h are ``P(h) / (1 - P(h))``, h against all the others
together, and contributions are differences of their log10 (bans):

- *in order*: the change when the item is added after the items before it in
  ledger order;
- *leave one out*: the change when the item is removed from all the evidence.

Contributions smaller than :data:`NEGLIGIBLE` bans are reported as 0: they are
rounding where an item contributes exactly nothing (a pure copy, a source that
carries no information).
"""

from __future__ import annotations

import numpy as np

from credence.special import logsumexp

__all__ = [
    "NEGLIGIBLE",
    "in_order_deltas",
    "leave_one_out_deltas",
    "log10_odds",
    "zero_negligible",
]

LN10 = float(np.log(10.0))
#: Contributions smaller than this (in bans) are reported as 0.
NEGLIGIBLE = 1e-12


def log10_odds(log_post: np.ndarray) -> np.ndarray:
    """log10 odds of each hypothesis against all the others.

    Parameters
    ----------
    log_post : array_like (..., K)
        Log posterior probabilities of the K hypotheses, last axis; they need
        not be normalised (odds do not depend on the normalising constant).

    Returns
    -------
    ndarray (..., K)
        ``log10 P(h) - log10 sum_{j != h} P(j)``; ``+inf`` for a certain
        hypothesis, ``-inf`` for an impossible one, NaN where every
        hypothesis is impossible.

    Examples
    --------
    >>> import numpy as np
    >>> log10_odds(np.log([0.9, 0.1])).round(6)
    array([ 0.954243, -0.954243])
    >>> log10_odds(np.log([0.5, 0.25, 0.25])).round(6)
    array([ 0.      , -0.477121, -0.477121])
    """
    log_post = np.asarray(log_post, dtype=float)
    K = log_post.shape[-1]
    if K == 2:
        rest = log_post[..., ::-1]
    else:
        others = np.array([[j for j in range(K) if j != h] for h in range(K)], dtype=int)
        rest = logsumexp(log_post[..., others], axis=-1)
    with np.errstate(invalid="ignore"):
        return (log_post - rest) / LN10


def zero_negligible(deltas: np.ndarray) -> np.ndarray:
    """Set contributions smaller than :data:`NEGLIGIBLE` bans to 0, in place.

    Parameters
    ----------
    deltas : ndarray
        Changes in log10 odds.

    Returns
    -------
    ndarray
        ``deltas``, changed in place.
    """
    with np.errstate(invalid="ignore"):
        deltas[np.abs(deltas) < NEGLIGIBLE] = 0.0
    return deltas


def in_order_deltas(log_path: np.ndarray) -> np.ndarray:
    """Change in log10 odds of each hypothesis as each item is added in order.

    Parameters
    ----------
    log_path : array_like (N + 1, K)
        Log posterior (normalised or not) before any evidence (row 0) and
        after each of the N items in ledger order (row i after items 1..i).

    Returns
    -------
    ndarray (N, K)
        Row i: ``log10_odds(log_path[i + 1]) - log10_odds(log_path[i])``, in
        ledger order, with negligible contributions set to 0.

    Examples
    --------
    >>> import numpy as np
    >>> path = np.log([[0.5, 0.5], [0.8, 0.2], [0.8, 0.2]])
    >>> in_order_deltas(path).round(6)
    array([[ 0.60206, -0.60206],
           [ 0.     ,  0.     ]])
    """
    odds = log10_odds(log_path)
    with np.errstate(invalid="ignore"):
        deltas = np.diff(odds, axis=0)
    return zero_negligible(deltas)


def leave_one_out_deltas(log_post: np.ndarray, log_without: np.ndarray) -> np.ndarray:
    """Change in log10 odds of each hypothesis when each item is removed.

    Parameters
    ----------
    log_post : array_like (K,)
        Log posterior given all the evidence (normalised or not).
    log_without : array_like (N, K)
        Row i: log posterior given all the evidence but item i.

    Returns
    -------
    ndarray (N, K)
        ``log10_odds(log_post) - log10_odds(log_without)``: what item i adds
        to the odds, rows as in ``log_without``, with negligible contributions
        set to 0.

    Examples
    --------
    >>> import numpy as np
    >>> full = np.log([0.8, 0.2])
    >>> without = np.log([[0.5, 0.5], [0.8, 0.2]])
    >>> leave_one_out_deltas(full, without).round(6)
    array([[ 0.60206, -0.60206],
           [ 0.     ,  0.     ]])
    """
    with np.errstate(invalid="ignore"):
        deltas = log10_odds(log_post) - log10_odds(log_without)
    return zero_negligible(deltas)
