"""Test data for Callaway-Sant'Anna with covariates: a cohort of six units that the covariate
nearly separates (did leaves some of its cells missing), a larger cohort, never-treated units,
a negative effect; and a cross-section where DRDID's trimming of control units binds."""

from __future__ import annotations

import numpy as np
import pandas as pd


def near_separation_panel(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n, years = 120, np.arange(2009, 2019)
    cohort = np.zeros(n, dtype=int)
    cohort[:6], cohort[6:40] = 2015, 2016
    x = rng.normal(0, 1, n)
    x[:6] += 3.0
    rows = []
    for i in range(n):
        a = rng.normal()
        for t in years:
            effect = -0.2 if cohort[i] and t >= cohort[i] else 0.0
            y = a + 0.1 * (t - 2009) + 0.03 * x[i] * (t - 2009) + rng.normal(0, 0.2) + effect
            rows.append((i + 1, t, cohort[i], round(y, 10), round(x[i] + rng.normal(0, 0.05), 10)))
    return pd.DataFrame(rows, columns=["unit", "year", "cohort", "y", "x"])


def trimming_cross_section(seed: int = 5) -> pd.DataFrame:
    """Many treated units at high x, a few controls among them: their scores pass 0.995."""
    rng = np.random.default_rng(seed)
    n_c, n_t = 300, 300
    x = np.concatenate([rng.normal(0, 1, n_c), rng.normal(4.5, 0.7, n_t)])
    x[:3] = (4.6, 5.0, 5.4)  # controls deep among the treated
    d = np.concatenate([np.zeros(n_c), np.ones(n_t)])
    y0 = x + rng.normal(0, 1, n_c + n_t)
    y1 = y0 + 0.5 * x + 0.3 * d + rng.normal(0, 1, n_c + n_t)
    return pd.DataFrame({"d": d, "x": x.round(10), "y0": y0.round(10), "y1": y1.round(10)})


def pretrend_panel_toml(first_year: int = 2009, last_year: int = 2018) -> str:
    """A configuration that runs the near-separation panel through `units = "any"` with the
    covariate in Callaway-Sant'Anna (as ln_gdp_pc, built from the gdp and population inputs:
    ln(gdp x 1e4 / population) = x) and the HonestDiD grid left to the data."""
    return f"""[panel]
first_year = {first_year}
last_year = {last_year}
units = "any"

[columns]
city = "unit"
year = "year"

[outcome]
column = "y"

[components]

[inputs]
gdp = "gdp"
population = "population"

[model]
controls = []
mechanisms = []
moderators = []
event_window = [-4, 3]

[treatment]
source = "column"
cohort_column = "cohort"

[sample]
cities = "all"

[callaway_santanna]
covariates = ["ln_gdp_pc"]
bootstrap_reps = 0

[placebo]
permutations = 99

[honest_did]
mbar = [0.5]
"""


def negative_pretrend_panel(seed: int = 3) -> pd.DataFrame:
    """The near-separation panel with a pre-trend in the larger cohort (it drifts down by
    0.02 a year before treatment) on top of its negative effect, the outcome scaled to a
    rate of order 1e-4 (every check of the cross-check must hold at that scale)."""
    p = near_separation_panel(seed)
    drift = np.where((p["cohort"] == 2016) & (p["year"] < 2016), -0.02 * (2016 - p["year"]), 0.0)
    return p.assign(
        y=((p["y"] + drift) * 1e-4).round(14),
        population=1e4,
        gdp=np.exp(p["x"]).round(12),
    )
