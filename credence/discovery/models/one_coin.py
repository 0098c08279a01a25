"""One-coin: one accuracy per source.

P(report = claim's label) = r; otherwise one of the claim's other labels at
random, P = (1 - r) / (K_i - 1). The accuracy is Beta(a, b); its posterior
parameters are ``[a + correct, b + wrong]`` in expected counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from credence.discovery.arrays import row_sums
from credence.discovery.models.base import PriorSettings, SourceModel

__all__ = ["OneCoin"]


class OneCoin(SourceModel):
    """One accuracy per source; parameters ``(2,)``: Beta ``[a, b]``."""

    name = "one-coin"

    def check(self, n_classes: int, n_labels: int, match: np.ndarray, per_claim: bool) -> str:
        """See :meth:`SourceModel.check`."""
        if n_labels != n_classes or not np.array_equal(match, np.arange(n_labels)):
            return "one-coin needs the report labels to be the claim labels; use dawid-skene"
        return ""

    def prior(
        self, n_classes: int, n_labels: int, match: np.ndarray, settings: PriorSettings,
        positive: int,
    ) -> np.ndarray:
        """See :meth:`SourceModel.prior`."""
        return np.asarray(settings.reliability, dtype=float)

    def scores(self, block: Any, elog: np.ndarray) -> np.ndarray:
        """See :meth:`SourceModel.scores` (per-source values first, one gather each)."""
        n, k = block.n_claims, block.n_classes
        log_wrong = np.ascontiguousarray(elog[:, 1])
        gain = (elog[:, 0] - log_wrong)[block.source]
        scores = np.bincount(block.claim_label, gain, minlength=n * k).reshape(n, k)
        scores += block.log_others_named
        wrong = np.bincount(block.claim, log_wrong[block.source], minlength=n)
        scores += (wrong - block.log_others_total)[:, None]
        return scores

    def terms(self, block: Any, elog: np.ndarray) -> np.ndarray:
        """See :meth:`SourceModel.terms`."""
        right = elog[:, 0][block.source]
        wrong = elog[:, 1][block.source] - block.log_others
        hit = block.label[:, None] == np.arange(block.n_classes)
        return np.where(hit, right[:, None], wrong[:, None])

    def held_out_probabilities(
        self, block: Any, params: np.ndarray, q: np.ndarray, own: Any
    ) -> tuple[list[np.ndarray], np.ndarray | None, np.ndarray]:
        """See :meth:`SourceModel.held_out_probabilities`."""
        named = q.ravel()[block.claim_label]
        own_right, own_wrong = (1.0, 1.0) if own is None else own.arrays
        right = named * own_right
        wrong = (1.0 - named) * own_wrong
        a = params[:, 0][block.source] - right
        b = params[:, 1][block.source] - wrong
        r = a / (a + b)
        return [r, (1.0 - r) / np.exp(block.log_others)], block.label, right + wrong

    def stats(self, block: Any, q: np.ndarray) -> np.ndarray:
        """See :meth:`SourceModel.stats`."""
        s = block.n_sources
        correct = np.bincount(block.source, q.ravel()[block.claim_label], minlength=s)
        return np.stack([correct, block.source_total - correct], axis=1)

    def accumulate(self, block: Any, weights: np.ndarray) -> np.ndarray:
        """See :meth:`SourceModel.accumulate`."""
        s = block.n_sources
        hit = np.take_along_axis(weights, block.label[:, None], axis=1)[:, 0]
        miss = row_sums(weights) - hit
        return np.stack([np.bincount(block.source, hit, minlength=s),
                         np.bincount(block.source, miss, minlength=s)], axis=1)

    def table(self, params: np.ndarray, positive: int | None, weights: np.ndarray | None) -> dict:
        """See :meth:`SourceModel.table`."""
        return {"accuracy": params[:, 0] / params.sum(axis=1), "a": params[:, 0], "b": params[:, 1]}

    def export(self, positive: int | None, says: tuple[int, int] | None = None) -> dict:
        """See :meth:`SourceModel.export` (the accuracy's Beta)."""
        return {"reliability": ((0,), (1,))}

    def pymc_parameters(self, prior: np.ndarray, n_sources: int):
        """See :meth:`SourceModel.pymc_parameters`."""
        import pymc as pm
        import pytensor.tensor as pt

        r = pm.Beta("reliability", alpha=prior[:, 0], beta=prior[:, 1], dims="source")
        return pt.stack([pt.log(r), pt.log1p(-r)], axis=1)

    def pymc_term(self, block: Any, log_params: Any, t: int):
        """See :meth:`SourceModel.pymc_term`."""
        import pytensor.tensor as pt

        right = log_params[:, 0][block.source]
        wrong = log_params[:, 1][block.source] - block.log_others
        return pt.switch(pt.eq(block.label, t), right, wrong)

    #: The PyMC variable holding the parameters.
    variable = "reliability"

    def dense_cells(self, n_sources: int, n_classes: int, n_labels: int) -> int:
        """See :meth:`SourceModel.dense_cells` (none: one accuracy per source)."""
        return 0

    def start_values(self, means: np.ndarray) -> np.ndarray:
        """See :meth:`SourceModel.start_values` (the accuracy)."""
        return means[:, 0]

    def draws_to_log_params(self, draws: np.ndarray) -> np.ndarray:
        """See :meth:`SourceModel.draws_to_log_params`."""
        return np.stack([np.log(draws), np.log1p(-draws)], axis=-1)
