"""The any-unit simulated panel (analysis/simulation/units.py: counties with text ids, a
cohort column, a ready outcome and the raw inputs of three controls) written as a user would
bring it, with its truth (FILE.truth.json) and a cheap configuration that reads it."""

from __future__ import annotations

import json
from pathlib import Path

from analysis.simulation.units import COHORTS, TAU, simulate_units, truth

__all__ = ["COHORTS", "TAU", "simulate_units", "write_units"]


def write_units(
    folder: Path, seed: int, n_units: int = 2000, never_share: float = 0.4
) -> tuple[Path, Path]:
    """The raw CSV, its truth and a configuration that reads it; returns (data, config)."""
    frame = simulate_units(seed, n_units, never_share=never_share)
    data = folder / "counties.csv"
    frame.to_csv(data, index=False)
    years = sorted(frame["year"].unique())
    data.with_suffix(".truth.json").write_text(json.dumps(truth(frame)), encoding="utf-8")
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
