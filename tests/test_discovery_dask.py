"""The Dask fit equals the in-process fit, and survives a killed worker."""

import os
import signal

import numpy as np
import pandas as pd
import pytest

from credence.discovery import TruthDiscovery, read_reports
from credence.discovery.simulate import copy_cascades
from credence.errors import CaseError

dd = pytest.importorskip("dask.dataframe")
from credence.discovery.dask import DaskTruthDiscovery  # noqa: E402


def _reports(seed, n_claims=2000, n_sources=30, per_claim=4):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n_claims)
    accuracy = rng.uniform(0.35, 0.95, n_sources)
    claim = np.repeat(np.arange(n_claims), per_claim)
    source = np.concatenate(
        [rng.choice(n_sources, per_claim, replace=False) for _ in range(n_claims)]
    )
    label = np.where(rng.random(claim.size) < accuracy[source], truth[claim], 1 - truth[claim])
    return pd.DataFrame({"claim": [f"c{c:05d}" for c in claim],
                         "source": [f"s{s:02d}" for s in source], "label": label})


def _assert_same(a, b):
    assert (a.claims_ == b.claims_).all()
    assert (a.sources_ == b.sources_).all()
    assert a.n_iter_ == b.n_iter_
    np.testing.assert_allclose(b.claim_posterior_, a.claim_posterior_, rtol=0, atol=1e-8)
    # the 1e-8: an accelerated fit amplifies summation-order rounding a little
    np.testing.assert_allclose(b.source_params_, a.source_params_, rtol=1e-8, atol=1e-8)
    # the same folds of claims, however the table is partitioned
    np.testing.assert_allclose(b.selection_["held_out"], a.selection_["held_out"], rtol=1e-9)


@pytest.mark.parametrize("model", ["one-coin", "two-coin", "dawid-skene"])
def test_dask_equals_in_process(model):
    df = _reports(1)
    local = TruthDiscovery(model).fit(df)
    distributed = DaskTruthDiscovery(model, npartitions=5).fit(dd.from_pandas(df, npartitions=3))
    _assert_same(local, distributed)
    pd.testing.assert_frame_equal(local.predict_table(), distributed.predict_table(),
                                  check_exact=False, atol=1e-8)


def test_dask_from_parquet_with_gold_and_crowd_kit_names(tmp_path):
    df = _reports(2).rename(columns={"claim": "task", "source": "worker"})
    df.to_parquet(tmp_path / "reports.parquet")
    gold = {"c00000": 1, "c00001": 0}
    local = TruthDiscovery().fit(df, gold)
    distributed = DaskTruthDiscovery().fit(str(tmp_path / "reports.parquet"), gold)
    _assert_same(local, distributed)


def test_dask_per_claim_candidates():
    df = pd.DataFrame({
        "claim": ["b1", "b1", "b1", "b2", "b2", "b3", "b3", "b3"],
        "source": ["s1", "s2", "s3", "s1", "s3", "s1", "s2", "s3"],
        "label": ["x", "x", "y", "z", "w", "x", "q", "q"],
    })
    local = TruthDiscovery(candidates="per-claim").fit(df)
    distributed = DaskTruthDiscovery(candidates="per-claim").fit(dd.from_pandas(df, npartitions=2))
    pd.testing.assert_frame_equal(local.predict_proba(), distributed.predict_proba(),
                                  check_exact=False, atol=1e-8)


def test_dask_bad_input():
    from credence.errors import CaseError

    df = pd.DataFrame({"claim": ["a", "a"], "source": ["x", "x"], "label": [0, 1]})
    with pytest.raises(CaseError, match="twice"):
        DaskTruthDiscovery().fit(dd.from_pandas(df, npartitions=1))
    with pytest.raises(CaseError, match="missing column"):
        DaskTruthDiscovery().fit(dd.from_pandas(df[["claim", "label"]], npartitions=1))


@pytest.mark.slow
def test_a_worker_killed_mid_fit_does_not_change_the_result():
    from distributed import Client, LocalCluster

    df = _reports(3, n_claims=4000)
    # with a date and a kind column: what the partitions parse is recomputed too
    rng = np.random.default_rng(3)
    hours = pd.to_timedelta(rng.integers(0, 30 * 24, len(df)), "h")
    df["date"] = pd.Series(pd.Timestamp("2024-01-01") + hours).dt.strftime("%Y-%m-%dT%H:00")
    df["kind"] = np.array(["blog", "troll", "wire"], dtype=object)[
        df["source"].str[1:].astype(int) % 3
    ]
    local = TruthDiscovery("two-coin").fit(df)
    # the scheduler's HTTP server on a free port: it takes 8787 even without a dashboard,
    # and only warns (leaking a socket) when something else holds that port
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        pids = client.run(os.getpid)
        killed = []

        def kill_one(info):
            if info.iteration == 3 and not killed:
                victim = sorted(pids)[0]
                os.kill(pids[victim], signal.SIGKILL)
                killed.append(victim)

        distributed = DaskTruthDiscovery("two-coin", npartitions=6).fit(
            dd.from_pandas(df, npartitions=4), callback=kill_one
        )
        assert killed, "the fit ended before a worker could be killed"
        assert os.getpid() not in pids.values()
    _assert_equivalent(local, distributed)


def test_dask_equals_in_process_with_copying_and_pooling():
    df = _reports(4, n_claims=800)
    local = TruthDiscovery("two-coin", copying=True).fit(df)
    distributed = DaskTruthDiscovery("two-coin", copying=True, npartitions=4).fit(
        dd.from_pandas(df, npartitions=3)
    )
    _assert_same(local, distributed)
    np.testing.assert_allclose(distributed.copy_params_, local.copy_params_, rtol=1e-8,
                               atol=1e-8)
    np.testing.assert_allclose(distributed.source_prior_, local.source_prior_, rtol=1e-8)


def test_dask_model_choice_equals_in_process():
    df = _reports(5, n_claims=600)
    local = TruthDiscovery().fit(df)
    distributed = DaskTruthDiscovery(npartitions=3).fit(dd.from_pandas(df, npartitions=2))
    assert distributed.choice_ == local.choice_
    _assert_same(local, distributed)


def test_dask_rows_are_checked_by_the_table_reader():
    from credence.errors import CaseError

    df = pd.DataFrame({"claim": ["a", "b", "c"], "source": ["x", "y", "z"],
                       "label": ["1", " ", "0"]})
    with pytest.raises(CaseError, match="column 'label': empty label"):
        DaskTruthDiscovery().fit(dd.from_pandas(df, npartitions=2))


def _with_blanks(n_claims, rows):
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"claim": np.repeat([f"c{i}" for i in range(n_claims)], 3),
                       "source": np.tile(["a", "b", "c"], n_claims),
                       "label": rng.integers(0, 2, 3 * n_claims).astype(str)})
    df.loc[rows, "label"] = " "
    return df


def _problems(fit, df):
    with pytest.raises(CaseError) as err:
        fit(df)
    return str(err.value).splitlines()


def test_dask_lists_every_partitions_problems_as_the_table_reader_does():
    df = _with_blanks(60, [5, 50, 100, 170])
    df.loc[77, "source"] = None
    local = _problems(lambda d: TruthDiscovery().fit(d), df)
    distributed = _problems(
        lambda d: DaskTruthDiscovery(npartitions=4).fit(dd.from_pandas(d, npartitions=3)), df)
    assert len(local) == 5
    assert sorted(distributed) == sorted(local)


def test_dask_counts_the_problems_past_the_listed_ones_in_every_partition():
    # 3,000 blank labels over 4 partitions: each partition's error lists a few and
    # counts the rest ("... and N more"); the merged count is the whole table's.
    from credence.errors import MAX_SHOWN_PROBLEMS

    df = _with_blanks(1500, np.arange(3000))
    local = _problems(lambda d: TruthDiscovery().fit(d), df)
    distributed = _problems(
        lambda d: DaskTruthDiscovery(npartitions=4).fit(dd.from_pandas(d, npartitions=2)), df)
    more = f"... and {3000 - (MAX_SHOWN_PROBLEMS - 1):,} more problems"
    assert local[-1] == distributed[-1] == more
    assert len(distributed) == len(local) == MAX_SHOWN_PROBLEMS


# -- date, kind and claim labels: read as the in-process fit reads them ------------------


def _dated(seed, n_claims, n_sources=30):
    """Copy cascades whose time order is in a date column, not in the file's order.

    Dates, date-times and date-times with an offset; the rows shuffled; a few
    reports of a claim share a time (the file's order then decides).
    """
    sim = copy_cascades(n_claims, n_sources, reports_per_claim=5, adversarial=0.3, seed=seed)
    df = sim.reports.copy()
    rng = np.random.default_rng(seed)
    k = df.groupby("claim").cumcount().to_numpy().copy()
    k[(k == 2) & (rng.random(len(df)) < 0.2)] = 1
    day = pd.to_timedelta(np.repeat(rng.integers(0, 60, n_claims), 5), "D")
    stamp = pd.Timestamp("2024-03-01", tz="UTC") + day + pd.to_timedelta(6 * k, "h")
    df["date"] = np.where(
        k == 0, stamp.strftime("%Y-%m-%d"),
        np.where(k % 2 == 1, stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 stamp.tz_convert("Europe/Paris").strftime("%Y-%m-%dT%H:%M:%S%z")),
    ).astype(object)
    return df.sample(frac=1, random_state=seed).reset_index(drop=True), sim.truth


def _with_kinds(seed):
    df = _reports(seed, n_claims=600)
    kinds = np.array(["blog", "troll", "wire"], dtype=object)
    return df.assign(kind=kinds[df["source"].str[1:].astype(int) % 3])


def _stances(seed, stances, n_claims=300, n_sources=12, per=3):
    """Stance reports from one channel P(stance | claim), rows false, true."""
    rng = np.random.default_rng(seed)
    channel = np.array([[0.7, 0.1, 0.2], [0.1, 0.7, 0.2]])
    truth = rng.integers(0, 2, n_claims)
    claim = np.repeat(np.arange(n_claims), per)
    source = np.concatenate([rng.choice(n_sources, per, replace=False) for _ in range(n_claims)])
    u = rng.random(claim.size)[:, None]
    stance = (u > np.cumsum(channel[truth[claim]], axis=1)).sum(axis=1)
    names = [f"c{c:04d}" for c in range(n_claims)]
    df = pd.DataFrame({"claim": np.array(names)[claim], "source": [f"s{s:02d}" for s in source],
                       "label": np.array(stances, dtype=object)[stance]})
    return df, pd.Series(np.where(truth == 1, "true", "false"), index=names)


def _assert_equivalent(a, b):
    """Everything a fit reports, to the issue's 1e-8."""
    _assert_same(a, b)
    assert b.choice_ == a.choice_
    assert b.model_ == a.model_ and b.copying_ == a.copying_
    assert b.shared_error_ == a.shared_error_
    pd.testing.assert_frame_equal(b.selection_, a.selection_, check_exact=False, rtol=1e-10)
    for name in ("classes_", "report_labels_", "label_match_", "source_group_"):
        np.testing.assert_array_equal(getattr(b, name), getattr(a, name), err_msg=name)
    assert (a.kinds_ is None) == (b.kinds_ is None)
    if a.kinds_ is not None:
        np.testing.assert_array_equal(b.kinds_, a.kinds_)
    np.testing.assert_array_equal(b.n_reports_, a.n_reports_)
    for name in ("source_prior_", "copy_params_", "copy_prior_", "class_params_",
                 "fidelity_params_"):
        want, got = getattr(a, name), getattr(b, name)
        assert (want is None) == (got is None), name
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-8, err_msg=name)


def test_dask_orders_each_claims_reports_by_date_as_in_process():
    df, _ = _dated(6, 200)
    df = df.drop(columns="kind")
    local = TruthDiscovery("one-coin", copying=True).fit(df)
    # the dates matter: in the file's order the cascades read differently
    undated = TruthDiscovery("one-coin", copying=True).fit(df.drop(columns="date"))
    assert np.abs(undated.claim_posterior_ - local.claim_posterior_).max() > 0.1
    distributed = DaskTruthDiscovery("one-coin", copying=True, npartitions=3).fit(
        dd.from_pandas(df, npartitions=2)
    )
    _assert_equivalent(local, distributed)


def test_dask_pools_each_kind_as_in_process():
    df = _with_kinds(6)
    local = TruthDiscovery("two-coin").fit(df)
    assert local.kinds_.tolist() == ["blog", "troll", "wire"]
    assert local.source_prior_.shape[0] == 3  # a learned prior per kind
    distributed = DaskTruthDiscovery("two-coin", npartitions=3).fit(
        dd.from_pandas(df, npartitions=2)
    )
    _assert_equivalent(local, distributed)
    # without pooling, kinds group nothing, as in process
    fixed = TruthDiscovery("two-coin", pooling=False).fit(df)
    _assert_equivalent(fixed, DaskTruthDiscovery("two-coin", pooling=False).fit(df))


def test_dask_stances_with_claim_labels_as_in_process():
    df, _ = _stances(2, ("against", "observing", "true"))  # "true" names a claim label
    options = {"model": "dawid-skene", "copying": False, "claim_labels": ["false", "true"]}
    local = TruthDiscovery(**options).fit(df)
    assert local.label_match_.tolist() == [-1, -1, 1]
    distributed = DaskTruthDiscovery(npartitions=3, **options).fit(
        dd.from_pandas(df, npartitions=2)
    )
    _assert_equivalent(local, distributed)


def test_dask_takes_claim_labels_from_gold_in_its_own_words_as_in_process():
    df, gold = _stances(3, ("against", "for", "observing"))
    y = gold.iloc[:100]
    # a shared error is tried when some claims' labels are known (shared_error=None)
    local = TruthDiscovery("dawid-skene", copying=False).fit(df, y)
    assert local.classes_.tolist() == ["false", "true"]
    assert local.selection_["shared_error"].any()
    distributed = DaskTruthDiscovery("dawid-skene", copying=False, npartitions=3).fit(
        dd.from_pandas(df, npartitions=2), y
    )
    _assert_equivalent(local, distributed)


def test_dask_date_kind_stances_gold_and_duplicates_together_as_in_process():
    df, truth = _dated(3, 200)
    rng = np.random.default_rng(3)
    label = np.where(df["label"].to_numpy() == 1, "true", "against").astype(object)
    label[rng.random(len(df)) < 0.15] = "observing"
    df["label"] = label
    # repeats, earlier in time but later in the file: the file's first report is kept
    repeats = df.sample(10, random_state=3).assign(label="observing", date="2024-01-01")
    df = pd.concat([df, repeats], ignore_index=True)
    y = truth.iloc[::5].map({0: "false", 1: "true"})
    options = {"model": "dawid-skene", "copying": True, "shared_error": True,
               "claim_labels": ["false", "true"], "duplicates": "first"}
    local = TruthDiscovery(**options).fit(df, y)
    assert local.kinds_.tolist() == ["adversarial", "honest"]
    distributed = DaskTruthDiscovery(npartitions=3, **options).fit(
        dd.from_pandas(df, npartitions=2), y
    )
    _assert_equivalent(local, distributed)


def _message(fit):
    with pytest.raises(CaseError) as err:
        fit()
    return str(err.value)


def test_dask_refuses_bad_dates_in_the_same_words(tmp_path):
    claims = [f"c{i}" for i in range(8) for _ in range(3)]
    df = pd.DataFrame({"claim": claims, "source": ["a", "b", "c"] * 8, "label": [0, 1, 1] * 8,
                       "date": [f"2024-01-0{1 + i % 9}" for i in range(24)]})
    df.loc[4, "date"], df.loc[5, "date"] = "yesterday", "2024-13-01"
    local = _message(lambda: TruthDiscovery().fit(df))
    assert local.splitlines()[0] == ("row 4, column 'date': not a date: 'yesterday' (give an "
                                     "ISO date, YYYY-MM-DD, or date-time)")
    assert len(local.splitlines()) == 2
    assert _message(lambda: DaskTruthDiscovery(npartitions=3).fit(
        dd.from_pandas(df, npartitions=2))) == local
    # a table read from a file: its path and lines (CSV), its rows from 1 (Parquet)
    df.rename(columns={"claim": "task"}).to_csv(tmp_path / "r.csv", index=False)
    table = read_reports(tmp_path / "r.csv")
    local = _message(lambda: TruthDiscovery().fit(table))
    assert local.startswith(f"{tmp_path / 'r.csv'}:6: column 'date': not a date")
    assert _message(lambda: DaskTruthDiscovery(npartitions=3).fit(
        dd.from_pandas(table, npartitions=2))) == local
    df.to_parquet(tmp_path / "r.parquet")
    local = _message(lambda: TruthDiscovery().fit(read_reports(tmp_path / "r.parquet")))
    assert local.startswith(f"{tmp_path / 'r.parquet'}: row 5, column 'date'")
    assert _message(lambda: DaskTruthDiscovery(npartitions=3).fit(
        str(tmp_path / "r.parquet"))) == local


def test_dask_refuses_a_source_given_two_kinds_in_the_same_words():
    claims = [f"c{i}" for i in range(8) for _ in range(3)]
    df = pd.DataFrame({"claim": claims, "source": ["a", "b", "c"] * 8, "label": [0, 1, 1] * 8})
    df["kind"] = np.where(df["source"] == "a", "wire", "blog").astype(object)
    # a's kind changes on claims that the shuffle puts in other partitions than its first
    df.loc[[9, 21], "kind"], df.loc[13, "kind"] = "blog", "wire"
    local = _message(lambda: TruthDiscovery().fit(df))
    assert local.splitlines() == [
        "row 9, column 'kind': source 'a' has kind 'blog' here but 'wire' before: a source "
        "has one kind",
        "row 13, column 'kind': source 'b' has kind 'wire' here but 'blog' before: a source "
        "has one kind",
        "row 21, column 'kind': source 'a' has kind 'blog' here but 'wire' before: a source "
        "has one kind",
    ]
    for n in (1, 4):
        assert _message(lambda n=n: DaskTruthDiscovery(npartitions=n).fit(
            dd.from_pandas(df, npartitions=2))) == local


def test_dask_refuses_bad_labels_in_the_same_words():
    df = pd.DataFrame({"claim": ["a", "a", "b", "b"], "source": ["x", "y", "x", "y"],
                       "label": ["0", "1", "1", "0"]})
    cases = [
        (df.assign(label="1"), {}, None),  # a single label
        (df.assign(label=["1", "1", None, "1"]), {}, None),  # the empty label comes first
        (df, {"claim_labels": ["x"]}, None),
        (df, {}, {"b": "7"}),  # a gold label no report uses
    ]
    for table, options, y in cases:
        local = _message(lambda t=table, o=options, y=y: TruthDiscovery(**o).fit(t, y))
        assert _message(lambda t=table, o=options, y=y: DaskTruthDiscovery(**o).fit(
            dd.from_pandas(t, npartitions=2), y)) == local


def test_dask_per_claim_candidates_with_dates_kinds_and_empty_partitions():
    df = pd.DataFrame({
        "claim": ["b1", "b1", "b1", "b2", "b2", "b3", "b3", "b3"],
        "source": ["s1", "s2", "s3", "s1", "s3", "s1", "s2", "s3"],
        "label": ["x", "x", "y", "z", "w", "x", "q", "q"],
        "date": ["2024-01-03", "2024-01-01", "2024-01-02", "2024-01-01", "2024-01-01",
                 "2024-01-05", "2024-01-02", "2024-01-01"],
        "kind": ["a", "b", "a", "a", "a", "a", "b", "a"],
    })
    options = {"candidates": "per-claim", "copying": True}
    local = TruthDiscovery(**options).fit(df, {"b1": "y"})
    # eight partitions for three claims: the shuffle leaves some empty
    distributed = DaskTruthDiscovery(npartitions=8, **options).fit(
        dd.from_pandas(df, npartitions=2), {"b1": "y"}
    )
    _assert_equivalent(local, distributed)
    pd.testing.assert_frame_equal(local.predict_proba(), distributed.predict_proba(),
                                  check_exact=False, atol=1e-8)


def test_dask_reads_gold_labels_as_in_process():
    df = _reports(6, n_claims=300)
    # no usable gold label (a claim not in the table, an empty label): no shared error tried
    y = pd.DataFrame({"claim": ["nowhere", "c00001"], "label": [1, None]})
    local = TruthDiscovery("two-coin", copying=False).fit(df, y)
    assert not local.selection_["shared_error"].any()
    distributed = DaskTruthDiscovery("two-coin", copying=False, npartitions=3).fit(
        dd.from_pandas(df, npartitions=2), y
    )
    _assert_equivalent(local, distributed)


def _assert_same_weights(a, b):
    want, got = a.report_weights_, b.report_weights_
    assert list(got.columns) == list(want.columns)
    for column in ("claim", "source", "label", "order", "claim_label"):
        np.testing.assert_array_equal(got[column], want[column], err_msg=column)
    numbers = [c for c in want.columns if c.startswith(("log10", "probability", "copy"))]
    np.testing.assert_allclose(got[numbers], want[numbers], rtol=0, atol=1e-8)


def test_dask_weighs_reports_as_in_process():
    # dated copy cascades (the time order from dates, rows shuffled), pooled, by kind
    df, _ = _dated(7, 150)
    local = TruthDiscovery("one-coin", copying=True, report_weights=True).fit(df)
    distributed = DaskTruthDiscovery(
        "one-coin", copying=True, report_weights=True, npartitions=3
    ).fit(dd.from_pandas(df, npartitions=2))
    _assert_equivalent(local, distributed)
    _assert_same_weights(local, distributed)


def test_dask_weighs_stances_and_per_claim_candidates_as_in_process():
    df, gold = _stances(3, ["false", "observing", "true"])
    local = TruthDiscovery(claim_labels=["false", "true"], report_weights=True).fit(
        df, gold.iloc[:100])
    distributed = DaskTruthDiscovery(
        claim_labels=["false", "true"], report_weights=True, npartitions=4
    ).fit(dd.from_pandas(df, npartitions=2), gold.iloc[:100])
    _assert_same_weights(local, distributed)
    values = _reports(2, n_claims=200).assign(label=lambda d: d["label"] * 10 + d.index % 3)
    local = TruthDiscovery(candidates="per-claim", report_weights=True).fit(values)
    distributed = DaskTruthDiscovery(
        candidates="per-claim", report_weights=True, npartitions=3
    ).fit(dd.from_pandas(values, npartitions=2))
    _assert_same_weights(local, distributed)
