"""ICD 203 estimative language for probabilities."""

from __future__ import annotations

__all__ = ["ICD203", "words"]

#: (upper bound, words): US ODNI Intelligence Community Directive 203, Analytic Standards.
ICD203: tuple[tuple[float, str], ...] = (
    (0.05, "almost no chance"),
    (0.20, "very unlikely"),
    (0.45, "unlikely"),
    (0.55, "roughly even chance"),
    (0.80, "likely"),
    (0.95, "very likely"),
    (float("inf"), "almost certain"),
)


def words(p: float) -> str:
    """The ICD 203 expression for probability ``p``.

    Each band includes its lower bound: ``words(0.05)`` is "very unlikely",
    ``words(0.95)`` is "almost certain".

    Examples
    --------
    >>> words(0.83)
    'very likely'
    >>> words(0.5)
    'roughly even chance'
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"a probability must be in [0, 1], got {p!r}")
    return next(text for upper, text in ICD203 if p < upper)
