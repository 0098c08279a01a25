"""Every invalid case file: exit status 2, one message naming file, place and problem."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from credence.cli import main

GOOD_SOURCES = "sources:\n  - {id: s, reliability: 0.8}\n"
CLAIM = "credence: 1\nclaim: {statement: c}\n"

CASES = {
    "unknown-key": (
        CLAIM + GOOD_SOURCES + "evidence:\n  - {id: e, source: s, stance: supports, colour: red}\n",
        "evidence[0].colour",
        "unknown key",
    ),
    "unknown-source": (
        CLAIM + GOOD_SOURCES + "evidence:\n  - {id: e, source: t, stance: supports}\n",
        "evidence[0].source",
        "unknown source 't'",
    ),
    "duplicate-evidence-id": (
        CLAIM + GOOD_SOURCES + "evidence:\n  - {id: e, source: s, stance: supports}\n"
        "  - {id: e, source: s, stance: refutes}\n",
        "evidence[1].id",
        "duplicate id",
    ),
    "duplicate-source-id": (
        CLAIM + GOOD_SOURCES + "  - {id: s, reliability: 0.6}\n",
        "sources[1].id",
        "duplicate id",
    ),
    "unknown-parent": (
        CLAIM
        + GOOD_SOURCES
        + "evidence:\n  - {id: e, source: s, stance: supports, derived_from: [x]}\n",
        "evidence[0].derived_from[0]",
        "unknown evidence id 'x'",
    ),
    "cycle": (
        CLAIM + GOOD_SOURCES + "evidence:\n"
        "  - {id: a, source: s, stance: supports, derived_from: [b], copy_probability: 0.5}\n"
        "  - {id: b, source: s, stance: supports, derived_from: [a], copy_probability: 0.5}\n",
        "derived_from",
        "provenance cycle",
    ),
    "probability-above-one": (
        CLAIM + "sources:\n  - {id: s, reliability: 1.2}\n",
        "sources[0].reliability",
        "less than or equal to 1",
    ),
    "negative-prior": (
        "credence: 1\nclaim: {statement: c, prior: -0.1}\n",
        "claim.prior",
        "greater than or equal to 0",
    ),
    "nan": (
        CLAIM + "sources:\n  - {id: s, reliability: .nan}\n",
        "sources[0].reliability",
        "finite",
    ),
    "inf": (
        CLAIM + "sources:\n  - {id: s, reliability: {beta: [.inf, 2]}}\n",
        "sources[0].reliability.beta[0]",
        "finite",
    ),
    "beta-zero": (
        CLAIM + "sources:\n  - {id: s, reliability: {beta: [0, 2]}}\n",
        "sources[0].reliability.beta[0]",
        "greater than 0",
    ),
    "priors-not-summing": (
        "credence: 1\nhypotheses:\n  - {id: a, prior: 0.5}\n  - {id: b, prior: 0.6}\n",
        "hypotheses",
        "sum to 1",
    ),
    "unknown-hypothesis": (
        "credence: 1\nhypotheses: [{id: a}, {id: b}]\n"
        + GOOD_SOURCES
        + "evidence:\n  - {id: e, source: s, supports: [c]}\n",
        "evidence[0].supports[0]",
        "unknown hypothesis 'c'",
    ),
    "claim-and-hypotheses": (
        "credence: 1\nclaim: {statement: c}\nhypotheses: [{id: a}, {id: b}]\n",
        "claim",
        "exactly one of",
    ),
    "missing-version": ("claim: {statement: c}\n", "credence", "missing format version"),
    "unsupported-version": (
        "credence: 2\nclaim: {statement: c}\n",
        "credence",
        "unsupported format version 2",
    ),
    "empty": ("", "", "empty case file"),
    "not-a-mapping": ("- 1\n- 2\n", "", "must be a mapping"),
    "scalar": ("just text\n", "", "must be a mapping"),
    "python-tag": (
        "credence: 1\nclaim: !!python/object/apply:os.system ['echo hi']\n",
        ".yaml:2:8:",
        "not allowed",
    ),
    "bad-yaml": ("credence: 1\nclaim: {statement: c\n", ".yaml:3:1:", "invalid YAML"),
    "impossible": (
        CLAIM + "sources:\n  - {id: s, reliability: 1.0}\nevidence:\n"
        "  - {id: a, source: s, stance: supports}\n  - {id: b, source: s, stance: refutes}\n",
        "evidence[1]",
        "impossible under every hypothesis",
    ),
    "pure-copy-disagrees": (
        CLAIM + GOOD_SOURCES + "evidence:\n  - {id: a, source: s, stance: supports}\n"
        "  - {id: b, source: s, stance: refutes, derived_from: [a]}\n",
        "evidence[1].derived_from",
        "pure copy",
    ),
    "stance-in-multi": (
        "credence: 1\nhypotheses: [{id: a}, {id: b}]\n"
        + GOOD_SOURCES
        + "evidence:\n  - {id: e, source: s, stance: supports}\n",
        "evidence[0].stance",
        "supports: [ids]",
    ),
    "bad-grade": (CLAIM + "sources:\n  - {id: s, reliability: G}\n", "sources[0].reliability", "A"),
    "bool-reliability": (
        CLAIM + "sources:\n  - {id: s, reliability: yes}\n",
        "sources[0].reliability",
        "Admiralty letter",
    ),
    "missing-reliability": (
        CLAIM + "sources:\n  - {id: s}\n",
        "sources[0]",
        "missing key 'reliability'",
    ),
    "unknown-grade-override": (CLAIM + "admiralty: {H: 0.8}\n", "admiralty.H", "unknown key 'H'"),
    "no-signal": (
        CLAIM + GOOD_SOURCES + "evidence:\n  - {id: e, source: s}\n",
        "evidence[0]",
        "exactly one of",
    ),
    "missing-likelihood": (
        "credence: 1\nhypotheses: [{id: a}, {id: b}]\n"
        "evidence:\n  - {id: e, likelihood: {a: 0.5}}\n",
        "evidence[0].likelihood",
        "missing b",
    ),
    "direct-as-parent": (
        CLAIM + GOOD_SOURCES + "evidence:\n  - {id: d, likelihood_ratio: 2}\n"
        "  - {id: e, source: s, stance: supports, derived_from: [d]}\n",
        "evidence[1].derived_from[0]",
        "direct evidence",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_case_file(name, tmp_path, capsys):
    text, where, what = CASES[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    for command in (
        ["assess", str(path)],
        ["validate", str(path)],
        ["assess", str(path), "--json"],
    ):
        assert main(command) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert err.count("\n") == 1, err
        assert err.startswith(f"{path}:")
        assert where in re.sub(r" \(id [^)]*\)", "", err), err
        assert what in err, err
        assert "Traceback" not in err


def test_binary_file(tmp_path, capsys):
    path = tmp_path / "case.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert main(["assess", str(path)]) == 2
    assert "binary data" in capsys.readouterr().err


def test_missing_file(tmp_path, capsys):
    assert main(["assess", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot read case file" in capsys.readouterr().err


def test_invalid_json(tmp_path, capsys):
    path = tmp_path / "case.json"
    path.write_text('{"credence": 1, "claim": {"statement": "c", "prior": NaN}}')
    assert main(["assess", str(path)]) == 2
    err = capsys.readouterr().err
    assert "claim.prior" in err and "finite" in err


@pytest.mark.timeout(60)
def test_alias_bomb_is_refused(tmp_path, capsys):
    lines = ["credence: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert main(["assess", str(path)]) == 2
    assert "aliases counted as copies" in capsys.readouterr().err


def test_no_traceback_in_a_real_process(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text(CLAIM + GOOD_SOURCES + "evidence:\n  - {id: e, sourse: s, stance: supports}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "credence", "assess", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert (
        "evidence[0] (id e).sourse: unknown key 'sourse'" in proc.stderr
        and "Traceback" not in proc.stderr
    )
