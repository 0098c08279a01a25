"""Truth discovery on a Dask DataFrame or Parquet data, on a dask.distributed cluster.

The reports are shuffled so that every report of a claim lands in one
partition. Given the sources' posteriors (a few numbers per source), each
partition's E-step and its counts are then independent of the others: an
iteration sends the small posterior to every partition, gets back per-source
counts, and adds them in partition order on the client. The result equals the
in-process fit up to floating-point summation order, and a lost worker only
means its partitions are recomputed from their lineage.

Run it on a cluster by creating a client first; every computation here uses it::

    from dask.distributed import Client
    client = Client("tcp://scheduler-host:8786")
    model = DaskTruthDiscovery("two-coin").fit("s3://bucket/reports/*.parquet")
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from credence.discovery.estimator import (
    TruthDiscovery,
    candidate_fits,
    choose_final,
    information,
    search,
)
from credence.discovery.table import (
    COLUMNS,
    Reports,
    normalise_columns,
    per_claim_codes,
    validate_reports,
)
from credence.discovery.vb import (
    Block,
    IterationInfo,
    block_claim_posterior,
    block_init_stats,
    block_step,
    join_fits,
    make_block,
    run_vb,
    sum_stats,
)
from credence.errors import CaseError
from credence.options import whole_number

__all__ = ["DaskTruthDiscovery"]


@dataclass(frozen=True, eq=False)
class _Part:
    """One partition's claims, coded."""

    block: Block
    claims: np.ndarray
    candidate_values: np.ndarray | None


def _code_partition(
    df: pd.DataFrame,
    sources: np.ndarray,
    classes: np.ndarray,
    gold: Mapping[Any, Any] | None,
    per_claim: bool,
    duplicates: str,
) -> _Part:
    df = df.sort_values("_position", kind="stable")
    if len(df):
        validate_reports(df[list(COLUMNS)], duplicates=duplicates)
    claim, claims = pd.factorize(df["claim"], sort=True)
    claim = claim.astype(np.intp)
    claims = np.asarray(claims)
    source = np.searchsorted(sources, df["source"].to_numpy()).astype(np.intp)
    label = np.searchsorted(classes, df["label"].to_numpy()).astype(np.intp)
    position = df["_position"].to_numpy()
    key = pd.Series(claim * np.intp(sources.shape[0]) + source)
    repeated = key.duplicated(keep="first").to_numpy()
    if repeated.any():
        if duplicates == "error":
            i = int(np.flatnonzero(repeated)[0])
            raise CaseError(
                f"source {sources[source[i]]!r} reports on claim {claims[claim[i]]!r} twice; "
                "duplicate (claim, source) rows"
            )
        claim, source, label = claim[~repeated], source[~repeated], label[~repeated]
        position = position[~repeated]
    n_claims = claims.shape[0]
    candidate_values = None
    if per_claim:
        label, n_candidates, candidate_values = per_claim_codes(claim, label, classes, n_claims)
        k = int(n_candidates.max()) if n_claims else 1
    else:
        n_candidates, k = None, classes.shape[0]
    gold_codes = np.full(n_claims, -1, np.intp)
    if gold:
        for i, c in enumerate(claims):
            if c in gold:
                options = classes if candidate_values is None else candidate_values[i]
                match = np.flatnonzero(options == gold[c])
                if match.size == 0:
                    raise CaseError(
                        f"gold label {gold[c]!r} of claim {c!r} is not a possible label"
                    )
                gold_codes[i] = match[0]
    block = make_block(
        claim,
        source,
        label,
        n_claims=n_claims,
        n_sources=sources.shape[0],
        n_classes=k,
        gold=gold_codes,
        n_candidates=n_candidates,
        position=position,
    )
    return _Part(block=block, claims=claims, candidate_values=candidate_values)


def _init(part: _Part, model: str, per_claim: bool) -> tuple[np.ndarray, ...]:
    source, classes, copies, fidelity = block_init_stats(part.block, model)
    classes = np.zeros(0) if per_claim else classes
    return source, classes, copies, fidelity, part.block.source_total


def _step(part: _Part, exp: Any, per_claim: bool) -> tuple[np.ndarray, ...]:
    source, classes, copies, fidelity, log_z = block_step(part.block, exp)
    return source, (np.zeros(0) if per_claim else classes), copies, fidelity, log_z


def _information(part: _Part, exp: Any, class_params: Any) -> tuple[float, int]:
    q = block_claim_posterior(part.block, exp)
    return information(q, class_params, part.block.gold)


def _posterior(part: _Part, exp: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    return part.claims, block_claim_posterior(part.block, exp), part.candidate_values


class DaskTruthDiscovery(TruthDiscovery):
    """:class:`~credence.discovery.TruthDiscovery` fitted with Dask.

    Same parameters, attributes and results (within floating-point summation
    order, 1e-8); ``fit`` takes a ``dask.dataframe.DataFrame`` or a Parquet
    path and runs on the current dask.distributed client if there is one (else
    Dask's default scheduler).

    Parameters
    ----------
    model, candidates, reliability_prior, sensitivity_prior, false_positive_prior, \
confusion_prior, class_prior, positive_label, duplicates, max_iter, tol
        As :class:`~credence.discovery.TruthDiscovery`.
    npartitions : int, optional
        Partitions after shuffling by claim (default: as the input).

    See Also
    --------
    credence.discovery.TruthDiscovery
    """

    def __init__(self, model: str | None = None, *, npartitions: int | None = None, **kwargs: Any):
        super().__init__(model, **kwargs)
        self.npartitions = npartitions

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters, as scikit-learn's ``get_params``.

        Parameters
        ----------
        deep : bool
            Ignored.

        Returns
        -------
        dict
        """
        return {**super().get_params(deep), "npartitions": self.npartitions}

    def set_params(self, **params: Any) -> DaskTruthDiscovery:
        """Set hyperparameters.

        Parameters
        ----------
        **params
            Hyperparameters by name.

        Returns
        -------
        DaskTruthDiscovery
        """
        if "npartitions" in params:
            self.npartitions = params.pop("npartitions")
        super().set_params(**params)
        return self

    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        callback: Callable[[IterationInfo], None] | None = None,
    ) -> DaskTruthDiscovery:
        """Fit on a Dask DataFrame or Parquet data.

        Parameters
        ----------
        X : dask.dataframe.DataFrame, pandas.DataFrame, str or path-like
            Reports with columns ``claim, source, label`` (or ``task, worker,
            label``); a path is read with ``dask.dataframe.read_parquet``.
        y : mapping or Series, optional
            Known labels of some claims.
        callback : callable, optional
            Called with each iteration's :class:`~credence.discovery.vb.IterationInfo`.

        Returns
        -------
        DaskTruthDiscovery
            ``self``, fitted.

        Raises
        ------
        CaseError
            Bad reports: missing columns or values, a single label, duplicates.
        """
        import dask
        import dask.dataframe as dd

        self._check_params()
        if self.npartitions is not None:
            whole_number("npartitions", self.npartitions, 1, 100_000)
        if isinstance(X, str | os.PathLike):
            X = dd.read_parquet(X)
        elif isinstance(X, pd.DataFrame):
            X = dd.from_pandas(X, npartitions=max(1, self.npartitions or 1))
        # the table's own reader names and checks the columns; each partition's
        # rows are checked by it too (validate_reports), after the shuffle by claim
        named = normalise_columns(X._meta).attrs["columns"]
        X = X[[named[c] for c in COLUMNS]]
        X.columns = list(COLUMNS)
        X = X.assign(_position=1)
        X["_position"] = X["_position"].cumsum()
        n_rows, sources, classes = dask.compute(
            X.shape[0], X["source"].dropna().unique(), X["label"].dropna().unique()
        )
        if n_rows == 0:
            raise CaseError("the table has no reports")
        try:
            sources, classes = np.sort(np.asarray(sources)), np.sort(np.asarray(classes))
        except TypeError:
            raise CaseError("a column mixes types; give every id one type") from None
        if classes.shape[0] < 2:
            raise CaseError(f"every report has the label {classes[0]!r}: need two classes")
        per_claim = self.candidates == "per-claim"
        gold = None if y is None else (dict(y.items()) if isinstance(y, pd.Series) else dict(y))
        shuffled = X.shuffle(on="claim", npartitions=self.npartitions or X.npartitions)
        coded = [
            dask.delayed(_code_partition)(p, sources, classes, gold, per_claim, self.duplicates)
            for p in shuffled.to_delayed()
        ]
        parts = dask.persist(*coded)
        first = dask.compute(*[dask.delayed(_init)(p, "one-coin", per_claim) for p in parts])
        n_reports = sum_stats(first)[4]
        k = (
            int(max(p.block.n_classes for p in dask.compute(*parts)))
            if per_claim
            else (classes.shape[0])
        )
        meta = Reports(
            claims=np.empty(0),
            sources=sources,
            classes=None if per_claim else classes,
            claim=np.empty(0, np.intp),
            source=np.empty(0, np.intp),
            label=np.empty(0, np.intp),
            n_candidates=np.array([k], np.intp),
            candidate_values=None,
            gold=np.empty(0, np.intp),
        )
        tried = []

        def fit_one(model: str, copying: bool, pooling: bool, start: int | None = None,
                    max_iter: int | None = None, extend: bool = False,
                    shared: bool = False) -> bool:
            priors = self.priors_for(meta, model, copying, pooling=pooling, shared=shared)
            first = dask.compute(*[dask.delayed(_init)(p, model, per_claim) for p in parts])
            init = sum_stats(first)[:4]

            def step(exp: Any) -> tuple[np.ndarray, ...]:
                tasks = [dask.delayed(_step)(p, exp, per_claim) for p in parts]
                return sum_stats(dask.compute(*tasks))

            cap = int(self.max_iter) - (len(tried[start][3].history) if extend else 0)
            if cap <= 0:
                return False
            result = run_vb(
                priors,
                init,
                step,
                max_iter=cap if max_iter is None else min(max_iter, cap),
                tol=float(self.tol),
                callback=callback,
                start=None if start is None else tried[start][3],
            )
            if extend:
                result = join_fits(tried.pop(start)[3], result)
            parts_info = dask.compute(
                *[dask.delayed(_information)(p, result.expectations, result.class_params)
                  for p in parts]
            )
            kl, count = sum_stats(parts_info)
            tried.append((model, copying, priors, result, kl / max(count, 1)))
            return result.converged

        search(candidate_fits(meta, self.model, self.copying), self.copying,
               bool(self.pooling), fit_one, lambda: (tried[-1][3].history[-1].elbo, tried[-1][4]))
        index, set_aside = choose_final(
            fit_one,
            lambda: ([t[3].history[-1].elbo for t in tried], [t[4] for t in tried]),
            lambda i: (tried[i][0], tried[i][1], tried[i][2].pooling),
            self.shared_error,
            bool(gold),
        )
        model, copying, priors, result, _ = tried[index]
        outputs = dask.compute(*[dask.delayed(_posterior)(p, result.expectations) for p in parts])
        claims, posterior, values = _assemble(outputs, k)
        meta = Reports(
            claims=claims,
            sources=sources,
            classes=meta.classes,
            claim=meta.claim,
            source=meta.source,
            label=meta.label,
            n_candidates=_count_candidates(values, claims, meta.classes),
            candidate_values=values,
            gold=meta.gold,
        )
        self._set_fitted(meta, priors, result, posterior, n_reports)
        self._set_selection(
            [(t[0], t[1], t[3], t[4], t[2].pooling, t[2].fidelity is not None) for t in tried],
            index,
            set_aside,
        )
        return self


def _count_candidates(values: Any, claims: np.ndarray, classes: Any) -> np.ndarray:
    if classes is not None:
        return np.full(claims.shape[0], classes.shape[0], np.intp)
    return np.array([sum(v is not None for v in row) for row in values], np.intp)


def _assemble(outputs: Any, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Concatenate per-partition claim posteriors, in sorted claim order."""
    outputs = [o for o in outputs if o[0].shape[0]]
    claims = np.concatenate([o[0] for o in outputs])
    posterior = np.zeros((claims.shape[0], k))
    values = None if outputs[0][2] is None else np.full((claims.shape[0], k), None, object)
    row = 0
    for part_claims, q, part_values in outputs:
        n = part_claims.shape[0]
        posterior[row : row + n, : q.shape[1]] = q
        if values is not None:
            values[row : row + n, : part_values.shape[1]] = part_values
        row += n
    order = np.argsort(claims, kind="stable")
    return claims[order], posterior[order], None if values is None else values[order]
