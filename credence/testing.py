"""Helpers for tests, benchmarks and the docs.

Case generators return plain data as a case file would hold it (pass it to
:func:`credence.assess` or :func:`credence.io.case_from_dict`): provenance
chains and large parent sets. :func:`run_cli` runs the command line in this
process; :func:`console` turns a run into the console block the docs show.
"""

from __future__ import annotations

import contextlib
import io
import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CliRun", "chain_case", "group_case", "console", "parent_set_case", "run_cli"]


def chain_case(
    n: int,
    copy: Any = None,
    stances: list[str] | None = None,
    reliability: Any = None,
    prior: float = 0.3,
) -> dict[str, Any]:
    """A provenance chain: ``e0`` from source ``s``; each ``e_i`` derived from ``e_{i-1}``.

    Parameters
    ----------
    n : int
        Number of reports.
    copy : float or dict, optional
        Copy probability of each derived report (default 1: pure copies).
    stances : list of str, optional
        Each report's stance (default all ``"supports"``).
    reliability : optional
        The source's reliability (default ``{beta: [4, 2]}``).
    prior : float
        The claim's prior.

    Examples
    --------
    >>> [e.get("derived_from") for e in chain_case(3)["evidence"]]
    [None, ['e0'], ['e1']]
    """
    stances = stances or ["supports"] * n
    evidence = [{"id": "e0", "source": "s", "stance": stances[0]}]
    for i in range(1, n):
        item = {"id": f"e{i}", "source": "s", "stance": stances[i], "derived_from": [f"e{i - 1}"]}
        if copy is not None:
            item["copy_probability"] = copy
        evidence.append(item)
    return {
        "credence": 1,
        "claim": {"statement": "c", "prior": prior},
        "sources": [{"id": "s", "reliability": reliability or {"beta": [4, 2]}}],
        "evidence": evidence,
    }


def group_case(
    n: int, copy: Any = None, n_sources: int | None = None, seed: int = 0
) -> dict[str, Any]:
    """A group of n reports that may share an origin, about 80% supporting.

    Parameters
    ----------
    n : int
        Members ``e0 ...``, in the group in that order.
    copy : float or dict, optional
        The group's copy probability (default: the format's Beta(1, 1)).
    n_sources : int, optional
        Members come from this many sources in turn (default one source each),
        each graded B.
    seed : int
        Seed of the stances.

    Examples
    --------
    >>> group_case(3)["groups"][0]["members"]
    ['e0', 'e1', 'e2']
    """
    rng = np.random.default_rng(seed)
    k = n if n_sources is None else n_sources
    stances = np.where(rng.random(n) < 0.8, "supports", "refutes")
    group: dict[str, Any] = {"id": "g", "members": [f"e{i}" for i in range(n)]}
    if copy is not None:
        group["copy_probability"] = copy
    return {
        "credence": 1,
        "claim": {"statement": "c", "prior": 0.3},
        "sources": [{"id": f"s{j}", "reliability": "B"} for j in range(k)],
        "evidence": [
            {"id": f"e{i}", "source": f"s{i % k}", "stance": str(stances[i])} for i in range(n)
        ],
        "groups": [group],
    }


def parent_set_case(
    n_parents: int, n_children: int, parents_each: int, copy: Any = 0.8, seed: int = 0
) -> dict[str, Any]:
    """Independent reports from 5 sources and children each derived from several of them.

    Parameters
    ----------
    n_parents : int
        Independent reports ``p0 ...``, from sources ``s0``-``s4`` in turn.
    n_children : int
        Derived reports ``c0 ...``, all supporting.
    parents_each : int
        Parents of each child, chosen at random without replacement.
    copy : float or dict
        Copy probability of each child.
    seed : int
        Seed of the choice of parents.
    """
    rng = np.random.default_rng(seed)
    evidence = [
        {"id": f"p{i}", "source": f"s{i % 5}", "stance": "supports" if i % 3 else "refutes"}
        for i in range(n_parents)
    ]
    for c in range(n_children):
        chosen = rng.choice(n_parents, size=parents_each, replace=False)
        evidence.append(
            {
                "id": f"c{c}",
                "source": f"s{c % 5}",
                "stance": "supports",
                "derived_from": [f"p{i}" for i in chosen],
                "copy_probability": copy,
            }
        )
    return {
        "credence": 1,
        "claim": {"statement": "c", "prior": 0.5},
        "sources": [{"id": f"s{i}", "reliability": {"beta": [3 + i, 2]}} for i in range(5)],
        "evidence": evidence,
    }


@dataclass(frozen=True)
class CliRun:
    """What one run of the command line did: exit status, standard output and error."""

    status: int
    stdout: str
    stderr: str


def run_cli(
    argv: Sequence[str], *, cwd: str | os.PathLike[str] | None = None, columns: int = 100
) -> CliRun:
    """Run ``credence ARGV`` in this process, capturing what it prints.

    Parameters
    ----------
    argv : sequence of str
        The arguments after ``credence``.
    cwd : path, optional
        Folder to run in (relative paths in ``argv`` are read from there).
    columns : int
        Terminal width the report is laid out for.

    Examples
    --------
    >>> run_cli(["validate", "examples/bridge.yaml"]).status  # doctest: +SKIP
    0
    """
    from credence.cli import main

    out, err = io.StringIO(), io.StringIO()
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(columns)
    try:
        with (
            contextlib.chdir(cwd or os.getcwd()),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            try:
                status = main(list(argv))
            except SystemExit as exit_:
                status = exit_.code if isinstance(exit_.code, int) else 2
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous
    return CliRun(int(status), out.getvalue(), err.getvalue())


def console(
    command: str,
    *,
    cwd: str | os.PathLike[str] | None = None,
    columns: int = 100,
    status: bool = False,
) -> str:
    """A Markdown ``console`` block: the command and what it printed (for the docs).

    Parameters
    ----------
    command : str
        The arguments after ``credence``, as typed in a shell.
    cwd : path, optional
        Folder to run in.
    columns : int
        Terminal width.
    status : bool
        Also show a non-zero exit status (``$ echo $?``).
    """
    done = run_cli(shlex.split(command), cwd=cwd, columns=columns)
    lines = [f"$ credence {command}"]
    lines += [line.rstrip() for line in (done.stdout + done.stderr).splitlines()]
    if status and done.status:
        lines += ["$ echo $?", str(done.status)]
    return "```console\n" + "\n".join(lines) + "\n```\n"
