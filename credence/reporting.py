"""The report: one self-contained HTML or Markdown file for a reader who runs nothing.

:func:`build_report` gathers what each part of the report answers — the verdict,
what moved it, how it evolved, what would change it, what to ask next, the ACH
matrix, the assumptions and the case as written — as :class:`Section` s of
text, tables and figures; :func:`to_html` and :func:`to_markdown` write them.
Figures are embedded as PNG data, styles are inline: the file needs no network,
no scripts and no fonts beyond the reader's own.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from credence.errors import printable
from credence.formatting import UNIT, bans, percent, signal, span
from credence.plots import figure_png

if TYPE_CHECKING:
    import pandas as pd

    from credence.assessment import Assessment

__all__ = [
    "Report",
    "Section",
    "build_report",
    "check_report_path",
    "to_html",
    "to_markdown",
    "write_report",
]


@dataclass(frozen=True)
class Section:
    """One part of a report.

    Attributes
    ----------
    title : str
    question : str
        What this part answers, in one sentence.
    paragraphs : tuple of str
        Plain text (escaped when written).
    table : pandas.DataFrame or None
        Cells are text (formatted) or numbers; links are ``(text, url)`` pairs.
    figures : tuple of (str, bytes)
        Caption and PNG data.
    preformatted : str or None
        Text shown as written (the case file).
    """

    title: str
    question: str = ""
    paragraphs: tuple[str, ...] = ()
    table: pd.DataFrame | None = None
    figures: tuple[tuple[str, bytes], ...] = ()
    preformatted: str | None = None


@dataclass(frozen=True)
class Report:
    """A titled list of sections, ready to write as HTML or Markdown."""

    title: str
    verdict: str
    sections: tuple[Section, ...] = field(default_factory=tuple)


# -- writing -------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 60rem;
       margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
p.question { color: #555; font-style: italic; margin-top: .2rem; }
p.verdict { font-size: 1.15rem; font-weight: 600; background: #f2f6fa; padding: .6rem .8rem; }
table { border-collapse: collapse; font-size: .9rem; margin: .6rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: .25rem .6rem; text-align: left;
         vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.date { white-space: nowrap; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; }
figcaption { color: #555; font-size: .9rem; }
pre { background: #f6f6f6; padding: .8rem; overflow-x: auto; font-size: .85rem; }
"""


def _safe_url(url: str | None) -> str | None:
    """A link target only for web addresses: no ``javascript:`` or ``data:`` links."""
    if url and url.strip().lower().startswith(("https://", "http://")):
        return url.strip()
    return None


def _cell_html(value: Any) -> tuple[str, bool]:
    if isinstance(value, tuple) and len(value) == 2:
        text, url = value[0], _safe_url(value[1])
        if url:
            return (
                f'<a href="{html.escape(url, quote=True)}">{html.escape(printable(text))}</a>',
                False,
            )
        value = text
    if value is None or (isinstance(value, float) and value != value):
        return "", False
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return html.escape(printable(text)), numeric


def _table_html(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(printable(str(c)))}</th>" for c in frame.columns)
    rows = []
    dated = [c == "date" for c in frame.columns]
    for values in frame.itertuples(index=False):
        cells = []
        for value, is_date in zip(values, dated, strict=True):
            text, numeric = _cell_html(value)
            kind = ' class="num"' if numeric else ' class="date"' if is_date else ""
            cells.append(f"<td{kind}>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def to_html(report: Report) -> str:
    """The report as one self-contained HTML page (inline style, embedded figures)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(printable(report.title))}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(printable(report.title))}</h1>",
        f'<p class="verdict">{html.escape(printable(report.verdict))}</p>',
    ]
    for section in report.sections:
        parts.append(f"<section><h2>{html.escape(section.title)}</h2>")
        if section.question:
            parts.append(f'<p class="question">{html.escape(section.question)}</p>')
        parts += [f"<p>{html.escape(printable(p))}</p>" for p in section.paragraphs]
        if section.table is not None:
            parts.append(_table_html(section.table))
        for caption, png in section.figures:
            data = base64.b64encode(png).decode("ascii")
            alt = html.escape(caption, quote=True)
            parts.append(
                f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
        if section.preformatted is not None:
            parts.append(f"<pre>{html.escape(printable_block(section.preformatted))}</pre>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def printable_block(text: str) -> str:
    """Escape control characters line by line, keeping the line breaks."""
    return "\n".join(printable(line) for line in text.split("\n"))


def _md_escape(text: str) -> str:
    text = printable(text)
    for ch in "\\`*_[]<>|#":
        text = text.replace(ch, "\\" + ch)
    return text


def _cell_md(value: Any) -> str:
    if isinstance(value, tuple) and len(value) == 2:
        text, url = value[0], _safe_url(value[1])
        if url:
            target = url.replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")
            return f"[{_md_escape(text)}](<{target}>)"
        value = text
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return _md_escape(f"{value:.4g}" if isinstance(value, float) else str(value))


def to_markdown(report: Report) -> str:
    """The report as one Markdown file (figures embedded as PNG data)."""
    lines = [f"# {_md_escape(report.title)}", "", f"**{_md_escape(report.verdict)}**", ""]
    for section in report.sections:
        lines += [f"## {_md_escape(section.title)}", ""]
        if section.question:
            lines += [f"*{_md_escape(section.question)}*", ""]
        for paragraph in section.paragraphs:
            lines += [_md_escape(paragraph), ""]
        if section.table is not None:
            frame = section.table
            lines.append("| " + " | ".join(_md_escape(str(c)) for c in frame.columns) + " |")
            lines.append("|" + "---|" * len(frame.columns))
            for values in frame.itertuples(index=False):
                lines.append("| " + " | ".join(_cell_md(v) for v in values) + " |")
            lines.append("")
        for caption, png in section.figures:
            data = base64.b64encode(png).decode("ascii")
            lines += [f"![{_md_escape(caption)}](data:image/png;base64,{data})", ""]
        if section.preformatted is not None:
            fence = "````" if "```" in section.preformatted else "```"
            lines += [fence + "yaml", printable_block(section.preformatted), fence, ""]
    return "\n".join(lines)


# -- building ------------------------------------------------------------------------


def build_report(assessment: Assessment, *, seed: int | None = None) -> Report:
    """Gather every part of the report for an assessed case (exact engine).

    Parameters
    ----------
    assessment : Assessment
    seed : int, optional
        Seed of the robustness draws of the timeline.
    """
    import pandas as pd

    case = assessment.case
    title = case.title or (case.claim.statement if case.claim else "Assessment")
    sections = [_verdict_section(assessment, pd), _ledger_section(assessment, pd)]
    sections += _explain_sections(assessment, seed, pd)
    sections.append(_assumptions_section(assessment))
    sections.append(_case_section(assessment))
    return Report(title=title, verdict=assessment.verdict, sections=tuple(sections))


def _verdict_section(assessment: Assessment, pd) -> Section:
    case = assessment.case
    paragraphs = []
    if case.claim is not None:
        paragraphs.append(f"Claim: {case.claim.statement}")
    statements = {h.id: h.statement for h in case.hypotheses or ()}
    rows = [
        {
            "hypothesis": f"{h}: {statements[h]}" if statements.get(h) else h,
            "posterior": percent(p),
            f"{assessment.level:.0%} robustness interval": span(*assessment.intervals[h]),
        }
        for h, p in assessment.posterior.items()
    ]
    return Section(
        "Verdict",
        "How probable is each hypothesis, and how much does that rest on what we do not "
        "know about the sources?",
        tuple(paragraphs),
        pd.DataFrame(rows),
    )


def _ledger_section(assessment: Assessment, pd) -> Section:
    from credence.plots import ledger_waterfall

    items = {e.id: e for e in assessment.case.evidence}
    k = assessment.hypotheses.index(assessment.subject)
    rows = []
    for i, eid in enumerate(assessment.evidence_ids):
        e = items[eid]
        rows.append(
            {
                "evidence": (eid, e.url),
                "date": e.date.isoformat() if e.date else "",
                "report": f"{e.source} {signal(e)}" if e.source else signal(e),
                "summary": e.summary or "",
                "in order": bans(assessment.in_order[i, k]),
                "left out": bans(assessment.leave_one_out[i, k]),
                "P after": percent(assessment.path[i, k]),
            }
        )
    subject = "" if assessment.is_binary else f" (odds of {assessment.subject})"
    return Section(
        "What moved it" + subject,
        "Which items moved the verdict, and by how much?",
        (
            f"Unit: {UNIT}. In order: the item's contribution added after the rows above; "
            "left out: what removing it from all the evidence would change.",
        ),
        pd.DataFrame(rows),
        (
            (
                "Ledger waterfall: each item's contribution in bans",
                figure_png(ledger_waterfall(assessment)),
            ),
        ),
    )


def _explain_sections(assessment: Assessment, seed: int | None, pd) -> list[Section]:
    from credence import plots
    from credence.explain import (
        ach_matrix,
        prior_sensitivity,
        rank_next_sources,
        reliability_tornado,
        timeline,
        what_would_change,
    )

    case = assessment.case
    sections = []

    history = timeline(case, seed=seed)
    if history.dates:
        rows = [
            {
                "date": d.isoformat(),
                **{
                    h: f"{percent(history.posterior[i, k])} "
                    f"({span(history.lo[i, k], history.hi[i, k])})"
                    for k, h in enumerate(history.hypotheses)
                },
                "new evidence": ", ".join(history.evidence[i]),
            }
            for i, d in enumerate(history.dates)
        ]
        figure = plots.timeline_plot(
            history.dates, history.posterior, history.lo, history.hi, history.hypotheses
        )
        sections.append(
            Section(
                "How it evolved",
                "What was the verdict as of each date the evidence arrived?",
                (
                    "The posterior of each hypothesis as of each date, with its "
                    f"{history.level:.0%} robustness interval.",
                ),
                pd.DataFrame(rows),
                (("The posterior as the evidence arrived", figure_png(figure)),),
            )
        )

    changes = what_would_change(case)
    rests = changes.rests_on
    rows = [
        {
            "subject": row.subject,
            "change": row.change,
            f"P({changes.hypothesis}) after": percent(row.posterior),
            "words after": row.words,
            "crosses": ", ".join(row.crossed),
        }
        for row in changes.rows
    ]
    sensitivity = prior_sensitivity(case)
    tornado = reliability_tornado(case)
    figures = [
        (
            "The posterior as the prior runs from 0.01 to 0.99",
            figure_png(
                plots.prior_sensitivity_plot(
                    sensitivity.grid,
                    sensitivity.posterior,
                    sensitivity.hypotheses,
                    float(sensitivity.prior[0]),
                )
            ),
        )
    ]
    if tornado.parameters:
        figures.append(
            (
                f"The posterior with each reliability at its prior {1 - tornado.level:.0%} "
                f"and {tornado.level:.0%} points",
                figure_png(
                    plots.tornado_plot(
                        tornado.parameters,
                        tornado.posterior_low,
                        tornado.posterior_high,
                        tornado.base,
                    )
                ),
            )
        )
    summary = (
        f"The verdict rests most on {rests.subject}: {rests.change} would give "
        f"{percent(rests.posterior)} ({rests.words})."
        if rests is not None
        else "No single change of one item or one source moves the verdict across its band."
    )
    sections.append(
        Section(
            "What would change it",
            "Which single change of the evidence, a source's reliability or the prior would "
            "move the verdict across its ICD 203 band, across 1/2, or change the leader?",
            (summary,),
            pd.DataFrame(rows),
            tuple(figures),
        )
    )

    ranking = rank_next_sources(case)
    rows = [
        {
            "source": v.source,
            "expected information (bits)": round(float(v.expected_entropy_reduction), 4),
            "P(verdict changes band)": percent(v.p_band_change),
            "P(yes)": percent(float(v.probability[0])),
        }
        for v in ranking.entries
    ]
    figure = plots.voi_plot(
        ranking.sources,
        [v.expected_entropy_reduction for v in ranking.entries],
        [v.p_band_change for v in ranking.entries],
    )
    sections.append(
        Section(
            "What to ask next",
            f"Which source, asked once more about {', '.join(ranking.about)}, would tell us most?",
            (
                "Each source's answer is weighed before it is given: the expected reduction "
                "of the uncertainty over the hypotheses (in bits) and the probability that "
                "its answer moves the verdict across its band.",
            ),
            pd.DataFrame(rows),
            (("Expected information of one more report from each source", figure_png(figure)),),
        )
    )

    if not assessment.is_binary:
        matrix = ach_matrix(assessment)
        sections.append(
            Section(
                "ACH matrix",
                "How consistent is each item with each hypothesis, as Analysis of Competing "
                "Hypotheses tallies it, beside the Bayesian posterior?",
                (matrix.rule,),
                matrix.to_frame(by="hypothesis").reset_index(),
                (
                    (
                        "ACH matrix: likelihood of each item under each hypothesis",
                        figure_png(plots.ach_heatmap(matrix)),
                    ),
                ),
            )
        )
    return sections


def _assumptions_section(assessment: Assessment) -> Section:
    case = assessment.case
    derived = sum(e.derived_from is not None for e in case.evidence)
    channels = sum(len(s.about or ()) for s in case.sources)
    members = sum(len(g.members) for g in case.groups)
    paragraphs = [
        "Each sourced item is a yes/no report about a set of hypotheses; its source answers "
        "with the reliability given in the case, the same for all of that source's reports "
        "about other sets than those it has a separate channel for (about: "
        f"{_count(channels, 'channel')} here).",
        "Reports are independent of each other given the truth, except where the case "
        f"declares that one repeats another (derived_from: {_count(derived, 'item')} here) "
        f"or that reports may share an origin nobody names (groups: {_count(members, 'report')} "
        f"in {_count(len(case.groups), 'group')} here). Reports outside those, sharing one "
        "briefing, count as separate evidence.",
        "An uncertain reliability (a Beta or an Admiralty grade) is integrated out; the "
        "robustness interval shows how much the verdict rests on it.",
        "Admiralty grades map to one-coin accuracy priors: A Beta(19, 1), B Beta(16, 4), "
        "C Beta(13, 7), D Beta(11, 9), E Beta(10, 10), F Beta(1, 1). The information "
        "credibility digit is metadata and never weighs the evidence.",
        "Direct evidence (likelihoods, likelihood ratios) enters as the analyst gave it.",
    ]
    return Section("Assumptions", "What does the model take for granted?", tuple(paragraphs))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _case_section(assessment: Assessment) -> Section:
    import yaml

    text = yaml.safe_dump(assessment.case.to_dict(), sort_keys=False, allow_unicode=True)
    return Section("The case as written", "", preformatted=text)


#: Report formats by the output file's suffix.
WRITERS = {".html": to_html, ".htm": to_html, ".md": to_markdown, ".markdown": to_markdown}


def check_report_path(path: Any) -> None:
    """Refuse an output whose suffix names no report format (before any work is done)."""
    from pathlib import Path

    from credence.errors import CaseError

    if Path(path).suffix.lower() not in WRITERS:
        raise CaseError(
            "the report is written as .html or .md; give -o REPORT.html or -o REPORT.md",
            path=str(path),
        )


def write_report(
    assessment: Assessment, path: Any, *, seed: int | None = None, inputs: Any = ()
) -> None:
    """Build the report and write it to ``path`` (``.html`` or ``.md``), atomically.

    Parameters
    ----------
    assessment : Assessment
    path : str or path-like
        The output; its suffix chooses HTML or Markdown.
    seed : int, optional
        Seed of the timeline's robustness draws.
    inputs : iterable of path
        Files read to make it, which the report may not overwrite.
    """
    from pathlib import Path

    from credence.files import write_outputs

    check_report_path(path)
    writer = WRITERS[Path(path).suffix.lower()]
    write_outputs([(path, writer(build_report(assessment, seed=seed)))], inputs=inputs)
