"""Synthetic panels of any size shaped like the analysis panel, for `bench --scale`
(SIMULATED DATA).

Units are integer ids, not cities: the panel has the analysis panel's vocabulary
(`city_code`, `year`, `first_treat`, `treat_post`, the outcome `resilience`, the study's
control names) so every stage runs on it unchanged, but nothing in it is a yearbook
indicator. Process, for unit i and year t of first_year..last_year:

- cohorts: each of COHORTS takes COHORT_SHARE of the units, the rest are never treated
  (first_treat 0); drawn at random from the seed;
- unit effect a_i ~ N(0, 1) + 0.5 [ever treated] (treated units differ in level only, so
  parallel trends hold), year effect lambda_t: a random walk with N(0, 0.2^2) steps;
- controls x_kit = 0.3 a_i + N(0, 1), independent of the treatment path, entering the
  outcome with coefficients BETA;
- effect of the treatment at event time e = t - g >= 0: tau(e) = 0.10 + 0.02 e;
- outcome y_it = a_i + lambda_t + x_it' BETA + tau(e) [treated] + N(0, 0.5^2).

`att` is the mean of tau over the treated unit-years: the truth of the simple ATT (and of
the TWFE coefficient only when effects are constant, which they are not here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.prepare.panel import NEVER_TREATED_EVENT_TIME

COHORTS = (2013, 2015, 2016, 2018)
COHORT_SHARE = 0.1
CONTROLS = ("ln_gdp_pc", "urbanization", "fiscal", "finance", "fdi_share", "human_capital")
BETA = (0.3, -0.2, 0.1, 0.05, -0.1, 0.2)
OUTCOME = "resilience"


@dataclass(frozen=True)
class ScalePanel:
    """A synthetic panel and the truth of its simple ATT."""

    panel: pd.DataFrame
    att: float
    n_units: int
    n_years: int


def scale_panel(
    n_rows: int,
    seed: int,
    first_year: int = 2009,
    last_year: int = 2022,
    window: tuple[int, int] = (-5, 5),
) -> ScalePanel:
    """A balanced panel of about `n_rows` rows (whole units of last_year - first_year + 1
    years), sorted by unit and year, with `rel_time` and `event_time` as the pipeline makes
    them (event time binned at the ends of `window`, never-treated units at -1000)."""
    years = np.arange(first_year, last_year + 1)
    n_years = len(years)
    n_units = max(int(round(n_rows / n_years)), 4 * (len(COHORTS) + 1))
    rng = np.random.default_rng(seed)
    shares = [1 - COHORT_SHARE * len(COHORTS), *([COHORT_SHARE] * len(COHORTS))]
    first_treat = rng.choice(np.array([0, *COHORTS]), size=n_units, p=shares)
    unit_effect = rng.normal(size=n_units) + 0.5 * (first_treat > 0)
    year_effect = np.cumsum(rng.normal(scale=0.2, size=n_years))
    unit = np.repeat(np.arange(n_units), n_years)
    year = np.tile(years, n_units)
    g = first_treat[unit]
    treated = (g > 0) & (year >= g)
    tau = np.where(treated, 0.10 + 0.02 * (year - g), 0.0)
    x = 0.3 * unit_effect[unit][:, None] + rng.normal(size=(len(unit), len(CONTROLS)))
    y = (
        unit_effect[unit]
        + year_effect[np.tile(np.arange(n_years), n_units)]
        + x @ np.asarray(BETA)
        + tau
        + rng.normal(scale=0.5, size=len(unit))
    )
    rel = np.where(g > 0, year - g, np.nan)
    binned = np.clip(rel, *window)
    frame = pd.DataFrame(
        {
            "city_code": 100_000 + unit,
            "year": year,
            "first_treat": g,
            "treat_post": treated.astype(np.int64),
            "rel_time": rel,
            "event_time": np.where(g > 0, binned, NEVER_TREATED_EVENT_TIME).astype(np.int64),
            OUTCOME: y,
            **{name: x[:, k] for k, name in enumerate(CONTROLS)},
        }
    )
    return ScalePanel(frame, float(tau[treated].mean()), n_units, n_years)
