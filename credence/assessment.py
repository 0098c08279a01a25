"""The result of assessing a case: posterior, robustness interval, draws and ledger."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from credence.case import Case
from credence.words import words as icd203_words

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Assessment", "format_probability", "signal"]

#: Unit of the ledger's contributions.
UNIT = "log10 Bayes factor (bans; x10 for decibans)"


def format_probability(p: float, complement: float | None = None) -> str:
    """Format a probability for people: ``83%``, ``0.4%``, ``99.96%``, ``1.2e-15``.

    Below 1% two significant digits; above, just enough decimals not to round
    to 100%; below 1e-4 (or within 1e-4 of 1) scientific notation.

    Parameters
    ----------
    p : float
    complement : float, optional
        ``1 - p`` computed without cancellation (the sum of the other hypotheses).

    Examples
    --------
    >>> format_probability(0.8312)
    '83%'
    >>> format_probability(0.99958)
    '99.96%'
    >>> format_probability(1.2e-15)
    '1.2e-15'
    >>> format_probability(1 - 3e-12, complement=3e-12)
    '1 - 3.0e-12'
    """
    q = 1.0 - p if complement is None else complement
    if p == 0.0 or q == 0.0:
        return "0%" if p == 0.0 else "100%"
    if p < 1e-4:
        return f"{p:.1e}"
    if q < 1e-4:
        return f"1 - {q:.1e}"
    if p < 0.01:
        return f"{100 * p:.2g}%"
    for decimals in range(3):
        text = f"{100 * p:.{decimals}f}"
        if float(text) not in (0.0, 100.0):
            return f"{text}%"
    return f"{100 * p:.3f}%"


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


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
        i = self.hypotheses.index(self.subject)
        p = self.posterior_array[i]
        rest = float(np.delete(self.posterior_array, i).sum())
        lo, hi = self.interval
        head = "" if self.is_binary else f"{self.subject}: "
        return (
            f"{head}{self.words} ({format_probability(p, rest)}, "
            f"{self.level:.0%} robustness interval {_span(lo, hi)})"
        )

    # -- the ledger ----------------------------------------------------------

    def _columns(self, name: str, values: np.ndarray) -> dict[str, np.ndarray]:
        if self.is_binary:
            return {name: values[:, 0]}
        return {f"{name}[{h}]": values[:, i] for i, h in enumerate(self.hypotheses)}

    @property
    def ledger(self) -> pd.DataFrame:
        """What moved the posterior: one row per evidence item, in ledger order.

        Columns ``log10_bf_in_order`` (the item's log10 Bayes factor added after
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
            **self._columns("log10_bf_in_order", self.in_order),
            **self._columns("log10_bf_leave_one_out", self.leave_one_out),
            **self._columns("probability_after", self.path),
        }
        return pd.DataFrame(data, index=pd.Index(self.evidence_ids, name="id"))

    # -- output --------------------------------------------------------------

    def _contribution(self, values: np.ndarray) -> Any:
        if self.is_binary:
            return _finite_or_none(values[0])
        return {h: _finite_or_none(v) for h, v in zip(self.hypotheses, values, strict=True)}

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready assessment (the ``credence assess --json`` object)."""
        out: dict[str, Any] = {
            "engine": self.engine,
            "posterior": dict(self.posterior),
        }
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
        out["evidence"] = [
            {
                "id": eid,
                "log10_bf_in_order": self._contribution(self.in_order[i]),
                "log10_bf_leave_one_out": self._contribution(self.leave_one_out[i]),
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


def _span(lo: float, hi: float) -> str:
    def end(p: float) -> str:
        if 0.0 < p < 1e-4:
            return "<0.01%"
        if 1.0 - 1e-4 < p < 1.0:
            return ">99.99%"
        return format_probability(p)

    return f"{end(lo)}–{end(hi)}"


def signal(e) -> str:
    """How an evidence item reads in the ledger: its stance, set, or likelihood."""
    if e.stance is not None:
        return e.stance
    if e.supports is not None:
        return "supports " + ", ".join(e.supports)
    if e.refutes is not None:
        return "refutes " + ", ".join(e.refutes)
    if e.likelihood_ratio is not None:
        lr = e.likelihood_ratio
        return (
            f"likelihood ratio {lr:g}" if isinstance(lr, float) else "likelihood ratio (log-normal)"
        )
    return "likelihood " + ", ".join(f"{h}={p:g}" for h, p in (e.likelihood or {}).items())
