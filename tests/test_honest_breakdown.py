"""Breakdown values whatever the sign of the effect: the smallest parameter whose robust set
covers zero, or '> upper' (never a number) when none in the search range does. Planted on
event studies with a positive and a negative effect (the same study mirrored)."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.estimators import honest_rm, honest_sd

# A small event study: 3 pre-periods (the reference omitted), 3 post; an effect of 0.3
# with a mild pre-trend.
BETA = np.array([0.02, -0.01, 0.01, 0.28, 0.31, 0.33])
ROOT = np.diag([0.04, 0.035, 0.03, 0.04, 0.045, 0.05])
SIGMA = ROOT @ (np.eye(6) * 0.7 + 0.3) @ ROOT
LVEC = np.ones(3) / 3
ALPHA = 0.05


def test_smoothness_breakdown_is_the_coverage_boundary() -> None:
    """On the study and its mirror image (either sign of the effect: the same M)."""
    sign = -1.0
    upper, _ = honest_sd.breakdown_range((0.0, 0.05))
    tol = upper * 1e-3  # a coarser bisection than the exhibit's (1e-6): the same boundary test
    found = honest_sd.breakdown(sign * BETA, SIGMA, 3, LVEC, ALPHA, upper, tol)
    assert found.value is not None and 0 < found.value < upper
    at = honest_sd.flci(sign * BETA, SIGMA, 3, LVEC, found.value, ALPHA)
    below = honest_sd.flci(sign * BETA, SIGMA, 3, LVEC, found.value - 2 * tol, ALPHA)
    assert at.conf_low <= 0 <= at.conf_high
    assert not below.conf_low <= 0 <= below.conf_high
    # the sign does not matter: the mirrored study breaks down at the same M
    mirrored = honest_sd.breakdown(-sign * BETA, SIGMA, 3, LVEC, ALPHA, upper, tol)
    assert mirrored.value == pytest.approx(found.value, abs=tol)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_above_the_range_is_not_a_number(sign: float) -> None:
    upper = 1e-4  # far too small a range for this effect
    found = honest_sd.breakdown(sign * BETA, SIGMA, 3, LVEC, ALPHA, upper, upper * 1e-3)
    assert found.value is None and found.text() == "> 0.0001"


def test_covered_at_zero_is_zero() -> None:
    small = BETA * np.array([1, 1, 1, 0.05, 0.05, 0.05])
    found = honest_sd.breakdown(small, SIGMA, 3, LVEC, ALPHA, 1.0, 1e-6)
    assert found.value == 0.0 and found.text() == "0"


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_relative_magnitudes_breakdown_either_sign(sign: float) -> None:
    found = honest_rm.rm_breakdown(sign * BETA, SIGMA, 3, 3, LVEC, ALPHA, "c-lf", tol=1e-4)
    assert found.value is not None and found.value > 0
    other = honest_rm.rm_breakdown(-sign * BETA, SIGMA, 3, 3, LVEC, ALPHA, "c-lf", tol=1e-4)
    assert other.value == pytest.approx(found.value, abs=2e-4)


def test_default_m_grid_follows_the_outcome_scale() -> None:
    """HonestDiD's default grid scales with the coefficients: an outcome 1e-4 times smaller
    gets a grid 1e-4 times smaller, and the same sets in its units."""
    grid = honest_sd.default_m_grid(BETA, SIGMA, 3)
    small = honest_sd.default_m_grid(BETA * 1e-4, SIGMA * 1e-8, 3)
    assert len(grid) == 10 and grid[0] == 0 and grid[-1] > 0
    np.testing.assert_allclose(small, np.array(grid) * 1e-4, rtol=1e-12)
    a = honest_sd.flci(BETA, SIGMA, 3, LVEC, grid[3], ALPHA)
    b = honest_sd.flci(BETA * 1e-4, SIGMA * 1e-8, 3, LVEC, small[3], ALPHA)
    assert b.conf_low == pytest.approx(a.conf_low * 1e-4, rel=1e-6)


@pytest.mark.parametrize("p", [0.95, 0.9, 0.5, 0.05, 0.3, 0.999999])
def test_folded_normal_quantile_is_numpys_to_the_bit(p: float) -> None:
    """The binary search over the sorted draws gives np.quantile(|draws + mu|, p) exactly,
    for means of either sign, large ones, zero and a mean that puts a draw exactly at zero."""
    draws = honest_sd._draws()
    means = [*np.random.default_rng(3).normal(scale=3.0, size=12), 0.0, -0.0, 40.0, -40.0]
    means += [-float(draws[7]), float(draws[11]), float("nan"), float("inf")]
    for mu in means:
        expected = float(np.quantile(np.abs(draws + mu), p))
        found = honest_sd.folded_normal_quantile(p, mu)
        assert found == expected or (np.isnan(found) and np.isnan(expected)), (p, mu)
