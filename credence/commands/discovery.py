"""``credence discover`` and ``credence evaluate``: truth discovery from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["register"]

#: Fits with at least this many reports show a progress bar (on a terminal).
PROGRESS_THRESHOLD = 200_000


def _fit(model: Any, reports: Any, gold: Any, progress: bool) -> None:
    if not progress:
        model.fit(reports, gold)
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    columns = (TextColumn("fitting"), BarColumn(), TextColumn("{task.fields[status]}"),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("fit", total=model.max_iter, status="")

        def report(info: Any) -> None:
            bar.update(task, completed=info.iteration,
                       status=f"iteration {info.iteration}, ELBO change {info.elbo_change:.1e}")

        model.fit(reports, gold, callback=report)


def _discover(args: argparse.Namespace) -> int:
    from credence.cli import UsageError
    from credence.discovery.bridge import sources_yaml
    from credence.discovery.estimator import TruthDiscovery
    from credence.discovery.table import read_gold, read_reports
    from credence.errors import CaseError
    from credence.io import atomic_write

    if args.max_iter < 1 or args.tol < 0:
        raise UsageError("--max-iter must be at least 1 and --tol non-negative")
    reports = read_reports(args.reports)
    gold = read_gold(args.truth) if args.truth else None
    model = TruthDiscovery(
        args.model,
        candidates=args.candidates,
        duplicates="first" if args.keep_first else "error",
        max_iter=args.max_iter,
        tol=args.tol,
    )
    progress = not args.quiet and len(reports) >= PROGRESS_THRESHOLD and sys.stderr.isatty()
    try:
        _fit(model, reports, gold, progress)
    except CaseError as err:
        raise (err if err.path else err.with_path(args.reports)) from None
    except ValueError as err:
        raise UsageError(str(err)) from None
    table = model.predict_table()
    atomic_write(args.output, table.to_csv(index=False, lineterminator="\n"))
    if args.sources_out:
        try:
            text = sources_yaml(model)
        except CaseError as err:
            raise UsageError(f"--sources-out: {err}") from None
        atomic_write(args.sources_out, text)
    if not args.quiet:
        state = "converged" if model.converged_ else "did not converge"
        print(
            f"{args.reports}: {len(reports):,} reports, {model.claims_.size:,} claims, "
            f"{model.sources_.size:,} sources; {model.model} {state} in {model.n_iter_} "
            f"iterations; wrote {args.output}"
            + (f" and {args.sources_out}" if args.sources_out else ""),
            file=sys.stderr,
        )
    return 0


def _read_predictions(path: str) -> Any:
    import pandas as pd

    from credence.errors import CaseError

    try:
        df = pd.read_csv(path, dtype={"claim": str, "label": str})
    except FileNotFoundError:
        raise CaseError("file not found", path=path) from None
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as err:
        raise CaseError(f"cannot read the table: {str(err).strip()[:200]}", path=path) from None
    missing = [c for c in ("claim", "label", "probability") if c not in df.columns]
    if missing:
        raise CaseError(
            f"missing column {', '.join(missing)} (need claim, label, probability)", path=path
        )
    df = df.loc[:, ["claim", "label", "probability"]]
    for column in df.columns:
        bad = df[column].isna().to_numpy()
        if bad.any():
            line = int(bad.argmax()) + 2
            raise CaseError(f"missing or non-numeric value in column {column!r}",
                            f"line {line}", path)
    p = pd.to_numeric(df["probability"], errors="coerce").to_numpy()
    bad = ~((p >= 0) & (p <= 1))
    if bad.any():
        raise CaseError("probability must be a number in [0, 1]", f"line {int(bad.argmax()) + 2}",
                        path)
    if df.duplicated(["claim", "label"]).any():
        line = int(df.duplicated(["claim", "label"]).to_numpy().argmax()) + 2
        raise CaseError("a (claim, label) pair appears twice", f"line {line}", path)
    return df.assign(probability=p)


def _evaluate(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from credence.calibration import brier_score, expected_calibration_error, log_loss
    from credence.discovery.table import read_gold
    from credence.errors import CaseError

    predictions = _read_predictions(args.predictions)
    truth = read_gold(args.truth).set_index("claim")["label"]
    top = predictions.sort_values("probability", ascending=False, kind="stable")
    top = top.drop_duplicates("claim").set_index("claim")
    common = top.index.intersection(truth.index)
    if common.empty:
        raise CaseError(
            f"no claim of {args.predictions} has a label in {args.truth} "
            "(are the claim ids written the same way in both?)"
        )
    full = predictions.groupby("claim").size().max() > 1
    if full:
        # Every label's probability is given: score the whole distribution.
        # A label without a row has probability 0.
        rows = predictions.loc[predictions["claim"].isin(common)]
        hit = (rows["label"].to_numpy() == truth.reindex(rows["claim"]).to_numpy())
        squares = ((rows["probability"] - hit) ** 2).groupby(rows["claim"]).sum()
        p_true = pd.Series(rows["probability"].to_numpy()[hit],
                           index=rows["claim"].to_numpy()[hit]).reindex(common).fillna(0.0)
        absent = ~common.isin(rows["claim"].to_numpy()[hit])
        brier = float(squares.reindex(common).fillna(0.0).sum() + absent.sum()) / common.size
        loss = float(-np.mean(np.log(np.clip(p_true.to_numpy(), 1e-15, 1.0))))
        right = (top.loc[common, "label"] == truth.loc[common]).to_numpy().astype(float)
        ece = expected_calibration_error(right, top.loc[common, "probability"].to_numpy(),
                                         n_bins=args.bins)
    else:
        right = (top.loc[common, "label"] == truth.loc[common]).to_numpy().astype(float)
        confidence = top.loc[common, "probability"].to_numpy()
        brier = brier_score(right, confidence)
        loss = log_loss(right, confidence)
        ece = expected_calibration_error(right, confidence, n_bins=args.bins)
    result = {
        "n": int(common.size),
        "n_predictions": int(top.shape[0]),
        "n_truth": int(truth.shape[0]),
        "accuracy": float(right.mean()),
        "brier": float(brier),
        "log_loss": float(loss),
        "ece": float(ece),
        "scored": "full distribution" if full else "top label",
    }
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        print(
            f"{result['n']:,} claims scored ({result['scored']})\n"
            f"accuracy  {result['accuracy']:.4f}\n"
            f"Brier     {result['brier']:.4f}\n"
            f"log loss  {result['log_loss']:.4f}\n"
            f"ECE       {result['ece']:.4f}  ({args.bins} bins)"
        )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``discover`` and ``evaluate`` to the ``credence`` parser.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The parser's subcommands.
    """
    p = sub.add_parser(
        "discover",
        help="learn claims' truths and sources' reliabilities from a table of reports",
        description=(
            "Read reports (CSV/TSV/Parquet with columns claim, source, label, or task, worker, "
            "label), fit a truth-discovery model, and write each claim's most probable label "
            "and its posterior probability."
        ),
    )
    p.add_argument("reports", metavar="REPORTS", help="table of reports (.csv, .tsv, .parquet)")
    p.add_argument("-o", "--output", required=True, metavar="CLAIMS.csv",
                   help="where to write claim, label, probability")
    p.add_argument("--model", choices=["one-coin", "two-coin", "dawid-skene"],
                   default="one-coin", help="source model (default one-coin)")
    p.add_argument("--candidates", choices=["global", "per-claim"], default="global",
                   help="one label set for all claims (default), or each claim's asserted values")
    p.add_argument("--sources-out", metavar="SOURCES.yaml",
                   help="write the learned reliabilities as a case-file sources: list")
    p.add_argument("--truth", metavar="GOLD.csv",
                   help="known labels of some claims (claim, label) to learn from")
    p.add_argument("--keep-first", action="store_true",
                   help="keep a source's first report on a claim instead of stopping at repeats")
    p.add_argument("--max-iter", type=int, default=500)
    p.add_argument("--tol", type=float, default=1e-6,
                   help="stop when an iteration changes the ELBO by at most TOL relative")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(run=_discover)

    p = sub.add_parser(
        "evaluate",
        help="score predicted probabilities against known labels",
        description=(
            "Accuracy, Brier score, log loss and expected calibration error of predictions "
            "(claim, label, probability: one row per claim for the top label, or one per label)."
        ),
    )
    p.add_argument("predictions", metavar="PREDICTIONS.csv")
    p.add_argument("--truth", required=True, metavar="TRUTH.csv", help="claim, label")
    p.add_argument("--bins", type=int, default=10, help="bins of the calibration error")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(run=_evaluate)
