"""Figures of an assessment, with matplotlib (imported only when a figure is drawn).

Every function returns a :class:`matplotlib.figure.Figure` built directly, not
through ``pyplot``: nothing global is touched and no display is needed. Save
one with ``fig.savefig("ledger.png")``; in a notebook, show it by leaving it
as the cell's value.

One style throughout: the Okabe–Ito palette (distinguishable with the common
colour-vision deficiencies), ``cividis`` for the ACH heat map, a title and axis
labels on every figure. Inputs are plain arrays and sequences (except the
:class:`~credence.assessment.Assessment` of :func:`ledger_waterfall` and the
:class:`~credence.explain.ach.ACHMatrix` of :func:`ach_heatmap`), so any module
can draw with them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from credence.formatting import bans, percent

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from credence.assessment import Assessment

__all__ = [
    "OKABE_ITO",
    "ach_heatmap",
    "figure_html",
    "figure_png",
    "ledger_waterfall",
    "prior_sensitivity_plot",
    "timeline_plot",
    "tornado_plot",
    "voi_plot",
]

#: The Okabe–Ito colour-blind-safe palette.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
#: Colours of successive hypotheses.
CYCLE = tuple(
    OKABE_ITO[c]
    for c in (
        "blue",
        "orange",
        "bluish_green",
        "vermillion",
        "reddish_purple",
        "sky_blue",
        "black",
        "yellow",
    )
)
#: Evidence that raises / lowers the odds; the prior and posterior bars.
RAISES, LOWERS, TOTAL = OKABE_ITO["blue"], OKABE_ITO["vermillion"], "#7f7f7f"
_GRID = "#dddddd"
#: Probabilities marked on a log-odds axis.
_PROBABILITY_TICKS = (1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99, 0.999)
_PROBABILITY_TICKS += tuple(1 - p for p in _PROBABILITY_TICKS[:3])
#: ... and between them where the axis spans less than this many bans.
_FINE_SPAN = 2.5
_FINE_TICKS = (0.1, 0.3, 0.4, 0.6, 0.7, 0.9)


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _style(ax: Axes, grid: str = "y") -> None:
    ax.spines[["top", "right"]].set_visible(False)
    if grid:
        ax.grid(axis=grid, color=_GRID, linewidth=0.8)
    ax.set_axisbelow(True)


def _rows(values: Any, name: str) -> np.ndarray:
    """A (T, K) float array from a (T,) or (T, K) input."""
    a = np.asarray(values, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D, got shape {a.shape}")
    return a


def _names(hypotheses: Sequence[str] | None, k: int) -> list[str]:
    if hypotheses is None:
        return ["posterior"] if k == 1 else [f"hypothesis {i + 1}" for i in range(k)]
    names = [str(h) for h in hypotheses]
    if len(names) != k:
        raise ValueError(f"{len(names)} hypotheses named for {k} columns of probabilities")
    return names


def _log10_odds(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(p) - np.log10(1.0 - p)


def _probability(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.power(10.0, -np.asarray(x, dtype=float)))


def _odds_of(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-300, 1.0 - 1e-16)
    return _log10_odds(p)


def _tick_rotation(n: int) -> dict[str, Any]:
    """Slanted labels under a crowded axis."""
    return {"rotation": 40, "ha": "right"} if n > 3 else {"rotation": 0, "ha": "center"}


def _tick_text(p: float) -> str:
    return f"{p:.6g}" if p < 0.01 else (f"1 - {1 - p:.0e}" if p > 0.999 else f"{p:g}")


def ledger_waterfall(
    assessment: Assessment, hypothesis: str | None = None, *, title: str | None = None
) -> Figure:
    """The ledger as a waterfall of log10 Bayes factors, from prior to posterior odds.

    The first bar is the prior log10 odds of ``hypothesis`` (against all the
    others), each next bar the item's in-order contribution (bans, in ledger
    order; blue raises the odds, vermillion lowers them), the last bar the
    posterior log10 odds. The levels are the log10 odds after each item (the
    assessment's ``path``), which the contributions step between; the right
    axis reads them as probabilities. Infinite odds (an item impossible under
    the hypothesis) are drawn to the edge of the plot, the step labelled
    ``-inf`` or ``+inf``.

    Parameters
    ----------
    assessment : Assessment
    hypothesis : str, optional
        Default: ``true`` for a binary case, else the leading hypothesis.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from credence import assess
    >>> fig = ledger_waterfall(assess("examples/north-korea-troops.yaml"))  # doctest: +SKIP
    >>> fig.savefig("ledger.png")  # doctest: +SKIP
    """
    from matplotlib.patches import Patch

    from credence.compile import compile_case

    h = assessment.subject if hypothesis is None else hypothesis
    if h not in assessment.hypotheses:
        raise ValueError(
            f"unknown hypothesis {h!r}; the case has {', '.join(assessment.hypotheses)}"
        )
    k = assessment.hypotheses.index(h)
    prior = compile_case(assessment.case).prior
    ids = list(assessment.evidence_ids)
    K = len(assessment.hypotheses)
    path = np.vstack([prior, np.asarray(assessment.path, dtype=float).reshape(-1, K)])
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = np.log10(path[:, k]) - np.log10(np.delete(path, k, axis=1).sum(axis=1))
    known = odds[np.isfinite(odds)]
    bottom, top = min(0.0, known.min(initial=0.0)), max(0.0, known.max(initial=0.0))
    pad = 0.12 * max(top - bottom, 1.0)
    # infinite odds run off the plot
    levels = np.clip(np.nan_to_num(odds, nan=0.0), bottom - 10 * pad, top + 10 * pad)
    starts, ends = levels[:-1], levels[1:]
    prior_lo, posterior_lo = float(levels[0]), float(levels[-1])
    steps = np.asarray(assessment.in_order[:, k], dtype=float)

    n = len(ids)
    fig = _figure(max(6.5, 1.6 + 0.55 * (n + 2)), 5.0)
    ax = fig.add_subplot()
    _style(ax)
    x = np.arange(n + 2)
    ax.bar(0, prior_lo, color=TOTAL, width=0.7)
    ax.bar(
        x[1:-1],
        ends - starts,
        bottom=starts,
        color=[RAISES if e >= b else LOWERS for b, e in zip(starts, ends, strict=True)],
        width=0.7,
    )
    ax.bar(n + 1, posterior_lo, color=TOTAL, width=0.7)
    for i, level in enumerate(levels):
        ax.plot([i + 0.35, i + 0.65], [level, level], color="#555555", linewidth=0.8)
    ax.axhline(0.0, color="#555555", linewidth=0.8)

    labels = ["" if np.isnan(s) else bans(s) for s in steps]
    for i, (y, text) in enumerate(zip(np.maximum(starts, ends), labels, strict=True)):
        ax.annotate(
            text,
            (i + 1, y),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    p_post = assessment.posterior_array[k]
    for i, (level, text) in enumerate(
        [(prior_lo, percent(prior[k])), (posterior_lo, percent(p_post))]
    ):
        ax.annotate(
            text,
            (0 if i == 0 else n + 1, max(level, 0.0)),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
            fontweight="bold",
        )

    ax.set_xticks(x, ["prior", *ids, "posterior"], **_tick_rotation(n))
    ax.set_xlim(-0.6, n + 1.6)
    lo, hi = bottom, top
    ax.set_ylim(lo - pad, hi + pad)
    others = [g for g in assessment.hypotheses if g != h]
    against = others[0] if len(others) == 1 else "the others"
    ax.set_ylabel(f"log10 odds of {h} against {against} (bans)")
    ax.set_xlabel("evidence, in ledger order")
    ax.set_title(title or f"What moved P({h}): the ledger")

    right = ax.secondary_yaxis("right", functions=(_probability, _odds_of))
    candidates = _PROBABILITY_TICKS + (_FINE_TICKS if hi - lo < _FINE_SPAN else ())
    ticks = sorted(p for p in candidates if lo - pad <= _log10_odds(np.float64(p)) <= hi + pad)
    right.set_yticks(ticks, [_tick_text(p) for p in ticks])
    right.set_ylabel(f"P({h})")
    right.spines["right"].set_visible(True)
    fig.legend(
        handles=[
            Patch(color=RAISES, label="raises the odds"),
            Patch(color=LOWERS, label="lowers the odds"),
            Patch(color=TOTAL, label="prior / posterior"),
        ],
        loc="outside lower center",
        ncols=3,
        fontsize=8,
        frameon=False,
    )
    return fig


def _as_dates(dates: Sequence[Any]) -> list[Any]:
    out = []
    for d in dates:
        if isinstance(d, str):
            d = dt.date.fromisoformat(d)
        elif isinstance(d, np.datetime64):
            d = d.astype("datetime64[D]").item()
        out.append(d)
    return out


def timeline_plot(
    dates: Sequence[Any],
    posterior: Any,
    lo: Any = None,
    hi: Any = None,
    hypotheses: Sequence[str] | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """The posterior of each hypothesis over time, with its robustness band.

    The posterior after each date holds until the next (a step line); the band
    between ``lo`` and ``hi`` is the robustness interval.

    Parameters
    ----------
    dates : sequence of datetime.date, ISO text, numpy datetime64 or numbers
        One per row.
    posterior : array (T,) or (T, K)
        P(h | evidence up to the date).
    lo, hi : array like ``posterior``, optional
        Robustness interval ends.
    hypotheses : sequence of str, optional
        Names of the K columns.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = timeline_plot(
    ...     ["2024-10-13", "2024-10-18"], [0.3, 0.8], [0.2, 0.6], [0.4, 0.9], ["true"]
    ... )  # doctest: +SKIP
    """
    post = _rows(posterior, "posterior")
    T, K = post.shape
    x = _as_dates(dates)
    if len(x) != T:
        raise ValueError(f"{len(x)} dates for {T} rows of probabilities")
    names = _names(hypotheses, K)
    fig = _figure(8.0, 4.5)
    ax = fig.add_subplot()
    _style(ax, "both")
    bands = (lo is not None) and (hi is not None)
    if bands:
        low, high = _rows(lo, "lo"), _rows(hi, "hi")
        if low.shape != post.shape or high.shape != post.shape:
            raise ValueError("lo and hi must have the shape of posterior")
    for j, name in enumerate(names):
        colour = CYCLE[j % len(CYCLE)]
        if bands:
            ax.fill_between(x, low[:, j], high[:, j], step="post", color=colour, alpha=0.2, lw=0)
        ax.plot(x, post[:, j], drawstyle="steps-post", marker="o", color=colour, label=name, lw=2)
    ax.set_ylim(0.0, 1.0)
    ax.axhline(0.5, color="#999999", linewidth=0.8, linestyle=":")
    if x and isinstance(x[0], dt.date):
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

        locator = AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.set_xlabel("date")
    ax.set_ylabel("posterior probability")
    ax.set_title(
        title or "Posterior over time" + (" with its robustness interval" if bands else "")
    )
    ax.legend(loc="best", fontsize=8, frameon=False)
    return fig


def tornado_plot(
    names: Sequence[str],
    low: Any,
    high: Any,
    base: float,
    *,
    xlabel: str = "posterior probability",
    title: str | None = None,
) -> Figure:
    """How the posterior moves with each source's reliability: a tornado diagram.

    One horizontal bar per source, from the posterior with its reliability at
    the low value (vermillion) to the posterior at the high value (blue),
    around the base posterior; the widest swing on top.

    Parameters
    ----------
    names : sequence of str
        Source (or parameter) names.
    low, high : array (n,)
        Posterior with each one's reliability at its low and high value.
    base : float
        The posterior as assessed.
    xlabel, title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = tornado_plot(["nis", "cnn"], [0.6, 0.85], [0.95, 0.9], 0.88)  # doctest: +SKIP
    """
    from matplotlib.patches import Patch

    names = [str(n) for n in names]
    low = np.asarray(low, dtype=float)
    high = np.asarray(high, dtype=float)
    if not (len(names) == len(low) == len(high)):
        raise ValueError("names, low and high must have the same length")
    order = np.argsort(-np.abs(high - low), kind="stable")
    n = len(names)
    fig = _figure(7.5, max(2.8, 1.4 + 0.42 * n))
    ax = fig.add_subplot()
    _style(ax, "x")
    y = np.arange(n)
    ax.barh(y, low[order] - base, left=base, color=LOWERS, height=0.6)
    ax.barh(y, high[order] - base, left=base, color=RAISES, height=0.6)
    ax.axvline(base, color="#333333", linewidth=1.2)
    ax.set_yticks(y, [names[i] for i in order])
    ax.invert_yaxis()
    ax.set_xlim(
        max(0.0, min(base, low.min(initial=base), high.min(initial=base)) - 0.05),
        min(1.0, max(base, low.max(initial=base), high.max(initial=base)) + 0.05),
    )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("source reliability varied")
    ax.set_title(title or f"Sensitivity to each source's reliability (base {base:.3g})")
    fig.legend(
        handles=[
            Patch(color=LOWERS, label="reliability at its low value"),
            Patch(color=RAISES, label="reliability at its high value"),
        ],
        loc="outside lower center",
        ncols=2,
        fontsize=8,
        frameon=False,
    )
    return fig


def prior_sensitivity_plot(
    prior_grid: Any,
    posterior: Any,
    hypotheses: Sequence[str] | None = None,
    current_prior: float | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """The posterior as a function of the prior.

    Parameters
    ----------
    prior_grid : array (G,)
        Prior probabilities tried.
    posterior : array (G,) or (G, K)
        The posterior of each hypothesis at each prior.
    hypotheses : sequence of str, optional
        Names of the K columns.
    current_prior : float, optional
        The case's prior, marked by a vertical line.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> grid = [0.01, 0.1, 0.5, 0.9]
    >>> fig = prior_sensitivity_plot(grid, [0.2, 0.7, 0.95, 0.99], ["true"], 0.2)  # doctest: +SKIP
    """
    x = np.asarray(prior_grid, dtype=float)
    post = _rows(posterior, "posterior")
    if post.shape[0] != len(x):
        raise ValueError(f"{len(x)} priors for {post.shape[0]} rows of probabilities")
    names = _names(hypotheses, post.shape[1])
    fig = _figure(6.5, 4.5)
    ax = fig.add_subplot()
    _style(ax, "both")
    ax.plot([0, 1], [0, 1], color="#999999", linestyle=":", lw=1, label="posterior = prior")
    for j, name in enumerate(names):
        ax.plot(x, post[:, j], color=CYCLE[j % len(CYCLE)], lw=2, label=name)
    if current_prior is not None:
        ax.axvline(current_prior, color=OKABE_ITO["black"], lw=1, linestyle="--")
        ax.annotate(
            f"current prior {current_prior:g}",
            (current_prior, 0.02),
            xytext=(4, 0),
            textcoords="offset points",
            fontsize=8,
        )
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("prior probability")
    ax.set_ylabel("posterior probability")
    ax.set_title(title or "How the posterior depends on the prior")
    ax.legend(loc="best", fontsize=8, frameon=False)
    return fig


def voi_plot(
    names: Sequence[str],
    expected_entropy_reduction: Any,
    band_change_probability: Any = None,
    *,
    unit: str = "bits",
    title: str | None = None,
) -> Figure:
    """What to ask next: items ranked by expected entropy reduction.

    Parameters
    ----------
    names : sequence of str
        The candidate questions (new reports, sources to ask...).
    expected_entropy_reduction : array (n,)
        Expected reduction of the posterior's entropy from each.
    band_change_probability : array (n,), optional
        Probability that the answer changes the verdict's words; drawn as a
        second panel.
    unit : str, default "bits"
        Unit of the entropy.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = voi_plot(["ask nis", "ask cnn"], [0.3, 0.05], [0.4, 0.0])  # doctest: +SKIP
    """
    names = [str(n) for n in names]
    gain = np.asarray(expected_entropy_reduction, dtype=float)
    if len(gain) != len(names):
        raise ValueError("names and expected_entropy_reduction must have the same length")
    order = np.argsort(-gain, kind="stable")
    n = len(names)
    y = np.arange(n)
    labels = [names[i] for i in order]
    both = band_change_probability is not None
    fig = _figure(9.5 if both else 6.5, max(2.8, 1.4 + 0.42 * n))
    main = title or "Value of information: what to ask next"
    ax = fig.add_subplot(1, 2 if both else 1, 1)
    _style(ax, "x")
    ax.barh(y, gain[order], color=OKABE_ITO["blue"], height=0.6)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(left=0.0)
    ax.set_xlabel(f"expected entropy reduction ({unit})")
    ax.set_ylabel("evidence to seek")
    if not both:
        ax.set_title(main)
        return fig
    ax.set_title("expected entropy reduction")
    change = np.asarray(band_change_probability, dtype=float)
    if len(change) != n:
        raise ValueError("names and band_change_probability must have the same length")
    right = fig.add_subplot(1, 2, 2, sharey=ax)
    _style(right, "x")
    right.barh(y, change[order], color=OKABE_ITO["orange"], height=0.6)
    right.set_xlim(0.0, 1.0)
    right.tick_params(labelleft=False)
    right.set_xlabel("probability the verdict's words change")
    right.set_title("chance of a new verdict")
    fig.suptitle(main)
    return fig


def ach_heatmap(ach_matrix: Any, *, floor: float = -2.0, title: str | None = None) -> Figure:
    """The ACH matrix as a heat map: hypotheses against evidence, with the C/I/N marks.

    Colour is ``log10(P(E | h) / max_h' P(E | h'))`` of each cell (bans; 0 is
    the best fit of its item, ``floor`` and below the darkest); each cell
    shows its mark and P(E | h). Rows are in ACH order (least inconsistent
    first), labelled with the tally and the posterior.

    Parameters
    ----------
    ach_matrix : ACHMatrix
        From :func:`credence.explain.ach.ach_matrix`.
    floor : float, default -2
        Lowest value of the colour scale (bans).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from credence.explain.ach import ach_matrix
    >>> fig = ach_heatmap(ach_matrix("examples/competing_hypotheses.yaml"))  # doctest: +SKIP
    """
    m = ach_matrix
    values = np.clip(np.nan_to_num(m.log10_relative, nan=0.0, neginf=floor), floor, 0.0)
    K, n = values.shape
    fig = _figure(max(6.0, 2.8 + 0.9 * n), max(3.8, 2.2 + 0.55 * K))
    ax = fig.add_subplot()
    if n == 0:  # no evidence: an empty column, said in words
        values = np.full((K, 1), np.nan)
        ax.text(0, (K - 1) / 2, "no evidence", ha="center", va="center", color="#555555")
    image = ax.imshow(values, cmap="cividis", vmin=floor, vmax=0.0, aspect="auto")
    for i in range(K):
        for j in range(n):
            dark = values[i, j] < floor / 2
            ax.text(
                j,
                i,
                f"{m.marks[i, j]}\n{m.likelihood[i, j]:.2g}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if dark else "black",
            )
    rows = [
        f"{h}  (I: {int(t)}, P = {percent(float(p))})"
        for h, t, p in zip(m.hypotheses, m.tally, m.posterior, strict=True)
    ]
    ax.set_yticks(np.arange(K), rows)
    ax.set_xticks(np.arange(n), list(m.evidence_ids), **_tick_rotation(n))
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    bar = fig.colorbar(image, ax=ax, shrink=0.9)
    bar.set_label("log10 P(E | h) / item max (bans)")
    ax.set_xlabel("evidence, in ledger order (cell: mark, P(E | h))")
    ax.set_ylabel("hypothesis (ACH order)")
    ax.set_title(title or "ACH matrix: C consistent, I inconsistent, N neutral")
    return fig


def figure_png(figure: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG data (no display, no pyplot).

    Examples
    --------
    >>> png = figure_png(tornado_plot(["a"], [0.2], [0.8], 0.5))  # doctest: +SKIP
    """
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def figure_html(figure: Figure, alt: str = "") -> str:
    """The figure as an ``<img>`` tag with its PNG embedded (for reports and docs pages)."""
    import base64
    import html

    data = base64.b64encode(figure_png(figure)).decode("ascii")
    alt = alt or (figure.axes[0].get_title() if figure.axes else "")
    return f'<img alt="{html.escape(alt, quote=True)}" src="data:image/png;base64,{data}">'
