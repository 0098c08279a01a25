"""``about:`` channels: a source's separate parameters for signals about one exact set.

DESIGN.md "Dependence": in a multi-hypothesis case, a source's reports whose set A (the
hypotheses in ``supports:`` / ``refutes:``) is exactly a channel's set use the channel's
parameters, shared by those reports and integrated out like any other; its other reports
use ``reliability``. Binary cases refuse it. The oracle is tests/oracle.py ``dependence_*``
(Gauss-Jacobi quadrature, exact for these polynomial likelihoods).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from located import assert_one_problem
from oracle import dependence_log_evidence, uncertain_variables
from strategies import beta, compiled_or_skip, dependence_cases, light_reliabilities, prob

from credence import Beta, Case, CaseError, Channel, Evidence, Hypothesis, Source, TwoCoin, assess
from credence.compile import compile_case
from credence.exact import exact_log_evidence, exact_posterior
from credence.io import case_from_dict

# Properties that compare two exact runs: half the profile's examples (time).
PROPERTY_EXAMPLES = max(1, settings.default.max_examples // 2)


def posterior(data) -> np.ndarray:
    return exact_posterior(compile_case(case_from_dict(data)))


multi = dependence_cases(binary=False, max_groups=1)


@given(multi)
def test_log_evidence_with_channels_matches_quadrature_oracle(data):
    case, compiled = compiled_or_skip(data)
    assume(all(len(uncertain_variables(case, h)) <= 4 for h in case.hypothesis_ids))
    expected = dependence_log_evidence(case)
    np.testing.assert_allclose(
        exact_log_evidence(compiled),
        [expected[h] for h in case.hypothesis_ids],
        rtol=0,
        atol=1e-9,
    )


def as_fake_sources(data):
    """The old workaround: each channel becomes a source of its own, taking the reports
    whose set is exactly the channel's (in any order); the rest stay with the source."""
    out = copy.deepcopy(data)
    channels = {}
    for source in out["sources"]:
        for k, channel in enumerate(source.pop("about", [])):
            fake = f"{source['id']}--about{k}"
            channels[(source["id"], frozenset(channel["hypotheses"]))] = fake
            out["sources"].append({"id": fake, "reliability": channel["reliability"]})
    for item in out["evidence"]:
        if "source" not in item:
            continue
        A = frozenset(item.get("supports") or item.get("refutes"))
        item["source"] = channels.get((item["source"], A), item["source"])
    return out


@settings(max_examples=PROPERTY_EXAMPLES)
@given(multi)
def test_a_channel_is_a_separate_source_for_its_exact_set_only(data):
    # Reports on a superset or subset of the channel's set use `reliability`: only the
    # exact set moves to the fake source. Groups and provenance are unchanged.
    compiled_or_skip(data)
    assume(any("about" in s for s in data["sources"]))
    fake = as_fake_sources(data)
    np.testing.assert_allclose(posterior(data), posterior(fake), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        exact_log_evidence(compile_case(case_from_dict(data))),
        exact_log_evidence(compile_case(case_from_dict(fake))),
        rtol=0,
        atol=1e-10,
    )


def _hypotheses(k):
    return [{"id": f"h{i}"} for i in range(k)]


def test_exact_set_uses_the_channel_superset_and_subset_use_reliability():
    # s: accuracy 0.9; channel {h0, h1}: accuracy 0.5 (says nothing). Uniform prior, K = 4.
    def after(signal):
        return posterior(
            {
                "credence": 1,
                "hypotheses": _hypotheses(4),
                "sources": [
                    {
                        "id": "s",
                        "reliability": 0.9,
                        "about": [{"hypotheses": ["h0", "h1"], "reliability": 0.5}],
                    }
                ],
                "evidence": [{"id": "e", "source": "s", **signal}],
            }
        )

    np.testing.assert_allclose(after({"supports": ["h1", "h0"]}), [0.25] * 4, atol=1e-15)
    np.testing.assert_allclose(after({"refutes": ["h0", "h1"]}), [0.25] * 4, atol=1e-15)
    # subset {h0}: one-coin 0.9 on the declared set {h0}
    np.testing.assert_allclose(after({"supports": ["h0"]}), np.array([9, 1, 1, 1]) / 12, atol=1e-15)
    # superset {h0, h1, h2}
    np.testing.assert_allclose(
        after({"supports": ["h0", "h1", "h2"]}), np.array([9, 9, 9, 1]) / 28, atol=1e-15
    )


def test_channel_parameters_are_named_with_their_sorted_set():
    data = {
        "credence": 1,
        "hypotheses": _hypotheses(3),
        "sources": [
            {
                "id": "gov",
                "reliability": {"beta": [4, 2]},
                "about": [
                    {
                        "hypotheses": ["h2", "h0"],
                        "reliability": {
                            "sensitivity": {"beta": [3, 1]},
                            "false_positive_rate": 0.4,
                        },
                    },
                    {"hypotheses": ["h1"], "reliability": {"beta": [2, 2]}},
                ],
            }
        ],
        "evidence": [
            {"id": "a", "source": "gov", "supports": ["h0", "h2"]},
            {"id": "b", "source": "gov", "refutes": ["h1"]},
            {"id": "c", "source": "gov", "supports": ["h1", "h2"]},
        ],
    }
    draws = assess(data, seed=0, draws=50).parameter_draws
    assert set(draws) == {
        "gov.accuracy",
        "gov.about[h0+h2].sensitivity",
        "gov.about[h1].accuracy",
    }


def test_channel_parameter_names_are_unique_when_ids_contain_plus():
    # Hypothesis ids are free text: a channel about {a, b} and one about {"a+b"} are two
    # parameters and must have two names (draws are keyed by name).
    data = {
        "credence": 1,
        "hypotheses": [{"id": "a"}, {"id": "b"}, {"id": "a+b"}],
        "sources": [
            {
                "id": "s",
                "reliability": 0.7,
                "about": [
                    {"hypotheses": ["a", "b"], "reliability": {"beta": [2, 3]}},
                    {"hypotheses": ["a+b"], "reliability": {"beta": [5, 1]}},
                ],
            }
        ],
        "evidence": [
            {"id": "e1", "source": "s", "supports": ["a", "b"]},
            {"id": "e2", "source": "s", "supports": ["a+b"]},
        ],
    }
    names = compile_case(case_from_dict(data)).param_names
    assert len(set(names)) == len(names), names
    assert len(assess(data, seed=0, draws=20).parameter_draws) == 2


# -- channels that say nothing -------------------------------------------------------------


@st.composite
def with_channel_reports(draw, channel_reliability):
    """A multi-hypothesis case plus a source "iface" with one channel and reports on it.

    Returns (case with the channel reports, the same case without them). The channel
    reports are in no group and nobody derives from them (removing a member or a parent
    would change the other reports' match fractions); they may be derived themselves.
    """
    data = draw(dependence_cases(binary=False, max_groups=1))
    hyps = [h["id"] for h in data["hypotheses"]]
    chosen = draw(st.lists(st.sampled_from(hyps), min_size=1, max_size=len(hyps) - 1, unique=True))
    data["sources"].append(
        {
            "id": "iface",
            "reliability": draw(light_reliabilities()),
            "about": [{"hypotheses": chosen, "reliability": channel_reliability(draw)}],
        }
    )
    without = copy.deepcopy(data)
    sourced = [e["id"] for e in data["evidence"] if "source" in e]
    for j in range(draw(st.integers(1, 4))):
        signal = draw(st.sampled_from(["supports", "refutes"]))
        item = {"id": f"ch{j}", "source": "iface", signal: draw(st.permutations(chosen))}
        if sourced and draw(st.booleans()):
            item["derived_from"] = [draw(st.sampled_from(sourced))]
            item["copy_probability"] = draw(st.one_of(st.floats(0, 0.95), beta))
        data["evidence"].insert(draw(st.integers(0, len(data["evidence"]))), item)
    # iface's other reports (reliability) are in both cases
    for j in range(draw(st.integers(0, 2))):
        other = draw(
            st.lists(st.sampled_from(hyps), min_size=1, max_size=len(hyps) - 1, unique=True)
        )
        assume(frozenset(other) != frozenset(chosen))
        item = {"id": f"other{j}", "source": "iface", "supports": other}
        data["evidence"].append(item)
        without["evidence"].append(item)
    return data, without


def _equal_fixed(draw):
    x = draw(prob)
    return {"sensitivity": x, "false_positive_rate": x}


def _same_beta(draw):
    b = draw(beta)
    return {"sensitivity": b, "false_positive_rate": b}


@settings(max_examples=PROPERTY_EXAMPLES)
@given(with_channel_reports(_equal_fixed))
def test_channel_with_fixed_equal_sensitivity_and_false_positive_rate_says_nothing(pair):
    # P(yes on A | H) = x whatever H: each report's factor is the same under every hypothesis.
    data, without = pair
    compiled_or_skip(data)
    np.testing.assert_allclose(posterior(data), posterior(without), rtol=0, atol=1e-12)


@settings(max_examples=PROPERTY_EXAMPLES)
@given(with_channel_reports(_same_beta))
def test_channel_with_the_same_beta_for_both_parameters_says_nothing(pair):
    # s and f are two independent parameters with one Beta prior. All the channel's reports
    # have the same set A, so under H in A every one of them reads s, under H not in A every
    # one reads f, with the same pattern of factors: E[prod g_i(s)] = E[prod g_i(f)] because
    # s and f have one distribution. However many reports: the channel says nothing.
    data, without = pair
    compiled_or_skip(data)
    np.testing.assert_allclose(posterior(data), posterior(without), rtol=0, atol=1e-12)


def test_equal_means_but_different_betas_say_nothing_once_but_something_twice():
    # s ~ Beta(1, 1), f ~ Beta(10, 10): E[s] = E[f] = 1/2, so one "yes" says nothing;
    # two: E[s^2] = 1/3 under h0, E[f^2] = 110/420 = 11/42 under h1, h2: P(h0) = 7/18.
    def case(n):
        return Case(
            hypotheses=[Hypothesis(id=f"h{i}") for i in range(3)],
            sources=[
                Source(
                    id="s",
                    reliability=0.8,
                    about=[
                        Channel(
                            hypotheses=["h0"],
                            reliability=TwoCoin(
                                sensitivity=Beta(1, 1), false_positive_rate=Beta(10, 10)
                            ),
                        )
                    ],
                )
            ],
            evidence=[Evidence(id=f"e{i}", source="s", supports=["h0"]) for i in range(n)],
        )

    np.testing.assert_allclose(exact_posterior(compile_case(case(1))), [1 / 3] * 3, atol=1e-15)
    np.testing.assert_allclose(
        exact_posterior(compile_case(case(2))), [7 / 18, 11 / 36, 11 / 36], atol=1e-15
    )


# -- validation ------------------------------------------------------------------------------


def _multi(about, k=3):
    return {
        "credence": 1,
        "hypotheses": _hypotheses(k),
        "sources": [{"id": "s", "reliability": 0.8, "about": about}],
        "evidence": [{"id": "e", "source": "s", "supports": ["h0"]}],
    }


BINARY_WITH_ABOUT = {
    "credence": 1,
    "claim": {"statement": "c"},
    "sources": [
        {"id": "s", "reliability": 0.8, "about": [{"hypotheses": ["true"], "reliability": 0.5}]}
    ],
    "evidence": [{"id": "e", "source": "s", "stance": "supports"}],
}


@pytest.mark.parametrize(
    ("data", "loc", "message"),
    [
        (
            BINARY_WITH_ABOUT,
            ("sources", 0, "about", 0),
            "`about:` channels are for multi-hypothesis cases "
            "(in a binary case every signal is about the claim)",
        ),
        (
            _multi([{"hypotheses": ["h0", "h9"], "reliability": 0.5}]),
            ("sources", 0, "about", 0, "hypotheses", 1),
            "unknown hypothesis 'h9'",
        ),
        (
            _multi([{"hypotheses": ["h1", "h0", "h1"], "reliability": 0.5}]),
            ("sources", 0, "about", 0, "hypotheses", 2),
            "hypothesis 'h1' is listed twice",
        ),
        (
            _multi(
                [
                    {"hypotheses": ["h0", "h1"], "reliability": 0.5},
                    {"hypotheses": ["h2"], "reliability": 0.5},
                    {"hypotheses": ["h1", "h0"], "reliability": 0.6},
                ]
            ),
            ("sources", 0, "about", 2, "hypotheses"),
            "the same set of hypotheses as about[0]; a source has one channel per set",
        ),
    ],
)
def test_each_about_rule_gives_a_located_error(data, loc, message):
    assert_one_problem(data, message, loc, "sources[0] (id s)")


def test_binary_case_refuses_about_built_in_python():
    with pytest.raises(CaseError, match="multi-hypothesis cases"):
        Case(
            claim={"statement": "c"},
            sources=[
                Source(
                    id="s", reliability=0.8, about=[Channel(hypotheses=["true"], reliability=0.5)]
                )
            ],
            evidence=[Evidence(id="e", source="s", stance="supports")],
        )


def test_log_evidence_of_a_channel_by_hand():
    # Channel {h0}: s ~ Beta(3, 1), f = 0.2. Two "yes" on {h0}, one "no":
    # under h0: E[s^2 (1 - s)] = 3*4*1 / (4*5*6) = 0.1; under h1, h2: 0.2^2 0.8 = 0.032.
    data = _multi(
        [
            {
                "hypotheses": ["h0"],
                "reliability": {"sensitivity": {"beta": [3, 1]}, "false_positive_rate": 0.2},
            }
        ]
    )
    data["evidence"] = [
        {"id": "a", "source": "s", "supports": ["h0"]},
        {"id": "b", "source": "s", "refutes": ["h0"]},
        {"id": "c", "source": "s", "supports": ["h0"]},
    ]
    got = exact_log_evidence(compile_case(case_from_dict(data)))
    np.testing.assert_allclose(got, np.log([0.1, 0.032, 0.032]), rtol=0, atol=1e-13)
    assert math.isclose(
        dependence_log_evidence(case_from_dict(data))["h0"], math.log(0.1), abs_tol=1e-13
    )
