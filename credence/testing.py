"""Case generators for tests and benchmarks: provenance chains and large parent sets.

Each returns plain data as a case file would hold it (pass it to
:func:`credence.assess` or :func:`credence.io.case_from_dict`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["chain_case", "parent_set_case"]


def chain_case(
    n: int,
    copy: Any = None,
    stances: list[str] | None = None,
    reliability: Any = None,
    prior: float = 0.3,
) -> dict[str, Any]:
    """A provenance chain: ``e0`` from source ``s``; each ``e_i`` derived from ``e_{i-1}``.

    Parameters
    ----------
    n : int
        Number of reports.
    copy : float or dict, optional
        Copy probability of each derived report (default 1: pure copies).
    stances : list of str, optional
        Each report's stance (default all ``"supports"``).
    reliability : optional
        The source's reliability (default ``{beta: [4, 2]}``).
    prior : float
        The claim's prior.

    Examples
    --------
    >>> [e.get("derived_from") for e in chain_case(3)["evidence"]]
    [None, ['e0'], ['e1']]
    """
    stances = stances or ["supports"] * n
    evidence = [{"id": "e0", "source": "s", "stance": stances[0]}]
    for i in range(1, n):
        item = {"id": f"e{i}", "source": "s", "stance": stances[i], "derived_from": [f"e{i - 1}"]}
        if copy is not None:
            item["copy_probability"] = copy
        evidence.append(item)
    return {
        "credence": 1,
        "claim": {"statement": "c", "prior": prior},
        "sources": [{"id": "s", "reliability": reliability or {"beta": [4, 2]}}],
        "evidence": evidence,
    }


def parent_set_case(
    n_parents: int, n_children: int, parents_each: int, copy: Any = 0.8, seed: int = 0
) -> dict[str, Any]:
    """Independent reports from 5 sources and children each derived from several of them.

    Parameters
    ----------
    n_parents : int
        Independent reports ``p0 ...``, from sources ``s0``-``s4`` in turn.
    n_children : int
        Derived reports ``c0 ...``, all supporting.
    parents_each : int
        Parents of each child, chosen at random without replacement.
    copy : float or dict
        Copy probability of each child.
    seed : int
        Seed of the choice of parents.
    """
    rng = np.random.default_rng(seed)
    evidence = [
        {"id": f"p{i}", "source": f"s{i % 5}", "stance": "supports" if i % 3 else "refutes"}
        for i in range(n_parents)
    ]
    for c in range(n_children):
        chosen = rng.choice(n_parents, size=parents_each, replace=False)
        evidence.append(
            {
                "id": f"c{c}",
                "source": f"s{c % 5}",
                "stance": "supports",
                "derived_from": [f"p{i}" for i in chosen],
                "copy_probability": copy,
            }
        )
    return {
        "credence": 1,
        "claim": {"statement": "c", "prior": 0.5},
        "sources": [{"id": f"s{i}", "reliability": {"beta": [3 + i, 2]}} for i in range(5)],
        "evidence": evidence,
    }
