"""Case format v1: the pydantic models of a case, its claim, sources and evidence.

This module is the one place that knows the format. It checks structure and
cross-references (ids, hypothesis sets, provenance); what the format *means* is
the job of :mod:`credence.compile`.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from credence.errors import CaseError

__all__ = [
    "ADMIRALTY",
    "Admiralty",
    "Beta",
    "Case",
    "Claim",
    "Evidence",
    "Hypothesis",
    "LogNormal",
    "Pooling",
    "Source",
    "TwoCoin",
]

FORMAT_VERSION = 1
BINARY_HYPOTHESES = ("true", "false")

Grade = Literal["A", "B", "C", "D", "E", "F"]
Id = Annotated[str, Field(min_length=1, max_length=200)]
UnitFloat = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
PositiveFloat = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False, defer_build=True)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form, as it would be written in a case file."""
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=True)


class Beta(_Frozen):
    """A Beta(a, b) distribution over a probability, written ``{beta: [a, b]}``.

    Parameters
    ----------
    a, b : float
        Positive shape parameters; the mean is ``a / (a + b)``.

    Examples
    --------
    >>> Beta(16, 4).mean
    0.8
    >>> Beta(16, 4).to_dict()
    {'beta': [16.0, 4.0]}
    """

    beta: tuple[PositiveFloat, PositiveFloat]

    def __init__(self, a: float | None = None, b: float | None = None, /, **data: Any):
        if a is not None or b is not None:
            data["beta"] = (a, b)
        super().__init__(**data)

    @property
    def a(self) -> float:
        """First shape parameter."""
        return self.beta[0]

    @property
    def b(self) -> float:
        """Second shape parameter."""
        return self.beta[1]

    @property
    def mean(self) -> float:
        """The mean ``a / (a + b)``."""
        return self.a / (self.a + self.b)


class LogNormal(_Frozen):
    """An uncertain likelihood ratio, log-normal: ``{lognormal: [mu, sigma]}``.

    ``log(LR) ~ Normal(mu, sigma)``. Only the PyMC engine computes it.
    """

    lognormal: tuple[Annotated[float, Field(allow_inf_nan=False)], PositiveFloat]

    def __init__(self, mu: float | None = None, sigma: float | None = None, /, **data: Any):
        if mu is not None or sigma is not None:
            data["lognormal"] = (mu, sigma)
        super().__init__(**data)


def _probability_tag(value: Any) -> str | None:
    if isinstance(value, Beta) or (isinstance(value, dict) and "beta" in value):
        return "beta"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "number"
    return None


Probability = Annotated[
    Annotated[UnitFloat, Tag("number")] | Annotated[Beta, Tag("beta")],
    Discriminator(
        _probability_tag,
        custom_error_type="probability",
        custom_error_message="expected a probability: a number in [0, 1] or {beta: [a, b]}",
    ),
]


class Admiralty(_Frozen):
    """A NATO Admiralty source-reliability grade, written ``{admiralty: B}`` or just ``B``.

    Examples
    --------
    >>> Admiralty("B").prior()
    Beta(beta=(16.0, 4.0))
    """

    admiralty: Grade

    def __init__(self, grade: str | None = None, /, **data: Any):
        if grade is not None:
            data["admiralty"] = grade
        super().__init__(**data)

    def prior(self, scale: dict[str, float | Beta] | None = None) -> float | Beta:
        """The one-coin accuracy prior of this grade, from ``scale`` or :data:`ADMIRALTY`."""
        return (scale or {}).get(self.admiralty, ADMIRALTY[self.admiralty])


#: Admiralty grades (STANAG 2511 / AJP-2.1) as one-coin accuracy priors.
ADMIRALTY: dict[str, Beta] = {
    "A": Beta(19, 1),
    "B": Beta(16, 4),
    "C": Beta(13, 7),
    "D": Beta(11, 9),
    "E": Beta(10, 10),
    "F": Beta(1, 1),
}


class TwoCoin(_Frozen):
    """A two-coin source channel.

    Parameters
    ----------
    sensitivity : float or Beta
        P(yes on A | H in A).
    false_positive_rate : float or Beta
        P(yes on A | H not in A). An interested party that says "yes" whatever
        the truth has ``sensitivity`` close to ``false_positive_rate``.
    """

    sensitivity: Probability
    false_positive_rate: Probability


def _reliability_tag(value: Any) -> str | None:
    if isinstance(value, str):
        return "grade"
    if isinstance(value, Admiralty):
        return "admiralty"
    if isinstance(value, TwoCoin):
        return "two-coin"
    probability = _probability_tag(value)
    if probability is not None:
        return probability
    if isinstance(value, dict):
        if "admiralty" in value:
            return "admiralty"
        if "sensitivity" in value or "false_positive_rate" in value:
            return "two-coin"
    return None


Reliability = Annotated[
    Annotated[Grade, Tag("grade")]
    | Annotated[Admiralty, Tag("admiralty")]
    | Annotated[UnitFloat, Tag("number")]
    | Annotated[Beta, Tag("beta")]
    | Annotated[TwoCoin, Tag("two-coin")],
    Discriminator(
        _reliability_tag,
        custom_error_type="reliability",
        custom_error_message=(
            "expected an Admiralty letter A-F, {admiralty: X}, a number in [0, 1], "
            "{beta: [a, b]}, or {sensitivity: P, false_positive_rate: P}"
        ),
    ),
]


def _likelihood_ratio_tag(value: Any) -> str | None:
    if isinstance(value, LogNormal) or (isinstance(value, dict) and "lognormal" in value):
        return "lognormal"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "number"
    return None


LikelihoodRatio = Annotated[
    Annotated[PositiveFloat, Tag("number")] | Annotated[LogNormal, Tag("lognormal")],
    Discriminator(
        _likelihood_ratio_tag,
        custom_error_type="likelihood_ratio",
        custom_error_message="expected a positive number or {lognormal: [mu, sigma]}",
    ),
]


class Claim(_Frozen):
    """The claim of a binary case: hypotheses ``true`` and ``false``.

    Parameters
    ----------
    statement : str
        The claim in words.
    prior : float or Beta, default 0.5
        Prior probability that the claim is true.
    """

    statement: str
    prior: Probability = 0.5


class Hypothesis(_Frozen):
    """One of K >= 2 mutually exclusive, exhaustive hypotheses.

    Parameters
    ----------
    id : str
        Identifier used by evidence (``supports: [id]``).
    statement : str, optional
        The hypothesis in words.
    prior : float, optional
        Prior probability; give it for every hypothesis or for none (uniform).
    """

    id: Id
    statement: str | None = None
    prior: UnitFloat | None = None


class Source(_Frozen):
    """A source of reports, with its reliability.

    Parameters
    ----------
    id : str
        Identifier used by evidence (``source: id``).
    name, kind : str, optional
        Display name; kind such as ``intelligence``, ``media``,
        ``interested-government`` (used by pooling in the PyMC engine).
    reliability : grade, Admiralty, float, Beta or TwoCoin
        One-coin accuracy (a number, a Beta or an Admiralty grade) or a two-coin
        channel (:class:`TwoCoin`). Required: write ``F`` for a source whose
        reliability cannot be judged.
    """

    id: Id
    name: str | None = None
    kind: str | None = None
    reliability: Reliability


class Evidence(_Frozen):
    """One evidence item: a sourced report or direct evidence.

    A sourced report names ``source`` and either ``stance`` (binary case) or
    ``supports`` / ``refutes`` (a set of hypotheses). Direct evidence gives
    ``likelihood_ratio`` (binary case) or ``likelihood`` (P(E | h) for every h).

    Parameters
    ----------
    id : str
        Identifier, unique among evidence.
    source : str, optional
        Id of the reporting source.
    stance : {"supports", "refutes"}, optional
        The report's stance on the claim (binary case).
    supports, refutes : list of str, optional
        "Yes" (``supports``) or "no" (``refutes``) on this set of hypotheses.
    likelihood_ratio : float or LogNormal, optional
        P(E | true) / P(E | false) (binary case).
    likelihood : dict, optional
        P(E | h) for every hypothesis h.
    derived_from : list of str, optional
        Ids of the reports this one may repeat.
    copy_probability : float or Beta, optional
        Probability that this report is a repetition of a parent (default 1).
    date : datetime.date, optional
        ISO date; orders the ledger.
    summary, url : str, optional
        Metadata.
    credibility : int, optional
        Admiralty information credibility 1-6, kept as metadata: it never
        weighs the evidence (a "confirmed by other sources" digit would count
        those sources twice).
    """

    id: Id
    source: Id | None = None
    stance: Literal["supports", "refutes"] | None = None
    supports: list[Id] | None = Field(default=None, min_length=1)
    refutes: list[Id] | None = Field(default=None, min_length=1)
    likelihood_ratio: LikelihoodRatio | None = None
    likelihood: dict[str, UnitFloat] | None = None
    derived_from: list[Id] | None = Field(default=None, min_length=1)
    copy_probability: Probability | None = None
    date: dt.date | None = None
    summary: str | None = None
    url: str | None = None
    credibility: Annotated[int, Field(ge=1, le=6, strict=True)] | None = None

    @field_validator("likelihood", mode="before")
    @classmethod
    def _yaml_boolean_keys(cls, value: Any) -> Any:
        # YAML 1.1 reads the keys `true:` and `false:` as booleans.
        if isinstance(value, dict):
            return {(str(k).lower() if isinstance(k, bool) else k): v for k, v in value.items()}
        return value

    @property
    def is_direct(self) -> bool:
        """True for direct evidence (a likelihood or likelihood ratio)."""
        return self.likelihood is not None or self.likelihood_ratio is not None

    @model_validator(mode="after")
    def _one_kind(self) -> Evidence:
        sourced = self.source is not None
        direct = [k for k in ("likelihood_ratio", "likelihood") if getattr(self, k) is not None]
        signals = [k for k in ("stance", "supports", "refutes") if getattr(self, k) is not None]
        if sourced and direct:
            raise ValueError(f"give either source or {direct[0]}, not both")
        if not sourced and not direct:
            raise ValueError("give a source with a stance, or a likelihood_ratio or likelihood")
        if len(direct) > 1:
            raise ValueError("give likelihood_ratio or likelihood, not both")
        if sourced and len(signals) != 1:
            raise ValueError(
                "a sourced item needs exactly one of stance, supports, refutes"
                + (f" (got {', '.join(signals)})" if signals else "")
            )
        if direct and signals:
            raise ValueError(f"direct evidence takes no {signals[0]}")
        if direct and self.derived_from is not None:
            raise ValueError("direct evidence cannot be derived_from other reports")
        if self.copy_probability is not None and self.derived_from is None:
            raise ValueError("copy_probability needs derived_from")
        return self


class Pooling(_Frozen):
    """Hierarchical pooling of one-coin reliabilities by source kind (PyMC engine only).

    Sources of one ``kind`` with a one-coin reliability draw their accuracy from
    Beta(mu * kappa, (1 - mu) * kappa), with a kind-level mean ``mu`` and
    concentration ``kappa`` learned from all the kind's sources.

    ``kappa`` has a Gamma prior with mean ``concentration`` and shape
    ``concentration_shape``: Gamma(shape, rate = shape / concentration). With
    the default shape 10 the prior keeps ``kappa`` within a factor of about 2
    of its mean (5-95%: 5.4 to 15.7 for the default mean 10), so a kind with
    one or two sources, which cannot learn its concentration, does not drift to
    concentrations near 0, where the accuracies' prior becomes a funnel that
    NUTS samples with divergences. A shape of 1 is an exponential prior (the
    funnel's: expect divergences with few sources per kind).

    Parameters
    ----------
    by : {"kind"}
        The grouping (only ``kind``).
    mean : Beta, default Beta(2, 2)
        Prior of each kind's mean accuracy ``mu``.
    concentration : float, default 10
        Mean of the Gamma prior on ``kappa``.
    concentration_shape : float, default 10
        Shape of the Gamma prior on ``kappa``; larger is tighter around the mean
        (coefficient of variation ``1 / sqrt(shape)``).
    """

    by: Literal["kind"] = "kind"
    mean: Beta = Beta(2, 2)
    concentration: PositiveFloat = 10.0
    concentration_shape: PositiveFloat = 10.0


class Case(_Frozen):
    """A case: a claim or competing hypotheses, sources and evidence (format v1).

    Build one in Python from these classes, or read a file with
    :func:`credence.load_case`.

    Parameters
    ----------
    credence : int
        Format version; must be 1.
    title : str, optional
    claim : Claim, optional
        A binary case (exactly one of ``claim`` and ``hypotheses``).
    hypotheses : list of Hypothesis, optional
        K >= 2 competing hypotheses.
    sources : list of Source
    evidence : list of Evidence
    admiralty : dict, optional
        Overrides of the Admiralty grade priors, e.g. ``{"B": Beta(8, 2)}`` or
        ``{"B": 0.8}`` (a fixed accuracy).
    pooling : Pooling, optional
        Pool reliabilities by source kind (PyMC engine only).

    Examples
    --------
    >>> case = Case(
    ...     claim=Claim(statement="It rained", prior=0.3),
    ...     sources=[Source(id="neighbour", reliability=0.8)],
    ...     evidence=[Evidence(id="e1", source="neighbour", stance="supports")],
    ... )
    >>> case.hypothesis_ids
    ('true', 'false')
    """

    credence: Literal[1] = 1
    title: str | None = None
    claim: Claim | None = None
    hypotheses: list[Hypothesis] | None = Field(default=None, min_length=2)
    sources: list[Source] = []
    evidence: list[Evidence] = []
    admiralty: dict[Grade, Probability] | None = None
    pooling: Pooling | None = None

    @model_validator(mode="before")
    @classmethod
    def _version(cls, data: Any) -> Any:
        if isinstance(data, dict) and "credence" in data:
            version = data["credence"]
            if version != FORMAT_VERSION or isinstance(version, bool):
                raise CaseError(
                    f"unsupported format version {version!r}; this credence reads version 1",
                    "credence",
                )
        return data

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready form of the case file, ``credence: 1`` first."""
        return {"credence": FORMAT_VERSION} | super().to_dict()

    @property
    def is_binary(self) -> bool:
        """True for a single claim (hypotheses ``true`` and ``false``)."""
        return self.claim is not None

    @property
    def hypothesis_ids(self) -> tuple[str, ...]:
        """The hypotheses' ids, ``("true", "false")`` for a binary case."""
        if self.claim is not None:
            return BINARY_HYPOTHESES
        return tuple(h.id for h in self.hypotheses or ())

    def to_pymc(self):
        """Build this case as a PyMC model (imports PyMC).

        The model is built from the same compiled case and likelihood the exact
        engine reads; add terms to it and sample it like any ``pm.Model``.

        Returns
        -------
        pymc.Model
        """
        from credence.compile import compile_case
        from credence.mcmc.model import build_model

        return build_model(compile_case(self))

    @model_validator(mode="after")
    def _references(self) -> Case:
        _check_references(self)
        return self


def _unique(items: list[Any], name: str) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.id in seen:
            raise CaseError(f"duplicate id {item.id!r}", f"{name}[{i}].id")
        seen.add(item.id)


def _check_references(case: Case) -> None:
    if (case.claim is None) == (case.hypotheses is None):
        raise CaseError(
            "give exactly one of `claim` (a binary case) and `hypotheses`"
            + (" (both are given)" if case.claim is not None else " (neither is given)"),
            "claim" if case.claim is not None else "",
        )
    binary = case.is_binary
    hypotheses = set(case.hypothesis_ids)
    if case.hypotheses is not None:
        _unique(case.hypotheses, "hypotheses")
        priors = [h.prior for h in case.hypotheses]
        given = [p for p in priors if p is not None]
        if given and len(given) != len(priors):
            missing = next(i for i, p in enumerate(priors) if p is None)
            raise CaseError(
                "give a prior for every hypothesis or for none (uniform)",
                f"hypotheses[{missing}].prior",
            )
        if given and not math.isclose(math.fsum(given), 1.0, rel_tol=0, abs_tol=1e-9):
            raise CaseError(
                f"hypothesis priors must sum to 1 (they sum to {math.fsum(given):.12g})",
                "hypotheses",
            )
    _unique(case.sources, "sources")
    _unique(case.evidence, "evidence")
    sources = {s.id for s in case.sources}
    position = {e.id: i for i, e in enumerate(case.evidence)}
    for i, item in enumerate(case.evidence):
        here = f"evidence[{i}]"
        if item.source is not None and item.source not in sources:
            raise CaseError(f"unknown source {item.source!r}", f"{here}.source")
        if binary and (item.supports is not None or item.refutes is not None):
            key = "supports" if item.supports is not None else "refutes"
            raise CaseError(
                "a binary case takes `stance: supports` or `stance: refutes`", f"{here}.{key}"
            )
        if not binary and item.stance is not None:
            raise CaseError(
                "a multi-hypothesis case takes `supports: [ids]` or `refutes: [ids]`",
                f"{here}.stance",
            )
        if not binary and item.likelihood_ratio is not None:
            raise CaseError(
                "likelihood_ratio is for a binary claim; give `likelihood: {h: P(E | h)}`",
                f"{here}.likelihood_ratio",
            )
        for key in ("supports", "refutes"):
            for j, h in enumerate(getattr(item, key) or ()):
                if h not in hypotheses:
                    raise CaseError(f"unknown hypothesis {h!r}", f"{here}.{key}[{j}]")
        if item.likelihood is not None:
            for h in item.likelihood:
                if h not in hypotheses:
                    raise CaseError(f"unknown hypothesis {h!r}", f"{here}.likelihood.{h}")
            missing = [h for h in case.hypothesis_ids if h not in item.likelihood]
            if missing:
                raise CaseError(
                    f"give P(E | h) for every hypothesis (missing {', '.join(missing)})",
                    f"{here}.likelihood",
                )
            if not any(item.likelihood.values()):
                raise CaseError(
                    "evidence with likelihood 0 under every hypothesis is impossible",
                    f"{here}.likelihood",
                )
        for j, parent in enumerate(item.derived_from or ()):
            where = f"{here}.derived_from[{j}]"
            if parent not in position:
                raise CaseError(f"unknown evidence id {parent!r}", where)
            if parent == item.id:
                raise CaseError("an item cannot be derived from itself", where)
            if case.evidence[position[parent]].is_direct:
                raise CaseError(
                    f"{parent!r} is direct evidence; only sourced reports can be copied", where
                )
        if item.derived_from is not None and len(set(item.derived_from)) != len(item.derived_from):
            raise CaseError("a parent is listed twice", f"{here}.derived_from")
    _check_acyclic(case, position)


def _check_acyclic(case: Case, position: dict[str, int]) -> None:
    state = [0] * len(case.evidence)  # 0 new, 1 on the path, 2 done
    for start in range(len(case.evidence)):
        if state[start]:
            continue
        stack = [(start, iter(case.evidence[start].derived_from or ()))]
        path = [start]
        state[start] = 1
        while stack:
            node, parents = stack[-1]
            parent = next(parents, None)
            if parent is None:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            p = position[parent]
            if state[p] == 1:
                cycle = [case.evidence[k].id for k in path[path.index(p) :]] + [parent]
                raise CaseError(
                    "provenance cycle: " + " -> ".join(cycle), f"evidence[{node}].derived_from"
                )
            if state[p] == 0:
                state[p] = 1
                path.append(p)
                stack.append((p, iter(case.evidence[p].derived_from or ())))
