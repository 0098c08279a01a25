"""Every example runs: scripts exit 0 with meaningful output, case files validate and assess."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys

import pytest
from conftest import EXAMPLES, ROOT

from credence.compile import compile_case
from credence.io import load_case
from credence.words import ICD203

SCRIPTS = sorted(EXAMPLES.glob("*.py"))
CASES = sorted(p for ext in ("yaml", "yml", "json") for p in EXAMPLES.glob(f"*.{ext}"))
WORDS = [text for _, text in ICD203]

#: What each documented script must print, besides exiting 0.
EXPECTED = {
    "north_korea_sensitivity.py": [
        "as written in the case file",
        "NIS graded A",
        "false-positive rate Beta(9, 1)",
        "CNN 20 Oct independent (0)",
        "A sceptic's case",
        "robustness interval",
    ],
    "build_case_in_python.py": [
        "credence: 1",
        "<Assessment",
        "Verdict:",
        "log10_bf_in_order",
        "log10_bf_leave_one_out",
        "cctv-footage",
    ],
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONWARNINGS", None)
    env["COLUMNS"] = "120"
    return env


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(),
    )


def _engine(path) -> str:
    return "mcmc" if compile_case(load_case(path)).needs_mcmc else "exact"


def test_examples_exist():
    names = {p.name for p in SCRIPTS} | {p.name for p in CASES}
    assert {"north_korea_sensitivity.py", "build_case_in_python.py"} <= names
    assert {"north-korea-troops.yaml", "competing_hypotheses.yaml"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_runs(script):
    done = _run(str(script))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    out = done.stdout
    assert out.strip(), "the example printed nothing"
    for expected in EXPECTED.get(script.name, []):
        assert expected in out, f"{expected!r} missing from the output of {script.name}"
    if script.name in EXPECTED:
        assert any(word in out for word in WORDS)


def test_sensitivity_moves_the_right_way():
    done = _run(str(EXAMPLES / "north_korea_sensitivity.py"))
    assert done.returncode == 0, done.stderr

    def percent(label: str) -> float:
        line = next(line for line in done.stdout.splitlines() if line.strip().startswith(label))
        found = re.search(r"\(([0-9.]+)%, 90% robustness interval", line)
        assert found, line
        return float(found.group(1))

    base = percent("as written in the case file")
    assert percent("prior 0.01") < percent("prior 0.05") < base < percent("prior 0.50")
    assert percent("NIS graded D") < percent("NIS graded C") < base < percent("NIS graded A")
    assert percent("without the article") == base  # graded F: moves nothing
    assert percent("all three together") < 50


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_case_validates(case):
    done = _run("-m", "credence", "validate", str(case.relative_to(ROOT)))
    assert done.returncode == 0, done.stderr
    assert "valid case v1" in done.stdout
    assert done.stderr == ""


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(p, marks=[pytest.mark.slow] if _engine(p) == "mcmc" else [], id=p.name)
        for p in CASES
    ],
)
def test_case_assesses_to_json(case):
    engine = _engine(case)
    done = _run(
        "-m",
        "credence",
        "assess",
        str(case.relative_to(ROOT)),
        "--json",
        "--seed",
        "1",
        "--engine",
        engine,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)  # exactly one JSON object
    loaded = load_case(case)
    assert out["engine"] == engine
    assert set(out["posterior"]) == set(loaded.hypothesis_ids)
    assert math.isclose(sum(out["posterior"].values()), 1.0, abs_tol=1e-9)
    if loaded.is_binary:
        assert out["probability"] == out["posterior"]["true"]
    else:
        assert out["leading"] in out["posterior"]
    lo, hi = out["interval"]
    assert 0.0 <= lo <= hi <= 1.0
    assert out["words"] in WORDS
    assert {e["id"] for e in out["evidence"]} == {e.id for e in loaded.evidence}
    for entry in out["evidence"]:
        assert {"id", "log10_bf_in_order", "log10_bf_leave_one_out"} <= set(entry)


def test_north_korea_cases_tell_the_tutorial_story():
    """The numbers the tutorial quotes: 94% on 21 October, above 99.9% on 28 October."""
    early = json.loads(
        _run(
            "-m", "credence", "assess", "examples/north-korea-troops.yaml", "--json", "--seed", "1"
        ).stdout
    )
    late = json.loads(
        _run(
            "-m",
            "credence",
            "assess",
            "examples/north-korea-troops-2024-10-28.yaml",
            "--json",
            "--seed",
            "1",
        ).stdout
    )
    assert round(early["probability"], 2) == 0.94
    assert early["words"] == "very likely"
    assert late["probability"] > 0.999
    assert late["words"] == "almost certain"
    ledger = {e["id"]: e for e in early["evidence"]}
    assert abs(ledger["cnn-oct20"]["log10_bf_in_order"]) < 1e-12  # a pure copy
    assert abs(ledger["article"]["log10_bf_leave_one_out"]) < 1e-12  # graded F


# --- The Nord Stream case (docs/tutorial-nord-stream.md): four hypotheses, `about`
# channels for the interested governments, same-week press in `groups`.

NORD_STREAM = EXAMPLES / "nord-stream-2022.yaml"


def _nord_stream_variant(change):
    """The Nord Stream case with its plain-data form edited by ``change``."""
    import copy

    from credence.io import case_from_dict

    data = copy.deepcopy(load_case(NORD_STREAM).to_dict())
    change(data)
    return case_from_dict(data)


def test_nord_stream_uses_both_additions():
    case = load_case(NORD_STREAM)
    assert len(case.hypothesis_ids) == 4
    assert {s.id for s in case.sources if s.about} == {"russia-gov", "ukraine-gov", "us-gov"}
    assert [g.id for g in case.groups] == ["march-2023", "august-2024"]
    assert all(e.url and e.summary and e.date for e in case.evidence)


def test_nord_stream_assesses_with_the_exact_engine():
    done = _run(
        "-m", "credence", "assess", str(NORD_STREAM.relative_to(ROOT)), "--json", "--seed", "1"
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["engine"] == "exact"
    assert out["leading"] == "ukraine"
    ledger = {e["id"]: e for e in out["evidence"]}
    # A channel whose two rates have the same prior carries nothing, exactly.
    for item in ("russia-gov-2022-09-28", "ukraine-gov-2023-03-07", "us-gov-2023-02-08"):
        for column in ("log10_bf_in_order", "log10_bf_leave_one_out"):
            assert all(abs(v) < 1e-12 for v in ledger[item][column].values()), (item, column)


def test_grouping_the_press_lowers_the_confidence():
    """With c ~ Beta(1, 1) two agreeing members carry less than two independent reports."""
    from credence import assess, explain

    case = load_case(NORD_STREAM)
    independent = _nord_stream_variant(lambda d: d.pop("groups"))
    march = "2023-03-31"
    for grouped_case, alone_case in [
        (case, independent),
        (explain.as_of(case, march), explain.as_of(independent, march)),
    ]:
        grouped = assess(grouped_case).posterior["ukraine"]
        alone = assess(alone_case).posterior["ukraine"]
        assert grouped < alone

    # c = 0 is the independent case.
    def no_copying(d):
        d["groups"][0]["copy_probability"] = 0.0
        d["groups"][1]["copy_probability"] = 0.0

    zero = assess(_nord_stream_variant(no_copying)).posterior
    assert zero == pytest.approx(assess(independent).posterior, rel=1e-9)


def test_about_channels_remove_the_governments_side_effect():
    """One channel per government: denials and accusations move the hypotheses they name."""
    from credence import assess, explain

    def one_channel(d):
        for source in d["sources"]:
            source.pop("about", None)

    single = assess(_nord_stream_variant(one_channel))
    ledger = single.ledger
    assert ledger.loc["ukraine-gov-2023-03-07", "log10_bf_in_order[ukraine]"] < -0.1
    assert ledger.loc["us-gov-2023-02-08", "log10_bf_in_order[usa]"] < -0.1
    assert ledger.loc["russia-gov-2022-09-30", "log10_bf_in_order[usa]"] > 0.1
    # the tutorial's story: in March 2023 a single channel made the US the leading suspect
    early = assess(explain.as_of(_nord_stream_variant(one_channel), "2023-03-31"))
    assert early.leading == "usa"
    assert assess(explain.as_of(load_case(NORD_STREAM), "2023-03-31")).leading == "ukraine"


def test_nord_stream_two_uncertain_groups_sharing_a_source_in_the_exact_engine():
    from credence import assess

    result = assess(_nord_stream_variant(lambda d: None))
    assert {"march-2023.group_copy_probability", "august-2024.group_copy_probability"} <= set(
        result.parameter_draws
    )
    assert abs(sum(result.posterior.values()) - 1.0) < 1e-12
