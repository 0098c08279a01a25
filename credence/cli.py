"""The ``credence`` command line.

Each group of subcommands lives in its own module with a ``register(subparsers)``
function; this module only dispatches and turns input errors into exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

__all__ = ["main"]

#: Modules that add subcommands (each has ``register(subparsers)``).
COMMANDS = [
    "credence.commands.case",
    "credence.commands.report",
    "credence.commands.discovery",
]


class UsageError(Exception):
    """Bad input to a command: printed as one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr and exit status 2."""

    def error(self, message: str):
        from credence.errors import printable

        self.exit(2, f"{self.prog}: {printable(message)} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = _Parser(
        prog="credence",
        description="Bayesian claim-credibility estimation.",
    )
    from credence import __version__

    parser.add_argument("--version", action="version", version=f"credence {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    from credence.errors import CaseError

    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "engine", None) == "exact" and "numpy" not in sys.modules:
        # The exact engine calls no threaded BLAS, and starting OpenBLAS's thread
        # pool when numpy is first imported costs more than a whole assessment.
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
            os.environ.setdefault(name, "1")
    try:
        return int(args.run(args) or 0)
    except CaseError as err:
        sys.stderr.write("".join(f"{line}\n" for line in err.lines()))
        return 2
    except UsageError as err:
        from credence.errors import printable

        print(f"credence {args.command}: {printable(str(err))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
