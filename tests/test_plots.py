"""Figures render to non-blank PNGs with titles and axis labels; matplotlib loads lazily."""

import datetime as dt
import subprocess
import sys
import textwrap
from io import BytesIO

import numpy as np
import pytest
from conftest import EXAMPLES

pytest.importorskip("matplotlib")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import imread  # noqa: E402

from credence import Case, Evidence, Hypothesis, assess  # noqa: E402
from credence.explain.ach import ach_matrix  # noqa: E402
from credence.plots import (  # noqa: E402
    LOWERS,
    RAISES,
    ach_heatmap,
    ledger_waterfall,
    prior_sensitivity_plot,
    timeline_plot,
    tornado_plot,
    voi_plot,
)


@pytest.fixture(scope="module")
def binary():
    return assess(EXAMPLES / "north-korea-troops.yaml", seed=1)


@pytest.fixture(scope="module")
def multi():
    return assess(EXAMPLES / "competing_hypotheses.yaml", seed=1)


def render(fig: Figure) -> np.ndarray:
    """The figure as an RGB(A) array, through a PNG drawn by Agg."""
    assert isinstance(fig, Figure)
    FigureCanvasAgg(fig)
    buffer = BytesIO()
    fig.savefig(buffer, format="png")
    data = buffer.getvalue()
    assert data.startswith(b"\x89PNG")
    return imread(BytesIO(data), format="png")


def assert_drawn(fig: Figure, title: str | None = None) -> None:
    image = render(fig)[..., :3]
    assert image.std() > 0.05
    background = image[0, 0]
    differs = np.abs(image - background).sum(axis=-1) > 0.05
    assert differs.mean() > 0.03
    main = fig.axes[0]
    shown = main.get_title() or fig.get_suptitle()
    assert shown
    if title is not None:
        assert title in shown
    assert main.get_xlabel() and main.get_ylabel()


def tick_texts(labels) -> list[str]:
    return [t.get_text() for t in labels]


def test_ledger_waterfall_binary(binary):
    fig = ledger_waterfall(binary)
    assert_drawn(fig, "P(true)")
    ax = fig.axes[0]
    assert tick_texts(ax.get_xticklabels()) == ["prior", *binary.evidence_ids, "posterior"]
    assert "bans" in ax.get_ylabel()
    # bars: prior, one per item, posterior; the items' heights are the in-order contributions
    bars = ax.patches
    assert len(bars) == len(binary.evidence_ids) + 2
    heights = np.array([b.get_height() for b in bars[1:-1]])
    np.testing.assert_allclose(heights, binary.in_order[:, 0], atol=1e-9)
    for bar, step in zip(bars[1:-1], binary.in_order[:, 0], strict=True):
        if step > 0:
            assert to_hex(bar.get_facecolor()) == RAISES.lower()
        elif step < 0:
            assert to_hex(bar.get_facecolor()) == LOWERS.lower()
    # prior and posterior bars are the log10 odds
    p0, p1 = 0.2, binary.probability
    assert bars[0].get_height() == pytest.approx(np.log10(p0 / (1 - p0)))
    assert bars[-1].get_height() == pytest.approx(np.log10(p1 / (1 - p1)))
    # a second axis reads probabilities
    right = [c for c in ax.child_axes if c.get_ylabel()]
    assert right and right[0].get_ylabel() == "P(true)"


def test_ledger_waterfall_multi_and_any_hypothesis(multi):
    assert_drawn(ledger_waterfall(multi), "P(combat)")
    fig = ledger_waterfall(multi, "labour", title="Labour")
    assert_drawn(fig, "Labour")
    assert "labour against the others" in fig.axes[0].get_ylabel()
    with pytest.raises(ValueError, match="unknown hypothesis"):
        ledger_waterfall(multi, "nope")


def test_ledger_waterfall_with_impossible_item_and_without_evidence():
    hyps = [Hypothesis(id=h) for h in "abc"]
    case = Case(
        hypotheses=hyps,
        evidence=[
            Evidence(id="x", likelihood={"a": 0.5, "b": 0.0, "c": 0.4}),
            Evidence(id="y", likelihood={"a": 0.1, "b": 0.5, "c": 0.4}),
        ],
    )
    fig = ledger_waterfall(assess(case), "b")
    assert_drawn(fig)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "-inf" in texts
    assert_drawn(ledger_waterfall(assess(Case(hypotheses=hyps))))


def test_timeline_plot():
    dates = [dt.date(2024, 10, 13), dt.date(2024, 10, 18), dt.date(2024, 10, 24)]
    post = np.array([[0.3, 0.4, 0.3], [0.6, 0.2, 0.2], [0.9, 0.05, 0.05]])
    fig = timeline_plot(dates, post, post * 0.8, np.minimum(post * 1.2, 1), ["a", "b", "c"])
    assert_drawn(fig, "Posterior over time")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "posterior probability"
    assert len(ax.collections) == 3  # one band per hypothesis
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c"]
    # ISO text and a single column without bands
    fig = timeline_plot(["2024-10-13", "2024-10-18"], [0.3, 0.8], hypotheses=["true"])
    assert_drawn(fig)
    assert not fig.axes[0].collections
    with pytest.raises(ValueError):
        timeline_plot(["2024-10-13"], [0.3, 0.8])


def test_tornado_plot_sorted_by_swing():
    names = ["small", "big", "middle"]
    fig = tornado_plot(names, [0.85, 0.5, 0.8], [0.9, 0.95, 0.92], 0.88)
    assert_drawn(fig, "reliability")
    ax = fig.axes[0]
    assert tick_texts(ax.get_yticklabels()) == ["big", "middle", "small"]
    assert ax.get_xlabel() == "posterior probability"
    assert len(ax.patches) == 6
    with pytest.raises(ValueError):
        tornado_plot(names, [0.1], [0.2, 0.3, 0.4], 0.5)


def test_prior_sensitivity_plot():
    grid = np.linspace(0.01, 0.99, 30)
    fig = prior_sensitivity_plot(grid, grid**0.3, ["true"], current_prior=0.2)
    assert_drawn(fig, "prior")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "prior probability"
    assert ax.get_ylabel() == "posterior probability"
    post = np.column_stack([grid, (1 - grid) / 2, (1 - grid) / 2])
    fig = prior_sensitivity_plot(grid, post, ["a", "b", "c"])
    assert_drawn(fig)
    assert len(fig.axes[0].lines) == 4  # the diagonal and one line per hypothesis


def test_voi_plot_ranks():
    names = ["ask cnn", "ask nis", "ask kremlin"]
    fig = voi_plot(names, [0.05, 0.3, 0.1])
    assert_drawn(fig, "Value of information")
    ax = fig.axes[0]
    assert tick_texts(ax.get_yticklabels()) == ["ask nis", "ask kremlin", "ask cnn"]
    assert "entropy" in ax.get_xlabel()
    fig = voi_plot(names, [0.05, 0.3, 0.1], [0.0, 0.4, 0.1], unit="nats")
    assert_drawn(fig)
    assert fig.get_suptitle() == "Value of information: what to ask next"
    assert "nats" in fig.axes[0].get_xlabel()
    assert len(fig.axes) == 2 and fig.axes[1].get_xlabel()
    with pytest.raises(ValueError):
        voi_plot(names, [0.1, 0.2])


def test_ach_heatmap(multi):
    m = ach_matrix(multi)
    fig = ach_heatmap(m)
    assert_drawn(fig, "ACH")
    ax = fig.axes[0]
    assert tick_texts(ax.get_xticklabels()) == list(m.evidence_ids)
    rows = tick_texts(ax.get_yticklabels())
    assert [r.split()[0] for r in rows] == list(m.hypotheses)
    marks = [t.get_text().split("\n")[0] for t in ax.texts]
    assert marks == m.marks.ravel().tolist()
    image = ax.images[0].get_array()
    np.testing.assert_allclose(image, np.clip(m.log10_relative, -2, 0))
    # a binary case, and one without evidence
    assert_drawn(ach_heatmap(ach_matrix(EXAMPLES / "north-korea-troops.yaml")))
    empty = Case(hypotheses=[Hypothesis(id="a"), Hypothesis(id="b")])
    assert_drawn(ach_heatmap(ach_matrix(empty)))


def test_plots_import_no_matplotlib_and_never_pyplot():
    code = textwrap.dedent(
        """
        import sys
        import credence.plots
        assert "matplotlib" not in sys.modules, "import credence.plots loaded matplotlib"
        fig = credence.plots.voi_plot(["a", "b"], [0.2, 0.1])
        assert "matplotlib" in sys.modules
        assert "matplotlib.pyplot" not in sys.modules, "a figure loaded pyplot"
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
