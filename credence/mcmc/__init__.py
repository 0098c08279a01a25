"""The PyMC engine: a case as a PyMC model, sampled with NUTS.

Importing this package imports PyMC, PyTensor and ArviZ; ``import credence``
does not. The model is built from the compiled case and the shared likelihood
(:mod:`credence.likelihood`) the exact engine reads; it also computes the
extensions only sampling can: reliabilities pooled by source kind and
uncertain (log-normal) likelihood ratios.
"""

from credence.mcmc.cache import CacheInfo, cache_info, clear_cache
from credence.mcmc.engine import assess_mcmc
from credence.mcmc.model import build_model
from credence.mcmc.summaries import ConvergenceWarning

__all__ = [
    # assessing
    "assess_mcmc",
    "ConvergenceWarning",
    # the model
    "build_model",
    # the model cache
    "CacheInfo",
    "cache_info",
    "clear_cache",
]
