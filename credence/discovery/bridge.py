"""Fitted source posteriors as case-file reliabilities: a track record becomes a prior.

A one-coin fit gives each source ``reliability: {beta: [a, b]}``; a two-coin fit
(or a Dawid–Skene fit with two labels) gives ``{sensitivity: {beta: ..},
false_positive_rate: {beta: ..}}``, where "yes" is the positive label (the one
meaning the claim is true). The case model reads these exactly as the fit
meant them for binary claims. For K > 2 labels the one-coin accuracy is the
probability of naming the true label, which a case file reads as the accuracy
of a yes/no signal: an approximation, said so in the docs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from credence.case import Beta, Source, TwoCoin
from credence.errors import CaseError, shown
from credence.options import strict_options

__all__ = ["source_reliabilities", "sources_document", "sources_yaml"]


def _beta(a: float, b: float, digits: int) -> Beta:
    return Beta(float(np.round(a, digits)), float(np.round(b, digits)))


@strict_options
def source_reliabilities(
    model: Any,
    *,
    sources: Iterable[Any] | None = None,
    kind: str | None = None,
    digits: int = 3,
) -> list[Source]:
    """The fitted sources as :class:`credence.case.Source` objects.

    Parameters
    ----------
    model : TruthDiscovery
        A fitted estimator (one-coin, two-coin, or Dawid–Skene with two labels).
    sources : iterable, optional
        Only these source ids (default all), in this order.
    kind : str, optional
        The ``kind`` written on every source.
    digits : int, default 3
        Decimal places of the Beta parameters.

    Returns
    -------
    list of Source
        ``reliability`` is the posterior Beta of the accuracy (one-coin) or a
        :class:`~credence.case.TwoCoin` of posterior Betas.

    Raises
    ------
    CaseError
        A Dawid–Skene fit with more than two labels (no case-file equivalent),
        or a source id that was not fitted.

    Examples
    --------
    >>> import pandas as pd
    >>> from credence.discovery import TruthDiscovery
    >>> reports = pd.DataFrame({"claim": [1, 1, 2, 2], "source": ["a", "b", "a", "b"],
    ...                         "label": [1, 1, 0, 1]})
    >>> fitted = TruthDiscovery().fit(reports)
    >>> source_reliabilities(fitted)[0].id
    'a'
    """
    if not hasattr(model, "source_params_"):
        raise RuntimeError("the model is not fitted yet: call fit first")
    params = model.source_params_
    if model.model == "dawid-skene" and params.shape[-1] != 2:
        raise CaseError(
            f"a Dawid-Skene fit with {params.shape[-1]} labels has no case-file reliability; "
            "fit model='one-coin' (or two labels) to export sources"
        )
    wanted = model.sources_ if sources is None else list(sources)
    position = model.sources_.get_indexer(wanted)
    if (position < 0).any():
        missing = wanted[int(np.flatnonzero(position < 0)[0])]
        raise CaseError(f"source {shown(missing)} was not in the fitted reports")
    out = []
    for source_id, i in zip(wanted, position, strict=True):
        if model.model == "one-coin":
            reliability: Any = _beta(params[i, 0], params[i, 1], digits)
        else:
            p = model.positive_index_
            n = 1 - p
            reliability = TwoCoin(
                sensitivity=_beta(params[i, p, p], params[i, p, n], digits),
                false_positive_rate=_beta(params[i, n, p], params[i, n, n], digits),
            )
        out.append(Source(id=str(source_id), kind=kind, reliability=reliability))
    return out


def sources_document(model: Any, **kwargs: Any) -> dict[str, Any]:
    """The ``sources:`` part of a case file, as plain data.

    Parameters
    ----------
    model : TruthDiscovery
        A fitted estimator.
    **kwargs
        Passed to :func:`source_reliabilities`.

    Returns
    -------
    dict
        ``{"sources": [{"id": ..., "reliability": {"beta": [a, b]}}, ...]}``.
    """
    return {"sources": [s.to_dict() for s in source_reliabilities(model, **kwargs)]}


def sources_yaml(model: Any, **kwargs: Any) -> str:
    """The ``sources:`` part of a case file as YAML, to paste or merge into a case.

    Parameters
    ----------
    model : TruthDiscovery
        A fitted estimator.
    **kwargs
        Passed to :func:`source_reliabilities`.

    Returns
    -------
    str
    """
    import yaml

    header = (
        "# Source reliabilities learned from a track record (credence discover).\n"
        "# Posterior Beta parameters; paste under a case file's top level.\n"
    )
    return header + yaml.safe_dump(
        sources_document(model, **kwargs), sort_keys=False, default_flow_style=None
    )
