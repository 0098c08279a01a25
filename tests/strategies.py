"""hypothesis strategies that build random valid cases (as plain data, like a file)."""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

prob = st.floats(0.02, 0.98)
beta = st.tuples(st.floats(0.5, 20), st.floats(0.5, 20)).map(lambda ab: {"beta": list(ab)})
int_beta = st.tuples(st.integers(1, 12), st.integers(1, 12)).map(lambda ab: {"beta": list(ab)})


def reliabilities(param=None):
    param = st.one_of(prob, beta) if param is None else param
    return st.one_of(
        prob,
        beta,
        st.sampled_from("ABCDEF"),
        st.fixed_dictionaries({"sensitivity": param, "false_positive_rate": param}),
    )


def _direct(draw, item, binary, hyps):
    """``item`` as direct evidence: a likelihood ratio, or a likelihood per hypothesis."""
    if binary:
        item["likelihood_ratio"] = draw(st.floats(0.1, 10))
    else:
        item["likelihood"] = {h: draw(st.floats(0.05, 1)) for h in hyps}
    return item


def _head(draw, binary: bool) -> tuple[list[str], dict]:
    """Hypothesis ids and the claim or hypotheses of a random case."""
    if binary:
        return ["true", "false"], {
            "claim": {"statement": "c", "prior": draw(st.one_of(prob, beta))}
        }
    k = draw(st.integers(3, 4))
    hyps = [f"h{i}" for i in range(k)]
    raw = draw(st.lists(st.floats(0.05, 1.0), min_size=k, max_size=k))
    priors = [x / sum(raw) for x in raw]
    priors[-1] = 1.0 - sum(priors[:-1])
    uniform = draw(st.booleans())
    return hyps, {
        "hypotheses": [
            {"id": h} if uniform else {"id": h, "prior": p}
            for h, p in zip(hyps, priors, strict=True)
        ]
    }


def compiled_or_skip(data):
    """(case, compiled), skipping cases the semantics make impossible.

    Two refusals are expected of a random case: a pure copy (c = 1) that
    disagrees with every parent or earlier member, and uncertain groups tied
    into a polynomial too large for the exact engine.
    """
    from credence.compile import compile_case
    from credence.errors import CaseError
    from credence.exact import exact_log_evidence
    from credence.io import case_from_dict

    case = case_from_dict(data)
    try:
        compiled = compile_case(case)
        exact_log_evidence(compiled)
    except CaseError as err:
        expected = ("ties them into a polynomial", "copy_probability 1", "a pure copy")
        if any(text in err.message for text in expected):
            assume(False)
        raise
    return case, compiled


@st.composite
def cases(draw, max_sources=3, max_items=7, derived=True, direct=True, param=None):
    binary = draw(st.booleans())
    hyps, head = _head(draw, binary)
    n_sources = draw(st.integers(1, max_sources))
    sources = [{"id": f"s{i}", "reliability": draw(reliabilities(param))} for i in range(n_sources)]
    evidence = []
    for i in range(draw(st.integers(0, max_items))):
        item = {"id": f"e{i}"}
        if direct and draw(st.integers(0, 5)) == 0:
            evidence.append(_direct(draw, item, binary, hyps))
            continue
        item["source"] = f"s{draw(st.integers(0, n_sources - 1))}"
        if binary:
            item["stance"] = draw(st.sampled_from(["supports", "refutes"]))
        else:
            subset = draw(
                st.lists(st.sampled_from(hyps), min_size=1, max_size=len(hyps) - 1, unique=True)
            )
            item[draw(st.sampled_from(["supports", "refutes"]))] = subset
        sourced = [e["id"] for e in evidence if "source" in e]
        if derived and sourced and draw(st.booleans()):
            item["derived_from"] = draw(
                st.lists(st.sampled_from(sourced), min_size=1, max_size=2, unique=True)
            )
            item["copy_probability"] = draw(st.one_of(st.floats(0, 0.95), beta))
        evidence.append(item)
    return {"credence": 1, **head, "sources": sources, "evidence": evidence}


# --- Dependence: cases with about: channels and groups: ------------------------------------------

fixed_or_beta = st.one_of(prob, prob, beta)


def light_reliabilities():
    """Reliabilities, fixed more often than uncertain (oracle cases stay small)."""
    return st.one_of(
        prob,
        prob,
        beta,
        st.sampled_from("ABCDEF"),
        st.fixed_dictionaries({"sensitivity": fixed_or_beta, "false_positive_rate": fixed_or_beta}),
    )


copy_probabilities = st.one_of(
    st.none(), st.sampled_from([0.0, 1.0]), st.floats(0, 1), beta, int_beta
)


@st.composite
def dependence_cases(
    draw, binary=None, max_items=7, max_groups=2, about=True, derived=True, direct=True
):
    """Cases with about: channels (multi-hypothesis) and groups, as plain data.

    Members are drawn in random order from the sourced, non-derived reports; a group's
    ``copy_probability`` is omitted (Beta(1, 1)), fixed (0, 1 or between) or a Beta.
    Reports of a source with channels use a channel's exact set half the time, its
    hypotheses listed in a random order.
    """
    binary = draw(st.booleans()) if binary is None else binary
    hyps, head = _head(draw, binary)
    subsets = st.lists(st.sampled_from(hyps), min_size=1, max_size=len(hyps) - 1, unique=True)
    n_sources = draw(st.integers(1, 3))
    sources, channel_sets = [], {}
    for i in range(n_sources):
        source = {"id": f"s{i}", "reliability": draw(light_reliabilities())}
        if not binary and about and draw(st.booleans()):
            sets = draw(st.lists(subsets, min_size=1, max_size=2, unique_by=frozenset))
            source["about"] = [
                {"hypotheses": s, "reliability": draw(light_reliabilities())} for s in sets
            ]
            channel_sets[source["id"]] = sets
        sources.append(source)
    evidence = []
    for i in range(draw(st.integers(min(3, max_items), max_items))):
        item = {"id": f"e{i}"}
        if direct and draw(st.integers(0, 6)) == 0:
            evidence.append(_direct(draw, item, binary, hyps))
            continue
        item["source"] = f"s{draw(st.integers(0, n_sources - 1))}"
        if binary:
            item["stance"] = draw(st.sampled_from(["supports", "refutes"]))
        else:
            sets = channel_sets.get(item["source"])
            if sets and draw(st.booleans()):
                subset = draw(st.permutations(draw(st.sampled_from(sets))))
            else:
                subset = draw(subsets)
            item[draw(st.sampled_from(["supports", "refutes"]))] = list(subset)
        sourced = [e["id"] for e in evidence if "source" in e]
        if derived and sourced and draw(st.integers(0, 3)) == 0:
            item["derived_from"] = draw(
                st.lists(st.sampled_from(sourced), min_size=1, max_size=2, unique=True)
            )
            item["copy_probability"] = draw(st.one_of(st.floats(0, 0.95), beta))
        evidence.append(item)
    free = [e["id"] for e in evidence if "source" in e and "derived_from" not in e]
    groups = []
    n_groups = min(draw(st.sampled_from([0, 1, 1, 2, 2])), max_groups, len(free) // 2)
    for g in range(n_groups):
        most = min(4, len(free) - 2 * (n_groups - g - 1))
        members = draw(st.lists(st.sampled_from(free), min_size=2, max_size=most, unique=True))
        free = [x for x in free if x not in members]
        group = {"id": f"g{g}", "members": members}
        copy = draw(copy_probabilities)
        if copy is not None:
            group["copy_probability"] = copy
        groups.append(group)
    data = {"credence": 1, **head, "sources": sources, "evidence": evidence}
    if groups:
        data["groups"] = groups
    return data
