"""Case format v1: the pydantic models of a case, its claim, sources and evidence.

This module is the one place that knows the format. It checks structure and
cross-references (ids, hypothesis sets, provenance); what the format *means* is
the job of :mod:`credence.compile`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from contextvars import ContextVar
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from credence.errors import CaseError, Problem, format_location, printable, shown

__all__ = [
    "ADMIRALTY",
    "Admiralty",
    "Beta",
    "Case",
    "Channel",
    "Claim",
    "Evidence",
    "Group",
    "Hypothesis",
    "LogNormal",
    "Pooling",
    "Source",
    "TwoCoin",
    "iso_date",
    "validate_case",
]

FORMAT_VERSION = 1
BINARY_HYPOTHESES = ("true", "false")

Grade = Literal["A", "B", "C", "D", "E", "F"]
Id = Annotated[str, Field(min_length=1, max_length=200)]
# Numbers are numbers: no text, no booleans (Strict), never silently converted.
UnitFloat = Annotated[float, Strict(), Field(ge=0.0, le=1.0, allow_inf_nan=False)]
PositiveFloat = Annotated[float, Strict(), Field(gt=0.0, allow_inf_nan=False)]
FiniteFloat = Annotated[float, Strict(), Field(allow_inf_nan=False)]

_FLOAT_TEXT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_FORM = "a date is written YYYY-MM-DD, e.g. 2024-10-18"


def iso_date(value: Any) -> dt.date:
    """A calendar date from a ``datetime.date`` or text ``YYYY-MM-DD``, nothing else.

    Raises
    ------
    ValueError
        Text not of that form, or no such date (``2023-02-30``).
    TypeError
        Neither a date nor text (a number, a ``datetime`` with a time of day).

    Examples
    --------
    >>> iso_date("2024-10-18")
    datetime.date(2024, 10, 18)
    """
    if isinstance(value, dt.datetime):
        raise TypeError(f"{_DATE_FORM}, without a time of day")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        if _ISO_DATE.fullmatch(value):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"no such date: {shown(value)[1:-1]} ({_DATE_FORM})") from None
        raise ValueError(f"{_DATE_FORM}; got {_input(value)}")
    raise TypeError(f"{_DATE_FORM}; got {_input(value)}")


def _date_field(value: Any) -> dt.date:
    # pydantic reports a ValueError at the field's place; a TypeError would escape it.
    try:
        return iso_date(value)
    except TypeError as err:
        raise ValueError(str(err)) from None


IsoDate = Annotated[dt.date, BeforeValidator(_date_field)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False, defer_build=True)

    def __init__(self, /, **data: Any):
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise CaseError(problems=_problems(err, (), data)) from None

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

    lognormal: tuple[FiniteFloat, PositiveFloat]

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


def _beta(a: float, b: float) -> Beta:
    # Constants need no validation; building the validator at import would slow every start.
    return Beta.model_construct(beta=(float(a), float(b)))


#: Admiralty grades (STANAG 2511 / AJP-2.1) as one-coin accuracy priors.
ADMIRALTY: dict[str, Beta] = {
    "A": _beta(19, 1),
    "B": _beta(16, 4),
    "C": _beta(13, 7),
    "D": _beta(11, 9),
    "E": _beta(10, 10),
    "F": _beta(1, 1),
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
        return "grade" if value in ADMIRALTY else None
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


class Channel(_Frozen):
    """A source's separate channel for signals about one exact set of hypotheses.

    An interested party may say the same about the hypotheses it has a stake in
    whatever happened (a government denies its own part). Its reports whose set
    A is exactly ``hypotheses`` use this channel's parameters; its other reports
    use the source's ``reliability``. Multi-hypothesis cases only.

    Parameters
    ----------
    hypotheses : list of str
        The set A, as hypothesis ids (order does not matter).
    reliability : grade, Admiralty, float, Beta or TwoCoin
        The channel's parameters, written as a source's ``reliability``.
    """

    hypotheses: list[Id] = Field(min_length=1)
    reliability: Reliability


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
    about : list of Channel, optional
        Separate channels for signals about exact sets of hypotheses
        (multi-hypothesis cases).
    """

    id: Id
    name: str | None = None
    kind: str | None = None
    reliability: Reliability
    about: list[Channel] | None = Field(default=None, min_length=1)


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
    date: IsoDate | None = None
    summary: str | None = None
    url: str | None = None
    credibility: Annotated[int, Field(ge=1, le=6, strict=True)] | None = None

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
    mean: Beta = _beta(2, 2)
    concentration: PositiveFloat = 10.0
    concentration_shape: PositiveFloat = 10.0


class Group(_Frozen):
    """Reports that may share an origin nobody can name.

    Members are taken in the order listed. The first is independent; each later
    member is, with probability c, a repetition of one earlier member chosen
    uniformly, and otherwise an independent report of its own source. One c is
    shared by the whole group.

    Parameters
    ----------
    id : str
        Identifier, unique among groups.
    members : list of str
        Ids of sourced evidence, in the order they appeared: at least two, each
        in at most one group, none with ``derived_from``.
    copy_probability : float or Beta, optional
        The shared c; default Beta(1, 1) (how much copying there was is unknown).
    summary : str, optional
    """

    id: Id
    members: list[Id]
    copy_probability: Probability | None = None
    summary: str | None = None

    @field_validator("members")
    @classmethod
    def _two_or_more(cls, members: list[str]) -> list[str]:
        if len(members) < 2:
            raise ValueError(
                "a group needs at least two members (one report alone has no one to copy)"
            )
        return members

    @property
    def copy_prior(self) -> float | Beta:
        """The copy probability, Beta(1, 1) when not given."""
        return _beta(1, 1) if self.copy_probability is None else self.copy_probability


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
    groups : list of Group, optional
        Reports that may share an undeclared origin.

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
    groups: list[Group] = []

    @model_validator(mode="before")
    @classmethod
    def _version(cls, data: Any) -> Any:
        if isinstance(data, dict) and "credence" in data:
            version = data["credence"]
            if version != FORMAT_VERSION or isinstance(version, bool):
                raise CaseError(
                    f"unsupported format version {shown(version)}; this credence reads version 1",
                    "credence",
                    loc=("credence",),
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

    @model_validator(mode="after")
    def _references(self) -> Case:
        if not _STRUCTURE_ONLY.get():
            _check_references(self)
        return self


# Set while checking the rest of a case whose items were refused: cross-references
# between refused items would only repeat their problems.
_STRUCTURE_ONLY: ContextVar[bool] = ContextVar("structure_only", default=False)


#: The lists of a case whose items have ids; locations name the item's id.
_ITEM_MODELS: dict[str, type[_Frozen]] = {
    "hypotheses": Hypothesis,
    "sources": Source,
    "evidence": Evidence,
    "groups": Group,
}
#: Problems kept in detail (all are counted).
_KEEP = 200


def validate_case(data: Any) -> Case:
    """Validate plain data (as read from a file) into a :class:`Case`.

    Every item is checked and every problem reported (see :class:`CaseError`),
    each with its place in the document, such as
    ``evidence[3] (id nis-oct18).derived_from``.

    Raises
    ------
    CaseError
        Listing every problem.
    """
    if not isinstance(data, dict):
        kind = "an empty document" if data is None else f"a {type(data).__name__}"
        raise CaseError(f"a case must be a mapping of keys to values, not {kind}")
    if "credence" not in data:
        raise CaseError("missing format version: add `credence: 1` at the top", "credence")
    problems = _non_text_keys(data)
    if problems:
        raise CaseError(problems=problems)
    skipped = 0
    skeleton = dict(data)
    for key, model in _ITEM_MODELS.items():
        items = data.get(key)
        if not isinstance(items, list):
            continue
        built, refused = [], False
        for i, item in enumerate(items):
            try:
                built.append(model.model_validate(item))
            except ValidationError as err:
                found = _problems(err, (key, i), data)
                kept = found[: max(0, _KEEP - len(problems))]
                problems += kept
                skipped += len(found) - len(kept)
                refused = True
            except CaseError as err:
                problems += _prefixed(err.problems, (key, i), data)
                refused = True
        if refused:
            del skeleton[key]
        else:
            skeleton[key] = built
    try:
        if problems:
            # the rest of the case, for its own problems (lists refused above are left out)
            token = _STRUCTURE_ONLY.set(True)
            try:
                Case.model_validate(skeleton)
            finally:
                _STRUCTURE_ONLY.reset(token)
        else:
            return Case.model_validate(skeleton)
    except ValidationError as err:
        problems += _problems(err, (), data)
    except CaseError as err:
        problems += err.problems
    if skipped:
        problems.append(Problem(f"and {skipped:,} more problems in the items above"))
    raise CaseError(problems=problems)


def _non_text_keys(data: dict) -> list[Problem]:
    """Every key that is not text (the format's keys and ids all are)."""
    problems: list[Problem] = []
    todo: list[tuple[Any, tuple]] = [(data, ())]
    while todo and len(problems) < _KEEP:
        value, loc = todo.pop()
        if isinstance(value, dict):
            for key, child in value.items():
                if not isinstance(key, str):
                    problems.append(
                        _problem(f"a key is text, not {_input(key)}", (*loc, key), data, True)
                    )
                elif isinstance(child, dict | list | tuple):
                    todo.append((child, (*loc, key)))
        elif isinstance(value, list | tuple):
            todo.extend(
                (child, (*loc, i))
                for i, child in enumerate(value)
                if isinstance(child, dict | list | tuple)
            )
    return problems


def place_of(loc: tuple[str | int, ...], root: Any) -> str:
    """``evidence[3] (id nis-oct18).derived_from`` for the loc of an item's field.

    ``root`` is the case as plain data or as a :class:`Case`.
    """
    if len(loc) >= 2 and loc[0] in _ITEM_MODELS and isinstance(loc[1], int):
        items = root.get(loc[0]) if isinstance(root, dict) else getattr(root, loc[0], None)
        item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
        item_id = item.get("id") if isinstance(item, dict) else getattr(item, "id", None)
        if isinstance(item_id, str):
            rest = format_location(loc[2:])
            head = f"{loc[0]}[{loc[1]}] (id {printable(item_id[:40])})"
            return head + ("." + rest if rest and not rest.startswith("[") else rest)
    return format_location(loc)


def _problem(message: str, loc: tuple[str | int, ...], root: Any, at_key=False) -> Problem:
    return Problem(message, place_of(loc, root), loc=loc, at_key=at_key)


def _prefixed(problems, prefix: tuple, root: Any) -> list[Problem]:
    return [_problem(p.message, prefix + p.loc, root, p.at_key) for p in problems]


_UNION_FIELDS = {
    "reliability",
    "prior",
    "copy_probability",
    "likelihood_ratio",
    "sensitivity",
    "false_positive_rate",
}
_UNION_TAGS = {"number", "beta", "grade", "admiralty", "two-coin", "lognormal"}


def _known_keys() -> list[str]:
    keys = {name for model in _FORMAT_MODELS for name in model.model_fields}
    return sorted(keys)


def _input(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the text {shown(value)}"
    if value is None:
        return "nothing (null)"
    if isinstance(value, int | float):
        return f"the number {shown(value)}"
    return f"a {'list' if isinstance(value, list | tuple) else type(value).__name__}"


def _problems(err: ValidationError, prefix: tuple, root: Any) -> list[Problem]:
    """Plain-language problems from a pydantic error, with locations from the root."""
    out = []
    for error in err.errors(include_url=False):
        loc = tuple(error["loc"])
        # pydantic puts a tagged union's tag after the field: drop it from the path.
        loc = tuple(
            p
            for i, p in enumerate(loc)
            if not (i and loc[i - 1] in _UNION_FIELDS and p in _UNION_TAGS)
        )
        loc = prefix + loc
        kind, value = error["type"], error.get("input")
        original = (error.get("ctx") or {}).get("error")
        if isinstance(original, CaseError):
            out += _prefixed(original.problems, loc, root)
            continue
        at_key = False
        if kind == "extra_forbidden":
            message, at_key = f"unknown key {shown(str(loc[-1]))}", True
            close = difflib.get_close_matches(str(loc[-1]), _known_keys(), n=1, cutoff=0.75)
            if close:
                message += f" (did you mean {close[0]!r}?)"
        elif kind == "missing":
            message, loc = f"missing key {loc[-1]!r}", loc[:-1]
        elif loc and loc[-1] == "[key]":
            loc = loc[:-1]
            message, at_key = f"unknown key {shown(str(loc[-1]))}: {error['msg']}", True
        elif kind in ("float_type", "int_type", "float_parsing"):
            message = f"expected a number, got {_input(value)}"
        elif kind in (
            "string_type",
            "literal_error",
            "list_type",
            "tuple_type",
            "dict_type",
            "reliability",
            "probability",
            "likelihood_ratio",
        ):
            message = f"{error['msg']}; got {_input(value)}"
            if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value.strip()):
                message += " (write numbers without quotes)"
        else:
            message = error["msg"].removeprefix("Value error, ")
        out.append(_problem(message, loc, root, at_key))
    return out


def _unique(items: list[Any], name: str, problems: list[Problem], case: Case) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.id in seen:
            problems.append(_problem(f"duplicate id {shown(item.id)}", (name, i, "id"), case))
        seen.add(item.id)


def _check_references(case: Case) -> None:
    """Cross-references and sums; raises a CaseError listing every problem."""
    problems: list[Problem] = []

    def bad(message: str, *loc: str | int) -> None:
        problems.append(_problem(message, loc, case))

    if (case.claim is None) == (case.hypotheses is None):
        problems.append(
            Problem(
                "give exactly one of `claim` (a binary case) and `hypotheses`"
                + (" (both are given)" if case.claim is not None else " (neither is given)"),
                "claim" if case.claim is not None else "",
                loc=("claim",) if case.claim is not None else (),
            )
        )
        raise CaseError(problems=problems)
    binary = case.is_binary
    hypotheses = set(case.hypothesis_ids)
    if case.hypotheses is not None:
        _unique(case.hypotheses, "hypotheses", problems, case)
        priors = [h.prior for h in case.hypotheses]
        given = [p for p in priors if p is not None]
        if given and len(given) != len(priors):
            missing = next(i for i, p in enumerate(priors) if p is None)
            bad("give a prior for every hypothesis or for none (uniform)", "hypotheses", missing)
        elif given and not math.isclose(math.fsum(given), 1.0, rel_tol=0, abs_tol=1e-9):
            bad(
                f"hypothesis priors must sum to 1 (they sum to {math.fsum(given):.12g})",
                "hypotheses",
            )
    _unique(case.sources, "sources", problems, case)
    _unique(case.evidence, "evidence", problems, case)
    sources = {s.id for s in case.sources}
    position = {e.id: i for i, e in enumerate(case.evidence)}
    parents_known = True
    for i, item in enumerate(case.evidence):
        here = ("evidence", i)
        if item.source is not None and item.source not in sources:
            bad(f"unknown source {shown(item.source)}", *here, "source")
        if binary and (item.supports is not None or item.refutes is not None):
            key = "supports" if item.supports is not None else "refutes"
            bad("a binary case takes `stance: supports` or `stance: refutes`", *here, key)
        if not binary and item.stance is not None:
            bad(
                "a multi-hypothesis case takes `supports: [ids]` or `refutes: [ids]`",
                *here,
                "stance",
            )
        if not binary and item.likelihood_ratio is not None:
            bad(
                "likelihood_ratio is for a binary claim; give `likelihood: {h: P(E | h)}`",
                *here,
                "likelihood_ratio",
            )
        for key in ("supports", "refutes"):
            for j, h in enumerate(getattr(item, key) or ()):
                if h not in hypotheses:
                    bad(f"unknown hypothesis {shown(h)}", *here, key, j)
        if item.likelihood is not None:
            unknown = [h for h in item.likelihood if h not in hypotheses]
            for h in unknown:
                problems.append(
                    _problem(f"unknown hypothesis {shown(h)}", (*here, "likelihood", h), case, True)
                )
            missing = [h for h in case.hypothesis_ids if h not in item.likelihood]
            if missing:
                bad(
                    f"give P(E | h) for every hypothesis (missing {', '.join(missing)})",
                    *here,
                    "likelihood",
                )
            elif not unknown and not any(item.likelihood.values()):
                bad(
                    "evidence with likelihood 0 under every hypothesis is impossible",
                    *here,
                    "likelihood",
                )
        for j, parent in enumerate(item.derived_from or ()):
            where = (*here, "derived_from", j)
            if parent not in position:
                parents_known = False
                bad(f"unknown evidence id {shown(parent)}", *where)
            elif parent == item.id:
                parents_known = False
                bad("an item cannot be derived from itself", *where)
            elif case.evidence[position[parent]].is_direct:
                bad(
                    f"{shown(parent)} is direct evidence; only sourced reports can be copied",
                    *where,
                )
        if item.derived_from is not None and len(set(item.derived_from)) != len(item.derived_from):
            bad("a parent is listed twice", *here, "derived_from")
    _check_channels(case, bad)
    _check_groups(case, position, bad)
    if parents_known:
        cycle = _find_cycle(case, position)
        if cycle is not None:
            node, ids = cycle
            bad(
                "provenance cycle: " + " -> ".join(printable(k) for k in ids),
                "evidence",
                node,
                "derived_from",
            )
    if problems:
        raise CaseError(problems=problems)


def _check_channels(case: Case, bad) -> None:
    """``about:`` channels: multi-hypothesis cases, known hypotheses, one channel per set."""
    hypotheses = set(case.hypothesis_ids)
    for s, source in enumerate(case.sources):
        seen: dict[frozenset[str], int] = {}
        for c, channel in enumerate(source.about or ()):
            here = ("sources", s, "about", c)
            if case.is_binary:
                bad(
                    "`about:` channels are for multi-hypothesis cases "
                    "(in a binary case every signal is about the claim)",
                    *here,
                )
                return
            for j, h in enumerate(channel.hypotheses):
                if h not in hypotheses:
                    bad(f"unknown hypothesis {shown(h)}", *here, "hypotheses", j)
                elif h in channel.hypotheses[:j]:
                    bad(f"hypothesis {shown(h)} is listed twice", *here, "hypotheses", j)
            key = frozenset(channel.hypotheses)
            if key in seen:
                bad(
                    f"the same set of hypotheses as about[{seen[key]}]; "
                    "a source has one channel per set",
                    *here,
                    "hypotheses",
                )
            seen.setdefault(key, c)


def _check_groups(case: Case, position: dict[str, int], bad) -> None:
    """``groups:``: unique ids; members are sourced, not derived, in one group each."""
    seen: set[str] = set()
    member_of: dict[str, int] = {}
    for g, group in enumerate(case.groups):
        if group.id in seen:
            bad(f"duplicate id {shown(group.id)}", "groups", g, "id")
        seen.add(group.id)
        for j, member in enumerate(group.members):
            where = ("groups", g, "members", j)
            item = case.evidence[position[member]] if member in position else None
            if item is None:
                bad(f"unknown evidence id {shown(member)}", *where)
            elif member in group.members[:j]:
                bad(f"{shown(member)} is listed twice", *where)
            elif item.is_direct:
                bad(f"{shown(member)} is direct evidence; only sourced reports form groups", *where)
            elif item.derived_from is not None:
                bad(
                    f"{shown(member)} has derived_from; its origin is declared, "
                    "so it cannot also be in a group",
                    *where,
                )
            elif member in member_of and member_of[member] != g:
                other = case.groups[member_of[member]].id
                bad(f"{shown(member)} is already in group {shown(other)}", *where)
            else:
                member_of[member] = g


def _find_cycle(case: Case, position: dict[str, int]) -> tuple[int, list[str]] | None:
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
                return node, [case.evidence[k].id for k in path[path.index(p) :]] + [parent]
            if state[p] == 0:
                state[p] = 1
                path.append(p)
                stack.append((p, iter(case.evidence[p].derived_from or ())))
    return None


#: Every model of the format (for "did you mean" suggestions).
_FORMAT_MODELS = (
    Beta,
    LogNormal,
    Admiralty,
    TwoCoin,
    Claim,
    Hypothesis,
    Source,
    Evidence,
    Pooling,
    Channel,
    Group,
    Case,
)
