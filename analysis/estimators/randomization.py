"""Randomization inference for a TWFE coefficient: the cities' treatment cohorts are
reassigned at random, keeping the number of cities in each cohort and the cohort years, and
the coefficient of `y ~ treat_post | city_code + year` is recomputed for every assignment.

All permutations are estimated at once. By Frisch-Waugh-Lovell, b = d' M y / d' M d, where
M removes city and year means (the two-way within transformation); M y is computed once. On a
balanced panel M is a closed form (minus city and year means, plus the grand mean), d' M d is
the same for every permutation, and d' M y is a gather-and-sum over a small table (see
`twfe_coefficients`). On an unbalanced panel M is applied to the matrix of all permutations'
treatment columns by alternating projections (city means, then year means, until the largest
change is below 1e-13), one sparse matrix product per sweep for all permutations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

OUTCOME = "resilience"
TOL, MAX_SWEEPS = 1e-13, 100_000
BLOCK = 2**23  # cells (assignments x units) of the permutation matrix held at once


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
    return PanelIndex(
        unit_codes,
        year_codes,
        np.asarray(years, dtype=float),
        int(unit_codes.max()) + 1,
        int(year_codes.max()) + 1,
    )


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
    values = np.unique(cohorts[:1])
    codes = np.searchsorted(values, cohorts).clip(0, len(values) - 1)
    if idx.balanced and np.array_equal(values[codes], cohorts):
        return coded_coefficients(y, codes, values, idx)
    y_tilde = demean(y[:, None], idx)[:, 0]
    d = treatment_matrix(cohorts, idx)
    md = demean(d, idx)
    return (d.T @ y_tilde) / np.einsum("ij,ij->j", md, md)


def coded_coefficients(
    y: np.ndarray, codes: np.ndarray, values: np.ndarray, idx: PanelIndex
) -> np.ndarray:
    """`twfe_coefficients` of a balanced panel with the assignments given as codes into
    `values` (B x n_units small integers; row 0 the observed one). Rows that do not keep
    row 0's cohort sizes are estimated by the general route. Blocks of BLOCK cells are held
    at once, so memory stays O(n_units x BLOCK / n_units) whatever B (each row's sum is the
    same as over the whole matrix)."""
    y_tilde = demean(y[:, None], idx)[:, 0]
    post = (values[:, None] > 0) & (idx.years[None, :] >= values[:, None])  # C x T
    grid = np.zeros((idx.n_units, idx.n_years))
    grid[idx.unit, idx.year] = y_tilde
    table = grid @ post.T.astype(float)  # n_units x C
    k = len(values)
    sizes = np.bincount(codes[0], minlength=k)
    md = demean(treatment_matrix(values[codes[:1]], idx), idx)[:, 0]
    denominator = float(md @ md)
    out = np.empty(len(codes))
    units = np.arange(idx.n_units)[None, :]
    step = max(1, BLOCK // max(idx.n_units, 1))
    for start in range(0, len(codes), step):
        block = codes[start : start + step]
        flat = block.astype(np.int64) + k * np.arange(len(block))[:, None]
        counts = np.bincount(flat.ravel(), minlength=k * len(block)).reshape(len(block), k)
        same = (counts == sizes).all(axis=1)
        out[start : start + step] = table[units, block].sum(axis=1) / denominator
        for r in np.flatnonzero(~same):
            d = treatment_matrix(values[block[r : r + 1]], idx)
            out[start + r] = float(d[:, 0] @ y_tilde) / float(np.sum(demean(d, idx) ** 2))
    return out


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
    values, observed = np.unique(city_cohort, return_inverse=True)
    # Permuting small integer codes draws the same permutations as permuting the cohort
    # years (the generator's shuffle does not depend on the item size), in 1/8 the memory.
    dtype = np.int8 if len(values) < 128 else np.int32
    codes = np.vstack(
        [observed.astype(dtype), permuted_cohorts(observed.astype(dtype), n_perm, rng)]
    )
    if idx.balanced:
        b = coded_coefficients(y, codes, values, idx)
    else:
        b = twfe_coefficients(y, values[codes], idx)
    actual, draws = float(b[0]), b[1:]
    p = (1 + int(np.sum(np.abs(draws) >= abs(actual) - 1e-15))) / (1 + n_perm)
    return Placebo(actual, draws, p)
