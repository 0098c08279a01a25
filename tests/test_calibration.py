"""Scores against direct computation and known values."""

import numpy as np
import pytest

from credence.calibration import (
    brier_score,
    expected_calibration_error,
    log_loss,
    plot_reliability_diagram,
    reliability_diagram,
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
    assert expected_calibration_error(y, np.full(p.size, 0.9)) == pytest.approx(
        abs(0.9 - y.mean())
    )


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
