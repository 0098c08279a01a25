"""Case format v1: every form, files and Python objects, round trips."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import EXAMPLES
from hypothesis import given
from pydantic import ValidationError
from strategies import cases

from credence import (
    Admiralty,
    Beta,
    Case,
    CaseError,
    Claim,
    Evidence,
    Hypothesis,
    LogNormal,
    Source,
    TwoCoin,
    assess,
    load_case,
)
from credence.io import case_from_dict


def test_python_objects_equal_the_file(tmp_path):
    case = Case(
        title="t",
        claim=Claim(statement="s", prior=Beta(2, 8)),
        sources=[
            Source(id="a", reliability="B"),
            Source(id="b", reliability=Admiralty("C")),
            Source(id="c", reliability=0.7),
            Source(id="d", reliability=Beta(3, 1)),
            Source(id="e", reliability=TwoCoin(sensitivity=0.9, false_positive_rate=Beta(1, 9))),
        ],
        evidence=[
            Evidence(
                id="x",
                source="a",
                stance="supports",
                date="2024-10-18",
                credibility=2,
                url="https://example.org",
                summary="s",
            ),
            Evidence(
                id="y",
                source="e",
                stance="refutes",
                derived_from=["x"],
                copy_probability=Beta(8, 2),
            ),
            Evidence(id="z", likelihood_ratio=1.5),
        ],
    )
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(case.to_dict()))
    assert load_case(path) == case
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case.to_dict()))
    assert load_case(path) == case
    assert assess(case, seed=1).posterior == assess(path, seed=1).posterior


@given(cases())
def test_round_trip(data):
    try:
        case = case_from_dict(data)
    except CaseError:
        return
    assert case_from_dict(json.loads(json.dumps(case.to_dict()))) == case


def test_multi_hypothesis_forms():
    case = Case(
        hypotheses=[Hypothesis(id="a", statement="A"), Hypothesis(id="b"), Hypothesis(id="c")],
        sources=[Source(id="s", reliability="F")],
        evidence=[
            Evidence(id="e", source="s", refutes=["a"]),
            Evidence(id="d", likelihood={"a": 0.2, "b": 0.4, "c": 0.4}),
        ],
    )
    assert case.hypothesis_ids == ("a", "b", "c")
    assert not case.is_binary


def test_yaml_boolean_keys_in_binary_likelihood(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "credence: 1\nclaim: {statement: c}\nevidence:\n"
        "  - {id: d, likelihood: {true: 0.8, false: 0.2}}\n"
    )
    assert assess(path, seed=0).probability == pytest.approx(0.8)


def test_lognormal_needs_mcmc():
    case = Case(
        claim=Claim(statement="c"), evidence=[Evidence(id="d", likelihood_ratio=LogNormal(0, 1))]
    )
    with pytest.raises(CaseError, match="--engine mcmc") as err:
        assess(case)
    assert err.value.location == "evidence[0].likelihood_ratio"


def test_pooling_needs_mcmc():
    data = {
        "credence": 1,
        "claim": {"statement": "c"},
        "pooling": {"by": "kind"},
        "sources": [{"id": "s", "kind": "media", "reliability": "C"}],
    }
    with pytest.raises(CaseError, match="--engine mcmc"):
        assess(data)


def test_cases_are_frozen():
    case = Case(claim=Claim(statement="c"))
    with pytest.raises(ValidationError, match="frozen"):
        case.title = "x"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")))
def test_examples_validate(path):
    load_case(path)
