"""The variational fit against closed forms, known parameters and its own invariants."""

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from credence.calibration import expected_calibration_error
from credence.discovery import TruthDiscovery

# A prior this concentrated pins a parameter: E[log r] = log r + O(1/CONCENTRATION).
CONCENTRATION = 1e9
# The fixed-prior, independent-reports model these closed forms describe.
FIXED = {"pooling": False, "copying": False}


def _reports(rows):
    return pd.DataFrame(rows, columns=["claim", "source", "label"])


def _draw(rng, n_claims, n_sources, per_claim, accuracy, prevalence=0.5):
    truth = (rng.random(n_claims) < prevalence).astype(int)
    claim = np.repeat(np.arange(n_claims), per_claim)
    source = np.concatenate(
        [rng.choice(n_sources, per_claim, replace=False) for _ in range(n_claims)]
    )
    right = rng.random(claim.size) < accuracy[source]
    label = np.where(right, truth[claim], 1 - truth[claim])
    return pd.DataFrame({"claim": claim, "source": source, "label": label}), truth


TINY = [
    ("c1", "a", 1), ("c1", "b", 1), ("c1", "c", 0),
    ("c2", "a", 0), ("c2", "c", 0),
    ("c3", "b", 1), ("c3", "c", 1), ("c3", "a", 0),
    ("c4", "c", 1),
]


def test_claim_posterior_is_bayes_rule_given_the_parameters():
    # Two sources with the same pinned accuracy r: P(T = 1 | reports) by Bayes' rule.
    r = 0.8
    rows = [("x", "a", 1), ("x", "b", 1), ("y", "a", 1), ("y", "b", 0), ("z", "a", 0)]
    model = TruthDiscovery(
        "one-coin",
        reliability_prior=(CONCENTRATION * r, CONCENTRATION * (1 - r)),
        class_prior=CONCENTRATION,
        **FIXED,
    ).fit(_reports(rows))
    proba = model.predict_proba()
    for claim in "xyz":
        labels = [lab for c, _, lab in rows if c == claim]
        like = {t: np.prod([r if lab == t else 1 - r for lab in labels]) for t in (0, 1)}
        assert proba.loc[claim, 1] == pytest.approx(like[1] / (like[0] + like[1]), abs=1e-6)


def test_two_coin_and_dawid_skene_with_pinned_confusion_match_bayes_rule():
    s, f = 0.9, 0.4  # an interested party: says "yes" often either way
    rows = [("x", "a", 1), ("y", "a", 0), ("z", "a", 1)]
    k = CONCENTRATION
    two = TruthDiscovery(
        "two-coin", sensitivity_prior=(k * s, k * (1 - s)),
        false_positive_prior=(k * f, k * (1 - f)), class_prior=k, **FIXED,
    ).fit(_reports(rows))
    yes = s / (s + f)
    no = (1 - s) / ((1 - s) + (1 - f))
    assert two.predict_proba().loc["x", 1] == pytest.approx(yes, abs=1e-6)
    assert two.predict_proba().loc["y", 1] == pytest.approx(no, abs=1e-6)
    r = 0.75
    ds = TruthDiscovery(
        "dawid-skene", confusion_prior=(k * r, k * (1 - r) / 2), class_prior=k, **FIXED
    ).fit(_reports([("x", "a", 0), ("x", "b", 2), ("x", "c", 2), ("y", "a", 1)]))
    like = np.array([r * w * w for w in [(1 - r) / 2]] + [(1 - r) / 2 * (1 - r) / 2 * (1 - r) / 2]
                    + [(1 - r) / 2 * r * r])
    assert ds.predict_proba().loc["x"].to_numpy() == pytest.approx(like / like.sum(), abs=1e-6)


def _exact_posterior(rows, a, b):
    """P(T | reports) with accuracies Beta(a, b) and a uniform class prior, by enumeration."""
    from scipy.special import betaln

    claims = sorted({c for c, _, _ in rows})
    sources = sorted({s for _, s, _ in rows})
    weights = {}
    for truth in itertools.product((0, 1), repeat=len(claims)):
        t = dict(zip(claims, truth, strict=True))
        log_w = 0.0
        for src in sources:
            right = sum(1 for c, s, lab in rows if s == src and lab == t[c])
            wrong = sum(1 for c, s, lab in rows if s == src and lab != t[c])
            log_w += betaln(a + right, b + wrong) - betaln(a, b)
        weights[truth] = np.exp(log_w)
    total = sum(weights.values())
    return {
        c: sum(w for truth, w in weights.items() if truth[i] == 1) / total
        for i, c in enumerate(claims)
    }


def test_vb_is_close_to_the_exact_posterior_when_sources_have_long_records():
    # Mean-field VB ignores the posterior correlation between a source's accuracy and
    # the claims it reported on; with ~40 reports per source that costs < 0.03 here.
    rng = np.random.default_rng(11)
    df, _ = _draw(rng, 12, 3, 3, np.array([0.85, 0.75, 0.65]))
    rows = list(df.itertuples(index=False, name=None))
    exact = _exact_posterior(rows, 2.0, 1.0)
    model = TruthDiscovery("one-coin", class_prior=CONCENTRATION, **FIXED).fit(df)
    for claim, p in exact.items():
        assert model.predict_proba().loc[claim, 1] == pytest.approx(p, abs=0.12)


def test_recovers_known_reliabilities_including_adversarial_sources():
    rng = np.random.default_rng(2)
    accuracy = np.array([0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.3, 0.2, 0.6] * 2)
    df, truth = _draw(rng, 3000, accuracy.size, 6, accuracy)
    model = TruthDiscovery(tol=1e-8).fit(df)
    fitted = model.reliability_["accuracy"].to_numpy()
    # ~900 reports per source: posterior sd <= 0.017; 0.06 is > 3.5 sd.
    assert np.abs(fitted - accuracy).max() < 0.06
    assert (fitted[accuracy < 0.5] < 0.4).all()
    assert (model.predict().to_numpy() == truth).mean() > 0.9
    assert model.converged_


@pytest.mark.parametrize("model_name", ["one-coin", "two-coin", "dawid-skene"])
def test_calibrated_on_data_drawn_from_the_model(model_name):
    # Claims' truths from a Beta(1, 1) prevalence, accuracies from the default prior.
    # Top-label ECE has sampling noise ~0.005 with 20k claims; the bound is 0.02.
    rng = np.random.default_rng(7)
    accuracy = rng.beta(2.0, 1.0, 100)
    df, truth = _draw(rng, 20_000, 100, 5, accuracy, prevalence=rng.beta(1, 1))
    model = TruthDiscovery(model_name).fit(df)
    assert expected_calibration_error(truth, model.claim_posterior_) <= 0.02


@given(
    labels=st.lists(st.integers(0, 1), min_size=12, max_size=12),
    seed=st.integers(0, 2**32 - 1),
)
def test_elbo_never_decreases(labels, seed):
    rng = np.random.default_rng(seed)
    claims = rng.integers(0, 5, 12)
    sources = rng.integers(0, 4, 12)
    df = pd.DataFrame({"claim": claims, "source": sources, "label": labels})
    df = df.drop_duplicates(["claim", "source"])
    if df["label"].nunique() < 2:
        return
    # Coordinate ascent with fixed priors (with pooling the prior's update maximises
    # the counts' evidence instead, see credence.discovery.pooling), copying or not.
    for name, copying in itertools.product(("one-coin", "dawid-skene"), (False, True)):
        model = TruthDiscovery(name, tol=0, max_iter=30, pooling=False, copying=copying).fit(df)
        elbo = np.array([h.elbo for h in model.history_])
        assert np.all(np.diff(elbo) >= -1e-9 * np.abs(elbo[1:]).max())


@given(seed=st.integers(0, 2**32 - 1))
def test_renaming_sources_and_claims_changes_nothing(seed):
    rng = np.random.default_rng(seed)
    df, _ = _draw(rng, 30, 6, 3, rng.uniform(0.3, 0.95, 6))
    # Copying reads the table's order, so this shuffles rows with copying off
    # (pooling's invariance is tested in test_discovery_pooling.py).
    base = TruthDiscovery("two-coin", copying=False, pooling=False).fit(df).predict_proba()
    claim_names = {c: f"claim-{n}" for c, n in zip(range(30), rng.permutation(30), strict=True)}
    source_names = {s: f"src-{n}" for s, n in zip(range(6), rng.permutation(6), strict=True)}
    renamed = df.assign(claim=df["claim"].map(claim_names), source=df["source"].map(source_names))
    renamed = renamed.sample(frac=1.0, random_state=seed % 2**31)
    other = TruthDiscovery("two-coin", copying=False, pooling=False).fit(renamed).predict_proba()
    other.index = other.index.map({v: k for k, v in claim_names.items()})
    np.testing.assert_allclose(other.loc[base.index].to_numpy(), base.to_numpy(), atol=1e-6)


def test_a_source_seen_once_keeps_a_wide_posterior():
    rows = [(f"c{i}", s, 1 if i % 2 else 0) for i in range(20) for s in ("a", "b", "c")]
    rows.append(("c0", "newcomer", 1))
    model = TruthDiscovery("one-coin", **FIXED).fit(_reports(rows))
    a, b = model.source_params_[model.sources_.get_loc("newcomer")]
    assert a + b == pytest.approx(2.0 + 1.0 + 1.0)  # the prior plus one report
    assert 0.4 < a / (a + b) < 0.6  # it disagreed with three good sources


def test_gold_labels_are_fixed_and_teach_the_sources():
    rows = [("c1", "a", 1), ("c1", "b", 0), ("c2", "a", 1), ("c2", "b", 0), ("c3", "a", 0),
            ("c3", "b", 1)]
    model = TruthDiscovery().fit(_reports(rows), {"c1": 0, "c2": 0})
    assert model.predict_proba().loc["c1", 0] == 1.0
    assert model.reliability_.loc["b", "accuracy"] > model.reliability_.loc["a", "accuracy"]
    assert model.predict().loc["c3"] == 1  # b, now trusted, says 1


def test_per_claim_candidate_sets():
    rows = [
        ("book1", "s1", "knuth"), ("book1", "s2", "knuth"), ("book1", "s3", "d knuth"),
        ("book2", "s1", "smith jones"), ("book2", "s2", "smith jones"), ("book2", "s3", "smith"),
        ("book3", "s1", "lee"), ("book3", "s3", "li"),
    ]
    model = TruthDiscovery(candidates="per-claim").fit(_reports(rows))
    table = model.predict_table().set_index("claim")
    assert table.loc["book1", "label"] == "knuth"
    assert table.loc["book3", "label"] == "lee"  # s1 has the better record
    proba = model.predict_proba()
    assert proba.groupby("claim")["probability"].sum().to_numpy() == pytest.approx(1.0)
    assert set(proba.loc[proba["claim"] == "book2", "label"]) == {"smith jones", "smith"}


@given(seed=st.integers(0, 2**32 - 1), per_claim=st.integers(2, 6))
def test_accelerated_and_plain_coordinate_ascent_reach_the_same_fit(seed, per_claim):
    # SQUAREM only changes the path: run both to a tight tolerance and compare
    # the fixed points (fixed priors, independent reports: a unique-enough optimum
    # from the same start on well-separated sources).
    import credence.discovery.estimator as estimator
    from credence.discovery.vb import run_vb

    rng = np.random.default_rng(seed)
    df, _ = _draw(rng, 60, 8, per_claim, rng.uniform(0.65, 0.95, 8))
    fits = {}
    for accelerate in (False, True):
        original = estimator.run_vb
        estimator.run_vb = lambda *a, _acc=accelerate, **k: run_vb(*a, accelerate=_acc, **k)
        try:
            fits[accelerate] = TruthDiscovery("two-coin", tol=1e-13, max_iter=5000,
                                              **FIXED).fit(df)
        finally:
            estimator.run_vb = original
    assert fits[True].elbo_ == pytest.approx(fits[False].elbo_, rel=1e-9)
    # with two or three reports a claim the bound is nearly flat along a ridge, where
    # both fits stop a little apart (measured: 1e-5) at the same ELBO
    np.testing.assert_allclose(fits[True].claim_posterior_, fits[False].claim_posterior_,
                               atol=1e-3)


def test_copying_terms_in_probability_space_equal_the_log_space_sum():
    # the E-step works with c m + (1 - c) P(l | t) directly; check it against the
    # definition, log(exp(E log c) m + exp(E log(1 - c) + E log P(l | t))), summed
    # over each claim's reports, computed here report by report
    from scipy.special import logsumexp

    from credence.discovery.vb import _copy_terms, expectations, make_block

    rng = np.random.default_rng(3)
    n, s, k = 40, 7, 3
    claim = np.repeat(np.arange(n), 5)
    source = np.concatenate([rng.choice(s, 5, replace=False) for _ in range(n)])
    label = rng.integers(0, k, claim.size)
    position = rng.permutation(claim.size)
    block = make_block(claim, source, label, n_claims=n, n_sources=s, n_classes=k,
                       position=position)
    for model, shape in (("one-coin", (s, 2)), ("dawid-skene", (s, k, k))):
        exp = expectations(model, rng.uniform(0.5, 5, shape), np.ones(k),
                           rng.uniform(0.5, 5, (s, 2)))
        scores, _ = _copy_terms(block, exp)
        want = np.zeros((n, k))
        for i in range(claim.size):
            j, lab = source[i], label[i]
            for t in range(k):
                if model == "one-coin":
                    own = exp.source[j, 0] if lab == t else exp.source[j, 1] - np.log(k - 1)
                else:
                    own = exp.source[j, t, lab]
                if block.earlier[i] == 0:
                    want[claim[i], t] += own
                else:
                    want[claim[i], t] += logsumexp(
                        [exp.copy[j, 0] + block.log_match[i], exp.copy[j, 1] + own])
        np.testing.assert_allclose(scores, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("model", ["one-coin", "two-coin", "dawid-skene"])
def test_each_models_terms_and_counts_follow_the_report_by_report_definition(model):
    # each model's E-step terms and M-step counts (sparse products and gathers) against
    # a loop over reports: E log P(l | t) is one-coin's E log r if l = t, else
    # E log(1 - r) - log(K - 1); a confusion matrix's cell (t, l); a report's weight
    # under claim label t counts in the cell (t, l), or for one-coin as right or wrong
    from credence.discovery import models
    from credence.discovery.vb import make_block

    rng = np.random.default_rng(5)
    k = 2 if model == "two-coin" else 3
    n, s = 30, 6
    claim = np.repeat(np.arange(n), 4)
    source = np.concatenate([rng.choice(s, 4, replace=False) for _ in range(n)])
    label = rng.integers(0, k, claim.size)
    block = make_block(claim, source, label, n_claims=n, n_sources=s, n_classes=k)
    source_model = models.get(model)
    shape = (s, 2) if model == "one-coin" else (s, k, k)
    elog = np.log(rng.uniform(0.05, 1.0, shape))
    weights = rng.uniform(0, 1, (claim.size, k))
    q = rng.dirichlet(np.ones(k), n)
    want_terms = np.zeros((claim.size, k))
    want_counts = np.zeros(shape)
    want_stats = np.zeros(shape)
    for i in range(claim.size):
        j, lab = source[i], label[i]
        for t in range(k):
            if model == "one-coin":
                want_terms[i, t] = elog[j, 0] if lab == t else elog[j, 1] - np.log(k - 1)
                want_counts[j, 0 if lab == t else 1] += weights[i, t]
                want_stats[j, 0 if lab == t else 1] += q[claim[i], t]
            else:
                want_terms[i, t] = elog[j, t, lab]
                want_counts[j, t, lab] += weights[i, t]
                want_stats[j, t, lab] += q[claim[i], t]
    want_scores = np.zeros((n, k))
    np.add.at(want_scores, claim, want_terms)
    np.testing.assert_allclose(source_model.terms(block, elog), want_terms, rtol=1e-12)
    np.testing.assert_allclose(source_model.scores(block, elog), want_scores, rtol=1e-12)
    np.testing.assert_allclose(source_model.accumulate(block, weights), want_counts, rtol=1e-12)
    np.testing.assert_allclose(source_model.stats(block, q), want_stats, rtol=1e-12)
