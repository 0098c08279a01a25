"""Run NUTS on a cached model: PyMC's own sampler by default, nutpie on request.

PyMC's NUTS evaluates the model's log density and gradient with a function
PyTensor compiles through Numba and keeps in its on-disk cache
(``~/.pytensor``, PyTensor's ``base_compiledir``), so only the first process
on a machine pays for compiling a model structure; later processes load it.
nutpie samples faster once compiled, but compiles its Numba entry points again
in every process (they cannot be cached), which for a small case costs more
than the whole of PyMC's run: ``sampler="nutpie"`` suits one long-running
session that samples many cases, ``"pymc"`` a command run again and again.
``benchmarks/bench_mcmc.py`` measures both.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import sys
from typing import Any, Literal

import numpy as np
import pymc as pm

from credence.mcmc.cache import CachedModel

__all__ = [
    "NUTS_OPTIONS",
    "compile_sampler",
    "resolve_sampler",
    "run_sampler",
    "show_progress",
    "status",
]

Sampler = Literal["auto", "nutpie", "pymc"]

#: Options of PyMC's NUTS step (the rest of the options go to ``pymc.sample``).
NUTS_OPTIONS = frozenset(
    {
        "target_accept",
        "max_treedepth",
        "early_max_treedepth",
        "step_scale",
        "adapt_step_size",
        "Emax",
        "gamma",
        "k",
        "t0",
    }
)


def resolve_sampler(sampler: Sampler) -> str:
    """``"nutpie"`` or ``"pymc"``; ``"auto"`` is PyMC's NUTS.

    Raises
    ------
    ImportError
        ``sampler="nutpie"`` without nutpie installed.
    ValueError
        An unknown sampler name.
    """
    if sampler not in ("auto", "nutpie", "pymc"):
        raise ValueError(f"unknown sampler {sampler!r}; use 'auto', 'nutpie' or 'pymc'")
    if sampler == "nutpie" and importlib.util.find_spec("nutpie") is None:
        raise ImportError(
            "sampler='nutpie' needs nutpie: pip install nutpie (or the 'bench' extra), "
            "or use sampler='pymc'"
        )
    return "nutpie" if sampler == "nutpie" else "pymc"


def compile_sampler(
    entry: CachedModel, sampler: str, *, progress: bool = False, **options: Any
) -> bool:
    """Compile what ``run_sampler`` needs for ``entry``, unless it is already compiled.

    Parameters
    ----------
    entry : CachedModel
    sampler : {"nutpie", "pymc"}
    progress : bool, default False
        Show a spinner on standard error while compiling.
    **options
        As for :func:`run_sampler`.

    Returns
    -------
    bool
        Whether anything was compiled.
    """
    if sampler == "nutpie":
        if entry.nutpie_model is not None:
            return False
        with status("Compiling the model for nutpie", progress):
            entry.nutpie()
        return True
    nuts = {k: v for k, v in options.items() if k in NUTS_OPTIONS}
    if tuple(sorted(nuts.items())) in entry.pymc_steps:
        return False
    with status("Compiling the model (PyTensor caches it on disk for later runs)", progress):
        entry.pymc_step(**nuts)
    return True


def show_progress() -> bool:
    """Whether to draw progress bars: only when standard error is a terminal."""
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


@contextlib.contextmanager
def status(message: str, show: bool):
    """A spinner with ``message`` on standard error while the block runs, if ``show``."""
    if not show:
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(message):
        yield


@contextlib.contextmanager
def _draw_counter(total: int, show: bool):
    """A progress bar on standard error over ``total`` NUTS iterations, and its callback.

    Yields a ``callback`` for ``pymc.sample`` (None when not ``show``). The bar is
    transient: it is gone once sampling ends, leaving the output as it was.
    """
    if not show:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("Sampling (NUTS)", total=total)
        yield lambda trace, draw: bar.advance(task)


@contextlib.contextmanager
def _quiet_pymc():
    """Hold PyMC's INFO messages ("Sequential sampling ...") back; warnings still show."""
    logger = logging.getLogger("pymc")
    level = logger.level
    if logger.getEffectiveLevel() < logging.WARNING:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


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
    progress: bool = False,
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
    progress : bool, default False
        Draw a progress bar (on standard error; with PyMC's sampler and chains
        in parallel processes, PyMC's own bar).
    **options
        Passed to ``nutpie.sample``; with PyMC, those in :data:`NUTS_OPTIONS`
        (e.g. ``target_accept``) configure the NUTS step and the rest go to
        ``pymc.sample``.

    Returns
    -------
    xarray.DataTree
        With ``posterior`` and ``sample_stats`` groups; with PyMC's NUTS the
        posterior holds the free variables only (unless ``var_names`` is given).
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
            progress_bar=progress,
            save_warmup=False,
            **options,
        )
    nuts = {k: options.pop(k) for k in list(options) if k in NUTS_OPTIONS}
    # The free variables only: the engine evaluates ``hypothesis_posterior`` on all
    # the draws at once afterwards, which spares compiling and calling a per-draw
    # function for it.
    options.setdefault("var_names", [rv.name for rv in entry.model.free_RVs])
    if "step" not in options:
        # One compiled step per option set; PyMC resets its tuning at the start of
        # each chain, so a reused step starts every run afresh.
        options["step"] = entry.pymc_step(**nuts)
    parallel = (cores or 1) > 1 and chains > 1
    # With chains in parallel processes PyMC draws its own bar (it gets no callback).
    with _quiet_pymc(), _draw_counter(chains * (tune + draws), progress and not parallel) as bar:
        return pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores or 1,
            random_seed=seed,
            progressbar=progress and parallel,
            compute_convergence_checks=False,
            model=entry.model,
            callback=bar,
            **options,
        )
