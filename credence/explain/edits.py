"""Edits of a case: the same case with one judgment changed, as a new validated Case.

Every function returns a new :class:`~credence.case.Case`, rebuilt through
:func:`~credence.case.validate_case` from the case's own data, so the result is
as valid as a case read from a file; the case passed in is never changed. An id
the case does not have is a :class:`ValueError` naming it and the ids the case
has; a value the format refuses is a :class:`~credence.errors.CaseError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel

from credence.case import Case, Evidence, validate_case
from credence.errors import shown

__all__ = [
    "keeping",
    "dropped_with",
    "flipped",
    "with_copy_probability",
    "with_prior",
    "with_reliability",
    "without",
]

#: Ids listed in an unknown-id message before "and N more".
_LISTED = 20


def _plain(value: Any) -> Any:
    """A value as written in a case file (format objects to their dict form)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _unknown(what: str, item_id: Any, known: list[str]) -> ValueError:
    listed = ", ".join(shown(k) for k in known[:_LISTED])
    more = f" and {len(known) - _LISTED} more" if len(known) > _LISTED else ""
    return ValueError(f"unknown {what} {shown(item_id)}; the case has {listed or 'none'}{more}")


def _find(items: list[dict], what: str, item_id: Any) -> dict:
    for item in items:
        if item["id"] == item_id:
            return item
    raise _unknown(what, item_id, [item["id"] for item in items])


def dropped_with(case: Case, evidence_id: str) -> tuple[str, ...]:
    """The derived items :func:`without` drops along with ``evidence_id``.

    A derived item goes when every item it may copy goes: it carries the
    dropped report forward, and a copy of nothing is not evidence.

    Parameters
    ----------
    case : Case
    evidence_id : str

    Returns
    -------
    tuple of str
        Their ids, in case order (empty when no copy is orphaned).

    Examples
    --------
    >>> from credence import Case, Claim, Evidence, Source
    >>> case = Case(
    ...     claim=Claim(statement="It rained"),
    ...     sources=[Source(id="a", reliability=0.8), Source(id="b", reliability=0.7)],
    ...     evidence=[Evidence(id="e1", source="a", stance="supports"),
    ...               Evidence(id="e2", source="b", stance="supports", derived_from=["e1"])],
    ... )
    >>> dropped_with(case, "e1")
    ('e2',)
    """
    _find([{"id": e.id} for e in case.evidence], "evidence id", evidence_id)
    gone = {evidence_id}
    changed = True
    while changed:  # provenance is acyclic: at most one pass per generation
        changed = False
        for item in case.evidence:
            if item.id not in gone and item.derived_from and set(item.derived_from) <= gone:
                gone.add(item.id)
                changed = True
    return tuple(e.id for e in case.evidence if e.id in gone and e.id != evidence_id)


def without(case: Case, evidence_id: str, *, orphans: Literal["drop", "keep"] = "drop") -> Case:
    """The case without one evidence item.

    The item is taken out of every ``derived_from`` list (and of every group of
    common origin, which goes when fewer than two members are left).

    Parameters
    ----------
    case : Case
    evidence_id : str
    orphans : {"drop", "keep"}
        A derived item all of whose parents go is dropped too (``"drop"``, see
        :func:`dropped_with`), or kept as an independent report of its source
        (``"keep"``: its ``derived_from`` and ``copy_probability`` go).

    Returns
    -------
    Case

    Raises
    ------
    ValueError
        Unknown ``evidence_id`` or ``orphans``.

    Examples
    --------
    >>> from credence import Case, Claim, Evidence, Source
    >>> case = Case(
    ...     claim=Claim(statement="It rained"),
    ...     sources=[Source(id="a", reliability=0.8)],
    ...     evidence=[Evidence(id="e1", source="a", stance="supports"),
    ...               Evidence(id="e2", source="a", stance="refutes")],
    ... )
    >>> [e.id for e in without(case, "e1").evidence]
    ['e2']
    """
    if orphans not in ("drop", "keep"):
        raise ValueError(f"orphans is 'drop' or 'keep', not {orphans!r}")
    gone = {evidence_id}
    if orphans == "drop":
        gone.update(dropped_with(case, evidence_id))
    else:
        _find([{"id": e.id} for e in case.evidence], "evidence id", evidence_id)
    return keeping(case, [item for item in case.evidence if item.id not in gone])


def keeping(case: Case, items: list[Evidence]) -> Case:
    """The case with only the given evidence items (in their order).

    Groups keep their members among the items, in order, and go when fewer than
    two are left; ``derived_from`` lists keep the parents among the items, and
    an item with none left is an independent report.

    Parameters
    ----------
    case : Case
    items : list of Evidence
        Items of ``case``.

    Returns
    -------
    Case
    """
    ids = {item.id for item in items}
    evidence = []
    for item in items:
        if item.derived_from is not None and not set(item.derived_from) <= ids:
            parents = [p for p in item.derived_from if p in ids]
            update = {"derived_from": parents or None}
            if not parents:
                update["copy_probability"] = None
            item = item.model_copy(update=update)
        evidence.append(item)
    groups = []
    for group in case.groups:
        members = [m for m in group.members if m in ids]
        if len(members) >= 2:
            groups.append(group.model_copy(update={"members": members}))
    return case.model_copy(update={"evidence": evidence, "groups": groups})


def flipped(case: Case, evidence_id: str) -> Case:
    """The case with one report's stance reversed.

    ``supports`` becomes ``refutes`` and back; in a multi-hypothesis case
    ``supports: [ids]`` becomes ``refutes: [ids]`` of the same set and back.

    Parameters
    ----------
    case : Case
    evidence_id : str
        A sourced report (direct evidence has no stance).

    Returns
    -------
    Case

    Raises
    ------
    ValueError
        Unknown ``evidence_id``, or direct evidence.
    CaseError
        The flipped case cannot be compiled (a pure copy would disagree with
        every parent): raised by the engines, not here.

    Examples
    --------
    >>> from credence import Case, Claim, Evidence, Source
    >>> case = Case(
    ...     claim=Claim(statement="It rained"),
    ...     sources=[Source(id="a", reliability=0.8)],
    ...     evidence=[Evidence(id="e1", source="a", stance="supports")],
    ... )
    >>> flipped(case, "e1").evidence[0].stance
    'refutes'
    """
    data = case.to_dict()
    item = _find(data.get("evidence", []), "evidence id", evidence_id)
    swap = {"supports": "refutes", "refutes": "supports"}
    if "stance" in item:
        item["stance"] = swap[item["stance"]]
    elif "supports" in item or "refutes" in item:
        key = "supports" if "supports" in item else "refutes"
        item[swap[key]] = item.pop(key)
    else:
        raise ValueError(f"evidence {shown(evidence_id)} is direct evidence: it has no stance")
    return validate_case(data)


def with_reliability(case: Case, source_id: str, reliability: Any) -> Case:
    """The case with one source's reliability replaced.

    Parameters
    ----------
    case : Case
    source_id : str
    reliability : str, float, Beta, Admiralty, TwoCoin or dict
        Any form the format takes: an Admiralty letter ``"A"``-``"F"``, a
        one-coin accuracy, ``Beta(a, b)``, ``TwoCoin(...)``, or their
        case-file dicts (``{"beta": [a, b]}``...).

    Returns
    -------
    Case

    Raises
    ------
    ValueError
        Unknown ``source_id``.
    CaseError
        ``reliability`` is not a reliability.

    Examples
    --------
    >>> from credence import Beta, Case, Claim, Evidence, Source
    >>> case = Case(
    ...     claim=Claim(statement="It rained"),
    ...     sources=[Source(id="a", reliability="B")],
    ...     evidence=[Evidence(id="e1", source="a", stance="supports")],
    ... )
    >>> with_reliability(case, "a", Beta(8, 2)).sources[0].reliability
    Beta(beta=(8.0, 2.0))
    >>> case.sources[0].reliability
    'B'
    """
    data = case.to_dict()
    _find(data.get("sources", []), "source id", source_id)["reliability"] = _plain(reliability)
    return validate_case(data)


def with_prior(case: Case, prior: Any) -> Case:
    """The case with another prior.

    Parameters
    ----------
    case : Case
    prior : float, Beta or mapping
        Binary case: the claim's prior, a number or ``Beta(a, b)``.
        Multi-hypothesis case: ``{hypothesis id: prior}`` for every hypothesis,
        summing to 1.

    Returns
    -------
    Case

    Raises
    ------
    ValueError
        A mapping for a binary case, or a mapping naming unknown hypotheses or
        leaving some out.
    CaseError
        A prior the format refuses (out of [0, 1], not summing to 1).

    Examples
    --------
    >>> from credence import Case, Claim
    >>> case = Case(claim=Claim(statement="It rained", prior=0.3))
    >>> with_prior(case, 0.6).claim.prior
    0.6
    """
    data = case.to_dict()
    if case.is_binary:
        if isinstance(prior, Mapping) and "beta" not in prior:
            raise ValueError("a binary case takes one prior (a number or a Beta), not a mapping")
        data["claim"]["prior"] = _plain(prior)
        return validate_case(data)
    if not isinstance(prior, Mapping):
        raise ValueError(
            "a multi-hypothesis case takes a mapping {hypothesis id: prior} for every hypothesis"
        )
    known = list(case.hypothesis_ids)
    for h in prior:
        if h not in known:
            raise _unknown("hypothesis", h, known)
    missing = [h for h in known if h not in prior]
    if missing:
        raise ValueError(f"give a prior for every hypothesis (missing {', '.join(missing)})")
    for item in data["hypotheses"]:
        item["prior"] = _plain(prior[item["id"]])
    return validate_case(data)


def with_copy_probability(case: Case, evidence_id: str, copy_probability: Any) -> Case:
    """The case with one derived item's copy probability replaced.

    Parameters
    ----------
    case : Case
    evidence_id : str
        An item with ``derived_from``.
    copy_probability : float or Beta

    Returns
    -------
    Case

    Raises
    ------
    ValueError
        Unknown ``evidence_id``, or an item that is not derived.
    CaseError
        Not a probability.

    Examples
    --------
    >>> from credence import Case, Claim, Evidence, Source
    >>> case = Case(
    ...     claim=Claim(statement="It rained"),
    ...     sources=[Source(id="a", reliability=0.8), Source(id="b", reliability=0.7)],
    ...     evidence=[Evidence(id="e1", source="a", stance="supports"),
    ...               Evidence(id="e2", source="b", stance="supports", derived_from=["e1"])],
    ... )
    >>> with_copy_probability(case, "e2", 0.4).evidence[1].copy_probability
    0.4
    """
    data = case.to_dict()
    item = _find(data.get("evidence", []), "evidence id", evidence_id)
    if "derived_from" not in item:
        derived = [e.id for e in case.evidence if e.derived_from is not None]
        raise ValueError(
            f"evidence {shown(evidence_id)} has no derived_from, so no copy probability; "
            f"derived items: {', '.join(shown(d) for d in derived[:_LISTED]) or 'none'}"
        )
    item["copy_probability"] = _plain(copy_probability)
    return validate_case(data)
