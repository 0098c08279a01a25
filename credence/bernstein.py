"""Polynomials in a probability, in the unscaled Bernstein basis, under Beta expectations.

A product of factors linear in t, ``u (1 - t) + v t``, is
``sum_k w_k t^k (1 - t)^(M - k)``: its weights are non-negative, two such
polynomials multiply by convolving their weights, and the expectation under
Beta(a, b) is ``sum_k w_k B(a + k, b + M - k) / B(a, b)``, a sum of positive
terms. Everything here is in log space, without cancellation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from credence.special import log_beta_ratio, logsumexp

__all__ = [
    "Mixture",
    "log_binomial",
    "log_convolve",
    "log_convolve_nd",
    "log_expectation",
    "mixtures_of",
]


def log_convolve(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Log weights of the product of two polynomials given by log weights."""
    if len(y) > len(x):
        x, y = y, x
    out = np.full(len(x) + len(y) - 1, -np.inf)
    for i, yi in enumerate(y):
        out[i : i + len(x)] = np.logaddexp(out[i : i + len(x)], x + yi)
    return out


def log_convolve_nd(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Log weights of the product of two polynomials in several variables (same number of axes)."""
    if y.size > x.size:
        x, y = y, x
    out = np.full(tuple(i + j - 1 for i, j in zip(x.shape, y.shape, strict=True)), -np.inf)
    for index in np.ndindex(y.shape):
        if y[index] > -np.inf:
            part = tuple(slice(i, i + n) for i, n in zip(index, x.shape, strict=True))
            out[part] = np.logaddexp(out[part], x + y[index])
    return out


def log_binomial(n: int, log_rho: float) -> np.ndarray:
    """Log weights of ``((1 - t) + rho t)^n``: ``log C(n, k) + k log rho``."""
    i = np.arange(n)
    log_choose = np.concatenate([[0.0], np.cumsum(np.log(n - i) - np.log(i + 1.0))])
    return log_choose + np.arange(n + 1) * log_rho


@dataclass(frozen=True)
class Mixture:
    """The mixtures of one (parameter, hypothesis): types and the weights they give."""

    ratios: np.ndarray  # (D,) distinct log rho
    counts: np.ndarray  # (D,) reports of each type
    weights: np.ndarray  # (M + 1,) log Bernstein weights of the product
    without: np.ndarray  # (D, M) the weights with one report of type d left out


def mixtures_of(log_rho: np.ndarray) -> Mixture:
    """The product of mixtures ``(1 - t) + rho t`` given their log ratios, and each left out."""
    ratios, counts = np.unique(log_rho, return_counts=True)
    parts = [log_binomial(int(n), r) for r, n in zip(ratios, counts, strict=True)]
    prefix = [np.zeros(1)]
    for part in parts:
        prefix.append(log_convolve(prefix[-1], part))
    suffix = [np.zeros(1)]
    for part in reversed(parts):
        suffix.append(log_convolve(suffix[-1], part))
    suffix.reverse()
    without = np.empty((len(parts), len(log_rho)))
    for d, (r, n) in enumerate(zip(ratios, counts, strict=True)):
        rest = log_convolve(prefix[d], suffix[d + 1])
        without[d] = log_convolve(rest, log_binomial(int(n) - 1, r))
    return Mixture(ratios, counts, prefix[-1], without)


def log_expectation(w: np.ndarray, a, b, n1, n0) -> np.ndarray:
    """Log E[t^n1 (1 - t)^n0 sum_k e^w_k t^k (1 - t)^(M - k)] under Beta(a, b)."""
    k = np.arange(w.shape[-1])
    M = w.shape[-1] - 1
    return logsumexp(w + log_beta_ratio(a, b, n1 + k, n0 + M - k), axis=-1)
