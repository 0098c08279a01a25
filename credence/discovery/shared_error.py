r"""Errors the reports on one claim share: the claim's apparent label.

Sources reporting on one claim often hear the same story: a briefing, a
viral post, a press release. When the story is wrong they are wrong together,
however many of them there are. The model: claim :math:`i` has its true label
:math:`T_i` and an *apparent* label :math:`A_i`, the one its story tells,

.. math::

    P(A_i = a \mid T_i = t) = \rho \text{ if } a = t, \text{ else }
    (1 - \rho) / (K_i - 1),

and the sources report on :math:`A_i` as they would on a true label (their
channels, copying and all). The fidelity :math:`\rho \sim \mathrm{Beta}(a, b)`
is shared by all claims. However many reports agree, the odds they give a
claim's label stay within a factor :math:`\rho (K_i - 1) / (1 - \rho)` of its
prior: they tell the story, and the story is true with probability
:math:`\rho`.

By label, the story's channel is a matrix instead: :math:`P(A_i = a \mid T_i
= t) = F_{ta}`, each row :math:`F_t \sim \mathrm{Dirichlet}` (its prior puts
:math:`a` on the diagonal and :math:`b / (K - 1)` on each other entry). It
describes stories that go wrong one way more than another: a true claim
told as false more often than a false one as true, or graded labels
(relevance, severity) mistaken for their neighbours more than for the far
end of the scale. It needs labels every claim shares (not per-claim
candidates).

Without known labels :math:`\rho` (or :math:`F`) is not identified (the
reports' likelihood depends on it only through the apparent labels' prior);
claims with known labels teach it, from how often their reports told another
story.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "channel",
    "in_words",
    "is_channel",
    "label_prior",
    "posterior",
    "posterior_mean",
    "transition",
]


def transition(fidelity: Any, n_candidates: np.ndarray, xp: Any = np) -> tuple[Any, Any]:
    """Log P(A = T) and log P(A = a) for each other label a, per claim.

    Parameters
    ----------
    fidelity : array
        ``[log rho, log(1 - rho)]`` (their expectations under q, or a
        PyTensor vector).
    n_candidates : numpy.ndarray of int
        Each claim's number of labels.
    xp : module, default numpy
        ``numpy`` or ``pytensor.tensor``.

    Returns
    -------
    same, other : array
        ``(n_claims,)`` each; a claim with one label keeps it (``same`` 0).
    """
    n_candidates = np.asarray(n_candidates)
    single = n_candidates <= 1
    spread = np.log(np.maximum(n_candidates - 1, 1)).astype(float)
    same = xp.where(single, 0.0, fidelity[0])
    other = xp.where(single, -np.inf, fidelity[1] - spread)
    return same, other


def is_channel(fidelity: Any) -> bool:
    """Whether fidelity parameters (or their logs) are a story channel by label.

    Parameters
    ----------
    fidelity : array or None
        ``(K, K)`` rows of a channel, or one fidelity's ``(2,)`` (or a draw of it).

    Returns
    -------
    bool
    """
    return fidelity is not None and np.ndim(fidelity) == 2


def posterior_mean(fidelity_params: np.ndarray) -> Any:
    """The posterior mean of fidelity parameters: one fidelity, or a channel's ``(K, K)`` rows.

    Parameters
    ----------
    fidelity_params : numpy.ndarray
        ``(2,)`` Beta parameters, or ``(K, K)`` Dirichlet rows of a story channel.

    Returns
    -------
    float or numpy.ndarray
    """
    means = fidelity_params / fidelity_params.sum(axis=-1, keepdims=True)
    return means if is_channel(means) else float(means[0])


def channel(fidelity_params: np.ndarray, n_classes: int) -> np.ndarray:
    """``(K, K)`` mean P(apparent label | true label) of either form of shared error.

    Parameters
    ----------
    fidelity_params : numpy.ndarray
        ``(2,)`` Beta parameters of one fidelity (spread over the other labels
        as :func:`transition` says), or ``(K, K)`` Dirichlet rows.
    n_classes : int
        K.

    Returns
    -------
    numpy.ndarray
    """
    means = posterior_mean(fidelity_params)
    if is_channel(means):
        return means
    with np.errstate(divide="ignore"):
        same, other = transition(np.log([means, 1.0 - means]), np.array([n_classes]))
    return np.where(np.eye(n_classes, dtype=bool), np.exp(same[0]), np.exp(other[0]))


def in_words(fidelity: np.ndarray, classes: Any = None) -> str:
    """How often a claim's story is true, as a phrase ("true for 85% of the claims").

    Parameters
    ----------
    fidelity : numpy.ndarray
        ``(1,)``, or by label ``(K,)`` (a fitted ``fidelity_``).
    classes : sequence or numpy.ndarray, optional
        The claim labels, by label (a fitted ``classes_``).

    Returns
    -------
    str
    """
    if len(fidelity) == 1 or classes is None:
        return f"true for {float(np.mean(fidelity)):.0%} of the claims"
    parts = [f"{f:.0%} of those labelled {str(label)!r}"
             for f, label in zip(fidelity, classes, strict=True)]
    return "true for " + ", ".join(parts)


def label_prior(fidelity: tuple[float, float], n_classes: int) -> np.ndarray:
    """The Dirichlet rows of a story channel by label, from a fidelity's Beta prior.

    Parameters
    ----------
    fidelity : (a, b)
        Beta prior of the fidelity: row ``t`` puts ``a`` on ``F[t, t]`` and
        ``b / (K - 1)`` on each other entry.
    n_classes : int
        K.

    Returns
    -------
    numpy.ndarray
        ``(K, K)``.
    """
    a, b = (float(x) for x in fidelity)
    rows = np.full((n_classes, n_classes), b / max(n_classes - 1, 1))
    np.fill_diagonal(rows, a)
    return rows


def posterior(
    scores: np.ndarray,
    prior: np.ndarray,
    fidelity: np.ndarray,
    n_candidates: np.ndarray,
    gold: np.ndarray,
    *,
    by_label: bool = False,
) -> tuple[np.ndarray, np.ndarray, float, np.ndarray]:
    """Joint posterior of each claim's true and apparent labels.

    Parameters
    ----------
    scores : numpy.ndarray
        ``(n, K)`` log probability of each claim's reports given its apparent
        label (-inf outside the claim's labels).
    prior : numpy.ndarray
        ``(n, K)`` log prior of the true label (-inf outside the claim's labels).
    fidelity : numpy.ndarray
        ``[log rho, log(1 - rho)]`` or their expectations (or ``(2, n)``:
        per claim); by label, ``(K, K)`` of ``log F[t, a]`` (or ``(n, K, K)``).
    n_candidates : numpy.ndarray of int
        ``(n,)`` each claim's number of labels.
    gold : numpy.ndarray of int
        ``(n,)`` known true label, -1 where unknown.
    by_label : bool, default False
        Whether ``fidelity`` is a channel by label.

    Returns
    -------
    q_true, q_apparent : numpy.ndarray
        ``(n, K)`` marginal posteriors of the true and the apparent label.
    log_z : numpy.ndarray
        ``(n,)`` each claim's log normaliser.
    agree : numpy.ndarray
        ``(n, 2)``: per claim, the probability that its story is true and that
        it is not (zero for a claim with one label); by label, ``(n, K, K)``:
        per claim, the joint posterior of its true and apparent labels.
    """
    n, k = scores.shape
    if by_label:
        step = np.broadcast_to(fidelity, (n, k, k))
    else:
        same, other = transition(fidelity, n_candidates)
        step = np.broadcast_to(other[:, None, None], (n, k, k)).copy()
        step[:, np.arange(k), np.arange(k)] = same[:, None]
    joint = prior[:, :, None] + step + scores[:, None, :]
    known = np.flatnonzero(gold >= 0)
    if known.size:
        keep = np.full((known.size, k), -np.inf)
        keep[np.arange(known.size), gold[known]] = 0.0
        joint[known] += keep[:, :, None]
    flat = joint.reshape(n, k * k)
    top = flat.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", under="ignore"):
        weights = np.exp(flat - top)
    total = weights.sum(axis=1, keepdims=True)
    weights = (weights / total).reshape(n, k, k)
    log_z = top[:, 0] + np.log(total[:, 0])
    if by_label:
        agree = weights
    else:
        told = np.trace(weights, axis1=1, axis2=2)
        agree = np.stack([told, 1.0 - told], axis=1) * (n_candidates > 1)[:, None]
    # a marginal is a sum of normalised weights: keep rounding from taking it past 1
    q_true = np.minimum(weights.sum(axis=2), 1.0)
    q_apparent = np.minimum(weights.sum(axis=1), 1.0)
    q_true[known] = 0.0
    q_true[known, gold[known]] = 1.0  # exactly, not a sum of rounded weights
    return q_true, q_apparent, log_z, agree
