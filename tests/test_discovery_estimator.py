"""The estimator contract, the CLI round trip, and the bridge to case files."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credence.cli import main
from credence.discovery import TruthDiscovery, source_reliabilities, sources_yaml
from credence.io import load_case

REPORTS = pd.DataFrame(
    {
        "claim": ["c1", "c1", "c1", "c2", "c2", "c2", "c3", "c3", "c3", "c4", "c4"],
        "source": ["a", "b", "gov", "a", "b", "gov", "a", "b", "gov", "a", "gov"],
        "label": [1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 1],
    }
)


def test_constructor_stores_hyperparameters_only():
    model = TruthDiscovery("two-coin", max_iter=7)
    assert model.get_params()["model"] == "two-coin"
    assert model.get_params()["max_iter"] == 7
    assert not [k for k in vars(model) if k.endswith("_")]
    with pytest.raises(RuntimeError, match="not fitted"):
        model.predict()


def test_fit_returns_self_and_fitted_attributes_end_in_underscore():
    model = TruthDiscovery("one-coin")
    assert model.fit(REPORTS) is model
    for name in (
        "claims_",
        "sources_",
        "classes_",
        "claim_posterior_",
        "source_params_",
        "class_params_",
        "class_prior_",
        "reliability_",
        "history_",
        "n_iter_",
        "converged_",
        "elbo_",
    ):
        assert hasattr(model, name)
    proba = model.predict_proba()
    assert proba.to_numpy().sum(axis=1) == pytest.approx(1.0)
    assert (model.predict() == proba.idxmax(axis=1)).all()
    assert model.source_params_.shape == (3, 2)
    assert model.class_prior_.sum() == pytest.approx(1.0)


def test_sklearn_clone_and_set_params():
    from sklearn import base

    model = TruthDiscovery("dawid-skene", tol=1e-7)
    clone = base.clone(model)
    assert clone.get_params() == model.get_params()
    assert clone.set_params(model="one-coin") is clone
    with pytest.raises(TypeError, match="unknown option 'nope'"):
        clone.set_params(nope=1)


def test_predict_new_reports_uses_the_track_record():
    model = TruthDiscovery("one-coin", tol=1e-9, pooling=False, copying=False).fit(REPORTS)
    new = pd.DataFrame({"claim": ["n1", "n2"], "source": ["a", "stranger"], "label": [1, 1]})
    proba = model.predict_proba(new)
    pi = model.class_params_ / model.class_params_.sum()

    def expected(a, b):
        # P(T = 1 | one report of 1), averaging P(T, report | r, pi) over q(r) = Beta(a, b)
        # and q(pi): E[pi_1 r] / (E[pi_1 r] + E[pi_0 (1 - r)]), the fit's posteriors being
        # independent
        r = a / (a + b)
        return pi[1] * r / (pi[1] * r + pi[0] * (1 - r))

    # a's fitted record, and the stranger's prior Beta(2, 1)
    a, b = model.source_params_[model.sources_.get_loc("a")]
    assert proba.loc["n1", 1] == pytest.approx(expected(a, b), rel=1e-12)
    assert proba.loc["n2", 1] == pytest.approx(expected(2.0, 1.0), rel=1e-12)


def test_cli_round_trip_and_case_file(tmp_path, capsys):
    reports = tmp_path / "reports.csv"
    REPORTS.to_csv(reports, index=False)
    claims = tmp_path / "claims.csv"
    sources = tmp_path / "sources.yaml"
    assert (
        main(
            [
                "discover",
                str(reports),
                "-o",
                str(claims),
                "--model",
                "two-coin",
                "--sources-out",
                str(sources),
            ]
        )
        == 0
    )
    table = pd.read_csv(claims, dtype=str)
    assert table.columns.tolist() == ["claim", "label", "probability"]
    assert table["claim"].tolist() == ["c1", "c2", "c3", "c4"]
    truth = tmp_path / "truth.csv"
    truth.write_text("claim,label\nc1,1\nc2,0\nc3,1\nc4,0\n")
    capsys.readouterr()
    assert main(["evaluate", str(claims), "--truth", str(truth), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["n"] == 4
    assert set(scores) >= {"brier", "log_loss", "ece", "accuracy"}
    # the learned sources drop into a case file
    case = tmp_path / "case.yaml"
    case.write_text(
        "credence: 1\nclaim: {statement: a new claim}\n"
        + sources.read_text()
        + "evidence:\n  - {id: e1, source: a, stance: supports}\n"
        "  - {id: e2, source: gov, stance: supports}\n"
    )
    loaded = load_case(case)
    assert [s.id for s in loaded.sources] == ["a", "b", "gov"]
    assert loaded.sources[2].reliability.sensitivity.mean > 0.5


def test_bridge_objects_round_trip():
    # fixed priors: the posterior as fitted (pooled, see test_discovery_hyperposterior)
    model = TruthDiscovery("one-coin", pooling=False).fit(REPORTS)
    sources = source_reliabilities(model, kind="media")
    np.testing.assert_allclose(
        [s.reliability.beta for s in sources], np.round(model.source_params_, 3)
    )
    assert all(s.kind == "media" for s in sources)
    assert "beta:" in sources_yaml(model)


def test_evaluate_full_distribution(tmp_path, capsys):
    predictions = tmp_path / "p.csv"
    predictions.write_text("claim,label,probability\nc1,x,0.7\nc1,y,0.3\nc2,x,0.4\nc2,y,0.6\n")
    truth = tmp_path / "t.csv"
    truth.write_text("claim,label\nc1,x\nc2,x\n")
    assert main(["evaluate", str(predictions), "--truth", str(truth), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["brier"] == pytest.approx(((0.3**2 + 0.3**2) + (0.6**2 + 0.6**2)) / 2)
    assert scores["log_loss"] == pytest.approx(-(np.log(0.7) + np.log(0.4)) / 2)
    assert scores["accuracy"] == 0.5


def test_blocks_of_claims_give_the_one_block_answer():
    # a large table is stepped in blocks of whole claims on threads; the counts are
    # sums over reports, so any split gives the same fit up to rounding
    import credence.discovery.estimator as estimator
    from credence.discovery.simulate import copy_cascades

    sim = copy_cascades(600, 40, seed=5, heavy_tail=True)
    reports = sim.reports[["claim", "source", "label"]]
    one = TruthDiscovery("one-coin").fit(reports)
    original = estimator.BLOCK_REPORTS
    estimator.BLOCK_REPORTS = 300
    try:
        split = estimator.Blocks(estimator.encode_reports(reports), True)
        assert len(split.blocks) > 4
        many = TruthDiscovery("one-coin").fit(reports)
    finally:
        estimator.BLOCK_REPORTS = original
    assert many.choice_ == one.choice_
    np.testing.assert_allclose(many.claim_posterior_, one.claim_posterior_, atol=1e-8)
    np.testing.assert_allclose(many.source_params_, one.source_params_, rtol=1e-8)


def test_discover_output_with_a_shared_error_is_read_back_by_evaluate(tmp_path, capsys):
    # Marginals of the joint (true, apparent) posterior are sums of weights; rounding
    # once wrote probabilities of 1.0000000000000002, which evaluate rightly refused.
    from credence.discovery.simulate import copy_cascades

    sim = copy_cascades(600, 40, copy=(1.0, 9.0), fidelity=0.8, seed=3)
    reports = tmp_path / "reports.csv"
    sim.reports[["claim", "source", "label"]].to_csv(reports, index=False)
    known = tmp_path / "known.csv"
    sim.truth.iloc[::2].rename_axis("claim").rename("label").to_csv(known)
    every = tmp_path / "every.csv"
    sim.truth.rename_axis("claim").rename("label").to_csv(every)
    claims = tmp_path / "claims.csv"
    argv = ["discover", str(reports), "--truth", str(known), "--shared-error", "yes", "-o",
            str(claims)]
    assert main(argv) == 0
    probability = pd.read_csv(claims)["probability"]
    assert probability.between(0.0, 1.0).all()
    summary = capsys.readouterr().err
    assert "shared error: the reports on a claim tell one story, true for" in summary
    assert "learned from --truth" in summary
    assert main(["evaluate", str(claims), "--truth", str(every), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 600


def test_the_learned_fidelity_is_said_beside_the_exported_sources():
    from credence.discovery.simulate import copy_cascades

    sim = copy_cascades(600, 40, copy=(1.0, 9.0), fidelity=0.8, seed=3)
    reports = sim.reports[["claim", "source", "label"]]
    model = TruthDiscovery("one-coin", copying=False, shared_error=True).fit(
        reports, sim.truth.iloc[::2]
    )
    a, b = model.fidelity_params_
    assert f"true for {a / (a + b):.0%} of the claims" in sources_yaml(model)
    plain = TruthDiscovery("one-coin", copying=False, shared_error=False).fit(reports)
    assert "story" not in sources_yaml(plain)


def test_a_story_channel_by_label_is_said_label_by_label(tmp_path, capsys):
    from credence.discovery.simulate import copy_cascades

    sim = copy_cascades(600, 40, copy=(1.0, 9.0), fidelity=0.8, seed=3)
    reports = sim.reports[["claim", "source", "label"]]
    known = sim.truth.iloc[::2]
    model = TruthDiscovery("one-coin", copying=False, shared_error="label").fit(reports, known)
    rows = model.fidelity_params_ / model.fidelity_params_.sum(axis=1, keepdims=True)
    assert rows.shape == (2, 2)
    told = ", ".join(
        f"{rows[t, t]:.0%} of those labelled '{label}'" for t, label in enumerate(model.classes_)
    )
    assert f"true for {told}" in sources_yaml(model)
    path = tmp_path / "reports.csv"
    reports.to_csv(path, index=False)
    truth = tmp_path / "known.csv"
    known.rename_axis("claim").rename("label").to_csv(truth)
    argv = ["discover", str(path), "--truth", str(truth), "--shared-error", "label",
            "--model", "one-coin", "--copying", "no", "-o", str(tmp_path / "claims.csv")]
    assert main(argv) == 0
    summary = capsys.readouterr().err
    assert f"tell one story, true for {told} (the fidelity, learned from --truth)" in summary
    assert "shared error by label" in summary


SHARED = "shared_error must be True, False, 'label' or None, not "


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"shared_error": "banana"}, SHARED + "'banana'"),
        ({"shared_error": 1}, SHARED + "1"),
        (
            {"shared_error": "label", "candidates": "per-claim"},
            "shared_error='label' needs candidates='global'",
        ),
        ({"copying": "yes"}, "copying must be True, False or None, not 'yes'"),
        ({"pooling": None}, "pooling must be True or False, not None"),
    ],
)
def test_bad_options_are_refused_by_name(params, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        TruthDiscovery(**params).fit(REPORTS)


@settings(max_examples=150, deadline=None)
@given(
    params=st.fixed_dictionaries({}, optional={
        "model": st.sampled_from([None, "one-coin", "two-coin", "dawid-skene", "glad", 3]),
        "candidates": st.sampled_from(["global", "per-claim", "all", None]),
        "pooling": st.sampled_from([True, False, None, "yes"]),
        "copying": st.sampled_from([True, False, None, 1.5]),
        "shared_error": st.sampled_from([True, False, None, "label", "by label"]),
        "claim_labels": st.sampled_from([None, [0, 1], ["x", "y"], [1]]),
        "max_iter": st.sampled_from([1, 5, 0, -1, 2.5, 10**9]),
        "tol": st.sampled_from([0.0, 1e-6, 1.0, -1.0, float("nan")]),
        "reliability_prior": st.sampled_from([(2.0, 1.0), (0.0, 1.0), (1.0,), "ab"]),
        "fidelity_prior": st.sampled_from([(2.0, 1.0), (1e-9, 1e9), (-1.0, 1.0)]),
        "class_prior": st.sampled_from([1.0, 0.0, float("inf")]),
        "report_weights": st.sampled_from([True, False, None, "yes"]),
    }),
    gold=st.booleans(),
)
def test_any_options_fit_or_are_refused_with_a_value_or_type_error(params, gold):
    # An attacker's mix of options, valid and not: a fit, or a ValueError / TypeError
    # (a CaseError is one) that names what is wrong; nothing else escapes.
    y = pd.Series({"c1": 1, "c2": 0}) if gold else None
    try:
        model = TruthDiscovery(**params).fit(REPORTS, y)
    except (ValueError, TypeError) as err:
        assert str(err)
    else:
        assert np.isfinite(model.claim_posterior_).all()
        if model.report_weights:
            assert len(model.report_weights_) == len(REPORTS)
