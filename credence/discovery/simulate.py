"""Seeded synthetic tables of reports with known truth, for tests, benchmarks and docs.

:func:`copy_cascades` draws claims, sources and reports from the model of
:mod:`credence.discovery.copying`: each claim's reports arrive in order; each
later one repeats an earlier one (chosen uniformly) with its source's copy
propensity, and is otherwise the source's own report through its channel.
With ``fidelity`` below 1, the reports on a claim describe its apparent label,
the truth with that probability and otherwise the other label
(:mod:`credence.discovery.shared_error`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from credence.options import strict_options

__all__ = ["Simulated", "copy_cascades"]


@dataclass(frozen=True, eq=False)
class Simulated:
    """A synthetic table of reports and what generated it.

    Attributes
    ----------
    reports : pandas.DataFrame
        Columns ``claim, source, label, kind``, in time order within each claim.
    truth : pandas.Series
        Each claim's true label (0 or 1), indexed by claim.
    accuracy : numpy.ndarray
        Each source's accuracy.
    copy : numpy.ndarray
        Each source's copy propensity.
    copied : numpy.ndarray of bool
        Whether each report was a copy.
    apparent : pandas.Series
        Each claim's apparent label, the one its reports describe.
    """

    reports: pd.DataFrame
    truth: pd.Series
    accuracy: np.ndarray
    copy: np.ndarray
    copied: np.ndarray
    apparent: pd.Series


@strict_options
def copy_cascades(
    n_claims: int,
    n_sources: int,
    *,
    reports_per_claim: int = 6,
    accuracy: tuple[float, float] = (4.0, 2.0),
    copy: tuple[float, float] = (6.0, 4.0),
    adversarial: float = 0.0,
    heavy_tail: bool = False,
    prevalence: float = 0.5,
    fidelity: float = 1.0,
    seed: int = 0,
) -> Simulated:
    """Draw a table of binary reports with copy cascades.

    Parameters
    ----------
    n_claims, n_sources : int
    reports_per_claim : int, default 6
        Reports on each claim (distinct sources).
    accuracy : (a, b), default (4, 2)
        Beta of the honest sources' accuracies.
    copy : (a, b), default (6, 4)
        Beta of the copy propensities (mean 0.6).
    adversarial : float, default 0
        Fraction of sources whose accuracy is one minus a draw (kind
        ``"adversarial"``; the others are ``"honest"``).
    heavy_tail : bool, default False
        Sources chosen with Zipf-like weights (most write one or two reports).
    prevalence : float, default 0.5
        P(claim is true).
    fidelity : float, default 1
        P(a claim's reports describe its true label); otherwise they describe
        the other label (a shared error).
    seed : int, default 0

    Returns
    -------
    Simulated
    """
    rng = np.random.default_rng(seed)
    acc = rng.beta(*accuracy, n_sources)
    bad = rng.random(n_sources) < adversarial
    acc[bad] = 1.0 - acc[bad]
    propensity = rng.beta(*copy, n_sources)
    weight = 1.0 / np.arange(1, n_sources + 1) ** 1.1 if heavy_tail else np.ones(n_sources)
    weight = weight / weight.sum()
    truth = (rng.random(n_claims) < prevalence).astype(int)
    story = truth
    if fidelity < 1:  # drawn only then, so that other tables keep their draws
        story = np.where(rng.random(n_claims) < fidelity, truth, 1 - truth)
    per = min(reports_per_claim, n_sources)
    claim = np.repeat(np.arange(n_claims), per)
    source = np.concatenate([rng.choice(n_sources, per, replace=False, p=weight)
                             for _ in range(n_claims)])
    own = np.where(rng.random(claim.size) < acc[source], story[claim], 1 - story[claim])
    label = own.reshape(n_claims, per).copy()
    copied = np.zeros((n_claims, per), bool)
    rows = np.arange(n_claims)
    for k in range(1, per):  # the k-th report of every claim at once
        copies = rng.random(n_claims) < propensity[source.reshape(n_claims, per)[:, k]]
        earlier = rng.integers(0, k, n_claims)
        label[copies, k] = label[rows[copies], earlier[copies]]
        copied[copies, k] = True
    label, copied = label.ravel(), copied.ravel()
    names = np.array([f"s{j:05d}" for j in range(n_sources)])
    reports = pd.DataFrame({
        "claim": [f"c{i:06d}" for i in claim],
        "source": names[source],
        "label": label,
        "kind": np.where(bad[source], "adversarial", "honest"),
    })
    index = pd.Index([f"c{i:06d}" for i in range(n_claims)], name="claim")
    truth_series = pd.Series(truth, index=index, name="label")
    apparent = pd.Series(story, index=index, name="label")
    return Simulated(reports, truth_series, acc, propensity, copied, apparent)
