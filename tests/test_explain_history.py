"""as_of and timeline: the case cut at a date, and the verdict through time.

The band checks are statistical. The robustness band is the central ``level``
interval of n draws; the mass of the true robustness distribution between two
sample quantiles has standard deviation about sqrt(level (1 - level) / n), and
a fresh set of m draws adds sqrt(level (1 - level) / m). A check may fail by
chance with probability TEST_FAILURE_RATE in all, shared among the checks
(z from it).
"""

from __future__ import annotations

import copy
import datetime as dt
import json

import numpy as np
import pytest
from conftest import EXAMPLES
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats
from strategies import cases

from credence import CaseError, assess
from credence.case import validate_case
from credence.explain.history import as_of, timeline
from credence.io import case_from_dict, load_case

NK = EXAMPLES / "north-korea-troops.yaml"
ACH = EXAMPLES / "competing_hypotheses.yaml"

TEST_FAILURE_RATE = 1e-4
#: Band-mass checks in this file: the 7 dates of the NK timeline, and the prior's band.
N_CHECKS = 8
Z = float(stats.norm.isf(TEST_FAILURE_RATE / (2 * N_CHECKS)))


# -- as_of ---------------------------------------------------------------------------------


def expected_kept(data, cut):
    """Ids kept at ``cut``, from the documented rule, by a fixed point."""
    last = None
    published = {}
    for item in data["evidence"]:
        last = item.get("date", last)
        published[item["id"]] = last
    kept = {i for i, d in published.items() if d is None or d <= cut}
    changed = True
    while changed:
        changed = False
        for item in data["evidence"]:
            if item["id"] in kept and not set(item.get("derived_from", ())) <= kept:
                kept.discard(item["id"])
                changed = True
    return kept


DAYS = [dt.date(2024, 10, d) for d in range(10, 16)]


@settings(max_examples=50, deadline=None)
@given(cases(), st.data())
def test_as_of_keeps_exactly_the_published_items_and_a_valid_case(data, draw):
    for item in data["evidence"]:
        day = draw.draw(st.one_of(st.none(), st.sampled_from(DAYS)))
        if day is not None:
            item["date"] = day.isoformat()
    try:
        case = case_from_dict(data)
    except CaseError:
        assume(False)
    before = copy.deepcopy(case.to_dict())
    cut = draw.draw(st.sampled_from(DAYS))
    cut_case = as_of(case, cut)
    kept = [e.id for e in cut_case.evidence]
    assert set(kept) == expected_kept(data, cut.isoformat())
    assert kept == [e.id for e in case.evidence if e.id in set(kept)]  # file order
    validate_case(cut_case.to_dict())  # provenance and every reference still valid
    assert case.to_dict() == before
    assert as_of(case, cut.isoformat()).to_dict() == cut_case.to_dict()


def test_as_of_on_the_example():
    case = load_case(NK)
    assert [e.id for e in as_of(case, "2024-10-18").evidence] == [
        "zelensky-oct13",
        "zelensky-oct17",
        "nis-oct18",
        "peskov-oct18",
        "treaty",
    ]
    assert as_of(case, "2024-10-12").evidence == []
    assert as_of(case, dt.date(2030, 1, 1)).to_dict() == case.to_dict()


def test_a_copy_dated_before_its_parent_waits_for_it():
    data = {
        "credence": 1,
        "claim": {"statement": "c"},
        "sources": [{"id": "s", "reliability": 0.8}, {"id": "t", "reliability": 0.6}],
        "evidence": [
            {"id": "early", "source": "s", "stance": "supports"},  # undated, first: always
            {"id": "copy", "source": "t", "stance": "supports", "date": "2024-10-10",
             "derived_from": ["parent"], "copy_probability": 0.5},
            {"id": "parent", "source": "s", "stance": "supports", "date": "2024-10-12"},
            {"id": "after", "source": "t", "stance": "refutes"},  # undated: as "parent"
        ],
    }  # fmt: skip
    ids = [e.id for e in as_of(data, "2024-10-11").evidence]
    assert ids == ["early"]
    ids = [e.id for e in as_of(data, "2024-10-12").evidence]
    assert ids == ["early", "copy", "parent", "after"]


@pytest.mark.parametrize("bad", ["2024-13-01", "2024-10-1", "18/10/2024", "2024-W42-1", ""])
def test_a_bad_date_says_the_form(bad):
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        as_of(load_case(NK), bad)


def test_a_date_of_the_wrong_type_is_refused():
    for bad in (20241018, dt.datetime(2024, 10, 18, 12, 0), None):
        with pytest.raises(TypeError, match="YYYY-MM-DD"):
            as_of(load_case(NK), bad)


# -- timeline -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nk_timeline():
    return timeline(NK, seed=11, draws=4000)


def test_timeline_points_are_the_cut_cases_assessed(nk_timeline):
    case = load_case(NK)
    t = nk_timeline
    assert t.dates == tuple(sorted({e.date for e in case.evidence}))
    for d, p in zip(t.dates, t.posterior, strict=True):
        np.testing.assert_allclose(p, assess(as_of(case, d)).posterior_array, rtol=0, atol=1e-12)
    np.testing.assert_allclose(t.posterior[-1], assess(case).posterior_array, rtol=0, atol=1e-12)
    np.testing.assert_allclose(t.prior, [0.2, 0.8], rtol=0, atol=1e-12)  # Beta(2, 8) mean


@pytest.mark.parametrize("path", [NK, ACH])
def test_timeline_follows_the_ledger_path(path):
    # Independent of as_of: the ledger's path is the posterior after each item in
    # date order, so the point at d is the path after the last item dated <= d.
    case = load_case(path)
    full = assess(case)
    dates = {e.id: e.date for e in case.evidence}
    ledger_dates = [dates[i] for i in full.evidence_ids]
    t = timeline(case, seed=1, draws=200)
    for d, p in zip(t.dates, t.posterior, strict=True):
        last = max(i for i, x in enumerate(ledger_dates) if x <= d)
        np.testing.assert_allclose(p, full.path[last], rtol=0, atol=1e-12)
    assert sum(len(ids) for ids in t.evidence) == len(case.evidence)


def test_bands_are_intervals_of_probabilities(nk_timeline):
    t = nk_timeline
    for lo, hi in ((t.lo, t.hi), (t.prior_lo, t.prior_hi)):
        assert np.all(lo <= hi)
        assert np.all((lo >= 0) & (hi <= 1))


def test_band_mass_is_the_level(nk_timeline):
    t = nk_timeline
    n, m = 4000, 20000
    sd = np.sqrt(t.level * (1 - t.level) * (1 / n + 1 / m))
    case = load_case(NK)
    for d, lo, hi in zip(t.dates, t.lo[:, 0], t.hi[:, 0], strict=True):
        fresh = assess(as_of(case, d), seed=12345, draws=m).draws[:, 0]
        inside = np.mean((fresh >= lo) & (fresh <= hi))
        assert abs(inside - t.level) <= Z * sd, (d, inside)
    # The prior's band: with no evidence, P(true | phi) is the Beta(2, 8) prior itself.
    mass = stats.beta.cdf(t.prior_hi[0], 2, 8) - stats.beta.cdf(t.prior_lo[0], 2, 8)
    assert abs(mass - t.level) <= Z * np.sqrt(t.level * (1 - t.level) / n)


def test_frame_and_dict(nk_timeline):
    t = nk_timeline
    frame = t.to_frame()
    assert len(frame) == (len(t.dates) + 1) * len(t.hypotheses)
    assert frame["date"].isna().sum() == len(t.hypotheses)
    out = json.loads(json.dumps(t.to_dict()))
    assert [p["date"] for p in out["dates"]] == [d.isoformat() for d in t.dates]
    assert out["dates"][-1]["posterior"]["true"] == pytest.approx(t.posterior[-1, 0], abs=0)


def test_undated_case_has_only_the_prior():
    data = {
        "credence": 1,
        "hypotheses": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
        "sources": [{"id": "s", "reliability": 0.7}],
        "evidence": [{"id": "e", "source": "s", "supports": ["a"]}],
    }
    t = timeline(data, seed=0, draws=100)
    assert t.dates == () and t.posterior.shape == (0, 3)
    np.testing.assert_allclose(t.prior, [1 / 3] * 3, atol=1e-15)
    np.testing.assert_allclose(t.prior_lo, t.prior_hi)  # fixed priors: no spread


def test_no_progress_bar_off_a_terminal(capsys):
    timeline(ACH, seed=0, draws=100)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
