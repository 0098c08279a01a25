"""The ACH matrix: likelihoods from the model's semantics, Heuer's marks, tally and posterior."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from conftest import EXAMPLES

from credence import Beta, Case, Claim, Evidence, Hypothesis, Source, TwoCoin, assess
from credence.explain.ach import ACHMatrix, ach_matrix

H3 = [Hypothesis(id="a"), Hypothesis(id="b"), Hypothesis(id="c")]


def column(m: ACHMatrix, item: str) -> dict[str, float]:
    j = m.evidence_ids.index(item)
    return {h: float(m.likelihood[i, j]) for i, h in enumerate(m.hypotheses)}


def marks(m: ACHMatrix, item: str) -> dict[str, str]:
    j = m.evidence_ids.index(item)
    return {h: str(m.marks[i, j]) for i, h in enumerate(m.hypotheses)}


def test_direct_likelihoods_are_the_case_numbers():
    given = {"a": 0.9, "b": 0.35, "c": 0.05}
    case = Case(hypotheses=H3, evidence=[Evidence(id="x", likelihood=given)])
    m = ach_matrix(case)
    assert column(m, "x") == given
    assert m.kinds == ("likelihood",)
    assert m.diagnosticity[0] == pytest.approx(0.9 / 0.05)
    assert m.log10_diagnosticity[0] == pytest.approx(math.log10(0.9 / 0.05))


def test_binary_likelihood_ratio_is_its_ratio():
    case = Case(claim=Claim(statement="s"), evidence=[Evidence(id="t", likelihood_ratio=3.0)])
    m = ach_matrix(case)
    assert set(m.hypotheses) == {"true", "false"}
    assert m.is_binary
    lik = column(m, "t")
    assert lik == {"true": 3.0, "false": 1.0}
    assert m.diagnosticity[0] == pytest.approx(3.0)
    assert marks(m, "t") == {"true": "C", "false": "I"}
    assert m.hypotheses == ("true", "false")  # least inconsistent first


@pytest.mark.parametrize("accuracy", [0.8, 0.65, Beta(13, 7), Beta(3, 1), "B"])
@pytest.mark.parametrize(
    "signal", [{"supports": ["a"]}, {"supports": ["a", "c"]}, {"refutes": ["b"]}]
)
def test_one_coin_report_is_r_inside_its_declared_set(accuracy, signal):
    # The semantics: "yes" on A declares A possible, "no" on A declares its complement;
    # a one-coin source of accuracy r gives P = r for h in the declared set, 1 - r outside.
    r = {"B": 0.8}.get(accuracy, getattr(accuracy, "mean", accuracy))
    case = Case(
        hypotheses=H3,
        sources=[Source(id="s", reliability=accuracy)],
        evidence=[Evidence(id="e", source="s", **signal)],
    )
    if "supports" in signal:
        declared = set(signal["supports"])
    else:
        declared = {"a", "b", "c"} - set(signal["refutes"])
    m = ach_matrix(case)
    expected = {h: r if h in declared else 1 - r for h in "abc"}
    assert column(m, "e") == pytest.approx(expected, rel=1e-12)
    assert m.kinds == ("report",)
    assert m.diagnosticity[0] == pytest.approx(max(r, 1 - r) / min(r, 1 - r))


def test_binary_stance_is_a_signal_on_true():
    case = Case(
        claim=Claim(statement="s"),
        sources=[Source(id="s", reliability=0.9)],
        evidence=[
            Evidence(id="yes", source="s", stance="supports"),
            Evidence(id="no", source="s", stance="refutes"),
        ],
    )
    m = ach_matrix(case)
    assert column(m, "yes") == pytest.approx({"true": 0.9, "false": 0.1})
    assert column(m, "no") == pytest.approx({"true": 0.1, "false": 0.9})


def test_two_coin_report_is_sensitivity_or_false_positive_rate():
    case = Case(
        hypotheses=H3,
        sources=[
            Source(
                id="gov",
                reliability=TwoCoin(sensitivity=Beta(9, 1), false_positive_rate=0.3),
            )
        ],
        evidence=[
            Evidence(id="yes", source="gov", supports=["a"]),
            Evidence(id="no", source="gov", refutes=["a", "b"]),
        ],
    )
    m = ach_matrix(case)
    assert column(m, "yes") == pytest.approx({"a": 0.9, "b": 0.3, "c": 0.3})
    assert column(m, "no") == pytest.approx({"a": 0.1, "b": 0.1, "c": 0.7})


@pytest.mark.parametrize("copy", [0.0, 0.4, Beta(2, 3), 1.0])
def test_copy_is_its_independent_value_mixed_with_the_match(copy):
    c = getattr(copy, "mean", copy)
    case = Case(
        hypotheses=H3,
        sources=[Source(id="p", reliability=0.9), Source(id="q", reliability=0.7)],
        evidence=[
            Evidence(id="p1", source="p", supports=["a"]),
            Evidence(id="p2", source="p", supports=["b"]),
            Evidence(
                id="q1",
                source="q",
                supports=["a"],
                derived_from=["p1", "p2"],
                copy_probability=copy,
            ),
        ],
    )
    m = ach_matrix(case)
    match = 0.5  # one parent of two declares the same set {a}
    independent = {"a": 0.7, "b": 0.3, "c": 0.3}
    expected = {h: c * match + (1 - c) * independent[h] for h in "abc"}
    assert column(m, "q1") == pytest.approx(expected, rel=1e-12)
    assert m.kinds[m.evidence_ids.index("q1")] == "copy"
    if c == 1.0:  # a pure copy carries no information
        assert set(marks(m, "q1").values()) == {"N"}


def test_half_accurate_source_is_not_diagnostic():
    case = Case(
        hypotheses=H3,
        sources=[Source(id="coin", reliability=0.5), Source(id="e", reliability="E")],
        evidence=[
            Evidence(id="x", source="coin", supports=["a"]),
            Evidence(id="y", source="e", refutes=["b", "c"]),
        ],
    )
    m = ach_matrix(case)
    assert m.diagnosticity.tolist() == [1.0, 1.0]
    assert m.log10_diagnosticity.tolist() == [0.0, 0.0]
    assert (m.marks == "N").all()
    assert m.tally.tolist() == [0, 0, 0]
    assert np.all(m.log10_relative == 0.0)


def test_marks_follow_the_stated_ratio_thresholds():
    # ratios to the item's max: 1, 1.1 (C), 1.5 (N), 2 (I), 10 (I)
    lik = {"a": 0.8, "b": 0.8 / 1.1, "c": 0.8 / 1.5, "d": 0.4, "e": 0.08}
    hyps = [Hypothesis(id=h) for h in lik]
    case = Case(hypotheses=hyps, evidence=[Evidence(id="x", likelihood=lik)])
    m = ach_matrix(case)
    assert marks(m, "x") == {"a": "C", "b": "C", "c": "N", "d": "I", "e": "I"}
    strict = ach_matrix(case, consistent=1.05, inconsistent=1.4)
    assert marks(strict, "x") == {"a": "C", "b": "N", "c": "I", "d": "I", "e": "I"}
    shortfall = dict(zip(m.hypotheses, m.weighted_tally, strict=True))
    assert shortfall["d"] == pytest.approx(math.log10(2))
    assert shortfall["e"] == pytest.approx(1.0)
    assert shortfall["c"] == 0.0  # N cells do not count
    # an item within the consistent ratio everywhere is N throughout
    flat = Case(
        hypotheses=H3, evidence=[Evidence(id="x", likelihood={"a": 0.5, "b": 0.45, "c": 0.42})]
    )
    assert set(marks(ach_matrix(flat), "x").values()) == {"N"}


@pytest.mark.parametrize(
    "bad", [dict(consistent=0.9), dict(inconsistent=1.1), dict(consistent=True)]
)
def test_thresholds_are_checked(bad):
    case = Case(hypotheses=H3, evidence=[Evidence(id="x", likelihood={"a": 1, "b": 1, "c": 1})])
    with pytest.raises(ValueError):
        ach_matrix(case, **bad)


def competing():
    return Case(
        hypotheses=[
            Hypothesis(id=h, prior=p) for h, p in zip("abcd", [0.4, 0.3, 0.2, 0.1], strict=True)
        ],
        sources=[
            Source(id="s1", reliability="B"),
            Source(id="s2", reliability=0.7),
            Source(id="s3", reliability=TwoCoin(sensitivity=0.9, false_positive_rate=0.4)),
        ],
        evidence=[
            Evidence(id="e1", source="s1", supports=["c", "d"]),
            Evidence(id="e2", source="s2", refutes=["a"]),
            Evidence(id="e3", source="s3", supports=["d"]),
            Evidence(id="e4", likelihood={"a": 0.2, "b": 0.5, "c": 0.4, "d": 0.3}),
            Evidence(id="e5", source="s2", refutes=["b", "c"]),
        ],
    )


def test_hypotheses_are_ordered_by_tally_least_inconsistent_first():
    m = ach_matrix(competing())
    assert sorted(m.hypotheses) == list("abcd")
    # the tally is the count of I marks per hypothesis
    assert m.tally.tolist() == (m.marks == "I").sum(axis=1).tolist()
    keys = list(zip(m.tally.tolist(), m.weighted_tally.tolist(), strict=True))
    assert keys == sorted(keys)
    assert m.hypotheses[0] == "d"  # no inconsistency at all
    assert m.tally[0] == 0 and m.tally[-1] > 0


def test_posterior_is_the_exact_engine_posterior():
    case = competing()
    m = ach_matrix(case)
    expected = assess(case).posterior
    assert dict(zip(m.hypotheses, m.posterior.tolist(), strict=True)) == pytest.approx(
        dict(expected), rel=1e-12
    )
    assert dict(zip(m.hypotheses, m.prior.tolist(), strict=True)) == pytest.approx(
        {"a": 0.4, "b": 0.3, "c": 0.2, "d": 0.1}
    )
    assert m.engine == "exact"
    assert m.leading == max(expected, key=expected.get)


def test_an_assessment_gives_its_own_posterior():
    case = competing()
    a = assess(case)
    m = ach_matrix(a)
    assert dict(zip(m.hypotheses, m.posterior.tolist(), strict=True)) == dict(a.posterior)
    # evidence columns are in the ledger order of the assessment
    assert m.evidence_ids == a.evidence_ids


def test_example_file_and_ledger_order():
    m = ach_matrix(EXAMPLES / "competing_hypotheses.yaml")
    a = assess(EXAMPLES / "competing_hypotheses.yaml")
    assert m.evidence_ids == a.evidence_ids
    assert m.hypotheses[0] == "combat"
    assert marks(m, "putin-oct24") == {"combat": "C", "training": "N", "labour": "I"}
    # the Kremlin's denial barely discriminates: neutral throughout
    assert set(marks(m, "peskov-oct18").values()) == {"N"}


def test_outputs_and_read_only_arrays():
    m = ach_matrix(competing())
    d = m.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert d["hypotheses"] == list(m.hypotheses)
    assert [e["id"] for e in d["evidence"]] == list(m.evidence_ids)
    assert set(d["evidence"][0]["marks"]) == set(m.hypotheses)
    assert "I (inconsistent)" in d["rule"]
    frame = m.to_frame()
    assert list(frame.index) == list(m.evidence_ids)
    for h in m.hypotheses:
        assert f"likelihood[{h}]" in frame and f"mark[{h}]" in frame
    per_h = m.to_frame("hypothesis")
    assert list(per_h.index) == list(m.hypotheses)
    assert per_h["posterior"].tolist() == m.posterior.tolist()
    with pytest.raises(ValueError):
        m.to_frame("cells")
    with pytest.raises(ValueError):
        m.likelihood[0, 0] = 1.0


def test_impossible_cell_is_infinitely_diagnostic():
    case = Case(
        hypotheses=H3,
        evidence=[Evidence(id="x", likelihood={"a": 0.5, "b": 0.0, "c": 0.5})],
    )
    m = ach_matrix(case)
    assert math.isinf(m.diagnosticity[0])
    assert marks(m, "x")["b"] == "I"
    assert m.hypotheses[-1] == "b"
    d = m.to_dict()
    assert d["evidence"][0]["diagnosticity"] is None
    assert d["weighted_tally"]["b"] is None
    json.dumps(d, allow_nan=False)


def test_import_stays_light():
    code = "import sys, credence.explain.ach; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert not {"pandas", "matplotlib", "pymc", "arviz"} & loaded
