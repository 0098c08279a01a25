"""The long table of reports: reading, validating and coding it as integer arrays.

A report is one row ``claim, source, label``: the source said the claim's
label is ``label``. crowd-kit's column names ``task, worker, label`` are read
too. Labels come from one label set shared by all claims (``candidates="global"``:
binary or K classes), or each claim has its own candidate set
(``candidates="per-claim"``: conflicting values, such as the authors a bookstore
lists for a book), made of the values asserted for it.

Every value of a CSV or TSV file is text: ``NA``, ``null`` or ``007`` are ids
like any other, and an empty cell where a value is required is an error naming
its line. Every problem found is reported, each with the physical line (of the
row's start) in the file it came from.
"""

from __future__ import annotations

import csv
import difflib
import gc
import io
import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from credence.errors import MAX_SHOWN_PROBLEMS, CaseError, Problem, shown
from credence.files import MAX_TABLE_BYTES, read_text
from credence.options import strict_options

__all__ = [
    "COLUMNS",
    "MAX_CELLS",
    "Reports",
    "check_cells",
    "check_kinds",
    "encode_against",
    "encode_reports",
    "gold_codes",
    "label_sets",
    "merge_errors",
    "per_claim_codes",
    "read_gold",
    "read_predictions",
    "read_reports",
    "show_value",
    "validate_piece",
    "validate_reports",
]

#: The columns of a table of reports.
COLUMNS = ("claim", "source", "label")
#: Columns read when present: the report's time (its order among a claim's
#: reports) and the source's kind (sources of one kind share a pooled prior).
OPTIONAL = ("date", "kind")
_ALIASES = {"task": "claim", "worker": "source", "item": "claim", "annotator": "source"}
_GOLD_ALIASES = {"task": "claim", "item": "claim", "question": "claim", "truth": "label"}
#: Largest number of cells of one dense array a fit may need: claims x labels
#: (the claim posterior), sources x labels x labels (Dawid-Skene confusions).
#: 20 million float64 cells are 160 MB; a fit holds a few such arrays at once.
MAX_CELLS = 20_000_000
#: Problems kept in a CaseError before the rest are only counted.
_KEEP = 1000

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
    report_labels : numpy.ndarray or None
        The report labels when they are a different set from the claim
        labels ``classes`` (stances); ``label`` then indexes them. None: the
        same set.
    match : numpy.ndarray of intp or None
        With ``report_labels``: the claim label each report label names
        (equal values), -1 for none (a neutral stance).
    position : numpy.ndarray of int64 or None
        Each report's rank in time order (``date``, then table order); None
        for table order.
    kind : numpy.ndarray of intp or None
        Each source's kind code (into ``kinds``); None without a ``kind`` column.
    kinds : numpy.ndarray or None
        The distinct kinds, sorted.
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
    report_labels: np.ndarray | None = None
    match: np.ndarray | None = None
    position: np.ndarray | None = None
    kind: np.ndarray | None = None
    kinds: np.ndarray | None = None

    @property
    def n_labels(self) -> int:
        """Number of report labels (R)."""
        if self.report_labels is not None:
            return int(self.report_labels.shape[0])
        return self.n_classes

    @property
    def label_match(self) -> np.ndarray:
        """The claim label each report label names (the identity without stances)."""
        if self.match is not None:
            return self.match
        return np.arange(self.n_labels, dtype=np.intp)

    @property
    def order(self) -> np.ndarray:
        """Each report's rank in time order."""
        if self.position is not None:
            return self.position
        return np.arange(self.n_reports, dtype=np.int64)

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
    """An id or label quoted for a message, bounded, without NumPy's scalar wrapper."""
    return shown(value.item() if isinstance(value, np.generic) else value)


class _Problems:
    """Problems of one file, kept up to a bound and counted beyond it."""

    def __init__(self, path: str | None):
        self.path = path
        self.items: list[Problem] = []
        self.count = 0

    def add(self, message: str, location: str = "", line: int | None = None) -> None:
        self.count += 1
        if len(self.items) < _KEEP:
            self.items.append(Problem(message, location, line))

    def more(self, n: int) -> None:
        """Count ``n`` further problems without describing them."""
        self.count += int(n)

    def error(self) -> CaseError | None:
        """A CaseError listing the problems, or None."""
        if not self.count:
            return None
        items = self.items
        if self.count > len(items):
            rest = self.count - (MAX_SHOWN_PROBLEMS - 1)
            items = [*items[: MAX_SHOWN_PROBLEMS - 1], Problem(_MORE.format(rest))]
        return CaseError(path=self.path, problems=items)

    def check(self) -> None:
        """Raise :meth:`error`, if any."""
        error = self.error()
        if error is not None:
            raise error


_MORE = "... and {:,} more problems"
_MORE_PATTERN = re.compile(r"\.\.\. and ([\d,]+) more problems")


def merge_errors(errors: Sequence[CaseError], path: str | None) -> CaseError:
    """One error listing the problems of several pieces of a table, piece by piece.

    Parameters
    ----------
    errors : sequence of CaseError
        Each piece's problems (e.g. a Dask partition's, from :func:`validate_piece`).
    path : str or None

    Returns
    -------
    CaseError
        The pieces' problems in the order given, kept up to the bound one
        check of a table keeps, then how many more (the pieces' own counts
        of problems not listed included).
    """
    problems = _Problems(path)
    for error in errors:
        for problem in error.problems:
            more = _MORE_PATTERN.fullmatch(problem.message) if problem.line is None else None
            if more:
                problems.more(int(more[1].replace(",", "")))
            else:
                problems.add(problem.message, problem.location, problem.line)
    merged = problems.error()
    if merged is None:
        raise ValueError("no problems to merge")
    return merged


def check_cells(what: str, count: int, advice: str = "", location: str = "") -> None:
    """Refuse a fit whose dense arrays would exceed :data:`MAX_CELLS` cells.

    Parameters
    ----------
    what : str
        The array and its size as a product, e.g. ``"n_claims * K = 10,000 * 9,000"``.
    count : int
        Its number of cells.
    advice : str, optional
        What to do instead.
    location : str, optional
        Where in the input the size comes from.

    Raises
    ------
    CaseError
        ``count`` is larger than :data:`MAX_CELLS`.
    """
    if count > MAX_CELLS:
        tail = f"; {advice}" if advice else ""
        raise CaseError(
            f"{what} = {count:,} cells, more than the {MAX_CELLS:,} credence allocates{tail}",
            location,
        )


# -- reading files ---------------------------------------------------------------------


def _parse_csv(text: str, sep: str) -> tuple[list[list[str]], np.ndarray, Problem | None]:
    """Records of a CSV text and the physical line each starts on.

    Blank lines are dropped. On malformed CSV, returns the records before it and
    the problem, located at the start line of the bad record.
    """
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=sep, strict=True, skipinitialspace=True
    )
    rows: list[list[str]] = []
    ends: list[int] = []
    problem = None
    collecting = gc.isenabled()
    gc.disable()  # millions of small lists: the collector would cost more than the parse
    try:
        ends = [reader.line_num for row in reader if not rows.append(row)]
    except csv.Error as err:
        ends = _line_ends(text, sep, len(rows))
        problem = Problem(f"not valid CSV: {err}", "", ends[-1] + 1 if ends else 1)
    finally:
        if collecting:
            gc.enable()
    starts = np.concatenate([[0], np.asarray(ends, np.int64)])[:-1] + 1
    keep = [i for i, row in enumerate(rows) if row and row != [""]]
    if len(keep) < len(rows):
        rows = [rows[i] for i in keep]
        starts = starts[keep]
    return rows, starts, problem


def _line_ends(text: str, sep: str, n: int) -> list[int]:
    """End lines of the first ``n`` records (the slow way, after an error)."""
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=sep, strict=True, skipinitialspace=True
    )
    ends = []
    for _ in range(n):
        next(reader)
        ends.append(reader.line_num)
    return ends


def _header(
    names: Sequence[str],
    required: Sequence[str],
    aliases: Mapping[str, str],
    problems: _Problems,
    line: int | None,
    optional: Sequence[str] = (),
) -> dict[str, int]:
    """Position of each required (and present optional) column; problems for the rest."""
    normal = [aliases.get(str(n).strip().lower(), str(n).strip().lower()) for n in names]
    seen: dict[str, int] = {}
    position: dict[str, int] = {}
    for i, name in enumerate(normal):
        if not name:
            continue  # an unnamed column (a written index, say) is not a duplicate
        if name in seen:
            j = seen[name]
            a, b = str(names[j]), str(names[i])
            what = (
                f"columns {j + 1} and {i + 1} are both named {shown(b)}"
                if a.strip().lower() == b.strip().lower()
                else f"column {j + 1} {shown(a)} and column {i + 1} {shown(b)} both name "
                f"the {name} column"
            )
            problems.add(what, "header", line)
            continue
        seen[name] = i
        if name in required or name in optional:
            position[name] = i
    missing = [c for c in required if c not in seen]
    if missing:
        accepted = [*required, *(a for a, c in aliases.items() if c in required)]
        for i, name in enumerate(normal):
            if name and name not in required and name not in optional:
                close = difflib.get_close_matches(name, accepted, n=1, cutoff=0.6)
                hint = f"; did you mean {shown(close[0])}?" if close else ""
                problems.add(f"unknown column {shown(str(names[i]))}{hint}", "header", line)
        need = ", ".join(required)
        for c in missing:
            also = ", ".join(sorted(a for a, t in aliases.items() if t == c))
            problems.add(
                f"missing column {shown(c)} (the columns needed are {need}"
                + (f"; {shown(c)} is also read from {also}" if also else "")
                + ")",
                "header",
                line,
            )
    return position


def _kind(column: str) -> str:
    return "label" if column == "label" else f"{column} id"


def _csv_frame(
    text: str,
    sep: str,
    required: Sequence[str],
    aliases: Mapping[str, str],
    name: str,
    optional: Sequence[str] = (),
) -> pd.DataFrame:
    """A table of text from CSV, indexed by each row's line; every problem reported."""
    problems = _Problems(name)
    rows, starts, bad_csv = _parse_csv(text, sep)
    if not rows:
        if bad_csv is not None:
            raise CaseError(path=name, problems=[bad_csv])
        raise CaseError("no header line", path=name)
    header, header_line = rows[0], int(starts[0])
    rows, starts = rows[1:], starts[1:]
    position = _header(header, required, aliases, problems, header_line, optional)
    problems.check()
    required = [*required, *(c for c in optional if c in position)]
    width = len(header)
    lens = np.fromiter(map(len, rows), np.intp, len(rows))
    wrong = lens != width
    good = np.flatnonzero(~wrong)
    kept = rows if good.size == len(rows) else [rows[i] for i in good]
    del rows
    frame = pd.DataFrame(
        {c: pd.array(list(map(itemgetter(position[c]), kept)), dtype="str") for c in required},
        index=pd.Index(starts[good], name="line"),
    )
    del kept
    blank = {c: (frame[c].str.strip() == "").to_numpy(bool) for c in required}
    empty = np.zeros(len(lens), bool)
    full = np.zeros(len(lens), bool)
    full[good] = True
    for c in required:
        empty[good[blank[c]]] = True
    flagged = np.flatnonzero(wrong | empty)
    column_name = {c: str(header[position[c]]).strip() for c in required}
    row_of = np.cumsum(full) - 1
    for i in flagged[:_KEEP]:
        line = int(starts[i])
        if wrong[i]:
            problems.add(
                f"{int(lens[i])} field{'s' * (int(lens[i]) != 1)}, but the header has {width}",
                "",
                line,
            )
            continue
        for c in required:
            if blank[c][row_of[i]]:
                problems.add(f"empty {_kind(c)}", f"column {shown(column_name[c])}", line)
    if flagged.size > _KEEP:
        rest = flagged[_KEEP:]
        extra = int(wrong[rest].sum())
        extra += sum(int(blank[c][row_of[rest[~wrong[rest]]]].sum()) for c in required)
        problems.more(extra)
    if bad_csv is not None:
        problems.add(bad_csv.message, bad_csv.location, bad_csv.line)
    problems.check()
    frame.attrs = {"path": name, "columns": column_name}
    return frame


def _open_regular(name: str) -> Any:
    """Open a regular file of at most MAX_TABLE_BYTES bytes for binary reading."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(name, flags)
    except OSError as err:
        raise CaseError(f"cannot read table: {err.strerror or err}", path=name) from None
    mode, size = os.fstat(fd).st_mode, os.fstat(fd).st_size
    if not stat.S_ISREG(mode) or size > MAX_TABLE_BYTES:
        os.close(fd)
        what = (
            "not a regular file"
            if not stat.S_ISREG(mode)
            else f"larger than {MAX_TABLE_BYTES // 2**20} MiB, the most credence reads"
        )
        raise CaseError(f"cannot read table: {what}", path=name)
    return os.fdopen(fd, "rb")


def _parquet_frame(
    name: str, required: Sequence[str], aliases: Mapping[str, str], optional: Sequence[str] = ()
) -> pd.DataFrame:
    """A table from Parquet, indexed by row number from 1; every problem reported."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    problems = _Problems(name)
    with _open_regular(name) as fh:
        try:
            parquet = pq.ParquetFile(fh)
            meta = parquet.metadata
            size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
            if size > MAX_TABLE_BYTES:
                raise CaseError(
                    f"the Parquet data is {size // 2**20} MiB uncompressed, more than the "
                    f"{MAX_TABLE_BYTES // 2**20} MiB credence reads",
                    path=name,
                )
            names = parquet.schema_arrow.names
            position = _header(names, required, aliases, problems, None, optional)
            problems.check()
            required = [*required, *(c for c in optional if c in position)]
            table = parquet.read(columns=[names[position[c]] for c in required])
        except (OSError, ValueError, pa.ArrowException) as err:
            if isinstance(err, CaseError):
                raise
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise CaseError(
                f"cannot read the Parquet table: {shown(first, 200)}", path=name
            ) from None
    frame = table.to_pandas()
    frame.columns = list(required)
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    frame.attrs = {"path": name, "columns": {c: names[position[c]] for c in required}}
    return frame


def _read_table(
    path: str | os.PathLike[str],
    required: Sequence[str],
    aliases: Mapping[str, str],
    optional: Sequence[str] = (),
) -> pd.DataFrame:
    name = os.fsdecode(os.fspath(path))
    suffix = Path(name).suffix.lower()
    if suffix == ".parquet":
        return _parquet_frame(name, required, aliases, optional)
    text = read_text(name, max_bytes=MAX_TABLE_BYTES, what="table")
    sep = "\t" if suffix in {".tsv", ".tab"} else ","
    return _csv_frame(text, sep, required, aliases, name, optional)


@strict_options
def read_reports(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a table of reports from CSV, TSV or Parquet.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``, ``.tsv`` / ``.tab`` or ``.parquet`` file of at most
        :data:`credence.files.MAX_TABLE_BYTES` bytes, with columns ``claim,
        source, label`` (or ``task, worker, label``), and optionally ``date``
        (an ISO date or date-time: the reports on a claim are taken in this
        order, then in file order) and ``kind`` (the source's kind: sources of
        one kind share a learned prior). Other columns are ignored. Every CSV
        or TSV value is text (``NA``, ``null`` and ``007`` included); blank
        lines are skipped.

    Returns
    -------
    pandas.DataFrame
        Columns ``claim, source, label`` (and ``date``, ``kind`` when present).
        From CSV or TSV the index is the line each row starts on (``line``);
        from Parquet the row number from 1 (``row``). ``attrs["path"]`` names
        the file, so later errors can name the file and line.

    Raises
    ------
    CaseError
        The file is not a regular file, is too large, not UTF-8 text or not
        valid CSV; a column is missing or named twice; a row has the wrong
        number of fields or an empty value. Every problem is listed.
    """
    return _read_table(path, COLUMNS, _ALIASES, OPTIONAL)


@strict_options
def read_gold(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read known labels from CSV, TSV or Parquet (``claim, label``).

    Parameters
    ----------
    path : str or path-like
        A table with columns ``claim`` (or ``task``, ``item``, ``question``)
        and ``label`` (or ``truth``); values are text, as in :func:`read_reports`.

    Returns
    -------
    pandas.DataFrame
        Columns ``claim, label``, indexed as :func:`read_reports` does.

    Raises
    ------
    CaseError
        As :func:`read_reports`, and a claim given two labels. Errors name
        this file.
    """
    df = _read_table(path, ("claim", "label"), _GOLD_ALIASES)
    problems = _Problems(df.attrs["path"])
    ok = _check_values(df, ("claim", "label"), problems)
    complete = df if ok.all() else df.loc[ok]
    _check_repeats(
        complete,
        ["claim"],
        problems,
        lambda i: f"claim {_show(complete['claim'].iloc[i])} has two labels",
    )
    problems.check()
    return df


def read_predictions(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read claim probabilities from CSV, TSV or Parquet (``claim, label, probability``).

    The ``-o`` output of ``credence discover`` (one row per claim, its top
    label), or one row per (claim, label) for a whole distribution.

    Parameters
    ----------
    path : str or path-like
        As :func:`read_reports`; ``probability`` is a number from 0 to 1.

    Returns
    -------
    pandas.DataFrame
        Columns ``claim, label`` (text) and ``probability`` (float).

    Raises
    ------
    CaseError
        As :func:`read_reports`, a probability that is not a number from 0 to
        1, and a (claim, label) given twice. Errors name this file.
    """
    columns = ("claim", "label", "probability")
    df = _read_table(path, columns, {})
    problems = _Problems(df.attrs["path"])
    text = df["probability"]
    p = pd.to_numeric(text.astype(object), errors="coerce").to_numpy(float)
    bad = ~((p >= 0) & (p <= 1))
    for i in np.flatnonzero(bad)[:_KEEP]:
        problems.add(
            f"probability must be a number from 0 to 1, not {shown(text.iloc[i])}",
            **_place(df, int(i), "probability"),
        )
    problems.more(max(0, int(bad.sum()) - _KEEP))
    _check_repeats(
        df,
        ["claim", "label"],
        problems,
        lambda i: f"claim {_show(df['claim'].iloc[i])} has label {_show(df['label'].iloc[i])} "
        "twice",
    )
    problems.check()
    return df.assign(probability=p)


# -- checking and coding ---------------------------------------------------------------


def _place(df: pd.DataFrame, position: int, column: str | None = None) -> dict[str, Any]:
    """``location`` and ``line`` of a row (and column) for a Problem."""
    col = ""
    if column is not None:
        col = f"column {shown(str(df.attrs.get('columns', {}).get(column, column)))}"
    label = df.index[position]
    if df.index.name == "line" and "path" in df.attrs:
        return {"location": col, "line": int(label)}
    row = f"row {int(label)}" if df.index.name == "row" else f"row {_show(label)}"
    return {"location": ", ".join(p for p in (row, col) if p), "line": None}


def _where(df: pd.DataFrame, position: int) -> str:
    """A row as text: ``line 7`` or ``row 3``."""
    place = _place(df, position)
    return f"line {place['line']}" if place["line"] is not None else place["location"]


def normalise_columns(df: pd.DataFrame, path: str | None = None) -> pd.DataFrame:
    """Rename crowd-kit's columns and keep ``claim, source, label`` (and ``date``, ``kind``).

    Parameters
    ----------
    df : pandas.DataFrame
        A table of reports.
    path : str, optional
        The file it came from, for messages.

    Returns
    -------
    pandas.DataFrame
        The three columns, same index and ``attrs``.

    Raises
    ------
    CaseError
        A required column is missing, or two columns give the same one.
    """
    problems = _Problems(path if path is not None else df.attrs.get("path"))
    names = [str(c) for c in df.columns]
    position = _header(names, COLUMNS, _ALIASES, problems, None, OPTIONAL)
    problems.check()
    kept = [*COLUMNS, *(c for c in OPTIONAL if c in position)]
    out = df.iloc[:, [position[c] for c in kept]]
    out.columns = kept
    out.attrs = dict(df.attrs)
    if "columns" not in out.attrs:
        out.attrs["columns"] = {c: names[position[c]] for c in kept}
    return out


def _blank(values: pd.Series) -> np.ndarray:
    """Missing values: NaN or None, or text that is empty or only spaces."""
    missing = values.isna().to_numpy(bool)
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        try:
            stripped = values.str.strip()
        except AttributeError:
            return missing
        missing = missing | (stripped == "").to_numpy(bool, na_value=False)
    return missing


def _check_values(df: pd.DataFrame, columns: Sequence[str], problems: _Problems) -> np.ndarray:
    """Problems for empty values and columns of mixed types; returns the complete rows."""
    blank = {c: _blank(df[c]) for c in columns}
    rows = np.flatnonzero(np.logical_or.reduce([blank[c] for c in columns]))
    for i in rows[:_KEEP]:
        for c in columns:
            if blank[c][i]:
                problems.add(f"empty {_kind(c)}", **_place(df, int(i), c))
    if rows.size > _KEEP:
        problems.more(sum(int(blank[c][rows[_KEEP:]].sum()) for c in columns))
    for c in columns:
        values = df[c]
        if values.dtype == object:
            kind = pd.api.types.infer_dtype(values[~blank[c]], skipna=True)
            if kind.startswith("mixed"):
                types = sorted({type(v).__name__ for v in values.iloc[:10_000]})
                problems.add(
                    f"mixes types ({', '.join(types)}); give every value one type, e.g. all text",
                    f"column {shown(str(df.attrs.get('columns', {}).get(c, c)))}",
                )
    complete = np.ones(len(df), bool)
    complete[rows] = False
    return complete


def _check_repeats(df: pd.DataFrame, columns: list[str], problems: _Problems, what) -> None:
    """A problem for each row repeating an earlier row's ``columns``."""
    if len(df) == 0:
        return
    codes = [pd.factorize(df[c])[0].astype(np.int64) for c in columns]
    key = codes[0]
    for more in codes[1:]:
        key = key * (int(more.max()) + 1) + more
    _first_of(key, problems, df, what)


def _first_of(key: np.ndarray, problems: _Problems, df: pd.DataFrame, what) -> np.ndarray:
    """Flag rows whose key appeared before; add a problem for each. Returns the flags."""
    repeated = pd.Series(key).duplicated(keep="first").to_numpy()
    if repeated.any():
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        rows = np.flatnonzero(repeated)
        for i in rows[:_KEEP]:
            earlier = int(first[inverse[i]])
            problems.add(f"{what(int(i))} (also at {_where(df, earlier)})", **_place(df, int(i)))
        problems.more(max(0, rows.size - _KEEP))
    return repeated


def _factorize(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(values, sort=True)
    return codes.astype(np.intp, copy=False), np.asarray(uniques)


@strict_options
def encode_reports(
    df: pd.DataFrame,
    *,
    gold: Mapping[Any, Any] | pd.Series | pd.DataFrame | None = None,
    candidates: Candidates = "global",
    duplicates: Literal["error", "first"] = "error",
    path: str | None = None,
    claim_labels: Sequence[Any] | None = None,
) -> Reports:
    """Validate a table of reports and code it as integer arrays.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``claim, source, label`` (or ``task, worker, label``).
    gold : mapping, Series or DataFrame, optional
        Known labels of some claims: ``{claim: label}``, a Series indexed by
        claim, or a DataFrame with columns ``claim, label`` (as
        :func:`read_gold` returns: its errors then name its file and lines).
    candidates : {"global", "per-claim"}, default "global"
        One label set for all claims, or each claim's own candidate set (the
        values asserted for it).
    duplicates : {"error", "first"}, default "error"
        What to do when a source reports on a claim twice: stop, or keep the
        first report.
    path : str, optional
        The file the table came from, for messages.
    claim_labels : sequence, optional
        The claims' labels when reports use a different set (stances). Without
        it, the claim labels are the report labels, unless the ``gold``
        labels share none with the reports (a different vocabulary, such as
        true / false against for / against / observing): the claim labels are
        then the gold labels.
        A report label equal to a claim label names it.

    Returns
    -------
    Reports

    Raises
    ------
    CaseError
        Missing columns or values, mixed id types, an empty table, a single
        label class, duplicate ``(claim, source)`` rows, more claims x labels
        than :data:`MAX_CELLS`, or gold labels that are not possible labels.
        Every problem of the table is listed; problems of ``gold`` are raised
        after, naming the gold file.
    ValueError
        An unknown ``candidates`` or ``duplicates``.
    """
    if candidates not in ("global", "per-claim"):
        raise ValueError(f"candidates must be 'global' or 'per-claim', not {_show(candidates)}")
    if duplicates not in ("error", "first"):
        raise ValueError(f"duplicates must be 'error' or 'first', not {_show(duplicates)}")
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"reports must be a pandas DataFrame, not {type(df).__name__}")
    df = normalise_columns(df, path)
    path = path if path is not None else df.attrs.get("path")
    problems = _Problems(path)
    if len(df) == 0:
        raise CaseError("the table has no reports", path=path)
    when = _check_rows(df, duplicates, problems)
    problems.check()
    claim, claims = _factorize(df["claim"])
    source, sources = _factorize(df["source"])
    label, values = _factorize(df["label"])
    kind, kinds = _source_kinds(df, source, sources.shape[0])
    position = _time_order(when, len(df))
    values, report_labels, match = label_sets(
        values,
        claim_labels=claim_labels,
        gold=gold,
        candidates=candidates,
        column=str(df.attrs["columns"]["label"]),
        path=path,
    )
    if duplicates == "first":
        key = claim.astype(np.int64) * np.int64(sources.shape[0]) + source
        keep = ~pd.Series(key).duplicated(keep="first").to_numpy()
        if not keep.all():
            claim, source, label = claim[keep], source[keep], label[keep]
            position = position[keep]
    n_claims = claims.shape[0]
    if candidates == "global":
        check_cells(
            f"claims x labels = {n_claims:,} x {values.shape[0]:,}",
            n_claims * values.shape[0],
            "with many distinct values, use candidates='per-claim'",
            "column 'label'",
        )
        classes: np.ndarray | None = values
        n_candidates = np.full(n_claims, values.shape[0], dtype=np.intp)
        candidate_values = None
    else:
        classes = None
        label, n_candidates, candidate_values = per_claim_codes(claim, label, values, n_claims)
    known = gold_codes(gold, claims, classes, candidate_values)
    return Reports(
        claims=claims,
        sources=sources,
        classes=classes,
        claim=claim,
        source=source,
        label=label,
        n_candidates=n_candidates,
        candidate_values=candidate_values,
        gold=known,
        report_labels=report_labels,
        match=match,
        position=position,
        kind=kind,
        kinds=kinds,
    )


def _time_order(when: np.ndarray | None, n: int) -> np.ndarray:
    """Each row's rank in time order: by date (``when``, None for none), then row order."""
    position = np.arange(n, dtype=np.int64)
    if when is not None:
        position = np.lexsort((position, when)).argsort().astype(np.int64)
    return position


def label_sets(
    values: np.ndarray,
    *,
    claim_labels: Sequence[Any] | None = None,
    gold: Any = None,
    candidates: Candidates = "global",
    column: str = "label",
    path: str | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The claim labels and how the report labels name them, as :func:`encode_reports` chooses.

    Parameters
    ----------
    values : numpy.ndarray
        The distinct report labels of the whole table, sorted.
    claim_labels, gold, candidates
        As :func:`encode_reports`.
    column : str, default "label"
        The label column's name in the table, for messages.
    path : str, optional
        The file the table came from, for messages.

    Returns
    -------
    classes : numpy.ndarray
        The claim labels: ``values``, unless ``claim_labels`` (or gold labels
        that share none with the reports) give another set.
    report_labels : numpy.ndarray or None
        ``values`` when the claim labels differ from them, else None.
    match : numpy.ndarray of intp or None
        With ``report_labels``: the claim label each report label names, -1
        for none.

    Raises
    ------
    CaseError
        Fewer than two report labels, or ``claim_labels`` that are not two
        distinct labels or more.
    ValueError
        ``claim_labels`` given as one string, or with ``candidates="per-claim"``.
    """
    if values.shape[0] < 2:
        raise CaseError(
            f"every report has the label {_show(values[0])}: need at least two label classes "
            "to learn anything",
            f"column {shown(column)}",
            path,
        )
    if claim_labels is not None or gold is not None:
        chosen = _claim_labels(claim_labels, gold, values, candidates)
        if chosen is not None:
            return chosen, values, pd.Index(chosen).get_indexer(values).astype(np.intp)
    return values, None, None


_ISO = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"


def _dates(df: pd.DataFrame, ok: np.ndarray, problems: _Problems) -> np.ndarray:
    """Each row's date as nanoseconds since the epoch (UTC); problems for bad ones."""
    values = df["date"]
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        stamps = pd.to_datetime(values, utc=True)
        return stamps.to_numpy("datetime64[ns]").astype(np.int64)
    text = values.where(pd.Series(ok, index=values.index), "2000-01-01")
    is_text = text.map(lambda v: isinstance(v, str)).to_numpy(bool)
    form = np.zeros(len(df), bool)
    form[is_text] = text[is_text].astype(str).str.strip().str.fullmatch(_ISO).to_numpy(bool)
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    if form.any():
        parsed[form] = pd.to_datetime(
            text[form].astype(str).str.strip(), format="ISO8601", errors="coerce", utc=True
        )
    bad = np.flatnonzero(parsed.isna().to_numpy())
    for i in bad[:_KEEP]:
        value = values.iloc[int(i)]
        what = "a number is not a date" if not isinstance(value, str) else "not a date"
        problems.add(
            f"{what}: {_show(value)} (give an ISO date, YYYY-MM-DD, or date-time)",
            **_place(df, int(i), "date"),
        )
    problems.more(max(0, bad.size - _KEEP))
    return parsed.fillna(pd.Timestamp(0, tz="UTC")).to_numpy("datetime64[ns]").astype(np.int64)


def _source_kinds(
    df: pd.DataFrame, source: np.ndarray, n_sources: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Each source's kind code and the distinct kinds, sorted (None, None without kinds)."""
    if "kind" not in df.columns:
        return None, None
    kind_of_row, kinds = _factorize(df["kind"])
    kind = np.zeros(n_sources, np.intp)
    kind[source] = kind_of_row
    return kind, kinds


def _check_kinds(
    df: pd.DataFrame, problems: _Problems, first: pd.Series | None = None
) -> None:
    """A problem for each row giving its source another kind than its first row.

    ``first``: each source's kind in its first row of the whole table, when
    ``df`` is only part of it (default: ``df``'s own first rows).
    """
    if first is None:
        rows = df.drop_duplicates("source")
        kind_of = pd.Series(rows["kind"].to_numpy(), index=rows["source"].to_numpy())
    else:
        kind_of = first
    differs = df["kind"].to_numpy() != kind_of.reindex(df["source"].to_numpy()).to_numpy()
    for i in np.flatnonzero(differs)[:_KEEP]:
        src = df["source"].iloc[int(i)]
        problems.add(
            f"source {_show(src)} has kind {_show(df['kind'].iloc[int(i)])} here but "
            f"{_show(kind_of[src])} before: a source has one kind",
            **_place(df, int(i), "kind"),
        )
    problems.more(max(0, int(differs.sum()) - _KEEP))


def _claim_labels(
    given: Sequence[Any] | None, gold: Any, values: np.ndarray, candidates: str
) -> np.ndarray | None:
    """The claim labels when they differ from the report labels ``values``, else None."""
    if given is not None:
        if isinstance(given, str | bytes):
            raise ValueError("claim_labels must be a sequence of labels, not one string")
        labels = list(given)
        if candidates != "global":
            raise ValueError("claim_labels needs candidates='global'")
        if len(set(labels)) != len(labels) or len(labels) < 2:
            raise CaseError(
                f"claim labels must be at least two distinct labels, not {shown(labels)}",
                "--claim-labels",
            )
    else:
        if candidates != "global":
            return None
        frame = _gold_frame(gold)
        found = frame["label"][~_blank(frame["label"])].unique()
        try:
            shared = pd.Index(found).intersection(pd.Index(values))
        except TypeError:
            return None
        if not shared.empty:  # one vocabulary: a gold label no report uses is an error
            return None
        labels = list(found)
        if len(labels) < 2:
            return None
    try:
        chosen = np.asarray(sorted(labels), dtype=object)
    except TypeError:
        chosen = np.asarray(labels, dtype=object)
    if chosen.shape[0] and all(isinstance(v, type(values[0])) for v in chosen):
        chosen = np.asarray(chosen.tolist())
    if np.array_equal(chosen, values):
        return None
    return chosen


def per_claim_codes(
    claim: np.ndarray, label: np.ndarray, values: np.ndarray, n_claims: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Recode global value codes as indices into each claim's candidate set.

    Parameters
    ----------
    claim, label : numpy.ndarray of int
        Claim codes and global value codes per report.
    values : numpy.ndarray
        The distinct values.
    n_claims : int

    Returns
    -------
    label : numpy.ndarray of intp
        Each report's index into its claim's candidates.
    n_candidates : numpy.ndarray of intp
    candidate_values : numpy.ndarray
        ``(n_claims, most candidates)`` object array, padded with None.
    """
    n_values = np.intp(values.shape[0])
    pairs = np.unique(claim * n_values + label)  # sorted by claim, then value
    pair_claim = pairs // n_values
    n_candidates = np.bincount(pair_claim, minlength=n_claims).astype(np.intp)
    widest = int(n_candidates.max())
    check_cells(
        f"claims x most candidates of a claim = {n_claims:,} x {widest:,}",
        n_claims * widest,
        location="column 'label'",
    )
    offsets = np.concatenate([[0], np.cumsum(n_candidates)[:-1]])
    local = np.searchsorted(pairs, claim * n_values + label) - offsets[claim]
    table = np.full((n_claims, widest), None, dtype=object)
    table[pair_claim, np.arange(pairs.shape[0]) - offsets[pair_claim]] = values[pairs % n_values]
    return local.astype(np.intp), n_candidates, table


def _gold_frame(gold: Any) -> pd.DataFrame:
    """Gold labels as a DataFrame ``claim, label`` (rows keep their place for messages)."""
    if isinstance(gold, pd.DataFrame):
        if {"claim", "label"} <= set(gold.columns):
            return gold
        problems = _Problems(gold.attrs.get("path"))
        position = _header(
            [str(c) for c in gold.columns], ("claim", "label"), _GOLD_ALIASES, problems, None
        )
        problems.check()
        out = gold.iloc[:, [position["claim"], position["label"]]]
        out.columns = ["claim", "label"]
        return out
    items = list(gold.items()) if isinstance(gold, pd.Series | Mapping) else None
    if items is None:
        raise TypeError(
            f"gold labels must be a mapping, Series or DataFrame, not {type(gold).__name__}"
        )
    frame = pd.DataFrame(
        {"claim": [k for k, _ in items], "label": [v for _, v in items]}, dtype=object
    )
    frame.index = pd.Index([k for k, _ in items], name="gold")
    return frame


def gold_codes(
    gold: Any,
    claims: np.ndarray,
    classes: np.ndarray | None,
    candidate_values: np.ndarray | None,
) -> np.ndarray:
    """Each claim's known label code, as :func:`encode_reports` codes ``gold``.

    Parameters
    ----------
    gold : mapping, Series or DataFrame or None
        As :func:`encode_reports`; labels of claims not in ``claims`` are skipped.
    claims : numpy.ndarray
        The claims to code.
    classes : numpy.ndarray or None
        The claim labels; None for per-claim candidate sets.
    candidate_values : numpy.ndarray or None
        With per-claim candidates: each claim's candidates (as
        :func:`per_claim_codes` returns them).

    Returns
    -------
    numpy.ndarray of intp
        Index of the known label per claim, -1 where unknown.

    Raises
    ------
    CaseError
        A gold label that is not one of its claim's possible labels (every
        such label listed, naming the gold file when it came from one).
    """
    codes = np.full(claims.shape[0], -1, dtype=np.intp)
    if gold is None:
        return codes
    frame = _gold_frame(gold)
    problems = _Problems(frame.attrs.get("path"))
    position = pd.Index(claims).get_indexer(frame["claim"])
    missing = _blank(frame["label"])
    for row, i in enumerate(position):
        if i < 0 or missing[row]:
            continue  # a label for a claim without reports informs nothing here
        value = frame["label"].iloc[row]
        options = classes if classes is not None else candidate_values[i]
        match = np.flatnonzero(options == value)
        if match.size == 0:
            place = _place(frame, row, "label")
            if frame.index.name == "gold":
                place = {"location": f"gold[{_show(frame['claim'].iloc[row])}]", "line": None}
            problems.add(
                f"gold label {_show(value)} of claim {_show(claims[i])} is not one of its "
                "possible labels",
                **place,
            )
            continue
        codes[i] = match[0]
    problems.check()
    return codes


def show_value(value: Any) -> str:
    """An id or label quoted for a message, bounded, without NumPy's scalar wrapper.

    Parameters
    ----------
    value : object

    Returns
    -------
    str
    """
    return _show(value)


@strict_options
def encode_against(df: pd.DataFrame, labels: np.ndarray, *, path: str | None = None) -> Reports:
    """Validate new reports and code them against a fitted set of report labels.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``claim, source, label`` (and optionally ``date``, ``kind``).
    labels : numpy.ndarray
        The report labels a fit saw; ``label`` codes index it.
    path : str, optional
        The file the table came from, for messages.

    Returns
    -------
    Reports
        ``classes`` is ``labels``; no gold.

    Raises
    ------
    CaseError
        Missing columns or values, a label the fit did not see, or a source
        given two kinds.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"X must be a pandas DataFrame, not {type(df).__name__}")
    df = normalise_columns(df, path)
    problems = _Problems(path if path is not None else df.attrs.get("path"))
    if len(df) == 0:
        raise CaseError("the table has no reports", path=problems.path)
    present = [c for c in (*COLUMNS, *OPTIONAL) if c in df.columns]
    ok = _check_values(df, present, problems)
    when = _dates(df, ok, problems) if "date" in df.columns else None
    problems.check()
    if "kind" in df.columns:
        _check_kinds(df, problems)
        problems.check()
    label = pd.Index(labels).get_indexer(df["label"])
    for i in np.flatnonzero(label < 0)[:_KEEP]:
        bad = df["label"].iloc[int(i)]
        problems.add(f"label {_show(bad)} was not seen in fitting", **_place(df, int(i), "label"))
    problems.check()
    claim, claims = _factorize(df["claim"])
    source, sources = _factorize(df["source"])
    kind, kinds = _source_kinds(df, source, sources.shape[0])
    position = _time_order(when, len(df))
    k = labels.shape[0]
    return Reports(
        claims=claims,
        sources=sources,
        classes=labels,
        claim=claim,
        source=source,
        label=label.astype(np.intp),
        n_candidates=np.full(claims.shape[0], k, np.intp),
        candidate_values=None,
        gold=np.full(claims.shape[0], -1, np.intp),
        position=position,
        kind=kind,
        kinds=kinds,
    )


@strict_options
def _check_rows(df: pd.DataFrame, duplicates: str, problems: _Problems, kinds: bool = True):
    """Every row problem of a reports table; returns its dates (None without a date column).

    Values, dates, a source given two kinds (unless ``kinds`` is False: a
    piece of a table leaves that to :func:`check_kinds`), and
    (``duplicates="error"``) a source reporting twice on a claim.
    """
    present = [c for c in (*COLUMNS, *OPTIONAL) if c in df.columns]
    ok = _check_values(df, present, problems)
    when = _dates(df, ok, problems) if "date" in df.columns else None
    complete = df if ok.all() else df.loc[ok]
    if duplicates == "error":
        _check_repeats(
            complete,
            ["claim", "source"],
            problems,
            lambda i: (
                f"source {_show(complete['source'].iloc[i])} reports on claim "
                f"{_show(complete['claim'].iloc[i])} twice"
            ),
        )
    if kinds and "kind" in df.columns:
        _check_kinds(complete, problems)
    return when


def validate_reports(
    df: pd.DataFrame,
    *,
    duplicates: Literal["error", "first"] = "error",
    path: str | None = None,
) -> pd.DataFrame:
    """Check a table (or one piece of it) of reports as :func:`encode_reports` does.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``claim, source, label`` (or crowd-kit's names), optionally
        ``date`` and ``kind``; other columns are dropped.
    duplicates : {"error", "first"}, default "error"
    path : str, optional
        The file the table came from, for messages.

    Returns
    -------
    pandas.DataFrame
        The table with its columns named ``claim, source, label`` (and
        ``date``, ``kind``).

    Raises
    ------
    CaseError
        Missing columns or values, mixed types, a source given two kinds, a
        bad date, or (with ``duplicates="error"``) a source reporting twice on
        a claim; every problem listed, each located.
    """
    df = normalise_columns(df, path)
    problems = _Problems(path if path is not None else df.attrs.get("path"))
    if len(df) == 0:
        raise CaseError("the table has no reports", path=problems.path)
    _check_rows(df, duplicates, problems)
    problems.check()
    return df


def validate_piece(
    df: pd.DataFrame,
    *,
    duplicates: Literal["error", "first"] = "error",
    path: str | None = None,
) -> np.ndarray:
    """Check a piece of a table holding every report of its claims; each row's time rank.

    The checks of :func:`validate_reports` on the piece alone, except that a
    source's kind is checked against the whole table by :func:`check_kinds`
    (a source reports on claims of many pieces). An empty piece passes.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns as :func:`validate_reports`, rows in table order.
    duplicates : {"error", "first"}, default "error"
    path : str, optional
        The file the table came from, for messages.

    Returns
    -------
    numpy.ndarray of int64
        Each row's rank in time order within the piece (``date``, then row
        order), as :attr:`Reports.position` ranks a whole table: the reports
        on a claim come in the same order.

    Raises
    ------
    CaseError
        As :func:`validate_reports`, but for a source given two kinds.
    """
    df = normalise_columns(df, path)
    problems = _Problems(path if path is not None else df.attrs.get("path"))
    when = _check_rows(df, duplicates, problems, kinds=False) if len(df) else None
    problems.check()
    return _time_order(when, len(df))


def check_kinds(
    df: pd.DataFrame, first: pd.Series | None = None, *, path: str | None = None
) -> None:
    """Refuse rows that give their source another kind than the source's first row.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows with columns ``source`` and ``kind`` (in table order), already
        checked for empty values.
    first : pandas.Series, optional
        Each source's kind in its first row of the whole table, indexed by
        source, when ``df`` holds only some of the rows (the ones that
        differ, say); default ``df``'s own first row of each source.
    path : str, optional
        The file the table came from, for messages.

    Raises
    ------
    CaseError
        One problem per row whose kind differs, located and worded as
        :func:`encode_reports` words it.
    """
    problems = _Problems(path if path is not None else df.attrs.get("path"))
    _check_kinds(df, problems, first)
    problems.check()
