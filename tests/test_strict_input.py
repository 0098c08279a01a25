"""The "Strict input" contract for case files, the command line and the Python API.

Hostile files live in tests/hostile/; large ones are generated here. Every one must
give exit status 2, nothing on stdout, and each problem on one located line.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from strategies import cases

import credence
from credence import Case, CaseError, Claim, Evidence, Source, assess
from credence.document import MAX_VALUES
from credence.files import MAX_CASE_BYTES
from credence.testing import run_cli

HOSTILE = Path(__file__).parent / "hostile"
EXAMPLE = Path(__file__).parents[1] / "examples" / "north-korea-troops.yaml"

#: file -> (text each line of the message must contain in order, a line:col it must name)
EXPECTED = {
    "duplicate-stance.yaml": ("duplicate key 'stance' (first at line 8)", ":9:5:"),
    "duplicate-reliability.yaml": ("duplicate key 'reliability' (first at line 4)", ":4:29:"),
    "duplicate-claim.yaml": ("duplicate key 'claim' (first at line 2)", ":4:1:"),
    "duplicate-key.json": ("duplicate key 'reliability' (first at line 2)", ":2:46:"),
    "yes-no-likelihood.yaml": ("likelihood.true: expected a number, got the text 'yes'", ":4:"),
    "boolean-priors.yaml": ("prior: expected a number, got the boolean true", ":3:20:"),
    "text-beta.yaml": ("claim.prior.beta[0]: expected a number, got the text '8'", ":2:38:"),
    "yes-on-beta.yaml": ("expected a number, got the text 'yes'", ":2:38:"),
    "text-reliability.yaml": ("got the text '0.9' (write numbers without quotes)", ":4:26:"),
    "date-2024-18-10.yaml": ("date: no such date: 2024-18-10", ":6:48:"),
    "date-2023-02-30.yaml": ("date: no such date: 2023-02-30", ":6:48:"),
    "date-86400.yaml": ("YYYY-MM-DD, e.g. 2024-10-18; got the number 86400", ":6:48:"),
    "date-number.json": ("YYYY-MM-DD, e.g. 2024-10-18; got the number 86400", ":2:"),
    "date-20230616.yaml": ("YYYY-MM-DD", ":6:48:"),
    "date-16_06_2023.yaml": ("YYYY-MM-DD, e.g. 2024-10-18; got the text '16/06/2023'", ":6:48:"),
    "date-2024.yaml": ("YYYY-MM-DD", ":6:48:"),
    "date-2024-10-18T10_00_00.yaml": ("YYYY-MM-DD", ":6:48:"),
    "huge-integer.yaml": ("an integer of more than 30 digits", ":2:30:"),
    "huge-integer.json": ("an integer of more than 30 digits", ":1:54:"),
    "float-tag.yaml": ("'abc' is not a valid !!float", ":2:30:"),
    "python-tag.yaml": ("is not allowed", ":2:8:"),
    "recursive-alias.yaml": ("recursive alias", ":2:"),
    "typo.yaml": ("unknown key 'reliabilty' (did you mean 'reliability'?)", ":5:5:"),
    "huge-key.yaml": ("invalid YAML", ":3:"),
    "many-problems.yaml": ("sources[0] (id s0).reliability", ":4:27:"),
    "two-documents.yaml": ("more than one YAML document", ":3:1:"),
    "deep.yaml": ("nested more than 64 levels deep", ":2:"),
    "overflow-beta.yaml": ("beta[0]: Input should be greater than 0", ":4:34:"),
    "group-members-text.yaml": ("groups[0] (id g).members: Input should be a valid list", ":8:22:"),
    "group-copy-text.yaml": ("copy_probability: expected a probability", ":8:48:"),
    "about-typo.yaml": ("unknown key 'hypothesis' (did you mean 'hypotheses'?)", ":7:9:"),
}


def run(argv: list[str]) -> tuple[int, str, str]:
    """Run the command line in this process: exit status, stdout, stderr."""
    done = run_cli(argv)
    return done.status, done.stdout, done.stderr


def assert_refused(path: Path | str, *commands: list[str]) -> list[str]:
    for command in commands or (["validate"], ["assess"], ["assess", "--json"]):
        status, out, err = run([command[0], str(path), *command[1:]])
        assert status == 2, (command, err)
        assert out == ""
        assert "Traceback" not in err
    lines = err.splitlines()
    assert 1 <= len(lines) <= 21
    assert all(line.startswith(f"{path}") for line in lines if not line.startswith("..."))
    return lines


def test_the_corpus_is_complete():
    assert sorted(EXPECTED) == sorted(p.name for p in HOSTILE.iterdir())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_file(name):
    path = HOSTILE / name
    lines = assert_refused(path)
    text, place = EXPECTED[name]
    assert text in lines[0], lines
    assert place in lines[0], lines
    assert max(len(line) for line in lines) < 400 + len(str(path))


def test_every_problem_is_listed_up_to_twenty():
    lines = assert_refused(HOSTILE / "many-problems.yaml", ["validate"])
    assert len(lines) == 21
    assert lines[-1] == "... and 10 more problems"
    assert [int(line.split(":")[1]) for line in lines[:20]] == list(range(4, 24))


def test_a_typo_comes_before_what_it_made_missing():
    lines = assert_refused(HOSTILE / "typo.yaml", ["validate"])
    assert "unknown key 'reliabilty'" in lines[0]
    assert "missing key 'reliability'" in lines[1]


def test_duplicate_keys_are_refused_not_resolved():
    # Before: the last `stance` won and the verdict flipped silently.
    for name in ("duplicate-stance.yaml", "duplicate-claim.yaml", "duplicate-key.json"):
        assert_refused(HOSTILE / name, ["validate"])
    with pytest.raises(CaseError, match="duplicate key 'claim'"):
        credence.load_case(HOSTILE / "duplicate-claim.yaml")


def test_valid_dates_in_both_formats(tmp_path):
    yaml_path = tmp_path / "d.yaml"
    yaml_path.write_text(
        "credence: 1\nclaim: {statement: c}\nsources: [{id: s, reliability: 0.8}]\n"
        "evidence:\n  - {id: b, source: s, stance: supports, date: 2024-02-29}\n"
        "  - {id: a, source: s, stance: refutes, date: '2023-12-31'}\n"
    )
    json_path = tmp_path / "d.json"
    json_path.write_text(json.dumps(credence.io.read_document(yaml_path)))
    for path in (yaml_path, json_path):
        result = assess(path, seed=0)
        assert list(result.evidence_ids) == ["a", "b"]


def test_yaml_keeps_text_as_text(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        "credence: 1\ntitle: no\nclaim: {statement: on}\nsources: [{id: yes, reliability: 1e-1}]\n"
        "evidence: [{id: 0x1F, source: yes, stance: supports, summary: 2024-10-18}]\n"
    )
    data = credence.io.read_document(path)
    assert data["title"] == "no" and data["claim"]["statement"] == "on"
    assert data["sources"][0] == {"id": "yes", "reliability": 0.1}
    assert data["evidence"][0]["summary"] == "2024-10-18"
    assert data["evidence"][0]["id"] == 31  # an integer: refused as an id below
    assert_refused(path, ["validate"])


def test_fifo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "case.yaml"
    os.mkfifo(fifo)
    # No writer ever opens it: a blocking open would wait forever.
    lines = assert_refused(fifo)
    assert "a FIFO, not a regular file" in lines[0]


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_devices_are_refused(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    lines = assert_refused(device)
    assert "a device, not a regular file" in lines[0]


def test_directory_and_missing_file(tmp_path):
    assert "a directory" in assert_refused(tmp_path)[0]
    assert "No such file" in assert_refused(tmp_path / "nope.yaml")[0]


def _peak_rss_mib(code: str) -> tuple[int, float, str]:
    """Run ``code`` in a fresh interpreter; its exit status, peak memory (MiB), stderr."""
    # VmHWM is this process's own high-water mark; ru_maxrss would include the
    # test runner's, which Linux carries across fork and exec.
    probe = (
        "import resource, sys\n"
        "from credence.cli import main\n"
        f"status = main({code})\n"
        "try:\n"
        "    status_lines = open('/proc/self/status').read().splitlines()\n"
        "    peak = next(int(l.split()[1]) for l in status_lines if l.startswith('VmHWM')) / 1024\n"
        "except OSError:\n"
        "    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # macOS: bytes\n"
        "print(peak, file=sys.stderr)\n"
        "sys.exit(status)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    *message, peak = proc.stderr.strip().splitlines()
    assert proc.stdout == ""
    return proc.returncode, float(peak), "\n".join(message)


@pytest.mark.timeout(120)
def test_large_documents_are_refused_in_bounded_memory(tmp_path):
    # A 5 MB flat YAML list took 81 s and 1.6 GB, then was called an alias bomb.
    flat = tmp_path / "flat.yaml"
    flat.write_text("credence: 1\nitems:\n" + "  - 1\n" * 1_000_000)
    status, peak, err = _peak_rss_mib(f"['validate', {str(flat)!r}]")
    assert status == 2 and f"more than {MAX_VALUES:,} values" in err
    assert peak < 512, peak
    # 10 million wrong-typed items in 20 MB of JSON aborted the process at 3 GB.
    wide = tmp_path / "wide.json"
    wide.write_text('{"credence": 1, "evidence": [' + ",".join(["1"] * 10_000_000) + "]}")
    status, peak, err = _peak_rss_mib(f"['validate', {str(wide)!r}]")
    assert status == 2 and "larger than 16 MiB" in err
    # Just under the size cap: refused by the value count, not by memory.
    under = tmp_path / "under.json"
    n = (MAX_CASE_BYTES - 100) // 2
    under.write_text('{"credence": 1, "evidence": [' + ",".join(["1"] * n) + "]}")
    status, peak, err = _peak_rss_mib(f"['validate', {str(under)!r}]")
    assert status == 2 and f"more than {MAX_VALUES:,} values" in err
    assert peak < 512, peak


@pytest.mark.timeout(120)
def test_many_wrong_items_under_the_value_cap_stay_bounded(tmp_path):
    path = tmp_path / "many.yaml"
    path.write_text("credence: 1\nclaim: {statement: c}\nevidence:\n" + "  - 1\n" * 400_000)
    status, peak, err = _peak_rss_mib(f"['validate', {str(path)!r}]")
    assert status == 2
    lines = err.splitlines()
    assert len(lines) == 21 and lines[-1].startswith("... and ")
    assert peak < 512, peak


def test_markup_and_control_characters_are_shown_as_text(tmp_path):
    path = tmp_path / "inj.json"
    case = {
        "credence": 1,
        "title": "Title [/] with \x1b[31mred\x1b[0m and \ud800",
        "claim": {"statement": "Claim [x] stays [link=https://evil.example]verbatim[/link]"},
        "sources": [{"id": "s[bold]", "reliability": 0.8}],
        "evidence": [{"id": "e\x07", "source": "s[bold]", "stance": "supports"}],
    }
    path.write_text(json.dumps(case))
    status, out, err = run(["assess", str(path)])
    assert status == 0, err
    assert "Claim [x] stays [link=https://evil.example]verbatim[/link]" in out
    assert "Title [/] with \\x1b[31mred\\x1b[0m and \\ud800" in out
    assert "s[bold] supports" in out
    assert "\x1b" not in out and "\x07" not in out
    status, out, _ = run(["assess", str(path), "--json"])
    assert status == 0 and json.loads(out)["evidence"][0]["id"] == "e\x07"


def test_huge_values_are_not_echoed(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text(
        "credence: 1\nclaim: {statement: c}\nsources:\n  - {id: s, reliability: B, "
        + "k" * 1000
        + ": 1}\n"
    )
    lines = assert_refused(path, ["validate"])
    assert len(lines[0]) < 200 + len(str(path))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["assess"], "the following arguments are required: FILE"),
        (["assess", "x.yaml", "--seed", "-1"], "--seed: must be from 0"),
        (["assess", "x.yaml", "--seed", "1" * 5000], "--seed: expected a whole number"),
        (["assess", "x.yaml", "--draws", "1000000000"], "--draws: must be from 1 to 1,000,000"),
        (["assess", "x.yaml", "--draws", "0"], "--draws: must be from 1"),
        (["assess", "x.yaml", "--engine", "magic"], "invalid choice: 'magic'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_usage_errors_are_one_line(argv, message):
    status, out, err = run(argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err


def test_python_api_refuses_what_it_cannot_use():
    with pytest.raises(TypeError, match="not int"):
        assess(42)
    with pytest.raises(TypeError, match="not NoneType"):
        assess(None)
    for options, error, match in [
        ({"draws": -5}, ValueError, "draws must be from 1 to 1,000,000, not -5"),
        ({"draws": 10**9}, ValueError, "draws must be from 1 to 1,000,000"),
        ({"level": 1.5}, ValueError, "level must be a number strictly between 0 and 1"),
        ({"seed": "x"}, TypeError, "seed must be a whole number, not 'x'"),
        ({"seed": -1}, ValueError, "seed must be from 0"),
        ({"tuen": 5}, TypeError, "unknown option 'tuen' (did you mean 'tune'?); valid options"),
        ({"tune": 5}, TypeError, "tune is an option of engine='mcmc'"),
        ({"engine": "mcmc", "sampler": "nutpei"}, ValueError, "unknown sampler 'nutpei'"),
        ({"engine": "quantum"}, ValueError, "unknown engine"),
    ]:
        with pytest.raises(error, match=re.escape(match)):
            assess(EXAMPLE, **options)


def test_python_classes_raise_case_error():
    with pytest.raises(CaseError, match="claim"):
        Case(claim=42)
    with pytest.raises(CaseError, match=r"reliability: expected an Admiralty letter"):
        Source(id="s", reliability="0.9")
    with pytest.raises(CaseError, match="prior: expected a probability.*; got the boolean true"):
        Claim(statement="c", prior=True)
    with pytest.raises(CaseError, match="no such date: 2023-02-30"):
        Evidence(id="e", source="s", stance="supports", date="2023-02-30")
    with pytest.raises(CaseError, match=r"evidence\[0\] \(id e\)\.source: unknown source 'x'"):
        Case(
            claim=Claim(statement="c"),
            evidence=[Evidence(id="e", source="x", stance="supports")],
        )
    assert isinstance(CaseError("x"), ValueError)


# --- fuzzing -------------------------------------------------------------------------

KEYS = [
    "credence",
    "claim",
    "hypotheses",
    "sources",
    "evidence",
    "statement",
    "prior",
    "id",
    "reliability",
    "source",
    "stance",
    "supports",
    "refutes",
    "derived_from",
    "date",
    "copy_probability",
    "likelihood",
    "likelihood_ratio",
    "beta",
    "sensitivity",
    "false_positive_rate",
    "admiralty",
    "title",
    "credibility",
    "pooling",
    "groups",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**40), 10**40),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(
        ["A", "F", "supports", "refutes", "2024-10-18", "true", "s", "e", "1e400", "1.2"]
    ),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(KEYS), st.text(max_size=5)), children, max_size=5
        ),
    ),
    max_leaves=25,
).map(lambda d: {"credence": 1, **d} if isinstance(d, dict) else d)

# 150 examples under the "ci" profile, 1,500 under "long" (HYPOTHESIS_PROFILE=long).
FUZZ = settings(
    max_examples=settings.default.max_examples * 3 // 2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _check_cli(path: Path) -> None:
    for argv in (["validate", str(path)], ["assess", str(path), "--json", "--draws", "50"]):
        status, out, err = run(argv)
        event(f"{argv[0]} exit {status}")
        assert status in (0, 2), err
        if status == 2:
            assert out == "" and err and "Traceback" not in err
        else:
            assert err == "" or "warning" in err.lower()


@FUZZ
@given(doc=documents, as_json=st.booleans())
def test_fuzz_documents(tmp_path, doc, as_json):
    path = tmp_path / ("case.json" if as_json else "case.yaml")
    if as_json:
        path.write_text(json.dumps(doc))
    else:
        import yaml

        path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    _check_cli(path)


@FUZZ
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".yaml", ".json"]))
def test_fuzz_bytes(tmp_path, data, suffix):
    path = tmp_path / f"case{suffix}"
    path.write_bytes(data)
    _check_cli(path)


@FUZZ
@given(st.data())
def test_fuzz_mutated_example(tmp_path, data):
    raw = bytearray(EXAMPLE.read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["replace", "delete", "insert"]))
        byte = data.draw(st.sampled_from(b":-[]{},&*!'\"\n #0a\xff"))
        if action == "replace":
            raw[at] = byte
        elif action == "delete":
            del raw[at]
        else:
            raw.insert(at, byte)
    path = tmp_path / "case.yaml"
    path.write_bytes(bytes(raw))
    _check_cli(path)


def test_engine_problems_are_located_too(tmp_path):
    path = tmp_path / "copy.yaml"
    path.write_text(
        "credence: 1\nclaim: {statement: c}\nsources: [{id: s, reliability: 0.8}]\nevidence:\n"
        "  - {id: a, source: s, stance: supports}\n"
        "  - {id: b, source: s, stance: refutes, derived_from: [a]}\n"
    )
    for command in (["validate"], ["assess"], ["assess", "--json"]):
        (line,) = assert_refused(path, command)
        assert line.startswith(f"{path}:6:55: evidence[1] (id b).derived_from: a pure copy")


def _leaves(value, path=()):
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaves(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _leaves(child, (*path, i))
    yield path


@FUZZ
@given(st.data(), cases(max_items=5))
def test_fuzz_valid_cases_with_wrong_values(tmp_path, data, case):
    """A valid case with a few values replaced or keys dropped: exit 0 or 2, never worse."""
    case = copy.deepcopy(case)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _leaves(case) if p]
        path = data.draw(st.sampled_from(paths))
        parent = case
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, dict) and data.draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(scalars)
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    _check_cli(path)
