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
from credence.options import MAX_DRAWS, MAX_SEED, unknown_options, whole_number

__all__ = ["assess", "as_case"]

DEFAULT_DRAWS = 4000
#: Options of the PyMC engine (``credence.mcmc.assess_mcmc``) besides seed, draws, level.
MCMC_OPTIONS = ("tune", "chains", "cores", "sampler", "target_accept")
_SAMPLERS = ("auto", "nutpie", "pymc")


def as_case(case: Case | dict[str, Any] | str | os.PathLike[str]) -> Case:
    """Accept a :class:`Case`, plain data as read from a file, or a path to a case file.

    Raises
    ------
    TypeError
        ``case`` is none of these.
    CaseError
        The case is invalid.
    """
    if isinstance(case, Case):
        return case
    if isinstance(case, dict):
        return case_from_dict(case)
    if isinstance(case, str | os.PathLike):
        return load_case(case)
    raise TypeError(
        "assess() takes a Case, a dict as read from a case file, or the path of a case "
        f"file, not {type(case).__name__}"
    )


def check_options(
    engine: str, seed: Any, draws: Any, level: Any, mcmc_options: dict[str, Any]
) -> None:
    """Refuse unknown, misspelt or out-of-range options of :func:`assess`."""
    if engine not in ("exact", "mcmc"):
        raise ValueError(f"unknown engine {engine!r}; use 'exact' or 'mcmc'")
    if seed is not None:
        whole_number("seed", seed, 0, MAX_SEED)
    if draws is not None:
        whole_number("draws", draws, 1, MAX_DRAWS)
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise ValueError(f"level must be a number strictly between 0 and 1, got {level!r}")
    error = unknown_options(
        "assess()", mcmc_options, ("engine", "seed", "draws", "level", *MCMC_OPTIONS)
    )
    if error is not None:
        raise error
    if engine == "exact" and mcmc_options:
        raise TypeError(
            f"{', '.join(sorted(mcmc_options))} "
            f"{'is an option' if len(mcmc_options) == 1 else 'are options'} "
            "of engine='mcmc'; the exact engine takes seed, draws and level"
        )
    for name in ("tune", "chains"):
        if name in mcmc_options:
            whole_number(name, mcmc_options[name], 1 if name == "chains" else 0, MAX_DRAWS)
    if mcmc_options.get("sampler", "auto") not in _SAMPLERS:
        raise ValueError(
            f"unknown sampler {mcmc_options['sampler']!r}; use one of {', '.join(_SAMPLERS)}"
        )


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
        Options of the PyMC engine: ``tune``, ``chains``, ``cores``, ``sampler``
        (``"auto"``, ``"nutpie"`` or ``"pymc"``) and ``target_accept`` (see
        :func:`credence.mcmc.assess_mcmc`).

    Returns
    -------
    Assessment

    Raises
    ------
    CaseError
        The case is invalid, impossible, or needs the other engine.
    TypeError
        An unknown or misspelt option, or an option of the other engine.
    ValueError
        An option out of range: ``draws`` from 1 to 1,000,000, ``seed`` from 0,
        ``level`` strictly between 0 and 1.

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
    check_options(engine, seed, draws, level, mcmc_options)
    compiled = compile_case(as_case(case))
    if engine == "exact":
        return _assess_exact(compiled, seed, draws or DEFAULT_DRAWS, level)
    from credence.mcmc import assess_mcmc

    if draws is not None:
        mcmc_options["draws"] = draws
    return assess_mcmc(compiled, seed=seed, level=level, **mcmc_options)


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
