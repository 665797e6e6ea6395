"""Goodman-Bacon decomposition and dCDH weights against the TWFE regression (pyfixest) and
hand-computed 2x2 DIDs and weights. Tolerance 1e-10: exact identities of least squares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.estimators import randomization as pl
from analysis.exhibits import twfe_diagnostics as bacon

TOL = 1e-10


def panel_with(
    cohorts: list[int], periods: int = 8, noise: float = 0.5, seed: int = 0
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i, g in enumerate(cohorts):
        a = rng.normal()
        for t in range(1, periods + 1):
            d = int(g > 0 and t >= g)
            tau = 0.3 * (t - g + 1) * (1 + 0.5 * (g % 3)) if d else 0.0
            rows.append((i + 1, t, g, d, tau, a + 0.1 * t**1.5 + tau + noise * rng.normal()))
    return pd.DataFrame(
        rows, columns=["city_code", "year", "first_treat", "treat_post", "tau", "resilience"]
    )


def twfe(panel: pd.DataFrame) -> float:
    import pyfixest as pf

    fit = pf.feols(
        "resilience ~ treat_post | city_code + year", data=panel, vcov="iid", fixef_tol=1e-13
    )
    return float(fit.coef()["treat_post"])


COHORTS = [0] * 12 + [3] * 6 + [5] * 8 + [7] * 5


def test_bacon_weighted_sum_equals_twfe_on_balanced_panel() -> None:
    panel = panel_with(COHORTS)
    table, lib_twfe = bacon.bacon_table(panel)
    assert len(table) == 3 + 3 * 2  # each cohort vs never, each ordered pair of cohorts
    assert table["weight"].sum() == pytest.approx(1.0, abs=TOL)
    assert float(table["estimate"] @ table["weight"]) == pytest.approx(twfe(panel), abs=TOL)
    assert lib_twfe == pytest.approx(twfe(panel), abs=TOL)


def test_treated_vs_never_is_the_hand_2x2() -> None:
    panel = panel_with(COHORTS, seed=4)
    table, _ = bacon.bacon_table(panel)
    for g in (3, 5, 7):
        sub = panel[panel["first_treat"].isin([0, g])]
        post = sub["year"] >= g
        m = sub.groupby([sub["first_treat"] == g, post])["resilience"].mean()
        hand = (m[True, True] - m[True, False]) - (m[False, True] - m[False, False])
        got = table[(table["treated"] == str(g)) & (table["control"] == "never")]["estimate"]
        assert float(got.iloc[0]) == pytest.approx(hand, abs=TOL)


def test_dcdh_weights_decompose_twfe_and_equal_hand_weights() -> None:
    """Noise-free outcomes: TWFE = sum of weights x cell effects; weights = M d / sum over
    treated cells of M d (M: two-way within transformation)."""
    panel = panel_with([3] * 6 + [5] * 8 + [7] * 5, noise=0.0)  # no never treated: some < 0
    w, beta_fe, _ = bacon.dcdh_weights(panel)
    merged = w.merge(panel, on=["city_code", "year"])
    assert beta_fe == pytest.approx(twfe(panel), abs=TOL)
    assert float(merged["weight"] @ merged["tau"]) == pytest.approx(twfe(panel), abs=1e-9)
    idx = pl.index(panel)
    md = pl.demean(panel[["treat_post"]].to_numpy(float), idx)[:, 0]
    treated = panel["treat_post"].to_numpy() == 1
    hand = md[treated] / md[treated].sum()
    np.testing.assert_allclose(merged["weight"].to_numpy(), hand, atol=TOL)
    assert (merged["weight"] < 0).sum() > 0
