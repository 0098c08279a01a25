"""What would change the verdict: edits, smallest changes, prior sensitivity, tornado.

Every number is checked through ``credence.assess`` on the edited case (the full
exact engine, ledger included), not through the sweep's own fast path; the
prior sweep against the closed form posterior odds = prior odds x Bayes factor.
Thresholds are bisected to ``TOLERANCE`` (1e-5 on the moved probability): the
reported value crosses, the value ``TOLERANCE`` back towards the case's does not.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from conftest import EXAMPLES
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from strategies import cases

from credence import ADMIRALTY, Beta, Case, CaseError, Claim, Evidence, Source, TwoCoin, assess
from credence.case import validate_case
from credence.explain import (
    TOLERANCE,
    dropped_with,
    flipped,
    prior_sensitivity,
    reliability_tornado,
    what_would_change,
    with_copy_probability,
    with_prior,
    with_reliability,
    without,
)
from credence.io import load_case
from credence.words import words

NORTH_KOREA = load_case(EXAMPLES / "north-korea-troops.yaml")
ACH = load_case(EXAMPLES / "competing_hypotheses.yaml")
EXAMPLE_CASES = [NORTH_KOREA, ACH]
SMALL = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MOVES = ("accuracy", "sensitivity", "false_positive_rate", "copy_probability")


def case_of(data) -> Case:
    try:
        case = validate_case(data)
        assess(case)
    except CaseError:
        assume(False)
    return case


def posterior(case: Case) -> np.ndarray:
    return assess(case).posterior_array


EDGES = np.array([0.05, 0.2, 0.45, 0.5, 0.55, 0.8, 0.95])


def crossed(base: np.ndarray, after: np.ndarray, t: int) -> dict[str, bool]:
    """What the change crosses, as documented: band, 1/2, the case's leader overtaken."""
    leader = int(np.argmax(base))
    return {
        "band": words(float(after[t])) != words(float(base[t])),
        "half": bool((after[t] > 0.5) != (base[t] > 0.5)),
        "leader": bool(np.delete(after, leader).max() - after[leader] > 1e-12),
    }


def ambiguous(base: np.ndarray, after: np.ndarray, t: int) -> bool:
    """Within rounding of a band edge, 1/2 or a tie: two exact paths may differ there."""
    leader = int(np.argmax(base))
    gap = np.delete(after, leader).max() - after[leader]
    return bool(np.abs(EDGES - after[t]).min() < 1e-9 or abs(gap - 1e-12) < 1e-9)


def followed(case: Case, table) -> int:
    return case.hypothesis_ids.index(table.hypothesis)


def children(case: Case) -> set[str]:
    return {p for e in case.evidence for p in e.derived_from or ()}


# -- edits ------------------------------------------------------------------------


def test_edits_never_change_the_case_they_are_given():
    for case in EXAMPLE_CASES:
        before = copy.deepcopy(case.to_dict())
        ids = [e.id for e in case.evidence]
        for eid in ids:
            without(case, eid)
            without(case, eid, orphans="keep")
            if not case.evidence[ids.index(eid)].is_direct:
                try:
                    flipped(case, eid)
                except CaseError:
                    pass
        for s in case.sources:
            with_reliability(case, s.id, "E")
            with_reliability(case, s.id, TwoCoin(sensitivity=0.7, false_positive_rate=Beta(1, 3)))
        for e in case.evidence:
            if e.derived_from:
                with_copy_probability(case, e.id, Beta(2, 3))
        with_prior(case, 0.3 if case.is_binary else dict.fromkeys(case.hypothesis_ids, 1 / 3))
        assert case.to_dict() == before
    before = copy.deepcopy(NORTH_KOREA.to_dict())
    for row in what_would_change(NORTH_KOREA).rows:
        row.apply(NORTH_KOREA)
    assert NORTH_KOREA.to_dict() == before


@pytest.mark.parametrize(
    "edit, bad, kind",
    [
        (lambda c, x: without(c, x), "nis-oct81", "evidence id"),
        (lambda c, x: flipped(c, x), "nope", "evidence id"),
        (lambda c, x: with_reliability(c, x, "A"), "nsi", "source id"),
        (lambda c, x: with_copy_probability(c, x, 0.5), "cnn-oct02", "evidence id"),
        (lambda c, x: dropped_with(c, x), "", "evidence id"),
    ],
)
def test_unknown_ids_are_value_errors_naming_the_valid_ones(edit, bad, kind):
    with pytest.raises(ValueError) as err:
        edit(NORTH_KOREA, bad)
    message = str(err.value)
    assert not isinstance(err.value, KeyError)
    assert f"unknown {kind} {bad!r}" in message
    valid = NORTH_KOREA.sources if kind == "source id" else NORTH_KOREA.evidence
    assert all(repr(item.id) in message for item in valid)


def test_edits_refuse_what_has_no_meaning():
    with pytest.raises(ValueError, match="direct evidence"):
        flipped(NORTH_KOREA, "treaty")
    with pytest.raises(ValueError, match="no derived_from"):
        with_copy_probability(NORTH_KOREA, "nis-oct18", 0.5)
    with pytest.raises(ValueError, match="unknown hypothesis 'kombat'"):
        with_prior(ACH, {"kombat": 0.5, "training": 0.5})
    with pytest.raises(ValueError, match="missing labour"):
        with_prior(ACH, {"combat": 0.5, "training": 0.5})
    with pytest.raises(CaseError):
        with_prior(ACH, {"combat": 0.5, "training": 0.5, "labour": 0.5})
    with pytest.raises(CaseError):
        with_reliability(NORTH_KOREA, "nis", "G")


def test_edits_make_the_change_asked_for():
    assert [e.id for e in without(NORTH_KOREA, "treaty").evidence] == [
        e.id for e in NORTH_KOREA.evidence if e.id != "treaty"
    ]
    # NIS goes with the reports that can only repeat it: Zelensky's repetition, and CNN
    assert dropped_with(NORTH_KOREA, "nis-oct18") == ("zelensky-oct19", "cnn-oct20")
    gone = {e.id for e in NORTH_KOREA.evidence} - {
        e.id for e in without(NORTH_KOREA, "nis-oct18").evidence
    }
    assert gone == {"nis-oct18", "zelensky-oct19", "cnn-oct20"}
    kept = {e.id: e for e in without(NORTH_KOREA, "nis-oct18", orphans="keep").evidence}
    assert kept["zelensky-oct19"].derived_from is None
    assert kept["zelensky-oct19"].copy_probability is None
    assert kept["cnn-oct20"].derived_from == ["zelensky-oct19"]
    assert flipped(NORTH_KOREA, "peskov-oct18").evidence[3].stance == "supports"
    item = next(e for e in flipped(ACH, "us-oct23").evidence if e.id == "us-oct23")
    assert (item.supports, item.refutes) == (["labour"], None)
    assert with_reliability(NORTH_KOREA, "nis", 0.7).sources[0].reliability == 0.7
    assert with_reliability(NORTH_KOREA, "nis", {"beta": [3, 1]}).sources[0].reliability == Beta(
        3, 1
    )
    assert with_prior(NORTH_KOREA, Beta(1, 19)).claim.prior == Beta(1, 19)
    priors = {"combat": 0.5, "training": 0.25, "labour": 0.25}
    assert [h.prior for h in with_prior(ACH, priors).hypotheses] == [0.5, 0.25, 0.25]
    assert (
        with_copy_probability(NORTH_KOREA, "cnn-oct20", 0.25).evidence[5].copy_probability == 0.25
    )


# -- dropping and flipping -------------------------------------------------------------


def check_item_rows(case: Case) -> None:
    table = what_would_change(case)
    t = followed(case, table)
    base = posterior(case)
    assert table.posterior == pytest.approx(base[t], abs=1e-12)
    seen = set()
    for row in table.rows:
        if row.kind not in ("drop", "flip"):
            continue
        seen.add((row.kind, row.subject))
        edited = without(case, row.subject) if row.kind == "drop" else flipped(case, row.subject)
        after = posterior(edited)
        assert row.posterior == pytest.approx(after[t], rel=1e-9, abs=1e-12)
        if not ambiguous(base, after, t):
            flags = crossed(base, after, t)
            assert (row.crosses_band, row.crosses_half, row.changes_leader) == (
                flags["band"],
                flags["half"],
                flags["leader"],
            )
            assert row.words == words(float(after[t]))
    drops = {("drop", e.id) for e in case.evidence}
    assert drops <= seen


@pytest.mark.parametrize("case", EXAMPLE_CASES, ids=["north-korea", "ach"])
def test_drop_and_flip_rows_agree_with_assessing_the_edited_case(case):
    check_item_rows(case)


@SMALL
@given(cases(derived=True))
def test_drop_and_flip_rows_agree_on_random_cases(data):
    check_item_rows(case_of(data))


def uninformative_items(data, reliability) -> tuple[Case, list[str]]:
    data = copy.deepcopy(data)
    data["sources"][0]["reliability"] = reliability
    case = case_of(data)
    parents = children(case)
    items = [e.id for e in case.evidence if e.source == "s0" and e.id not in parents]
    return case, items


@SMALL
@given(cases())
def test_a_half_accurate_source_changes_nothing(data):
    case, items = uninformative_items(data, 0.5)
    table = what_would_change(case)
    rows = [r for r in table.rows if r.subject in items and r.kind in ("drop", "flip")]
    assert {r.subject for r in rows if r.kind == "drop"} == set(items)
    for row in rows:
        assert row.posterior == pytest.approx(table.posterior, abs=1e-12)
        assert not row.crosses


@SMALL
@given(cases().filter(lambda d: "claim" in d))
def test_dropping_a_report_of_a_source_graded_f_never_crosses_a_band(data):
    # Beta(1, 1) is symmetric: under either hypothesis the source's reports have the
    # same expected probability, so they carry nothing (binary cases).
    case, items = uninformative_items(data, "F")
    table = what_would_change(case)
    for row in table.rows:
        if row.kind == "drop" and row.subject in items:
            assert not row.crosses_band
            assert row.posterior == pytest.approx(table.posterior, rel=1e-9, abs=1e-12)


# -- moves of a reliability, a grade, a copy probability --------------------------------


def moved(case: Case, row, x: float) -> Case:
    """The case with the row's value at x, by the rule documented on Change.before."""
    if row.kind == "copy_probability":
        return with_copy_probability(case, row.subject, x)
    reliability = next(s for s in case.sources if s.id == row.subject).reliability

    def move(value):
        if isinstance(value, Beta):
            n = value.a + value.b
            return Beta(x * n, (1 - x) * n)
        return x

    if row.kind == "accuracy":
        if isinstance(reliability, str):
            reliability = ADMIRALTY[reliability]
        elif not isinstance(reliability, float | Beta):
            reliability = ADMIRALTY[reliability.admiralty]
        return with_reliability(case, row.subject, move(reliability))
    parts = {
        "sensitivity": reliability.sensitivity,
        "false_positive_rate": reliability.false_positive_rate,
    }
    parts[row.kind] = move(parts[row.kind])
    return with_reliability(case, row.subject, TwoCoin(**parts))


def check_moves(case: Case) -> int:
    table = what_would_change(case)
    t = followed(case, table)
    base = posterior(case)
    checked = 0
    for row in table.rows:
        if row.kind in ("drop", "flip"):
            continue
        after = posterior(row.apply(case))
        assert row.posterior == pytest.approx(after[t], rel=1e-9, abs=1e-12)
        assert row.distance == pytest.approx(abs(row.after - row.before), abs=1e-15)
        if ambiguous(base, after, t):
            continue
        assert crossed(base, after, t)[row.target]
        if row.kind == "grade":
            # no grade nearer the source's accuracy crosses the same line
            for grade, prior in ADMIRALTY.items():
                if grade != row.setting and abs(prior.mean - row.before) < row.distance - 1e-12:
                    near = posterior(with_reliability(case, row.subject, grade))
                    assert ambiguous(base, near, t) or not crossed(base, near, t)[row.target]
            continue
        assert row.kind in MOVES
        assert posterior(moved(case, row, row.after)) == pytest.approx(after, abs=1e-12)
        back = row.after - math.copysign(TOLERANCE, row.after - row.before)
        if row.distance <= TOLERANCE:  # a crossing nearer than that: step back to the start
            back = row.before
        inside = posterior(moved(case, row, back))
        assert ambiguous(base, inside, t) or not crossed(base, inside, t)[row.target], (row, back)
        checked += 1
    return checked


@pytest.mark.parametrize("case", EXAMPLE_CASES, ids=["north-korea", "ach"])
def test_each_threshold_is_a_crossing(case):
    assert check_moves(case) > 5


#: Three hypotheses at a near tie: the leader changes at a copy probability of 6e-6.
NEAR_TIE = {
    "credence": 1,
    "hypotheses": [{"id": "h0", "prior": 1 / 3}, {"id": "h1", "prior": 1 / 3},
                   {"id": "h2", "prior": 0.33333333333333337}],
    "sources": [{"id": "s0", "reliability": 0.375}],
    "evidence": [
        {"id": "e0", "source": "s0", "supports": ["h1"]},
        {"id": "e1", "source": "s0", "supports": ["h1"], "derived_from": ["e0"],
         "copy_probability": 0.0},
        {"id": "e2", "source": "s0", "refutes": ["h1"]},
        {"id": "e3", "source": "s0", "refutes": ["h1"]},
    ],
}


@SMALL
@given(cases())
@example(data=NEAR_TIE)
def test_each_threshold_is_a_crossing_on_random_cases(data):
    check_moves(case_of(data))


def test_the_nearest_crossing_is_found():
    # One report at accuracy r, prior 0.45: P(true) = 0.45 r / (0.45 r + 0.55 (1 - r)),
    # 0.656 at r = 0.7 ("likely"). It leaves the band at r = 0.3025 / 0.505 (posterior
    # 0.55), nearer than r = 0.44 / 0.53 (0.8), and crosses 1/2 at r = 0.55.
    case = Case(
        claim=Claim(statement="c", prior=0.45),
        sources=[Source(id="s", reliability=0.7)],
        evidence=[Evidence(id="e", source="s", stance="supports")],
    )
    table = what_would_change(case)
    moves = {r.target: r for r in table.rows if r.kind == "accuracy"}
    assert moves.keys() == {"band", "half"}
    assert 0.3025 / 0.505 - TOLERANCE <= moves["band"].after <= 0.3025 / 0.505
    assert moves["band"].change == "accuracy 0.70 -> 0.60"
    assert moves["half"].after == pytest.approx(0.55, abs=TOLERANCE)
    # grades: D (mean 0.55) is the nearest that crosses either; one row for both
    (grade,) = [r for r in table.rows if r.kind == "grade"]
    assert (grade.setting, grade.change, grade.crosses_band, grade.crosses_half) == (
        "D",
        "accuracy 0.70 -> D",
        True,
        True,
    )
    assert grade.distance == pytest.approx(0.15)


def test_the_ranked_table_follows_its_documented_key():
    kinds = ["drop", "flip", "grade", "accuracy", "sensitivity", "false_positive_rate"]
    for case in EXAMPLE_CASES:
        rows = what_would_change(case).rows
        keys = [
            (
                not (r.crosses_band or r.crosses_half or r.changes_leader),
                r.distance,
                [*kinds, "copy_probability"].index(r.kind),
                -abs(r.shift),
                r.subject,
            )
            for r in rows
        ]
        assert keys == sorted(keys)
        crossing = [r for r in rows if r.crosses]
        assert crossing and rows[: len(crossing)] == tuple(crossing)


def test_results_are_plain_data():
    for case in EXAMPLE_CASES:
        table = what_would_change(case)
        doc = table.to_dict()
        assert json.loads(json.dumps(doc, allow_nan=False)) == doc
        assert len(table.to_frame()) == len(table.rows)
        assert str(table).startswith(f"P({table.hypothesis}) = ")
        sens = prior_sensitivity(case)
        assert json.loads(json.dumps(sens.to_dict(), allow_nan=False)) == sens.to_dict()
        assert sens.to_frame().shape == (99, 1 + len(sens.hypotheses))
        tornado = reliability_tornado(case)
        assert json.loads(json.dumps(tornado.to_dict(), allow_nan=False)) == tornado.to_dict()
        assert len(tornado.to_frame()) == len(tornado.parameters)


def test_cases_that_need_mcmc_are_refused():
    data = NORTH_KOREA.to_dict()
    data["evidence"][-2]["likelihood_ratio"] = {"lognormal": [0.4, 0.3]}
    case = validate_case(data)
    for explain in (what_would_change, prior_sensitivity, reliability_tornado):
        with pytest.raises(CaseError, match="PyMC engine"):
            explain(case)


def test_importing_explain_stays_light():
    code = (
        "import sys, credence.explain as e; e.what_would_change; e.without; "
        "print(' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert not loaded & {"pandas", "matplotlib", "pymc", "arviz", "scipy"}


# -- the prior --------------------------------------------------------------------------


def prior_mean(case: Case) -> float:
    prior = case.claim.prior
    return prior.mean if isinstance(prior, Beta) else prior


def usable_binary(case: Case) -> bool:
    p = assess(case).probability
    return 1e-6 < p < 1 - 1e-6 and 0 < prior_mean(case) < 1


def check_binary_prior(case: Case) -> None:
    p = assess(case).probability
    p0 = prior_mean(case)
    bayes_factor = (p / (1 - p)) / (p0 / (1 - p0))
    sens = prior_sensitivity(case)
    grid = np.linspace(0.01, 0.99, 99)
    odds = grid / (1 - grid) * bayes_factor
    np.testing.assert_allclose(sens.grid, grid, rtol=0, atol=1e-15)
    np.testing.assert_allclose(sens.posterior[:, 0], odds / (1 + odds), rtol=1e-9, atol=0)
    assert sens.hypotheses == ("true",)
    target = 0.5
    prior = sens.prior_needed(target)
    assert assess(with_prior(case, prior)).probability == pytest.approx(target, rel=1e-9)


def test_prior_sensitivity_of_the_north_korea_case_is_bayes_rule():
    check_binary_prior(NORTH_KOREA)


@SMALL
@given(cases().filter(lambda d: "claim" in d))
def test_prior_sensitivity_is_bayes_rule(data):
    case = case_of(data)
    assume(usable_binary(case))
    check_binary_prior(case)


def multi_prior(case: Case) -> np.ndarray:
    return np.array(
        [1 / len(case.hypotheses) if h.prior is None else h.prior for h in case.hypotheses]
    )


def usable_multi(case: Case) -> bool:
    post = assess(case).posterior_array
    return bool(np.all((post > 1e-6) & (post < 1 - 1e-6)) and np.all(multi_prior(case) > 0))


def check_multi_prior(case: Case) -> None:
    post = assess(case).posterior_array
    prior = multi_prior(case)
    grid = np.array([0.01, 0.2, 0.5, 0.93])
    sens = prior_sensitivity(case, grid=grid)
    for j, h in enumerate(case.hypothesis_ids):
        bayes_factor = (post[j] / (1 - post[j])) / (prior[j] / (1 - prior[j]))
        odds = grid / (1 - grid) * bayes_factor
        np.testing.assert_allclose(sens.posterior[:, j], odds / (1 + odds), rtol=1e-9, atol=0)
        # one grid point by the engine: the others' priors rescaled in proportion
        rest = np.delete(prior, j) / np.delete(prior, j).sum() * (1 - 0.2)
        priors = dict(zip(np.delete(case.hypothesis_ids, j), rest, strict=True)) | {h: 0.2}
        priors = {k: float(v) for k, v in priors.items()}
        priors[h] = 1 - sum(v for k, v in priors.items() if k != h)
        edited = with_prior(case, priors)
        assert posterior(edited)[j] == pytest.approx(sens.posterior[1, j], rel=1e-9)


def test_prior_sensitivity_with_several_hypotheses():
    check_multi_prior(ACH)


@SMALL
@given(cases().filter(lambda d: "hypotheses" in d))
def test_prior_sensitivity_with_several_hypotheses_on_random_cases(data):
    case = case_of(data)
    assume(usable_multi(case))
    check_multi_prior(case)


# -- the tornado ----------------------------------------------------------------------


@st.composite
def one_report_per_source(draw):
    n = draw(st.integers(1, 5))
    shape = st.floats(1.0, 30.0)
    sources, evidence = [], []
    for i in range(n):
        reliability = draw(
            st.one_of(
                st.sampled_from("ABCDE"),
                st.tuples(shape, shape).map(lambda ab: {"beta": list(ab)}),
            )
        )
        sources.append({"id": f"s{i}", "reliability": reliability})
        stance = draw(st.sampled_from(["supports", "refutes"]))
        evidence.append({"id": f"e{i}", "source": f"s{i}", "stance": stance})
    prior = draw(st.floats(0.05, 0.95))
    return {
        "credence": 1,
        "claim": {"statement": "c", "prior": prior},
        "sources": sources,
        "evidence": evidence,
    }


@SMALL
@given(one_report_per_source())
def test_the_tornado_brackets_the_posterior_of_one_coin_sources(data):
    # One report per source: the posterior is monotone in each accuracy and, the others
    # integrated out, equals the posterior at the accuracy's prior mean, which lies
    # between the 5th and 95th percentiles of a Beta(a >= 1, b >= 1).
    case = case_of(data)
    tornado = reliability_tornado(case)
    base = assess(case).probability
    assert tornado.base == pytest.approx(base, rel=1e-12)
    assert len(tornado.parameters) == len(case.sources)
    lo = np.minimum(tornado.posterior_low, tornado.posterior_high)
    hi = np.maximum(tornado.posterior_low, tornado.posterior_high)
    assert np.all(lo <= base + 1e-12) and np.all(base <= hi + 1e-12)
    check_tornado(case, tornado)


def check_tornado(case: Case, tornado) -> None:
    from scipy.special import betainc

    swing = tornado.swing
    assert np.all(np.diff(swing) <= 1e-15)
    t = case.hypothesis_ids.index(tornado.hypothesis)
    for i, name in enumerate(tornado.parameters):
        source_id, part = name.rsplit(".", 1)
        reliability = next(s for s in case.sources if s.id == source_id).reliability
        if isinstance(reliability, TwoCoin):
            prior = getattr(reliability, part)
        else:
            prior = ADMIRALTY.get(getattr(reliability, "admiralty", reliability), reliability)
        assert betainc(prior.a, prior.b, tornado.low[i]) == pytest.approx(0.05, rel=1e-6)
        assert betainc(prior.a, prior.b, tornado.high[i]) == pytest.approx(0.95, rel=1e-6)
        for end, value in (
            (tornado.low[i], tornado.posterior_low[i]),
            (tornado.high[i], tornado.posterior_high[i]),
        ):
            if isinstance(reliability, TwoCoin):
                parts = {
                    "sensitivity": reliability.sensitivity,
                    "false_positive_rate": reliability.false_positive_rate,
                } | {part: float(end)}
                edited = with_reliability(case, source_id, TwoCoin(**parts))
            else:
                edited = with_reliability(case, source_id, float(end))
            assert posterior(edited)[t] == pytest.approx(value, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("case", EXAMPLE_CASES, ids=["north-korea", "ach"])
def test_the_tornado_fixes_each_reliability_at_its_prior_percentiles(case):
    tornado = reliability_tornado(case)
    # every Beta-valued parameter, and only those
    assert "nis.accuracy" in tornado.parameters
    assert not any(p.startswith("treaty") for p in tornado.parameters)
    check_tornado(case, tornado)
