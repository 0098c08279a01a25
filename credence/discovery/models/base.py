"""What every source model provides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from credence.discovery.arrays import rows

__all__ = ["PriorSettings", "SourceModel"]


@dataclass(frozen=True)
class PriorSettings:
    """The user's prior parameters, each model reading the ones it needs.

    Attributes
    ----------
    reliability : (a, b)
        One-coin accuracy Beta.
    sensitivity, false_positive_rate : (a, b)
        Two-coin Betas.
    confusion : (diagonal, off-diagonal)
        Dirichlet parameters of a confusion row: ``diagonal`` on the report
        label that names the row's claim label, ``off-diagonal`` elsewhere.
    """

    reliability: tuple[float, float] = (2.0, 1.0)
    sensitivity: tuple[float, float] = (2.0, 1.0)
    false_positive_rate: tuple[float, float] = (1.0, 2.0)
    confusion: tuple[float, float] = (1.0, 0.1)


class SourceModel:
    """A source model: its prior, E-step terms, M-step counts, exports.

    A model's parameters per source are one or more Beta / Dirichlet rows
    (``param_shape``); the variational posterior of source ``j`` is the prior
    plus expected counts, ``prior + stats[j]``.

    Notation: ``K`` claim labels, ``R`` report labels, ``match[r]`` the claim
    label that report label ``r`` names (-1 for a label naming none, such as a
    neutral stance).
    """

    #: The model's name.
    name = ""
    #: The PyMC variable holding its parameters.
    variable = ""

    def check(self, n_classes: int, n_labels: int, match: np.ndarray, per_claim: bool) -> str:
        """Why this model cannot fit such labels ('' when it can).

        Parameters
        ----------
        n_classes, n_labels : int
            K and R.
        match : numpy.ndarray
            ``(R,)`` claim label of each report label, -1 for none.
        per_claim : bool
            Per-claim candidate sets.

        Returns
        -------
        str
        """
        raise NotImplementedError

    def prior(
        self, n_classes: int, n_labels: int, match: np.ndarray, settings: PriorSettings,
        positive: int,
    ) -> np.ndarray:
        """The prior parameters of one source, shape ``param_shape``.

        Parameters
        ----------
        n_classes, n_labels : int
        match : numpy.ndarray
        settings : PriorSettings
        positive : int
            Index of the positive claim label (two labels).

        Returns
        -------
        numpy.ndarray
        """
        raise NotImplementedError

    def scores(self, block: Any, elog: np.ndarray) -> np.ndarray:
        """Summed expected log-likelihood of each claim's reports, ``(n_claims, K)``.

        Parameters
        ----------
        block : Block
        elog : numpy.ndarray
            ``(S, *param_shape)`` expected log parameters.

        Returns
        -------
        numpy.ndarray
            :meth:`terms` summed over each claim's reports.
        """
        return block.by_claim @ self.terms(block, elog)

    def terms(self, block: Any, elog: np.ndarray) -> np.ndarray:
        """Expected log P(report | claim label t) of every report, ``(N, K)``.

        Parameters
        ----------
        block : Block
        elog : numpy.ndarray
            ``(S, *param_shape)`` expected log parameters.

        Returns
        -------
        numpy.ndarray
        """
        raise NotImplementedError

    def exp_terms(self, block: Any, elog: np.ndarray) -> np.ndarray:
        """``exp`` of :meth:`terms`, ``(N, K)``: each report's geometric-mean likelihoods.

        Parameters
        ----------
        block : Block
        elog : numpy.ndarray

        Returns
        -------
        numpy.ndarray
        """
        return np.exp(self.terms(block, elog))

    def held_out_probabilities(
        self, block: Any, params: np.ndarray, q: np.ndarray, own: Any
    ) -> tuple[list[np.ndarray], np.ndarray | None, np.ndarray]:
        """Each report's probability under each claim label, its own counts left out.

        The posterior mean of P(report | claim label t) given every other
        report: the source's posterior parameters less what this report
        added to them (its :meth:`accumulate` weights).

        Parameters
        ----------
        block : Block
        params : numpy.ndarray
            ``(S, *param_shape)`` posterior parameters.
        q : numpy.ndarray
            ``(n_claims, K)`` posterior of the labels the reports describe.
        own : object or None
            Per claim label ``t``, ``own[t]`` is each report's probability of
            being its source's own rather than a copy (None: every report is);
            one-coin's ``own.arrays`` are those if the report names ``t`` and
            if it does not.

        Returns
        -------
        probabilities : list of numpy.ndarray
            Per claim label ``t``, ``(N,)``; or, with ``label`` given, two
            arrays: if the report names ``t``, and if it does not.
        label : numpy.ndarray or None
            Each report's label, when ``probabilities`` are two arrays.
        independent : numpy.ndarray
            ``(N,)`` each report's expected weight as its source's own.
        """
        raise NotImplementedError

    def stats(self, block: Any, q: np.ndarray) -> np.ndarray:
        """Expected counts per source when every report is independent.

        Parameters
        ----------
        block : Block
        q : numpy.ndarray
            ``(n_claims, K)`` posterior of the claims.

        Returns
        -------
        numpy.ndarray
            ``(S, *param_shape)``: :meth:`accumulate` of each report's claim's q.
        """
        return self.accumulate(block, rows(q, block.claim))

    def accumulate(self, block: Any, weights: np.ndarray) -> np.ndarray:
        """Expected counts per source from each report's weight under every claim label.

        Parameters
        ----------
        block : Block
        weights : numpy.ndarray
            ``(N, K)``: column t is q(T = t) of the report's claim times the
            probability that the report is the source's own (not a copy).

        Returns
        -------
        numpy.ndarray
            ``(S, *param_shape)``.
        """
        raise NotImplementedError

    def table(self, params: np.ndarray, positive: int | None, weights: np.ndarray | None) -> dict:
        """Posterior means per source, as named columns.

        Parameters
        ----------
        params : numpy.ndarray
            ``(S, *param_shape)`` posterior parameters.
        positive : int or None
        weights : numpy.ndarray or None
            Class prior mean (to average a confusion diagonal).

        Returns
        -------
        dict of str to numpy.ndarray
        """
        raise NotImplementedError

    def export(self, positive: int | None, says: tuple[int, int] | None = None) -> dict:
        """Which entries of a source's parameters make each Beta of its case-file reliability.

        Parameters
        ----------
        positive : int or None
            The claim label meaning the claim is true.
        says : (int, int), optional
            Report labels meaning supports and refutes (stance channels).

        Returns
        -------
        dict of str to (tuple, tuple)
            Case-file field (``reliability``, or ``sensitivity`` and
            ``false_positive_rate``) to the indices, into one source's
            parameters, of its Beta's ``a`` and ``b``.
        """
        raise NotImplementedError

    def exportable(self, n_classes: int, n_labels: int) -> str:
        """Why a fit of this shape has no case-file reliability ('' when it has).

        Parameters
        ----------
        n_classes, n_labels : int

        Returns
        -------
        str
        """
        return ""

    def pymc_parameters(self, prior: np.ndarray, n_sources: int):
        """Create this model's random variables in the current PyMC model.

        Parameters
        ----------
        prior : numpy.ndarray
            ``(S, *param_shape)`` prior parameters of every source.
        n_sources : int

        Returns
        -------
        pytensor tensor
            ``(S, *param_shape)`` log parameters, for :meth:`pymc_term`.
        """
        raise NotImplementedError

    def pymc_term(self, block: Any, log_params: Any, t: int):
        """Log P(report | claim label t) of every report as a PyTensor vector.

        Parameters
        ----------
        block : Block
        log_params : pytensor tensor
        t : int

        Returns
        -------
        pytensor tensor
        """
        raise NotImplementedError

    def dense_cells(self, n_sources: int, n_classes: int, n_labels: int) -> int:
        """Cells of the per-source parameter array a fit allocates beyond ``(S, 2)``.

        Parameters
        ----------
        n_sources, n_classes, n_labels : int

        Returns
        -------
        int
        """
        return n_sources * n_classes * n_labels

    def start_values(self, means: np.ndarray) -> np.ndarray:
        """Posterior means ``(S, *param_shape)`` as the PyMC variable's starting value.

        Parameters
        ----------
        means : numpy.ndarray

        Returns
        -------
        numpy.ndarray
        """
        return means

    def draws_to_log_params(self, draws: np.ndarray) -> np.ndarray:
        """Sampled parameters of one draw as the log parameters :meth:`term` reads.

        Parameters
        ----------
        draws : numpy.ndarray

        Returns
        -------
        numpy.ndarray
        """
        return np.log(draws)
