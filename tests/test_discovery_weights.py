"""Each report's weight toward its claim's most probable label, against Bayes' rule by hand."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from credence.discovery import TruthDiscovery, estimator, weights
from credence.discovery.simulate import copy_cascades

BACKGROUND = copy_cascades(150, 12, seed=5).reports[["claim", "source", "label"]]


def _with_claim(labels, order):
    """The background table and claim "x": a report of each label by a source seen only there,
    dated so that the reports' time order is ``order`` (the rows stay in the order given)."""
    n = len(labels)
    dates = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.argsort(order), unit="h")
    claim = pd.DataFrame({
        "claim": "x",
        "source": [f"fresh-{i}" for i in range(n)],
        "label": labels,
        "date": dates.strftime("%Y-%m-%dT%H:%M:%SZ"),
    })
    background = BACKGROUND.assign(date="2024-01-01T00:00:00Z")
    return pd.concat([background, claim], ignore_index=True)


@settings(max_examples=40, deadline=None)
@given(
    labels=st.lists(st.integers(0, 1), min_size=1, max_size=6),
    seed=st.integers(0, 2**32 - 1),
    reliability=st.sampled_from([(2.0, 1.0), (3.0, 5.0), (1e6, 1e6)]),
    copy=st.sampled_from([(1.0, 1.0), (2.0, 6.0), (1e6, 1.0)]),
    ranks_at_once=st.sampled_from([weights.RANKS_AT_ONCE, 1]),
)
def test_weights_are_bayes_rule_in_time_order(labels, seed, reliability, copy, ranks_at_once):
    # (ranks_at_once 1: every claim summed claim by claim, as a long claim is)
    default, weights.RANKS_AT_ONCE = weights.RANKS_AT_ONCE, ranks_at_once
    try:
        _check_bayes_rule(labels, seed, reliability, copy)
    finally:
        weights.RANKS_AT_ONCE = default


def _check_bayes_rule(labels, seed, reliability, copy):
    # Sources seen only on claim x keep their fixed priors once the claim's own counts
    # are out, so each report's probability is DESIGN.md's group semantics with
    # accuracy r and copy propensity c: the first report P(l | t), each later one
    # c m + (1 - c) P(l | t), m the share of earlier reports with its label.
    order = np.random.default_rng(seed).permutation(len(labels))
    table = _with_claim(labels, order)
    model = TruthDiscovery("one-coin", copying=True, pooling=False, reliability_prior=reliability,
                           copy_prior=copy, report_weights=True).fit(table)
    r = reliability[0] / sum(reliability)
    c = copy[0] / sum(copy)
    posterior = model.predict_proba().loc["x"].to_numpy()
    verdict = int(np.argmax(posterior))
    timed = [labels[i] for i in order]  # the reports in time order

    def share(reports, n):  # m: the fraction of the earlier reports with report n's label
        return np.mean([earlier == reports[n] for earlier in reports[:n]]) if n else 0.0

    def factors(reports):
        """P(report | t) of each report, in time order (t = 0, 1)."""
        out = []
        for n, label in enumerate(reports):
            own = np.array([r if label == t else 1.0 - r for t in (0, 1)])
            out.append(c * share(reports, n) + (1.0 - c) * own if n else own)
        return np.array(out).reshape(-1, 2)

    def log10_odds(reports):  # of the verdict against the other label, less the prior's
        f = factors(reports)
        return np.log10(f[:, verdict]).sum() - np.log10(f[:, 1 - verdict]).sum()

    f = factors(timed)
    expected_bf = np.log10(f[:, verdict] / f[:, 1 - verdict])
    expected_copy = [float(posterior @ (c * share(timed, n) / f[n])) if n else 0.0
                     for n in range(len(timed))]
    expected_out = [log10_odds(timed) - log10_odds(timed[:n] + timed[n + 1:])
                    for n in range(len(timed))]
    rows = model.report_weights_.query("claim == 'x'")
    assert rows["order"].tolist() == list(range(1, len(labels) + 1))
    assert rows["label"].tolist() == timed
    assert rows["source"].tolist() == [f"fresh-{i}" for i in order]
    assert (rows["claim_label"] == model.predict()["x"]).all()
    np.testing.assert_allclose(rows["log10_bf_in_order"], expected_bf, atol=1e-9)
    np.testing.assert_allclose(rows["copy_probability"], expected_copy, atol=1e-9)
    np.testing.assert_allclose(rows["log10_bf_leave_one_out"], expected_out, atol=1e-9)
    assert rows["probability_after"].iloc[-1] == pytest.approx(posterior[verdict], abs=1e-12)
    if reliability == (1e6, 1e6):  # a source right half the time says nothing
        assert np.abs(rows["log10_bf_in_order"]).max() < 1e-5
    if copy == (1e6, 1.0):  # a report that can only be a copy of an agreeing one adds nothing
        agrees = [n > 0 and all(e == lab for e in timed[:n]) for n, lab in enumerate(timed)]
        assert np.all(np.abs(rows["log10_bf_in_order"].to_numpy()[agrees]) < 1e-5)
        if len(timed) > 1 and len(set(timed)) == 1:  # one of many alike, left out: nothing
            assert np.all(np.abs(rows["log10_bf_leave_one_out"].to_numpy()) < 1e-5)


TABLES = {
    "two labels": copy_cascades(40, 8, seed=2).reports[["claim", "source", "label"]],
    "three labels": pd.DataFrame({
        "claim": np.repeat([f"c{i}" for i in range(12)], 4),
        "source": np.tile(["a", "b", "c", "d"], 12),
        "label": np.random.default_rng(3).choice(["x", "y", "z"], 48),
    }),
}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=st.sampled_from(sorted(TABLES)),
    model=st.sampled_from([None, "one-coin", "two-coin", "dawid-skene"]),
    copying=st.sampled_from([None, True, False]),
    shared=st.sampled_from([False, True, "label"]),
    stances=st.booleans(),
    per_claim=st.booleans(),
)
def test_a_claims_weights_end_at_its_posterior(table, model, copying, shared, stances, per_claim):
    reports = TABLES[table]
    assume(not (model == "two-coin" and table == "three labels"))
    assume(not per_claim or (model in (None, "one-coin") and shared != "label"))
    gold = None
    options = {}
    if shared:
        gold = reports.groupby("claim")["label"].first().iloc[::3]
        options["shared_error"] = shared
    if per_claim:
        options["candidates"] = "per-claim"
    elif stances and table == "two labels":
        reports = reports.assign(label=reports["label"].map({0: "against", 1: "for"}))
        options["claim_labels"] = ["against", "for"]
        gold = None if gold is None else gold.map({0: "against", 1: "for"})
    fitted = TruthDiscovery(model, copying=copying, report_weights=True, **options).fit(
        reports, gold)
    weighed = fitted.report_weights_
    assert len(weighed) == len(reports)
    table_ = fitted.predict_table().set_index("claim")
    last = weighed.groupby("claim").tail(1).set_index("claim")
    assert (last["claim_label"] == table_.loc[last.index, "label"]).all()
    # a claim whose label was given is certain; its weights are what its reports say
    free = last.loc[~last.index.isin([] if gold is None else gold.index)]
    np.testing.assert_allclose(free["probability_after"], table_.loc[free.index, "probability"],
                               atol=1e-9)
    counts = weighed.groupby("claim")["order"].agg(["min", "max", "size"])
    assert (counts["min"] == 1).all() and (counts["max"] == counts["size"]).all()
    assert not weighed["log10_bf_in_order"].isna().any()
    alone = weighed.groupby("claim")["order"].transform("size") == 1
    both = weighed[["log10_bf_in_order", "log10_bf_leave_one_out"]].to_numpy()
    np.testing.assert_allclose(both[alone, 0], both[alone, 1], atol=1e-9)
    if not (fitted.copying_ or fitted.shared_error_ or per_claim) and table == "two labels":
        # two labels, independent reports: log odds add up, in any order
        np.testing.assert_allclose(both[:, 0], both[:, 1], atol=1e-9)
    if fitted.copying_:
        copies = weighed["copy_probability"]
        assert ((copies >= 0) & (copies <= 1)).all()
        assert (copies[weighed["order"] == 1] == 0).all()
    else:
        assert "copy_probability" not in weighed


def test_blocks_on_threads_weigh_as_one_block(monkeypatch):
    reports = copy_cascades(300, 20, seed=4).reports[["claim", "source", "label"]]
    whole = TruthDiscovery("one-coin", copying=True, report_weights=True).fit(reports)
    monkeypatch.setattr(estimator, "BLOCK_REPORTS", 200)
    split = TruthDiscovery("one-coin", copying=True, report_weights=True).fit(reports)
    pd.testing.assert_frame_equal(whole.report_weights_, split.report_weights_, atol=1e-8)


def test_report_weights_is_a_flag():
    with pytest.raises(ValueError, match="report_weights must be True or False, not 'yes'"):
        TruthDiscovery(report_weights="yes").fit(BACKGROUND)
