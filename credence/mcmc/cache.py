"""Built and compiled models, kept per structure for the life of the process.

A second assessment of a case with the same structure (see
:mod:`credence.mcmc.layout`) reuses the built ``pm.Model``, its nutpie
compilation or PyMC NUTS step, and the compiled per-draw function, and only
swaps the data (shared variables, which compiled functions read at call time).
Across processes, PyTensor's on-disk cache (see :mod:`credence.mcmc.sample`)
keeps the compiled code of PyMC's NUTS step.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pytensor.graph.replace import vectorize_graph

from credence.compile import CompiledCase
from credence.mcmc.layout import layout, model_data
from credence.mcmc.model import ModelParts, build_parts

__all__ = [
    "CacheInfo",
    "CachedModel",
    "ModelCache",
    "batched_function",
    "cache_info",
    "clear_cache",
    "get_model",
]

#: How many structures the process-wide cache keeps (least recently used go first).
MAX_ENTRIES = 16


@dataclass
class CachedModel:
    """One model structure: the built model and what has been compiled for it.

    Attributes
    ----------
    parts : ModelParts
    nutpie_model : object or None
        ``nutpie.compile_pymc_model(parts.model)``, once compiled.
    pymc_steps : dict
        PyMC's NUTS steps for the model, by their options, once compiled.
    logp_dlogp : pymc.model.core.ValueGradFunction or None
        The compiled log density and gradient the NUTS steps share.
    pointwise : callable or None
        Maps batched draws of the free variables to per-draw terms (see
        :meth:`pointwise_terms`), once compiled.
    lock : threading.Lock
        Held by an assessment from filling the data containers until it has
        read its per-draw terms.
    """

    parts: ModelParts
    nutpie_model: Any = None
    pymc_steps: dict = field(default_factory=dict, repr=False)
    logp_dlogp: Any = None
    pointwise: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def model(self) -> pm.Model:
        """The built ``pm.Model``."""
        return self.parts.model

    def set_data(self, values: dict[str, np.ndarray]) -> None:
        """Fill the model's data containers with a case's values."""
        for name, value in values.items():
            self.model[name].set_value(np.asarray(value, dtype=self.model[name].dtype))

    def nutpie(self):
        """The nutpie compilation of the model (compiled on first use)."""
        if self.nutpie_model is None:
            import nutpie

            self.nutpie_model = nutpie.compile_pymc_model(self.model)
        return self.nutpie_model

    def pymc_step(self, **options: Any):
        """PyMC's NUTS step for the model with these options (compiled on first use).

        Parameters
        ----------
        **options
            Options of ``pymc.NUTS``, e.g. ``target_accept``.
        """
        key = tuple(sorted(options.items()))
        step = self.pymc_steps.get(key)
        if step is None:
            if self.logp_dlogp is None:
                # As PyMC's gradient-based steps compile it; the steps share it.
                self.logp_dlogp = self.model.logp_dlogp_function(
                    self.model.continuous_value_vars, ravel_inputs=True
                )
                self.logp_dlogp.trust_input = True
            step = pm.NUTS(model=self.model, logp_dlogp_func=self.logp_dlogp, **options)
            self.pymc_steps[key] = step
        return step

    def pointwise_terms(self, draws: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
        """Per-draw terms at the current data.

        Parameters
        ----------
        draws : dict of str to ndarray
            Draws (S, ...) of every free variable, by name.

        Returns
        -------
        item_log_likelihood : ndarray (S, n_evidence, K)
            log P(item | H, phi).
        hypothesis_log_prior : ndarray (S, K)
            log P(H | phi).
        log_prior : ndarray (S,)
            log p(phi), the prior density of the free variables.
        """
        if self.pointwise is None:
            self.pointwise = _compile_pointwise(self.parts)
        names = [rv.name for rv in self.model.free_RVs]
        S = next(iter(draws.values())).shape[0] if draws else 1
        items, log_prior_h, log_prior = self.pointwise(*(draws[name] for name in names))
        K = items.shape[-1]
        items = np.broadcast_to(items, (S, *items.shape[-2:]))
        log_prior_h = np.broadcast_to(log_prior_h, (S, K))
        log_prior = np.broadcast_to(log_prior, (S,))
        return items, log_prior_h, log_prior


def _compile_pointwise(parts: ModelParts):
    """Compile (free-variable draws) -> (item log-likelihoods, log P(H | phi), log p(phi))."""
    return batched_function(parts, [parts.item_log_likelihood, parts.hypothesis_log_prior])


def batched_function(parts: ModelParts, outputs: list) -> Any:
    """Compile graphs of the model's free variables into a function of batched draws.

    Parameters
    ----------
    parts : ModelParts
    outputs : list of TensorVariable
        Graphs of the free variables (and the model's data).

    Returns
    -------
    callable
        Takes draws (S, ...) of each free variable, in ``model.free_RVs`` order,
        and returns each output per draw, followed by log p(phi), the prior
        density of the free variables.
    """
    model = parts.model
    rvs = list(model.free_RVs)
    values = {rv: rv.type(name=f"{rv.name}_value") for rv in rvs}
    terms = [pm.logp(rv, values[rv]).sum() for rv in rvs]
    log_prior = pt.add(*terms) if terms else pt.constant(0.0, dtype="float64")
    outputs = pytensor.graph.clone_replace([*outputs, log_prior], replace=values)
    batched = {
        v: pt.tensor(name=f"{v.name}_draws", dtype=v.dtype, shape=(None, *v.type.shape))
        for v in values.values()
    }
    outputs = vectorize_graph(outputs, replace=batched)
    # Run once per assessment on whole arrays of draws: the Python linker's
    # NumPy calls are as fast here as compiled C, and compile in a fraction of the time.
    return pytensor.function(
        list(batched.values()), outputs, on_unused_input="ignore", mode="FAST_COMPILE"
    )


@dataclass(frozen=True)
class CacheInfo:
    """Counts of a model cache, like :func:`functools.lru_cache`'s ``cache_info``."""

    hits: int
    misses: int
    size: int


class ModelCache:
    """Models keyed by structure, least recently used dropped beyond ``max_entries``.

    Parameters
    ----------
    max_entries : int
    """

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._entries: OrderedDict[str, CachedModel] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, compiled: CompiledCase) -> tuple[CachedModel, dict[str, np.ndarray]]:
        """The cached model of this case's structure, and this case's data values.

        The model's data containers are not changed; call
        :meth:`CachedModel.set_data` with the returned values before use.
        """
        shape = layout(compiled)
        with self._lock:
            entry = self._entries.get(shape.key)
            if entry is not None:
                self.hits += 1
                self._entries.move_to_end(shape.key)
            else:
                self.misses += 1
                entry = CachedModel(build_parts(compiled, shape))
                self._entries[shape.key] = entry
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return entry, model_data(compiled, shape)

    def info(self) -> CacheInfo:
        """Hits, misses and current size."""
        return CacheInfo(self.hits, self.misses, len(self._entries))

    def clear(self) -> None:
        """Drop every entry and reset the counts."""
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0


_CACHE = ModelCache()


def get_model(compiled: CompiledCase) -> tuple[CachedModel, dict[str, np.ndarray]]:
    """The process-wide cached model of a case's structure, and the case's data."""
    return _CACHE.get(compiled)


def cache_info() -> CacheInfo:
    """Hits, misses and size of the process-wide model cache."""
    return _CACHE.info()


def clear_cache() -> None:
    """Empty the process-wide model cache."""
    _CACHE.clear()
