"""Live test on Debian's R: base R lm() with factor fixed effects and sandwich::vcovCL,
with the small-sample factors of rbridge/R/bridge.R, reproduces pyfixest's clustered
coefficients and standard errors to 1e-8 under every ssc setting the project can choose."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rbridge.engines import BaseREngine
from rbridge.session import RInfo, RSession
from rbridge.spec import RegressionSpec, Ssc, Subset, Vcov, parse_formula
from rbridge.tolerances import tolerance

pytestmark = pytest.mark.r_base
TWFE = "resilience ~ treat_post | city_code + year"
COEF_TOL = tolerance("base-r", "estimate").value
SE_TOL = tolerance("base-r", "std_error").value


@pytest.fixture(scope="module")
def panel(default_run: Path) -> pd.DataFrame:
    return pd.read_csv(default_run / "analysis_panel.csv")


@pytest.fixture(scope="module")
def unbalanced(panel: pd.DataFrame) -> pd.DataFrame:
    """The panel with a tenth of its city-years dropped at random (fixed seed)."""
    rng = np.random.default_rng(7)
    return panel[rng.random(len(panel)) > 0.1].reset_index(drop=True)


@pytest.fixture(scope="module")
def sessions(r_info: RInfo, panel: pd.DataFrame, unbalanced: pd.DataFrame) -> dict[bool, RSession]:
    """One R session per panel (balanced True / False); skips without R and sandwich."""
    problem = BaseREngine().unavailable(r_info)
    if problem:
        pytest.skip(f"needs the base-r engine: {problem}")
    return {True: RSession(panel), False: RSession(unbalanced)}


def pyfixest_fit(
    data: pd.DataFrame, formula: str, k_adj: bool, k_fixef: str, G_adj: bool
) -> tuple[pd.Series, pd.Series, int]:
    import pyfixest as pf

    fit = pf.feols(
        formula,
        data=data,
        vcov={"CRV1": "city_code"},
        ssc=pf.ssc(k_adj=k_adj, k_fixef=k_fixef, G_adj=G_adj, G_df="min"),
        fixef_rm="none",
    )
    return fit.coef(), fit.se(), int(fit._N)


def r_fit(
    session: RSession,
    formula: str,
    k_adj: bool,
    k_fixef: str,
    G_adj: bool,
    subset: Subset | None = None,
) -> tuple[dict[str, tuple[float, float]], float | None]:
    ssc = Ssc(K_adj=k_adj, K_fixef=k_fixef, G_adj=G_adj, G_df="min", t_df="min", fixef_rm="none")
    spec = RegressionSpec(parse_formula(formula), Vcov("CRV1", "city_code"), ssc, subset)
    result = BaseREngine().run(session, spec, "test")
    return result.values, result.n_obs


def assert_same(values: dict[str, tuple[float, float]], coef: pd.Series, se: pd.Series) -> None:
    assert set(values) == set(coef.index)
    for term, (b, s) in values.items():
        assert abs(b - coef[term]) < COEF_TOL, term
        assert abs(s - se[term]) < SE_TOL, term


@pytest.mark.parametrize(
    ("k_adj", "k_fixef", "G_adj", "balanced"),
    list(
        itertools.product(
            [True, False], ["nonnested", "full", "none"], [True, False], [True, False]
        )
    ),
)
def test_clustered_twfe_every_ssc(
    sessions: dict[bool, RSession],
    panel: pd.DataFrame,
    unbalanced: pd.DataFrame,
    k_adj: bool,
    k_fixef: str,
    G_adj: bool,
    balanced: bool,
) -> None:
    data = panel if balanced else unbalanced
    values, n = r_fit(sessions[balanced], TWFE, k_adj, k_fixef, G_adj)
    coef, se, n_py = pyfixest_fit(data, TWFE, k_adj, k_fixef, G_adj)
    assert n == n_py == len(data)
    assert_same(values, coef, se)


@pytest.mark.parametrize(
    "formula",
    [
        "resilience ~ treat_post + ln_gdp_pc + urbanization + fiscal + finance + fdi_share + human_capital | city_code + year",
        "tech_innovation ~ treat_post + treat_post:high_marketization | city_code + year",
    ],
)
def test_controls_and_interactions(
    sessions: dict[bool, RSession], panel: pd.DataFrame, formula: str
) -> None:
    values, _ = r_fit(sessions[True], formula, True, "nonnested", True)
    assert_same(values, *pyfixest_fit(panel, formula, True, "nonnested", True)[:2])


def test_split_sample(sessions: dict[bool, RSession], panel: pd.DataFrame) -> None:
    values, n = r_fit(sessions[True], TWFE, True, "nonnested", True, Subset("east_coastal", (1,)))
    part = panel[panel["east_coastal"] == 1]
    coef, se, n_py = pyfixest_fit(part, TWFE, True, "nonnested", True)
    assert n == n_py == len(part) < len(panel)
    assert_same(values, coef, se)


@pytest.mark.parametrize(
    ("subset", "keep"),
    [
        (Subset("first_treat", (2015,), "!="), lambda p: p["first_treat"] != 2015),
        (
            Subset("year", (2020, 2021, 2022), "not in"),
            lambda p: ~p["year"].isin([2020, 2021, 2022]),
        ),
        (
            Subset("city_code", (110100, 120100, 310100, 500100), "not in"),
            lambda p: ~p["city_code"].isin([110100, 120100, 310100, 500100]),
        ),
        (Subset("high_marketization", (0,), "in"), lambda p: p["high_marketization"] == 0),
    ],
)
def test_robustness_subsets(
    sessions: dict[bool, RSession], panel: pd.DataFrame, subset: Subset, keep: Any
) -> None:
    """The subset grammar of the robustness rows reaches R as the same rows pandas keeps."""
    values, n = r_fit(sessions[True], TWFE, True, "nonnested", True, subset)
    part = panel[keep(panel)]
    coef, se, n_py = pyfixest_fit(part, TWFE, True, "nonnested", True)
    assert n == n_py == len(part) < len(panel)
    assert_same(values, coef, se)


def test_combined_fixed_effects(r_info: RInfo, panel: pd.DataFrame) -> None:
    """province^year in base R (one factor per observed pair, with the city dummies
    aliased) against pyfixest, with the province the bridge attaches."""
    from rbridge.inputs import attach_columns

    problem = BaseREngine().unavailable(r_info)
    if problem:
        pytest.skip(f"needs the base-r engine: {problem}")
    data = attach_columns(panel)
    formula = "resilience ~ treat_post | city_code + province^year"
    values, n = r_fit(RSession(data), formula, True, "nonnested", True)
    coef, se, n_py = pyfixest_fit(data, formula, True, "nonnested", True)
    assert n == n_py == len(data)
    assert_same(values, coef, se)
