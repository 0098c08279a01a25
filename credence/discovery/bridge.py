"""Fitted source posteriors as case-file reliabilities: a track record becomes a prior.

A one-coin fit gives each source ``reliability: {beta: [a, b]}``; a two-coin fit
(or a Dawid–Skene fit with two labels) gives ``{sensitivity: {beta: ..},
false_positive_rate: {beta: ..}}``, where "yes" is the positive label (the one
meaning the claim is true). The case model reads these exactly as the fit
meant them for binary claims. For K > 2 labels the one-coin accuracy is the
probability of naming the true label, which a case file reads as the accuracy
of a yes/no signal: an approximation, said so in the docs.

A stance fit (report labels such as for / against / observing) exports the
channel of the reports a case file can hold, those that support or refute:
given that a report is one of the two, the probability it supports is exactly
Beta(alpha[t, supports], alpha[t, refutes]) under the source's Dirichlet row.

A fit with copying exports copy propensities as the ``copy_probability`` Beta
of a case file's ``groups:`` (:func:`copy_probability`): the pooled prior for
a group of reports whose sources are many, or one source's posterior.

With pooling, every exported Beta has the pooled prior's own uncertainty
integrated in (:mod:`credence.discovery.hyperposterior`): the fit learns the
prior as a point, and on a thin record that point can claim that every source
is known to hundreds of reports' precision. What a case file gets is the
hierarchical posterior instead, which on a rich record is the fit's own. (For a
stance channel, the prior of the two entries exported is learned from those
entries' counts alone, which leaves it a little less sure than the whole row's.)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from credence.case import Beta, Source, TwoCoin
from credence.discovery import models, shared_error
from credence.discovery.hyperposterior import marginal_betas, predictive_betas
from credence.discovery.pooling import learns
from credence.errors import CaseError, shown
from credence.options import strict_options

__all__ = [
    "copy_probability",
    "exported_betas",
    "source_reliabilities",
    "sources_document",
    "sources_yaml",
]


def _beta(a: float, b: float, digits: int) -> Beta:
    return Beta(float(np.round(a, digits)), float(np.round(b, digits)))


def _pair(params: np.ndarray, index: tuple[tuple, tuple]) -> np.ndarray:
    """``(..., 2)``: the Beta at entries ``index`` (a's, b's) of each parameter row."""
    a, b = index
    return np.stack([params[(..., *a)], params[(..., *b)]], axis=-1)


def _pooled(model: Any) -> np.ndarray:
    """Whether each source's group prior was learned (:func:`~.pooling.learns`)."""
    if not model.priors_.pooling:
        return np.zeros(model.source_group_.size, bool)
    kinds = getattr(model, "kinds_", None)
    n_groups = 1 if kinds is None else len(kinds)
    group = model.source_group_
    return learns(group, group.size, n_groups)[group]


def _copy_counts(model: Any) -> np.ndarray | None:
    """Each source's copy counts, when the fit learned their prior (else None)."""
    priors = model.priors_
    if not (priors.pooling and priors.pool_copying):
        return None
    return model.copy_params_ - model.copy_prior_[model.source_group_]


def exported_betas(model: Any) -> dict[str, np.ndarray]:
    """Every source's Betas as a case file gets them, by case-file field.

    Parameters
    ----------
    model : TruthDiscovery
        A fitted estimator whose sources export (see :func:`source_reliabilities`).

    Returns
    -------
    dict of str to numpy.ndarray
        ``reliability``, or ``sensitivity`` and ``false_positive_rate``, each
        ``(S, 2)``: the posterior Betas, and where the group's prior was
        learned the hierarchical posteriors, the pooled prior's uncertainty
        integrated in (:func:`~credence.discovery.hyperposterior.marginal_betas`).
    """
    fields = models.get(model.model_).export(model.positive_index_, _says(model))
    pooled = _pooled(model)
    group = model.source_group_[pooled]
    out = {}
    for field, index in fields.items():
        betas = _pair(model.source_params_, index)
        if pooled.any():
            counts = betas[pooled] - _pair(model.source_prior_, index)[group]
            betas[pooled] = marginal_betas(counts, group)
        out[field] = betas
    return out


def _says(model: Any) -> tuple[int, int] | None:
    """Report labels meaning supports and refutes in a stance fit (None: the claim labels)."""
    params = model.source_params_
    if params.ndim != 3 or params.shape[1] == params.shape[2]:
        return None
    match = np.asarray(model.label_match_)
    p = model.positive_index_
    yes, no = np.flatnonzero(match == p), np.flatnonzero(match == 1 - p)
    if yes.size == 0 or no.size == 0:
        raise CaseError(
            "a case file's reports support or refute: the stance labels need one naming each "
            f"claim label ({shown(model.classes_.tolist())}) to export sources"
        )
    return int(yes[0]), int(no[0])


@strict_options
def copy_probability(
    model: Any, *, source: Any = None, kind: Any = None, digits: int = 3
) -> Beta:
    """A learned copy propensity as a case-file ``copy_probability`` Beta.

    Parameters
    ----------
    model : TruthDiscovery
        A fitted estimator with ``copying_``.
    source : optional
        A source id: its posterior Beta.
    kind : optional
        A source kind (fits with a ``kind`` column): that kind's pooled prior.
        Default (neither given): the pooled prior of all sources, the
        propensity of a source not yet seen.
    digits : int, default 3

    Returns
    -------
    credence.case.Beta

    Raises
    ------
    CaseError
        The fit does not model copying, or the source was not fitted.

    Notes
    -----
    With a learned copy prior, a source's Beta has that prior's uncertainty
    integrated in (:func:`~credence.discovery.hyperposterior.marginal_betas`),
    and a kind's or all sources' is the prior averaged over its posterior
    (:func:`~credence.discovery.hyperposterior.predictive_betas`): both the
    Beta with the same mean and variance.
    """
    if not hasattr(model, "source_params_"):
        raise RuntimeError("the model is not fitted yet: call fit first")
    if model.copy_params_ is None:
        raise CaseError("the fit assumed independent reports: fit with copying=True")
    if source is not None and kind is not None:
        raise ValueError("give source or kind, not both")
    kinds = getattr(model, "kinds_", None)
    counts = _copy_counts(model)
    if source is None:
        if kind is None and kinds is not None and len(kinds) > 1:
            raise CaseError(
                f"this fit pooled copy propensities by kind ({shown(kinds.tolist())}): "
                "give kind= (or source=)"
            )
        g = 0
        if kind is not None:
            match = np.flatnonzero(np.asarray(kinds if kinds is not None else []) == kind)
            if match.size == 0:
                raise CaseError(f"kind {shown(kind)} was not in the fitted reports")
            g = int(match[0])
        members = model.source_group_ == g
        if counts is None or not _pooled(model)[members].any():
            a, b = model.copy_prior_[g]
        else:  # the group's own sources are all its prior's posterior depends on
            a, b = predictive_betas(counts[members])[0]
        return _beta(a, b, digits)
    i = model.sources_.get_indexer([source])[0]
    if i < 0:
        raise CaseError(f"source {shown(source)} was not in the fitted reports")
    if counts is None or not _pooled(model)[i]:
        a, b = model.copy_params_[i]
    else:
        members = model.source_group_ == model.source_group_[i]
        a, b = marginal_betas(counts[members])[np.count_nonzero(members[:i])]
    return _beta(a, b, digits)


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
        :class:`~credence.case.TwoCoin` of posterior Betas (see
        :func:`exported_betas`).

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
    source_model = models.get(model.model_)
    why = source_model.exportable(params.shape[1], params.shape[-1]) if params.ndim == 3 else ""
    if why:
        raise CaseError(why)
    wanted = model.sources_ if sources is None else list(sources)
    position = model.sources_.get_indexer(wanted)
    if (position < 0).any():
        missing = wanted[int(np.flatnonzero(position < 0)[0])]
        raise CaseError(f"source {shown(missing)} was not in the fitted reports")
    betas = exported_betas(model)
    out = []
    for source_id, i in zip(wanted, position, strict=True):
        fields = {field: _beta(*pair[i], digits) for field, pair in betas.items()}
        reliability = fields.pop("reliability") if "reliability" in fields else TwoCoin(**fields)
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
    pooled = _pooled(model)
    if pooled.all():
        header += "# (The learned population prior's own uncertainty is integrated in.)\n"
    elif pooled.any():
        header += ("# (Where a kind's prior was learned, that prior's own uncertainty is "
                   "integrated in.)\n")
    if getattr(model, "copy_params_", None) is not None:
        kinds = getattr(model, "kinds_", None)
        names = [None] if kinds is None or len(kinds) < 2 else list(kinds)
        header += "# Learned copy propensity (pooled): for reports that may repeat each other,\n"
        for name in names:
            a, b = copy_probability(model, kind=name).beta if name is not None else (
                copy_probability(model).beta
            )
            label = "" if name is None else f" ({name})"
            header += (
                f"# groups{label}: [{{id: ..., members: [...], "
                f"copy_probability: {{beta: [{a:g}, {b:g}]}}}}]\n"
            )
    if getattr(model, "fidelity_", None) is not None:
        told = shared_error.in_words(model.fidelity_, model.classes_)
        header += (
            f"# Reports on one claim shared a story, {told}\n"
            "# (the learned fidelity): agreeing reports on a new claim are worth no more\n"
            "# than the story they tell.\n"
        )
    return header + yaml.safe_dump(
        sources_document(model, **kwargs), sort_keys=False, default_flow_style=None
    )
