"""How the PyMC engine runs: its sampler, its caches, its options. No timing here.

Timings live in ``benchmarks/bench_mcmc.py``; these tests check the mechanisms the
timings rest on (a compiled model found again, in the process and across processes).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import EXAMPLES

pytest.importorskip("pymc")

from credence import load_case  # noqa: E402
from credence.compile import compile_case  # noqa: E402
from credence.io import case_from_dict  # noqa: E402
from credence.mcmc import clear_cache  # noqa: E402
from credence.mcmc.cache import ModelCache, get_model  # noqa: E402
from credence.mcmc.engine import POOLED_TARGET_ACCEPT, assess_mcmc  # noqa: E402
from credence.mcmc.sample import compile_sampler, resolve_sampler, show_progress  # noqa: E402

EXAMPLE = EXAMPLES / "north-korea-troops.yaml"


def test_auto_sampler_is_pymc_nuts():
    assert resolve_sampler("auto") == "pymc"
    assert resolve_sampler("pymc") == "pymc"
    with pytest.raises(ValueError, match="unknown sampler"):
        resolve_sampler("hmc")


def test_no_progress_bars_when_standard_error_is_not_a_terminal():
    # pytest captures standard error: nothing may be drawn into captured output.
    assert not show_progress()


def test_steps_are_compiled_once_per_option_set_and_share_one_log_density():
    entry, _ = ModelCache().get(compile_case(load_case(EXAMPLE)))
    assert compile_sampler(entry, "pymc")
    assert not compile_sampler(entry, "pymc")
    assert compile_sampler(entry, "pymc", target_accept=0.95, init="adapt_diag")
    assert not compile_sampler(entry, "pymc", target_accept=0.95)
    default, strict = entry.pymc_step(), entry.pymc_step(target_accept=0.95)
    assert default is not strict
    assert strict.target_accept == 0.95 and default.target_accept == 0.8
    assert default._logp_dlogp_func is strict._logp_dlogp_func


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::credence.mcmc.ConvergenceWarning")  # 100 draws: too few
def test_a_pooled_model_is_sampled_at_the_pooled_acceptance_target():
    data = load_case(EXAMPLE).to_dict()
    data["pooling"] = {"by": "kind"}
    compiled = compile_case(case_from_dict(data))
    clear_cache()
    assess_mcmc(compiled, seed=1, draws=100, tune=100)
    entry, _ = get_model(compiled)
    assert set(entry.pymc_steps) == {(("target_accept", POOLED_TARGET_ACCEPT),)}


ASSESS = (
    "import sys, warnings\n"
    "from credence import assess\n"
    "warnings.simplefilter('ignore')\n"
    "assess(sys.argv[1], engine='mcmc', seed=1, draws=50, tune=50)\n"
)


def cache_files(root):
    return {
        os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files
    }


@pytest.mark.slow
def test_a_new_process_finds_the_compiled_model_on_disk(tmp_path):
    """A second process compiles nothing new: every compiled piece is in PyTensor's cache."""
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path}"}
    run = [sys.executable, "-c", ASSESS, str(EXAMPLE)]
    subprocess.run(run, env=env, check=True, capture_output=True)
    first = cache_files(tmp_path)
    assert any("numba" in path for path in first)
    subprocess.run(run, env=env, check=True, capture_output=True)
    assert cache_files(tmp_path) == first
