"""``credence discover`` and ``credence evaluate``: truth discovery from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from credence.commands import fraction_argument, whole_number_argument
from credence.errors import printable
from credence.options import MAX_BINS, MAX_ITER

__all__ = ["register"]

#: Fits with at least this many reports show a progress bar (on a terminal).
PROGRESS_THRESHOLD = 200_000
#: Fits with at least this many sources show a spinner while their sources are exported
#: (with pooling, integrating the prior's uncertainty takes 0.1-0.2 ms a source).
EXPORT_THRESHOLD = 5_000

#: What ``auto|yes|no`` options ask of the estimator (None: chosen from the data).
CHOICE = {"auto": None, "yes": True, "no": False}


def _fit(model: Any, reports: Any, gold: Any, progress: bool) -> None:
    if not progress:
        model.fit(reports, gold)
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Column

    console = Console(stderr=True)
    # a model choice runs several fits: each restarts the bar, out of its own most
    # iterations, and names itself (cut short on a narrow terminal; the count and the
    # time always shown)
    columns = (
        TextColumn("fitting {task.fields[stage]}",
                   table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis")),
        BarColumn(bar_width=20),
        TextColumn("iteration {task.completed:>3.0f}/{task.total:.0f}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True, expand=True) as bar:
        task = bar.add_task("fit", total=model.max_iter, stage="")

        def report(info: Any) -> None:
            bar.update(task, completed=info.iteration, total=info.max_iter, stage=info.stage)

        model.fit(reports, gold, callback=report)


def _spinner(text: str, shown: bool) -> Any:
    """A spinner on the terminal while a step runs (or nothing)."""
    if not shown:
        from contextlib import nullcontext

        return nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(text)


def _discover(args: argparse.Namespace) -> int:
    from credence.discovery.bridge import sources_yaml
    from credence.discovery.estimator import TruthDiscovery
    from credence.discovery.table import read_gold, read_reports
    from credence.errors import CaseError
    from credence.files import check_outputs, write_outputs

    inputs = [args.reports, *([args.truth] if args.truth else [])]
    extra = [path for path in (args.sources_out, args.reports_out) if path]
    targets = [args.output, *extra]
    check_outputs(targets, inputs)  # before the fit, not after it
    reports = read_reports(args.reports)
    gold = read_gold(args.truth) if args.truth else None
    if args.candidates == "per-claim":
        for given, flag in ((args.model not in (None, "one-coin"), f"--model {args.model}"),
                            (args.claim_labels is not None, "--claim-labels"),
                            (args.shared_error == "label", "--shared-error label")):
            if given:
                raise CaseError(f"{flag} needs one label set for all claims, not "
                                "--candidates per-claim")
    claim_labels = None
    if args.claim_labels is not None:
        claim_labels = [v.strip() for v in args.claim_labels.split(",")]
        distinct = len(set(claim_labels)) == len(claim_labels)
        if not distinct or len(claim_labels) < 2 or "" in claim_labels:
            raise CaseError(
                f"--claim-labels needs at least two distinct labels, not {args.claim_labels!r}"
            )
    model = TruthDiscovery(
        args.model,
        candidates=args.candidates,
        duplicates="first" if args.keep_first else "error",
        max_iter=args.max_iter,
        tol=args.tol,
        pooling=not args.no_pooling,
        copying=CHOICE[args.copying],
        shared_error=CHOICE.get(args.shared_error, args.shared_error),
        claim_labels=claim_labels,
        report_weights=bool(args.reports_out),
    )
    progress = not args.quiet and len(reports) >= PROGRESS_THRESHOLD and sys.stderr.isatty()
    try:
        _fit(model, reports, gold, progress)
    except CaseError as err:
        raise (err if err.path else err.with_path(args.reports)) from None
    outputs = [(args.output, model.predict_table().to_csv(index=False, lineterminator="\n"))]
    if args.sources_out:
        many = model.sources_.size >= EXPORT_THRESHOLD
        try:
            with _spinner(f"exporting {model.sources_.size:,} sources",
                          not args.quiet and many and sys.stderr.isatty()):
                outputs.append((args.sources_out, sources_yaml(model)))
        except CaseError as err:
            raise CaseError(f"--sources-out: {err.message}", path=args.sources_out) from None
    if args.reports_out:
        weights = model.report_weights_.to_csv(index=False, lineterminator="\n")
        outputs.append((args.reports_out, weights))
    write_outputs(outputs, inputs=inputs)
    if not args.quiet:
        state = "converged" if model.converged_ else "did not converge"
        print(
            f"{printable(args.reports)}: {len(reports):,} reports, {model.claims_.size:,} "
            f"claims, {model.sources_.size:,} sources; {model.model_} {state} in "
            f"{model.n_iter_} iterations; wrote {_listed([args.output, *extra])}"
            + f"\nmodel: {printable(model.choice_)}"
            + (_fidelity_line(model, args.truth is not None) if model.shared_error_ else ""),
            file=sys.stderr,
        )
    return 0


def _listed(paths: list[str]) -> str:
    """Paths in words: "a", "a and b", "a, b and c"."""
    shown = [printable(path) for path in paths]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def _fidelity_line(model: Any, taught: bool) -> str:
    from credence.discovery.shared_error import in_words

    source = "learned from --truth" if taught else "without --truth, near its prior"
    return (
        f"\nshared error: the reports on a claim tell one story, "
        f"{in_words(model.fidelity_, model.classes_)} (the fidelity, {source})"
    )


def _evaluate(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from credence.calibration import brier_score, expected_calibration_error, log_loss
    from credence.discovery.table import read_gold, read_predictions
    from credence.errors import CaseError, shown

    predictions = read_predictions(args.predictions)
    truth = read_gold(args.truth)
    truth = pd.Series(truth["label"].to_numpy(), index=pd.Index(truth["claim"], name="claim"))
    top = predictions.sort_values("probability", ascending=False, kind="stable")
    top = top.drop_duplicates("claim").set_index("claim")
    common = top.index.intersection(truth.index)
    if common.empty:
        raise CaseError(
            f"no claim of {shown(args.predictions, 200)} has a label in this file "
            "(are the claim ids written the same way in both?)",
            path=args.truth,
        )
    full = predictions.groupby("claim").size().max() > 1
    if full:
        # Every label's probability is given: score the whole distribution.
        # A label without a row has probability 0.
        rows = predictions.loc[predictions["claim"].isin(common)]
        hit = rows["label"].to_numpy() == truth.reindex(rows["claim"]).to_numpy()
        squares = ((rows["probability"] - hit) ** 2).groupby(rows["claim"]).sum()
        p_true = (
            pd.Series(rows["probability"].to_numpy()[hit], index=rows["claim"].to_numpy()[hit])
            .reindex(common)
            .fillna(0.0)
        )
        absent = ~common.isin(rows["claim"].to_numpy()[hit])
        brier = float(squares.reindex(common).fillna(0.0).sum() + absent.sum()) / common.size
        loss = float(-np.mean(np.log(np.clip(p_true.to_numpy(), 1e-15, 1.0))))
        right = (top.loc[common, "label"] == truth.loc[common]).to_numpy().astype(float)
        ece = expected_calibration_error(
            right, top.loc[common, "probability"].to_numpy(), n_bins=args.bins
        )
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
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="CLAIMS.csv",
        help="where to write claim, label, probability",
    )
    p.add_argument(
        "--model",
        choices=["one-coin", "two-coin", "dawid-skene"],
        default=None,
        help="source model (default: chosen from the data by held-out likelihood)",
    )
    p.add_argument(
        "--claim-labels",
        metavar="L1,L2,...",
        help="the claims' labels when reports use other labels (stances such as "
        "for,against,observing about claims true,false); a report label equal to a claim "
        "label supports it",
    )
    p.add_argument(
        "--copying",
        choices=list(CHOICE),
        default="auto",
        help="model reports on a claim repeating earlier ones (in date, then file order): "
        "chosen from the data (auto, default), always, or never",
    )
    p.add_argument(
        "--shared-error",
        choices=[*CHOICE, "label"],
        default="auto",
        help="model the reports on a claim sharing one error (telling one story, true with "
        "a probability learned from --truth): chosen from the data when --truth gives ten "
        "claims or more (auto, default), always (yes), by claim label (label: how often a "
        "claim of each label is told as each other), or never",
    )
    p.add_argument(
        "--no-pooling",
        action="store_true",
        help="keep the sources' priors fixed instead of learning them from all sources (of "
        "each kind; a kind of fewer than ten sources keeps them fixed anyway)",
    )
    p.add_argument(
        "--candidates",
        choices=["global", "per-claim"],
        default="global",
        help="one label set for all claims (default), or each claim's asserted values",
    )
    p.add_argument(
        "--sources-out",
        metavar="SOURCES.yaml",
        help="write the learned reliabilities as a case-file sources: list",
    )
    p.add_argument(
        "--reports-out",
        metavar="REPORTS.csv",
        help="write every report's weight toward its claim's most probable label (log10 "
        "Bayes factors, in time order and left out) and, with copying, the probability "
        "it is a copy",
    )
    p.add_argument(
        "--truth",
        metavar="GOLD.csv",
        help="known labels of some claims (claim, label) to learn from",
    )
    p.add_argument(
        "--keep-first",
        action="store_true",
        help="keep a source's first report on a claim instead of stopping at repeats",
    )
    p.add_argument(
        "--max-iter",
        type=whole_number_argument(1, MAX_ITER),
        default=500,
        help=f"most iterations, 1 to {MAX_ITER:,} (default 500)",
    )
    p.add_argument(
        "--tol",
        type=fraction_argument,
        default=1e-6,
        help="stop when an iteration changes the ELBO by at most TOL relative "
        "(0 to 1, default 1e-6)",
    )
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
    p.add_argument(
        "--bins",
        type=whole_number_argument(1, MAX_BINS),
        default=10,
        help=f"equal-width bins of the calibration error, 1 to {MAX_BINS} (default 10)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(run=_evaluate)
