"""The likelihood of a compiled case: one definition, shared by every engine.

The functions take an array namespace ``xp`` (``numpy`` or ``pytensor.tensor``)
so that the exact engine (numpy) and the PyMC model (pytensor) evaluate the very
same expressions.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from credence.compile import CompiledCase
from credence.special import xlogy

__all__ = [
    "counts_log_likelihood",
    "fixed_log_likelihood",
    "log_likelihood",
    "report_probability",
]


def report_probability(
    theta, copy, compiled: CompiledCase, reports: np.ndarray, xp: ModuleType = np
):
    """P(report | H, theta, c) of the chosen reports under every hypothesis.

    Parameters
    ----------
    theta : array (..., P)
        Every reliability parameter (fixed ones at their value).
    copy : array (..., len(reports))
        Copy probability of each chosen report (0 for a report not derived).
    compiled : CompiledCase
    reports : ndarray of int
        Indices of sourced reports.
    xp : module
        ``numpy`` or ``pytensor.tensor``.

    Returns
    -------
    array (..., len(reports), K)
        ``c * m + (1 - c) * P_independent`` with ``P_independent`` the parameter
        the report depends on under H, or one minus it.
    """
    at = theta[..., compiled.report_param[reports]]
    independent = xp.where(compiled.report_rises[reports], at, 1.0 - at)
    c = copy[..., :, None]
    return c * compiled.report_match[reports][:, None] + (1.0 - c) * independent


def counts_log_likelihood(theta, rise, fall, xp: ModuleType = np):
    """Log-likelihood of reports that are not derived, from their counts.

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


def log_likelihood(theta, copy, compiled: CompiledCase, xp: ModuleType = np):
    """Log P(evidence | H, theta, c) for every hypothesis.

    Parameters
    ----------
    theta : array (..., P)
        Every reliability parameter (fixed ones at their value, random ones in (0, 1)).
    copy : array (..., n_derived)
        Copy probability of each derived report, in report order.
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
    derived = np.flatnonzero(compiled.report_derived)
    if derived.size:
        p = report_probability(theta, copy, compiled, derived, xp)
        ll = ll + xp.log(p).sum(axis=-2)
    return ll
