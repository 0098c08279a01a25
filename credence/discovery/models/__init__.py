"""Source models: how a source's report depends on the claim's true label.

One module a model, each with the same parts (see :class:`SourceModel`): its
prior, the expected log-likelihood of a report, the expected counts its
posterior update adds, the summary table, the case-file export and the PyMC
log-likelihood.

Modules
-------
base
    :class:`SourceModel`, what every model provides.
one_coin
    One accuracy per source.
two_coin
    A sensitivity and a false-positive rate per source (two labels).
confusion
    A confusion matrix per source (Dawid–Skene), report labels possibly a
    different set from claim labels (stance channels).
"""

from __future__ import annotations

from credence.discovery.models.base import PriorSettings, SourceModel
from credence.discovery.models.confusion import Confusion
from credence.discovery.models.one_coin import OneCoin
from credence.discovery.models.two_coin import TwoCoinModel

__all__ = ["MODELS", "Confusion", "OneCoin", "PriorSettings", "SourceModel", "TwoCoinModel", "get"]

#: The source models by name.
MODELS: dict[str, SourceModel] = {
    "one-coin": OneCoin(),
    "two-coin": TwoCoinModel(),
    "dawid-skene": Confusion(),
}


def get(name: str) -> SourceModel:
    """The source model called ``name``.

    Parameters
    ----------
    name : {"one-coin", "two-coin", "dawid-skene"}

    Returns
    -------
    SourceModel

    Raises
    ------
    ValueError
        An unknown name.
    """
    if name not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, not {name!r}")
    return MODELS[name]
