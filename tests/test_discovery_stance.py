"""Stance channels (report labels other than claim labels) and model choice."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln

from credence.cli import main
from credence.discovery import TruthDiscovery, encode_reports, source_reliabilities

FIXED = {"pooling": False, "copying": False}
STANCES = ("against", "for", "observing")


def _stances(seed, n_claims, n_sources, per, channel):
    """Reports drawn from one stance channel P(stance | claim), rows false, true."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n_claims)
    claim = np.repeat(np.arange(n_claims), per)
    source = np.concatenate([rng.choice(n_sources, per, replace=False) for _ in range(n_claims)])
    u = rng.random(claim.size)[:, None]
    stance = (u > np.cumsum(channel[truth[claim]], axis=1)).sum(axis=1)
    df = pd.DataFrame({"claim": claim, "source": source, "label": np.array(STANCES)[stance]})
    gold = pd.Series(np.where(truth == 1, "true", "false"), index=np.arange(n_claims))
    return df, gold


def test_claim_labels_come_from_the_option_or_a_gold_file_with_its_own_words():
    df, gold = _stances(0, 10, 3, 2, np.array([[0.6, 0.1, 0.3], [0.1, 0.6, 0.3]]))
    coded = encode_reports(df, gold=gold.iloc[:4])
    assert coded.classes.tolist() == ["false", "true"]
    assert coded.report_labels.tolist() == list(STANCES)
    assert coded.label_match.tolist() == [-1, -1, -1]  # no stance is spelled as a claim label
    named = encode_reports(df.replace({"for": "true", "against": "false"}),
                           claim_labels=["false", "true"])
    assert named.label_match.tolist() == [0, -1, 1]  # false, observing, true
    assert encode_reports(df).report_labels is None  # no gold, no option: one label set


def _exact(rows, claims, alpha):
    """P(T_i = true | reports) with Dirichlet(alpha[t]) rows per source, by enumeration."""
    sources = sorted({s for _, s, _ in rows})
    weights = {}
    for truth in itertools.product((0, 1), repeat=len(claims)):
        t = dict(zip(claims, truth, strict=True))
        log_w = 0.0
        for src, row in itertools.product(sources, (0, 1)):
            counts = np.array([sum(1 for c, s, lab in rows if s == src and t[c] == row
                                   and lab == k) for k in range(3)], float)
            log_w += _log_beta(alpha[row] + counts) - _log_beta(alpha[row])
        weights[truth] = np.exp(log_w)
    total = sum(weights.values())
    return {c: sum(w for tr, w in weights.items() if tr[i]) / total for i, c in enumerate(claims)}


def _log_beta(a):
    # multivariate Beta by repeated betaln: B(a1, a2, a3) = B(a1, a2) B(a1 + a2, a3)
    return betaln(a[0], a[1]) + betaln(a[0] + a[1], a[2])


def test_stance_fit_is_close_to_the_exact_posterior():
    # 10 claims, 3 sources with ~27 reports each; the class prior is pinned at 1/2.
    channel = np.array([[0.7, 0.1, 0.2], [0.1, 0.7, 0.2]])
    df, gold = _stances(3, 10, 3, 3, channel)
    df["label"] = df["label"].replace({"for": "true", "against": "false"})
    model = TruthDiscovery("dawid-skene", claim_labels=["false", "true"], class_prior=1e9,
                           confusion_prior=(2.0, 1.0), **FIXED).fit(df)
    # report labels sorted: false, observing, true; prior rows favour their own label
    alpha = np.array([[2.0, 1.0, 1.0], [1.0, 1.0, 2.0]])
    rows = list(df.itertuples(index=False, name=None))
    codes = {"false": 0, "observing": 1, "true": 2}
    exact = _exact([(c, s, codes[lab]) for c, s, lab in rows], sorted(df["claim"].unique()), alpha)
    # Mean field with 10 reports per source ignores the correlation between a source's
    # channel and the claims it reported on: measured here, 0.09 on average and 0.15 at
    # most. Deterministic on both sides, so the bounds are margins, not error rates.
    fitted = model.predict_proba().loc[list(exact), "true"].to_numpy()
    diff = np.abs(fitted - np.array(list(exact.values())))
    assert diff.mean() < 0.12
    assert diff.max() < 0.2


def test_pinned_stance_channel_is_bayes_rule():
    k = 1e9
    rows = [("x", "a", "true"), ("x", "b", "observing"), ("y", "a", "observing"),
            ("y", "b", "false"), ("z", "a", "false")]
    df = pd.DataFrame(rows, columns=["claim", "source", "label"])
    model = TruthDiscovery("dawid-skene", claim_labels=["false", "true"], class_prior=k,
                           confusion_prior=(0.7 * k, 0.15 * k), **FIXED).fit(df)
    channel = {0: {"false": 0.7, "observing": 0.15, "true": 0.15},
               1: {"false": 0.15, "observing": 0.15, "true": 0.7}}
    for claim in "xyz":
        like = {t: np.prod([channel[t][lab] for c, _, lab in rows if c == claim]) for t in (0, 1)}
        expected = like[1] / (like[0] + like[1])
        assert model.predict_proba().loc[claim, "true"] == pytest.approx(expected, abs=1e-6)


def test_a_neutral_stance_carries_what_the_record_says_it_carries():
    # "observing" is five times as likely about false claims: it is evidence of falsity.
    channel = np.array([[0.35, 0.15, 0.5], [0.1, 0.8, 0.1]])
    df, gold = _stances(1, 1200, 40, 4, channel)
    train = gold.iloc[:600]
    model = TruthDiscovery(copying=False).fit(df, train)
    assert model.model_ == "dawid-skene"
    table = model.reliability_
    assert table["P(observing | false)"].mean() > 3 * table["P(observing | true)"].mean()
    quiet = pd.DataFrame({"claim": ["q"], "source": [0], "label": ["observing"]})
    prior_true = model.class_prior_[1]
    assert model.predict_proba(quiet).loc["q", "true"] < prior_true
    held = gold.iloc[600:]
    predicted = model.predict().loc[held.index]
    assert (predicted == held).mean() > 0.85


def test_stance_channels_export_as_two_coin_by_the_aggregation_property():
    channel = np.array([[0.6, 0.1, 0.3], [0.1, 0.6, 0.3]])
    df, gold = _stances(2, 300, 8, 3, channel)
    df["label"] = df["label"].replace({"for": "true", "against": "false"})
    model = TruthDiscovery(
        "dawid-skene", claim_labels=["false", "true"], pooling=False).fit(df, gold)
    sources = source_reliabilities(model, digits=6)
    alpha = model.source_params_[0]  # rows false, true; columns false, observing, true
    sens = sources[0].reliability.sensitivity.beta
    np.testing.assert_allclose(sens, [alpha[1, 2], alpha[1, 0]], rtol=1e-5)
    # Given "supports or refutes", P(supports | true) = theta_t / (theta_t + theta_f) with
    # theta ~ Dirichlet(alpha[1]): Monte Carlo against Beta(alpha_t, alpha_f)'s mean.
    draws = np.random.default_rng(0).dirichlet(alpha[1], 200_000)
    ratio = draws[:, 2] / (draws[:, 2] + draws[:, 0])
    a, b = sens
    # 5 standard errors of a mean of 200,000 draws (false-failure rate ~6e-7)
    assert ratio.mean() == pytest.approx(a / (a + b), abs=5 * ratio.std() / np.sqrt(ratio.size))


def test_model_choice_names_every_candidate_and_the_forced_model_is_kept():
    rng = np.random.default_rng(6)
    n_claims, n_sources = 1500, 30
    truth = rng.integers(0, 2, n_claims)
    # interested parties: say 1 with probability 0.9 when true and 0.6 when false
    sens = np.where(np.arange(n_sources) < 15, 0.9, 0.85)
    fpr = np.where(np.arange(n_sources) < 15, 0.6, 0.1)
    claim = np.repeat(np.arange(n_claims), 5)
    source = np.concatenate([rng.choice(n_sources, 5, replace=False) for _ in range(n_claims)])
    p_one = np.where(truth[claim] == 1, sens[source], fpr[source])
    df = pd.DataFrame({"claim": claim, "source": source,
                       "label": (rng.random(claim.size) < p_one).astype(int)})
    model = TruthDiscovery(copying=False).fit(df)
    assert model.model_ == "two-coin"
    assert set(model.selection_["model"]) == {"one-coin", "two-coin"}
    # each model with fixed and with pooled priors
    assert len(model.selection_) == 4
    assert model.choice_.startswith("two-coin without copying")
    # the two-coin fits predict held-out claims better than the one-coin ones by many
    # standard errors (measured 513 ± 29 nats)
    table = model.selection_.set_index("model")
    gap = table.loc["two-coin", "held_out"].min() - table.loc["one-coin", "held_out"].max()
    assert gap > 5 * table.loc["one-coin", "held_out_se"].max()
    forced = TruthDiscovery("one-coin", copying=False).fit(df)
    assert forced.model_ == "one-coin" and len(forced.selection_) == 1


def test_cli_claim_labels_and_the_summary_names_the_model(tmp_path, capsys):
    df, gold = _stances(4, 60, 6, 3, np.array([[0.6, 0.1, 0.3], [0.1, 0.6, 0.3]]))
    df["label"] = df["label"].replace({"for": "true", "against": "false"})
    reports = tmp_path / "stances.csv"
    df.to_csv(reports, index=False)
    out = tmp_path / "claims.csv"
    sources = tmp_path / "sources.yaml"
    assert main(["discover", str(reports), "-o", str(out), "--claim-labels", "false,true",
                 "--sources-out", str(sources)]) == 0
    err = capsys.readouterr().err
    assert "model: dawid-skene" in err
    assert set(pd.read_csv(out, dtype=str)["label"]) <= {"false", "true"}
    assert "sensitivity" in sources.read_text()
    assert main(["discover", str(reports), "-o", str(out), "--claim-labels", "true"]) == 2
    assert "--claim-labels needs at least two distinct labels" in capsys.readouterr().err
    assert main(["discover", str(reports), "-o", str(out), "--claim-labels", "false,true",
                 "--candidates", "per-claim"]) == 2
    assert "--claim-labels needs one label set" in capsys.readouterr().err
