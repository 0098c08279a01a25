"""The PyMC model's structure, its likelihood against the shared numpy one, the cache."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import EXAMPLES
from hypothesis import assume, given, settings
from strategies import cases

from credence import CaseError, assess, load_case
from credence.compile import compile_case
from credence.io import case_from_dict
from credence.likelihood import log_likelihood

pm = pytest.importorskip("pymc")

from credence.mcmc import build_model, cache_info, clear_cache  # noqa: E402
from credence.mcmc.cache import ModelCache, batched_function  # noqa: E402
from credence.mcmc.layout import layout, model_data  # noqa: E402
from credence.mcmc.model import to_pymc  # noqa: E402

EXAMPLE = EXAMPLES / "north-korea-troops.yaml"


def pooled_case(stances=("supports", "supports", "refutes"), mean=(2, 2), lognormal=True):
    evidence = [{"id": f"e{i}", "source": f"m{i % 2}", "stance": s} for i, s in enumerate(stances)]
    if lognormal:
        evidence.append({"id": "lr", "likelihood_ratio": {"lognormal": [0.5, 0.3]}})
    return case_from_dict(
        {
            "credence": 1,
            "claim": {"statement": "c", "prior": {"beta": [2, 3]}},
            "pooling": {"by": "kind", "mean": {"beta": list(mean)}},
            "sources": [
                {"id": "m0", "kind": "media", "reliability": "C"},
                {"id": "m1", "kind": "media", "reliability": 0.7},
                {
                    "id": "gov",
                    "reliability": {"sensitivity": {"beta": [9, 1]}, "false_positive_rate": 0.3},
                },
            ],
            "evidence": evidence + [{"id": "g", "source": "gov", "stance": "supports"}],
        }
    )


def test_import_credence_does_not_import_pymc():
    code = "import sys, credence; credence.Case; sys.exit(any(m in sys.modules for m in "
    code += "('pymc', 'pytensor', 'arviz', 'arviz_base', 'nutpie')))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_coords_dims_and_deterministic():
    model = to_pymc(load_case(EXAMPLE))
    assert model.coords["hypothesis"] == ("true", "false")
    assert "nis-oct18" in model.coords["evidence"]
    assert model.coords["parameter"][0] == "nis.accuracy"
    assert model.named_vars_to_dims["reliability"] == ("parameter",)
    assert model.named_vars_to_dims["copy_probability"] == ("copied",)
    assert model.coords["copied"] == ("zelensky-oct19",)
    assert model.named_vars_to_dims["hypothesis_posterior"] == ("hypothesis",)
    assert [d.name for d in model.deterministics] == ["hypothesis_posterior"]
    assert [p.name for p in model.potentials] == ["evidence_likelihood"]
    assert {rv.name for rv in model.free_RVs} == {"reliability", "copy_probability", "claim_prior"}


def test_pooled_and_lognormal_variables():
    model = build_model(compile_case(pooled_case()))
    assert model.coords["kind"] == ("media",)
    # A fixed accuracy keeps its value; only the uncertain one is pooled.
    assert model.coords["pooled_parameter"] == ("m0.accuracy",)
    assert model.coords["fixed_parameter"] == ("m1.accuracy", "gov.false_positive_rate")
    assert model.coords["uncertain_ratio"] == ("lr",)
    assert {rv.name for rv in model.free_RVs} == {
        "reliability",
        "kind_mean",
        "kind_concentration",
        "pooled_accuracy",
        "claim_prior",
        "log_likelihood_ratio",
    }


def _numpy_log_joint(compiled, draws):
    """log P(h | phi) + log P(evidence | h, phi) from credence.likelihood (numpy)."""
    shape = layout(compiled)
    S = next(iter(draws.values())).shape[0]
    theta = np.tile(compiled.param_value, (S, 1))
    if shape.free.size:
        theta[:, shape.free] = draws["reliability"]
    if shape.pooled.size:
        theta[:, shape.pooled] = draws["pooled_accuracy"]
    derived = np.flatnonzero(compiled.report_derived)
    copy = np.tile(compiled.report_copy_value[derived], (S, 1))
    random = compiled.copy_random[derived]
    if random.any():
        copy[:, random] = draws["copy_probability"]
    ll = log_likelihood(theta, copy, np.zeros((S, 0)), compiled)
    for j in range(layout(compiled).lognormal.size):
        ll[:, 0] += draws["log_likelihood_ratio"][:, j]
    if compiled.prior_beta is not None:
        p = draws["claim_prior"]
        return np.stack([np.log(p), np.log1p(-p)], axis=1) + ll
    return np.log(compiled.prior) + ll


@settings(max_examples=25, deadline=None)
@given(cases())
def test_model_terms_equal_the_shared_numpy_likelihood(data):
    try:
        compiled = compile_case(case_from_dict(data))
    except CaseError:
        assume(False)
    cache = ModelCache()
    entry, values = cache.get(compiled)
    assume(entry.parts.layout.has_free)
    entry.set_data(values)
    rng = np.random.default_rng(0)
    draws = {}
    for rv in entry.model.free_RVs:
        dims = entry.model.named_vars_to_dims.get(rv.name, ())
        size = (4, *[len(entry.model.coords[d]) for d in dims])
        draws[rv.name] = rng.uniform(0.05, 0.95, size=size)
    items, log_prior_h, _ = entry.pointwise_terms(draws)
    got = log_prior_h + items.sum(axis=1)
    expected = _numpy_log_joint(compiled, draws)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    # The logp's leaner graph (counts per parameter) reads the same likelihood.
    log_joint, _ = batched_function(entry.parts, [entry.parts.log_joint])(
        *(draws[rv.name] for rv in entry.model.free_RVs)
    )
    np.testing.assert_allclose(
        np.broadcast_to(log_joint, got.shape), expected, rtol=1e-10, atol=1e-10
    )


def test_exact_engine_refuses_extensions_naming_mcmc():
    with pytest.raises(CaseError, match="--engine mcmc") as info:
        assess(pooled_case(lognormal=False), engine="exact")
    assert info.value.location == "pooling"
    case = case_from_dict(
        {
            "credence": 1,
            "claim": {"statement": "c"},
            "evidence": [{"id": "x", "likelihood_ratio": {"lognormal": [0, 1]}}],
        }
    )
    with pytest.raises(CaseError, match="--engine mcmc") as info:
        assess(case, engine="exact")
    assert info.value.location == "evidence[0].likelihood_ratio"


def test_same_structure_hits_the_cache_and_swaps_the_data():
    clear_cache()
    from credence.mcmc.cache import get_model

    first, values_1 = get_model(compile_case(pooled_case()))
    # Other stances and another kind-level prior: same structure, other data.
    second, values_2 = get_model(
        compile_case(pooled_case(stances=("refutes", "supports", "refutes"), mean=(5, 1)))
    )
    assert second is first
    assert cache_info().hits == 1 and cache_info().misses == 1
    assert not np.array_equal(values_1["report_rises"], values_2["report_rises"])
    first.set_data(values_2)
    np.testing.assert_array_equal(first.model["kind_mean_ab"].get_value(), [5, 1])
    # One more report changes the structure.
    third, _ = get_model(compile_case(pooled_case(stances=("supports",) * 4)))
    assert third is not first
    assert cache_info().misses == 2


def test_no_uncertain_parameter_is_refused():
    case = case_from_dict(
        {
            "credence": 1,
            "claim": {"statement": "c"},
            "sources": [{"id": "s", "reliability": 0.8}],
            "evidence": [{"id": "e", "source": "s", "stance": "supports"}],
        }
    )
    with pytest.raises(CaseError, match="exact engine"):
        assess(case, engine="mcmc", sampler="pymc")


def test_data_values_follow_the_case():
    compiled = compile_case(pooled_case())
    values = model_data(compiled)
    np.testing.assert_allclose(values["claim_prior_ab"], [2, 3])
    np.testing.assert_allclose(values["ratio_mu"], [0.5])
    np.testing.assert_allclose(values["ratio_sigma"], [0.3])
    np.testing.assert_allclose(values["fixed_value"], [0.7, 0.3])


@pytest.mark.filterwarnings("ignore::credence.mcmc.ConvergenceWarning")  # 100 draws: too few
@pytest.mark.parametrize("engine", ["exact", "mcmc"])
@pytest.mark.parametrize("drawn_first", [False, True], ids=["fresh", "drawn"])
def test_assessment_pickles(engine, drawn_first):
    options = {"sampler": "pymc", "draws": 100, "tune": 100} if engine == "mcmc" else {}
    result = assess(
        pooled_case() if engine == "mcmc" else EXAMPLE, engine=engine, seed=5, **options
    )
    if drawn_first:
        result.interval  # noqa: B018
    copy = pickle.loads(pickle.dumps(result))
    assert copy.engine == engine
    assert copy.probability == result.probability
    assert copy.interval == result.interval
    pd.testing.assert_frame_equal(copy.ledger, result.ledger)
    np.testing.assert_array_equal(copy.draws, result.draws)
    assert not copy.draws.flags.writeable
    assert copy.parameter_draws.keys() == result.parameter_draws.keys()
    for name, values in result.parameter_draws.items():
        np.testing.assert_array_equal(copy.parameter_draws[name], values)
    assert copy.to_dict() == result.to_dict()
