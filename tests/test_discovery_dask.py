"""The Dask fit equals the in-process fit, and survives a killed worker."""

import os
import signal

import numpy as np
import pandas as pd
import pytest

from credence.discovery import TruthDiscovery

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
    local = TruthDiscovery("two-coin").fit(df)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
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
    _assert_same(local, distributed)


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
