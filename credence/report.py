"""Render an assessment for people: the verdict sentence and the ledger table.

Text from the case (titles, statements, ids) is shown as text: it is never
parsed as rich markup, and control characters are escaped, so a case cannot
style the terminal, hide words or plant links.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from credence.errors import printable
from credence.formatting import UNIT, bans, percent, signal, span

if TYPE_CHECKING:
    from credence.assessment import Assessment

__all__ = ["render", "render_text"]


def render(assessment: Assessment, console=None) -> None:
    """Print the verdict, the posterior and the ledger with rich.

    Parameters
    ----------
    assessment : Assessment
    console : rich.console.Console, optional
        Where to print (standard output by default).
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    def text(value: object, style: str = "") -> Text:
        return Text(printable(str(value)), style=style)

    console = console or Console(highlight=False)
    case = assessment.case
    if case.title:
        console.print(text(case.title, "bold"))
    if case.claim is not None:
        console.print(Text("Claim: ") + text(case.claim.statement))
    console.print(Text("Verdict: ", style="bold") + text(assessment.verdict))

    if not assessment.is_binary:
        table = Table(title="Hypotheses", title_justify="left")
        for col in ("hypothesis", "posterior", f"{assessment.level:.0%} robustness interval"):
            table.add_column(col, justify="left" if col == "hypothesis" else "right")
        statements = {h.id: h.statement for h in case.hypotheses or ()}
        for h, p in assessment.posterior.items():
            lo, hi = assessment.intervals[h]
            label = f"{h}: {statements[h]}" if statements.get(h) else h
            table.add_row(
                text(label),
                percent(p),
                span(lo, hi),
            )
        console.print(table)

    subject = assessment.subject
    k = assessment.hypotheses.index(subject)
    title = "What moved it" + ("" if assessment.is_binary else f" (odds of {subject})")
    table = Table(
        title=title,
        title_justify="left",
        caption=f"Unit: {UNIT}. In order: added after the rows above; "
        "left out: removed from all the evidence.",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    dated = any(e.date is not None for e in case.evidence)
    table.add_column("evidence", overflow="fold")
    if dated:
        table.add_column("date", no_wrap=True, min_width=10)
    table.add_column("report", overflow="fold")
    table.add_column("in order", justify="right", no_wrap=True)
    table.add_column("left out", justify="right", no_wrap=True)
    table.add_column("P after", justify="right", no_wrap=True)
    items = {e.id: e for e in case.evidence}
    for i, eid in enumerate(assessment.evidence_ids):
        e = items[eid]
        table.add_row(
            text(eid),
            *([str(e.date or "")] if dated else []),
            text(f"{e.source} {signal(e)}" if e.source else signal(e)),
            bans(assessment.in_order[i, k]),
            bans(assessment.leave_one_out[i, k]),
            percent(assessment.path[i, k]),
        )
    console.print(table)
    if assessment.diagnostics is not None:
        d = assessment.diagnostics
        console.print(
            "MCMC diagnostics: "
            + ", ".join(
                f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"
                for key, value in d.items()
            )
        )


def render_text(assessment: Assessment, width: int = 110) -> str:
    """The same report as plain text."""
    from rich.console import Console

    buffer = io.StringIO()
    render(assessment, Console(file=buffer, width=width, color_system=None, force_terminal=False))
    return buffer.getvalue()


def render_explanations(assessment: Assessment, console=None, rows: int = 10) -> None:
    """Print what would change the verdict and which source to ask next.

    Parameters
    ----------
    assessment : Assessment
    console : rich.console.Console, optional
    rows : int
        Most changes shown (the ranked table's head).
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console(highlight=False)
    changes = assessment.what_would_change()
    table = Table(
        title=f"What would change it (P({changes.hypothesis}) is {percent(changes.posterior)})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for name in ("subject", "change", "P after", "words after", "crosses"):
        table.add_column(name, justify="right" if name == "P after" else "left", overflow="fold")
    for row in changes.rows[:rows]:
        table.add_row(
            Text(printable(row.subject)),
            Text(printable(row.change)),
            percent(row.posterior),
            row.words,
            ", ".join(row.crossed),
        )
    console.print(table)
    ranking = assessment.rank_next_sources()
    table = Table(
        title="What to ask next (about "
        + ("the claim" if assessment.is_binary else printable(", ".join(ranking.about)))
        + ")",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for name in ("source", "expected information (bits)", "P(band changes)"):
        table.add_column(name, justify="left" if name == "source" else "right")
    for v in ranking.entries:
        table.add_row(
            Text(printable(v.source)),
            f"{v.expected_entropy_reduction:.3f}",
            percent(v.p_band_change),
        )
    console.print(table)
