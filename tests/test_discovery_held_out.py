"""Held-out log likelihood and each claim's posterior given the others, by enumeration."""

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sheet import SHEET

from credence.calibration import log_loss
from credence.discovery import TruthDiscovery, encode_reports
from credence.discovery.choice import MIN_INFORMATION, choose, learned, size
from credence.discovery.estimator import Blocks
from credence.discovery.held_out import FOLDS, REFIT_ITER, claim_folds, standard_error
from credence.discovery.simulate import copy_cascades
from credence.discovery.vb import make_priors, run_vb

R_PRIOR, C_PRIOR, PI_PRIOR = (2.0, 1.0), (1.0, 1.0), 1.0


def _table(seed, n_claims=40, n_sources=5):
    """Claims with 1-4 reports each, from distinct sources, in table order."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_claims):
        for s in rng.choice(n_sources, rng.integers(1, 5), replace=False):
            rows.append((f"c{i:02d}", f"s{s}", int(rng.random() < 0.6)))
    return pd.DataFrame(rows, columns=["claim", "source", "label"])


def _configurations(labels, sources, r, c, pi):
    """Every (true label, each report's origin) of one claim and its weight.

    A report's origin is its source (weight ``(1 - c) P(l | t)``, the first
    report's ``P(l | t)``) or one earlier report it repeats (``c / earlier``
    when the labels agree, else impossible). ``r``, ``c``: per source, ``pi``:
    per label, as values or exponentiated expected logs.
    """
    n = len(labels)
    origins = [range(-1, j) for j in range(n)]  # -1: own report
    for t in (0, 1):
        for origin in itertools.product(*origins):
            weight = pi[t]
            for j, k in enumerate(origin):
                s, lab = sources[j], labels[j]
                own = r[s][0] if lab == t else r[s][1]
                if j == 0:
                    weight *= own
                elif k < 0:
                    weight *= c[s][1] * own
                else:
                    weight *= c[s][0] / j * (labels[k] == lab)
            yield t, origin, weight


def _claim_counts(df, r_log, c_log, pi_log):
    """Per claim: its labels, sources and expected counts under the fit's expected logs.

    Counts: per source right / wrong own reports, per label the claim's
    posterior, per source copies / own reports among later ones.
    """
    sources = sorted(df["source"].unique())
    code = {s: i for i, s in enumerate(sources)}
    per_claim = {}
    for claim, rows in df.groupby("claim", sort=True):
        labels = rows["label"].tolist()
        src = [code[s] for s in rows["source"]]
        configs = list(_configurations(labels, src, np.exp(r_log), np.exp(c_log), np.exp(pi_log)))
        z = sum(w for *_, w in configs)
        counts = np.zeros((len(sources), 2)), np.zeros(2), np.zeros((len(sources), 2))
        for t, origin, w in configs:
            q = w / z
            counts[1][t] += q
            for j, k in enumerate(origin):
                if k < 0:  # an own report: right or wrong
                    counts[0][src[j], 0 if labels[j] == t else 1] += q
                if j > 0:  # a later report: a copy or its own
                    counts[2][src[j], 0 if k >= 0 else 1] += q
        per_claim[claim] = (labels, src, counts)
    return per_claim


def _means(*counts):
    """Posterior means (source accuracies, class prior, copy propensities) from counts."""
    r = np.array(R_PRIOR) + sum(x[0] for x in counts)
    pi = PI_PRIOR + sum(x[1] for x in counts)
    c = np.array(C_PRIOR) + sum(x[2] for x in counts)
    return r / r.sum(1, keepdims=True), pi / pi.sum(), c / c.sum(1, keepdims=True)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000), st.booleans())
def test_held_out_log_likelihood_is_each_fold_scored_under_a_refit(seed, copying):
    # Each fold: the fit continued on a table of the other folds' rows alone, then the
    # fold's reports' likelihood by enumeration at the refit's posterior means. (From
    # the fit on all claims: on tables this small another start can find another
    # optimum.)
    df = _table(seed)
    reports = encode_reports(df)
    blocks = Blocks(reports, copying=copying)
    priors = make_priors("one-coin", 2, reliability=R_PRIOR, class_prior=PI_PRIOR,
                         copy=C_PRIOR if copying else None)
    result = run_vb(priors, blocks.init_stats("one-coin"), blocks.step, max_iter=1000, tol=1e-12)
    held = blocks.held_out(result, priors, None, tol=1e-12)
    folds = claim_folds(reports.claims)
    # fold by fold, each fold's claims in the table's order
    order = np.concatenate([np.flatnonzero(folds == f) for f in range(FOLDS)])
    assert held.shape == (reports.n_claims,)
    held_of = dict(zip(reports.claims[order], held, strict=True))
    in_fold = df["claim"].map(dict(zip(reports.claims, folds, strict=True))).to_numpy()
    for f in range(FOLDS):
        train, test = df[in_fold != f], df[in_fold == f]
        if test.empty:
            continue
        rest = encode_reports(train)
        assume(list(rest.sources) == list(reports.sources))  # the same source codes
        part = Blocks(rest, copying=copying)
        refit = run_vb(priors, part.init_stats("one-coin"), part.step, max_iter=REFIT_ITER,
                       tol=1e-12, start=result)
        r = refit.source_params / refit.source_params.sum(1, keepdims=True)
        c = (refit.copy_params / refit.copy_params.sum(1, keepdims=True) if copying
             else np.tile([0.0, 1.0], (reports.n_sources, 1)))
        pi = refit.class_params / refit.class_params.sum()
        code = {s: i for i, s in enumerate(reports.sources)}
        for claim, rows in test.groupby("claim"):
            src = [code[s] for s in rows["source"]]
            expected = np.log(sum(w for *_, w in _configurations(rows["label"].tolist(), src,
                                                                r, c, pi)))
            assert held_of[claim] == pytest.approx(expected, rel=1e-10)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000))
def test_each_claims_posterior_given_the_others_by_enumeration(seed):
    df = _table(seed)
    reports = encode_reports(df)
    blocks = Blocks(reports, copying=True, size=20)  # several blocks
    priors = make_priors("one-coin", 2, reliability=R_PRIOR, copy=C_PRIOR, class_prior=PI_PRIOR)
    result = run_vb(priors, blocks.init_stats("one-coin"), blocks.step, max_iter=30)
    got = blocks.posterior(result)
    exp = result.counted  # the E-step whose counts the fit's posteriors hold
    per_claim = _claim_counts(df, exp.source, exp.copy, exp.classes)
    for i, claim in enumerate(sorted(per_claim)):
        labels, src, _ = per_claim[claim]
        r, pi, c = _means(*[v[2] for k, v in per_claim.items() if k != claim])
        joint = np.zeros(2)
        for t, _, w in _configurations(labels, src, r, c, pi):
            joint[t] += w
        np.testing.assert_allclose(got[i], joint / joint.sum(), rtol=0, atol=1e-10)


def test_a_claims_expected_likelihood_is_its_likelihood_at_the_posterior_means():
    # Why the score is exact for the factorised posterior: each parameter enters a
    # claim's likelihood once. Monte Carlo over independent Beta / Dirichlet draws.
    rng = np.random.default_rng(0)
    labels, src = [1, 1, 0, 1], [0, 1, 2, 3]
    r_ab = rng.uniform(1, 20, (4, 2))
    c_ab = rng.uniform(1, 20, (4, 2))
    pi_a = rng.uniform(1, 20, 2)
    n = 200_000
    r = rng.beta(r_ab[:, 0], r_ab[:, 1], (n, 4))
    c = rng.beta(c_ab[:, 0], c_ab[:, 1], (n, 4))
    pi = rng.dirichlet(pi_a, n)
    draws = np.zeros(n)
    for t in (0, 1):
        like = pi[:, t].copy()
        seen = []
        for j, s in enumerate(src):
            own = np.where(labels[j] == t, r[:, s], 1 - r[:, s])
            if seen:
                like *= c[:, s] * np.mean([x == labels[j] for x in seen]) + (1 - c[:, s]) * own
            else:
                like *= own
            seen.append(labels[j])
        draws += like

    def means(ab):
        m = ab[..., 0] / ab.sum(-1)
        return np.stack([m, 1 - m], -1)

    plug_in = sum(w for *_, w in _configurations(labels, src, means(r_ab), means(c_ab),
                                                 pi_a / pi_a.sum()))
    # 5 standard errors of a mean of 200,000 draws (false-failure rate ~6e-7)
    assert draws.mean() == pytest.approx(plug_in, abs=5 * draws.std() / np.sqrt(n))


def test_folds_follow_the_claims_not_their_order():
    claims = np.array([f"claim {i}" for i in range(5000)], dtype=object)
    folds = claim_folds(claims)
    perm = np.random.default_rng(1).permutation(claims.size)
    np.testing.assert_array_equal(claim_folds(claims[perm]), folds[perm])
    # 5,000 claims over the folds: each count is Binomial(5000, 1 / FOLDS); 5 sd is a
    # false-failure rate ~6e-7 a fold
    p = 1 / FOLDS
    sd = np.sqrt(claims.size * p * (1 - p))
    assert np.abs(np.bincount(folds, minlength=FOLDS) - claims.size * p).max() < 5 * sd


def _scores(*totals, spread=1.0, n=5):
    """Per-claim held-out scores of ``n`` claims with given totals, the claims differing
    by ``spread``."""
    wiggle = spread * np.linspace(-1, 1, n)
    return [np.full(n, t / n) + wiggle * i for i, t in enumerate(totals)]


def test_choose_keeps_a_simpler_fit_within_a_standard_error():
    simple, rich = _scores(-1000.0, -999.0, spread=1.0)
    se = standard_error(rich - simple)
    assert se > 1.0  # the richer fit's gain is within its standard error
    assert choose([simple, rich], [1.0, 1.0], [1, 2]) == (0, "simpler")
    simple, rich = _scores(-1000.0, -900.0, spread=1.0)
    assert choose([simple, rich], [1.0, 1.0], [1, 2]) == (1, "best")


def test_among_fits_of_one_size_the_better_held_out_likelihood_wins():
    # with or without one fidelity: one size, however close
    plain, shared = _scores(-1000.0, -999.5, spread=1.0)
    assert choose([plain, shared], [1.0, 1.0], [(1, 0, 0), (1, 0, 0)]) == (1, "best")
    one_coin = make_priors("one-coin", 2)
    assert size(one_coin) == size(make_priors("one-coin", 2, fidelity=(2, 1))) == (1, 0, 0)
    assert size(make_priors("one-coin", 2, copy=(1, 1), fidelity=(2, 1), pooling=True)) == (2, 0, 1)
    # three rows of three, each summing to 1
    assert size(make_priors("dawid-skene", 3)) == (6, 0, 0)


def test_a_channel_by_label_or_pooling_must_beat_the_plainer_fit_by_a_standard_error():
    # neither is richer by the count a source; a story channel by label is richer than
    # one fidelity, pooled priors than fixed ones, and neither than a copying fit
    one_coin = make_priors("one-coin", 2)
    pooled = size(make_priors("one-coin", 2, pooling=True))
    by_label = size(make_priors("one-coin", 2, fidelity=(2, 1), fidelity_by_label=True))
    copying = size(make_priors("one-coin", 2, copy=(1, 1)))
    assert size(one_coin) < pooled < by_label < copying
    plain, close = _scores(-1000.0, -999.5, spread=1.0)
    assert standard_error(close - plain) > 0.5
    for richer in (pooled, by_label):
        assert choose([plain, close], [1.0, 1.0], [size(one_coin), richer]) == (0, "simpler")
    plain, far = _scores(-1000.0, -900.0, spread=1.0)
    for richer in (pooled, by_label):
        assert choose([plain, far], [1.0, 1.0], [size(one_coin), richer]) == (1, "best")


def test_a_richer_fit_must_gain_a_thousandth_of_a_nat_a_claim():
    simple, rich = _scores(-1000.0, -999.0, spread=0.0)  # no spread: no standard error
    assert choose([simple, rich], [1.0, 1.0], [1, 2], n_claims=500) == (1, "best")
    assert choose([simple, rich], [1.0, 1.0], [1, 2], n_claims=2000) == (0, "simpler")


def test_choose_sets_aside_a_fit_that_learned_nothing():
    quiet, informative = _scores(-900.0, -1000.0)
    index, reason = choose([quiet, informative], [MIN_INFORMATION / 2, 1.0], [2, 2])
    assert (index, reason) == (1, "uninformative")
    # a single fit is chosen without scores
    assert choose([np.full(FOLDS, np.nan)], [0.0], [1]) == (0, "best")


def test_a_fit_learned_about_the_claims_from_a_hundredth_of_a_nat_a_claim():
    assert learned(MIN_INFORMATION)
    assert not learned(MIN_INFORMATION - 1e-12)


def test_four_sources_do_not_pool_into_coin_flips():
    # Pooled, the sheet's four sources were learned alike and each claim stayed at the
    # class prior the one resolved claim taught (0.72-0.75 "false" measured); the
    # pooled fit predicted the held-out reports better and was chosen. Four sources
    # teach no population prior: the fit keeps the fixed priors, and "troops", which
    # two of its three sources call true, leans true.
    model = TruthDiscovery().fit(SHEET, {"ceasefire": "false"})
    table = model.selection_
    assert not model.priors_.pooling and not table["pooled"].any()
    assert table["fit"].str.endswith("fixed priors").all()
    assert model.predict_proba().loc["troops", "true"] > 0.5
    # and it says what the sheet is too small to learn
    assert "; priors fixed: 4 sources, fewer than the 10 a learned prior needs" in model.choice_
    assert "; no shared error tried: 1 known claim, fewer than the 10" in model.choice_
    # forced, it is the same fit
    forced = TruthDiscovery(model.model_, copying=model.copying_,
                            shared_error=model.shared_error_).fit(SHEET, {"ceasefire": "false"})
    assert not forced.priors_.pooling


def test_the_default_counts_copies_once_on_thin_records():
    # 2,000 sources with about five reports each. The evidence lower bound prefers
    # independence here (measured -5,547 against -6,265 for the informative copying
    # fit); the held-out likelihood prefers copying (measured +108 ± 36 nats), and the
    # copies are not counted as confirmation: log loss 0.583 (1.511 independent, base
    # rate 0.69).
    sim = copy_cascades(1666, 2000, seed=5)
    reports = sim.reports[["claim", "source", "label"]]
    model = TruthDiscovery("one-coin").fit(reports)
    assert model.copying_
    table = model.selection_
    independent = table.loc[~table["copying"]].iloc[0]
    chosen = table.loc[table["chosen"]].iloc[0]
    assert chosen["held_out"] - independent["held_out"] > independent["held_out_se"]
    y = sim.truth.to_numpy()
    assert log_loss(y, model.predict_proba().loc[sim.truth.index, 1].to_numpy()) < 0.7


def test_a_confusion_channels_posterior_given_the_others_by_hand():
    # Stances (3 report labels) on true / false claims, some resolved, independent
    # reports: each claim's E-step posterior q_i under the fit's expected logs, the
    # counts they add, then Bayes' rule at the means of the Dirichlet rows and class
    # prior less claim i's own counts.
    rng = np.random.default_rng(3)
    rows = [(f"c{i}", f"s{s}", rng.choice(["for", "against", "observing"]))
            for i in range(30) for s in rng.choice(6, rng.integers(1, 5), replace=False)]
    df = pd.DataFrame(rows, columns=["claim", "source", "label"])
    gold = {"c0": "true", "c1": "false", "c2": "true"}
    # converged tightly: the fit's last E-step is then its expected logs' (expectations_)
    model = TruthDiscovery("dawid-skene", claim_labels=["false", "true"], copying=False,
                           pooling=False, tol=1e-14, max_iter=5000).fit(df, gold)
    exp = model.expectations_
    claims, sources = list(model.claims_), list(model.sources_)
    labels = list(model.report_labels_)
    s = np.array([sources.index(x) for x in df["source"]])
    c = np.array([claims.index(x) for x in df["claim"]])
    lab = np.array([labels.index(x) for x in df["label"]])
    scores = exp.classes + np.zeros((len(claims), 2))
    np.add.at(scores, c, exp.source[s, :, lab])
    q = np.exp(scores - scores.max(1, keepdims=True))
    q /= q.sum(1, keepdims=True)
    for claim, label in gold.items():
        q[claims.index(claim)] = np.eye(2)[list(model.classes_).index(label)]
    alpha = model.priors_.source + np.zeros((len(sources), 2, len(labels)))
    np.add.at(alpha, (s, slice(None), lab), q[c])
    pi = model.priors_.classes + q.sum(0)
    for i, claim in enumerate(claims):
        mine = c == i
        prob = (pi - q[i]) / (pi.sum() - 1)
        for j in np.flatnonzero(mine):
            row = alpha[s[j]]
            prob = prob * (row[:, lab[j]] - q[i]) / (row.sum(1) - q[i])
        expected = q[i] if claim in gold else prob / prob.sum()
        np.testing.assert_allclose(model.claim_posterior_[i], expected, rtol=0, atol=1e-9)


def test_each_iteration_says_which_fit_of_the_model_choice_it_belongs_to():
    # The progress bar's stage: every candidate reports its own iterations under the
    # name choice_ gives it, and every held-out refit its fit and fold.
    df = _table(3, n_claims=60)
    infos = []
    model = TruthDiscovery().fit(df, callback=infos.append)
    counts = pd.Series([info.stage for info in infos]).value_counts()
    for info in infos:  # each out of its own most iterations
        held = info.stage.startswith("held out")
        assert info.max_iter == (REFIT_ITER if held else model.max_iter)
    table = model.selection_
    assert model.choice_.startswith(table.loc[table["chosen"], "fit"].iloc[0])
    for _, row in table.iterrows():
        assert counts[row["fit"]] == row["n_iter"]
        for fold in range(1, FOLDS + 1):
            assert counts[f"held out, {row['fit']}, fold {fold} of {FOLDS}"] >= 1
    assert sum(stage.startswith("held out") for stage in counts.index) == FOLDS * len(table)
    lone = []
    forced = TruthDiscovery("one-coin", copying=False)
    forced.fit(df, callback=lambda info: lone.append(info.stage))
    assert lone == [forced.selection_["fit"].iloc[0]] * forced.n_iter_


def test_the_command_lines_progress_bar_names_each_fit(monkeypatch, capsys):
    # On a terminal the bar shows which fit of the model choice runs (rendered here by
    # taking stderr for a terminal), and the fit is the one made without a bar.
    import rich.console

    from credence.commands.discovery import _fit

    monkeypatch.setattr(rich.console.Console, "is_terminal", property(lambda self: True))
    df = _table(5, n_claims=300)
    shown = TruthDiscovery()
    _fit(shown, df, None, progress=True)
    err = capsys.readouterr().err
    stages = []
    plain = TruthDiscovery().fit(df, callback=lambda info: stages.append(info))
    # the bar's last frame shows the last iteration reported (its stage cut to the width)
    assert f"fitting {stages[-1].stage[:25]}" in err
    assert f"iteration {stages[-1].iteration:>3d}/{stages[-1].max_iter}" in err
    pd.testing.assert_frame_equal(shown.predict_proba(), plain.predict_proba())


def test_one_claim_shows_no_gain_above_noise():
    # the standard error is of the claims' paired differences; one claim has no spread
    assert standard_error(np.array([0.3])) == np.inf
    assert standard_error(np.zeros(1)) == 0.0
    simple, rich = _scores(-10.0, -9.0, spread=0.0, n=1)
    assert choose([simple, rich], [1.0, 1.0], [1, 2], n_claims=1) == (0, "simpler")
