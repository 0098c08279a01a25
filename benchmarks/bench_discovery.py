"""Truth discovery benchmark: credence against crowd-kit, on real data and at scale.

Run (data home pre-filled, crowd-kit installed from the ``bench`` extra)::

    CREDENCE_DATA_HOME=../shared/data python benchmarks/bench_discovery.py [--quick]

(a) every real data set: accuracy, log loss, Brier, ECE and time for
credence's default (model and copying chosen from the data, pooled priors), its
chosen fit alone (the model, copying and pooling it chose, given), and
crowd-kit's MajorityVote, DawidSkene and GLAD, beside published accuracies;
whether the default is at least as accurate as the better of crowd-kit's MV
and DS, and the speed-ups over crowd-kit's DS of the default and of its chosen
fit alone (model choice fits every candidate and refits it on each fold's
complement, so it costs some tens of fits). (b) the same sets with a track
record: five-fold cross-validation over the claims with known labels, each
fold scored by the default fit given the other folds' labels (``--truth``),
and by the same without a shared error, beside (a)'s fits without labels,
crowd-kit's and the training folds' base rate. (c) synthetic data, 10k to 10M
reports: time, peak traced memory, accuracy and ECE for two-coin, adversarial
and heavy-tailed sources, and copy cascades fitted with pooling and copying.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from credence import datasets
from credence.calibration import expected_calibration_error, log_loss
from credence.discovery import TruthDiscovery
from credence.discovery.simulate import copy_cascades
from credence.discovery.table import Reports, encode_reports

# Accuracies read from ../shared/data/PUBLISHED_RESULTS.md (section named).
PUBLISHED = {
    "zheng-product": "D&S .9366, MV .8966 (A, T6); DS .940, GLAD .928 (C)",
    "zheng-sentiment": "D&S .9600, MV .9331 (A, T6); DS .960, GLAD .948 (C)",
    "zheng-relevance": "D&S .6130, MV .5419 (A, T6); DS .615, GLAD .511 (C)",
    "zheng-adult": "DS .748, MV .763, GLAD .760 (C, 333 items)",
    "zheng-bluebirds": "c_EM .8796, GLAD .7685 (B); EBCC .8611 (D)",
    "zheng-dog": "c_EM .8426, GLAD .8352 (B); EBCC .8401 (D)",
    "zheng-face": "c_EM .6404, GLAD .6301 (B); EBCC .6353 (D)",
    "snow-rte": "c_EM .9275 (B); EBCC .9313 (D)",
    "snow-temp": "not found",
    "snow-wsd": "not found",
    "books": "not comparable (E: other cleanings)",
    "rumoureval": "not found",
}


def _scores(proba: pd.DataFrame, truth: pd.Series) -> tuple[float, float, float, float, int]:
    """Accuracy, log loss, Brier, top-label ECE on claims with truth; proba: claims x labels."""
    common = proba.index.intersection(truth.index)
    p = proba.loc[common]
    t = truth.loc[common]
    columns = list(p.columns)
    known = t.isin(columns).to_numpy()
    index = np.array([columns.index(v) if v in columns else 0 for v in t])
    matrix = p.to_numpy(dtype=float)
    matrix = matrix / matrix.sum(axis=1, keepdims=True)
    accuracy = float(((matrix.argmax(axis=1) == index) & known).mean())
    p_true = np.where(known, matrix[np.arange(len(index)), index], 0.0)
    loss = float(-np.mean(np.log(np.clip(p_true, 1e-15, 1.0))))
    right = ((matrix.argmax(axis=1) == index) & known).astype(int)
    ece = expected_calibration_error(right, matrix.max(axis=1))
    onehot = np.zeros_like(matrix)
    onehot[np.arange(len(index))[known], index[known]] = 1.0
    brier = float(((matrix - onehot) ** 2).sum(axis=1).mean())
    return accuracy, loss, brier, ece, len(common)


def _long_scores(proba: pd.DataFrame, truth: pd.Series) -> tuple[float, float, float, float, int]:
    """The same, for per-claim candidates (long form claim, label, probability)."""
    top = proba.sort_values("probability", ascending=False).drop_duplicates("claim")
    top = top.set_index("claim")
    common = top.index.intersection(truth.index)
    right = (top.loc[common, "label"] == truth.loc[common]).to_numpy().astype(int)
    conf = top.loc[common, "probability"].to_numpy()
    hit = proba.loc[proba["claim"].isin(common)]
    hit = hit.loc[hit["label"].to_numpy() == truth.reindex(hit["claim"]).to_numpy()]
    p_true = hit.set_index("claim")["probability"].reindex(common).fillna(0.0).to_numpy()
    loss = float(-np.mean(np.log(np.clip(p_true, 1e-15, 1.0))))
    squares = proba.loc[proba["claim"].isin(common)].assign(
        hit=lambda d: d["label"].to_numpy() == truth.reindex(d["claim"]).to_numpy()
    )
    brier = float(((squares["probability"] - squares["hit"]) ** 2).groupby(squares["claim"]).sum()
                  .reindex(common).fillna(1.0).mean())
    return float(right.mean()), loss, brier, expected_calibration_error(right, conf), len(common)


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def real_data(names: list[str], repeats: int, glad: bool = True) -> pd.DataFrame:
    from crowdkit.aggregation import GLAD, DawidSkene, MajorityVote

    rows = []
    choices: dict[str, str] = {}
    chosen: dict[str, TruthDiscovery] = {}
    for name in names:
        data = datasets.load(name)
        kit = data.reports.rename(columns={"claim": "task", "source": "worker"})
        methods = {}
        if data.candidates == "global":
            coded = encode_reports(data.reports)

            def default(c=coded):
                model = TruthDiscovery().fit(c)
                choices[name] = model.choice_
                chosen[name] = model
                return model.predict_proba()

            def one_fit(c=coded, n=name):
                # the default's choice, fitted alone: what model choice multiplies
                model = chosen[n]
                return TruthDiscovery(
                    model=model.model_, copying=model.copying_,
                    pooling=bool(model.priors_.pooling), shared_error=model.shared_error_,
                ).fit(c).predict_proba()

            methods["credence default"] = default
            methods["credence, chosen fit alone"] = one_fit
            methods["crowd-kit MV"] = lambda k=kit: MajorityVote().fit(k).probas_
            methods["crowd-kit DS"] = lambda k=kit: DawidSkene(n_iter=100).fit(k).probas_
            if glad:
                methods["crowd-kit GLAD"] = lambda k=kit: GLAD().fit(k).probas_
        else:
            coded = encode_reports(data.reports, candidates="per-claim")
            methods["credence default"] = lambda c=coded: TruthDiscovery(
                candidates="per-claim").fit(c).predict_proba()
            methods["crowd-kit MV"] = lambda k=kit: MajorityVote().fit(k).probas_
        for method, run in methods.items():
            times = []
            for _ in range(repeats if not method.endswith("GLAD") else 1):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    proba, elapsed = _timed(run)
                times.append(elapsed)
            if "claim" in getattr(proba, "columns", []):
                acc, loss, brier, ece, n = _long_scores(proba, data.truth)
            else:
                proba.index = proba.index.astype(str)
                proba.columns = proba.columns.astype(str)
                acc, loss, brier, ece, n = _scores(proba, data.truth)
            rows.append({"data": name, "reports": len(data.reports), "scored": n,
                         "method": method, "accuracy": acc, "log_loss": loss, "brier": brier,
                         "ece": ece, "seconds": min(times)})
            print(f"  {name:16s} {method:22s} acc {acc:.4f}  {min(times):7.3f}s",
                  file=sys.stderr, flush=True)
    for name, choice in choices.items():
        print(f"  {name}: {choice}", file=sys.stderr)
    return pd.DataFrame(rows)


def track_record(names: list[str], folds: int = 5, seed: int = 0) -> pd.DataFrame:
    """The global-label sets with a track record: each fold's claims scored by a fit given
    the other folds' known labels (cross-validated), with and without a shared error,
    and by the training folds' base rate."""
    rows = []
    for name in names:
        data = datasets.load(name)
        if data.candidates != "global":
            continue
        truth = data.truth.astype(str)
        truth = truth.loc[truth.index.isin(data.reports["claim"])]  # (adult: 333 of 1,517)
        claims = np.array(sorted(truth.index))
        fold = np.random.default_rng(seed).permutation(claims.size) % folds
        runs = {"credence, track record": None, "track record, no shared error": False}
        fitted = {method: [] for method in (*runs, "base rate")}
        seconds = dict.fromkeys(fitted, 0.0)
        for f in range(folds):
            test = fold == f
            gold = truth.loc[claims[~test]]
            for method, shared in runs.items():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model, elapsed = _timed(lambda g=gold, s=shared: TruthDiscovery(
                        shared_error=s).fit(data.reports, g))
                seconds[method] += elapsed
                proba = model.predict_proba()
                proba.index = proba.index.astype(str)
                proba.columns = proba.columns.astype(str)
                fitted[method].append(proba.reindex(claims[test]))
            prior = gold.value_counts(normalize=True).reindex(proba.columns, fill_value=0.0)
            fitted["base rate"].append(pd.DataFrame(
                [prior.to_numpy()] * int(test.sum()), index=claims[test], columns=proba.columns))
        for method, parts in fitted.items():
            acc, loss, brier, ece, n = _scores(pd.concat(parts).clip(lower=1e-15), truth)
            rows.append({"data": name, "scored": n, "method": method, "accuracy": acc,
                         "log_loss": loss, "brier": brier, "ece": ece,
                         "seconds": seconds[method]})
        print(f"  {name:16s} track record  acc {rows[-3]['accuracy']:.4f}  "
              f"{seconds['credence, track record']:7.2f}s", file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def _synthetic(kind: str, n_reports: int, seed: int) -> tuple[Reports, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_claims = max(n_reports // 8, 10)
    if kind == "heavy-tailed":
        # Zipf-like activity: most sources write one or two reports
        n_sources = max(n_reports // 20, 50)
        weight = 1.0 / np.arange(1, n_sources + 1) ** 1.1
        source = rng.choice(n_sources, n_reports, p=weight / weight.sum())
    else:
        n_sources = 2000
        source = rng.integers(0, n_sources, n_reports)
    claim = rng.integers(0, n_claims, n_reports)
    key = np.unique(claim * np.int64(n_sources) + source)
    claim, source = key // n_sources, key % n_sources
    truth = (rng.random(n_claims) < 0.3).astype(np.intp)
    if kind == "two-coin":
        sens = rng.beta(8, 2, n_sources)
        fpr = rng.beta(2, 8, n_sources)
        p_yes = np.where(truth[claim] == 1, sens[source], fpr[source])
        label = (rng.random(claim.size) < p_yes).astype(np.intp)
    else:
        acc = rng.beta(2, 1, n_sources)
        if kind == "adversarial":
            bad = rng.random(n_sources) < 0.3
            acc[bad] = rng.uniform(0.1, 0.4, bad.sum())
        right = rng.random(claim.size) < acc[source]
        label = np.where(right, truth[claim], 1 - truth[claim]).astype(np.intp)
    used, claim = np.unique(claim, return_inverse=True)
    reports = Reports(
        claims=used, sources=np.arange(n_sources), classes=np.array([0, 1]),
        claim=claim.astype(np.intp), source=source.astype(np.intp), label=label,
        n_candidates=np.full(used.size, 2, np.intp), candidate_values=None,
        gold=np.full(used.size, -1, np.intp),
    )
    return reports, truth[used]


def scaling(sizes: list[int], kit_limit: int) -> pd.DataFrame:
    from crowdkit.aggregation import DawidSkene

    rows = []
    for kind, model, copying in (("two-coin", "two-coin", False),
                                 ("adversarial", "one-coin", False),
                                 ("heavy-tailed", "one-coin", False),
                                 ("copy cascades", "one-coin", True)):
        for size in sizes:
            if kind == "copy cascades":
                sim = copy_cascades(size // 6, 2000, seed=size % 9973)
                reports = encode_reports(sim.reports[["claim", "source", "label"]])
                truth = sim.truth.loc[reports.claims].to_numpy()
            else:
                reports, truth = _synthetic(kind, size, seed=size % 9973)
            tracemalloc.start()
            fitted, elapsed = _timed(lambda m=model, r=reports, c=copying: TruthDiscovery(
                m, copying=c).fit(r))
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            proba = fitted.claim_posterior_
            row = {"sources": kind, "model": model + (" +copy" if copying else ""),
                   "pooled": True, "reports": reports.n_reports,
                   "seconds": elapsed, "peak_MiB": peak / 2**20,
                   "iterations": fitted.n_iter_,
                   "accuracy": float((proba.argmax(1) == truth).mean()),
                   "ece": expected_calibration_error(truth, proba),
                   "log_loss": log_loss(truth, proba)}
            if size <= kit_limit:
                kit = pd.DataFrame({"task": reports.claim, "worker": reports.source,
                                    "label": reports.label})
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ds, ds_time = _timed(lambda k=kit: DawidSkene(n_iter=100).fit(k))
                ds_proba = ds.probas_.reindex(columns=[0, 1]).fillna(0).sort_index().to_numpy()
                row["kit_DS_seconds"] = ds_time
                row["kit_DS_accuracy"] = float((ds_proba.argmax(1) == truth).mean())
            rows.append(row)
            print(f"  {kind:12s} {reports.n_reports:>10,d} {elapsed:7.2f}s "
                  f"{peak / 2**20:8.0f} MiB", file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sets and sizes only")
    parser.add_argument("--no-glad", action="store_true", help="leave out crowd-kit's GLAD (slow)")
    parser.add_argument("--max-reports", type=int, default=10_000_000,
                        help="largest synthetic size (default 10,000,000)")
    args = parser.parse_args()
    if datasets.data_home() is None:
        default = Path(__file__).resolve().parents[2] / "shared" / "data"
        if default.is_dir():
            os.environ["CREDENCE_DATA_HOME"] = str(default)
    names = list(datasets.DATASETS)
    if args.quick:
        names = ["zheng-sentiment", "snow-rte", "zheng-dog", "books"]
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000, 10_000_000]
    sizes = [n for n in sizes if n <= args.max_reports]
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)

    repeats = 1 if args.quick else 3
    print(f"(a) real data: credence vs crowd-kit (time: best of {repeats}; GLAD once)\n")
    table = real_data(names, repeats=repeats, glad=not args.no_glad)
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    print("\ncredence default against the better of crowd-kit MV and DS, and speed-up "
          "over crowd-kit DS, of the default (model choice: each candidate fitted, then "
          "refitted on each fold's complement) and of its chosen fit alone:\n")
    wide = table.pivot(index="data", columns="method", values=["seconds", "accuracy"])
    if ("seconds", "crowd-kit DS") in wide.columns:
        best_kit = wide["accuracy"][["crowd-kit MV", "crowd-kit DS"]].max(axis=1)
        summary = pd.DataFrame({
            "credence": wide["accuracy", "credence default"],
            "best_MV_DS": best_kit,
            "at_least": wide["accuracy", "credence default"] >= best_kit - 1e-12,
            "speedup": wide["seconds", "crowd-kit DS"] / wide["seconds", "credence default"],
            "speedup_one_fit": (wide["seconds", "crowd-kit DS"]
                                / wide["seconds", "credence, chosen fit alone"]),
            "published": [PUBLISHED.get(n, "") for n in wide.index],
        }).dropna(subset=["speedup"])
        print(summary.to_string(float_format=lambda x: f"{x:.4f}"))
    print("\n(b) real data with a track record: 5-fold cross-validation over the claims "
          "with known labels, the other folds' labels given\n")
    record = track_record(names)
    print(record.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    print("\nwith a track record, against the same sets without one (a) and crowd-kit's:\n")
    metric = ["accuracy", "log_loss", "ece"]
    both = pd.concat([record, table]).pivot(index="data", columns="method", values=metric)
    methods = ["credence, track record", "track record, no shared error", "credence default",
               "crowd-kit MV", "crowd-kit DS", "base rate"]
    compare = pd.concat({m: both[m][methods] for m in metric}, axis=1)
    compare = compare.dropna(subset=[("accuracy", "credence, track record")])
    print(compare.rename(columns={"credence, track record": "track record",
                                  "track record, no shared error": "no shared error",
                                  "credence default": "no labels"})
          .to_string(float_format=lambda x: f"{x:.3f}"))
    print("\n(c) synthetic data drawn from the model: scaling\n")
    scale = scaling(sizes, kit_limit=100_000 if args.quick else 1_000_000)
    print(scale.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
