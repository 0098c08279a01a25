"""``credence report``: one self-contained HTML or Markdown file for a reader."""

from __future__ import annotations

import argparse

from credence.commands import whole_number_argument
from credence.options import MAX_DRAWS, MAX_SEED

__all__ = ["register"]


def _report(args: argparse.Namespace) -> int:
    from credence.api import assess
    from credence.errors import CaseError
    from credence.files import check_outputs
    from credence.io import CaseFile
    from credence.reporting import check_report_path, write_report

    check_report_path(args.output)
    check_outputs([args.output], [args.file])
    file = CaseFile.read(args.file)
    try:
        with _status(f"Writing {args.output}"):
            result = assess(file.case, seed=args.seed, draws=args.draws)
            write_report(result, args.output, seed=args.seed, inputs=[args.file])
    except CaseError as err:
        raise (err if err.path else file.explain(err)) from None
    return 0


def _status(text: str):
    """A spinner on standard error while the report is built (only on a terminal)."""
    import contextlib
    import sys

    if not sys.stderr.isatty():
        return contextlib.nullcontext()
    from rich.console import Console

    from credence.errors import printable

    return Console(stderr=True).status(printable(text) + " …")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``credence report`` to the ``credence`` parser."""
    p = sub.add_parser(
        "report",
        help="write a self-contained HTML or Markdown report of a case",
        description=(
            "Assess a case and write one self-contained file (HTML or Markdown, by the "
            "output's suffix): the verdict, the ledger, figures, what would change it, "
            "what to ask next, the timeline, the ACH matrix, the assumptions and the case."
        ),
    )
    p.add_argument("file", metavar="FILE", help="case file (.yaml, .yml or .json)")
    p.add_argument("-o", "--output", required=True, metavar="REPORT.html|REPORT.md")
    p.add_argument(
        "--seed",
        type=whole_number_argument(0, MAX_SEED),
        default=None,
        help="seed of the robustness draws, for a repeatable report",
    )
    p.add_argument(
        "--draws",
        type=whole_number_argument(1, MAX_DRAWS),
        default=None,
        help="robustness draws (default 4000)",
    )
    p.set_defaults(run=_report, engine="exact")
