"""Dawid–Skene: a confusion matrix per source, P(report label | claim label).

Row ``t`` of source ``j``'s matrix is Dirichlet over the R report labels. The
report labels may be a different set from the claim labels (stances such as
for / against / observing about claims that are true or false): the prior puts
``diagonal`` on the report label that names the row's claim label and
``off-diagonal`` elsewhere, so a report naming a claim label is taken to
support it unless the data say otherwise; a label naming no claim label (a
neutral stance) starts symmetric and carries what the fit finds it carries.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from credence.discovery.arrays import rows
from credence.discovery.models.base import PriorSettings, SourceModel

__all__ = ["Confusion"]


class Confusion(SourceModel):
    """A confusion matrix per source; parameters ``(K, R)`` Dirichlet rows."""

    name = "dawid-skene"
    #: The PyMC variable holding the parameters.
    variable = "confusion"

    def check(self, n_classes: int, n_labels: int, match: np.ndarray, per_claim: bool) -> str:
        """See :meth:`SourceModel.check`."""
        if per_claim:
            return (
                "per-claim candidate sets need model='one-coin': a confusion matrix needs "
                "one label set"
            )
        return ""

    def prior(
        self, n_classes: int, n_labels: int, match: np.ndarray, settings: PriorSettings,
        positive: int,
    ) -> np.ndarray:
        """See :meth:`SourceModel.prior`."""
        diagonal, off = settings.confusion
        alpha = np.full((n_classes, n_labels), float(off))
        named = np.flatnonzero(match >= 0)
        alpha[match[named], named] = float(diagonal)
        return alpha

    def scores(self, block: Any, elog: np.ndarray) -> np.ndarray:
        """See :meth:`SourceModel.scores` (one sparse product, :attr:`~.vb.Block.design`)."""
        return block.design @ _by_source_label(elog)

    def terms(self, block: Any, elog: np.ndarray) -> np.ndarray:
        """See :meth:`SourceModel.terms` (one gather of rows)."""
        return rows(_by_source_label(elog), block.source_label)

    def exp_terms(self, block: Any, elog: np.ndarray) -> np.ndarray:
        """See :meth:`SourceModel.exp_terms`: the (S, K, R) cells exponentiated, then gathered."""
        return self.terms(block, np.exp(elog))

    def stats(self, block: Any, q: np.ndarray) -> np.ndarray:
        """See :meth:`SourceModel.stats` (one sparse product)."""
        return _from_source_label(block.design_transposed @ q, block)

    def accumulate(self, block: Any, weights: np.ndarray) -> np.ndarray:
        """See :meth:`SourceModel.accumulate` (one sparse product)."""
        return _from_source_label(block.by_source_label @ weights, block)

    def held_out_probabilities(
        self, block: Any, params: np.ndarray, q: np.ndarray, own: Any
    ) -> tuple[list[np.ndarray], np.ndarray | None, np.ndarray]:
        """See :meth:`SourceModel.held_out_probabilities`."""
        rows = params.sum(axis=-1)  # (S, K)
        out, independent = [], np.zeros(block.claim.shape[0])
        for t in range(block.n_classes):
            weight = q[:, t][block.claim] * (1.0 if own is None else own[t])
            cell = np.ascontiguousarray(params[:, t, :]).ravel()[block.source_label]
            out.append((cell - weight) / (rows[:, t][block.source] - weight))
            independent += weight
        return out, None, independent

    def table(self, params: np.ndarray, positive: int | None, weights: np.ndarray | None) -> dict:
        """See :meth:`SourceModel.table` (accuracy when report labels are claim labels)."""
        means = params / params.sum(axis=-1, keepdims=True)
        if params.shape[1] != params.shape[2] or weights is None:
            return {}
        return {"accuracy": np.einsum("skk,k->s", means, weights)}

    def exportable(self, n_classes: int, n_labels: int) -> str:
        """See :meth:`SourceModel.exportable`."""
        if n_classes != 2:
            return (
                f"a Dawid-Skene fit with {n_classes} labels has no case-file reliability; "
                "fit model='one-coin' (or two labels) to export sources"
            )
        return ""

    def export(self, positive: int | None, says: tuple[int, int] | None = None) -> dict:
        """A source's channel as case-file sensitivity and false-positive rate.

        A case-file report either supports or refutes the claim. Given that a
        source's report is one of those two (``says = (supports, refutes)``
        report labels), the probability it supports is
        ``theta[t, supports] / (theta[t, supports] + theta[t, refutes])``,
        which under a Dirichlet row is exactly Beta(alpha[t, supports],
        alpha[t, refutes]) (the Dirichlet's aggregation property).

        Parameters
        ----------
        positive : int
        says : (int, int), optional
            Report labels meaning supports and refutes; default the labels
            at ``positive`` and the other claim label.

        Returns
        -------
        dict
            See :meth:`SourceModel.export`.
        """
        p, n = positive, 1 - positive
        yes, no = (p, n) if says is None else says
        return {"sensitivity": ((p, yes), (p, no)), "false_positive_rate": ((n, yes), (n, no))}

    def pymc_parameters(self, prior: np.ndarray, n_sources: int):
        """See :meth:`SourceModel.pymc_parameters`."""
        import pymc as pm
        import pytensor.tensor as pt

        theta = pm.Dirichlet(self.variable, a=prior, dims=("source", "truth", "label"))
        return pt.log(theta)

    def pymc_term(self, block: Any, log_params: Any, t: int):
        """See :meth:`SourceModel.pymc_term`."""
        return log_params[:, t, :][block.source, block.label]


def _by_source_label(values: np.ndarray) -> np.ndarray:
    """``(S, K, R)`` per-source channels as ``(S * R, K)``: a row per (source, report label)."""
    s, k, r = values.shape
    return values.transpose(0, 2, 1).reshape(s * r, k)


def _from_source_label(counts: np.ndarray, block: Any) -> np.ndarray:
    """``(S * R, K)`` counts by (source, report label) back as ``(S, K, R)`` channels."""
    s, k, r = block.n_sources, block.n_classes, block.n_labels
    return counts.reshape(s, r, k).transpose(0, 2, 1)
