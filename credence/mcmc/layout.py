"""How a compiled case splits into a model structure and the data that fill it.

The structure (which parameter each report reads, which parameters and copy
probabilities are uncertain, which sources are pooled, the ids) decides the
shape of the PyMC graph. Everything else (prior hyperparameters, fixed values,
stances and the counts of reports per parameter they give, parent agreement,
likelihoods) enters the graph as ``pm.Data``, so two
cases with the same structure share one compiled model. NumPy only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from credence.compile import CompiledCase
from credence.likelihood import fixed_log_likelihood

__all__ = ["Layout", "layout", "model_data"]


@dataclass(frozen=True, eq=False)
class Layout:
    """Index arrays and coordinates of the PyMC model of a compiled case.

    Attributes
    ----------
    key : str
        Digest of everything that shapes the graph; equal keys share a model.
    coords : dict of str to tuple of str
        ``hypothesis``, ``evidence``, ``report`` (sourced items), ``parameter``
        (uncertain, unpooled reliability parameters), ``fixed_parameter``,
        ``kind`` and ``pooled_parameter`` (pooled accuracies), ``copied``
        (derived items with an uncertain copy probability), ``fixed_copied``,
        ``group`` and ``fixed_group`` (groups with an uncertain / fixed copy
        probability), ``direct`` and ``uncertain_ratio``.
    free, fixed, pooled : ndarray of int
        Parameter indices of each group.
    pooled_kind : ndarray of int
        Kind (index into ``coords["kind"]``) of each pooled parameter.
    copy_free, copy_fixed : ndarray of int
        Report indices of derived reports with an uncertain / fixed copy probability.
    group_free, group_fixed : ndarray of int
        Groups with an uncertain / fixed copy probability.
    lognormal : ndarray of int
        Evidence indices of uncertain likelihood ratios.
    """

    key: str
    coords: dict[str, tuple[str, ...]]
    free: np.ndarray
    fixed: np.ndarray
    pooled: np.ndarray
    pooled_kind: np.ndarray
    copy_free: np.ndarray
    copy_fixed: np.ndarray
    group_free: np.ndarray
    group_fixed: np.ndarray
    lognormal: np.ndarray

    @property
    def has_free(self) -> bool:
        """True when the model has a parameter to sample."""
        return bool(
            self.free.size
            or self.pooled.size
            or self.copy_free.size
            or self.group_free.size
            or self.lognormal.size
        )


def _pooled(compiled: CompiledCase) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Uncertain one-coin accuracies of pooled kinds, their kind index, and the kinds used."""
    kinds = np.array([compiled.source_kinds[s] for s in compiled.param_source], dtype=object)
    member = (
        compiled.param_random
        & compiled.param_one_coin
        & np.isin(kinds, list(compiled.pooled_kinds))
    )
    pooled = np.flatnonzero(member)
    used = tuple(k for k in compiled.pooled_kinds if k in set(kinds[pooled]))
    kind = np.array([used.index(k) for k in kinds[pooled]], dtype=int)
    return pooled, kind, used


def layout(compiled: CompiledCase) -> Layout:
    """Split a compiled case into its model structure.

    Parameters
    ----------
    compiled : CompiledCase

    Returns
    -------
    Layout
    """
    pooled, pooled_kind, kinds = _pooled(compiled)
    random = compiled.param_random
    is_pooled = np.zeros(compiled.n_params, bool)
    is_pooled[pooled] = True
    free = np.flatnonzero(random & ~is_pooled)
    fixed = np.flatnonzero(~random)
    derived = compiled.report_derived
    copy_free = np.flatnonzero(derived & compiled.copy_random)
    copy_fixed = np.flatnonzero(derived & ~compiled.copy_random)
    group_free = np.flatnonzero(compiled.group_random)
    group_fixed = np.flatnonzero(~compiled.group_random)
    lognormal_rows = np.flatnonzero(~np.isnan(compiled.direct_lognormal[:, 0]))
    lognormal = compiled.direct_evidence[lognormal_rows]
    ids = compiled.evidence_ids
    names = compiled.param_names
    coords = {
        "hypothesis": compiled.hypotheses,
        "evidence": ids,
        "report": tuple(ids[e] for e in compiled.report_evidence),
        "parameter": tuple(names[p] for p in free),
        "fixed_parameter": tuple(names[p] for p in fixed),
        "kind": kinds,
        "pooled_parameter": tuple(names[p] for p in pooled),
        "copied": tuple(ids[compiled.report_evidence[r]] for r in copy_free),
        "fixed_copied": tuple(ids[compiled.report_evidence[r]] for r in copy_fixed),
        "group": tuple(compiled.group_ids[g] for g in group_free),
        "fixed_group": tuple(compiled.group_ids[g] for g in group_fixed),
        "direct": tuple(ids[e] for e in compiled.direct_evidence),
        "uncertain_ratio": tuple(ids[e] for e in lognormal),
    }
    digest = hashlib.sha256()
    digest.update(repr(sorted(coords.items())).encode())
    digest.update(repr(compiled.prior_beta is None).encode())
    for array in (
        compiled.report_param,
        compiled.report_evidence,
        derived,
        free,
        pooled,
        pooled_kind,
        copy_free,
        compiled.report_mixed,
        compiled.report_copy_slot,
        group_free,
        compiled.direct_evidence,
        lognormal,
    ):
        digest.update(np.ascontiguousarray(array, dtype=np.int64).tobytes())
        digest.update(b"|")
    return Layout(
        key=digest.hexdigest(),
        coords=coords,
        free=free,
        fixed=fixed,
        pooled=pooled,
        pooled_kind=pooled_kind,
        copy_free=copy_free,
        copy_fixed=copy_fixed,
        group_free=group_free,
        group_fixed=group_fixed,
        lognormal=lognormal,
    )


def model_data(compiled: CompiledCase, shape: Layout | None = None) -> dict[str, np.ndarray]:
    """The values of the model's ``pm.Data`` containers for a compiled case.

    Parameters
    ----------
    compiled : CompiledCase
    shape : Layout, optional
        The case's layout, if already computed.

    Returns
    -------
    dict of str to ndarray
        Keyed by the data container's name in the model.
    """
    shape = shape or layout(compiled)
    pooling = compiled.case.pooling
    lognormal_rows = np.flatnonzero(~np.isnan(compiled.direct_lognormal[:, 0]))
    with np.errstate(divide="ignore"):
        log_prior = np.log(compiled.prior)
    prior_beta = compiled.prior_beta or (1.0, 1.0)
    rise, fall = compiled.independent_counts
    sampled = np.concatenate([shape.free, shape.pooled])
    with np.errstate(divide="ignore"):
        fixed_ll = fixed_log_likelihood(compiled)
    return {
        "hypothesis_log_prior": log_prior,
        "claim_prior_ab": np.asarray(prior_beta, float),
        "reliability_alpha": compiled.param_alpha[shape.free],
        "reliability_beta": compiled.param_beta[shape.free],
        "fixed_value": compiled.param_value[shape.fixed],
        "kind_mean_ab": np.asarray(
            (pooling.mean.a, pooling.mean.b) if pooling is not None else (1.0, 1.0), float
        ),
        "kind_concentration_shape": np.asarray(
            pooling.concentration_shape if pooling is not None else 1.0, float
        ),
        "kind_concentration_rate": np.asarray(
            pooling.concentration_shape / pooling.concentration if pooling is not None else 1.0,
            float,
        ),
        "copy_alpha": compiled.report_copy_alpha[shape.copy_free],
        "copy_beta": compiled.report_copy_beta[shape.copy_free],
        "copy_value": compiled.report_copy_value[shape.copy_fixed],
        "group_copy_alpha": compiled.group_copy_alpha[shape.group_free],
        "group_copy_beta": compiled.group_copy_beta[shape.group_free],
        "group_copy_value": compiled.group_copy_value[shape.group_fixed],
        "report_rises": compiled.report_rises.astype(np.int8),
        "report_match": compiled.report_match.astype(float),
        "direct_log_likelihood": compiled.direct_loglik,
        "rise_counts": rise[sampled],
        "fall_counts": fall[sampled],
        "fixed_log_likelihood": fixed_ll,
        "ratio_mu": compiled.direct_lognormal[lognormal_rows, 0],
        "ratio_sigma": compiled.direct_lognormal[lognormal_rows, 1],
    }
