"""The likelihood of a compiled case: one definition, shared by every engine.

The functions take an array namespace ``xp`` (``numpy`` or ``pytensor.tensor``)
so that the exact engine (numpy) and the PyMC model (pytensor) evaluate the very
same expressions. Values that the PyMC model holds as data (stances, match
fractions) are passed as arrays; the compiled case supplies only structure
(which report reads which parameter and which copy probability).
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from credence.compile import CompiledCase, match_fraction
from credence.special import xlogy

__all__ = [
    "claim_log_prior",
    "copy_mixture",
    "counts_log_likelihood",
    "fixed_log_likelihood",
    "group_log_likelihood",
    "independent_probability",
    "log_likelihood",
    "mixed_copy",
    "report_probability",
]


def claim_log_prior(p_true, xp: ModuleType = np):
    """Log P(H) of a binary claim's hypotheses (true, false) when P(true) is ``p_true``.

    Parameters
    ----------
    p_true : array (...)
        The claim's prior probability (a draw of its Beta prior).
    xp : module
        ``numpy`` or ``pytensor.tensor``.

    Returns
    -------
    array (..., 2)
    """
    return xp.stack([xp.log(p_true), xp.log1p(-p_true)], axis=-1)


def independent_probability(theta, param: np.ndarray, rises, xp: ModuleType = np):
    """P_independent(report | H, theta) of reports under every hypothesis.

    Parameters
    ----------
    theta : array (..., P)
        Every reliability parameter (fixed ones at their value).
    param : ndarray (r, K) of int
        Parameter each report depends on under each hypothesis.
    rises : array (r, K) of bool
        The probability is ``theta`` (True) or ``1 - theta`` (False).
    xp : module
        ``numpy`` or ``pytensor.tensor``.

    Returns
    -------
    array (..., r, K)
    """
    at = theta[..., param]
    return xp.where(rises, at, 1.0 - at)


def copy_mixture(copy, match, independent):
    """``c m + (1 - c) P_independent``: a report that repeats an earlier one with probability c.

    The one expression of copying, for ``derived_from`` and for groups: with
    probability c the report repeats one of the reports it may copy, chosen
    uniformly, and so declares the same set with probability m (the fraction
    that does); otherwise it is an independent report of its own source.

    Parameters
    ----------
    copy : array (..., r)
        Copy probability of each report.
    match : array (r,)
        Match fraction m of each report.
    independent : array (..., r, K)
        P_independent of each report under each hypothesis.

    Returns
    -------
    array (..., r, K)
    """
    c = copy[..., :, None]
    return c * match[:, None] + (1.0 - c) * independent


def report_probability(theta, copy, param: np.ndarray, rises, match, xp: ModuleType = np):
    """P(report | H, theta, c) of reports under every hypothesis.

    Parameters
    ----------
    theta : array (..., P)
    copy : array (..., r)
        Copy probability of each report (0 for one that is not a copy mixture).
    param, rises : as :func:`independent_probability`
    match : array (r,)
    xp : module

    Returns
    -------
    array (..., r, K)
    """
    return copy_mixture(copy, match, independent_probability(theta, param, rises, xp))


def mixed_copy(derived_copy, group_copy, compiled: CompiledCase, xp: ModuleType = np):
    """Copy probability of each copy mixture (``compiled.report_mixed``), in report order.

    Parameters
    ----------
    derived_copy : array (..., n_derived)
        Copy probability of each derived report, in report order.
    group_copy : array (..., G)
        Copy probability of each group.
    compiled : CompiledCase
    xp : module

    Returns
    -------
    array (..., n_mixed)
        A derived report's own c, a later group member's group's c.
    """
    slots = xp.concatenate([derived_copy, group_copy], axis=-1)
    return slots[..., compiled.report_copy_slot[compiled.report_mixed] - 1]


def counts_log_likelihood(theta, rise, fall, xp: ModuleType = np):
    """Log-likelihood of reports that are not copy mixtures, from their counts.

    Such a report has probability ``theta`` or ``1 - theta`` of the parameter
    it depends on, so the reports of one parameter enter only through how many
    rise and fall with it under each hypothesis.

    Parameters
    ----------
    theta : array (..., Q)
        Parameters in (0, 1).
    rise, fall : array (Q, K)
        Counts of the parameters' reports (see :attr:`CompiledCase.independent_counts`).
    xp : module
        ``numpy`` or ``pytensor.tensor``.

    Returns
    -------
    array (..., K)
        ``log(theta) @ rise + log(1 - theta) @ fall``.
    """
    return xp.log(theta) @ rise + xp.log1p(-theta) @ fall


def fixed_log_likelihood(compiled: CompiledCase) -> np.ndarray:
    """log-likelihood (K,) of direct evidence and of plain reports from fixed parameters."""
    rise, fall = compiled.independent_counts
    fixed = ~compiled.param_random
    value = compiled.param_value[fixed][:, None]
    ll = (xlogy(rise[fixed], value) + xlogy(fall[fixed], 1.0 - value)).sum(axis=0)
    return ll + compiled.direct_loglik.sum(axis=0)


def log_likelihood(theta, derived_copy, group_copy, compiled: CompiledCase, xp: ModuleType = np):
    """Log P(evidence | H, theta, c) for every hypothesis.

    Parameters
    ----------
    theta : array (..., P)
        Every reliability parameter (fixed ones at their value, random ones in (0, 1)).
    derived_copy : array (..., n_derived)
        Copy probability of each derived report, in report order.
    group_copy : array (..., G)
        Copy probability of each group.
    compiled : CompiledCase
    xp : module
        ``numpy`` or ``pytensor.tensor``.

    Returns
    -------
    array (..., K)
        Log-normal likelihood ratios (PyMC extension) are not included.
    """
    rise, fall = compiled.independent_counts
    random = compiled.param_random
    th = theta[..., np.flatnonzero(random)]
    ll = fixed_log_likelihood(compiled) + counts_log_likelihood(th, rise[random], fall[random], xp)
    mixed = np.flatnonzero(compiled.report_mixed)
    if mixed.size:
        p = report_probability(
            theta,
            mixed_copy(derived_copy, group_copy, compiled, xp),
            compiled.report_param[mixed],
            compiled.report_rises[mixed],
            compiled.report_match[mixed],
            xp,
        )
        ll = ll + xp.log(p).sum(axis=-2)
    return ll


def group_log_likelihood(theta, copy, compiled: CompiledCase, members: np.ndarray) -> np.ndarray:
    """Log P(members | H, theta, c) of some of a group's members, taken as the whole group.

    The first of ``members`` is independent; each later one is the copy
    mixture with its match fraction over the members before it in the list,
    which is how a group with only these members reads (numpy).

    Parameters
    ----------
    theta : ndarray (..., P)
    copy : ndarray (...,)
        The group's copy probability.
    compiled : CompiledCase
    members : ndarray of int
        Reports, in group order.

    Returns
    -------
    ndarray (..., K)
    """
    members = np.asarray(members, dtype=int)
    independent = independent_probability(
        theta, compiled.report_param[members], compiled.report_rises[members]
    )
    declared = compiled.report_declared[members]
    match = np.array([match_fraction(declared[:j], declared[j]) for j in range(len(members))])
    c = np.broadcast_to(np.asarray(copy)[..., None], (*np.shape(copy), len(members))).copy()
    c[..., 0] = 0.0  # the first member is independent
    with np.errstate(divide="ignore"):
        return np.log(copy_mixture(c, match, independent)).sum(axis=-2)
