"""Numbers and evidence as people read them: one format everywhere.

The verdict sentence, the terminal report, the HTML and Markdown reports and
the figures all write probabilities with :func:`percent` and intervals with
:func:`span`; JSON and DataFrames keep the exact numbers.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["UNIT", "bans", "percent", "signal", "span", "verdict"]

#: Unit of the ledger's contributions.
UNIT = "log10 Bayes factor (bans; x10 for decibans)"


def percent(p: float) -> str:
    """A probability for people: ``83%``, ``99.96%``, ``0.42%``, ``<0.01%``, ``>99.99%``.

    Below 1% two significant digits; above, just enough decimals not to round to
    0% or 100%; within 1e-4 of 0 or 1, a bound.

    Examples
    --------
    >>> [percent(p) for p in (0.8312, 0.99958, 0.0042, 1.2e-15, 1 - 3e-12, 0.0, 1.0)]
    ['83%', '99.96%', '0.42%', '<0.01%', '>99.99%', '0%', '100%']
    """
    if p <= 0.0 or p >= 1.0:
        return "0%" if p <= 0.0 else "100%"
    if p < 1e-4:
        return "<0.01%"
    if p > 1.0 - 1e-4:
        return ">99.99%"
    if p < 0.01:
        return f"{100 * p:.2g}%"
    for decimals in range(3):
        text = f"{100 * p:.{decimals}f}"
        if float(text) not in (0.0, 100.0):
            return f"{text}%"
    return f"{100 * p:.3f}%"


def span(lo: float, hi: float) -> str:
    """An interval of probabilities: ``62%–99.97%``.

    Examples
    --------
    >>> span(0.0033, 0.08)
    '0.33%–8%'
    """
    return f"{percent(lo)}–{percent(hi)}"


def bans(x: float) -> str:
    """A contribution in bans (log10 Bayes factor), signed: ``+0.60``, ``-inf``."""
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "+inf" if x > 0 else "-inf"
    return f"{x:+.2f}"


def signal(e: Any) -> str:
    """How an evidence item reads in the ledger: its stance, set, or likelihood."""
    if e.stance is not None:
        return e.stance
    if e.supports is not None:
        return "supports " + ", ".join(e.supports)
    if e.refutes is not None:
        return "refutes " + ", ".join(e.refutes)
    if e.likelihood_ratio is not None:
        lr = e.likelihood_ratio
        return (
            f"likelihood ratio {lr:g}" if isinstance(lr, float) else "likelihood ratio (log-normal)"
        )
    return "likelihood " + ", ".join(f"{h}={p:g}" for h, p in (e.likelihood or {}).items())


def verdict(assessment: Any) -> str:
    """One sentence: words, probability and robustness interval of the assessment's subject.

    Examples
    --------
    ``likely (79%, 90% robustness interval 60%–92%)``; with several hypotheses
    the leading one is named first: ``combat: almost certain (96%, ...)``.
    """
    p = assessment.posterior[assessment.subject]
    lo, hi = assessment.interval
    head = "" if assessment.is_binary else f"{assessment.subject}: "
    return (
        f"{head}{assessment.words} ({percent(p)}, "
        f"{assessment.level:.0%} robustness interval {span(lo, hi)})"
    )
