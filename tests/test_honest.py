"""HonestDiD on the study's event study: the coefficients reach diff-diff intact (at Mbar = 0
the identified set is the point estimate of the target), the confidence sets widen with the
restriction's parameter, and the breakdown value separates sets that exclude zero from sets
that include it."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.engines import diff_diff_adapter as dd
from analysis.estimators.event_time import EventStudyFit


def fit(post_level: float = 0.08) -> EventStudyFit:
    times = (-4, -3, -2, 0, 1, 2, 3)
    coef = np.array([0.004, -0.003, 0.002, post_level * 0.8, post_level, post_level, post_level])
    rng = np.random.default_rng(0)
    a = rng.normal(size=(7, 7)) * 0.002
    vcov = a @ a.T + np.eye(7) * 0.005**2
    return EventStudyFit(times, coef, vcov, 265.0, -1)


def test_target_reaches_diff_diff_intact() -> None:
    f = fit()
    lvec, att, se = f.target()
    assert att == pytest.approx(float(np.mean(f.coef[3:])), abs=1e-12)
    assert se == pytest.approx(float(np.sqrt(lvec @ f.vcov[3:, 3:] @ lvec)), abs=1e-12)
    frame = dd.honest_sensitivity(f, "relative_magnitude", (0.0,), 0.05)
    assert frame["bound_low"].iloc[0] == pytest.approx(att, abs=1e-10)
    assert frame["bound_high"].iloc[0] == pytest.approx(att, abs=1e-10)
    assert frame["conf_low"].iloc[0] < att < frame["conf_high"].iloc[0]


def test_sets_widen_and_breakdown_separates() -> None:
    f = fit()
    frame = dd.honest_sensitivity(f, "relative_magnitude", (0.0, 0.5, 1.0, 2.0, 4.0), 0.05)
    width = (frame["conf_high"] - frame["conf_low"]).to_numpy()
    assert (np.diff(width) > 0).all()
    b = dd.honest_breakdown(f, "relative_magnitude", 0.05)
    assert np.isfinite(b) and b > 0
    around = dd.honest_sensitivity(f, "relative_magnitude", (0.97 * b, 1.03 * b), 0.05)
    assert around["conf_low"].iloc[0] > 0 >= around["conf_low"].iloc[1]


def test_smoothness_widens() -> None:
    frame = dd.honest_sensitivity(fit(), "smoothness", (0.0, 0.01), 0.05)
    width = (frame["conf_high"] - frame["conf_low"]).to_numpy()
    assert width[1] > width[0] > 0
