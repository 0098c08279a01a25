"""Run NUTS on a cached model: nutpie when installed, PyMC's sampler otherwise."""

from __future__ import annotations

import importlib.util
from typing import Any, Literal

import numpy as np
import pymc as pm

from credence.mcmc.cache import CachedModel

__all__ = ["resolve_sampler", "run_sampler"]

Sampler = Literal["auto", "nutpie", "pymc"]


def resolve_sampler(sampler: Sampler) -> str:
    """``"nutpie"`` or ``"pymc"``; ``"auto"`` picks nutpie when it is installed.

    Raises
    ------
    ImportError
        ``sampler="nutpie"`` without nutpie installed.
    ValueError
        An unknown sampler name.
    """
    if sampler not in ("auto", "nutpie", "pymc"):
        raise ValueError(f"unknown sampler {sampler!r}; use 'auto', 'nutpie' or 'pymc'")
    available = importlib.util.find_spec("nutpie") is not None
    if sampler == "nutpie" and not available:
        raise ImportError(
            "sampler='nutpie' needs nutpie: pip install nutpie (or the 'bench' extra), "
            "or use sampler='pymc'"
        )
    if sampler == "auto":
        return "nutpie" if available else "pymc"
    return sampler


def run_sampler(
    entry: CachedModel,
    values: dict[str, np.ndarray],
    *,
    sampler: str,
    draws: int,
    tune: int,
    chains: int,
    cores: int | None,
    seed: int | None,
    **options: Any,
):
    """Sample the model of ``entry`` filled with ``values``.

    Parameters
    ----------
    entry : CachedModel
    values : dict
        The case's data values (see :func:`credence.mcmc.layout.model_data`).
    sampler : {"nutpie", "pymc"}
    draws, tune, chains : int
    cores : int, optional
        Chains run in parallel: nutpie's threads (default ``chains``), PyMC's
        processes (default 1: for cases this small, starting processes costs
        more than it saves).
    seed : int, optional
    **options
        Passed to ``nutpie.sample`` or ``pymc.sample``.

    Returns
    -------
    xarray.DataTree
        With ``posterior`` and ``sample_stats`` groups.
    """
    entry.set_data(values)
    if sampler == "nutpie":
        import nutpie

        compiled = entry.nutpie()
        # Containers the logp does not read (e.g. the fixed prior when the claim's
        # prior is a Beta) are not part of nutpie's compiled model.
        used = {var.name for var in compiled.shared_var_keys}
        compiled = compiled.with_data(**{k: v for k, v in values.items() if k in used})
        return nutpie.sample(
            compiled,
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores or chains,
            seed=seed,
            progress_bar=False,
            save_warmup=False,
            **options,
        )
    if "step" not in options and "target_accept" not in options:
        # PyMC resets the step's tuning at the start of each chain.
        options["step"] = entry.pymc_step()
    else:
        options.setdefault("nuts_sampler", "pymc")
    return pm.sample(
        draws=draws,
        tune=tune,
        chains=chains,
        cores=cores or 1,
        random_seed=seed,
        progressbar=False,
        compute_convergence_checks=False,
        model=entry.model,
        **options,
    )
