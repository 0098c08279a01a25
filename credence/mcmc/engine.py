"""``assess_mcmc``: sample a compiled case's PyMC model and summarise it as an Assessment."""

from __future__ import annotations

from functools import partial
from types import MappingProxyType
from typing import Any

import numpy as np
import xarray as xr
from scipy.special import softmax

from credence.assessment import Assessment
from credence.compile import CLAIM_PRIOR_NAME, CompiledCase
from credence.errors import CaseError
from credence.likelihood import group_log_likelihood
from credence.mcmc.cache import CachedModel, get_model
from credence.mcmc.sample import (
    Sampler,
    compile_sampler,
    resolve_sampler,
    run_sampler,
    show_progress,
)
from credence.mcmc.summaries import check_convergence, convergence, ledger, power_scaling

__all__ = ["DEFAULT_CHAINS", "DEFAULT_DRAWS", "DEFAULT_TUNE", "assess_mcmc"]

DEFAULT_DRAWS = 1000
DEFAULT_TUNE = 1000
DEFAULT_CHAINS = 2
#: NUTS's acceptance target for a model with pooling, unless one is given.
POOLED_TARGET_ACCEPT = 0.9
#: Power-scaling exponents (arviz-stats' default).
ALPHAS = (0.99, 1.01)


def assess_mcmc(
    compiled: CompiledCase,
    *,
    seed: int | None = None,
    level: float = 0.9,
    draws: int = DEFAULT_DRAWS,
    tune: int = DEFAULT_TUNE,
    chains: int = DEFAULT_CHAINS,
    cores: int | None = None,
    sampler: Sampler = "auto",
    **sampler_options: Any,
) -> Assessment:
    """Assess a compiled case by sampling its PyMC model with NUTS.

    Parameters
    ----------
    compiled : CompiledCase
    seed : int, optional
        Seeds the sampler and the hypothesis draws of the sensitivity; a fixed
        seed gives identical numbers.
    level : float, default 0.9
        Mass of the robustness interval.
    draws, tune, chains : int
        Kept draws and tuning steps per chain; number of chains.
    cores : int, optional
        Chains run in parallel (see :func:`credence.mcmc.sample.run_sampler`).
    sampler : {"auto", "nutpie", "pymc"}
        ``"auto"`` is ``"pymc"``, PyMC's NUTS, whose compiled model PyTensor
        keeps on disk for later processes; ``"nutpie"`` samples faster once
        compiled but compiles in every process (see :mod:`credence.mcmc.sample`).
    **sampler_options
        Passed to the sampler, e.g. ``target_accept=0.95`` (a model with
        pooling defaults to ``POOLED_TARGET_ACCEPT``).

    Returns
    -------
    Assessment
        ``engine="mcmc"``; ``posterior_array`` is the mean of the draws of
        ``hypothesis_posterior``, ``draws`` those draws (chains stacked) and
        ``parameter_draws`` the free variables' draws, named as the exact
        engine names them;
        ``datatree`` the ArviZ DataTree with ``posterior``, ``sample_stats``,
        ``log_likelihood`` (per evidence item) and ``log_prior`` groups;
        ``diagnostics`` and ``sensitivity`` plain JSON-ready dicts; the ledger
        estimated by importance sampling (see :func:`credence.mcmc.summaries.ledger`).

    Warns
    -----
    ConvergenceWarning
        R-hat, ESS, divergences or the ledger's Pareto k fail their thresholds.

    Raises
    ------
    CaseError
        The case has no uncertain parameter: there is nothing to sample.
    """
    name = resolve_sampler(sampler)
    entry, values = get_model(compiled)
    if not entry.parts.layout.has_free:
        raise CaseError(
            "every parameter of this case is fixed, so there is nothing to sample; "
            "use the exact engine (--engine exact)"
        )
    if entry.parts.layout.pooled.size:
        # Pooled accuracies near a kind's edge need smaller steps than the
        # default 0.8 acceptance target gives.
        sampler_options.setdefault("target_accept", POOLED_TARGET_ACCEPT)
    # Feedback only on a terminal: compiling (seconds on a first run) and sampling.
    progress = show_progress()
    # The cached model's data containers hold this case's values from sampling
    # until its per-draw terms are read; no other assessment may swap them meanwhile.
    with entry.lock:
        compile_sampler(entry, name, progress=progress, **sampler_options)
        tree = run_sampler(
            entry,
            values,
            sampler=name,
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores,
            seed=seed,
            progress=progress,
            **sampler_options,
        )
        posterior = tree["posterior"].to_dataset()
        free = [rv.name for rv in entry.model.free_RVs]
        n_chains, n_draws = posterior.sizes["chain"], posterior.sizes["draw"]
        S = n_chains * n_draws

        def flat(var: str) -> np.ndarray:
            a = posterior[var].values
            return a.reshape(S, *a.shape[2:])

        items, log_prior_h, log_prior_phi = entry.pointwise_terms({v: flat(v) for v in free})
    if "hypothesis_posterior" not in posterior:
        # The model's deterministic, P(H | evidence, phi) = softmax over H of
        # log P(H | phi) + sum_i log P(item_i | H, phi), on all the draws at once.
        hyp = softmax(log_prior_h + items.sum(axis=1), axis=1)
        posterior["hypothesis_posterior"] = xr.DataArray(
            hyp.reshape(n_chains, n_draws, -1),
            dims=("chain", "draw", "hypothesis"),
            coords={"hypothesis": list(compiled.hypotheses)},
        )
        tree = tree.copy()
        tree["posterior"] = xr.DataTree(posterior)
    hyp_draws = flat("hypothesis_posterior")

    diagnostics = convergence(
        [posterior[v].values for v in [*free, "hypothesis_posterior"]],
        tree["sample_stats"]["diverging"].values,
    )
    in_order, leave_one_out, path, pareto_k = ledger(
        items,
        log_prior_h,
        compiled.order,
        compiled.prior,
        _group_corrections(entry, compiled, flat, items),
    )
    diagnostics["ledger_pareto_k_max"] = None if not np.isfinite(pareto_k) else float(pareto_k)
    diagnostics["sampler"] = name
    check_convergence(diagnostics, n_chains, n_draws)

    rng = np.random.default_rng(seed)
    pointwise, log_prior = _at_drawn_hypothesis(items, log_prior_h, log_prior_phi, hyp_draws, rng)
    shape = (n_chains, n_draws)
    pointwise = pointwise.reshape(*shape, -1)
    log_prior = log_prior.reshape(shape)
    sensitivity = _sensitivity(compiled, posterior, pointwise, log_prior)
    datatree = _datatree(tree, compiled, pointwise, log_prior)

    parameters = _parameter_draws(entry, compiled, flat)
    order = compiled.order
    return Assessment(
        case=compiled.case,
        engine="mcmc",
        hypotheses=compiled.hypotheses,
        posterior_array=hyp_draws.mean(axis=0),
        sampler=partial(_stored_draws, hyp_draws, parameters),
        evidence_ids=tuple(compiled.evidence_ids[i] for i in order),
        in_order=in_order,
        leave_one_out=leave_one_out,
        path=path,
        level=level,
        diagnostics=MappingProxyType(diagnostics),
        datatree=datatree,
        sensitivity=MappingProxyType(sensitivity),
    )


def _stored_draws(
    draws: np.ndarray, parameters: dict[str, np.ndarray]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The draws an MCMC run kept (the ``sampler`` of its Assessment)."""
    return draws, parameters


def _at_drawn_hypothesis(items, log_prior_h, log_prior_phi, hyp_draws, rng):
    """Per-item log-likelihood and log prior at H drawn from P(H | evidence, phi) per draw.

    (phi, H) is then a draw of the joint posterior, whose prior is p(phi) P(H | phi)
    and whose likelihood factorises over the evidence items: the terms that
    power-scaling sensitivity scales.
    """
    S, N, K = items.shape
    cumulative = np.cumsum(hyp_draws, axis=1)
    h = np.minimum((rng.random(S)[:, None] > cumulative).sum(axis=1), K - 1)
    pointwise = items[np.arange(S), :, h]
    log_prior = log_prior_phi + log_prior_h[np.arange(S), h]
    return pointwise, log_prior


def _per_hypothesis(compiled: CompiledCase, values: np.ndarray) -> Any:
    """A binary case's value for ``true``; one value per hypothesis otherwise."""
    if compiled.case.is_binary:
        return float(values[0])
    return {h: float(v) for h, v in zip(compiled.hypotheses, values, strict=True)}


def _sensitivity(compiled, posterior, pointwise, log_prior) -> dict[str, Any]:
    quantity = np.moveaxis(posterior["hypothesis_posterior"].values, -1, 0)  # (K, chain, draw)
    order = compiled.order
    components = np.concatenate(
        [
            log_prior[None],
            pointwise.sum(axis=-1)[None],
            np.moveaxis(pointwise[..., order], -1, 0),
        ]
    )
    sense = power_scaling(quantity, components, ALPHAS)  # (2 + n_evidence, K)
    return {
        "method": "power-scaling (Kallioinen et al. 2024), as arviz_stats.psense",
        "of": "hypothesis_posterior",
        "threshold": 0.05,
        "prior": _per_hypothesis(compiled, sense[0]),
        "likelihood": _per_hypothesis(compiled, sense[1]),
        "evidence": {
            compiled.evidence_ids[i]: _per_hypothesis(compiled, row)
            for i, row in zip(order, sense[2:], strict=True)
        },
    }


def _datatree(tree, compiled: CompiledCase, pointwise, log_prior):
    """The sampler's DataTree with ``log_likelihood`` and ``log_prior`` groups added."""
    chain, draw = tree["posterior"]["chain"].values, tree["posterior"]["draw"].values
    coords = {"chain": chain, "draw": draw}
    log_lik = xr.Dataset(
        {"item": (("chain", "draw", "evidence"), pointwise)},
        coords={**coords, "evidence": list(compiled.evidence_ids)},
    )
    prior = xr.Dataset({"prior": (("chain", "draw"), log_prior)}, coords=coords)
    out = tree.copy()
    out["log_likelihood"] = xr.DataTree(log_lik)
    out["log_prior"] = xr.DataTree(prior)
    return out


def _group_corrections(entry: CachedModel, compiled: CompiledCase, flat, items):
    """The ledger's corrections for groups (see :func:`credence.mcmc.summaries.ledger`).

    Leaving a member out takes it out of its group: the members after it have
    their match fractions without it (and the second is first if the first
    goes). A prefix in ledger order holds the members that have appeared, as a
    group of those alone. Both from the draws, by
    :func:`credence.likelihood.group_log_likelihood`; None without groups.
    """
    if not compiled.group_ids:
        return None
    shape = entry.parts.layout
    S, N, K = items.shape
    theta = np.tile(compiled.param_value, (S, 1))
    if shape.free.size:
        theta[:, shape.free] = flat("reliability")
    if shape.pooled.size:
        theta[:, shape.pooled] = flat("pooled_accuracy")
    copy = np.tile(compiled.group_copy_value, (S, 1))
    if shape.group_free.size:
        copy[:, shape.group_free] = flat("group_copy_probability").reshape(S, -1)
    place = np.empty(N, dtype=int)
    place[compiled.order] = np.arange(N)
    prefix = np.zeros((N, S, K))
    without = np.zeros((N, S, K))
    for g, members in enumerate(compiled.group_members):
        item = compiled.report_evidence[members]
        terms = items[:, item]  # (S, n_g, K), each member as in the whole group
        total = terms.sum(axis=1)
        for i in range(len(members)):
            rest = np.delete(members, i)
            as_group = group_log_likelihood(theta, copy[:, g], compiled, rest)
            without[place[item[i]]] += as_group - (total - terms[:, i])
        arrival = np.argsort(place[item], kind="stable")
        for t in range(len(members)):
            arrived = np.sort(arrival[: t + 1])
            as_group = group_log_likelihood(theta, copy[:, g], compiled, members[arrived])
            start = place[item[arrival[t]]]
            end = place[item[arrival[t + 1]]] if t + 1 < len(members) else N
            prefix[start:end] += as_group - terms[:, arrived].sum(axis=1)
    return prefix, without


def _parameter_draws(entry: CachedModel, compiled: CompiledCase, flat) -> dict[str, np.ndarray]:
    """Draws of every uncertain parameter, named by the compiled case as the exact engine does.

    Kind-level pooling and log-normal ratios, which only this engine has, are
    named by their kind and their item.
    """
    shape = entry.parts.layout
    names = {
        "reliability": [compiled.param_names[p] for p in shape.free],
        "pooled_accuracy": [compiled.param_names[p] for p in shape.pooled],
        "copy_probability": [compiled.copy_name(r) for r in shape.copy_free],
        "group_copy_probability": [compiled.group_copy_names[g] for g in shape.group_free],
        "log_likelihood_ratio": [
            f"{compiled.evidence_ids[e]}.log_likelihood_ratio" for e in shape.lognormal
        ],
        "kind_mean": [f"{k}.kind_mean" for k in shape.coords["kind"]],
        "kind_concentration": [f"{k}.kind_concentration" for k in shape.coords["kind"]],
        "claim_prior": [CLAIM_PRIOR_NAME],
    }
    out: dict[str, np.ndarray] = {}
    for rv in entry.model.free_RVs:
        draws = flat(rv.name).reshape(len(flat(rv.name)), -1)
        for j, name in enumerate(names[rv.name]):
            out[name] = draws[:, j]
    return out
