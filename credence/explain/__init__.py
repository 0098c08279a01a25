"""Explain the verdict: what would change it, what to ask next, how it came about.

Light to import: every name loads its module on first use, and pandas only
inside ``to_frame()``.

Edits (:mod:`credence.explain.edits`): the case with one judgment changed.
    :func:`without`, :func:`flipped`, :func:`with_reliability`, :func:`with_prior`,
    :func:`with_copy_probability`, :func:`dropped_with`
What would change the verdict (:mod:`credence.explain.changes`):
    :func:`what_would_change`, :func:`prior_sensitivity`, :func:`reliability_tornado`
What to ask next (:mod:`credence.explain.voi`):
    :func:`value_of_information`, :func:`rank_next_sources`
How it came about (:mod:`credence.explain.history`, :mod:`credence.explain.ach`):
    :func:`timeline`, :func:`as_of`, :func:`ach_matrix`
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    # edits
    "without": "credence.explain.edits",
    "flipped": "credence.explain.edits",
    "with_reliability": "credence.explain.edits",
    "with_prior": "credence.explain.edits",
    "with_copy_probability": "credence.explain.edits",
    "dropped_with": "credence.explain.edits",
    # what would change the verdict
    "what_would_change": "credence.explain.changes",
    "prior_sensitivity": "credence.explain.changes",
    "reliability_tornado": "credence.explain.changes",
    "Change": "credence.explain.changes",
    "ChangeTable": "credence.explain.changes",
    "PriorSensitivity": "credence.explain.changes",
    "Tornado": "credence.explain.changes",
    "TOLERANCE": "credence.explain.changes",
    # what to ask next
    "value_of_information": "credence.explain.voi",
    "rank_next_sources": "credence.explain.voi",
    # how it came about
    "timeline": "credence.explain.history",
    "as_of": "credence.explain.history",
    "ach_matrix": "credence.explain.ach",
}

__all__ = [
    "TOLERANCE",
    "Change",
    "ChangeTable",
    "PriorSensitivity",
    "Tornado",
    "ach_matrix",
    "as_of",
    "dropped_with",
    "flipped",
    "prior_sensitivity",
    "rank_next_sources",
    "reliability_tornado",
    "timeline",
    "value_of_information",
    "what_would_change",
    "with_copy_probability",
    "with_prior",
    "with_reliability",
    "without",
]

if TYPE_CHECKING:
    from credence.explain.ach import ach_matrix
    from credence.explain.changes import (
        TOLERANCE,
        Change,
        ChangeTable,
        PriorSensitivity,
        Tornado,
        prior_sensitivity,
        reliability_tornado,
        what_would_change,
    )
    from credence.explain.edits import (
        dropped_with,
        flipped,
        with_copy_probability,
        with_prior,
        with_reliability,
        without,
    )
    from credence.explain.history import as_of, timeline
    from credence.explain.voi import rank_next_sources, value_of_information


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'credence.explain' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
