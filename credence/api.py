"""``assess``: from a case (file, mapping or object) to an :class:`Assessment`."""

from __future__ import annotations

import os
from functools import partial
from typing import Any, Literal

import numpy as np

from credence.assessment import Assessment
from credence.case import Case
from credence.compile import CompiledCase, compile_case
from credence.io import case_from_dict, load_case

__all__ = ["assess", "as_case"]

DEFAULT_DRAWS = 4000


def as_case(case: Case | dict[str, Any] | str | os.PathLike[str]) -> Case:
    """Accept a :class:`Case`, plain data as read from a file, or a path to a case file."""
    if isinstance(case, Case):
        return case
    if isinstance(case, dict):
        return case_from_dict(case)
    return load_case(case)


def assess(
    case: Case | dict[str, Any] | str | os.PathLike[str],
    *,
    engine: Literal["exact", "mcmc"] = "exact",
    seed: int | None = None,
    draws: int | None = None,
    level: float = 0.9,
    **mcmc_options: Any,
) -> Assessment:
    """Assess a case: the posterior of each hypothesis, its robustness and its ledger.

    Parameters
    ----------
    case : Case, dict, str or path
        The case, as objects, as plain data, or as a YAML/JSON file.
    engine : {"exact", "mcmc"}
        ``"exact"`` integrates every uncertain parameter in closed form (no
        sampling error in the posterior or the ledger); ``"mcmc"`` builds the
        same model in PyMC and samples it with NUTS (needed for pooling and
        uncertain likelihood ratios).
    seed : int, optional
        Seed of the robustness draws (and of the sampler); fixes the output.
    draws : int, optional
        Robustness draws of the exact engine (default 4000), or posterior
        draws per chain of the PyMC engine (its default).
    level : float, default 0.9
        Mass of the robustness interval.
    **mcmc_options
        Passed to the PyMC engine (``chains``, ``tune``, ``draws``...).

    Returns
    -------
    Assessment

    Raises
    ------
    CaseError
        The case is invalid, impossible, or needs the other engine.

    Examples
    --------
    >>> from credence import Case, Claim, Source, Evidence, assess
    >>> case = Case(
    ...     claim=Claim(statement="The bridge was destroyed", prior=0.5),
    ...     sources=[Source(id="wire", reliability=0.9)],
    ...     evidence=[Evidence(id="w1", source="wire", stance="supports")],
    ... )
    >>> round(assess(case, seed=1).probability, 6)
    0.9
    """
    case = as_case(case)
    compiled = compile_case(case)
    if engine == "exact":
        return _assess_exact(compiled, seed, draws or DEFAULT_DRAWS, level)
    if engine == "mcmc":
        from credence.mcmc import assess_mcmc

        if draws is not None:
            mcmc_options["draws"] = draws
        return assess_mcmc(compiled, seed=seed, level=level, **mcmc_options)
    raise ValueError(f"unknown engine {engine!r}; use 'exact' or 'mcmc'")


def _assess_exact(
    compiled: CompiledCase, seed: int | None, n_draws: int, level: float
) -> Assessment:
    from credence.exact import exact_assess, robustness_draws

    result = exact_assess(compiled)
    order = compiled.order
    return Assessment(
        case=compiled.case,
        engine="exact",
        hypotheses=compiled.hypotheses,
        posterior_array=result.posterior,
        sampler=partial(
            robustness_draws, compiled, result.posterior, n_draws, np.random.default_rng(seed)
        ),
        evidence_ids=tuple(compiled.evidence_ids[i] for i in order),
        in_order=result.in_order[order],
        leave_one_out=result.leave_one_out[order],
        path=result.path,
        level=level,
    )
