"""The linear-time TWFE decompositions (analysis/estimators/twfe_weights.py) against the
library they replace, diff-diff 3.13 (`BaconDecomposition(weights="exact")`,
`twowayfeweights`: dense dummies, rows x cohorts^2 scans), and the exact two-way residual
against alternating projections and a dummy regression.

Tolerances: TOL = 1e-10 absolute for weights and 2x2 estimates (order-one numbers from sums
taken in another order: machine noise is ~1e-15); diff-diff's TWFE coefficient of the Bacon
decomposition is its alternating projections' (stopped at an absolute change of 1e-8), so on
an unbalanced panel the exact one is held to pyfixest instead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.estimators import randomization as rz
from analysis.estimators import twfe_weights as tw
from analysis.exhibits import twfe_diagnostics as diag
from tests.test_bacon import panel_with, twfe

TOL = 1e-10


def reference_bacon(panel: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    import diff_diff as dd

    res = dd.BaconDecomposition(weights="exact").fit(
        panel[["city_code", "year", "first_treat", "resilience"]],
        outcome="resilience",
        unit="city_code",
        time="year",
        first_treat="first_treat",
    )
    return res.to_dataframe(), float(res.twfe_estimate)


def reference_dcdh(panel: pd.DataFrame) -> tuple[pd.DataFrame, float, float]:
    import diff_diff as dd

    res = dd.twowayfeweights(
        panel[["city_code", "year", "treat_post", "resilience"]],
        outcome="resilience",
        unit="city_code",
        time="year",
        treatment="treat_post",
    )
    return res.weights, float(res.beta_fe), float(res.sigma_fe)


def unbalanced(panel: pd.DataFrame, share: float = 0.15, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return panel[rng.random(len(panel)) > share].reset_index(drop=True)


COHORTS = [0] * 12 + [3] * 6 + [5] * 8 + [7] * 5
PANELS = {
    "balanced": lambda: panel_with(COHORTS),
    "no_never_treated": lambda: panel_with([3] * 6 + [5] * 8 + [7] * 5, seed=1),
    # cohort 1 is treated from the first period on: counted with the never treated
    "always_treated": lambda: panel_with([0] * 5 + [1] * 4 + [4] * 6 + [6] * 7, seed=2),
    "unbalanced": lambda: unbalanced(panel_with(COHORTS, periods=10, seed=5)),
    "unbalanced_no_never": lambda: unbalanced(panel_with([2] * 9 + [5] * 8 + [8] * 6, seed=6)),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(PANELS))
def test_bacon_gives_diff_diffs_comparisons(name: str) -> None:
    panel = PANELS[name]()
    ref, ref_twfe = reference_bacon(panel)
    got = tw.bacon(panel, "resilience")
    cols = ["treated_group", "control_group", "comparison_type", "n_treated", "n_control"]
    assert got.comparisons[cols].astype(str).equals(ref[cols].astype(str))
    for col in ("estimate", "weight"):
        np.testing.assert_allclose(got.comparisons[col], ref[col], rtol=0, atol=TOL)
    assert got.twfe == pytest.approx(twfe(panel), abs=TOL)
    if not name.startswith("unbalanced"):  # diff-diff's own demeaning is exact only here
        assert got.twfe == pytest.approx(ref_twfe, abs=TOL)
    assert got.n_always_treated == (4 if name == "always_treated" else 0)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(PANELS))
def test_dcdh_gives_diff_diffs_weights(name: str) -> None:
    panel = PANELS[name]()
    panel = panel.assign(
        treat_post=((panel["first_treat"] > 0) & (panel["year"] >= panel["first_treat"])).astype(
            int
        )
    )
    ref_w, ref_beta, ref_sigma = reference_dcdh(panel)
    got = tw.dcdh(panel["resilience"], panel["treat_post"], panel["city_code"], panel["year"])
    merged = ref_w.merge(
        panel[["city_code", "year"]].assign(mine=got.weights), on=["city_code", "year"]
    )
    np.testing.assert_allclose(merged["mine"], merged["weight"], rtol=0, atol=TOL)
    assert got.beta_fe == pytest.approx(ref_beta, abs=TOL)
    assert got.sigma_fe == pytest.approx(ref_sigma, rel=1e-9)


def test_exhibit_tables_equal_the_library_on_the_default_panel(default_panel: pd.DataFrame) -> None:
    """The exhibit's own tables on the study's panel: every 2x2, weight and dCDH statistic
    as diff-diff computes them."""
    table, got_twfe = diag.bacon_table(default_panel)
    ref, ref_twfe = reference_bacon(default_panel)
    np.testing.assert_allclose(table["estimate"], ref["estimate"], rtol=0, atol=TOL)
    np.testing.assert_allclose(table["weight"], ref["weight"], rtol=0, atol=TOL)
    assert list(table["treated"]) == list(ref["treated_group"].astype(str))
    assert got_twfe == pytest.approx(ref_twfe, abs=TOL)
    weights, beta, sigma = diag.dcdh_weights(default_panel)
    ref_w, ref_beta, ref_sigma = reference_dcdh(default_panel)
    ref_w = ref_w.merge(default_panel[["city_code", "year", "treat_post"]])
    ref_w = ref_w[ref_w["treat_post"] == 1].reset_index(drop=True)
    assert weights[["city_code", "year"]].equals(ref_w[["city_code", "year"]])
    np.testing.assert_allclose(weights["weight"], ref_w["weight"], rtol=0, atol=TOL)
    assert (beta, sigma) == pytest.approx((ref_beta, ref_sigma), rel=1e-10)


@pytest.mark.parametrize("name", sorted(PANELS))
def test_residual_is_the_two_way_projection(name: str) -> None:
    """Equal to alternating projections run to 1e-13 and orthogonal to every unit and period
    dummy (the residual of a dummy regression)."""
    panel = PANELS[name]()
    x = panel[["resilience", "treat_post"]].to_numpy(float)
    got = tw.residual(x, panel["city_code"], panel["year"])
    ref = rz.demean(x, rz.index(panel), projections=True)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-11)
    dummies = pd.get_dummies(panel[["city_code", "year"]].astype(str)).to_numpy(float)
    np.testing.assert_allclose(dummies.T @ got, 0.0, atol=1e-11)


def test_residual_takes_the_gram_over_the_smaller_factor() -> None:
    """More periods than units: the same residual with the roles swapped."""
    panel = panel_with([0, 0, 3, 5, 9], periods=40, seed=8)
    x = panel["resilience"].to_numpy(float)
    got = tw.residual(x, panel["city_code"], panel["year"])
    swapped = tw.residual(x, panel["year"], panel["city_code"])
    np.testing.assert_allclose(got, swapped, rtol=0, atol=1e-12)
