"""credence: Bayesian claim-credibility estimation.

Write down a claim (or competing hypotheses), its evidence, each source's
reliability and who copied whom; get the posterior of each hypothesis, how
robust it is to what we do not know about the sources, and what moved it.

Heavy dependencies (PyMC, ArviZ, matplotlib, Dask, pandas) load only when a
code path needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    # the case format
    "Case": "credence.case",
    "Claim": "credence.case",
    "Hypothesis": "credence.case",
    "Source": "credence.case",
    "Evidence": "credence.case",
    "Beta": "credence.case",
    "TwoCoin": "credence.case",
    "Admiralty": "credence.case",
    "LogNormal": "credence.case",
    "Pooling": "credence.case",
    "Channel": "credence.case",
    "Group": "credence.case",
    "ADMIRALTY": "credence.case",
    "load_case": "credence.io",
    "CaseError": "credence.errors",
    # assessing
    "assess": "credence.api",
    "Assessment": "credence.assessment",
    "compile_case": "credence.compile",
    "to_pymc": "credence.mcmc.model",
    "words": "credence.words",
    # learning reliabilities from many claims
    "TruthDiscovery": "credence.discovery",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

if TYPE_CHECKING:
    from credence.api import assess
    from credence.assessment import Assessment
    from credence.case import (
        ADMIRALTY,
        Admiralty,
        Beta,
        Case,
        Channel,
        Claim,
        Evidence,
        Group,
        Hypothesis,
        LogNormal,
        Pooling,
        Source,
        TwoCoin,
    )
    from credence.compile import compile_case
    from credence.discovery import TruthDiscovery
    from credence.errors import CaseError
    from credence.io import load_case
    from credence.mcmc.model import to_pymc
    from credence.words import words


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'credence' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
