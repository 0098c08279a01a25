"""Calibration of truth discovery: RumourEval stances and synthetic copy cascades.

Run (crowd-kit installed from the ``bench`` extra; data home pre-filled)::

    CREDENCE_DATA_HOME=../shared/data python benchmarks/bench_calibration.py [--quick]

(a) RumourEval 2017: every annotated reply (support, deny, query, comment) is a
report on its thread, in tweet time order (``date``); thread veracity is the
claim label (true / false; unverified threads left out). Five-fold
cross-validation over threads: the other folds' veracities are given as
``--truth``. Compared, on the same folds: credence's default (model chosen,
pooled, copying and a shared error chosen), credence without a shared error,
credence with independent reports (neither), majority stance
(Laplace-smoothed share of "support" among support and deny), crowd-kit
MajorityVote and DawidSkene on the support / deny reports, and the training
folds' base rate; and each method's log loss minus credence's default, with the
standard error of that paired difference over threads. (b) Synthetic tables
with copy cascades, heavy-tailed source activity, adversarial sources and
thin records (2,000 sources, a few reports each) (credence.discovery.simulate),
without known labels; and one whose claims' reports
share errors (a story true with probability 0.85), half its claims' labels given
and the other half scored. (d) Small fact-checking sheets (4-15 claims, 3-6
sources, one claim resolved): credence's default (fixed priors, with so few
sources), the simplest model (one-coin, fixed priors, independent reports) and a
Laplace-smoothed majority vote on the unresolved claims, pooled over sheets; (e)
the same with half the sources repeating earlier reports.

For each: accuracy, log loss, Brier, ECE (10 bins), the ECE a perfectly
calibrated predictor would show on the same predictions (90th percentile of
simulated outcomes) and Spiegelhalter's z; the reliability diagram of
credence's default is printed after each table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from credence.calibration import (
    brier_score,
    ece_noise_floor,
    expected_calibration_error,
    log_loss,
    reliability_diagram,
    spiegelhalter_z,
)
from credence.discovery import TruthDiscovery
from credence.discovery.simulate import copy_cascades

RUMOUR = "rumoureval2017_semeval_task8/DERIVED_rumoureval2017_tweets_stance_veracity.csv"
STANCE = {"support": "true", "deny": "false", "query": "query", "comment": "comment"}


def _data_home() -> Path:
    home = os.environ.get("CREDENCE_DATA_HOME")
    if home:
        return Path(home)
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def rumoureval() -> tuple[pd.DataFrame, pd.Series]:
    """Reports (claim, source, label, date) and thread veracity (true / false)."""
    df = pd.read_csv(_data_home() / RUMOUR, dtype=str)
    df = df.loc[df["thread_veracity"].isin(["true", "false"]) & df["stance_sdqc"].notna()]
    when = pd.to_datetime(df["created_at"], format="%a %b %d %H:%M:%S %z %Y", utc=True)
    reports = pd.DataFrame({
        "claim": df["thread_id"],
        "source": df["user_id"],
        "label": df["stance_sdqc"].map(STANCE),
        "date": when.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }).drop_duplicates(["claim", "source"]).reset_index(drop=True)
    truth = df.groupby("thread_id")["thread_veracity"].first()
    return reports, truth.loc[truth.index.isin(reports["claim"])]


def _scores(y: np.ndarray, p: np.ndarray) -> dict:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return {
        "accuracy": float(((p > 0.5) == y).mean()),
        "log_loss": log_loss(y, p),
        "brier": brier_score(y, p),
        "ece": expected_calibration_error(y, p),
        "ece_floor90": ece_noise_floor(p),
        "z": spiegelhalter_z(y, p),
    }


def _majority_stance(reports: pd.DataFrame, claims: np.ndarray) -> np.ndarray:
    votes = pd.crosstab(reports["claim"], reports["label"]).reindex(claims).fillna(0)
    yes = votes.get("true", 0)
    no = votes.get("false", 0)
    return ((yes + 1) / (yes + no + 2)).to_numpy(float)


def _crowd_kit(reports: pd.DataFrame, claims: np.ndarray, method, fallback: float) -> np.ndarray:
    two = reports.loc[reports["label"].isin(["true", "false"])]
    kit = two.rename(columns={"claim": "task", "source": "worker"})[["task", "worker", "label"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proba = method.fit(kit).probas_
    if "true" not in proba.columns:
        return np.full(claims.size, fallback)
    return proba["true"].reindex(claims).fillna(fallback).to_numpy(float)


def rumour_table(folds: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, str]:
    from crowdkit.aggregation import DawidSkene, MajorityVote

    reports, truth = rumoureval()
    claims = np.array(sorted(truth.index))
    y = (truth.loc[claims] == "true").to_numpy(int)
    fold = np.random.default_rng(seed).permutation(claims.size) % folds
    methods = ["credence default", "credence, no shared error", "credence independent",
               "majority stance", "crowd-kit MV", "crowd-kit DS", "base rate"]
    p = {m: np.zeros(claims.size) for m in methods}
    seconds = {m: 0.0 for m in methods}
    choices = []
    for f in range(folds):
        test = fold == f
        gold = truth.loc[claims[~test]]
        base = float(y[~test].mean())
        runs = {
            "credence default": lambda g=gold: TruthDiscovery(claim_labels=["false", "true"]).fit(
                reports, g),
            "credence, no shared error": lambda g=gold: TruthDiscovery(
                claim_labels=["false", "true"], shared_error=False).fit(reports, g),
            "credence independent": lambda g=gold: TruthDiscovery(
                claim_labels=["false", "true"], copying=False, shared_error=False).fit(reports, g),
        }
        for name, run in runs.items():
            start = time.perf_counter()
            model = run()
            seconds[name] += time.perf_counter() - start
            p[name][test] = model.predict_proba().loc[claims[test], "true"].to_numpy()
            if name == "credence default":
                choices.append(model.choice_)
        p["majority stance"][test] = _majority_stance(reports, claims[test])
        start = time.perf_counter()
        p["crowd-kit MV"][test] = _crowd_kit(reports, claims, MajorityVote(), base)[test]
        seconds["crowd-kit MV"] += time.perf_counter() - start
        start = time.perf_counter()
        p["crowd-kit DS"][test] = _crowd_kit(reports, claims, DawidSkene(n_iter=100), base)[test]
        seconds["crowd-kit DS"] += time.perf_counter() - start
        p["base rate"][test] = base
    ours = _per_claim_log_loss(y, p["credence default"])
    rows = []
    for m in methods:
        gap = _per_claim_log_loss(y, p[m]) - ours
        rows.append({"method": m, **_scores(y, p[m]), "vs default": gap.mean(),
                     "se": gap.std(ddof=1) / np.sqrt(gap.size), "seconds": seconds[m]})
    return pd.DataFrame(rows), y, p["credence default"], choices[0]


def _per_claim_log_loss(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))


def _crowd_kit_runs(kit: pd.DataFrame, claims: pd.Index) -> list[tuple[str, np.ndarray, float]]:
    """crowd-kit's MajorityVote and DawidSkene on 0/1 reports: P(label 1) per claim, seconds."""
    from crowdkit.aggregation import DawidSkene, MajorityVote

    runs = []
    for method, kit_model in (("crowd-kit MV", MajorityVote()),
                              ("crowd-kit DS", DawidSkene(n_iter=100))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            proba = kit_model.fit(kit).probas_
            elapsed = time.perf_counter() - start
        runs.append((method, proba.reindex(claims)[1].fillna(0.5).to_numpy(float), elapsed))
    return runs


def synthetic_table(n_claims: int) -> tuple[pd.DataFrame, dict]:
    settings = {
        "copy cascades": {"copy": (6.0, 4.0)},
        "heavy tails + copying": {"copy": (6.0, 4.0), "heavy_tail": True},
        "adversarial + copying": {"copy": (6.0, 4.0), "adversarial": 0.3},
        "thin records + copying": {"copy": (6.0, 4.0), "n_sources": 2000},
        "independent": {"copy": (0.01, 100.0)},
    }
    rows, diagrams = [], {}
    for name, extra in settings.items():
        extra = {"n_sources": 300, **extra}
        sim = copy_cascades(n_claims, seed=11, **extra)
        reports = sim.reports[["claim", "source", "label"]]
        y = sim.truth.to_numpy()
        kit = reports.rename(columns={"claim": "task", "source": "worker"})
        base = np.full(y.size, y.mean())
        runs = {
            "credence default": lambda r=reports: TruthDiscovery().fit(r),
            "credence independent": lambda r=reports: TruthDiscovery(copying=False).fit(r),
        }
        for method, run in runs.items():
            start = time.perf_counter()
            model = run()
            elapsed = time.perf_counter() - start
            p = model.predict_proba().loc[sim.truth.index, 1].to_numpy()
            rows.append({"data": name, "method": method, **_scores(y, p), "seconds": elapsed,
                         "chosen": f"{model.model_}{' +copy' if model.copying_ else ''}"})
            if method == "credence default":
                diagrams[name] = reliability_diagram(y, p)
        for method, p, elapsed in _crowd_kit_runs(kit, sim.truth.index):
            rows.append({"data": name, "method": method, **_scores(y, p), "seconds": elapsed,
                         "chosen": ""})
        rows.append({"data": name, "method": "base rate", **_scores(y, base), "seconds": 0.0,
                     "chosen": ""})
    return pd.DataFrame(rows), diagrams


def shared_error_table(n_claims: int) -> tuple[pd.DataFrame, object]:
    """Reports sharing errors (fidelity 0.85), some copying; half the labels known."""
    sim = copy_cascades(n_claims, 300, seed=12, copy=(2.0, 8.0), fidelity=0.85)
    reports = sim.reports[["claim", "source", "label"]]
    known = sim.truth.iloc[::2]
    hidden = sim.truth.drop(known.index)
    y = hidden.to_numpy()
    rows, diagram = [], None
    runs = {
        "credence default": {},
        "credence, no shared error": {"shared_error": False},
        "credence independent": {"shared_error": False, "copying": False},
    }
    for method, options in runs.items():
        start = time.perf_counter()
        model = TruthDiscovery(**options).fit(reports, known)
        elapsed = time.perf_counter() - start
        p = model.predict_proba().loc[hidden.index, 1].to_numpy()
        rows.append({"method": method, **_scores(y, p), "seconds": elapsed,
                     "chosen": model.choice_.split(":")[0]})
        if method == "credence default":
            diagram = reliability_diagram(y, p)
            if model.shared_error_:
                rows[-1]["chosen"] += f" (fidelity {np.round(model.fidelity_, 3).tolist()})"
    kit = reports.rename(columns={"claim": "task", "source": "worker"})
    for method, p, elapsed in _crowd_kit_runs(kit, hidden.index):
        rows.append({"method": method, **_scores(y, p), "seconds": elapsed, "chosen": ""})
    base = np.full(y.size, known.mean())
    rows.append({"method": "base rate", **_scores(y, base), "seconds": 0.0, "chosen": ""})
    return pd.DataFrame(rows), diagram


def _sheet(rng: np.random.Generator, copy: float) -> tuple[pd.DataFrame, np.ndarray]:
    """One sheet's reports, in order, and its claims' truths (see :func:`small_sheets`)."""
    n, s = int(rng.integers(4, 16)), int(rng.integers(3, 7))
    accuracy = rng.beta(6.0, 2.0, s)
    copier = rng.random(s) < 0.5 if copy else np.zeros(s, bool)
    truth = rng.integers(0, 2, n)
    rows = []
    for i in range(n):
        said: list[int] = []
        for j in rng.choice(s, int(rng.integers(2, s + 1)), False):
            if said and copier[j] and rng.random() < copy:  # repeats an earlier report
                label = said[int(rng.integers(len(said)))]
            else:
                label = int(truth[i] if rng.random() < accuracy[j] else 1 - truth[i])
            said.append(label)
            rows.append((f"c{i}", f"s{j}", label))
    return pd.DataFrame(rows, columns=["claim", "source", "label"]), truth


def small_sheets(n_tables: int, seed: int = 0, copy: float = 0.0) -> pd.DataFrame:
    """Fact-checkers' sheets: 4-15 claims, 3-6 sources, one claim resolved; the rest scored.

    Sources' accuracies are drawn from Beta(6, 2); each claim is reported by two
    or more of them, in order. With ``copy``, about half the sources repeat an
    earlier report on the claim (chosen uniformly) with that probability. The
    scored claims of every sheet are pooled.
    """
    rng = np.random.default_rng(seed)
    runs = {"credence default": {},
            "credence one-coin, fixed priors, independent": {
                "model": "one-coin", "pooling": False, "copying": False, "shared_error": False}}
    p: dict[str, list] = {m: [] for m in [*runs, "majority vote"]}
    y: list[int] = []
    for _ in range(n_tables):
        reports, truth = _sheet(rng, copy)
        n = truth.size
        scored = [f"c{i}" for i in range(1, n)]
        y.extend(truth[1:])
        for method, options in runs.items():
            model = TruthDiscovery(**options).fit(reports, {"c0": int(truth[0])})
            p[method].extend(model.predict_proba().loc[scored, 1])
        votes = reports.groupby("claim")["label"].agg(["sum", "count"]).loc[scored]
        p["majority vote"].extend((votes["sum"] + 1) / (votes["count"] + 2))
    y_all = np.array(y)
    table = pd.DataFrame([{"method": m, **_scores(y_all, np.array(v, float))} for m, v in p.items()])
    print(f"{n_tables} sheets, {y_all.size} scored claims\n")
    return table


def _diagram(title: str, diagram) -> None:
    print(f"\nreliability diagram, {title}:")
    print("  bin          n   mean p   frequency")
    for i, n in enumerate(diagram.count):
        if n:
            lo, hi = diagram.edges[i], diagram.edges[i + 1]
            print(f"  [{lo:.1f}, {hi:.1f})  {int(n):5d}   {diagram.confidence[i]:.3f}    "
                  f"{diagram.frequency[i]:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer synthetic claims")
    args = parser.parse_args()
    pd.set_option("display.width", 200)
    fmt = {"float_format": lambda x: f"{x:.4f}", "index": False}
    print("(a) RumourEval 2017, reply stances -> thread veracity, 5-fold cross-validation\n")
    table, y, p, choice = rumour_table(5, seed=0)
    print(f"{y.size} threads ({y.mean():.3f} true); credence's choice on fold 1: {choice}\n")
    print(table.to_string(**fmt))
    _diagram("RumourEval, credence default", reliability_diagram(y, p))
    n = 3000 if args.quick else 10_000
    print(f"\n(b) synthetic, {n:,} claims, 6 reports each, 300 sources (thin records: 2,000)\n")
    synth, diagrams = synthetic_table(n)
    print(synth.to_string(**fmt))
    for name, diagram in diagrams.items():
        _diagram(f"{name}, credence default", diagram)
    print(f"\n(c) synthetic shared errors, {n:,} claims (half labelled), fidelity 0.85\n")
    shared, diagram = shared_error_table(n)
    print(shared.to_string(**fmt))
    _diagram("shared errors, credence default", diagram)
    sheets = 60 if args.quick else 200
    print("\n(d) small fact-checking sheets, one claim resolved in each\n")
    print(small_sheets(sheets).to_string(**fmt))
    print("\n(e) the same, half the sources repeating an earlier report 80% of the time\n")
    print(small_sheets(sheets, seed=1, copy=0.8).to_string(**fmt))
    return 0


if __name__ == "__main__":
    sys.exit(main())
