"""hypothesis strategies that build random valid cases (as plain data, like a file)."""

from __future__ import annotations

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


@st.composite
def cases(draw, max_sources=3, max_items=7, derived=True, direct=True, param=None):
    binary = draw(st.booleans())
    if binary:
        hyps = ["true", "false"]
        head = {"claim": {"statement": "c", "prior": draw(st.one_of(prob, beta))}}
    else:
        k = draw(st.integers(3, 4))
        hyps = [f"h{i}" for i in range(k)]
        raw = draw(st.lists(st.floats(0.05, 1.0), min_size=k, max_size=k))
        priors = [x / sum(raw) for x in raw]
        priors[-1] = 1.0 - sum(priors[:-1])
        uniform = draw(st.booleans())
        head = {
            "hypotheses": [
                {"id": h} if uniform else {"id": h, "prior": p}
                for h, p in zip(hyps, priors, strict=True)
            ]
        }
    n_sources = draw(st.integers(1, max_sources))
    sources = [{"id": f"s{i}", "reliability": draw(reliabilities(param))} for i in range(n_sources)]
    evidence = []
    for i in range(draw(st.integers(0, max_items))):
        item = {"id": f"e{i}"}
        if direct and draw(st.integers(0, 5)) == 0:
            if binary:
                item["likelihood_ratio"] = draw(st.floats(0.1, 10))
            else:
                item["likelihood"] = {h: draw(st.floats(0.05, 1)) for h in hyps}
            evidence.append(item)
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
