"""The ACH matrix: Heuer's analysis of competing hypotheses beside the Bayesian posterior.

Analysis of competing hypotheses (Heuer, *Psychology of Intelligence Analysis*,
1999, ch. 8) lays the hypotheses against the evidence, marks each cell
consistent (C), inconsistent (I) or neutral (N), and ranks the hypotheses by
how much evidence is inconsistent with them: the least inconsistent first,
since evidence refutes better than it confirms. :func:`ach_matrix` builds that
matrix from a case's own model, so the marks follow from the numbers the
engines use, and sets the posterior beside the tally.

The likelihoods come from the compiled case through
:func:`credence.likelihood.report_probability`; nothing here re-derives the
model's semantics.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from credence.assessment import Assessment
from credence.case import Case
from credence.compile import CompiledCase, compile_case
from credence.jsonable import finite_or_none
from credence.likelihood import report_probability

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CONSISTENT", "INCONSISTENT", "ACHMatrix", "ach_matrix", "item_likelihoods"]

#: Default: a cell within this factor of its item's largest likelihood is consistent (C).
CONSISTENT = 1.25
#: Default: a cell at least this factor below its item's largest likelihood is inconsistent (I).
INCONSISTENT = 2.0

RULE = (
    "Each cell compares P(E | h) with the largest P(E | h') of its item: I (inconsistent) "
    "when it is at least {inconsistent:g} times smaller, C (consistent) when within a factor "
    "{consistent:g}, N (neutral) in between; an item whose diagnosticity (largest over "
    "smallest P(E | h)) is below {consistent:g} fits every hypothesis about equally and is N "
    "throughout. The tally counts each hypothesis's I cells; the weighted tally adds their "
    "log10 shortfalls log10(max P(E | h') / P(E | h)) in bans. Hypotheses are ordered by "
    "tally, then weighted tally, least inconsistent first."
)


def _read_only(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class ACHMatrix:
    """Hypotheses against evidence: likelihoods, ACH marks, tally and posterior.

    Hypotheses are in ACH order (least inconsistent first), evidence in ledger
    order. Arrays are read-only.

    Attributes
    ----------
    hypotheses : tuple of str
        Hypothesis ids, least inconsistent first.
    evidence_ids : tuple of str
        Evidence ids in ledger order.
    sources : tuple of str or None
        Source of each item (None for direct evidence).
    kinds : tuple of str
        ``"likelihood"`` or ``"likelihood_ratio"`` (direct evidence),
        ``"report"`` (a sourced report) or ``"copy"`` (a report with ``derived_from``).
    likelihood : ndarray (K, n)
        P(E | h) of each item under each hypothesis (see :func:`ach_matrix`).
        For a ``likelihood_ratio`` item the column is ``(LR, 1)``: a likelihood
        known up to a constant, which is all the matrix uses.
    diagnosticity : ndarray (n,)
        Largest over smallest P(E | h) of each item (``inf`` where one is 0).
    log10_diagnosticity : ndarray (n,)
        Its log10, in bans.
    marks : ndarray (K, n) of str
        ``"C"``, ``"I"`` or ``"N"`` (see :data:`rule`).
    tally : ndarray (K,) of int
        Number of I cells of each hypothesis.
    weighted_tally : ndarray (K,)
        Sum over a hypothesis's I cells of ``log10(max_h' P(E | h') / P(E | h))``, bans.
    prior, posterior : ndarray (K,)
        P(h) and P(h | evidence) from the engine.
    engine : str
        Engine of the posterior (``"exact"`` unless an assessment says otherwise).
    consistent, inconsistent : float
        The ratio thresholds of the marks.
    is_binary : bool
        Hypotheses ``true`` and ``false`` of a single claim.
    """

    hypotheses: tuple[str, ...]
    evidence_ids: tuple[str, ...]
    sources: tuple[str | None, ...]
    kinds: tuple[str, ...]
    likelihood: np.ndarray
    diagnosticity: np.ndarray
    log10_diagnosticity: np.ndarray
    marks: np.ndarray
    tally: np.ndarray
    weighted_tally: np.ndarray
    prior: np.ndarray
    posterior: np.ndarray
    engine: str
    consistent: float
    inconsistent: float
    is_binary: bool

    @property
    def rule(self) -> str:
        """The marking, tally and ordering rule in words, with its thresholds."""
        return RULE.format(consistent=self.consistent, inconsistent=self.inconsistent)

    @property
    def log10_relative(self) -> np.ndarray:
        """``log10(P(E | h) / max_h' P(E | h'))`` (K, n): 0 for the best fit, ``-inf`` for 0."""
        top = self.likelihood.max(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log10(self.likelihood / top)

    @property
    def leading(self) -> str:
        """The most probable hypothesis by the posterior."""
        return self.hypotheses[int(np.argmax(self.posterior))]

    def to_frame(self, by: str = "evidence") -> pd.DataFrame:
        """The matrix as a pandas DataFrame (imports pandas).

        Parameters
        ----------
        by : {"evidence", "hypothesis"}
            ``"evidence"``: one row per item (ledger order) with ``source``,
            ``kind``, ``likelihood[h]`` and ``mark[h]`` for each hypothesis,
            ``diagnosticity`` and ``log10_diagnosticity``. ``"hypothesis"``: one
            row per hypothesis (ACH order) with ``tally``, ``weighted_tally``,
            ``prior`` and ``posterior``.

        Returns
        -------
        pandas.DataFrame
        """
        import pandas as pd

        if by == "hypothesis":
            data = {
                "tally": self.tally,
                "weighted_tally": self.weighted_tally,
                "prior": self.prior,
                "posterior": self.posterior,
            }
            return pd.DataFrame(data, index=pd.Index(self.hypotheses, name="hypothesis"))
        if by != "evidence":
            raise ValueError(f"by must be 'evidence' or 'hypothesis', not {by!r}")
        data: dict[str, Any] = {"source": list(self.sources), "kind": list(self.kinds)}
        for i, h in enumerate(self.hypotheses):
            data[f"likelihood[{h}]"] = self.likelihood[i]
        for i, h in enumerate(self.hypotheses):
            data[f"mark[{h}]"] = self.marks[i]
        data["diagnosticity"] = self.diagnosticity
        data["log10_diagnosticity"] = self.log10_diagnosticity
        return pd.DataFrame(data, index=pd.Index(self.evidence_ids, name="id"))

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready matrix (infinite numbers as ``None``).

        Returns
        -------
        dict
            ``hypotheses`` (ACH order), ``evidence`` (one entry per item:
            ``id``, ``source``, ``kind``, ``likelihood`` and ``marks`` by
            hypothesis, ``diagnosticity``, ``log10_diagnosticity``), ``tally``,
            ``weighted_tally``, ``prior``, ``posterior``, ``engine``,
            ``thresholds`` and ``rule``.
        """

        def by_h(values) -> dict[str, Any]:
            return {h: v for h, v in zip(self.hypotheses, values, strict=True)}

        evidence = [
            {
                "id": eid,
                "source": self.sources[j],
                "kind": self.kinds[j],
                "likelihood": by_h(finite_or_none(x) for x in self.likelihood[:, j]),
                "marks": by_h(str(m) for m in self.marks[:, j]),
                "diagnosticity": finite_or_none(self.diagnosticity[j]),
                "log10_diagnosticity": finite_or_none(self.log10_diagnosticity[j]),
            }
            for j, eid in enumerate(self.evidence_ids)
        ]
        return {
            "hypotheses": list(self.hypotheses),
            "evidence": evidence,
            "tally": by_h(int(t) for t in self.tally),
            "weighted_tally": by_h(finite_or_none(t) for t in self.weighted_tally),
            "prior": by_h(float(p) for p in self.prior),
            "posterior": by_h(float(p) for p in self.posterior),
            "engine": self.engine,
            "thresholds": {"consistent": self.consistent, "inconsistent": self.inconsistent},
            "rule": self.rule,
        }


def item_likelihoods(compiled: CompiledCase) -> tuple[np.ndarray, list[str]]:
    """P(E | h) of every item taken alone, file order, and each item's kind.

    Sourced reports have every reliability parameter at its prior mean and
    every copy probability at its mean; direct evidence is as given (a
    log-normal likelihood ratio, PyMC engine only, at its median ``exp(mu)``).

    Parameters
    ----------
    compiled : CompiledCase

    Returns
    -------
    likelihood : ndarray (n_evidence, K)
    kinds : list of str
    """
    n, K = len(compiled.evidence_ids), compiled.n_hypotheses
    likelihood = np.empty((n, K))
    kinds = [""] * n
    for e in compiled.direct_evidence:
        item = compiled.case.evidence[e]
        if item.likelihood is not None:
            # the numbers as written (exp of the compiled log would round them)
            likelihood[e] = [item.likelihood[h] for h in compiled.hypotheses]
            kinds[e] = "likelihood"
        else:
            lr = item.likelihood_ratio
            likelihood[e] = [lr if isinstance(lr, float) else math.exp(lr.lognormal[0]), 1.0]
            kinds[e] = "likelihood_ratio"
    reports = np.arange(len(compiled.report_evidence))
    if reports.size:
        random = compiled.param_random
        theta = compiled.param_value.copy()
        a, b = compiled.param_alpha[random], compiled.param_beta[random]
        theta[random] = 1.0 / (1.0 + b / a)  # the Beta mean, also where a + b overflows
        copy = compiled.copy_mean
        likelihood[compiled.report_evidence] = report_probability(
            theta, copy, compiled.report_param, compiled.report_rises, compiled.report_match
        )
        for r, e in enumerate(compiled.report_evidence):
            kinds[e] = "copy" if compiled.report_mixed[r] else "report"
    return likelihood, kinds


def ach_matrix(
    case_or_assessment: Case | Assessment | dict | str | os.PathLike[str],
    *,
    consistent: float = CONSISTENT,
    inconsistent: float = INCONSISTENT,
) -> ACHMatrix:
    """Build the ACH matrix of a case: hypotheses against evidence, with the posterior.

    Each cell is P(E | h), the probability of the item under hypothesis h:

    * direct evidence: its ``likelihood`` as given, or ``(LR, 1)`` for a
      ``likelihood_ratio``;
    * a sourced report: P(report | h) with the source's reliability
      parameters at their **prior mean** (a fixed value as given), read from
      the compiled case through :func:`credence.likelihood.report_probability`:
      a one-coin source of accuracy r gives r when h is in the set the report
      declares possible, 1 - r otherwise; a two-coin source gives its
      sensitivity or false-positive rate (or one minus it, for "no"). Taken
      alone, a report's probability is linear in its parameter, so this is
      also its marginal likelihood under the prior;
    * a copy (``derived_from``): its independent value times ``(1 - c)`` plus
      ``c * m``, with c the copy probability (its mean, if a Beta) and m the
      fraction of parents declaring the same set. A pure copy (c = 1) is the
      same under every hypothesis: non-diagnostic, as it should be.

    The marks follow Heuer's C / I / N from the ratio of each cell to its
    item's largest P(E | h) (see :attr:`ACHMatrix.rule`):

    * ``I`` when ``max_h' P(E | h') / P(E | h) >= inconsistent`` (default 2:
      the item is at least twice as likely under another hypothesis);
    * ``C`` when that ratio is ``<= consistent`` (default 1.25);
    * ``N`` in between, and throughout an item whose diagnosticity is below
      ``consistent`` (such as a report from a 50%-accurate source).

    The tally counts the I cells of each hypothesis (the weighted tally adds
    their log10 shortfalls, bans); hypotheses are ordered by tally, then
    weighted tally, least inconsistent first. The tally is Heuer's heuristic;
    the posterior beside it is the model's answer, which weighs every item by
    its likelihood ratio, integrates the reliabilities jointly over all the
    reports and discounts copies. Where the two disagree, the posterior is
    the one to believe and the matrix shows why.

    Parameters
    ----------
    case_or_assessment : Case, Assessment, dict, str or path
        A case (as objects, plain data or a file), assessed here with the
        exact engine (:func:`credence.assess`), or an :class:`Assessment` whose
        posterior is used as is (any engine). A binary case has hypotheses
        ``true`` and ``false``.
    consistent : float, default 1.25
        Ratio threshold (>= 1) within which a cell is C.
    inconsistent : float, default 2.0
        Ratio threshold (>= ``consistent``) from which a cell is I.

    Returns
    -------
    ACHMatrix

    Raises
    ------
    CaseError
        The case is invalid, or needs the PyMC engine (pass an MCMC assessment instead).
    ValueError
        Thresholds out of range.

    Examples
    --------
    >>> from credence import Case, Hypothesis, Source, Evidence
    >>> case = Case(
    ...     hypotheses=[Hypothesis(id="a"), Hypothesis(id="b"), Hypothesis(id="c")],
    ...     sources=[Source(id="s", reliability=0.8)],
    ...     evidence=[
    ...         Evidence(id="r", source="s", supports=["a", "b"]),
    ...         Evidence(id="x", likelihood={"a": 0.3, "b": 0.6, "c": 0.6}),
    ...     ],
    ... )
    >>> m = ach_matrix(case)
    >>> m.hypotheses
    ('b', 'a', 'c')
    >>> m.marks.tolist()
    [['C', 'C'], ['C', 'I'], ['I', 'C']]
    >>> m.likelihood[:, 0].round(2).tolist()
    [0.8, 0.8, 0.2]
    >>> m.tally.tolist()
    [0, 1, 1]
    """
    for name, value in (("consistent", consistent), ("inconsistent", inconsistent)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 1:
            raise ValueError(f"{name} must be a ratio of at least 1, got {value!r}")
    if inconsistent < consistent:
        raise ValueError(
            f"inconsistent ({inconsistent:g}) must be at least consistent ({consistent:g})"
        )
    if isinstance(case_or_assessment, Assessment):
        assessment = case_or_assessment
    else:
        from credence.api import as_case, assess

        assessment = assess(as_case(case_or_assessment), engine="exact")
    compiled = compile_case(assessment.case)
    if tuple(assessment.hypotheses) != compiled.hypotheses:  # pragma: no cover - defensive
        raise ValueError("the assessment's hypotheses differ from its case's")

    likelihood, kinds = item_likelihoods(compiled)
    order = compiled.order
    lik = likelihood[order].T  # (K, n), ledger order
    kinds = [kinds[e] for e in order]
    evidence = [compiled.case.evidence[e] for e in order]

    top = lik.max(axis=0)
    low = lik.min(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        diagnosticity = np.where(top > 0, top / low, 1.0)
        relative = np.where(top > 0, lik / top, 1.0)
        shortfall = -np.log10(relative)
    marks = np.full(lik.shape, "N", dtype="<U1")
    marks[relative >= 1.0 / consistent] = "C"
    marks[relative <= 1.0 / inconsistent] = "I"
    marks[:, diagnosticity < consistent] = "N"
    is_i = marks == "I"
    tally = is_i.sum(axis=1)
    weighted = np.where(is_i, shortfall, 0.0).sum(axis=1)

    K = compiled.n_hypotheses
    rank = sorted(range(K), key=lambda h: (tally[h], weighted[h], h))
    return ACHMatrix(
        hypotheses=tuple(compiled.hypotheses[h] for h in rank),
        evidence_ids=tuple(e.id for e in evidence),
        sources=tuple(e.source for e in evidence),
        kinds=tuple(kinds),
        likelihood=_read_only(lik[rank]),
        diagnosticity=_read_only(diagnosticity),
        log10_diagnosticity=_read_only(np.log10(diagnosticity)),
        marks=_read_only(marks[rank]),
        tally=_read_only(tally[rank]),
        weighted_tally=_read_only(weighted[rank]),
        prior=_read_only(np.asarray(compiled.prior, float)[rank]),
        posterior=_read_only(np.asarray(assessment.posterior_array, float)[rank]),
        engine=assessment.engine,
        consistent=float(consistent),
        inconsistent=float(inconsistent),
        is_binary=compiled.case.is_binary,
    )
