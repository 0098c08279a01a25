"""The PyMC engine's ledger of a case with a group, against the exact engine's."""

from __future__ import annotations

import numpy as np
import pytest

from credence import assess
from credence.io import case_from_dict

pytest.importorskip("pymc")

#: Members listed in an order their dates do not follow: e3 appears first, so the
#: in-order prefixes hold groups of the members that have appeared; leaving e1 out
#: makes e2 the group's first, independent member.
CASE = {
    "credence": 1,
    "hypotheses": [{"id": "r"}, {"id": "u"}, {"id": "a"}],
    "sources": [
        {"id": "s1", "reliability": {"beta": [3, 2]}},
        {"id": "s2", "reliability": "B"},
        {"id": "s3", "reliability": {"beta": [4, 2]}},
    ],
    "evidence": [
        {"id": "e1", "source": "s1", "supports": ["u"], "date": "2023-03-07"},
        {"id": "e2", "source": "s2", "supports": ["u"], "date": "2023-03-08"},
        {"id": "e3", "source": "s3", "refutes": ["u"], "date": "2023-03-06"},
        {"id": "e4", "source": "s1", "supports": ["r"], "date": "2023-03-09"},
    ],
    "groups": [{"id": "press", "members": ["e1", "e2", "e3"]}],
}


@pytest.mark.filterwarnings("ignore::credence.mcmc.ConvergenceWarning")
def test_mcmc_ledger_of_a_group_equals_the_exact_ledger():
    case = case_from_dict(CASE)
    exact = assess(case)
    mcmc = assess(case, engine="mcmc", seed=5, draws=2000)
    # As in test_mcmc_agreement: an importance-sampling estimate, whose Monte Carlo
    # error at 4000 draws is far below 0.05 bans while Pareto k stays below 1.
    assert mcmc.diagnostics["ledger_pareto_k_max"] < 1
    # Leaving the first member out is worth far less than adding it (its removal makes
    # the next member independent): the semantics the correction carries.
    u = case.hypothesis_ids.index("u")
    first = list(exact.evidence_ids).index("e1")
    assert exact.leave_one_out[first, u] < exact.in_order[first, u] - 0.1
    np.testing.assert_allclose(mcmc.in_order, exact.in_order, atol=0.05)
    np.testing.assert_allclose(mcmc.leave_one_out, exact.leave_one_out, atol=0.05)
    np.testing.assert_allclose(mcmc.path, exact.path, atol=0.02)
