"""How well probabilities match frequencies: Brier score, log loss, calibration error.

Every function takes either event probabilities (1-D ``proba``, ``y_true`` 0/1:
"did the event happen") or class probabilities (2-D ``proba`` of shape
``(n, K)``, ``y_true`` class indices). In the 2-D case the calibration error and
diagram are about the top label: its probability against whether it was right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from credence.errors import shown
from credence.options import MAX_BINS, strict_options, whole_number

__all__ = [
    "MAX_BINS",
    "ReliabilityDiagram",
    "brier_score",
    "ece_noise_floor",
    "expected_calibration_error",
    "log_loss",
    "plot_reliability_diagram",
    "reliability_diagram",
    "spiegelhalter_z",
]


def _check(y_true: Any, proba: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true)
    p = np.asarray(proba, dtype=float)
    if p.ndim not in (1, 2):
        raise ValueError(f"proba must be 1-D or 2-D, not {p.ndim}-D")
    if y.shape != p.shape[:1]:
        raise ValueError(f"y_true has {y.shape[0]} entries but proba has {p.shape[0]} rows")
    if y.shape[0] == 0:
        raise ValueError("no predictions to score")
    if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        raise ValueError("probabilities must be finite and in [0, 1]")
    if p.ndim == 1:
        if not np.isin(y, (0, 1)).all():
            raise ValueError("with 1-D proba, y_true must be 0/1 (or booleans)")
        return y.astype(float), p
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= p.shape[1]:
        raise ValueError("with 2-D proba, y_true must be class indices in [0, K)")
    return y.astype(np.intp), p


def _top_label(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(was the event / top label right, its probability)."""
    if p.ndim == 1:
        return y, p
    best = p.argmax(axis=1)
    return (best == y).astype(float), p[np.arange(p.shape[0]), best]


@strict_options
def brier_score(y_true: Any, proba: Any) -> float:
    """Mean squared error of probabilities: 0 is perfect.

    Parameters
    ----------
    y_true : array-like
        0/1 outcomes (1-D ``proba``) or class indices (2-D ``proba``).
    proba : array-like
        Event probabilities ``(n,)`` or class probabilities ``(n, K)``.

    Returns
    -------
    float
        ``mean((p - y)^2)``, or ``mean(sum_k (p_k - [y = k])^2)`` for classes.

    Examples
    --------
    >>> brier_score([1, 0], [0.8, 0.4])
    0.1
    """
    y, p = _check(y_true, proba)
    if p.ndim == 1:
        return float(np.mean((p - y) ** 2))
    onehot = np.zeros_like(p)
    onehot[np.arange(p.shape[0]), y] = 1.0
    return float(np.mean(((p - onehot) ** 2).sum(axis=1)))


@strict_options
def log_loss(y_true: Any, proba: Any, *, eps: float = 1e-15) -> float:
    """Mean negative log probability of what happened (natural log).

    Parameters
    ----------
    y_true : array-like
        0/1 outcomes (1-D ``proba``) or class indices (2-D ``proba``).
    proba : array-like
        Event probabilities ``(n,)`` or class probabilities ``(n, K)``.
    eps : float, default 1e-15
        Probabilities are clipped to ``[eps, 1 - eps]`` so a confident mistake
        costs ``-log(eps)``, not infinity.

    Returns
    -------
    float

    Examples
    --------
    >>> round(log_loss([1, 0], [0.8, 0.4]), 4)
    0.367
    """
    if not (isinstance(eps, float | int) and not isinstance(eps, bool) and 0 < eps < 0.5):
        raise ValueError(f"eps must be a number in (0, 0.5), not {shown(eps)}")
    y, p = _check(y_true, proba)
    if p.ndim == 1:
        p_true = np.where(y == 1, p, 1.0 - p)
    else:
        p_true = p[np.arange(p.shape[0]), y]
    return float(-np.mean(np.log(np.clip(p_true, eps, 1.0 - eps))))


@dataclass(frozen=True, eq=False)
class ReliabilityDiagram:
    """Binned predicted probability against observed frequency.

    Attributes
    ----------
    edges : numpy.ndarray
        ``n_bins + 1`` bin edges on [0, 1].
    count : numpy.ndarray
        Predictions per bin.
    confidence : numpy.ndarray
        Mean predicted probability per bin (NaN where empty).
    frequency : numpy.ndarray
        Observed frequency per bin (NaN where empty).
    """

    edges: np.ndarray
    count: np.ndarray
    confidence: np.ndarray
    frequency: np.ndarray

    @property
    def ece(self) -> float:
        """Expected calibration error: count-weighted mean |confidence - frequency|."""
        used = self.count > 0
        gap = np.abs(self.confidence[used] - self.frequency[used])
        return float(np.sum(self.count[used] * gap) / self.count.sum())


@strict_options
def reliability_diagram(y_true: Any, proba: Any, *, n_bins: int = 10) -> ReliabilityDiagram:
    """The data of a reliability diagram, in equal-width bins.

    Parameters
    ----------
    y_true : array-like
        0/1 outcomes (1-D ``proba``) or class indices (2-D ``proba``).
    proba : array-like
        Event probabilities, or class probabilities (top label used).
    n_bins : int, default 10
        Number of bins, from 1 to :data:`MAX_BINS` (1000).

    Returns
    -------
    ReliabilityDiagram

    Raises
    ------
    ValueError
        ``n_bins`` out of range, or invalid probabilities or outcomes.
    """
    n_bins = whole_number("n_bins", n_bins, 1, MAX_BINS)
    outcome, p = _top_label(*_check(y_true, proba))
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # right-closed bins, with 0 in the first: p = 1 falls in the last bin
    index = np.clip(np.searchsorted(edges, p, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(index, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(index, p, minlength=n_bins) / count
        frequency = np.bincount(index, outcome, minlength=n_bins) / count
    return ReliabilityDiagram(edges=edges, count=count, confidence=confidence, frequency=frequency)


@strict_options
def expected_calibration_error(y_true: Any, proba: Any, *, n_bins: int = 10) -> float:
    """Expected calibration error (ECE) over equal-width bins.

    Parameters
    ----------
    y_true : array-like
        0/1 outcomes (1-D ``proba``) or class indices (2-D ``proba``).
    proba : array-like
        Event probabilities, or class probabilities (top-label ECE).
    n_bins : int, default 10
        Number of equal-width bins, from 1 to :data:`MAX_BINS` (1000).

    Returns
    -------
    float
        ``sum_b (n_b / n) |confidence_b - frequency_b|``.

    References
    ----------
    .. [1] Guo, C., Pleiss, G., Sun, Y. and Weinberger, K. Q. (2017). On
       calibration of modern neural networks. *ICML*.

    Examples
    --------
    >>> round(expected_calibration_error([1, 1, 0, 0], [0.9, 0.9, 0.1, 0.1]), 6)
    0.1
    """
    return reliability_diagram(y_true, proba, n_bins=n_bins).ece


@strict_options
def ece_noise_floor(
    proba: Any,
    *,
    n_bins: int = 10,
    n_sim: int = 1000,
    quantile: float = 0.9,
    seed: int | None = 0,
) -> float:
    """The ECE a perfectly calibrated predictor would show on these predictions.

    Outcomes are drawn from the predictions themselves ``n_sim`` times; the
    ``quantile`` of their ECE is the floor an observed ECE is compared with
    (roughly ``0.9 / sqrt(n)`` for spread-out predictions, lower for confident
    ones). See the project's design notes, "Measuring calibration".

    Parameters
    ----------
    proba : array-like (n,)
        Event probabilities (for class probabilities, pass the top label's).
    n_bins : int, default 10
    n_sim : int, default 1000
        Simulated outcome sets, 1 to 100,000.
    quantile : float, default 0.9
    seed : int or None, default 0
        Seed of the simulation.

    Returns
    -------
    float

    Examples
    --------
    >>> floor = ece_noise_floor(np.full(175, 0.7))
    >>> 0.02 < floor < 0.12
    True
    """
    p = np.asarray(proba, dtype=float)
    if p.ndim != 1 or not np.all((p >= 0) & (p <= 1)):
        raise ValueError("proba must be a 1-D array of probabilities in [0, 1]")
    whole_number("n_sim", n_sim, 1, 100_000)
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be strictly between 0 and 1, not {quantile!r}")
    rng = np.random.default_rng(seed)
    eces = [
        expected_calibration_error((rng.random(p.size) < p).astype(int), p, n_bins=n_bins)
        for _ in range(n_sim)
    ]
    return float(np.quantile(eces, quantile))


@strict_options
def spiegelhalter_z(y_true: Any, proba: Any) -> float:
    """Spiegelhalter's z: about standard normal when the probabilities are calibrated.

    ``z = sum (y - p)(1 - 2p) / sqrt(sum (1 - 2p)^2 p (1 - p))``; ``|z| > 2``
    says the predictions are miscalibrated beyond chance [1]_.

    Parameters
    ----------
    y_true : array-like (n,)
        0/1 outcomes.
    proba : array-like (n,)
        Event probabilities.

    Returns
    -------
    float
        NaN when every prediction is 0, 1/2 or 1 (the statistic has no spread).

    References
    ----------
    .. [1] Spiegelhalter, D. J. (1986). Probabilistic prediction in patient
       management and clinical trials. *Statistics in Medicine* 5(5), 421-433.

    Examples
    --------
    >>> round(spiegelhalter_z([1, 0, 1, 1], [0.9, 0.2, 0.7, 0.6]), 3)
    -1.005
    """
    y, p = _check(y_true, proba)
    if p.ndim != 1:
        raise ValueError("spiegelhalter_z takes event probabilities (1-D proba)")
    spread = np.sum((1 - 2 * p) ** 2 * p * (1 - p))
    if spread == 0:
        return float("nan")
    return float(np.sum((y - p) * (1 - 2 * p)) / np.sqrt(spread))


@strict_options
def plot_reliability_diagram(diagram: ReliabilityDiagram, *, ax: Any = None, label: str = ""):
    """Draw a reliability diagram with matplotlib.

    Parameters
    ----------
    diagram : ReliabilityDiagram
    ax : matplotlib.axes.Axes, optional
        Draw here; default a new figure.
    label : str, optional
        Legend label of the curve.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
    else:
        fig = ax.figure
    used = diagram.count > 0
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="calibrated")
    ax.plot(
        diagram.confidence[used],
        diagram.frequency[used],
        marker="o",
        label=label or f"ECE {diagram.ece:.3f}",
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.legend(loc="upper left")
    return fig
