"""Figure 3 and Table 6: randomization inference for the baseline TWFE coefficient.

The cities' treatment cohorts are reassigned at random ([placebo] permutations times, seeded
from [run] seed): a permutation of the city -> first_treat vector, so the number of cities in
each cohort and the cohort years are kept. For every permutation the TWFE coefficient of
`resilience ~ treat_post | city_code + year` is recomputed. The p-value (model `placebo`, term
`p_value`) is two-sided, (1 + #{|b_perm| >= |b|}) / (1 + B), which is exact under the sharp
null of no effect.

All permutations are estimated at once. By Frisch-Waugh-Lovell, b = d' M y / d' M d, where
M removes city and year means (the two-way within transformation); M y is computed once. On a
balanced panel M is a closed form (minus city and year means, plus the grand mean), d' M d is
the same for every permutation, and d' M y is a gather-and-sum over a small table (see
`twfe_coefficients`). On an unbalanced panel M is applied to the matrix of all permutations'
treatment columns by alternating projections (city means, then year means, until the largest
change is below 1e-13), one sparse matrix product per sweep for all permutations.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from analysis.estimates import Estimate
from analysis.exhibits import Context, Output

EXHIBIT = "table6_placebo"
FIGURE = "figure3_placebo"
OUTCOME = "resilience"
TOL, MAX_SWEEPS = 1e-13, 100_000


@dataclass(frozen=True)
class PanelIndex:
    """Integer codes of the cities and years of a panel's rows."""

    unit: np.ndarray
    year: np.ndarray
    years: np.ndarray  # the calendar year of each year code
    n_units: int
    n_years: int

    @property
    def balanced(self) -> bool:
        cells = self.unit * self.n_years + self.year
        return len(cells) == self.n_units * self.n_years and len(np.unique(cells)) == len(cells)


def index(panel: pd.DataFrame) -> PanelIndex:
    unit_codes, _ = pd.factorize(panel["city_code"], sort=True)
    year_codes, years = pd.factorize(panel["year"], sort=True)
    return PanelIndex(unit_codes, year_codes, np.asarray(years, dtype=float),
                      int(unit_codes.max()) + 1, int(year_codes.max()) + 1)  # fmt: skip


def demean(x: np.ndarray, idx: PanelIndex, projections: bool = False) -> np.ndarray:
    """The two-way within transformation of the columns of x (rows = panel rows); closed
    form on a balanced panel unless `projections` asks for alternating projections."""
    x = np.asarray(x, dtype=float)
    if idx.balanced and not projections:
        grid = np.zeros((idx.n_units, idx.n_years, x.shape[1]))
        grid[idx.unit, idx.year] = x
        out = grid - grid.mean(axis=1, keepdims=True) - grid.mean(axis=0, keepdims=True)
        out += grid.mean(axis=(0, 1), keepdims=True)
        return out[idx.unit, idx.year]
    n = len(x)
    ops = []
    for codes, k in ((idx.unit, idx.n_units), (idx.year, idx.n_years)):
        ind = sp.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, k))
        counts = np.asarray(ind.sum(axis=0)).ravel()
        ops.append((ind, sp.diags(1.0 / counts) @ ind.T.tocsr()))
    out = x.copy()
    for _ in range(MAX_SWEEPS):
        before = out
        for ind, mean_op in ops:
            out = out - ind @ (mean_op @ out)
        if np.max(np.abs(out - before)) < TOL:
            return out
    raise RuntimeError("alternating projections did not converge")


def treatment_matrix(cohorts: np.ndarray, idx: PanelIndex) -> np.ndarray:
    """treat_post of every row (rows) under every cohort assignment (columns).

    `cohorts` is B x n_units: the first-treated year of each city (0 = never)."""
    g = cohorts[:, idx.unit].T  # rows x B
    year = idx.years[idx.year][:, None]
    return ((g > 0) & (year >= g)).astype(float)


def twfe_coefficients(y: np.ndarray, cohorts: np.ndarray, idx: PanelIndex) -> np.ndarray:
    """TWFE coefficient of y on treat_post under each cohort assignment (rows of `cohorts`,
    B x n_units), city and year fixed effects: b = d' (M y) / d' M d.

    M y is computed once. On a balanced panel d' M d is the same for every assignment that
    keeps the cohort sizes (the year means of d do not change, and a city's mean depends only
    on its cohort), and d' M y = sum_i S[i, cohort_i] with S[i, c] = sum of city i's demeaned
    outcome over the years a city of cohort c is treated: a gather over a n_units x n_cohorts
    table. Otherwise the treatment columns of all assignments are demeaned together."""
    y_tilde = demean(y[:, None], idx)[:, 0]
    sorted_rows = np.sort(cohorts, axis=1)
    if idx.balanced and (sorted_rows == sorted_rows[:1]).all():
        values, codes = np.unique(cohorts, return_inverse=True)
        codes = codes.reshape(cohorts.shape)
        post = (values[:, None] > 0) & (idx.years[None, :] >= values[:, None])  # C x T
        grid = np.zeros((idx.n_units, idx.n_years))
        grid[idx.unit, idx.year] = y_tilde
        table = grid @ post.T.astype(float)  # n_units x C
        numerator = table[np.arange(idx.n_units)[None, :], codes].sum(axis=1)
        md = demean(treatment_matrix(cohorts[:1], idx), idx)[:, 0]
        return numerator / float(md @ md)
    d = treatment_matrix(cohorts, idx)
    md = demean(d, idx)
    return (d.T @ y_tilde) / np.einsum("ij,ij->j", md, md)


@dataclass(frozen=True)
class Placebo:
    actual: float
    draws: np.ndarray
    p_value: float

    @property
    def mean(self) -> float:
        return float(self.draws.mean())

    @property
    def sd(self) -> float:
        return float(self.draws.std(ddof=1))


def permuted_cohorts(city_cohort: np.ndarray, n_perm: int, rng: np.random.Generator) -> np.ndarray:
    """n_perm random reassignments of the cohort vector across cities (B x n_units)."""
    return rng.permuted(np.tile(city_cohort, (n_perm, 1)), axis=1)


def randomization_test(
    panel: pd.DataFrame, n_perm: int, rng: np.random.Generator, outcome: str = OUTCOME
) -> Placebo:
    idx = index(panel)
    city_cohort = panel.groupby("city_code", sort=True)["first_treat"].first().to_numpy()
    y = panel[outcome].to_numpy(dtype=float)
    cohorts = np.vstack([city_cohort, permuted_cohorts(city_cohort, n_perm, rng)])
    b = twfe_coefficients(y, cohorts, idx)
    actual, draws = float(b[0]), b[1:]
    p = (1 + int(np.sum(np.abs(draws) >= abs(actual) - 1e-15))) / (1 + n_perm)
    return Placebo(actual, draws, p)


def run(ctx: Context) -> Output:
    from analysis.figures_did import placebo_figure

    n_perm = ctx.cfg.placebo.permutations
    res = randomization_test(ctx.panel, n_perm, np.random.default_rng(ctx.cfg.seed))
    n_cities = int(ctx.panel["city_code"].nunique())
    formula = "resilience ~ treat_post | city_code + year"
    vcov = f"randomization:permute first_treat across cities,B={n_perm}"
    ssc = f"p = (1 + #|b_perm| >= |b|) / (1 + B); seed {ctx.cfg.seed}"

    def row(term: str, value: float) -> Estimate:
        return Estimate(
            exhibit=EXHIBIT, model="placebo", estimator="randomization_inference",
            engine="analysis.estimators.placebo", outcome=OUTCOME, term=term, estimate=value,
            std_error=np.nan, statistic=np.nan, p_value=res.p_value if term == "p_value" else np.nan,
            conf_low=np.nan, conf_high=np.nan, df=np.nan, n_obs=len(ctx.panel),
            n_clusters=n_cities, vcov=vcov, ssc=ssc, formula=formula,
            fixef="city_code + year", sample=ctx.sample,
        )  # fmt: skip

    estimates = [row("p_value", res.p_value), row("actual_coefficient", res.actual),
                 row("placebo_mean", res.mean), row("placebo_sd", res.sd)]  # fmt: skip
    q = np.quantile(res.draws, [0.025, 0.975])
    table = pd.DataFrame(
        {"statistic": ["Actual TWFE coefficient", "Permutation p-value (two-sided)",
                       "Placebo mean", "Placebo SD", "Placebo 2.5% quantile",
                       "Placebo 97.5% quantile", "Permutations"],
         "value": [f"{res.actual:.4f}", f"{res.p_value:.4f}", f"{res.mean:.4f}", f"{res.sd:.4f}",
                   f"{q[0]:.4f}", f"{q[1]:.4f}", str(n_perm)]}
    )  # fmt: skip
    note = (
        f"Treatment cohorts reassigned across the {n_cities} cities {n_perm} times (cohort "
        f"sizes and years kept; seed {ctx.cfg.seed}); TWFE with city and year fixed effects, "
        "no controls."
    )
    writer: Callable[[Path], None] = lambda path: placebo_figure(  # noqa: E731
        res.draws, res.actual, res.p_value, note, path
    )
    return Output(estimates=estimates, tables={EXHIBIT: table}, figures={FIGURE: writer},
                  notes={EXHIBIT: note})  # fmt: skip


def bench_placebo(
    panel: pd.DataFrame | None = None, n_perm: int = 1000, n_loop: int = 20, seed: int = 1
) -> dict[str, Any]:
    """Seconds: n_perm permutations vectorized; a loop of pyfixest fits timed on n_loop
    fits and scaled to n_perm; one pyfixest fit. Plus the two ratios of the issue's goal
    (>= 100x faster than the loop, within 5x of one fit)."""
    import pyfixest as pf

    if panel is None:
        from analysis.config import DEFAULT_PANEL, load_config
        from analysis.pipeline import prepare

        panel, _ = prepare(DEFAULT_PANEL, load_config())
    data = panel[["city_code", "year", "first_treat", "treat_post", OUTCOME]].copy()
    randomization_test(data, 10, np.random.default_rng(seed))  # warm-up
    t0 = time.perf_counter()
    randomization_test(data, n_perm, np.random.default_rng(seed))
    vectorized = time.perf_counter() - t0
    formula = f"{OUTCOME} ~ treat_post | city_code + year"
    pf.feols(formula, data=data, vcov="iid")  # warm-up (JIT)
    t0 = time.perf_counter()
    pf.feols(formula, data=data, vcov="iid")
    one_fit = time.perf_counter() - t0
    idx = index(data)
    city_cohort = data.groupby("city_code", sort=True)["first_treat"].first().to_numpy()
    cohorts = permuted_cohorts(city_cohort, n_loop, np.random.default_rng(seed))
    d = treatment_matrix(cohorts, idx)
    t0 = time.perf_counter()
    for b in range(n_loop):
        pf.feols(formula, data=data.assign(treat_post=d[:, b]), vcov="iid")
    loop = (time.perf_counter() - t0) / n_loop * n_perm
    return {
        "permutations": n_perm,
        "vectorized_s": round(vectorized, 4),
        "pyfixest_loop_s": round(loop, 2),
        "pyfixest_loop_timed_fits": n_loop,
        "pyfixest_one_fit_s": round(one_fit, 4),
        "speedup_vs_loop": round(loop / vectorized, 1),
        "ratio_to_one_fit": round(vectorized / one_fit, 2),
    }
