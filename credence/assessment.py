"""The result of assessing a case: posterior, robustness interval, draws and ledger."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from credence.case import Case
from credence.formatting import UNIT, signal, verdict
from credence.jsonable import finite_or_none
from credence.words import words as icd203_words

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["UNIT", "Assessment"]


@dataclass(frozen=True, eq=False)
class Assessment:
    """The assessment of a case by an engine.

    Attributes
    ----------
    case : Case
        The case assessed.
    engine : str
        ``"exact"`` or ``"mcmc"``.
    hypotheses : tuple of str
    posterior_array : ndarray (K,)
        P(H | evidence), in hypothesis order.
    sampler : callable
        Returns ``(draws, parameter_draws)`` (see the properties of those
        names); called once, on first use, since the ledger and posterior do
        not need the draws. A module-level function or a ``functools.partial``
        of one, so that the assessment pickles.
    evidence_ids : tuple of str
        In ledger order.
    in_order, leave_one_out : ndarray (n_evidence, K)
        Each item's contribution (change in log10 odds of each hypothesis)
        added in ledger order, and removed from all the evidence; ledger order.
    path : ndarray (n_evidence, K)
        Posterior after each item, in ledger order.
    level : float
        Mass of the robustness interval (0.9).
    diagnostics : mapping, optional
        MCMC diagnostics (``r_hat_max``, ``ess_bulk_min``, ``divergences``...).
    datatree : xarray.DataTree, optional
        The ArviZ DataTree of an MCMC run.
    sensitivity : mapping, optional
        Power-scaling sensitivity (MCMC).
    """

    case: Case
    engine: str
    hypotheses: tuple[str, ...]
    posterior_array: np.ndarray
    sampler: Callable[[], tuple[np.ndarray, Mapping[str, np.ndarray]]]
    evidence_ids: tuple[str, ...]
    in_order: np.ndarray
    leave_one_out: np.ndarray
    path: np.ndarray
    level: float = 0.9
    diagnostics: MappingProxyType | None = None
    datatree: Any = None
    sensitivity: MappingProxyType | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    # -- the numbers ---------------------------------------------------------

    @property
    def posterior(self) -> MappingProxyType:
        """P(H | evidence) for each hypothesis id."""
        return MappingProxyType(
            dict(zip(self.hypotheses, map(float, self.posterior_array), strict=True))
        )

    def _sampled(self) -> tuple[np.ndarray, MappingProxyType]:
        if "draws" not in self._cache:
            draws, parameters = self.sampler()
            self._cache["draws"] = (draws, dict(parameters))
        draws, parameters = self._cache["draws"]
        draws.setflags(write=False)
        return draws, MappingProxyType(parameters)

    @property
    def draws(self) -> np.ndarray:
        """P(H | evidence, phi) per draw (S, K), phi drawn from p(phi | evidence).

        phi is every uncertain parameter (reliabilities, copy probabilities,
        claim prior); the draws' mean is the posterior.
        """
        return self._sampled()[0]

    @property
    def parameter_draws(self) -> MappingProxyType:
        """The draws of phi, keyed by parameter name (``"nis.accuracy"``...)."""
        return self._sampled()[1]

    @property
    def is_binary(self) -> bool:
        """True for a single claim."""
        return self.case.is_binary

    @property
    def leading(self) -> str:
        """The most probable hypothesis (``"true"`` or ``"false"`` for a claim)."""
        return self.hypotheses[int(np.argmax(self.posterior_array))]

    @property
    def probability(self) -> float:
        """P(claim is true | evidence); binary cases only."""
        if not self.is_binary:
            raise AttributeError("a multi-hypothesis case has no single probability; see posterior")
        return float(self.posterior_array[0])

    @property
    def intervals(self) -> MappingProxyType:
        """Robustness interval (central, ``level`` mass) of each hypothesis."""
        if "intervals" not in self._cache:
            tail = (1 - self.level) / 2
            lo, hi = np.quantile(self.draws, [tail, 1 - tail], axis=0)
            self._cache["intervals"] = {
                h: (float(lo[i]), float(hi[i])) for i, h in enumerate(self.hypotheses)
            }
        return MappingProxyType(self._cache["intervals"])

    @property
    def interval(self) -> tuple[float, float]:
        """Robustness interval of the claim (binary) or of the leading hypothesis."""
        return self.intervals[self.hypotheses[0] if self.is_binary else self.leading]

    @property
    def subject(self) -> str:
        """The hypothesis the headline numbers are about."""
        return self.hypotheses[0] if self.is_binary else self.leading

    @property
    def words(self) -> str:
        """ICD 203 words for the probability of :attr:`subject`."""
        return icd203_words(self.posterior[self.subject])

    @property
    def verdict(self) -> str:
        """One sentence: words, probability and robustness interval."""
        return verdict(self)

    # -- the ledger ----------------------------------------------------------

    def _columns(self, name: str, values: np.ndarray) -> dict[str, np.ndarray]:
        if self.is_binary:
            return {name: values[:, 0]}
        return {f"{name}[{h}]": values[:, i] for i, h in enumerate(self.hypotheses)}

    @property
    def ledger(self) -> pd.DataFrame:
        """What moved the posterior: one row per evidence item, in ledger order.

        Columns ``source``, ``signal``, ``date``, ``summary``, ``url``, then
        ``log10_bf_in_order`` (the item's log10 Bayes factor added after
        the items above it), ``log10_bf_leave_one_out`` (what removing it from
        all the evidence would change) and ``probability_after``; one column per
        hypothesis (``name[h]``) in a multi-hypothesis case. Unit: log10 Bayes
        factor (bans); a ban of +1 multiplies the odds by 10.
        """
        import pandas as pd

        items = {e.id: e for e in self.case.evidence}
        rows = [items[i] for i in self.evidence_ids]
        data = {
            "source": [e.source for e in rows],
            "signal": [signal(e) for e in rows],
            "date": [e.date for e in rows],
            "summary": [e.summary for e in rows],
            "url": [e.url for e in rows],
            **self._columns("log10_bf_in_order", self.in_order),
            **self._columns("log10_bf_leave_one_out", self.leave_one_out),
            **self._columns("probability_after", self.path),
        }
        return pd.DataFrame(data, index=pd.Index(self.evidence_ids, name="id"))

    # -- output --------------------------------------------------------------

    def _contribution(self, values: np.ndarray) -> Any:
        if self.is_binary:
            return finite_or_none(values[0])
        return {h: finite_or_none(v) for h, v in zip(self.hypotheses, values, strict=True)}

    def _probabilities(self, values: np.ndarray) -> Any:
        if self.is_binary:
            return float(values[0])
        return {h: float(v) for h, v in zip(self.hypotheses, values, strict=True)}

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready assessment (the ``credence assess --json`` object).

        Keys: ``engine``, ``title``, ``claim`` (binary) or ``hypotheses`` (id and
        statement of each), ``posterior``, ``probability`` (binary) or
        ``leading`` and ``intervals``, ``interval``, ``interval_level``,
        ``words``, ``verdict``, ``unit``, and ``evidence``: in ledger order, each
        item's ``id``, ``source``, ``signal``, ``date`` (ISO), ``summary``,
        ``url``, ``log10_bf_in_order``, ``log10_bf_leave_one_out`` and
        ``probability_after`` (a number for a claim, ``{hypothesis: p}``
        otherwise); MCMC adds ``diagnostics`` and ``sensitivity``.
        """
        case = self.case
        out: dict[str, Any] = {"engine": self.engine, "title": case.title}
        if case.claim is not None:
            out["claim"] = case.claim.statement
        else:
            out["hypotheses"] = [{"id": h.id, "statement": h.statement} for h in case.hypotheses]
        out["posterior"] = dict(self.posterior)
        if self.is_binary:
            out["probability"] = self.probability
        else:
            out["leading"] = self.leading
            out["intervals"] = {h: list(v) for h, v in self.intervals.items()}
        out["interval"] = list(self.interval)
        out["interval_level"] = self.level
        out["words"] = self.words
        out["verdict"] = self.verdict
        out["unit"] = UNIT
        items = {e.id: e for e in case.evidence}
        out["evidence"] = [
            {
                "id": eid,
                "source": items[eid].source,
                "signal": signal(items[eid]),
                "date": items[eid].date.isoformat() if items[eid].date else None,
                "summary": items[eid].summary,
                "url": items[eid].url,
                "log10_bf_in_order": self._contribution(self.in_order[i]),
                "log10_bf_leave_one_out": self._contribution(self.leave_one_out[i]),
                "probability_after": self._probabilities(self.path[i]),
            }
            for i, eid in enumerate(self.evidence_ids)
        ]
        if self.diagnostics is not None:
            out["diagnostics"] = dict(self.diagnostics)
        if self.sensitivity is not None:
            out["sensitivity"] = dict(self.sensitivity)
        return out

    # -- pickling ------------------------------------------------------------
    # A mappingproxy does not pickle: the read-only mappings travel as dicts.

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for name in _READ_ONLY:
            if state[name] is not None:
                state[name] = dict(state[name])
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name in _READ_ONLY:
            if state[name] is not None:
                state[name] = MappingProxyType(state[name])
        self.__dict__.update(state)

    # -- explaining the verdict (exact engine; see credence.explain) -----------

    def what_would_change(self, *, hypothesis: str | None = None) -> Any:
        """The smallest changes of the case that would change its verdict, ranked.

        See :func:`credence.explain.what_would_change`.
        """
        from credence.explain import what_would_change

        return what_would_change(self.case, hypothesis=hypothesis)

    def prior_sensitivity(self, grid: Any = None) -> Any:
        """The posterior as the prior runs over [0.01, 0.99].

        See :func:`credence.explain.prior_sensitivity`.
        """
        from credence.explain import prior_sensitivity

        return prior_sensitivity(self.case, grid)

    def reliability_tornado(self, *, hypothesis: str | None = None) -> Any:
        """The posterior with each uncertain reliability at its 5th and 95th percentiles.

        See :func:`credence.explain.reliability_tornado`.
        """
        from credence.explain import reliability_tornado

        return reliability_tornado(self.case, hypothesis=hypothesis, level=self.level)

    def value_of_information(
        self, source: str, *, about: Any = None, reliability: Any = None
    ) -> Any:
        """What one more report of ``source`` would do, before it is asked.

        See :func:`credence.explain.value_of_information`.
        """
        from credence.explain import value_of_information

        return value_of_information(self.case, source=source, about=about, reliability=reliability)

    def rank_next_sources(self, *, candidates: Any = None, about: Any = None) -> Any:
        """The sources ranked by what one more report of each would tell.

        See :func:`credence.explain.rank_next_sources`.
        """
        from credence.explain import rank_next_sources

        return rank_next_sources(self.case, candidates=candidates, about=about)

    def timeline(self, *, seed: int | None = None, draws: int = 4000) -> Any:
        """The posterior and its robustness band as of each evidence date.

        See :func:`credence.explain.timeline`.
        """
        from credence.explain import timeline

        return timeline(self.case, seed=seed, draws=draws, level=self.level)

    def ach(self) -> Any:
        """The ACH matrix of the case beside this posterior.

        See :func:`credence.explain.ach_matrix`.
        """
        from credence.explain import ach_matrix

        return ach_matrix(self)

    def explain(self, *, seed: int | None = None) -> dict[str, Any]:
        """Every explanation as JSON-ready data (the ``credence assess --explain`` keys).

        Keys ``what_would_change``, ``prior_sensitivity``, ``reliability_tornado``,
        ``next_sources``, ``timeline`` and, with several hypotheses, ``ach``.
        """
        out = {
            "what_would_change": self.what_would_change().to_dict(),
            "prior_sensitivity": self.prior_sensitivity().to_dict(),
            "reliability_tornado": self.reliability_tornado().to_dict(),
            "next_sources": self.rank_next_sources().to_dict(),
            "timeline": self.timeline(seed=seed).to_dict(),
        }
        if not self.is_binary:
            out["ach"] = self.ach().to_dict()
        return out

    def report(self, path: Any, *, seed: int | None = None) -> None:
        """Write the report to ``path`` (``.html`` or ``.md``), atomically.

        See :func:`credence.reporting.write_report`.
        """
        from credence.reporting import write_report

        write_report(self, path, seed=seed)

    def __repr__(self) -> str:
        title = self.case.title or (self.case.claim.statement if self.case.claim else "")
        posterior = ", ".join(f"{h}={p:.4g}" for h, p in self.posterior.items())
        return (
            f"<Assessment {title!r} engine={self.engine} posterior({posterior}) "
            f"verdict={self.verdict!r}>"
        )

    def __str__(self) -> str:
        from credence.report import render_text

        return render_text(self)


#: Fields held as read-only mappings.
_READ_ONLY = ("diagnostics", "sensitivity")
