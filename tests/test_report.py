"""``credence report``: one self-contained file a reader can open, written atomically."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import EXAMPLES

from credence.testing import run_cli

CASES = [EXAMPLES / "north-korea-troops.yaml", EXAMPLES / "competing_hypotheses.yaml"]
SECTIONS = [
    "Verdict",
    "What moved it",
    "How it evolved",
    "What would change it",
    "What to ask next",
    "Assumptions",
    "The case as written",
]


def run(argv: list[str]) -> tuple[int, str, str]:
    """Run the command line in this process: exit status, stdout, stderr."""
    done = run_cli(argv)
    return done.status, done.stdout, done.stderr


class _Page(HTMLParser):
    """Collects what a self-contained page must not have, and what it shows."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.headings: list[str] = []
        self._in_heading = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_heading = tag in ("h1", "h2")

    def handle_endtag(self, tag):
        self._in_heading = False

    def handle_data(self, data):
        if self._in_heading:
            self.headings.append(data)


def _report(tmp_path: Path, case: Path, suffix: str) -> str:
    out = tmp_path / f"report{suffix}"
    status, stdout, err = run(["report", str(case), "-o", str(out), "--seed", "1"])
    assert status == 0, err
    assert stdout == ""
    return out.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_html_report_is_self_contained_and_complete(tmp_path, case):
    text = _report(tmp_path, case, ".html")
    page = _Page()
    page.feed(text)
    tags = [t for t, _ in page.tags]
    assert "script" not in tags and "iframe" not in tags
    for tag, attrs in page.tags:
        if tag == "link":
            pytest.fail(f"external resource: {attrs}")
        if tag == "img":
            assert attrs["src"].startswith("data:image/png;base64,")
    assert "@import" not in text and "url(" not in text
    for section in SECTIONS:
        assert any(h.startswith(section) for h in page.headings), section
    if "competing" in case.name:
        assert any(h.startswith("ACH matrix") for h in page.headings)
    assert sum(t == "img" for t in tags) >= 5
    status, out, _ = run(["assess", str(case), "--json", "--seed", "1"])
    assert json.loads(out)["verdict"] in text.replace("&#x27;", "'")


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_markdown_report(tmp_path, case):
    text = _report(tmp_path, case, ".md")
    for section in SECTIONS:
        assert f"## {section}" in text
    assert "](data:image/png;base64," in text


def test_case_text_cannot_inject_markup(tmp_path):
    case = tmp_path / "inj.yaml"
    case.write_text(
        "credence: 1\n"
        "title: '<script>alert(1)</script> [x](javascript:alert(2))'\n"
        "claim: {statement: '<b>bold</b>'}\n"
        "sources: [{id: s, reliability: 0.8}]\n"
        "evidence:\n"
        "  - {id: e, source: s, stance: supports, summary: '<img src=x onerror=alert(3)>',\n"
        "     url: 'javascript:alert(4)', date: 2024-01-01}\n"
        "  - {id: f, source: s, stance: supports, url: 'https://example.org/a?b=<c>'}\n"
    )
    html_text = _report(tmp_path, case, ".html")
    page = _Page()
    page.feed(html_text)
    assert "script" not in [t for t, _ in page.tags]
    assert not any(t == "img" and not a["src"].startswith("data:") for t, a in page.tags)
    hrefs = [a.get("href") for t, a in page.tags if t == "a"]
    assert hrefs == ["https://example.org/a?b=<c>"]
    assert "&lt;script&gt;" in html_text
    md = _report(tmp_path, case, ".md")
    md = re.sub(r"```yaml\n.*?\n```", "", md, flags=re.S)  # the case as written is code
    assert not re.search(r"(?<!\\)\[[^\]]*(?<!\\)\]\(javascript", md)  # no live link
    assert not re.search(r"(?<!\\)<(script|img)", md)  # raw HTML only as escaped text


def test_report_refuses_bad_outputs(tmp_path):
    case = tmp_path / "case.yaml"
    shutil.copy(CASES[0], case)
    for output, message in [
        (case, ".html or .md"),
        (tmp_path / "r.pdf", ".html or .md"),
        (tmp_path / "missing" / "r.html", "does not exist"),
        (tmp_path, ".html or .md"),
    ]:
        status, out, err = run(["report", str(case), "-o", str(output)])
        assert status == 2 and out == "", output
        assert message in err and "Traceback" not in err
    same = tmp_path / "same.html"
    shutil.copy(case, same)
    status, _, err = run(["report", str(same), "-o", str(same)])
    assert status == 2 and "overwrite an input" in err
    assert not list(tmp_path.glob(".*.tmp"))


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.mark.slow
def test_report_renders_in_a_real_browser(tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip(
            "no headless browser (chromium) on this machine: .ci/run installs Debian's "
            "chromium when it runs as root with apt-get; install it to run this test"
        )
    text = _report(tmp_path, CASES[1], ".html")
    page = tmp_path / "report.html"
    page.write_text(text, encoding="utf-8")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files"]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "What are the North Korean troops in Russia for?" in dom
    assert len(re.findall(r"<img ", dom)) >= 5
    shot = tmp_path / "shot.png"
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=1200,3000", page.as_uri()],
        capture_output=True,
        timeout=120,
    )
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.std() > 0.05, "the rendered page is blank"
