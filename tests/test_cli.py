"""The command-line contract of DESIGN.md."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import EXAMPLES

from credence import assess
from credence.cli import main

EXAMPLE = EXAMPLES / "north-korea-troops.yaml"


def test_assess_json_contract(capsys):
    assert main(["assess", str(EXAMPLE), "--json", "--seed", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["engine"] == "exact"
    assert set(out["posterior"]) == {"true", "false"}
    assert out["probability"] == pytest.approx(out["posterior"]["true"])
    lo, hi = out["interval"]
    assert 0 <= lo <= hi <= 1
    assert out["words"] in out["verdict"]
    assert "bans" in out["unit"]
    direct = assess(EXAMPLE, seed=3)
    assert out["probability"] == pytest.approx(direct.probability, abs=1e-15)
    ids = [e["id"] for e in out["evidence"]]
    assert ids == list(direct.evidence_ids)
    assert out["title"] == direct.case.title
    assert out["claim"] == direct.case.claim.statement
    items = {e.id: e for e in direct.case.evidence}
    for i, entry in enumerate(out["evidence"]):
        assert set(entry) == {
            "id",
            "source",
            "signal",
            "date",
            "summary",
            "url",
            "log10_bf_in_order",
            "log10_bf_leave_one_out",
            "probability_after",
        }
        item = items[entry["id"]]
        assert entry["summary"] == item.summary and entry["url"] == item.url
        assert entry["date"] == (item.date.isoformat() if item.date else None)
        assert entry["probability_after"] == pytest.approx(direct.path[i, 0], abs=1e-15)


def test_assess_explain_and_as_of(capsys):
    assert main(["assess", str(EXAMPLE), "--json", "--seed", "3", "--as-of", "2024-10-18"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["as_of"] == "2024-10-18"
    assert all(e["date"] <= "2024-10-18" for e in out["evidence"] if e["date"])
    assert main(["assess", str(EXAMPLE), "--json", "--seed", "3", "--explain"]) == 0
    explained = json.loads(capsys.readouterr().out)["explain"]
    assert set(explained) >= {
        "what_would_change",
        "prior_sensitivity",
        "reliability_tornado",
        "next_sources",
        "timeline",
    }
    direct = assess(EXAMPLE, seed=3).what_would_change().to_dict()
    assert explained["what_would_change"]["rows"] == direct["rows"]


def test_seed_repeats_output(capsys):
    main(["assess", str(EXAMPLE), "--json", "--seed", "5"])
    first = capsys.readouterr().out
    main(["assess", str(EXAMPLE), "--json", "--seed", "5"])
    assert capsys.readouterr().out == first


def test_assess_text_has_verdict_and_ledger(capsys):
    assert main(["assess", str(EXAMPLE), "--seed", "1"]) == 0
    out = capsys.readouterr().out
    result = assess(EXAMPLE, seed=1)
    assert f"Verdict: {result.verdict}" in out
    assert "robustness interval" in out
    for eid in result.evidence_ids:
        assert eid in out
    assert "bans" in out


def test_multi_hypothesis_json(tmp_path, capsys):
    path = tmp_path / "ach.yaml"
    path.write_text(
        "credence: 1\nhypotheses: [{id: a, prior: 0.5}, {id: b, prior: 0.3}, {id: c, prior: 0.2}]\n"
        "sources: [{id: s, reliability: B}]\n"
        "evidence:\n  - {id: e, source: s, supports: [a, b]}\n"
        "  - {id: d, likelihood: {a: 0.1, b: 0.5, c: 0.5}}\n"
    )
    assert main(["assess", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["posterior"]) == {"a", "b", "c"}
    assert "probability" not in out
    assert out["leading"] == max(out["posterior"], key=out["posterior"].get)
    assert set(out["evidence"][0]["log10_bf_in_order"]) == {"a", "b", "c"}


def test_validate_and_schema(capsys):
    assert main(["validate", str(EXAMPLE)]) == 0
    assert "valid case v1" in capsys.readouterr().out
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["additionalProperties"] is False
    assert {"claim", "hypotheses", "sources", "evidence"} <= set(schema["properties"])


def test_python_m_and_console_script():
    proc = subprocess.run(
        [sys.executable, "-m", "credence", "assess", str(EXAMPLE), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(proc.stdout)["engine"] == "exact"
    assert proc.stderr == ""


def test_infinite_contributions_are_valid_json(tmp_path, capsys):
    path = tmp_path / "certain.yaml"
    path.write_text(
        "credence: 1\nclaim: {statement: c}\nsources: [{id: s, reliability: 1.0}]\n"
        "evidence: [{id: e, source: s, stance: supports}]\n"
    )
    assert main(["assess", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["probability"] == 1.0
    assert out["evidence"][0]["log10_bf_in_order"] is None


def test_draws_option(capsys):
    assert main(["assess", str(EXAMPLE), "--json", "--seed", "2", "--draws", "20000"]) == 0
    out = json.loads(capsys.readouterr().out)
    interval = assess(EXAMPLE, seed=2, draws=20000).interval
    assert out["interval"] == pytest.approx(list(interval), abs=1e-15)
    with pytest.raises(SystemExit) as exit_:
        main(["assess", str(EXAMPLE), "--draws", "0"])
    assert exit_.value.code == 2
