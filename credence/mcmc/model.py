"""Build the PyMC model of a compiled case from the shared likelihood.

The hypothesis H is discrete, so NUTS cannot sample it: the model adds
``log sum_h P(h | phi) P(evidence | h, phi)`` as a potential, with phi every
uncertain parameter, and keeps ``P(H | evidence, phi)`` as the deterministic
``hypothesis_posterior``. The likelihood comes from the functions the exact
engine evaluates (:mod:`credence.likelihood`), here with ``xp = pytensor.tensor``:
reports that are not derived through their counts per parameter
(:func:`~credence.likelihood.counts_log_likelihood`), derived reports one by
one (:func:`~credence.likelihood.report_probability`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from credence.compile import CompiledCase
from credence.likelihood import (
    claim_log_prior,
    counts_log_likelihood,
    mixed_copy,
    report_probability,
)
from credence.mcmc.layout import Layout, layout, model_data

__all__ = ["ModelParts", "build_model", "build_parts", "to_pymc"]

# An impossible report contributes log(TINY) (about -708) instead of -inf, so
# that gradients stay finite where a fixed reliability of 0 or 1 is contradicted.
TINY = np.finfo(float).tiny


@dataclass(frozen=True, eq=False)
class ModelParts:
    """A built model with the graphs the engine reads after sampling.

    Attributes
    ----------
    model : pymc.Model
    layout : Layout
    item_log_likelihood : TensorVariable (n_evidence, K)
        log P(evidence item | H, phi), file order.
    hypothesis_log_prior : TensorVariable (K,)
        log P(H | phi) (phi holds the claim prior when it is uncertain).
    log_joint : TensorVariable (K,)
        log P(H | phi) + log P(evidence | H, phi), as the model's logp reads it.
    """

    model: pm.Model
    layout: Layout
    item_log_likelihood: pt.TensorVariable
    hypothesis_log_prior: pt.TensorVariable
    log_joint: pt.TensorVariable


def build_model(compiled: CompiledCase) -> pm.Model:
    """The PyMC model of a compiled case.

    Parameters
    ----------
    compiled : CompiledCase

    Returns
    -------
    pymc.Model
        Free variables ``reliability`` (dims ``parameter``), ``kind_mean``,
        ``kind_concentration`` (``kind``) and ``pooled_accuracy``
        (``pooled_parameter``) when pooling, ``copy_probability`` (``copied``),
        ``group_copy_probability`` (``group``),
        ``claim_prior`` when the claim's prior is a Beta, ``log_likelihood_ratio``
        (``uncertain_ratio``); the potential ``evidence_likelihood``; the
        deterministic ``hypothesis_posterior`` (``hypothesis``). Values of the
        case enter as ``pm.Data``.

    Examples
    --------
    >>> import pymc as pm
    >>> from credence import Case, Claim, Evidence, Source
    >>> case = Case(
    ...     claim=Claim(statement="It rained"),
    ...     sources=[Source(id="neighbour", reliability="B")],
    ...     evidence=[Evidence(id="e1", source="neighbour", stance="supports")],
    ... )
    >>> from credence.compile import compile_case
    >>> model = build_model(compile_case(case))
    >>> model.coords["parameter"]
    ('neighbour.accuracy',)
    """
    return build_parts(compiled).model


def to_pymc(case) -> pm.Model:
    """Build a case as a PyMC model (imports PyMC).

    The model is built from the same compiled case and likelihood the exact
    engine reads; add terms to it and sample it like any ``pm.Model``.

    Parameters
    ----------
    case : Case, dict, str or path
        A case, its plain data, or a case file.

    Returns
    -------
    pymc.Model
    """
    from credence.api import as_case
    from credence.compile import compile_case

    return build_model(compile_case(as_case(case)))


def build_parts(compiled: CompiledCase, shape: Layout | None = None) -> ModelParts:
    """Build the model and keep the per-item graphs (see :func:`build_model`).

    Parameters
    ----------
    compiled : CompiledCase
    shape : Layout, optional
        The case's layout, if already computed.

    Returns
    -------
    ModelParts
    """
    shape = shape or layout(compiled)
    values = model_data(compiled, shape)
    coords = {name: list(ids) for name, ids in shape.coords.items()}
    K = compiled.n_hypotheses
    n = compiled.report_param.shape[0]
    with pm.Model(coords=coords) as model:
        data = {
            name: pm.Data(name, value, dims=_DATA_DIMS.get(name)) for name, value in values.items()
        }
        parts = [data["fixed_value"]]
        if shape.free.size:
            parts.append(
                pm.Beta(
                    "reliability",
                    alpha=data["reliability_alpha"],
                    beta=data["reliability_beta"],
                    dims="parameter",
                )
            )
        if shape.pooled.size:
            mean_ab = data["kind_mean_ab"]
            mu = pm.Beta("kind_mean", alpha=mean_ab[0], beta=mean_ab[1], dims="kind")
            kappa = pm.Gamma(
                "kind_concentration",
                alpha=data["kind_concentration_shape"],
                beta=data["kind_concentration_rate"],
                dims="kind",
            )
            k = shape.pooled_kind
            parts.append(
                pm.Beta(
                    "pooled_accuracy",
                    alpha=mu[k] * kappa[k],
                    beta=(1.0 - mu[k]) * kappa[k],
                    dims="pooled_parameter",
                )
            )
        sampled = parts[1:]
        theta = _gather(parts, [shape.fixed, shape.free, shape.pooled], compiled.n_params)

        derived = np.flatnonzero(compiled.report_derived)
        position = np.empty(compiled.report_derived.size, dtype=int)
        position[derived] = np.arange(derived.size)
        derived_copy = _fixed_or_beta(
            data,
            "copy",
            "copy_probability",
            "copied",
            position[shape.copy_fixed],
            position[shape.copy_free],
            derived.size,
        )
        group_copy = _fixed_or_beta(
            data,
            "group_copy",
            "group_copy_probability",
            "group",
            shape.group_fixed,
            shape.group_free,
            len(compiled.group_ids),
        )
        mixed = np.flatnonzero(compiled.report_mixed)
        copy = pt.zeros(n)
        if mixed.size:
            copy = pt.set_subtensor(
                copy[mixed], mixed_copy(derived_copy, group_copy, compiled, xp=pt)
            )

        if compiled.prior_beta is not None:
            ab = data["claim_prior_ab"]
            p_true = pm.Beta("claim_prior", alpha=ab[0], beta=ab[1])
            log_prior = claim_log_prior(p_true, xp=pt)
        else:
            log_prior = data["hypothesis_log_prior"]

        # The stances and parent agreement are data; the indices stay structure.
        rises, match = data["report_rises"], data["report_match"]
        # Reports that are not derived enter through their counts per sampled
        # parameter (data), so the logp and its gradient touch each sampled
        # parameter once; fixed parameters and direct evidence are one constant.
        log_likelihood = data["fixed_log_likelihood"]
        if sampled:
            log_likelihood = log_likelihood + counts_log_likelihood(
                pt.concatenate(sampled), data["rise_counts"], data["fall_counts"], xp=pt
            )
        if mixed.size:
            p_mixed = report_probability(
                theta,
                copy[mixed],
                compiled.report_param[mixed],
                rises[mixed],
                match[mixed],
                xp=pt,
            )
            log_likelihood = log_likelihood + pt.log(pt.maximum(p_mixed, TINY)).sum(axis=0)
        if shape.lognormal.size:
            log_ratio = pm.Normal(
                "log_likelihood_ratio",
                mu=data["ratio_mu"],
                sigma=data["ratio_sigma"],
                dims="uncertain_ratio",
            )
            ratio_ll = pt.zeros((shape.lognormal.size, K))
            ratio_ll = pt.set_subtensor(ratio_ll[:, 0], log_ratio)
            log_likelihood = log_likelihood + ratio_ll.sum(axis=0)

        log_joint = log_prior + log_likelihood
        pm.Potential("evidence_likelihood", pt.special.logsumexp(log_joint))
        pm.Deterministic("hypothesis_posterior", pt.special.softmax(log_joint), dims="hypothesis")

    # Per-item terms for the ledger and the sensitivity; not part of the model's logp.
    p = report_probability(theta, copy, compiled.report_param, rises, match, xp=pt)
    report_ll = pt.log(pt.maximum(p, TINY))
    direct_ll = data["direct_log_likelihood"]
    items = pt.zeros((len(compiled.evidence_ids), K))
    items = pt.set_subtensor(items[compiled.report_evidence], report_ll)
    items = pt.set_subtensor(items[compiled.direct_evidence], direct_ll)
    if shape.lognormal.size:
        items = pt.inc_subtensor(items[shape.lognormal], ratio_ll)
    return ModelParts(model, shape, items, log_prior, log_joint)


def _fixed_or_beta(data, prefix, name, dims, fixed, free, size):
    """Probabilities fixed (data ``<prefix>_value``) or Beta (``<prefix>_alpha``, ``_beta``).

    Returns the vector of all ``size`` of them, the Beta ones as the free variable ``name``.
    """
    parts = [data[f"{prefix}_value"]]
    if len(free):
        alpha, beta = data[f"{prefix}_alpha"], data[f"{prefix}_beta"]
        parts.append(pm.Beta(name, alpha=alpha, beta=beta, dims=dims))
    return _gather(parts, [fixed, free], size)


def _gather(parts, positions, size):
    """Concatenate ``parts`` and order the result so that part i lands at ``positions[i]``."""
    order = np.concatenate([np.asarray(p, dtype=int) for p in positions])
    inverse = np.empty(size, dtype=int)
    inverse[order] = np.arange(size)
    return pt.concatenate([pt.as_tensor(p, dtype="float64") for p in parts])[inverse]


_DATA_DIMS = {
    "hypothesis_log_prior": "hypothesis",
    "reliability_alpha": "parameter",
    "reliability_beta": "parameter",
    "fixed_value": "fixed_parameter",
    "copy_alpha": "copied",
    "copy_beta": "copied",
    "copy_value": "fixed_copied",
    "group_copy_alpha": "group",
    "group_copy_beta": "group",
    "group_copy_value": "fixed_group",
    "report_rises": ("report", "hypothesis"),
    "report_match": "report",
    "direct_log_likelihood": ("direct", "hypothesis"),
    "fixed_log_likelihood": "hypothesis",
    "ratio_mu": "uncertain_ratio",
    "ratio_sigma": "uncertain_ratio",
}
