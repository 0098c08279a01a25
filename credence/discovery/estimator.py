"""The truth-discovery estimator, scikit-learn style."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import numpy as np
import pandas as pd

from credence.discovery import models
from credence.discovery.choice import (
    MIN_GAIN,
    MIN_KNOWN_CLAIMS,
    block_information,
    candidate_fits,
    choose_final,
    learned,
    search,
    size,
)
from credence.discovery.held_out import (
    FOLDS,
    claim_folds,
    held_out,
    split_block,
    standard_error,
)
from credence.discovery.pooling import MIN_POOLED_SOURCES, learns
from credence.discovery.shared_error import is_channel, posterior_mean
from credence.discovery.table import (
    Reports,
    check_cells,
    encode_against,
    encode_reports,
    show_value,
)
from credence.discovery.threads import thread_map
from credence.discovery.vb import (
    COPY_PRIOR,
    MODELS,
    Block,
    IterationInfo,
    Priors,
    VBResult,
    at_means,
    block_claim_posterior,
    block_held_out_posterior,
    block_init_stats,
    block_step,
    make_block,
    make_priors,
    run_vb,
    staged,
    sum_stats,
)
from credence.discovery.weights import ReportWeights, block_report_weights, weights_table
from credence.errors import CaseError, shown
from credence.options import MAX_ITER, unknown_options, whole_number

__all__ = ["BLOCK_REPORTS", "MAX_ITER", "Blocks", "TruthDiscovery", "block_of"]


def _init_options(cls: type) -> list[str]:
    """Names of the options a class's constructor takes (through ``**kwargs`` to its bases).

    Parameters
    ----------
    cls : type

    Returns
    -------
    list of str
    """
    names: list[str] = []
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        params = list(inspect.signature(klass.__init__).parameters.values())[1:]
        names += [
            p.name
            for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in names
        ]
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names


def _real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a number, not {shown(value)}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, not {value}")
    return float(value)


def _positive_pair(name: str, value: Any) -> tuple[float, float]:
    if isinstance(value, str | bytes) or not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(f"{name} must be two positive numbers (a, b), not {shown(value)}")
    pair = tuple(_real(name, v) for v in value)
    if min(pair) <= 0:
        raise ValueError(f"{name} must be two positive numbers (a, b), not {shown(value)}")
    return pair


def _flag(name: str, value: Any, allow_none: bool, also: tuple[str, ...] = ()) -> None:
    """Refuse ``value`` unless a bool, None (``allow_none``) or one of the words ``also``."""
    if (value is None and allow_none) or (isinstance(value, str) and value in also):
        return
    if not isinstance(value, bool | np.bool_):
        words = ["True", "False", *map(repr, also), *(["None"] if allow_none else [])]
        raise ValueError(
            f"{name} must be {', '.join(words[:-1])} or {words[-1]}, not {shown(value)}"
        )


def block_of(reports: Reports, *, copying: bool = False) -> Block:
    """The coded reports as one :class:`~credence.discovery.vb.Block`.

    Parameters
    ----------
    reports : Reports
    copying : bool, default False
        Carry the time order the copying model needs.

    Returns
    -------
    Block
    """
    return make_block(
        reports.claim,
        reports.source,
        reports.label,
        n_claims=reports.n_claims,
        n_sources=reports.n_sources,
        n_classes=reports.n_classes,
        gold=reports.gold,
        n_candidates=reports.n_candidates if reports.per_claim else None,
        n_labels=reports.n_labels,
        match=reports.label_match,
        position=reports.order if copying else None,
    )


#: Reports per block of an in-process fit: a large table is split into blocks of whole
#: claims, each small enough for the processor's cache, stepped on threads (NumPy
#: releases the GIL in its loops) and their counts added, as on Dask.
BLOCK_REPORTS = 1 << 17


class Blocks:
    """The coded reports as blocks of whole claims, stepped in turn or on threads.

    Parameters
    ----------
    reports : Reports
    copying : bool
        Carry the time order the copying model needs.
    size : int, optional
        Reports per block (about; a claim is never split); default
        :data:`BLOCK_REPORTS`, or 16 per source when that is more (each block
        keeps counts for every source).
    """

    def __init__(self, reports: Reports, copying: bool, size: int | None = None):
        # a block's counts are per source: with many sources, fewer, larger blocks
        size = max(BLOCK_REPORTS, 16 * reports.n_sources) if size is None else int(size)
        n = reports.n_claims
        self.claims = reports.claims
        if reports.n_reports <= 2 * size or n < 2:
            self.blocks = [block_of(reports, copying=copying)]
            self.edges = np.array([0, n])
            return
        counts = np.bincount(reports.claim, minlength=n)
        ends = np.cumsum(counts)
        n_blocks = int(np.ceil(reports.n_reports / size))
        targets = np.arange(1, n_blocks) * (reports.n_reports / n_blocks)
        edges = np.unique(np.concatenate([[0], np.searchsorted(ends, targets) + 1, [n]]))
        edges = edges[edges <= n]
        order = np.argsort(reports.claim, kind="stable")
        starts = np.concatenate([[0], ends])[edges]
        self.edges = edges
        self.blocks = []
        for lo, hi, a, b in zip(edges[:-1], edges[1:], starts[:-1], starts[1:], strict=True):
            rows = order[a:b]
            self.blocks.append(make_block(
                reports.claim[rows] - lo,
                reports.source[rows],
                reports.label[rows],
                n_claims=int(hi - lo),
                n_sources=reports.n_sources,
                n_classes=reports.n_classes,
                gold=reports.gold[lo:hi],
                n_candidates=reports.n_candidates[lo:hi] if reports.per_claim else None,
                n_labels=reports.n_labels,
                match=reports.label_match,
                position=reports.order[rows] if copying else None,
            ))

    def _map(self, fn: Callable[[Any], Any], items: list | None = None) -> list:
        """``fn`` of each block (or of each of ``items``, one a block), on threads."""
        return thread_map(fn, self.blocks if items is None else items)

    def init_stats(self, model: str) -> tuple[np.ndarray, ...]:
        """Summed :func:`~credence.discovery.vb.block_init_stats`."""
        return sum_stats(self._map(lambda b: block_init_stats(b, model)))

    def step(self, exp: Any) -> tuple[np.ndarray, ...]:
        """Summed :func:`~credence.discovery.vb.block_step`."""
        return sum_stats(self._map(lambda b: block_step(b, exp)))

    def posterior(self, result: VBResult) -> np.ndarray:
        """Each claim's posterior given the others, ``(n_claims, K)``.

        :func:`~credence.discovery.vb.block_held_out_posterior` of each block.

        Parameters
        ----------
        result : VBResult

        Returns
        -------
        numpy.ndarray
        """
        return np.concatenate(self._map(lambda b: block_held_out_posterior(b, result)))

    def posterior_and_weights(self, reports: Reports, result: VBResult) -> tuple:
        """:meth:`posterior`, and each report's row and weight toward its claim's verdict.

        Parameters
        ----------
        reports : Reports
            The reports the blocks were made of.
        result : VBResult

        Returns
        -------
        posterior : numpy.ndarray
        rows : numpy.ndarray of int
        weights : ReportWeights
            :func:`~credence.discovery.weights.block_report_weights`, the
            blocks' reports in ``rows`` order.
        """
        parts = self._map(lambda b: block_report_weights(b, result))
        joined = {}
        for field in fields(ReportWeights):
            values = [getattr(part[1], field.name) for part in parts]
            joined[field.name] = None if values[0] is None else np.concatenate(values)
        # the blocks' rows, in order: the table's, or sorted by claim (as made above)
        rows = (np.arange(reports.n_reports) if len(self.blocks) == 1
                else np.argsort(reports.claim, kind="stable"))
        return np.concatenate([part[0] for part in parts]), rows, ReportWeights(**joined)

    def information(self, result: VBResult) -> tuple[float, int]:
        """Summed :func:`~.choice.block_information` of the blocks."""
        return sum_stats(self._map(lambda b: block_information(b, result)))

    def held_out(
        self, result: VBResult, priors: Priors, group: np.ndarray | None, tol: float,
        callback: Callable[[IterationInfo], None] | None = None,
    ) -> np.ndarray:
        """:func:`~credence.discovery.held_out.held_out` of a fit to these blocks."""
        folds = claim_folds(self.claims)
        index = list(range(len(self.blocks)))

        def fold_pieces(held: int) -> Callable:
            pieces = self._map(lambda i: split_block(
                self.blocks[i], folds[self.edges[i]:self.edges[i + 1]], held), index)
            return lambda fn: self._map(fn, pieces)

        return held_out(fold_pieces, result, priors, group, tol, callback)


class TruthDiscovery:
    """Learn claims' truths and sources' reliabilities jointly from many reports.

    Mean-field variational Bayes (see :mod:`credence.discovery.vb`): every
    source's reliability gets a Beta or Dirichlet posterior, so a source seen
    once has a wide posterior near its prior, not a point estimate of 0 or 1.
    With ``pooling`` (the default) that prior is learned from all sources (of
    the source's ``kind``, when the table has that column), so a source seen
    once borrows strength from the others. With ``copying`` the reports on a
    claim, in time order, may repeat earlier ones (DESIGN.md's group
    semantics; :mod:`credence.discovery.copying`), with a learned copy
    propensity per source.

    Parameters
    ----------
    model : {"one-coin", "two-coin", "dawid-skene"} or None, default None
        One accuracy per source; a sensitivity and a false-positive rate per
        source (two labels); or a full confusion matrix per source. None:
        fit each model that applies and keep the one that best predicts
        held-out claims (:mod:`~credence.discovery.choice`; ``selection_`` and ``choice_`` say
        which and why).
    candidates : {"global", "per-claim"}, default "global"
        One label set for all claims, or each claim's own candidate set made
        of the values asserted for it (conflicting values; one-coin only).
    reliability_prior : (a, b), default (2, 1)
        One-coin accuracy prior Beta(a, b) (mean 2/3); with pooling, the
        starting point of the learned prior.
    sensitivity_prior, false_positive_prior : (a, b), default (2, 1), (1, 2)
        Two-coin priors.
    confusion_prior : (diagonal, off-diagonal), default (1, 0.1)
        Dirichlet parameters of each confusion-matrix row (Dawid–Skene): a
        small total pseudo-count that favours the report label naming the
        row's claim label (see :func:`~credence.discovery.vb.make_priors`).
    class_prior : float, default 1
        Symmetric Dirichlet parameter of the class prior.
    positive_label : optional
        The label that means "the claim is true" (two labels); default the
        larger of the two labels (1, True, "true", "yes", "supports").
    duplicates : {"error", "first"}, default "error"
        A source reporting twice on one claim: stop, or keep the first report.
    max_iter : int, default 500
    tol : float, default 1e-6
        Converged when an iteration raises the evidence lower bound (ELBO) by
        at most ``tol`` times its magnitude (see :func:`~credence.discovery.vb.run_vb`).
        With pooling it also sets how far the pooled priors are learned: they
        grow more alike with every iteration, so a smaller ``tol`` pools
        more, which is not more precise (see the pooling section of the
        discovery guide).
    pooling : bool, default True
        Learn the sources' prior (and the copy propensities' prior) from the
        data, per ``kind`` when the table has that column (variational
        empirical Bayes, :mod:`credence.discovery.pooling`); a group of fewer
        than ten sources keeps the fixed prior
        (:data:`~credence.discovery.pooling.MIN_POOLED_SOURCES`), and with no
        larger group the fit has fixed priors. False keeps the priors above
        fixed. With ``model=None`` a fit with fixed priors is a
        candidate too, and held-out likelihood chooses.
    copying : bool or None, default None
        Model copying among the reports on a claim (True), assume them
        independent (False), or choose by held-out likelihood (None).
    copy_prior : (a, b), default (1, 1)
        Beta prior of the copy propensities (with pooling, its start).
    claim_labels : sequence, optional
        The claims' labels when reports use a different set (stances); see
        :func:`~credence.discovery.table.encode_reports`.
    shared_error : bool, "label" or None, default None
        The reports on a claim may share one error (they describe the
        claim's apparent label, true with a learned probability, the
        fidelity; :mod:`credence.discovery.shared_error`): True; "label",
        a story channel by claim label (how often a claim of each label is
        told as each other; global labels only); False; or None to try both
        when at least ten claims' labels are known (only they can teach the
        fidelity: :data:`~credence.discovery.choice.MIN_KNOWN_CLAIMS`) and
        choose by held-out likelihood.
    fidelity_prior : (a, b), default (2, 1)
        Beta prior of the fidelity (by label, of each row's diagonal entry:
        :func:`~credence.discovery.shared_error.label_prior`).
    report_weights : bool, default False
        Also weigh every report (``report_weights_``): what moved each claim.

    Attributes
    ----------
    claims_, sources_ : pandas.Index
        Claim and source ids (sorted).
    classes_ : numpy.ndarray or None
        The claim labels; None with per-claim candidates.
    report_labels_ : numpy.ndarray or None
        The report labels (equal to ``classes_`` unless stances differ).
    model_ : str
        The source model fitted (chosen, or forced by ``model``).
    copying_ : bool
        Whether the fit models copying.
    shared_error_ : bool
        Whether the fit models an error shared by a claim's reports.
    fidelity_params_ : numpy.ndarray or None
        ``(2,)`` Beta posterior of the fidelity, with a shared error, or
        ``(K, K)`` Dirichlet rows of the story channel by label (row: true
        label, column: the label the story tells). Its mean is learned from
        the resolved claims; its spread is too narrow (under mean field each
        unresolved claim adds about one pseudo-count), so read it as a point
        estimate.
    fidelity_ : numpy.ndarray or None
        The probability that a claim's story is true: ``(1,)``, or by label
        ``(K,)``, one a true label (the story channel's diagonal means).
    selection_ : pandas.DataFrame
        Every (model, copying, shared error) fit tried, best first: its name
        (``fit``, as ``choice_`` and the iterations' ``stage`` give it), its
        held-out log likelihood (:mod:`~credence.discovery.held_out`) and the
        standard error of its difference from the chosen fit's, its ELBO,
        information about the claims (``information``), whether it counts as having
        learned about them (``learned``: :func:`~credence.discovery.choice.learned`)
        and iterations.
    choice_ : str
        The chosen fit and why, in a sentence, and what the table is too small
        to learn though asked (priors from fewer than ten sources, a shared
        error from fewer than ten known claims).
    claim_posterior_ : numpy.ndarray
        ``(n_claims, K)`` posterior probability of each label (of each
        candidate, in ``candidate_values_`` order, for per-claim candidates),
        given the other claims
        (:func:`~credence.discovery.vb.block_held_out_posterior`).
    source_params_ : numpy.ndarray
        Posterior parameters: ``(S, 2)`` Beta ``[a, b]`` of the accuracy
        (one-coin), or ``(S, K, R)`` Dirichlet rows of the confusion matrix,
        row = claim label (two-coin: ``[positive, positive]`` is the
        sensitivity's ``a``).
    source_prior_ : numpy.ndarray
        ``(G, ...)`` prior parameters of each group of sources (learned with
        pooling); groups are ``kinds_`` or one population.
    kinds_ : numpy.ndarray or None
        Source kinds (the groups), when the table has a ``kind`` column.
    copy_params_ : numpy.ndarray or None
        ``(S, 2)`` Beta posterior of each source's copy propensity.
    copy_prior_ : numpy.ndarray or None
        ``(G, 2)`` Beta prior of copy propensities per group.
    class_params_ : numpy.ndarray or None
        Dirichlet posterior of the class prior.
    class_prior_ : numpy.ndarray or None
        Its mean.
    reliability_ : pandas.DataFrame
        Per source: number of reports, posterior means and (with copying)
        the copy propensity's posterior mean.
    report_weights_ : pandas.DataFrame
        With ``report_weights``: a row per report, by claim and in time order
        (:mod:`credence.discovery.weights`): ``claim, source, label, order``
        (its place among the claim's reports), ``claim_label`` (the claim's
        most probable label), ``log10_bf_in_order`` (the change in that
        label's log10 odds as the report is added after those before it:
        a claim's sum to its posterior log10 odds less its prior's),
        ``log10_bf_leave_one_out`` (the change when it is removed from the
        claim's reports, the others kept in order), ``probability_after``
        (that label's probability once it is added, in order) and, with
        copying, ``copy_probability`` (the posterior probability that the
        report repeats an earlier one).
    positive_index_ : int
        Index in ``classes_`` of the positive label (two labels only).
    history_ : tuple of IterationInfo
        ELBO, its relative change and the largest posterior-mean change per
        iteration.
    n_iter_ : int
    converged_ : bool
    elbo_ : float

    See Also
    --------
    credence.discovery.bridge.source_reliabilities : Sources for a case file.
    credence.discovery.dask.DaskTruthDiscovery : The same fit on a cluster.

    Examples
    --------
    >>> import pandas as pd
    >>> reports = pd.DataFrame({
    ...     "claim": ["c1", "c1", "c1", "c2", "c2", "c2"],
    ...     "source": ["a", "b", "c", "a", "b", "c"],
    ...     "label": [1, 1, 0, 0, 0, 0],
    ... })
    >>> model = TruthDiscovery().fit(reports)
    >>> model.predict().tolist()
    [1, 0]
    """

    def __new__(cls, *args: Any, **kwargs: Any):
        """Refuse unknown options, naming the valid ones, before ``__init__`` runs."""
        error = unknown_options(cls.__name__, kwargs, _init_options(cls))
        if error is not None:
            raise error
        return super().__new__(cls)

    def __init__(
        self,
        model: str | None = None,
        *,
        candidates: str = "global",
        reliability_prior: tuple[float, float] = (2.0, 1.0),
        sensitivity_prior: tuple[float, float] = (2.0, 1.0),
        false_positive_prior: tuple[float, float] = (1.0, 2.0),
        confusion_prior: tuple[float, float] = (1.0, 0.1),
        class_prior: float = 1.0,
        positive_label: Any = None,
        duplicates: str = "error",
        max_iter: int = 500,
        tol: float = 1e-6,
        pooling: bool = True,
        copying: bool | None = None,
        copy_prior: tuple[float, float] = COPY_PRIOR,
        claim_labels: Any = None,
        shared_error: bool | None = None,
        fidelity_prior: tuple[float, float] = (2.0, 1.0),
        report_weights: bool = False,
    ):
        self.model = model
        self.candidates = candidates
        self.reliability_prior = reliability_prior
        self.sensitivity_prior = sensitivity_prior
        self.false_positive_prior = false_positive_prior
        self.confusion_prior = confusion_prior
        self.class_prior = class_prior
        self.positive_label = positive_label
        self.duplicates = duplicates
        self.max_iter = max_iter
        self.tol = tol
        self.pooling = pooling
        self.copying = copying
        self.copy_prior = copy_prior
        self.claim_labels = claim_labels
        self.shared_error = shared_error
        self.fidelity_prior = fidelity_prior
        self.report_weights = report_weights

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters, as scikit-learn's ``get_params``.

        Parameters
        ----------
        deep : bool
            Ignored (no nested estimators).

        Returns
        -------
        dict
        """
        return {name: getattr(self, name) for name in _init_options(TruthDiscovery)}

    def set_params(self, **params: Any) -> TruthDiscovery:
        """Set hyperparameters, as scikit-learn's ``set_params``.

        Parameters
        ----------
        **params
            Hyperparameters by name.

        Returns
        -------
        TruthDiscovery
            ``self``.

        Raises
        ------
        TypeError
            An unknown hyperparameter (the message names the valid ones).
        """
        valid = list(self.get_params())
        error = unknown_options(f"{type(self).__name__}.set_params", params, valid)
        if error is not None:
            raise error
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = TruthDiscovery()
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if v != getattr(defaults, k)]
        return f"TruthDiscovery({', '.join(changed)})"

    # -- fitting -----------------------------------------------------------------

    def _check_params(self) -> None:
        for name, valid in (
            ("candidates", ("global", "per-claim")),
            ("duplicates", ("error", "first")),
        ):
            value = getattr(self, name)
            if not isinstance(value, str) or value not in valid:
                raise ValueError(f"{name} must be one of {', '.join(valid)}, not {shown(value)}")
        if self.model is not None and (not isinstance(self.model, str) or self.model not in MODELS):
            raise ValueError(f"model must be one of {', '.join(MODELS)}, not {shown(self.model)}")
        if self.candidates == "per-claim" and self.model not in (None, "one-coin"):
            raise ValueError(
                f"per-claim candidate sets need model='one-coin', not {self.model!r}: "
                "a confusion matrix needs one label set"
            )
        for name in (
            "reliability_prior",
            "sensitivity_prior",
            "false_positive_prior",
            "confusion_prior",
            "copy_prior",
            "fidelity_prior",
        ):
            _positive_pair(name, getattr(self, name))
        if _real("class_prior", self.class_prior) <= 0:
            raise ValueError(f"class_prior must be positive, not {self.class_prior}")
        whole_number("max_iter", self.max_iter, 1, MAX_ITER)
        if not 0 <= _real("tol", self.tol) <= 1:
            raise ValueError(f"tol must be from 0 to 1, not {self.tol}")
        if self.claim_labels is not None and self.candidates == "per-claim":
            raise ValueError("claim_labels needs candidates='global'")
        _flag("pooling", self.pooling, allow_none=False)
        _flag("report_weights", self.report_weights, allow_none=False)
        _flag("copying", self.copying, allow_none=True)
        _flag("shared_error", self.shared_error, allow_none=True, also=("label",))
        if self.shared_error == "label" and self.candidates == "per-claim":
            raise ValueError("shared_error='label' needs candidates='global'")

    def _encode(self, X: pd.DataFrame | Reports, y: Any) -> Reports:
        if isinstance(X, Reports):
            if y is not None:
                raise ValueError("give gold labels inside Reports (its gold array), not as y")
            return X
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"X must be a pandas DataFrame or Reports, not {type(X).__name__}")
        return encode_reports(
            X,
            gold=y,
            candidates=self.candidates,
            duplicates=self.duplicates,
            claim_labels=self.claim_labels,
        )

    def priors_for(
        self,
        reports: Reports,
        model: str,
        copying: bool,
        *,
        pooling: bool | None = None,
        shared: bool | str = False,
        pool_copying: bool = True,
    ) -> Priors:
        """The priors of one candidate fit of these reports.

        Parameters
        ----------
        reports : Reports
        model : str
        copying : bool
        pooling : bool, optional
            Learn the priors (default: the estimator's ``pooling``).
        shared : bool or "label", default False
            Model an error shared by each claim's reports (by label: a story
            channel by claim label).
        pool_copying : bool, default True
            With pooling, learn the copy propensities' prior too.

        Returns
        -------
        Priors

        Raises
        ------
        CaseError
            The model does not fit these labels, or its arrays would be too large.
        """
        k, r = reports.n_classes, reports.n_labels
        why = models.get(model).check(k, r, reports.label_match, reports.per_claim)
        if why:
            labels = reports.report_labels if reports.report_labels is not None else reports.classes
            shown_labels = ", ".join(map(repr, labels[:5])) if labels is not None else ""
            raise CaseError(
                f"{why} (labels: {shown_labels}{', ...' if r > 5 else ''})", "column 'label'"
            )
        positive = 1
        if k == 2 and reports.classes is not None:
            positive = self._positive_index(reports.classes)
        s = reports.n_sources
        if models.get(model).dense_cells(s, k, r):
            check_cells(
                f"{model} needs n_sources x K^2 = {s:,} x {k:,}^2 confusion entries"
                if k == r
                else f"{model} needs n_sources x K x R = {s:,} x {k:,} x {r:,} confusion entries",
                s * k * r,
                "use model='one-coin' (a confusion matrix of that size cannot be learned "
                "from these reports)",
                "column 'label'",
            )
        if copying:
            check_cells(
                f"copying needs reports x labels = {reports.n_reports:,} x {k:,}",
                reports.n_reports * k,
                "fit with copying=False",
                "column 'label'",
            )
        if shared:
            check_cells(
                f"a shared error needs claims x labels^2 = {reports.n_claims:,} x {k:,}^2",
                reports.n_claims * k * k,
                "fit with shared_error=False",
                "column 'label'",
            )
        return make_priors(
            model,
            k,
            per_claim=reports.per_claim,
            reliability=tuple(self.reliability_prior),
            sensitivity=tuple(self.sensitivity_prior),
            false_positive_rate=tuple(self.false_positive_prior),
            confusion=tuple(self.confusion_prior),
            class_prior=float(self.class_prior),
            positive=positive,
            n_labels=r,
            match=reports.label_match,
            copy=tuple(self.copy_prior) if copying else None,
            pooling=self._pools(reports) if pooling is None else bool(pooling),
            fidelity=tuple(self.fidelity_prior) if shared else None,
            fidelity_by_label=shared == "label",
            pool_copying=pool_copying,
        )

    def _positive_index(self, classes: np.ndarray) -> int:
        if self.positive_label is None:
            return 1
        match = np.flatnonzero(classes == self.positive_label)
        if match.size == 0:
            raise CaseError(
                f"positive_label {show_value(self.positive_label)} is not one of the labels "
                f"{shown(classes.tolist())}"
            )
        return int(match[0])

    def _groups(self, reports: Reports) -> np.ndarray | None:
        return reports.kind if self.pooling else None

    def _learned_groups(self, reports: Reports) -> np.ndarray:
        """Which groups' priors a pooled fit learns (:func:`~.pooling.learns`)."""
        n_groups = 1 if reports.kinds is None else len(reports.kinds)
        return learns(self._groups(reports), reports.n_sources, n_groups)

    def _pools(self, reports: Reports) -> bool:
        """Whether the fit learns a prior: pooling asked, and a group large enough."""
        return bool(self.pooling) and bool(self._learned_groups(reports).any())

    def fit(
        self,
        X: pd.DataFrame | Reports,
        y: Any = None,
        *,
        callback: Callable[[IterationInfo], None] | None = None,
    ) -> TruthDiscovery:
        """Fit claim and source posteriors to a table of reports.

        Parameters
        ----------
        X : pandas.DataFrame or Reports
            Columns ``claim, source, label`` (or ``task, worker, label``),
            optionally ``date`` and ``kind``, or reports already coded by
            :func:`~credence.discovery.table.encode_reports`.
        y : mapping, Series or DataFrame, optional
            Known labels of some claims (``{claim: label}``); those claims are
            fixed to their label and teach the sources' reliabilities.
        callback : callable, optional
            Called with an :class:`~credence.discovery.vb.IterationInfo` after
            each iteration of each candidate fit and of its held-out refits
            (progress bars).

        Returns
        -------
        TruthDiscovery
            ``self``, fitted.

        Raises
        ------
        CaseError
            Bad reports (see :func:`~credence.discovery.table.encode_reports`).
        """
        self._check_params()
        reports = self._encode(X, y)
        blocks: dict[bool, Blocks] = {}

        def data(copying: bool) -> Blocks:
            if copying not in blocks:
                blocks[copying] = Blocks(reports, copying)
            return blocks[copying]

        _, _, priors, block, result = self._fit_and_choose(
            reports, data, int((reports.gold >= 0).sum()), reports.n_claims, callback
        )
        if self.report_weights:
            posterior, rows, weights = block.posterior_and_weights(reports, result)
        else:
            posterior = block.posterior(result)
        n_reports = np.bincount(reports.source, minlength=reports.n_sources)
        self._set_fitted(reports, priors, result, posterior, n_reports)
        if self.report_weights:
            self.report_weights_ = weights_table(
                reports, posterior.argmax(axis=1), rows, weights)
        return self

    def _fit_and_choose(
        self,
        meta: Reports,
        data: Callable[[bool], Any],
        n_known: int,
        n_claims: int,
        callback: Callable[[IterationInfo], None] | None,
    ) -> tuple:
        """Fit the candidates :mod:`.choice` asks for; the chosen one.

        Parameters
        ----------
        meta : Reports
            The coded table, or (on Dask) its labels, sources and kinds.
        data : callable
            ``data(copying)``: the reports as the fits read them, with
            ``init_stats(model)``, ``step(exp)`` and ``information(result)``
            (:class:`Blocks`, or Dask's partitions).
        n_known : int
            Claims whose labels are known.
        n_claims : int
            Claims in the table.
        callback : callable, optional
            Called with each iteration's :class:`~credence.discovery.vb.IterationInfo`.

        Returns
        -------
        (model, copying, priors, data, result)
            The chosen fit; ``selection_`` and ``choice_`` are set.
        """
        tried = []

        def run(model: str, copying: bool, pooling: bool, start: int | None = None,
                shared: bool | str = False, pool_copying: bool = True) -> None:
            priors = self.priors_for(meta, model, copying, pooling=pooling, shared=shared,
                                     pool_copying=pool_copying)
            reports = data(copying)
            result = run_vb(
                priors,
                reports.init_stats(model),
                reports.step,
                group=self._groups(meta),
                max_iter=int(self.max_iter),
                tol=float(self.tol),
                callback=staged(callback, self._fit_name(priors)),
                start=None if start is None else tried[start][4],
            )
            kl, count = reports.information(result)
            # with every claim's label known there is nothing to learn about the claims
            info = kl / count if count else np.inf
            tried.append([model, copying, priors, reports, result, info, None])

        def held_out(i: int) -> np.ndarray:
            fit = tried[i]
            if fit[6] is None:
                fit[6] = fit[3].held_out(fit[4], fit[2], self._groups(meta), float(self.tol),
                                         staged(callback, f"held out, {self._fit_name(fit[2])}"))
            return fit[6]

        def scores() -> tuple[list, list, list, int]:
            folds = (
                [np.full(n_claims, np.nan)] if len(tried) == 1
                else [held_out(i) for i in range(len(tried))]
            )
            return folds, [t[5] for t in tried], [size(t[2]) for t in tried], n_claims

        # with the model left to the data, so is pooling: on some tables a pooled prior
        # merges labels the fixed prior keeps apart
        pools = self._pools(meta)
        pooling = (False, True) if pools and self.model is None else (pools,)
        search(candidate_fits(meta, self.model, self.copying), self.copying, pooling, run,
               lambda: held_out(-1), lambda: tried[-1][5])
        index, reason = choose_final(
            run, scores, lambda i: tuple(tried[i][:3]), self.shared_error, n_known,
            by_label=not meta.per_claim,
        )
        self._set_selection(
            [(t[0], t[1], t[4], t[5], t[2], f) for t, f in zip(tried, scores()[0], strict=True)],
            index, reason,
        )
        self.choice_ = "; ".join([self.choice_, *self._not_learned(meta, n_known)])
        return tuple(tried[index][:5])

    def _not_learned(self, meta: Reports, n_known: int) -> list[str]:
        """What the table is too small to learn, though asked for: priors, a shared error."""
        out = []
        if self.pooling:
            kinds = meta.kinds
            learned = self._learned_groups(meta)
            if kinds is None and not learned[0]:
                out.append(f"priors fixed: {meta.n_sources} sources, fewer than the "
                           f"{MIN_POOLED_SOURCES} a learned prior needs")
            elif kinds is not None and not learned.all():
                small = kinds[~learned].tolist()
                out.append(f"fixed priors for kind{'s' if len(small) > 1 else ''} "
                           f"{shown(small)}: fewer than the {MIN_POOLED_SOURCES} sources a "
                           "learned prior needs")
        if self.shared_error is None and 0 < n_known < MIN_KNOWN_CLAIMS:
            out.append(f"no shared error tried: {n_known} known claim"
                       f"{'s' if n_known > 1 else ''}, fewer than the {MIN_KNOWN_CLAIMS} "
                       f"it needs")
        return out

    def _fit_name(self, priors: Priors) -> str:
        """What a candidate fit is, in words (as ``choice_`` and the progress bar say)."""
        fixed = "" if priors.pooling or not self.pooling else ", fixed priors"
        if priors.pooling and priors.copy is not None and not priors.pool_copying:
            fixed = ", copy prior fixed"
        shared = ""
        if priors.fidelity is not None:
            shared = ", shared error" + (" by label" if is_channel(priors.fidelity) else "")
        copying = "with" if priors.copy is not None else "without"
        return f"{priors.model} {copying} copying{shared}{fixed}"

    def _set_selection(self, tried: list[tuple], index: int, reason: str) -> None:
        """Record the candidate fits and why the chosen one was chosen.

        ``tried``: per fit, ``(model, copying, VBResult, information, Priors,
        held-out log likelihood per claim)``; ``reason`` from :func:`.choice.choose`.
        """
        folds = [t[5] for t in tried]
        table = pd.DataFrame(
            {
                "fit": [self._fit_name(t[4]) for t in tried],
                "model": [t[0] for t in tried],
                "copying": [t[1] for t in tried],
                "shared_error": [t[4].fidelity is not None for t in tried],
                "pooled": [t[4].pooling for t in tried],
                "copy_prior_pooled": [
                    t[4].pooling and t[4].copy is not None and t[4].pool_copying for t in tried
                ],
                "held_out": [f.sum() for f in folds],
                "held_out_se": [standard_error(f - folds[index]) for f in folds],
                "elbo": [t[2].history[-1].elbo for t in tried],
                "information": [t[3] for t in tried],
                "learned": [learned(t[3]) for t in tried],
                "n_iter": [len(t[2].history) for t in tried],
                "converged": [t[2].converged for t in tried],
                "chosen": [i == index for i in range(len(tried))],
            }
        )
        key = "elbo" if table["held_out"].isna().all() else "held_out"
        table = table.sort_values(key, ascending=False, kind="stable").reset_index(drop=True)
        self.selection_ = table
        chosen = table.loc[table["chosen"]].iloc[0]

        def versus(row: Any) -> str:
            gap = row["held_out"] - chosen["held_out"]
            return f"{row['fit']}, {gap:+,.1f} ± {row['held_out_se']:,.1f}"

        if key == "elbo":
            asked = "a shared error as asked" if self.shared_error else "as asked"
            self.choice_ = f"{chosen['fit']} ({asked}; ELBO {chosen['elbo']:,.1f})"
            return
        score = f"held-out log likelihood {chosen['held_out']:,.1f} over {FOLDS} folds of claims"
        if self.shared_error not in (None, False):
            plain = table.loc[~table["shared_error"]].iloc[0]
            self.choice_ = f"{chosen['fit']} (a shared error as asked; {score}; {versus(plain)})"
            return
        others = table.loc[~table["chosen"]]
        if reason == "uninformative":
            top = table.iloc[0]
            self.choice_ = (
                f"{chosen['fit']}: the best {score} of the {int(table['learned'].sum())} fits "
                f"that learned about the claims; {versus(top)}, left every claim near the "
                f"class prior ({top['information']:.3f} nats a claim) and was set aside"
            )
        elif reason == "simpler":
            self.choice_ = (
                f"{chosen['fit']}: the simplest fit within a standard error (at least "
                f"{MIN_GAIN:g} nats a claim) of the best held-out log likelihood ({score}; "
                f"{versus(table.iloc[0])})"
            )
        else:
            self.choice_ = (
                f"{chosen['fit']}: the best of {len(table)} fits by {score} "
                f"(next {versus(others.iloc[0])})"
            )

    def _set_fitted(
        self,
        reports: Reports,
        priors: Priors,
        result: VBResult,
        posterior: np.ndarray,
        n_reports: np.ndarray,
    ) -> None:
        self.priors_ = priors
        self.model_ = priors.model
        self.copying_ = priors.copy is not None
        self.shared_error_ = priors.fidelity is not None
        self.fidelity_params_ = result.fidelity_params
        self.fidelity_ = None
        if result.fidelity_params is not None:
            means = posterior_mean(result.fidelity_params)
            self.fidelity_ = np.diagonal(means).copy() if is_channel(means) else np.array([means])
        self.claims_ = pd.Index(reports.claims, name="claim")
        self.sources_ = pd.Index(reports.sources, name="source")
        self.classes_ = reports.classes
        self.report_labels_ = (
            reports.report_labels if reports.report_labels is not None else reports.classes
        )
        self.label_match_ = reports.label_match
        self.kinds_ = reports.kinds if self.pooling else None
        self.source_group_ = (
            reports.kind if (self.pooling and reports.kind is not None)
            else np.zeros(reports.n_sources, np.intp)
        )
        self.n_candidates_ = reports.n_candidates
        self.candidate_values_ = reports.candidate_values
        self.positive_index_ = (
            self._positive_index(reports.classes)
            if reports.classes is not None and reports.classes.shape[0] == 2
            else None
        )
        self.claim_posterior_ = posterior
        self.source_params_ = result.source_params
        self.source_prior_ = result.source_prior
        self.copy_params_ = result.copy_params
        self.copy_prior_ = result.copy_prior
        self.class_params_ = result.class_params
        self.class_prior_ = (
            None if result.class_params is None else result.class_params / result.class_params.sum()
        )
        self.expectations_ = result.expectations
        self.history_ = result.history
        self.n_iter_ = len(result.history)
        self.converged_ = result.converged
        self.elbo_ = result.history[-1].elbo
        self.n_reports_ = np.asarray(n_reports, dtype=np.int64)
        self.reliability_ = self._reliability_table()

    def _reliability_table(self) -> pd.DataFrame:
        params = self.source_params_
        table = pd.DataFrame({"n_reports": self.n_reports_}, index=self.sources_)
        columns = models.get(self.model_).table(params, self.positive_index_, self.class_prior_)
        for name, values in columns.items():
            table[name] = values
        if params.ndim == 3 and params.shape[1] != params.shape[2]:
            means = params / params.sum(axis=-1, keepdims=True)
            for t, claim_label in enumerate(self.classes_):
                for r, report_label in enumerate(self.report_labels_):
                    table[f"P({report_label} | {claim_label})"] = means[:, t, r]
        if self.copy_params_ is not None:
            table["copy_propensity"] = self.copy_params_[:, 0] / self.copy_params_.sum(axis=1)
        return table

    def _check_fitted(self) -> None:
        if not hasattr(self, "claim_posterior_"):
            raise RuntimeError("this TruthDiscovery is not fitted yet: call fit first")

    # -- predicting --------------------------------------------------------------

    def _posterior_for(self, X: pd.DataFrame) -> tuple[np.ndarray, Reports]:
        """Claim posteriors for new reports, given the fitted source posteriors."""
        if self.candidates == "per-claim":
            reports = encode_reports(X, candidates=self.candidates, duplicates=self.duplicates)
        else:
            coded = encode_against(X, self.report_labels_)
            reports = Reports(
                claims=coded.claims,
                sources=coded.sources,
                classes=self.classes_,
                claim=coded.claim,
                source=coded.source,
                label=coded.label,
                n_candidates=np.full(coded.n_claims, self.classes_.shape[0], np.intp),
                candidate_values=None,
                gold=coded.gold,
                report_labels=None if self.report_labels_ is self.classes_ else self.report_labels_,
                match=self.label_match_,
                position=coded.position,
                kind=coded.kind,
                kinds=coded.kinds,
            )
        known = self.sources_.get_indexer(reports.sources)
        seen = known >= 0
        group = self._new_source_groups(reports, seen)
        params = self.source_prior_[group]  # a new source: its group's prior
        params[seen] = self.source_params_[known[seen]]
        copy = None
        if self.copying_:
            copy = self.copy_prior_[group]
            copy[seen] = self.copy_params_[known[seen]]
        # the fit did not count these claims: Bayes' rule at its posterior means
        exp = at_means(self.model_, params, self.class_params_, copy, self.fidelity_params_)
        block = block_of(reports, copying=self.copying_)
        return block_claim_posterior(block, exp), reports

    def _new_source_groups(self, reports: Reports, seen: np.ndarray) -> np.ndarray:
        """The prior group of each source of new reports (a seen source's is not used).

        Raises
        ------
        CaseError
            New sources, a fit with a prior per kind, and no kind for them (or
            one the fit did not see).
        """
        group = np.zeros(reports.n_sources, np.intp)
        kinds = self.kinds_
        if kinds is None or len(kinds) < 2 or seen.all():
            return group
        new = np.flatnonzero(~seen)
        if reports.kind is None:
            raise CaseError(
                f"this fit learned a prior per kind ({shown(kinds.tolist())}): give the new "
                f"reports a kind column for sources it did not see, such as "
                f"{show_value(reports.sources[new[0]])}"
            )
        named = pd.Index(kinds).get_indexer(reports.kinds[reports.kind[new]])
        if (named < 0).any():
            i = new[int(np.flatnonzero(named < 0)[0])]
            raise CaseError(
                f"source {show_value(reports.sources[i])} has kind "
                f"{show_value(reports.kinds[reports.kind[i]])}, which the fit did not see "
                f"({shown(kinds.tolist())}): it has no learned prior"
            )
        group[new] = named
        return group

    def predict_proba(self, X: pd.DataFrame | None = None) -> pd.DataFrame:
        """Posterior probability of each label of each claim.

        Parameters
        ----------
        X : pandas.DataFrame, optional
            New reports (any claims) to assess with the fitted reliabilities;
            sources not seen in fitting get the (pooled) prior, of their
            ``kind`` when the fit learned one per kind. Default: the fitted
            claims.

        Returns
        -------
        pandas.DataFrame
            One row per claim and one column per label; with per-claim
            candidates, long form: columns ``claim, label, probability``, one
            row per candidate.
        """
        posterior, claims, values, counts = self._claim_posterior(X)
        if self.classes_ is not None:
            columns = pd.Index(self.classes_, name="label")
            return pd.DataFrame(posterior, index=claims, columns=columns)
        valid = np.arange(posterior.shape[1]) < counts[:, None]
        rows, cols = np.nonzero(valid)
        return pd.DataFrame(
            {
                "claim": claims.to_numpy()[rows],
                "label": values[rows, cols],
                "probability": posterior[rows, cols],
            }
        )

    def _claim_posterior(self, X: pd.DataFrame | None):
        """Posterior, claims, candidate values and counts of X, or of the fitted claims."""
        self._check_fitted()
        if X is None:
            return (self.claim_posterior_, self.claims_, self.candidate_values_, self.n_candidates_)
        posterior, reports = self._posterior_for(X)
        claims = pd.Index(reports.claims, name="claim")
        return posterior, claims, reports.candidate_values, reports.n_candidates

    def predict_table(self, X: pd.DataFrame | None = None) -> pd.DataFrame:
        """The most probable label of each claim and its posterior probability.

        Parameters
        ----------
        X : pandas.DataFrame, optional
            New reports; default the fitted claims.

        Returns
        -------
        pandas.DataFrame
            Columns ``claim, label, probability``.
        """
        posterior, claims, values, _ = self._claim_posterior(X)
        claims = claims.to_numpy()
        best = posterior.argmax(axis=1)
        rows = np.arange(posterior.shape[0])
        labels = self.classes_[best] if self.classes_ is not None else values[rows, best]
        return pd.DataFrame(
            {"claim": claims, "label": labels, "probability": posterior[rows, best]}
        )

    def predict(self, X: pd.DataFrame | None = None) -> pd.Series:
        """The most probable label of each claim.

        Parameters
        ----------
        X : pandas.DataFrame, optional
            New reports; default the fitted claims.

        Returns
        -------
        pandas.Series
            Indexed by claim.
        """
        table = self.predict_table(X)
        return pd.Series(
            table["label"].to_numpy(), index=pd.Index(table["claim"], name="claim"), name="label"
        )

    def fit_predict_proba(self, X: pd.DataFrame | Reports, y: Any = None) -> pd.DataFrame:
        """Fit, then return :meth:`predict_proba` of the fitted claims.

        Parameters
        ----------
        X : pandas.DataFrame or Reports
        y : optional
            Known labels, as in :meth:`fit`.

        Returns
        -------
        pandas.DataFrame
        """
        return self.fit(X, y).predict_proba()
