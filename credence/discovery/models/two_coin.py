"""Two-coin: a sensitivity and a false-positive rate per source (two labels).

Dawid–Skene with two labels and its own prior and summary: sensitivity
``s = P(positive report | positive claim)``, false-positive rate
``f = P(positive report | negative claim)``, each Beta. An interested party
that says "true" whatever happened has s close to f, and its reports weigh
almost nothing.
"""

from __future__ import annotations

import numpy as np

from credence.discovery.models.base import PriorSettings
from credence.discovery.models.confusion import Confusion

__all__ = ["TwoCoinModel"]


class TwoCoinModel(Confusion):
    """Sensitivity and false-positive rate; parameters ``(2, 2)`` Beta rows."""

    name = "two-coin"

    def check(self, n_classes: int, n_labels: int, match: np.ndarray, per_claim: bool) -> str:
        """See :meth:`SourceModel.check`."""
        if per_claim:
            return "per-claim candidate sets need model='one-coin'"
        if n_classes != 2 or n_labels != 2 or not np.array_equal(match, [0, 1]):
            return (
                f"the two-coin model needs exactly two labels, the same for reports and "
                f"claims; found {n_labels} report labels"
            )
        return ""

    def prior(
        self, n_classes: int, n_labels: int, match: np.ndarray, settings: PriorSettings,
        positive: int,
    ) -> np.ndarray:
        """See :meth:`SourceModel.prior`."""
        negative = 1 - positive
        alpha = np.empty((2, 2))
        alpha[positive, positive], alpha[positive, negative] = settings.sensitivity
        alpha[negative, positive], alpha[negative, negative] = settings.false_positive_rate
        return alpha

    def table(self, params: np.ndarray, positive: int | None, weights: np.ndarray | None) -> dict:
        """See :meth:`SourceModel.table`."""
        means = params / params.sum(axis=-1, keepdims=True)
        p, n = positive, 1 - positive
        return {"sensitivity": means[:, p, p], "false_positive_rate": means[:, n, p]}
