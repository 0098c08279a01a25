"""The long table of reports: reading, validating and coding it as integer arrays.

A report is one row ``claim, source, label``: the source said the claim's
label is ``label``. crowd-kit's column names ``task, worker, label`` are read
too. Labels come from one label set shared by all claims (``candidates="global"``:
binary or K classes), or each claim has its own candidate set
(``candidates="per-claim"``: conflicting values, such as the authors a bookstore
lists for a book), made of the values asserted for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from credence.errors import CaseError

__all__ = ["COLUMNS", "Reports", "encode_reports", "read_gold", "read_reports"]

#: The columns of a table of reports.
COLUMNS = ("claim", "source", "label")
_ALIASES = {"task": "claim", "worker": "source", "item": "claim", "annotator": "source"}

Candidates = Literal["global", "per-claim"]


@dataclass(frozen=True, eq=False)
class Reports:
    """A table of reports coded as integer arrays.

    Attributes
    ----------
    claims, sources : numpy.ndarray
        The distinct claim and source ids, sorted; codes index into them.
    classes : numpy.ndarray or None
        The label set (sorted) when all claims share one; None for per-claim
        candidate sets.
    claim, source, label : numpy.ndarray of intp
        One entry per report. ``label`` indexes ``classes``, or the claim's row
        of ``candidate_values`` for per-claim candidate sets.
    n_candidates : numpy.ndarray of intp
        Number of possible labels of each claim.
    candidate_values : numpy.ndarray or None
        ``(n_claims, max candidates)`` object array of each claim's candidate
        values (padded with None), for per-claim candidate sets.
    gold : numpy.ndarray of intp
        Known label code of each claim, -1 where unknown.
    """

    claims: np.ndarray
    sources: np.ndarray
    classes: np.ndarray | None
    claim: np.ndarray
    source: np.ndarray
    label: np.ndarray
    n_candidates: np.ndarray
    candidate_values: np.ndarray | None
    gold: np.ndarray

    @property
    def n_reports(self) -> int:
        """Number of reports."""
        return int(self.claim.shape[0])

    @property
    def n_claims(self) -> int:
        """Number of distinct claims."""
        return int(self.claims.shape[0])

    @property
    def n_sources(self) -> int:
        """Number of distinct sources."""
        return int(self.sources.shape[0])

    @property
    def n_classes(self) -> int:
        """Width of a claim's posterior: K, or the largest candidate set."""
        if self.classes is not None:
            return int(self.classes.shape[0])
        return int(self.n_candidates.max())

    @property
    def per_claim(self) -> bool:
        """True when each claim has its own candidate set."""
        return self.classes is None


def _show(value: Any) -> str:
    """Repr of an id or label, without NumPy's scalar wrapper."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _where(df: pd.DataFrame, position: int) -> str:
    offset = df.attrs.get("first_line")
    if offset is not None:
        return f"line {position + offset}"
    return f"row {df.index[position]!r}"


def _path(df: pd.DataFrame, path: str | None) -> str | None:
    return path if path is not None else df.attrs.get("path")


def read_reports(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a table of reports from CSV, TSV or Parquet.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``, ``.tsv`` / ``.tab`` or ``.parquet`` file with columns
        ``claim, source, label`` (or ``task, worker, label``). Other columns
        are dropped. CSV values are read as text, so ids keep leading zeros.

    Returns
    -------
    pandas.DataFrame
        Columns ``claim, source, label``. ``attrs`` records the file and the
        line of the first row, so later errors can name the line.

    Raises
    ------
    CaseError
        The file cannot be read or a column is missing.
    """
    path = Path(path)
    name = str(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            df = pd.read_parquet(path)
            first_line = None
        else:
            with path.open("rb") as fh:
                if b"\x00" in fh.read(65536):
                    raise CaseError("cannot read the table: binary file, not CSV or TSV",
                                    path=name)
            sep = "\t" if suffix in {".tsv", ".tab"} else ","
            df = pd.read_csv(path, sep=sep, dtype=str, skipinitialspace=True)
            first_line = 2
    except FileNotFoundError:
        raise CaseError("file not found", path=name) from None
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CaseError(f"cannot read the table: {message}", path=name) from None
    df = normalise_columns(df, name)
    df.attrs["path"] = name
    if first_line is not None:
        df.attrs["first_line"] = first_line
    return df


def normalise_columns(df: pd.DataFrame, path: str | None = None) -> pd.DataFrame:
    """Rename crowd-kit's columns and keep ``claim, source, label``.

    Parameters
    ----------
    df : pandas.DataFrame
        A table of reports.
    path : str, optional
        The file it came from, for messages.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    CaseError
        A required column is missing.
    """
    columns = {c: str(c).strip().lower() for c in df.columns}
    columns = {c: _ALIASES.get(low, low) for c, low in columns.items()}
    renamed = df.rename(columns=columns)
    if renamed.columns.duplicated().any():
        dup = renamed.columns[renamed.columns.duplicated()][0]
        raise CaseError(f"two columns both read as {dup!r}", path=_path(df, path))
    missing = [c for c in COLUMNS if c not in renamed.columns]
    if missing:
        have = ", ".join(map(str, df.columns)) or "none"
        raise CaseError(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(need claim, source, label or task, worker, label; have {have})",
            path=_path(df, path),
        )
    out = renamed.loc[:, list(COLUMNS)]
    out.attrs = dict(df.attrs)
    return out


def _check_column(df: pd.DataFrame, column: str, path: str | None) -> None:
    values = df[column]
    missing = values.isna().to_numpy()
    if missing.any():
        position = int(np.flatnonzero(missing)[0])
        kind = "label" if column == "label" else f"{column} id"
        raise CaseError(
            f"missing {kind} (empty or NaN) in column {column!r}, "
            f"{int(missing.sum())} row(s) in all",
            _where(df, position),
            _path(df, path),
        )
    if values.dtype == object:
        kind = pd.api.types.infer_dtype(values, skipna=False)
        if kind.startswith("mixed"):
            types = sorted({type(v).__name__ for v in values.iloc[:10_000]})
            raise CaseError(
                f"column {column!r} mixes types ({', '.join(types)}); "
                "give every value one type, e.g. all text",
                path=_path(df, path),
            )


def _factorize(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.intp, copy=False), np.asarray(uniques)


def encode_reports(
    df: pd.DataFrame,
    *,
    gold: Mapping[Any, Any] | pd.Series | pd.DataFrame | None = None,
    candidates: Candidates = "global",
    duplicates: Literal["error", "first"] = "error",
    path: str | None = None,
) -> Reports:
    """Validate a table of reports and code it as integer arrays.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``claim, source, label`` (or ``task, worker, label``).
    gold : mapping, Series or DataFrame, optional
        Known labels of some claims: ``{claim: label}``, a Series indexed by
        claim, or a DataFrame with columns ``claim, label``.
    candidates : {"global", "per-claim"}, default "global"
        One label set for all claims, or each claim's own candidate set (the
        values asserted for it).
    duplicates : {"error", "first"}, default "error"
        What to do when a source reports on a claim twice: stop, or keep the
        first report.
    path : str, optional
        The file the table came from, for messages.

    Returns
    -------
    Reports

    Raises
    ------
    CaseError
        Missing columns or values, mixed id types, an empty table, a single
        label class, duplicate ``(claim, source)`` rows, or gold labels that
        are not possible labels.
    """
    if candidates not in ("global", "per-claim"):
        raise ValueError(f"candidates must be 'global' or 'per-claim', not {candidates!r}")
    df = normalise_columns(df, path)
    path = _path(df, path)
    if len(df) == 0:
        raise CaseError("the table has no reports", path=path)
    for column in COLUMNS:
        _check_column(df, column, path)
    claim, claims = _factorize(df["claim"])
    source, sources = _factorize(df["source"])
    label, values = _factorize(df["label"])
    if values.shape[0] < 2:
        raise CaseError(
            f"every report has the label {_show(values[0])}: need at least two label classes "
            "to learn anything",
            "column 'label'",
            path,
        )
    key = pd.Series(claim * np.intp(sources.shape[0]) + source)
    repeated = key.duplicated(keep="first").to_numpy()
    if repeated.any():
        if duplicates == "error":
            position = int(np.flatnonzero(repeated)[0])
            first = int(np.flatnonzero((key == key.iloc[position]).to_numpy())[0])
            raise CaseError(
                f"source {_show(sources[source[position]])} reports on claim "
                f"{_show(claims[claim[position]])} twice (also at {_where(df, first)}); "
                f"{int(repeated.sum())} duplicate (claim, source) row(s) in all",
                _where(df, position),
                path,
            )
        keep = ~repeated
        claim, source, label = claim[keep], source[keep], label[keep]
    n_claims = claims.shape[0]
    if candidates == "global":
        classes: np.ndarray | None = values
        n_candidates = np.full(n_claims, values.shape[0], dtype=np.intp)
        candidate_values = None
    else:
        classes = None
        label, n_candidates, candidate_values = _per_claim(claim, label, values, n_claims)
    gold_codes = _gold_codes(gold, claims, classes, candidate_values, path)
    return Reports(
        claims=claims,
        sources=sources,
        classes=classes,
        claim=claim,
        source=source,
        label=label,
        n_candidates=n_candidates,
        candidate_values=candidate_values,
        gold=gold_codes,
    )


def _per_claim(
    claim: np.ndarray, label: np.ndarray, values: np.ndarray, n_claims: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Recode global value codes as indices into each claim's candidate set."""
    n_values = np.intp(values.shape[0])
    pairs = np.unique(claim * n_values + label)  # sorted by claim, then value
    pair_claim = pairs // n_values
    n_candidates = np.bincount(pair_claim, minlength=n_claims).astype(np.intp)
    offsets = np.concatenate([[0], np.cumsum(n_candidates)[:-1]])
    local = np.searchsorted(pairs, claim * n_values + label) - offsets[claim]
    table = np.full((n_claims, int(n_candidates.max())), None, dtype=object)
    table[pair_claim, np.arange(pairs.shape[0]) - offsets[pair_claim]] = values[
        pairs % n_values
    ]
    return local.astype(np.intp), n_candidates, table


def _gold_mapping(gold: Any) -> dict[Any, Any]:
    if isinstance(gold, pd.DataFrame):
        frame = gold.rename(columns=lambda c: _ALIASES.get(str(c).lower(), str(c).lower()))
        if "truth" in frame.columns and "label" not in frame.columns:
            frame = frame.rename(columns={"truth": "label"})
        if not {"claim", "label"} <= set(frame.columns):
            raise CaseError("gold labels need columns claim, label")
        return dict(zip(frame["claim"], frame["label"], strict=True))
    if isinstance(gold, pd.Series):
        return dict(gold.items())
    return dict(gold)


def _gold_codes(
    gold: Any,
    claims: np.ndarray,
    classes: np.ndarray | None,
    candidate_values: np.ndarray | None,
    path: str | None,
) -> np.ndarray:
    codes = np.full(claims.shape[0], -1, dtype=np.intp)
    if gold is None:
        return codes
    mapping = _gold_mapping(gold)
    position = pd.Index(claims).get_indexer(list(mapping))
    for (claim, value), i in zip(mapping.items(), position, strict=True):
        if i < 0:
            continue  # a gold label for a claim without reports informs nothing here
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        options = classes if classes is not None else candidate_values[i]
        match = np.flatnonzero(options == value)
        if match.size == 0:
            raise CaseError(
                f"gold label {_show(value)} of claim {_show(claim)} "
                "is not one of its possible labels",
                "gold",
                path,
            )
        codes[i] = match[0]
    return codes


def read_gold(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read known labels from CSV (``claim, label``; ``truth`` also read as ``label``).

    Parameters
    ----------
    path : str or path-like
        A CSV file with columns ``claim`` (or ``task``/``question``) and
        ``label`` (or ``truth``).

    Returns
    -------
    pandas.DataFrame
        Columns ``claim, label`` as text.

    Raises
    ------
    CaseError
        The file cannot be read, a column is missing, a value is missing, or a
        claim appears twice.
    """
    name = str(path)
    try:
        df = pd.read_csv(path, dtype=str, skipinitialspace=True)
    except FileNotFoundError:
        raise CaseError("file not found", path=name) from None
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CaseError(f"cannot read the table: {message}", path=name) from None
    aliases = {**_ALIASES, "question": "claim", "truth": "label"}
    df = df.rename(columns=lambda c: aliases.get(str(c).strip().lower(), str(c).strip().lower()))
    missing = [c for c in ("claim", "label") if c not in df.columns]
    if missing:
        raise CaseError(f"missing column {', '.join(missing)} (need claim, label)", path=name)
    df = df.loc[:, ["claim", "label"]]
    df.attrs = {"path": name, "first_line": 2}
    for column in ("claim", "label"):
        _check_column(df, column, name)
    repeated = df["claim"].duplicated().to_numpy()
    if repeated.any():
        position = int(np.flatnonzero(repeated)[0])
        raise CaseError(
            f"claim {df['claim'].iloc[position]!r} has two labels", _where(df, position), name
        )
    return df
