"""A simulated panel of units that are not Chinese cities (counties, firms), as a raw file a
user would bring: text unit ids, a cohort column, a ready outcome and the raw inputs of three
controls; optionally a mechanism and a moderator of the user's own (`study`), so that every
exhibit of the study runs on it. Used by the tests and by `bench --scale --study`.

Process: y_it = a_i + b_t + 0.4 ln(gdp_it / pop_it) + tau D_it + e_it, with unit effects a_i
correlated with the cohort (treated units start higher), year effects b_t, an AR(1) shock
e_it, and a constant effect tau on every treated unit-year, so that every DID estimator of the
study and the partially linear DML target the same number. Seeded. With `study`, drawn after
everything else (the other columns are those of the panel without it): a mechanism
"innovation" = c_i + 0.02 (t - t0) + MECHANISM_EFFECT D_it + N(0, 0.2^2) and a moderator
"coastal", a unit's 0/1 flag (probability 0.4) under which the effect is the same."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

TAU = 0.5
COHORTS = (2006, 2009, 2012)


def simulate_units(
    seed: int,
    n_units: int = 2000,
    first_year: int = 2001,
    n_years: int = 15,
    confounded: bool = False,
    study: bool = False,
    never_share: float = 0.4,
) -> pd.DataFrame:
    """The raw panel: unit, year, cohort (0 = never), outcome, gdp, population, loans,
    fiscal_expenditure. `never_share` of the units are never treated (0: every unit is
    treated in the end, a staggered rollout), the rest split evenly over COHORTS. With
    `confounded`, a covariate "market size" W_it = 0.1 x_i (t - t0 + 5)
    enters the outcome one for one, with x_i one standard deviation higher for units treated
    at some time: trends are parallel only given W (each period's W is linear in x_i), so the
    DID estimators recover TAU with W and are biased upward without it. With `study`, the
    mechanism and moderator columns (`add_study_columns`)."""
    rng = np.random.default_rng(seed)
    years = np.arange(first_year, first_year + n_years)
    treated_share = (1 - never_share) / len(COHORTS)
    shares = [never_share, *(treated_share for _ in COHORTS)]
    cohort = rng.choice([0, *COHORTS], size=n_units, p=shares)
    unit_effect = rng.normal(0, 1, n_units) + 0.3 * (cohort > 0)
    year_effect = np.cumsum(rng.normal(0.05, 0.1, n_years))
    shock = np.zeros((n_units, n_years))
    for t in range(1, n_years):
        shock[:, t] = 0.5 * shock[:, t - 1] + rng.normal(0, 0.3, n_units)
    pop = np.exp(rng.normal(4, 0.5, n_units))[:, None] * np.ones(n_years)
    gdp_pc = np.exp(rng.normal(1, 0.3, n_units)[:, None] + 0.03 * np.arange(n_years))
    gdp = gdp_pc * pop * np.exp(rng.normal(0, 0.05, (n_units, n_years)))
    treated = (cohort[:, None] > 0) & (years[None, :] >= cohort[:, None])
    y = (
        unit_effect[:, None]
        + year_effect[None, :]
        + 0.4 * np.log(gdp / pop)
        + TAU * treated
        + shock
    )
    ids = np.array([f"C{i:05d}" for i in range(1, n_units + 1)])
    frame = pd.DataFrame(
        {
            "county": np.repeat(ids, n_years),
            "year": np.tile(years, n_units),
            "cohort": np.repeat(cohort, n_years),
            "outcome": y.ravel(),
            "gdp": gdp.ravel(),
            "population": pop.ravel(),
            "loans": (gdp * rng.uniform(0.8, 1.2, (n_units, n_years))).ravel(),
            "fiscal_expenditure": (gdp * rng.uniform(0.1, 0.2, (n_units, n_years))).ravel(),
        }
    )
    if confounded:  # drawn last: the other columns are those of the panel without it
        x = rng.normal(0, 1, n_units) + 1.0 * (cohort > 0)
        market = 0.1 * x[:, None] * (np.arange(n_years)[None, :] + 5)
        market = market + rng.normal(0, 0.01, (n_units, n_years))
        frame["market size"] = market.ravel()
        frame["outcome"] += frame["market size"]
    if study:
        frame = add_study_columns(frame, rng)
    return frame


MECHANISM_EFFECT = 0.2


def add_study_columns(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The mechanism and moderator columns of `study` (drawn from `rng`, after the rest)."""
    units, codes = np.unique(frame["county"].to_numpy(), return_inverse=True)
    years = frame["year"].to_numpy()
    treated = (frame["cohort"].to_numpy() > 0) & (years >= frame["cohort"].to_numpy())
    level = rng.normal(0, 1, len(units))
    noise = rng.normal(0, 0.2, len(frame))
    coastal = (rng.random(len(units)) < 0.4).astype(int)
    return frame.assign(
        innovation=level[codes] + 0.02 * (years - years.min()) + MECHANISM_EFFECT * treated + noise,
        coastal=coastal[codes],
    )


def truth(frame: pd.DataFrame, study: bool = False) -> dict[str, Any]:
    """The true effects in the format of the pipeline's truth comparison (FILE.truth.json)."""
    years = sorted(int(y) for y in frame["year"].unique())
    horizons = range(0, years[-1] - min(COHORTS) + 1)
    out: dict[str, Any] = {
        "resilience": {
            "att": TAU,
            "by_event_time": {str(e): TAU for e in horizons},
            "by_cohort_year": {str(g): {str(t): TAU for t in years if t >= g} for g in COHORTS},
        },
        "mechanisms": {},
        "heterogeneity": {},
    }
    if study:
        out["mechanisms"] = {"innovation": {"att": MECHANISM_EFFECT}}
        out["heterogeneity"] = {"coastal": {"att_0": TAU, "att_1": TAU, "difference": 0.0}}
    return out
