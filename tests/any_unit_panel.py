"""A simulated panel of units that are not Chinese cities (a county-sized staggered design),
as a raw file a user would bring: text unit ids, a cohort column, a ready outcome and the
raw inputs of three controls, with the truth written beside it (FILE.truth.json) in the
format the pipeline's truth comparison reads.

Process: y_it = a_i + b_t + 0.4 ln(gdp_it / pop_it) + tau D_it + e_it, with unit effects a_i
correlated with the cohort (treated units start higher), year effects b_t, an AR(1) shock
e_it, and a constant effect tau on every treated unit-year, so that every DID estimator of the
study and the partially linear DML target the same number. Seeded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

TAU = 0.5
COHORTS = (2006, 2009, 2012)


def simulate_units(
    seed: int,
    n_units: int = 2000,
    first_year: int = 2001,
    n_years: int = 15,
    never_share: float = 0.4,
    confounded: bool = False,
) -> pd.DataFrame:
    """The raw panel: unit, year, cohort (0 = never), outcome, gdp, population, loans,
    fiscal_expenditure. `never_share` of the units are never treated (0: every unit is
    treated in the end, a staggered rollout), the rest split evenly over COHORTS. With
    `confounded`, a covariate "market size" W_it = 0.1 x_i (t - t0 + 5) enters the outcome
    one for one, with x_i one standard deviation higher for units treated at some time:
    trends are parallel only given W (each period's W is linear in x_i), so the DID
    estimators recover TAU with W and are biased upward without it."""
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
    return frame


def write_units(
    folder: Path, seed: int, n_units: int = 2000, never_share: float = 0.4
) -> tuple[Path, Path]:
    """The raw CSV, its truth and a configuration that reads it; returns (data, config)."""
    frame = simulate_units(seed, n_units, never_share=never_share)
    data = folder / "counties.csv"
    frame.to_csv(data, index=False)
    years = sorted(frame["year"].unique())
    horizons = range(0, years[-1] - min(COHORTS) + 1)
    truth = {
        "resilience": {
            "att": TAU,
            "by_event_time": {str(e): TAU for e in horizons},
            "by_cohort_year": {str(g): {str(t): TAU for t in years if t >= g} for g in COHORTS},
        },
        "mechanisms": {},
        "heterogeneity": {},
    }
    data.with_suffix(".truth.json").write_text(json.dumps(truth), encoding="utf-8")
    config = folder / "counties.toml"
    config.write_text(
        f"""[panel]
first_year = {years[0]}
last_year = {years[-1]}
units = "any"

[columns]
city = "county"
year = "year"

[outcome]
column = "outcome"

[components]

[inputs]
gdp = "gdp"
population = "population"
loans = "loans"
fiscal_expenditure = "fiscal_expenditure"

[model]
controls = ["ln_gdp_pc", "finance", "fiscal"]
mechanisms = []
moderators = []

[treatment]
source = "column"
cohort_column = "cohort"

[sample]
cities = "all"

[callaway_santanna]
covariates = []
bootstrap_reps = 0

[placebo]
permutations = 99

[dml]
learners = ["lasso"]
fe_handling = ["within"]
learner = "lasso"
fe = "within"
n_folds = 3
robustness_folds = []
n_rep = 1
n_jobs = 1
aux_learner = "lasso"
did_learner = "linear"
did_n_rep = 1
bootstrap_reps = 99
""",
        encoding="utf-8",
    )
    return data, config
