"""``credence assess``, ``credence validate`` and ``credence schema``."""

from __future__ import annotations

import argparse
import json
import sys

from credence.commands import whole_number_argument
from credence.jsonable import json_safe
from credence.options import MAX_DRAWS, MAX_SEED

__all__ = ["register"]


def _assess(args: argparse.Namespace) -> int:
    from credence.api import assess
    from credence.errors import CaseError
    from credence.io import CaseFile

    file = CaseFile.read(args.file)
    case = file.case
    if args.as_of is not None:
        from credence.explain import as_of

        case = as_of(case, args.as_of)
    try:
        result = assess(case, engine=args.engine, seed=args.seed, draws=args.draws)
        explained = result.explain(seed=args.seed) if args.explain else None
    except CaseError as err:
        raise file.explain(err) from None
    if args.json:
        out = result.to_dict() | ({"explain": explained} if explained else {})
        if args.as_of is not None:
            out["as_of"] = args.as_of.isoformat()
        sys.stdout.write(json.dumps(json_safe(out), allow_nan=False) + "\n")
    else:
        from credence.report import render, render_explanations

        render(result)
        if args.explain:
            render_explanations(result)
    return 0


def _iso_date(text: str):
    from credence.case import iso_date

    try:
        return iso_date(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _validate(args: argparse.Namespace) -> int:
    from credence.compile import compile_case
    from credence.errors import CaseError
    from credence.exact import exact_assess
    from credence.io import CaseFile

    file = CaseFile.read(args.file)
    case = file.case
    try:
        compiled = compile_case(case)
        if not compiled.needs_mcmc:
            exact_assess(compiled)  # catches evidence impossible under every hypothesis
    except CaseError as err:
        raise file.explain(err) from None
    kind = "claim" if case.is_binary else f"{len(case.hypothesis_ids)} hypotheses"
    n_sources, n_items = len(case.sources), len(case.evidence)
    extensions = ", ".join(what for _, what in compiled.needs_mcmc)
    print(
        f"{args.file}: valid case v1 ({kind}, {n_sources} source{'s' * (n_sources != 1)}, "
        f"{n_items} evidence item{'s' * (n_items != 1)})"
        + (f"; uses {extensions} (--engine mcmc)" if extensions else "")
    )
    return 0


def _schema(args: argparse.Namespace) -> int:
    from credence.case import Case

    schema = Case.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "credence case file, format v1"
    print(json.dumps(schema, indent=2))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the case subcommands to the ``credence`` parser."""
    p = sub.add_parser(
        "assess",
        help="assess a case file: posterior, robustness interval and ledger",
        description="Assess a case file (YAML or JSON, format v1).",
    )
    p.add_argument("file", metavar="FILE", help="case file (.yaml, .yml or .json)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument(
        "--engine",
        choices=["exact", "mcmc"],
        default="exact",
        help="exact (closed form, default) or mcmc (PyMC, NUTS)",
    )
    p.add_argument(
        "--seed",
        type=whole_number_argument(0, MAX_SEED),
        default=None,
        help="seed of the draws (0 or more), for repeatable output",
    )
    p.add_argument(
        "--draws",
        type=whole_number_argument(1, MAX_DRAWS),
        default=None,
        help="robustness draws (exact engine, default 4000; at most 1,000,000) "
        "or posterior draws per chain (mcmc)",
    )
    p.add_argument(
        "--as-of",
        type=_iso_date,
        default=None,
        metavar="YYYY-MM-DD",
        help="assess only the evidence dated on or before this date",
    )
    p.add_argument(
        "--explain",
        action="store_true",
        help="add what would change the verdict, what to ask next, the timeline and, "
        "with several hypotheses, the ACH matrix (exact engine)",
    )
    p.set_defaults(run=_assess)

    p = sub.add_parser("validate", help="check a case file without assessing it")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(run=_validate, engine="exact")

    p = sub.add_parser("schema", help="print the JSON Schema of the case format")
    p.set_defaults(run=_schema)
