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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from credence.discovery.choice import block_information
from credence.discovery.estimator import TruthDiscovery
from credence.discovery.held_out import claim_folds, held_out, split_block
from credence.discovery.table import (
    COLUMNS,
    OPTIONAL,
    Reports,
    check_kinds,
    gold_codes,
    label_sets,
    merge_errors,
    normalise_columns,
    per_claim_codes,
    validate_piece,
)
from credence.discovery.vb import (
    Block,
    IterationInfo,
    block_held_out_posterior,
    block_init_stats,
    block_step,
    make_block,
    sum_stats,
)
from credence.discovery.weights import block_report_weights, weights_table
from credence.errors import CaseError, shown
from credence.options import whole_number

__all__ = ["DaskTruthDiscovery"]


@dataclass(frozen=True, eq=False)
class _Part:
    """One partition's claims, coded."""

    block: Block
    claims: np.ndarray
    candidate_values: np.ndarray | None
    kinds: pd.DataFrame | None  # (source, kind, _position) of each pair's first row


@dataclass(frozen=True, eq=False)
class _Labels:
    """The label sets of the whole table, as :func:`~credence.discovery.table.label_sets` chose."""

    values: np.ndarray  # the report labels, sorted: reports' label codes index them
    classes: np.ndarray | None  # the claim labels; None for per-claim candidates
    report_labels: np.ndarray | None
    match: np.ndarray | None


def _checked(df: pd.DataFrame, duplicates: str, attrs: dict[str, Any]) -> tuple:
    """One partition in table order, checked by the table's own validator; its time ranks.

    Every problem but a source given two kinds (the client checks that across
    partitions: a source reports on claims of many).
    """
    df = df.sort_values("_position", kind="stable")
    df.attrs = dict(attrs)  # the path and column names, for messages
    return df, validate_piece(df, duplicates=duplicates)


def _check_partition(
    df: pd.DataFrame, duplicates: str, attrs: dict[str, Any]
) -> CaseError | None:
    try:
        _checked(df, duplicates, attrs)
    except CaseError as error:
        return error
    return None


def _raise_problems(found: Sequence[Any], path: str | None) -> None:
    """Every partition's problems in one error (each partition's in its rows' order)."""
    errors = [f for f in found if isinstance(f, CaseError)]
    if errors:
        raise merge_errors(errors, path)


def _code_partition(
    df: pd.DataFrame,
    sources: np.ndarray,
    labels: _Labels,
    gold: Any,
    duplicates: str,
    attrs: dict[str, Any],
) -> _Part | CaseError:
    """Check and code one partition, which holds every report of its claims.

    Codes index the whole table's sources and labels; the reports on a claim
    keep their time order (``date``, then table order) for copying. A
    partition with problems returns them (a CaseError), for the client to
    list with every other partition's.
    """
    try:
        df, order = _checked(df, duplicates, attrs)
    except CaseError as error:
        return error
    claim, claims = pd.factorize(df["claim"], sort=True)
    claim = claim.astype(np.intp)
    claims = np.asarray(claims)
    source = np.searchsorted(sources, df["source"].to_numpy()).astype(np.intp)
    label = np.searchsorted(labels.values, df["label"].to_numpy()).astype(np.intp)
    if duplicates == "first":  # with "error", validate_piece refused repeats
        keep = ~pd.Series(claim * np.intp(sources.shape[0]) + source).duplicated().to_numpy()
        claim, source, label, order = claim[keep], source[keep], label[keep], order[keep]
    n_claims = claims.shape[0]
    candidate_values = None
    if labels.classes is None:
        if n_claims:
            label, n_candidates, candidate_values = per_claim_codes(
                claim, label, labels.values, n_claims
            )
        else:  # a partition the shuffle left empty (the fit leaves it out)
            n_candidates, candidate_values = np.zeros(0, np.intp), np.full((0, 1), None)
        k = int(n_candidates.max(initial=1))
        n_labels = match = None
    else:
        n_candidates, k = None, labels.classes.shape[0]
        n_labels, match = labels.values.shape[0], labels.match
    block = make_block(
        claim,
        source,
        label,
        n_claims=n_claims,
        n_sources=sources.shape[0],
        n_classes=k,
        gold=gold_codes(gold, claims, labels.classes, candidate_values),
        n_candidates=n_candidates,
        n_labels=n_labels,
        match=match,
        position=order,
    )
    kinds = None
    if "kind" in df.columns:
        kinds = df[["source", "kind", "_position"]].drop_duplicates(["source", "kind"])
    return _Part(block=block, claims=claims, candidate_values=candidate_values, kinds=kinds)


def _facts(part: _Part | CaseError) -> tuple | CaseError:
    """A partition's width, known claims, kinds, reports per source and claims.

    (Or the partition's problems.)
    """
    if isinstance(part, CaseError):
        return part
    block = part.block
    return (block.n_classes, int((block.gold >= 0).sum()), part.kinds, (block.source_total,),
            block.n_claims)


def _kinds(
    X: Any, pairs: list[pd.DataFrame], sources: np.ndarray, attrs: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Each source's kind code and the kinds, from the partitions' (source, kind) pairs.

    A source's kind is that of its first row; rows that give it another are
    refused by the table's own check, worded and ordered as in process.
    """
    pairs = pd.concat(pairs).sort_values("_position", kind="stable")
    firsts = pairs.drop_duplicates("source")
    first = pd.Series(firsts["kind"].to_numpy(), index=firsts["source"].to_numpy())
    if len(pairs.drop_duplicates(["source", "kind"])) > len(firsts):
        rows = X.map_partitions(_other_kind, first, meta=X._meta).compute()
        rows = rows.sort_values("_position", kind="stable")
        rows.attrs = dict(attrs)
        check_kinds(rows, first)
    kinds = _sorted(pairs["kind"].unique(), attrs["columns"]["kind"], attrs["path"])
    return np.searchsorted(kinds, first.reindex(sources).to_numpy()).astype(np.intp), kinds


def _other_kind(df: pd.DataFrame, first: pd.Series) -> pd.DataFrame:
    """The rows whose kind is not their source's first."""
    return df[df["kind"].to_numpy() != first.reindex(df["source"].to_numpy()).to_numpy()]


def _row_index(df: pd.DataFrame) -> pd.DataFrame:
    """Rows named by their number in the data from 1, as the table reader names Parquet rows."""
    return df.set_axis(pd.Index(df["_position"].to_numpy(), name="row"), axis=0)


def _sorted(values: Any, column: str, path: str | None) -> np.ndarray:
    """Distinct values, sorted; a CaseError, worded as the table reader's, for mixed types."""
    values = np.asarray(values)
    try:
        return np.sort(values)
    except TypeError:
        types = sorted({type(v).__name__ for v in values[:10_000]})
        raise CaseError(
            f"mixes types ({', '.join(types)}); give every value one type, e.g. all text",
            f"column {shown(column)}",
            path,
        ) from None


def _init(part: _Part, model: str, per_claim: bool) -> tuple[np.ndarray, ...]:
    source, classes, copies, fidelity = block_init_stats(part.block, model)
    return source, (np.zeros(0) if per_claim else classes), copies, fidelity


def _step(part: _Part, exp: Any, per_claim: bool) -> tuple[np.ndarray, ...]:
    source, classes, copies, fidelity, log_z = block_step(part.block, exp)
    return source, (np.zeros(0) if per_claim else classes), copies, fidelity, log_z


def _information(part: _Part, result: Any) -> tuple[float, int]:
    return block_information(part.block, result)


@dataclass(frozen=True, eq=False)
class _Partitions:
    """The coded partitions as a fit reads them: each step's counts summed on the client."""

    parts: tuple
    per_claim: bool

    def _sum(self, fn: Callable[..., Any], *args: Any) -> tuple:
        import dask

        return sum_stats(dask.compute(*[dask.delayed(fn)(p, *args) for p in self.parts]))

    def init_stats(self, model: str) -> tuple[np.ndarray, ...]:
        return self._sum(_init, model, self.per_claim)

    def step(self, exp: Any) -> tuple[np.ndarray, ...]:
        return self._sum(_step, exp, self.per_claim)

    def information(self, result: Any) -> tuple[float, int]:
        return self._sum(_information, result)

    def held_out(
        self, result: Any, priors: Any, group: Any, tol: float, callback: Any = None
    ) -> np.ndarray:
        import dask

        def fold_pieces(held: int) -> Callable[..., Any]:
            pieces = dask.persist(*[dask.delayed(_split)(p, held) for p in self.parts])
            return lambda fn: list(dask.compute(*[dask.delayed(fn)(p) for p in pieces]))

        return held_out(fold_pieces, result, priors, group, tol, callback)


def _split(part: _Part, held: int) -> tuple:
    """A partition's claims in fold ``held``, and the rest."""
    return split_block(part.block, claim_folds(part.claims), held)


def _posterior(
    part: _Part, result: Any, meta: Reports | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, pd.DataFrame | None]:
    """A partition's claims and their posteriors; given ``meta``, its reports' weights too."""
    block = part.block
    if meta is None:
        return part.claims, block_held_out_posterior(block, result), part.candidate_values, None
    posterior, weights = block_report_weights(block, result)
    reports = replace(
        meta, claims=part.claims, claim=block.claim, source=block.source, label=block.label,
        candidate_values=part.candidate_values,
    )
    table = weights_table(reports, posterior.argmax(axis=1), np.arange(block.claim.shape[0]),
                          weights)
    return part.claims, posterior, part.candidate_values, table


class DaskTruthDiscovery(TruthDiscovery):
    """:class:`~credence.discovery.TruthDiscovery` fitted with Dask.

    Same parameters, attributes and results (within floating-point summation
    order, 1e-8); ``fit`` takes a ``dask.dataframe.DataFrame`` or a Parquet
    path and runs on the current dask.distributed client if there is one (else
    Dask's default scheduler).

    Parameters
    ----------
    model, candidates, reliability_prior, sensitivity_prior, false_positive_prior, \
confusion_prior, class_prior, positive_label, duplicates, max_iter, tol, pooling, copying, \
copy_prior, claim_labels, shared_error, fidelity_prior, report_weights
        As :class:`~credence.discovery.TruthDiscovery`; the table's ``date``
        and ``kind`` columns are read as it reads them. Report weights are
        computed partition by partition and gathered on the client.
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
            label``), optionally ``date`` and ``kind``, as
            :meth:`TruthDiscovery.fit <credence.discovery.TruthDiscovery.fit>`
            reads them; a path is read with ``dask.dataframe.read_parquet``.
            The table's order is the rows' order (for Parquet, the files').
        y : mapping, Series or DataFrame, optional
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
            Bad reports, as :func:`~credence.discovery.table.encode_reports`
            words them: missing columns or values, a bad date, a source given
            two kinds, a single label, duplicates, a gold label that is not a
            possible label. Every partition's problems are listed together
            (partition by partition), up to the bound the in-process check keeps.
        """
        import dask
        import dask.dataframe as dd

        self._check_params()
        if self.npartitions is not None:
            whole_number("npartitions", self.npartitions, 1, 100_000)
        path = None
        if isinstance(X, str | os.PathLike):
            path = os.fsdecode(os.fspath(X))
            X = dd.read_parquet(X)
        elif isinstance(X, pd.DataFrame):  # sort=False: keep the rows' order
            X = dd.from_pandas(X, npartitions=max(1, self.npartitions or 1), sort=False)
        # the table's own reader names and checks the columns (messages name them as
        # its attrs do, for a table it read); each partition's rows are checked by it
        # too (validate_piece), after the shuffle by claim
        given = X._meta
        shown_names = normalise_columns(given).attrs["columns"]
        bare = given.iloc[:0]
        bare.attrs = {}
        names = normalise_columns(bare).attrs["columns"]  # the columns as they are named
        present = [c for c in (*COLUMNS, *OPTIONAL) if c in names]
        positions = [str(c) for c in X.columns]
        X = X.iloc[:, [positions.index(names[c]) for c in present]]
        X.columns = present
        X = X.assign(_position=1)
        X["_position"] = X["_position"].cumsum()  # table order
        if path is not None:  # rows numbered from 1, as the table reader numbers Parquet rows
            X = X.map_partitions(_row_index, clear_divisions=True)
        else:
            path = given.attrs.get("path")
        attrs = {"path": path, "columns": {c: str(shown_names[c]) for c in present}}
        n_rows, sources, values = dask.compute(
            X.shape[0], X["source"].dropna().unique(), X["label"].dropna().unique()
        )
        if n_rows == 0:
            raise CaseError("the table has no reports", path=path)
        per_claim = self.candidates == "per-claim"
        shuffled = X.shuffle(on="claim", npartitions=self.npartitions or X.npartitions)
        pieces = shuffled.to_delayed()
        try:
            sources = _sorted(sources, attrs["columns"]["source"], path)
            values = _sorted(values, attrs["columns"]["label"], path)
            classes, report_labels, match = label_sets(
                values,
                claim_labels=self.claim_labels,
                gold=y,
                candidates=self.candidates,
                column=attrs["columns"]["label"],
                path=path,
            )
        except CaseError:  # the rows' problems come first, as in process
            _raise_problems(dask.compute(
                *[dask.delayed(_check_partition)(p, self.duplicates, attrs) for p in pieces]
            ), path)
            raise
        labels = _Labels(values, None if per_claim else classes, report_labels, match)
        # one graph key each, shared by every partition's task
        shared_sources = dask.delayed(sources, traverse=False)
        gold = None if y is None else dask.delayed(y, traverse=False)
        coded = [
            dask.delayed(_code_partition)(p, shared_sources, labels, gold, self.duplicates, attrs)
            for p in pieces
        ]
        parts = dask.persist(*coded)
        facts = dask.compute(*[dask.delayed(_facts)(p) for p in parts])
        _raise_problems(facts, path)
        # a partition the shuffle left empty adds nothing: leave it out
        parts = [p for p, f in zip(parts, facts, strict=True) if f[4]]
        n_reports = sum_stats([f[3] for f in facts])[0]
        kind = kinds = None
        if "kind" in present:
            kind, kinds = _kinds(X, [f[2] for f in facts], sources, attrs)
        k = int(max(f[0] for f in facts)) if per_claim else classes.shape[0]
        meta = Reports(
            claims=np.empty(0),
            sources=sources,
            classes=labels.classes,
            claim=np.empty(0, np.intp),
            source=np.empty(0, np.intp),
            label=np.empty(0, np.intp),
            n_candidates=np.array([k], np.intp),
            candidate_values=None,
            gold=np.empty(0, np.intp),
            report_labels=report_labels,
            match=match,
            kind=kind,
            kinds=kinds,
        )
        partitions = _Partitions(tuple(parts), per_claim)
        _, _, priors, _, result = self._fit_and_choose(
            meta, lambda copying: partitions, sum(f[1] for f in facts), sum(f[4] for f in facts),
            callback,
        )
        asked = meta if self.report_weights else None
        outputs = dask.compute(*[dask.delayed(_posterior)(p, result, asked) for p in parts])
        claims, posterior, values = _assemble([o[:3] for o in outputs], k)
        meta = replace(
            meta,
            claims=claims,
            n_candidates=_count_candidates(values, claims, meta.classes),
            candidate_values=values,
        )
        self._set_fitted(meta, priors, result, posterior, n_reports)
        if self.report_weights:
            # in claim order as in process: partitions hold whole claims, each in order
            self.report_weights_ = pd.concat([o[3] for o in outputs]).sort_values(
                "claim", kind="stable", ignore_index=True)
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
