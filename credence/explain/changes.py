"""What would change the verdict: smallest changes, the prior, the reliabilities.

Every number here comes from the exact engine (:func:`~credence.compile.compile_case`
and :func:`~credence.exact.exact_posterior`) applied to the case with one judgment
changed; nothing re-derives the model. Moves of one source's reliability or of one
copy probability are swept fast by splitting the case in two: the reports of that
source, and everything else (prior, direct evidence, the other sources). Given
the hypothesis, the engine's likelihood is a product over reliability parameters
(each report depends on one parameter of its own source), so the posterior is the
normalised product of the engine's posterior of each part (the first under a
uniform prior). The split is checked against the whole case's posterior once per
source, and the whole case is evaluated instead if they ever disagree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from credence.case import ADMIRALTY, Admiralty, Beta, Case, TwoCoin
from credence.compile import CompiledCase, compile_exact, match_fraction
from credence.errors import CaseError, printable, shown
from credence.exact import exact_posterior, logsumexp
from credence.explain.edits import (
    dropped_with,
    flipped,
    with_copy_probability,
    with_reliability,
    without,
)
from credence.formatting import percent
from credence.jsonable import finite_or_none
from credence.words import words as icd203_words

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "TOLERANCE",
    "Change",
    "ChangeTable",
    "PriorSensitivity",
    "Tornado",
    "prior_sensitivity",
    "reliability_tornado",
    "what_would_change",
]

#: Bisection tolerance on the probability scale of a reliability, sensitivity,
#: false-positive rate or copy probability: a reported threshold ``after`` crosses,
#: and the value ``TOLERANCE`` back towards ``before`` does not.
TOLERANCE = 1e-5
#: Points of the coarse scan over [0, 1] that brackets each crossing before bisection.
_GRID = 11
#: A Beta's mean is moved within [_EDGE, 1 - _EDGE] (a Beta's parameters are positive).
_EDGE = 1e-6
_GRADES = "ABCDEF"
_KIND_ORDER = {
    k: i
    for i, k in enumerate(
        (
            "drop",
            "flip",
            "grade",
            "accuracy",
            "sensitivity",
            "false_positive_rate",
            "copy_probability",
        )
    )
}


def _words(p: float) -> str:
    return icd203_words(min(max(float(p), 0.0), 1.0))


def _shown_number(x: float, other: float) -> str:
    """``x`` with enough decimals (2 to 6) to tell it from ``other``."""
    for decimals in range(2, 7):
        if round(x, decimals) != round(other, decimals):
            break
    return f"{x:.{decimals}f}"


def _setting_dict(setting: Any) -> Any:
    if isinstance(setting, Beta | TwoCoin | Admiralty):
        return setting.to_dict()
    return setting


# -- the case, compiled, and the hypothesis followed --------------------------


def _tracked(compiled: CompiledCase, posterior: np.ndarray, hypothesis: str | None) -> int:
    """The hypothesis followed: given, else the claim (binary) or the leading one."""
    if hypothesis is None:
        return 0 if compiled.case.is_binary else int(np.argmax(posterior))
    if hypothesis not in compiled.hypotheses:
        known = ", ".join(shown(h) for h in compiled.hypotheses)
        raise ValueError(f"unknown hypothesis {shown(hypothesis)}; the case has {known}")
    return compiled.hypotheses.index(hypothesis)


#: A hypothesis ahead of the case's leader by no more than this is a tie, not a new leader.
_TIE = 1e-12


def _crossed(base: np.ndarray, posterior: np.ndarray, t: int) -> dict[str, bool]:
    """What a change crosses: the ICD 203 band, 1/2, the leading hypothesis."""
    leader = int(np.argmax(base))
    return {
        "band": _words(posterior[t]) != _words(base[t]),
        "half": (posterior[t] > 0.5) != (base[t] > 0.5),
        "leader": bool(posterior.max() - posterior[leader] > _TIE),
    }


# -- the posterior with one source's parameters or copy probabilities moved -----


def _restrict(compiled: CompiledCase, reports: np.ndarray, *, rest: bool) -> CompiledCase:
    """The compiled case with only the chosen reports (boolean mask) and their parameters.

    ``rest=True`` keeps the prior and the direct evidence; otherwise the prior is
    uniform and there is no direct evidence.
    """
    used = np.unique(compiled.report_param[reports])
    remap = np.full(compiled.n_params, -1)
    remap[used] = np.arange(used.size)
    K = compiled.n_hypotheses
    changes: dict[str, Any] = {
        "param_source": compiled.param_source[used],
        "param_names": tuple(compiled.param_names[p] for p in used),
        "param_channel": compiled.param_channel[used],
        "param_value": compiled.param_value[used],
        "param_alpha": compiled.param_alpha[used],
        "param_beta": compiled.param_beta[used],
        "param_one_coin": compiled.param_one_coin[used],
        "report_param": remap[compiled.report_param[reports]],
    }
    for name in (
        "report_evidence",
        "report_source",
        "report_rises",
        "report_declared",
        "report_derived",
        "report_match",
        "report_copy_value",
        "report_copy_alpha",
        "report_copy_beta",
    ):
        changes[name] = getattr(compiled, name)[reports]
    changes |= _restrict_groups(compiled, reports, changes["report_match"])
    if not rest:
        changes |= {
            "prior": np.full(K, 1.0 / K),
            "prior_beta": None,
            "direct_evidence": compiled.direct_evidence[:0],
            "direct_loglik": compiled.direct_loglik[:0],
            "direct_lognormal": compiled.direct_lognormal[:0],
        }
    return replace(compiled, **changes)


def _restrict_groups(compiled: CompiledCase, reports: np.ndarray, match: np.ndarray) -> dict:
    """The groups among the chosen reports (a boolean mask).

    Members left out leave their group; the others keep their order and their
    match fractions are recomputed. A group left with one member goes, and that
    member is an independent report (``match`` is updated in place).
    """
    index = np.full(len(compiled.report_derived), -1)
    index[reports] = np.arange(int(np.count_nonzero(reports)))
    declared = compiled.report_declared
    keep, members = [], []
    for g, group in enumerate(compiled.group_members):
        kept = group[reports[group]]
        if kept.size:
            match[index[kept[0]]] = 0.0
        if kept.size < 2:
            continue
        for j in range(1, kept.size):
            match[index[kept[j]]] = match_fraction(declared[kept[:j]], declared[kept[j]])
        keep.append(g)
        members.append(index[kept])
    report_group = np.full(int(np.count_nonzero(reports)), -1)
    for new, m in enumerate(members):
        report_group[m] = new
    return {
        "group_ids": tuple(compiled.group_ids[g] for g in keep),
        "group_members": tuple(members),
        "group_copy_value": compiled.group_copy_value[keep],
        "group_copy_alpha": compiled.group_copy_alpha[keep],
        "group_copy_beta": compiled.group_copy_beta[keep],
        "report_group": report_group,
    }


def _set(value: np.ndarray, alpha: np.ndarray, beta: np.ndarray, i: int, x: float | Beta) -> None:
    if isinstance(x, Beta):
        value[i], alpha[i], beta[i] = math.nan, x.a, x.b
    else:
        value[i], alpha[i], beta[i] = float(x), math.nan, math.nan


class _Probe:
    """Posterior of the case with parameters or copy probabilities of one source changed.

    With ``log_rest`` (log posterior of everything but the source's reports, up
    to a constant) only the source's reports (``sub``) are evaluated; without,
    the whole case is.
    """

    def __init__(
        self, compiled: CompiledCase, source: int, sub: CompiledCase, log_rest: np.ndarray | None
    ) -> None:
        self.compiled = compiled
        mask = compiled.report_source == source
        self.reports = np.flatnonzero(mask)
        self.sub = sub
        self.sub_param = {int(p): i for i, p in enumerate(np.unique(compiled.report_param[mask]))}
        self.log_rest = log_rest
        self.split = log_rest is not None

    def combine(self, sub: np.ndarray) -> np.ndarray | None:
        """The whole case's posterior from the posterior of the source's reports alone."""
        with np.errstate(divide="ignore"):
            log = self.log_rest + np.log(sub)
        if not np.isfinite(log).any():
            return None
        return np.exp(log - logsumexp(log))

    def posterior(
        self, params: dict[int, float | Beta] | None = None, copies: dict[int, float] | None = None
    ) -> np.ndarray | None:
        """P(H | evidence) with parameters and copy probabilities set, or None.

        ``params`` maps full parameter indices, ``copies`` report indices, to
        their new values; None where the evidence becomes impossible.
        """
        target = self.sub if self.split else self.compiled
        value, alpha, beta = (
            target.param_value.copy(),
            target.param_alpha.copy(),
            target.param_beta.copy(),
        )
        for p, x in (params or {}).items():
            i = self.sub_param.get(p) if self.split else p
            if i is not None:
                _set(value, alpha, beta, i, x)
        changes: dict[str, Any] = {"param_value": value, "param_alpha": alpha, "param_beta": beta}
        if copies:
            cv = target.report_copy_value.copy()
            ca = target.report_copy_alpha.copy()
            cb = target.report_copy_beta.copy()
            for r, c in copies.items():
                i = int(np.searchsorted(self.reports, r)) if self.split else r
                _set(cv, ca, cb, i, c)
            changes |= {"report_copy_value": cv, "report_copy_alpha": ca, "report_copy_beta": cb}
        try:
            posterior = exact_posterior(replace(target, **changes))
        except CaseError:
            return None
        return self.combine(posterior) if self.split else posterior


class _Context:
    """A case, its base posterior and verdict, and a probe per source."""

    def __init__(self, case: Case, hypothesis: str | None) -> None:
        self.case = case
        self.compiled = compile_exact(case, "explaining a verdict")
        self.base = exact_posterior(self.compiled)
        self.t = _tracked(self.compiled, self.base, hypothesis)
        self.leader = int(np.argmax(self.base))
        self.targets = ("band", "half") if case.is_binary else ("band", "half", "leader")
        self._probes: dict[int, _Probe] = {}
        self._subs: dict[int, tuple[CompiledCase, np.ndarray]] | None = None
        self.factorizes = False
        self.scale: dict[str, float | Beta] = dict(ADMIRALTY) | dict(case.admiralty or {})
        self.source_index = {source.id: i for i, source in enumerate(case.sources)}

    def _split(self) -> None:
        """Each source's reports alone (uniform prior), and whether they factorise the case.

        The prior and direct evidence times every source's part must give the
        case's posterior; if not (semantics that tie sources together), every
        probe evaluates the whole case.
        """
        compiled = self.compiled
        none = np.zeros(len(compiled.report_source), bool)
        with np.errstate(divide="ignore"):
            total = np.log(exact_posterior(_restrict(compiled, none, rest=True)))
            self._subs = {}
            for s in map(int, np.unique(compiled.report_source)):
                sub = _restrict(compiled, compiled.report_source == s, rest=False)
                log_sub = np.log(exact_posterior(sub))
                self._subs[s] = (sub, log_sub)
                total = total + log_sub
        finite = np.isfinite(total)
        if finite.any():
            combined = np.exp(total - logsumexp(total))
            self.factorizes = bool(np.allclose(combined, self.base, rtol=1e-9, atol=1e-12))

    def probe(self, source: int) -> _Probe:
        """The probe of one source's parameters and copy probabilities."""
        if self._subs is None:
            self._split()
        if source not in self._probes:
            compiled = self.compiled
            mask = compiled.report_source == source
            if source in self._subs:
                sub, log_sub = self._subs[source]
            else:  # a source without reports
                sub, log_sub = (
                    _restrict(compiled, mask, rest=False),
                    np.zeros(compiled.n_hypotheses),
                )
            log_rest = None
            if self.factorizes:
                with np.errstate(divide="ignore", invalid="ignore"):
                    log_rest = np.log(self.base) - log_sub
                if np.isnan(log_rest).any():  # the source's reports alone rule a hypothesis out
                    with np.errstate(divide="ignore"):
                        log_rest = np.log(exact_posterior(_restrict(compiled, ~mask, rest=True)))
            self._probes[source] = _Probe(compiled, source, sub, log_rest)
        return self._probes[source]

    def crossed(self, posterior: np.ndarray) -> dict[str, bool]:
        return _crossed(self.base, posterior, self.t)


# -- what would change the verdict ------------------------------------------


@dataclass(frozen=True)
class Change:
    """One change of a case and the verdict it leads to (a row of :class:`ChangeTable`).

    Attributes
    ----------
    subject : str
        The evidence item or source changed.
    subject_type : {"evidence", "source"}
    kind : str
        ``"drop"`` or ``"flip"`` (an item); ``"grade"`` (a one-coin source's
        Admiralty grade), ``"accuracy"``, ``"sensitivity"`` or
        ``"false_positive_rate"`` (a source's reliability); ``"copy_probability"``
        (a derived item).
    change : str
        The change in words, e.g. ``"B -> D"`` or ``"accuracy 0.80 -> 0.61"``.
    target : str or None
        What the move was solved to cross: ``"band"``, ``"half"`` or
        ``"leader"`` (None for dropping or flipping an item).
    before, after : float or None
        The moved value (a fixed number, or a Beta's mean: a Beta is moved with
        its concentration ``a + b`` kept; a grade's mean), before and after.
    setting : float, str, Beta, TwoCoin or None
        The reliability or copy probability written into the case by :meth:`apply`.
    posterior : float
        Probability of the followed hypothesis after the change.
    words : str
        Its ICD 203 words.
    leader : str
        The leading hypothesis after the change.
    crosses_band, crosses_half, changes_leader : bool
        The change moves the followed hypothesis across its ICD 203 band, across
        1/2, or changes the leading hypothesis.
    distance : float
        ``|after - before|``; 0 for dropping or flipping an item.
    shift : float
        Posterior after minus before.
    dropped_along : tuple of str
        Derived items dropped with the item (see :func:`~credence.explain.edits.dropped_with`).
    """

    subject: str
    subject_type: str
    kind: str
    change: str
    target: str | None
    before: float | None
    after: float | None
    setting: float | str | Beta | TwoCoin | None
    posterior: float
    words: str
    leader: str
    crosses_band: bool
    crosses_half: bool
    changes_leader: bool
    distance: float
    shift: float
    dropped_along: tuple[str, ...] = ()

    @property
    def crossed(self) -> tuple[str, ...]:
        """What the change crosses: ``"band"``, ``"1/2"``, ``"leader"``, in that order."""
        flags = (
            ("band", self.crosses_band),
            ("1/2", self.crosses_half),
            ("leader", self.changes_leader),
        )
        return tuple(name for name, on in flags if on)

    @property
    def crosses(self) -> bool:
        """Crosses the band or 1/2, or changes the leader."""
        return self.crosses_band or self.crosses_half or self.changes_leader

    def apply(self, case: Case) -> Case:
        """The case with this change made (a new case; ``case`` is not changed)."""
        if self.kind == "drop":
            return without(case, self.subject)
        if self.kind == "flip":
            return flipped(case, self.subject)
        if self.kind == "copy_probability":
            return with_copy_probability(case, self.subject, self.setting)
        return with_reliability(case, self.subject, self.setting)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (plain floats, text, booleans and None)."""
        return {
            "subject": self.subject,
            "subject_type": self.subject_type,
            "kind": self.kind,
            "change": self.change,
            "target": self.target,
            "before": finite_or_none(self.before),
            "after": finite_or_none(self.after),
            "setting": _setting_dict(self.setting),
            "posterior": float(self.posterior),
            "words": self.words,
            "leader": self.leader,
            "crosses_band": bool(self.crosses_band),
            "crosses_half": bool(self.crosses_half),
            "changes_leader": bool(self.changes_leader),
            "distance": float(self.distance),
            "shift": float(self.shift),
            "dropped_along": list(self.dropped_along),
        }


def rank_key(row: Change) -> tuple:
    """The order of :attr:`ChangeTable.rows`, smallest sufficient change first.

    1. rows that cross (the band, 1/2 or the leader) before those that do not;
    2. by ``distance``: dropping or flipping one item (0) first, then moves of a
       reliability, grade or copy probability by how far the value moves;
    3. drop, flip, grade, accuracy, sensitivity, false-positive rate, copy probability;
    4. by how far the posterior moves, largest first; then by subject.
    """
    return (not row.crosses, row.distance, _KIND_ORDER[row.kind], -abs(row.shift), row.subject)


@dataclass(frozen=True)
class ChangeTable:
    """What would change the verdict: :func:`what_would_change`'s result.

    Attributes
    ----------
    hypothesis : str
        The hypothesis followed (the claim, or the leading hypothesis).
    posterior : float
        Its probability in the case as written.
    words : str
        Its ICD 203 words.
    leader : str
        The leading hypothesis.
    rows : tuple of Change
        Ranked by :func:`rank_key`: "the verdict rests most on" the first.
    tolerance : float
        Bisection tolerance of the thresholds (:data:`TOLERANCE`).
    """

    hypothesis: str
    posterior: float
    words: str
    leader: str
    rows: tuple[Change, ...]
    tolerance: float = TOLERANCE

    @property
    def rests_on(self) -> Change | None:
        """The smallest change that crosses something, if any does."""
        return next((row for row in self.rows if row.crosses), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (plain floats, text, booleans and None)."""
        return {
            "hypothesis": self.hypothesis,
            "posterior": float(self.posterior),
            "words": self.words,
            "leader": self.leader,
            "tolerance": float(self.tolerance),
            "rows": [row.to_dict() for row in self.rows],
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per change (imports pandas)."""
        import pandas as pd

        columns = list(Change.__dataclass_fields__)
        rows = [row.to_dict() for row in self.rows]
        for row in rows:
            row["setting"] = None if row["setting"] is None else str(row["setting"])
            row["dropped_along"] = ", ".join(row["dropped_along"])
        return pd.DataFrame(rows, columns=columns)

    def __str__(self) -> str:
        head = f"P({printable(self.hypothesis)}) = {percent(self.posterior)} ({self.words})"
        lines = [head]
        for row in self.rows:
            flags = row.crossed
            lines.append(
                f"  {printable(row.subject)[:24]:<24} {printable(row.change)[:44]:<44} "
                f"{percent(row.posterior):>8}  {row.words:<20} "
                f"{'crosses ' + ', '.join(flags) if flags else ''}".rstrip()
            )
        return "\n".join(lines)


def _row(ctx: _Context, posterior: np.ndarray, **fields: Any) -> Change:
    crossed = ctx.crossed(posterior)
    p = float(posterior[ctx.t])
    return Change(
        posterior=p,
        words=_words(p),
        leader=ctx.compiled.hypotheses[int(np.argmax(posterior))],
        crosses_band=crossed["band"],
        crosses_half=crossed["half"],
        changes_leader=crossed["leader"],
        shift=p - float(ctx.base[ctx.t]),
        **fields,
    )


def _edited_posterior(ctx: _Context, item: Any, kind: str, parents: set[str]) -> np.ndarray:
    """The posterior without the item, or with it flipped.

    An item no other copies changes only its own source's part: that part is
    evaluated alone (see :class:`_Probe`); any other item, the whole edited case.
    """
    edit = without if kind == "drop" else flipped
    if item.is_direct or item.id in parents:
        return exact_posterior(compile_exact(edit(ctx.case, item.id), "explaining a verdict"))
    s = ctx.source_index[item.source]
    probe = ctx.probe(s)
    if not probe.split:
        return exact_posterior(compile_exact(edit(ctx.case, item.id), "explaining a verdict"))
    if kind == "drop":
        e = ctx.compiled.evidence_ids.index(item.id)
        compiled = ctx.compiled
        keep = (compiled.report_source == s) & (compiled.report_evidence != e)
    else:
        compiled = compile_exact(edit(ctx.case, item.id), "explaining a verdict")
        keep = compiled.report_source == s
    posterior = probe.combine(exact_posterior(_restrict(compiled, keep, rest=False)))
    if posterior is None:
        raise CaseError("the evidence becomes impossible")
    return posterior


def _item_rows(ctx: _Context) -> list[Change]:
    """Dropping each item, and flipping each sourced report."""
    rows = []
    parents = {p for item in ctx.case.evidence for p in item.derived_from or ()}
    for item in ctx.case.evidence:
        edits = [("drop", "drop")]
        if not item.is_direct:
            if item.stance is not None:
                other = "refutes" if item.stance == "supports" else "supports"
                text = f"{item.stance} -> {other}"
            else:
                key = "supports" if item.supports is not None else "refutes"
                other = "refutes" if key == "supports" else "supports"
                text = f"{key} -> {other} {', '.join(getattr(item, key))}"
            edits.append(("flip", text))
        for kind, text in edits:
            along = dropped_with(ctx.case, item.id) if kind == "drop" else ()
            if along:
                text += f" (and its copies {', '.join(along)})"
            try:
                posterior = _edited_posterior(ctx, item, kind, parents)
            except CaseError:  # e.g. a pure copy flipped against every parent
                continue
            rows.append(
                _row(
                    ctx,
                    posterior,
                    subject=item.id,
                    subject_type="evidence",
                    kind=kind,
                    change=text,
                    target=None,
                    before=None,
                    after=None,
                    setting=None,
                    distance=0.0,
                    dropped_along=along,
                )
            )
    return rows


def _thresholds(
    ctx: _Context, evaluate: Callable[[float], np.ndarray | None], x0: float, lo: float, hi: float
) -> dict[str, tuple[float, np.ndarray]]:
    """For each target, the value nearest ``x0`` in [lo, hi] where the verdict crosses it.

    A coarse scan brackets the nearest crossing on each side; bisection narrows
    the bracket to :data:`TOLERANCE` and returns its crossing end.
    """
    seen: dict[float, np.ndarray | None] = {}

    def at(x: float) -> np.ndarray | None:
        if x not in seen:
            seen[x] = evaluate(x)
        return seen[x]

    grid = np.linspace(lo, hi, _GRID)
    sides = (grid[grid > x0], grid[grid < x0][::-1])
    found = {}
    for target in ctx.targets:

        def crossed(posterior: np.ndarray | None, target: str = target) -> bool:
            return posterior is not None and ctx.crossed(posterior)[target]

        brackets = []
        for side in sides:
            inside = x0
            for x in map(float, side):
                posterior = at(x)
                if crossed(posterior):
                    brackets.append((inside, x))
                    break
                if posterior is not None:
                    inside = x
        best: tuple[float, np.ndarray] | None = None
        for inside, outside in sorted(brackets, key=lambda b: abs(b[0] - x0)):
            if best is not None and abs(inside - x0) >= abs(best[0] - x0):
                break
            while abs(outside - inside) > TOLERANCE:
                mid = 0.5 * (inside + outside)
                posterior = at(mid)
                if posterior is None:
                    break
                if crossed(posterior):
                    outside = mid
                else:
                    inside = mid
            if best is None or abs(outside - x0) < abs(best[0] - x0):
                best = (outside, at(outside))
        if best is not None:
            found[target] = best
    return found


def _moves(
    ctx: _Context,
    evaluate: Callable[[float], np.ndarray | None],
    x0: float,
    bounds: tuple[float, float],
    setting: Callable[[float], Any],
    label: str,
    **fields: Any,
) -> list[Change]:
    """Rows for the smallest moves of one value that cross each target (one row per value)."""
    rows: dict[float, Change] = {}
    for target, (x, posterior) in _thresholds(ctx, evaluate, x0, *bounds).items():
        if x not in rows:
            rows[x] = _row(
                ctx,
                posterior,
                target=target,
                before=x0,
                after=x,
                setting=setting(x),
                distance=abs(x - x0),
                change=f"{label} {_shown_number(x0, x)} -> {_shown_number(x, x0)}",
                **fields,
            )
    return list(rows.values())


def _mover(value: float | Beta) -> tuple[float, Callable[[float], float | Beta], tuple, str]:
    """(x0, value at x, bounds, label prefix): a number moves, a Beta moves its mean."""
    if isinstance(value, Beta):
        n = value.a + value.b
        return value.mean, lambda x: Beta(x * n, (1.0 - x) * n), (_EDGE, 1.0 - _EDGE), "mean "
    return float(value), float, (0.0, 1.0), ""


def _mean(value: float | Beta) -> float:
    return value.mean if isinstance(value, Beta) else float(value)


def _source_rows(ctx: _Context, s: int) -> list[Change]:
    """Moves of one source's reliability.

    Grade and accuracy of a one-coin source; sensitivity and false-positive rate
    of a two-coin source.
    """
    source = ctx.case.sources[s]
    compiled = ctx.compiled
    if not np.any(compiled.report_source == s):
        return []
    probe = ctx.probe(s)
    params = {
        compiled.param_names[p].rsplit(".", 1)[1]: int(p)
        for p in np.flatnonzero((compiled.param_source == s) & (compiled.param_channel < 0))
    }
    common = {"subject": source.id, "subject_type": "source"}
    rel = source.reliability
    rows: list[Change] = []
    if isinstance(rel, TwoCoin):
        parts = {"sensitivity": rel.sensitivity, "false_positive_rate": rel.false_positive_rate}
        for name, value in parts.items():
            x0, make, bounds, prefix = _mover(value)

            def setting(x: float, name: str = name, make=make) -> TwoCoin:
                return TwoCoin(**(parts | {name: make(x)}))

            rows += _moves(
                ctx,
                lambda x, p=params[name], make=make: probe.posterior({p: make(x)}),
                x0,
                bounds,
                setting,
                prefix + name.replace("_positive_", "-positive ").replace("_", " "),
                kind=name,
                **common,
            )
        return rows
    grade = rel.admiralty if isinstance(rel, Admiralty) else rel if isinstance(rel, str) else None
    value = ctx.scale[grade] if grade is not None else rel
    x0, make, bounds, prefix = _mover(value)
    p = params["accuracy"]
    rows += _moves(
        ctx,
        lambda x: probe.posterior({p: make(x)}),
        x0,
        bounds,
        make,
        prefix + "accuracy",
        kind="accuracy",
        **common,
    )
    # grades: for each target, the nearest grade (by mean, then by letter) that crosses it
    here = _GRADES.index(grade) if grade is not None else None
    by_grade = []
    for g in _GRADES:
        if g == grade:
            continue
        posterior = probe.posterior({p: ctx.scale[g]})
        if posterior is not None:
            steps = abs(_GRADES.index(g) - here) if here is not None else 0
            by_grade.append((abs(_mean(ctx.scale[g]) - x0), steps, g, posterior))
    chosen: dict[str, Change] = {}
    for target in ctx.targets:
        crossing = [b for b in sorted(by_grade) if ctx.crossed(b[3])[target]]
        if crossing and crossing[0][2] not in chosen:
            distance, _, g, posterior = crossing[0]
            before = grade or f"accuracy {_shown_number(x0, _mean(ctx.scale[g]))}"
            chosen[g] = _row(
                ctx,
                posterior,
                kind="grade",
                change=f"{before} -> {g}",
                target=target,
                before=x0,
                after=_mean(ctx.scale[g]),
                setting=g,
                distance=distance,
                **common,
            )
    return rows + list(chosen.values())


def _copy_rows(ctx: _Context) -> list[Change]:
    """Moves of each derived item's copy probability."""
    compiled = ctx.compiled
    rows: list[Change] = []
    for r in np.flatnonzero(compiled.report_derived):
        r = int(r)
        probe = ctx.probe(int(compiled.report_source[r]))
        rows += _moves(
            ctx,
            lambda c, r=r, probe=probe: probe.posterior(copies={r: c}),
            float(compiled.copy_mean[r]),
            (0.0, 1.0),
            float,
            "copy probability",
            kind="copy_probability",
            subject=compiled.evidence_ids[compiled.report_evidence[r]],
            subject_type="evidence",
        )
    return rows


def what_would_change(case: Case, *, hypothesis: str | None = None) -> ChangeTable:
    """The smallest changes of the case that would change its verdict, ranked.

    For every evidence item: dropping it (with the copies it orphans) and
    flipping its stance. For every source: the nearest Admiralty grade and the
    nearest accuracy (one-coin sources), or the nearest sensitivity and
    false-positive rate (two-coin sources), that move the followed hypothesis
    across its ICD 203 band, across 1/2, or (several hypotheses) change the
    leading one. For every derived item: the nearest copy probability that does.

    Moves are solved with the exact engine: a coarse scan of [0, 1] brackets the
    crossing nearest the current value, bisection narrows it to
    :data:`TOLERANCE`. A fixed number moves as a number; a Beta moves its mean
    with its concentration ``a + b`` kept (the same certainty about another
    value), so a move of 0 is the case as written. A crossing that a function
    not monotone in the value makes and undoes between two scan points
    (1/10 apart) can be missed.

    Parameters
    ----------
    case : Case
    hypothesis : str, optional
        The hypothesis followed; default the claim (binary case) or the
        leading hypothesis.

    Returns
    -------
    ChangeTable
        Drop and flip rows for every item (whether or not they cross); move
        rows only where some value in [0, 1] crosses. Ranked by :func:`rank_key`.

    Raises
    ------
    CaseError
        The case needs the PyMC engine, or is impossible.
    ValueError
        Unknown ``hypothesis``.

    Examples
    --------
    >>> from credence import Case, Claim, Evidence, Source
    >>> case = Case(
    ...     claim=Claim(statement="The bridge was destroyed", prior=0.5),
    ...     sources=[Source(id="wire", reliability="B"), Source(id="blog", reliability=0.6)],
    ...     evidence=[Evidence(id="w1", source="wire", stance="supports"),
    ...               Evidence(id="b1", source="blog", stance="refutes")],
    ... )
    >>> table = what_would_change(case)
    >>> table.words
    'likely'
    >>> table.rests_on.change
    'drop'
    """
    ctx = _Context(case, hypothesis)
    rows = _item_rows(ctx)
    for s in range(len(case.sources)):
        rows += _source_rows(ctx, s)
    rows += _copy_rows(ctx)
    p = float(ctx.base[ctx.t])
    return ChangeTable(
        hypothesis=ctx.compiled.hypotheses[ctx.t],
        posterior=p,
        words=_words(p),
        leader=ctx.compiled.hypotheses[ctx.leader],
        rows=tuple(sorted(rows, key=rank_key)),
    )


# -- the prior ------------------------------------------------------------------


def _frozen_array(x: Any) -> np.ndarray:
    out = np.array(x, dtype=float)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class PriorSensitivity:
    """The posterior as the prior runs over a grid: :func:`prior_sensitivity`'s result.

    Attributes
    ----------
    hypotheses : tuple of str
        The hypotheses whose prior runs: ``("true",)`` for a binary case, every
        hypothesis otherwise.
    grid : ndarray (G,)
        Prior values.
    posterior : ndarray (G, len(hypotheses))
        Column j: the posterior of hypothesis j when its prior is the grid
        value and the other priors are rescaled proportionally.
    prior, base : ndarray (len(hypotheses),)
        The case's prior and posterior of each hypothesis.
    bayes_factor : ndarray (len(hypotheses),)
        Posterior odds over prior odds of each hypothesis against the others
        (with the others' priors in the case's proportions): the same at every
        grid point.
    """

    hypotheses: tuple[str, ...]
    grid: np.ndarray
    posterior: np.ndarray
    prior: np.ndarray
    base: np.ndarray
    bayes_factor: np.ndarray

    def prior_needed(self, probability: float, hypothesis: str | None = None) -> float:
        """The prior of ``hypothesis`` (default the first) that gives it this posterior.

        Examples
        --------
        >>> from credence import Case, Claim, Evidence, Source
        >>> case = Case(
        ...     claim=Claim(statement="It rained", prior=0.5),
        ...     sources=[Source(id="a", reliability=0.8)],
        ...     evidence=[Evidence(id="e1", source="a", stance="supports")],
        ... )
        >>> round(prior_sensitivity(case).prior_needed(0.5), 6)
        0.2
        """
        j = self.hypotheses.index(hypothesis) if hypothesis is not None else 0
        if not 0.0 < probability < 1.0:
            raise ValueError(f"probability must be strictly between 0 and 1, got {probability!r}")
        with np.errstate(divide="ignore"):
            odds = probability / (1.0 - probability) / self.bayes_factor[j]
        return float(odds / (1.0 + odds)) if math.isfinite(odds) else 1.0

    def to_frame(self) -> pd.DataFrame:
        """Column ``prior`` and one column of posteriors per hypothesis (imports pandas)."""
        import pandas as pd

        data = {"prior": self.grid} | {
            h: self.posterior[:, j] for j, h in enumerate(self.hypotheses)
        }
        return pd.DataFrame(data)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (plain floats, text and None)."""

        def plain(xs) -> list[float | None]:
            return [finite_or_none(float(x)) for x in xs]

        return {
            "hypotheses": list(self.hypotheses),
            "grid": plain(self.grid),
            "posterior": {h: plain(self.posterior[:, j]) for j, h in enumerate(self.hypotheses)},
            "prior": dict(zip(self.hypotheses, plain(self.prior), strict=True)),
            "base": dict(zip(self.hypotheses, plain(self.base), strict=True)),
            "bayes_factor": dict(zip(self.hypotheses, plain(self.bayes_factor), strict=True)),
        }


def prior_sensitivity(case: Case, grid: Sequence[float] | None = None) -> PriorSensitivity:
    """The posterior of each hypothesis as its prior runs over a grid.

    The exact engine gives the likelihood of each hypothesis once (the posterior
    under a uniform prior); Bayes' rule gives the posterior at every prior. In a
    binary case the claim's prior runs (a Beta prior enters through its mean);
    with several hypotheses each one's prior runs in turn, the others rescaled
    in their proportions in the case (evenly, if all of them are 0).

    Parameters
    ----------
    case : Case
    grid : sequence of float, optional
        Prior values in [0, 1]; default 99 points from 0.01 to 0.99.

    Returns
    -------
    PriorSensitivity

    Raises
    ------
    CaseError
        The case needs the PyMC engine, or is impossible.

    Examples
    --------
    >>> from credence import Case, Claim, Evidence, Source
    >>> case = Case(
    ...     claim=Claim(statement="It rained", prior=0.5),
    ...     sources=[Source(id="a", reliability=0.8)],
    ...     evidence=[Evidence(id="e1", source="a", stance="supports")],
    ... )
    >>> sens = prior_sensitivity(case, grid=[0.2, 0.5])
    >>> [round(float(p), 6) for p in sens.posterior[:, 0]]
    [0.5, 0.8]
    """
    compiled = compile_exact(case, "explaining a verdict")
    grid = np.linspace(0.01, 0.99, 99) if grid is None else np.asarray(grid, dtype=float)
    if grid.ndim != 1 or not np.all((grid >= 0.0) & (grid <= 1.0)):
        raise ValueError("grid must be a sequence of prior probabilities in [0, 1]")
    K = compiled.n_hypotheses
    base = exact_posterior(compiled)
    likelihood = exact_posterior(replace(compiled, prior=np.full(K, 1.0 / K), prior_beta=None))
    columns = [0] if case.is_binary else list(range(K))
    posterior = np.empty((grid.size, len(columns)))
    factor = np.empty(len(columns))
    for j, h in enumerate(columns):
        others = np.delete(compiled.prior, h)
        weights = others / others.sum() if others.sum() > 0 else np.full(K - 1, 1.0 / (K - 1))
        rest = float(weights @ np.delete(likelihood, h))
        with np.errstate(divide="ignore", invalid="ignore"):
            factor[j] = likelihood[h] / rest
            posterior[:, j] = grid * likelihood[h] / (grid * likelihood[h] + (1 - grid) * rest)
    return PriorSensitivity(
        hypotheses=tuple(compiled.hypotheses[h] for h in columns),
        grid=_frozen_array(grid),
        posterior=_frozen_array(posterior),
        prior=_frozen_array(compiled.prior[columns]),
        base=_frozen_array(base[columns]),
        bayes_factor=_frozen_array(factor),
    )


# -- the reliabilities ----------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Tornado:
    """The posterior with each uncertain reliability at the ends of its prior range.

    :func:`reliability_tornado`'s result; bars sorted by swing, largest first.

    Attributes
    ----------
    hypothesis : str
        The hypothesis followed.
    base : float
        Its posterior in the case as written.
    level : float
        Prior mass between the two ends (0.9: the 5th and 95th percentiles).
    parameters : tuple of str
        ``"<source>.accuracy"``, ``"<source>.sensitivity"``, ``"<source>.false_positive_rate"``.
    sources : tuple of str
    low, high : ndarray
        The parameter's prior quantiles ``(1 - level) / 2`` and ``(1 + level) / 2``.
    posterior_low, posterior_high : ndarray
        The followed hypothesis's posterior with the parameter fixed at ``low`` / ``high``.
    """

    hypothesis: str
    base: float
    level: float
    parameters: tuple[str, ...]
    sources: tuple[str, ...]
    low: np.ndarray
    high: np.ndarray
    posterior_low: np.ndarray
    posterior_high: np.ndarray

    @property
    def swing(self) -> np.ndarray:
        """``|posterior_high - posterior_low|`` of each bar."""
        return np.abs(self.posterior_high - self.posterior_low)

    def to_frame(self) -> pd.DataFrame:
        """One row per bar (imports pandas)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "parameter": list(self.parameters),
                "source": list(self.sources),
                "low": self.low,
                "high": self.high,
                "posterior_low": self.posterior_low,
                "posterior_high": self.posterior_high,
                "swing": self.swing,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (plain floats, text and None)."""
        bars = [
            {
                "parameter": name,
                "source": self.sources[i],
                "low": float(self.low[i]),
                "high": float(self.high[i]),
                "posterior_low": finite_or_none(self.posterior_low[i]),
                "posterior_high": finite_or_none(self.posterior_high[i]),
                "swing": finite_or_none(self.swing[i]),
            }
            for i, name in enumerate(self.parameters)
        ]
        return {
            "hypothesis": self.hypothesis,
            "base": float(self.base),
            "level": float(self.level),
            "bars": bars,
        }


def reliability_tornado(
    case: Case, *, hypothesis: str | None = None, level: float = 0.9
) -> Tornado:
    """How much the verdict rests on each uncertain reliability: a tornado.

    Every reliability parameter with a Beta prior (a Beta or an Admiralty grade,
    or a Beta part of a two-coin channel) is fixed in turn at its prior 5th and
    95th percentiles (for ``level=0.9``), the others left as written.

    Prior, not posterior, percentiles: the prior range is the analyst's stated
    judgment, the thing a reader can argue with and the thing this chart asks
    about ("if NIS were as good or as bad as I allowed"), and it is known
    without the evidence, so the chart does not use the evidence twice (once
    to narrow the range, once to compute the posterior at its ends). How much
    the posterior rests on what the evidence leaves uncertain is the robustness
    interval's job.

    The ends need not bracket the posterior: it averages over the parameter's
    posterior, which the evidence can pull outside the prior range.

    Parameters
    ----------
    case : Case
    hypothesis : str, optional
        Default the claim (binary case) or the leading hypothesis.
    level : float, default 0.9
        Prior mass between the two ends.

    Returns
    -------
    Tornado

    Raises
    ------
    CaseError
        The case needs the PyMC engine, or is impossible.

    Examples
    --------
    >>> from credence import Case, Claim, Evidence, Source
    >>> case = Case(
    ...     claim=Claim(statement="It rained", prior=0.5),
    ...     sources=[Source(id="a", reliability="B")],
    ...     evidence=[Evidence(id="e1", source="a", stance="supports")],
    ... )
    >>> t = reliability_tornado(case)
    >>> t.parameters
    ('a.accuracy',)
    >>> [round(float(x), 3) for x in (t.posterior_low[0], t.base, t.posterior_high[0])]
    [0.641, 0.8, 0.925]
    """
    from scipy.stats import beta as beta_distribution

    if isinstance(level, bool) or not 0.0 < level < 1.0:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")
    ctx = _Context(case, hypothesis)
    compiled = ctx.compiled
    tails = ((1.0 - level) / 2, (1.0 + level) / 2)
    bars = []
    for p in map(int, np.flatnonzero(compiled.param_random)):
        s = int(compiled.param_source[p])
        ends = beta_distribution.ppf(tails, compiled.param_alpha[p], compiled.param_beta[p])
        posteriors = []
        for end in ends:
            posterior = ctx.probe(s).posterior({p: float(end)})
            posteriors.append(math.nan if posterior is None else float(posterior[ctx.t]))
        bars.append((compiled.param_names[p], compiled.source_ids[s], *ends, *posteriors))
    bars.sort(key=lambda b: (-abs(b[5] - b[4]) if math.isfinite(b[5] - b[4]) else 0.0, b[0]))
    column = list(zip(*bars, strict=True)) if bars else [()] * 6
    return Tornado(
        hypothesis=compiled.hypotheses[ctx.t],
        base=float(ctx.base[ctx.t]),
        level=float(level),
        parameters=tuple(column[0]),
        sources=tuple(column[1]),
        low=_frozen_array(column[2]),
        high=_frozen_array(column[3]),
        posterior_low=_frozen_array(column[4]),
        posterior_high=_frozen_array(column[5]),
    )
