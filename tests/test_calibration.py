"""Scores against direct computation and known values."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from credence.calibration import (
    brier_score,
    ece_noise_floor,
    expected_calibration_error,
    log_loss,
    plot_reliability_diagram,
    reliability_diagram,
    spiegelhalter_z,
)


def test_brier_and_log_loss_known_values():
    assert brier_score([1, 0, 1], [0.9, 0.2, 0.4]) == pytest.approx((0.01 + 0.04 + 0.36) / 3)
    assert log_loss([1, 0], [0.9, 0.2]) == pytest.approx(-(np.log(0.9) + np.log(0.8)) / 2)
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    assert brier_score([0, 2], proba) == pytest.approx(
        (0.09 + 0.04 + 0.01 + 0.01 + 0.01 + 0.04) / 2
    )
    assert log_loss([1, 2], proba) == pytest.approx(-(np.log(0.2) + np.log(0.8)) / 2)


def test_ece_of_calibrated_draws_is_small():
    # Sampling noise of ECE with 200k draws over 10 bins is ~0.002.
    rng = np.random.default_rng(0)
    p = rng.random(200_000)
    y = (rng.random(p.size) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.005
    assert expected_calibration_error(y, np.full(p.size, 0.9)) == pytest.approx(abs(0.9 - y.mean()))


def test_diagram_bins_and_figure():
    diagram = reliability_diagram([1, 0, 1, 1], [0.05, 0.15, 0.95, 1.0], n_bins=10)
    assert diagram.count.tolist() == [1, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert diagram.frequency[9] == 1.0
    assert diagram.ece == pytest.approx((0.95 + 0.15 + 2 * 0.025) / 4)
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plot_reliability_diagram(diagram)
    assert fig.axes[0].get_xlabel() == "predicted probability"
    plt.close(fig)


def test_bad_inputs():
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        brier_score([1], [1.2])
    with pytest.raises(ValueError, match="0/1"):
        log_loss([2], [0.5])
    with pytest.raises(ValueError, match="no predictions"):
        expected_calibration_error([], [])


# A test below may fail by chance with probability at most TEST_FAILURE_RATE.
TEST_FAILURE_RATE = 1e-5


@settings(max_examples=50)
@given(st.lists(st.tuples(st.integers(0, 1), st.floats(0.01, 0.99)), min_size=1, max_size=40))
def test_spiegelhalter_z_is_the_formula(pairs):
    y = [a for a, _ in pairs]
    p = [b for _, b in pairs]
    top = sum((a - b) * (1 - 2 * b) for a, b in pairs)
    spread = sum((1 - 2 * b) ** 2 * b * (1 - b) for b in p)
    got = spiegelhalter_z(y, p)
    if spread == 0:
        assert np.isnan(got)
    else:
        assert got == pytest.approx(top / spread**0.5, rel=1e-9, abs=1e-12)


def test_spiegelhalter_z_is_standard_normal_under_calibration():
    rng = np.random.default_rng(5)
    m, n = 400, 300
    z = np.array(
        [
            spiegelhalter_z((rng.random(n) < p).astype(int), p)
            for p in rng.uniform(0.02, 0.98, size=(m, n))
        ]
    )
    # mean: z-test; variance: chi-square, each at half the failure rate
    bound = stats.norm.isf(TEST_FAILURE_RATE / 4)
    assert abs(z.mean()) < bound / np.sqrt(m)
    lo, hi = stats.chi2.ppf([TEST_FAILURE_RATE / 4, 1 - TEST_FAILURE_RATE / 4], m - 1)
    assert lo / (m - 1) < z.var(ddof=1) < hi / (m - 1)


def test_ece_noise_floor_against_the_binomial():
    # Predictions all 0.7 fall in one bin: ECE = |K/n - 0.7| with K ~ Binomial(n, 0.7).
    n = 175
    floor = ece_noise_floor(np.full(n, 0.7), n_sim=4000, seed=3)
    k = np.arange(n + 1)
    covered = stats.binom.pmf(k, n, 0.7)[np.abs(k / n - 0.7) <= floor + 1e-12].sum()
    # the 90th percentile of 4000 draws covers 0.9 of the mass up to one support step
    assert 0.8 < covered < 0.99
    assert floor == pytest.approx(0.9 / np.sqrt(n) * np.sqrt(0.21 / 0.25), rel=0.5)


def test_ece_noise_floor_refuses_bad_input():
    with pytest.raises(ValueError, match="probabilities"):
        ece_noise_floor([0.2, 1.5])
    with pytest.raises(ValueError, match="n_sim"):
        ece_noise_floor([0.2], n_sim=0)
    with pytest.raises(TypeError, match="did you mean 'n_sim'"):
        ece_noise_floor([0.2], n_sims=10)
