"""Randomization inference: the vectorized TWFE coefficients equal a loop of pyfixest fits
(balanced and unbalanced panels, 1e-10: same least squares, pyfixest's demeaning tolerance
set to 1e-13), and permutation p-values are uniform under a simulated null."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.bench.stages import bench_placebo
from analysis.estimators import randomization as pl

TOL = 1e-10


def null_panel(
    rng: np.random.Generator,
    n: int = 30,
    periods: int = 6,
    effect: float = 0.0,
    cohorts: tuple[int, ...] = (3, 3, 3, 3, 3, 5, 5, 5, 5, 5),
) -> pd.DataFrame:
    first = np.zeros(n, dtype=int)
    first[: len(cohorts)] = cohorts
    unit = np.repeat(np.arange(1, n + 1), periods)
    year = np.tile(np.arange(1, periods + 1), n)
    g = first[unit - 1]
    treated = ((g > 0) & (year >= g)).astype(int)
    a, lam = rng.normal(size=n), rng.normal(size=periods)
    y = (
        a[unit - 1]
        + lam[year - 1]
        + effect * treated
        + rng.normal(size=n * periods) * (1 + 0.5 * (unit % 3))
    )
    return pd.DataFrame(
        {"city_code": unit, "year": year, "first_treat": g, "treat_post": treated, "resilience": y}
    )


def loop_of_fits(panel: pd.DataFrame, cohorts: np.ndarray) -> np.ndarray:
    import pyfixest as pf

    city = np.sort(panel["city_code"].unique())
    out = []
    for row in cohorts:
        g = panel["city_code"].map(dict(zip(city, row, strict=True)))
        d = ((g > 0) & (panel["year"] >= g)).astype(float)
        fit = pf.feols(
            "resilience ~ d | city_code + year", data=panel.assign(d=d), vcov="iid", fixef_tol=1e-13
        )
        out.append(float(fit.coef()["d"]))
    return np.array(out)


def assert_equals_loop(
    panel: pd.DataFrame, balanced: bool, n_perm: int, rng: np.random.Generator
) -> None:
    """The vectorized coefficients of the observed and n_perm permuted assignments equal a
    loop of pyfixest fits."""
    idx = pl.index(panel)
    assert idx.balanced is balanced
    city_cohort = panel.groupby("city_code", sort=True)["first_treat"].first().to_numpy()
    cohorts = np.vstack([city_cohort, pl.permuted_cohorts(city_cohort, n_perm, rng)])
    fast = pl.twfe_coefficients(panel["resilience"].to_numpy(), cohorts, idx)
    np.testing.assert_allclose(fast, loop_of_fits(panel, cohorts), rtol=0, atol=TOL)


@pytest.mark.parametrize("balanced", [True, False])
def test_vectorized_equals_loop_of_pyfixest_fits(balanced: bool) -> None:
    rng = np.random.default_rng(11)
    panel = null_panel(rng, effect=0.7)
    if not balanced:
        panel = panel.drop(index=rng.choice(len(panel), size=25, replace=False)).reset_index(
            drop=True
        )
    assert_equals_loop(panel, balanced, 6, rng)


def test_balanced_shortcut_equals_general_demeaning() -> None:
    """The closed-form balanced path and alternating projections agree."""
    rng = np.random.default_rng(2)
    panel = null_panel(rng)
    idx = pl.index(panel)
    y = panel["resilience"].to_numpy()
    np.testing.assert_allclose(
        pl.demean(y[:, None], idx), pl.demean(y[:, None], idx, projections=True), atol=1e-12
    )
    city_cohort = panel.groupby("city_code")["first_treat"].first().to_numpy()
    cohorts = np.vstack([city_cohort, pl.permuted_cohorts(city_cohort, 20, rng)])
    d = pl.treatment_matrix(cohorts, idx)
    md = pl.demean(d, idx, projections=True)
    general = (md.T @ y) / np.einsum("ij,ij->j", md, md)
    np.testing.assert_allclose(pl.twfe_coefficients(y, cohorts, idx), general, atol=1e-12)


def test_general_route_on_repeated_cells_and_a_missing_year_block() -> None:
    """The FWL route of unbalanced panels equals pyfixest on a panel with a repeated city-year
    row, cities observed in a few years only and a city observed once (a singleton)."""
    rng = np.random.default_rng(4)
    panel = null_panel(rng, n=24, periods=7, effect=0.4)
    panel = panel[~((panel["city_code"] <= 6) & (panel["year"] >= 5))]  # leave early
    panel = panel[~((panel["city_code"] == 20) & (panel["year"] != 3))]  # one row only
    panel = pd.concat([panel, panel.iloc[[10]]], ignore_index=True)  # a repeated row
    assert_equals_loop(panel, False, 8, rng)


def test_general_route_on_a_disconnected_panel() -> None:
    """Two groups of cities observed in years that do not overlap (the year effects of one
    group are not tied to the other's): G has a second null direction, and the coefficients
    still equal pyfixest's."""
    rng = np.random.default_rng(12)
    panel = null_panel(rng, n=30, periods=8, effect=0.4, cohorts=(3, 3, 3, 6, 6, 6, 6, 7))
    late = panel["city_code"] > 15
    panel = panel[(late & (panel["year"] >= 5)) | (~late & (panel["year"] <= 4))]
    panel = panel.reset_index(drop=True)
    assert_equals_loop(panel, False, 8, rng)


def test_randomization_test_on_an_unbalanced_panel_equals_refits() -> None:
    """The whole test on a panel with units that enter late and leave early: the actual
    coefficient, every draw and the p-value equal pyfixest refits on the same permutations
    (drawn again from the same seed), with blocks of one permutation each."""
    rng = np.random.default_rng(6)
    panel = null_panel(rng, n=26, periods=8, effect=0.5)
    gone = ((panel["city_code"] % 4 == 0) & (panel["year"] <= 2)) | (
        (panel["city_code"] % 5 == 0) & (panel["year"] >= 7)
    )
    panel = panel[~gone].reset_index(drop=True)
    assert not pl.index(panel).balanced
    with mock.patch.object(pl, "PRODUCT_CELLS", 1):
        res = pl.randomization_test(panel, 19, np.random.default_rng(2))
    city_cohort = panel.groupby("city_code", sort=True)["first_treat"].first().to_numpy()
    values, observed = np.unique(city_cohort, return_inverse=True)
    perms = pl.permuted_cohorts(observed, 19, np.random.default_rng(2))
    refits = loop_of_fits(panel, values[np.vstack([observed, perms])])
    np.testing.assert_allclose([res.actual, *res.draws], refits, rtol=0, atol=TOL)
    beaten = np.sum(np.abs(refits[1:]) >= abs(refits[0]) - 1e-15)
    assert res.p_value == (1 + beaten) / 20


def test_balanced_and_general_routes_agree() -> None:
    rng = np.random.default_rng(8)
    panel = null_panel(rng, effect=0.3)
    idx = pl.index(panel)
    y = panel["resilience"].to_numpy()
    city_cohort = panel.groupby("city_code", sort=True)["first_treat"].first().to_numpy()
    values, observed = np.unique(city_cohort, return_inverse=True)
    codes = np.vstack([observed, pl.permuted_cohorts(observed, 30, rng)])
    balanced = pl.Balanced(y, values, idx, observed)(codes)
    np.testing.assert_allclose(balanced, pl.General(y, values, idx)(codes), rtol=0, atol=1e-13)


def test_blocks_are_the_draws_of_one_call() -> None:
    """Drawing in blocks of any size gives the permutations of one call on the whole
    matrix, for any integer type of the codes (so the study's draws are unchanged)."""
    codes = np.repeat(np.arange(4), [20, 5, 9, 3])
    rng = np.random.default_rng(9)
    whole = rng.permuted(np.tile(codes.astype(np.int8), (23, 1)), axis=1)
    for cells, dtype in ((37, np.intp), (100, np.int32), (10**6, np.int64)):
        blocks = pl.permuted_blocks(codes.astype(dtype), 23, np.random.default_rng(9), cells)
        np.testing.assert_array_equal(np.vstack(list(blocks)), whole)
    assert pl.permuted_cohorts(codes, 0, rng).shape == (0, len(codes))


def test_p_values_uniform_under_null() -> None:
    rng = np.random.default_rng(20240527)
    p = np.array([pl.randomization_test(null_panel(rng), 99, rng).p_value for _ in range(300)])
    assert stats.kstest(p, "uniform").pvalue > 0.001
    assert 0.015 <= np.mean(p <= 0.05) <= 0.095
    assert 0.4 <= np.mean(p <= 0.5) <= 0.6


def test_power_and_seed() -> None:
    rng = np.random.default_rng(5)
    panel = null_panel(rng, effect=2.0)
    a = pl.randomization_test(panel, 199, np.random.default_rng(1))
    b = pl.randomization_test(panel, 199, np.random.default_rng(1))
    assert a.p_value < 0.02
    np.testing.assert_array_equal(a.draws, b.draws)
    # cohort sizes and years are kept in every permutation
    city_cohort = panel.groupby("city_code")["first_treat"].first().to_numpy()
    perms = pl.permuted_cohorts(city_cohort, 50, np.random.default_rng(3))
    assert (np.sort(perms, axis=1) == np.sort(city_cohort)).all()


def test_bench_reports_the_three_timings() -> None:
    rng = np.random.default_rng(0)
    out = bench_placebo(null_panel(rng), n_perm=100, n_loop=2)
    assert {"vectorized_s", "pyfixest_loop_s", "pyfixest_one_fit_s", "speedup_vs_loop"} <= set(out)
    assert out["vectorized_s"] > 0 and out["pyfixest_loop_s"] > out["vectorized_s"]
