"""The truth-discovery estimator, scikit-learn style."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from credence.discovery.table import Reports, _show, check_cells, encode_reports
from credence.discovery.vb import (
    MODELS,
    Block,
    IterationInfo,
    Priors,
    VBResult,
    block_claim_posterior,
    block_init_stats,
    block_step,
    expectations,
    make_block,
    make_priors,
    run_vb,
)
from credence.errors import CaseError, shown
from credence.options import MAX_ITER, unknown_options, whole_number

__all__ = ["MAX_ITER", "TruthDiscovery"]


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


class TruthDiscovery:
    """Learn claims' truths and sources' reliabilities jointly from many reports.

    Mean-field variational Bayes (see :mod:`credence.discovery.vb`): every
    source's reliability gets a Beta or Dirichlet posterior, so a source seen
    once has a wide posterior near its prior, not a point estimate of 0 or 1.

    Parameters
    ----------
    model : {"one-coin", "two-coin", "dawid-skene"}, default "one-coin"
        One accuracy per source; a sensitivity and a false-positive rate per
        source (two labels); or a full confusion matrix per source.
    candidates : {"global", "per-claim"}, default "global"
        One label set for all claims, or each claim's own candidate set made
        of the values asserted for it (conflicting values; one-coin only).
    reliability_prior : (a, b), default (2, 1)
        One-coin accuracy prior Beta(a, b) (mean 2/3).
    sensitivity_prior, false_positive_prior : (a, b), default (2, 1), (1, 2)
        Two-coin priors.
    confusion_prior : (diagonal, off-diagonal), default (1, 0.1)
        Dirichlet parameters of each confusion-matrix row (Dawid–Skene): a
        small total pseudo-count that favours the diagonal, so sparse
        sources' rows are not pulled towards uniform (see
        :func:`~credence.discovery.vb.make_priors`).
    class_prior : float, default 1
        Symmetric Dirichlet parameter of the class prior.
    positive_label : optional
        The label that means "the claim is true" (two-coin); default the
        larger of the two labels (1, True, "true", "yes", "supports").
    duplicates : {"error", "first"}, default "error"
        A source reporting twice on one claim: stop, or keep the first report.
    max_iter : int, default 500
    tol : float, default 1e-6
        Converged when an iteration raises the evidence lower bound (ELBO) by
        at most ``tol`` times its magnitude (see :func:`~credence.discovery.vb.run_vb`).

    Attributes
    ----------
    claims_, sources_ : pandas.Index
        Claim and source ids (sorted).
    classes_ : numpy.ndarray or None
        The label set; None with per-claim candidates.
    claim_posterior_ : numpy.ndarray
        ``(n_claims, K)`` posterior probability of each label (of each
        candidate, in ``candidate_values_`` order, for per-claim candidates).
    source_params_ : numpy.ndarray
        Posterior parameters: ``(S, 2)`` Beta ``[a, b]`` of the accuracy
        (one-coin), or ``(S, K, K)`` Dirichlet rows of the confusion matrix,
        row = true label (two-coin: ``[positive, positive]`` is the
        sensitivity's ``a``).
    class_params_ : numpy.ndarray or None
        Dirichlet posterior of the class prior.
    class_prior_ : numpy.ndarray or None
        Its mean.
    reliability_ : pandas.DataFrame
        Per source: number of reports and posterior means.
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
        model: str = "one-coin",
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
            ("model", MODELS),
            ("candidates", ("global", "per-claim")),
            ("duplicates", ("error", "first")),
        ):
            value = getattr(self, name)
            if not isinstance(value, str) or value not in valid:
                raise ValueError(f"{name} must be one of {', '.join(valid)}, not {shown(value)}")
        if self.candidates == "per-claim" and self.model != "one-coin":
            raise ValueError(
                f"per-claim candidate sets need model='one-coin', not {self.model!r}: "
                "a confusion matrix needs one label set"
            )
        for name in (
            "reliability_prior",
            "sensitivity_prior",
            "false_positive_prior",
            "confusion_prior",
        ):
            _positive_pair(name, getattr(self, name))
        if _real("class_prior", self.class_prior) <= 0:
            raise ValueError(f"class_prior must be positive, not {self.class_prior}")
        whole_number("max_iter", self.max_iter, 1, MAX_ITER)
        if not 0 <= _real("tol", self.tol) <= 1:
            raise ValueError(f"tol must be from 0 to 1, not {self.tol}")

    def _encode(self, X: pd.DataFrame | Reports, y: Any) -> Reports:
        if isinstance(X, Reports):
            if y is not None:
                raise ValueError("give gold labels inside Reports (its gold array), not as y")
            return X
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"X must be a pandas DataFrame or Reports, not {type(X).__name__}")
        return encode_reports(X, gold=y, candidates=self.candidates, duplicates=self.duplicates)

    def _priors(self, reports: Reports) -> Priors:
        k = reports.n_classes
        positive = 1
        if self.model == "two-coin" and k != 2:
            raise CaseError(
                f"the two-coin model needs exactly two labels; found {k} "
                f"({', '.join(map(repr, reports.classes[:5]))}{', ...' if k > 5 else ''}); "
                "use model='dawid-skene' or 'one-coin'",
                "column 'label'",
            )
        if k == 2 and reports.classes is not None:
            positive = self._positive_index(reports.classes)
        if self.model != "one-coin":
            s = reports.n_sources
            check_cells(
                f"{self.model} needs n_sources x K^2 = {s:,} x {k:,}^2 confusion entries",
                s * k * k,
                "use model='one-coin' (a confusion matrix of that size cannot be learned "
                "from these reports)",
                "column 'label'",
            )
        return make_priors(
            self.model,
            k,
            per_claim=reports.per_claim,
            reliability=tuple(self.reliability_prior),
            sensitivity=tuple(self.sensitivity_prior),
            false_positive_rate=tuple(self.false_positive_prior),
            confusion=tuple(self.confusion_prior),
            class_prior=float(self.class_prior),
            positive=positive,
        )

    def _positive_index(self, classes: np.ndarray) -> int:
        if self.positive_label is None:
            return 1
        match = np.flatnonzero(classes == self.positive_label)
        if match.size == 0:
            raise CaseError(
                f"positive_label {_show(self.positive_label)} is not one of the labels "
                f"{shown(classes.tolist())}"
            )
        return int(match[0])

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
            Columns ``claim, source, label`` (or ``task, worker, label``), or
            reports already coded by :func:`~credence.discovery.table.encode_reports`.
        y : mapping, Series or DataFrame, optional
            Known labels of some claims (``{claim: label}``); those claims are
            fixed to their label and teach the sources' reliabilities.
        callback : callable, optional
            Called with an :class:`~credence.discovery.vb.IterationInfo` after
            each iteration (progress bars).

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
        priors = self._priors(reports)
        block = _block(reports)
        result = run_vb(
            priors,
            block_init_stats(block, priors.model),
            lambda exp: block_step(block, exp),
            max_iter=int(self.max_iter),
            tol=float(self.tol),
            callback=callback,
        )
        posterior = block_claim_posterior(block, result.expectations)
        n_reports = np.bincount(reports.source, minlength=reports.n_sources)
        self._set_fitted(reports, priors, result, posterior, n_reports)
        return self

    def _set_fitted(
        self,
        reports: Reports,
        priors: Priors,
        result: VBResult,
        posterior: np.ndarray,
        n_reports: np.ndarray,
    ) -> None:
        self.priors_ = priors
        self.claims_ = pd.Index(reports.claims, name="claim")
        self.sources_ = pd.Index(reports.sources, name="source")
        self.classes_ = reports.classes
        self.n_candidates_ = reports.n_candidates
        self.candidate_values_ = reports.candidate_values
        self.positive_index_ = (
            self._positive_index(reports.classes)
            if reports.classes is not None and reports.classes.shape[0] == 2
            else None
        )
        self.claim_posterior_ = posterior
        self.source_params_ = result.source_params
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
        if self.model == "one-coin":
            table["accuracy"] = params[:, 0] / params.sum(axis=1)
            table["a"], table["b"] = params[:, 0], params[:, 1]
            return table
        means = params / params.sum(axis=-1, keepdims=True)
        if self.model == "two-coin":
            p, n = self.positive_index_, 1 - self.positive_index_
            table["sensitivity"] = means[:, p, p]
            table["false_positive_rate"] = means[:, n, p]
            return table
        weights = self.class_prior_
        table["accuracy"] = np.einsum("skk,k->s", means, weights)
        return table

    def _check_fitted(self) -> None:
        if not hasattr(self, "claim_posterior_"):
            raise RuntimeError("this TruthDiscovery is not fitted yet: call fit first")

    # -- predicting --------------------------------------------------------------

    def _posterior_for(self, X: pd.DataFrame) -> tuple[np.ndarray, Reports]:
        """Claim posteriors for new reports, given the fitted source posteriors."""
        reports = (
            encode_reports(X, candidates=self.candidates, duplicates=self.duplicates)
            if self.candidates == "per-claim"
            else _encode_with_classes(X, self)
        )
        known = self.sources_.get_indexer(reports.sources)
        prior = self.priors_.source
        params = np.broadcast_to(prior, (reports.n_sources, *prior.shape)).copy()
        params[known >= 0] = self.source_params_[known[known >= 0]]
        exp = expectations(self.model, params, self.class_params_)
        return block_claim_posterior(_block(reports), exp), reports

    def predict_proba(self, X: pd.DataFrame | None = None) -> pd.DataFrame:
        """Posterior probability of each label of each claim.

        Parameters
        ----------
        X : pandas.DataFrame, optional
            New reports (any claims) to assess with the fitted reliabilities;
            sources not seen in fitting get the prior. Default: the fitted claims.

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


def _block(reports: Reports) -> Block:
    return make_block(
        reports.claim,
        reports.source,
        reports.label,
        n_claims=reports.n_claims,
        n_sources=reports.n_sources,
        n_classes=reports.n_classes,
        gold=reports.gold,
        n_candidates=reports.n_candidates if reports.per_claim else None,
    )


def _encode_with_classes(X: pd.DataFrame, model: TruthDiscovery) -> Reports:
    """Code new reports against the fitted label set (which may have unseen labels)."""
    from credence.discovery.table import (
        COLUMNS,
        _check_values,
        _factorize,
        _place,
        _Problems,
        normalise_columns,
    )

    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"X must be a pandas DataFrame, not {type(X).__name__}")
    df = normalise_columns(X)
    problems = _Problems(df.attrs.get("path"))
    if len(df) == 0:
        raise CaseError("the table has no reports", path=problems.path)
    _check_values(df, COLUMNS, problems)
    problems.check()
    label = pd.Index(model.classes_).get_indexer(df["label"])
    for i in np.flatnonzero(label < 0)[:1000]:
        bad = df["label"].iloc[int(i)]
        problems.add(f"label {_show(bad)} was not seen in fitting", **_place(df, int(i), "label"))
    problems.check()
    claim, claims = _factorize(df["claim"])
    source, sources = _factorize(df["source"])
    k = model.classes_.shape[0]
    return Reports(
        claims=claims,
        sources=sources,
        classes=model.classes_,
        claim=claim,
        source=source,
        label=label.astype(np.intp),
        n_candidates=np.full(claims.shape[0], k, np.intp),
        candidate_values=None,
        gold=np.full(claims.shape[0], -1, np.intp),
    )
