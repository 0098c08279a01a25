"""The verdict through time: the case as of each evidence date, assessed.

:func:`as_of` cuts a case at a date; :func:`timeline` assesses the case as of
every date its evidence carries, from the prior on.

When an item counts as published (its *effective date*):

* a dated item: its date;
* an undated item: the effective date of the item before it in file order,
  the rule the ledger orders evidence by (:mod:`credence.compile`); undated
  items before any dated one have no date to exclude them by and are kept at
  every date;
* a derived item: no earlier than every report it derives from. A report
  derived from reports not yet published cannot exist, so an item whose
  parent is dropped is dropped too (transitively), even if its own date is
  earlier. This also keeps the cut case valid: every ``derived_from`` names a
  kept item.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from credence.api import as_case
from credence.case import Case, iso_date
from credence.explain.edits import keeping

if TYPE_CHECKING:
    import pandas as pd

    from credence.assessment import Assessment

__all__ = ["Timeline", "as_of", "effective_dates", "timeline"]

#: Seconds after which a terminal shows a progress bar.
_PROGRESS_AFTER = 1.0


def effective_dates(case: Case) -> list[dt.date | None]:
    """When each evidence item counts as published (file order); None: always.

    See the module's notes: an undated item takes the date of the item before
    it; a derived item is no earlier than its parents.

    Examples
    --------
    >>> from credence import Case, Claim, Evidence, Source
    >>> case = Case(
    ...     claim=Claim(statement="c"),
    ...     sources=[Source(id="s", reliability=0.7)],
    ...     evidence=[
    ...         Evidence(id="a", source="s", stance="supports"),
    ...         Evidence(id="b", source="s", stance="supports", date="2024-10-18"),
    ...         Evidence(id="c", source="s", stance="refutes"),
    ...     ],
    ... )
    >>> [str(d) for d in effective_dates(case)]
    ['None', '2024-10-18', '2024-10-18']
    """
    own: list[dt.date | None] = []
    last = None
    for item in case.evidence:
        last = item.date or last
        own.append(last)
    index = {e.id: i for i, e in enumerate(case.evidence)}
    done: dict[int, dt.date | None] = {}

    def latest(a: dt.date | None, b: dt.date | None) -> dt.date | None:
        return b if a is None else a if b is None else max(a, b)

    for start in range(len(case.evidence)):
        # depth-first over parents without recursion (provenance is acyclic)
        stack = [start]
        while stack:
            i = stack[-1]
            if i in done:
                stack.pop()
                continue
            parents = [index[p] for p in case.evidence[i].derived_from or ()]
            todo = [p for p in parents if p not in done]
            if todo:
                stack.extend(todo)
                continue
            value = own[i]
            for p in parents:
                value = latest(value, done[p])
            done[i] = value
            stack.pop()
    return [done[i] for i in range(len(case.evidence))]


def as_of(case: Case | dict[str, Any] | str, date: dt.date | str) -> Case:
    """The case with only the evidence published on or before ``date``.

    Undated items take the date of the item before them in file order (the
    ledger's rule); undated items before any dated one are always kept. A
    derived item is dropped with any parent it derives from (a copy of a report
    not yet published cannot exist), so the result is a valid case. The input
    is not changed.

    Parameters
    ----------
    case : Case, dict or path
    date : datetime.date or str
        ``YYYY-MM-DD``.

    Returns
    -------
    Case

    Raises
    ------
    ValueError
        ``date`` is text that is not an ISO calendar date.
    TypeError
        ``date`` is neither a date nor text.

    Examples
    --------
    >>> from credence import load_case
    >>> case = load_case("examples/north-korea-troops.yaml")
    >>> [e.id for e in as_of(case, "2024-10-14").evidence]
    ['zelensky-oct13', 'treaty']
    """
    case = as_case(case)
    cut = iso_date(date)
    kept = [
        item
        for item, when in zip(case.evidence, effective_dates(case), strict=True)
        if when is None or when <= cut
    ]
    return keeping(case, kept)


@dataclass(frozen=True, eq=False)
class Timeline:
    """The posterior of every hypothesis as of each evidence date.

    Attributes
    ----------
    hypotheses : tuple of str
    dates : tuple of datetime.date
        The distinct dates of the evidence, in order.
    prior : ndarray (K,)
        The starting point: the posterior with no evidence (the prior).
    prior_lo, prior_hi : ndarray (K,)
        Its robustness band (wide only for a Beta claim prior).
    posterior : ndarray (n_dates, K)
        P(H | evidence as of each date).
    lo, hi : ndarray (n_dates, K)
        The ``level`` robustness interval of each.
    evidence : tuple of tuple of str
        Ids of the items first counted at each date (undated items before any
        dated one count from the first date).
    level : float
    """

    hypotheses: tuple[str, ...]
    dates: tuple[dt.date, ...]
    prior: np.ndarray
    prior_lo: np.ndarray
    prior_hi: np.ndarray
    posterior: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    evidence: tuple[tuple[str, ...], ...]
    level: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain types: the prior, then one entry per date.

        Examples
        --------
        >>> t = timeline("examples/north-korea-troops.yaml", seed=1, draws=200)
        >>> [d["date"] for d in t.to_dict()["dates"]][:2]
        ['2024-10-13', '2024-10-14']
        """

        def point(p, lo, hi) -> dict[str, Any]:
            return {
                "posterior": {h: float(x) for h, x in zip(self.hypotheses, p, strict=True)},
                "interval": {
                    h: [float(a), float(b)] for h, a, b in zip(self.hypotheses, lo, hi, strict=True)
                },
            }

        return {
            "hypotheses": list(self.hypotheses),
            "level": self.level,
            "prior": point(self.prior, self.prior_lo, self.prior_hi),
            "dates": [
                {"date": d.isoformat(), "evidence": list(ids)} | point(p, lo, hi)
                for d, ids, p, lo, hi in zip(
                    self.dates, self.evidence, self.posterior, self.lo, self.hi, strict=True
                )
            ],
        }

    def to_frame(self) -> pd.DataFrame:
        """Long form: one row per (point, hypothesis); the prior's date is missing (NaT)."""
        import pandas as pd

        rows = []
        points = [(None, (), self.prior, self.prior_lo, self.prior_hi)]
        points += list(
            zip(self.dates, self.evidence, self.posterior, self.lo, self.hi, strict=True)
        )
        for d, ids, p, lo, hi in points:
            for k, h in enumerate(self.hypotheses):
                rows.append(
                    {
                        "date": pd.NaT if d is None else pd.Timestamp(d),
                        "hypothesis": h,
                        "posterior": float(p[k]),
                        "lo": float(lo[k]),
                        "hi": float(hi[k]),
                        "new_evidence": ", ".join(ids),
                    }
                )
        return pd.DataFrame(rows)


def _bands(assessment: Assessment) -> tuple[np.ndarray, np.ndarray]:
    intervals = assessment.intervals
    lo = np.array([intervals[h][0] for h in assessment.hypotheses])
    hi = np.array([intervals[h][1] for h in assessment.hypotheses])
    return lo, hi


class _Progress:
    """A transient rich progress bar on stderr, shown once work has taken over a second."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.start = time.monotonic()
        self.bar = None
        self.task = None

    def advance(self, done: int) -> None:
        if self.bar is None:
            if time.monotonic() - self.start < _PROGRESS_AFTER or not sys.stderr.isatty():
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            columns = (TextColumn("timeline"), BarColumn(), MofNCompleteColumn())
            self.bar = Progress(*columns, console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("timeline", total=self.total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def timeline(
    case: Case | dict[str, Any] | str,
    *,
    seed: int | None = None,
    draws: int = 4000,
    level: float = 0.9,
) -> Timeline:
    """Assess the case as of each of its evidence dates, from the prior on.

    Each point is :func:`credence.assess` of :func:`as_of` the case at that
    date (exact engine), with the same ``seed`` for every point.

    Parameters
    ----------
    case : Case, dict or path
    seed : int, optional
        Seed of every point's robustness draws.
    draws : int, default 4000
        Robustness draws per point.
    level : float, default 0.9
        Mass of each robustness band.

    Returns
    -------
    Timeline
        No dates (only the prior) for a case whose evidence is undated.

    Examples
    --------
    >>> t = timeline("examples/north-korea-troops.yaml", seed=1, draws=500)
    >>> t.dates[0], t.dates[-1]
    (datetime.date(2024, 10, 13), datetime.date(2024, 10, 21))
    >>> round(float(t.posterior[-1, 0]), 4)
    0.9355
    """
    from credence.api import assess

    case = as_case(case)
    when = effective_dates(case)
    dates = tuple(sorted({item.date for item in case.evidence if item.date is not None}))
    start = assess(keeping(case, []), seed=seed, draws=draws, level=level)
    prior_lo, prior_hi = _bands(start)
    K = len(start.hypotheses)
    posterior = np.empty((len(dates), K))
    lo = np.empty((len(dates), K))
    hi = np.empty((len(dates), K))
    added = []
    progress = _Progress(len(dates))
    try:
        for i, d in enumerate(dates):
            result = assess(as_of(case, d), seed=seed, draws=draws, level=level)
            posterior[i] = result.posterior_array
            lo[i], hi[i] = _bands(result)
            previous = dates[i - 1] if i else None
            added.append(
                tuple(
                    e.id
                    for e, w in zip(case.evidence, when, strict=True)
                    if (w is None and i == 0)
                    or (w is not None and w <= d and (previous is None or w > previous))
                )
            )
            progress.advance(i + 1)
    finally:
        progress.close()
    for array in (posterior, lo, hi, prior_lo, prior_hi):
        array.setflags(write=False)
    prior = np.array(start.posterior_array, dtype=float)
    prior.setflags(write=False)
    return Timeline(
        hypotheses=start.hypotheses,
        dates=dates,
        prior=prior,
        prior_lo=prior_lo,
        prior_hi=prior_hi,
        posterior=posterior,
        lo=lo,
        hi=hi,
        evidence=tuple(added),
        level=float(level),
    )
