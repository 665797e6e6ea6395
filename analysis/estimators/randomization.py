"""Randomization inference for a TWFE coefficient: the cities' treatment cohorts are
reassigned at random, keeping the number of cities in each cohort and the cohort years, and
the coefficient of `y ~ treat_post | city_code + year` is recomputed for every assignment.

No permutation is fitted. By Frisch-Waugh-Lovell, b = d' M y / d' M d, where M removes the
city and year effects. With M_U removing city means and Y the year dummies,
M = M_U - M_U Y G^+ Y' M_U, G = Y' M_U Y (T x T), so for an assignment of cohort c_i to
city i

    d' M y = sum_i S[i, c_i] - v' G^+ u,    d' M d = sum_i Q[i, c_i] - v' G^+ v,
    v = Y' M_U d = sum_i W[i, c_i, :],

where S, Q and W are small per-city tables (cities x cohorts, and x years for W) computed
once, and u = Y' M_U y. Each assignment costs a gather over its cities (and, on an
unbalanced panel, one matrix product per treated cohort for v), whatever the number of
rows. On a balanced panel v is the same for every assignment that keeps the cohort sizes, so
d' M d is a constant and d' M y a gather over the two-way demeaned outcome
(`Balanced`). Assignments are drawn and evaluated in blocks of a few million cells, so
memory does not grow with the number of permutations; a block is evaluated in a second
thread while the next one is drawn. The alternating projections of `demean` are the
reference the tests hold the closed forms to.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

OUTCOME = "resilience"
TOL, MAX_SWEEPS = 1e-13, 100_000
GATHER_CELLS = 2**18  # assignments x cities gathered at once (cache-sized)
PRODUCT_CELLS = 2**22  # assignments x cities of one matrix product (unbalanced panels)
PINV_RTOL = 1e-10  # eigenvalues of G below this share of the largest are its null space


@dataclass(frozen=True)
class PanelIndex:
    """Integer codes of the cities and years of a panel's rows."""

    unit: np.ndarray
    year: np.ndarray
    years: np.ndarray  # the calendar year of each year code
    n_units: int
    n_years: int

    @cached_property
    def balanced(self) -> bool:
        """Every city in every year, once."""
        if len(self.unit) != self.n_units * self.n_years:
            return False
        cells = np.bincount(self.unit * self.n_years + self.year, minlength=len(self.unit))
        return bool(cells.max() == 1)


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


def _post(values: np.ndarray, idx: PanelIndex) -> np.ndarray:
    """Cohort x year: 1 where a city of that cohort is treated (C x T)."""
    return ((values[:, None] > 0) & (idx.years[None, :] >= values[:, None])).astype(float)


def _gather(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """sum_i table[i, codes[b, i]] for every row b of codes (n_units x C table)."""
    k = table.shape[1]
    flat, offset = table.ravel(), np.arange(table.shape[0], dtype=np.intp) * k
    step = max(1, GATHER_CELLS // max(table.shape[0], 1))
    out = np.empty(len(codes))
    for start in range(0, len(codes), step):
        block = codes[start : start + step].astype(np.intp)
        block += offset
        out[start : start + step] = flat[block].sum(axis=1)
    return out


class Balanced:
    """Coefficients on a balanced panel for assignments that keep the cohort sizes of
    `observed`: d' M d is the same for all of them, and d' M y = sum_i S[i, c_i] with S
    the sums of the two-way demeaned outcome over the years a city of cohort c is treated."""

    def __init__(self, y: np.ndarray, values: np.ndarray, idx: PanelIndex, observed: np.ndarray):
        grid = np.zeros((idx.n_units, idx.n_years))
        grid[idx.unit, idx.year] = demean(y[:, None], idx)[:, 0]
        self.table = grid @ _post(values, idx).T  # n_units x C
        md = demean(treatment_matrix(values[observed][None, :], idx), idx)[:, 0]
        self.denominator = float(md @ md)

    def __call__(self, codes: np.ndarray) -> np.ndarray:
        return _gather(self.table, codes) / self.denominator


class General:
    """Coefficients on any panel (unbalanced, repeated cells) for any assignment, by the
    decomposition of M in the module docstring."""

    def __init__(self, y: np.ndarray, values: np.ndarray, idx: PanelIndex):
        n_units, n_years = idx.n_units, idx.n_years
        cell = idx.unit * n_years + idx.year
        count = np.bincount(cell, minlength=n_units * n_years).reshape(n_units, n_years)
        count = count.astype(float)
        rows = count.sum(axis=1)
        centred = y - (np.bincount(idx.unit, weights=y, minlength=n_units) / rows)[idx.unit]
        sums = np.bincount(cell, weights=centred, minlength=n_units * n_years)
        sums = sums.reshape(n_units, n_years)
        post = _post(values, idx)
        treated_rows = count @ post.T  # n_units x C
        share = treated_rows / rows[:, None]
        gram = np.diag(count.sum(axis=0)) - (count / rows[:, None]).T @ count
        self.g_pinv = np.linalg.pinv(gram, rcond=PINV_RTOL, hermitian=True)
        self.u = sums.sum(axis=0)
        self.cohorts = [int(c) for c in np.flatnonzero(post.any(axis=1))]
        s, q = sums @ post.T, treated_rows - treated_rows * share
        # one table per treated cohort: S, Q and W side by side (n_units x (2 + T))
        self.tables = {
            c: np.column_stack([s[:, c], q[:, c], count * (post[c] - share[:, [c]])])
            for c in self.cohorts
        }
        self.width = 2 + n_years

    def __call__(self, codes: np.ndarray) -> np.ndarray:
        step = max(1, PRODUCT_CELLS // max(codes.shape[1], 1))
        out = np.empty(len(codes))
        for start in range(0, len(codes), step):
            block = codes[start : start + step]
            r = np.zeros((len(block), self.width))
            for c in self.cohorts:
                r += (block == c).astype(float) @ self.tables[c]
            v = r[:, 2:]
            vg = v @ self.g_pinv
            out[start : start + step] = (r[:, 0] - vg @ self.u) / (
                r[:, 1] - np.einsum("ij,ij->i", vg, v)
            )
        return out


def twfe_coefficients(y: np.ndarray, cohorts: np.ndarray, idx: PanelIndex) -> np.ndarray:
    """TWFE coefficient of y on treat_post under each cohort assignment (rows of `cohorts`,
    B x n_units, the first-treated year of each city; row 0 the observed one), city and year
    fixed effects."""
    values, codes = np.unique(cohorts, return_inverse=True)
    codes = codes.reshape(cohorts.shape)
    sizes = np.sort(codes, axis=1)
    if idx.balanced and (sizes == sizes[:1]).all():
        return Balanced(y, values, idx, codes[0])(codes)
    return General(y, values, idx)(codes)


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


def permuted_blocks(
    city_cohort: np.ndarray, n_perm: int, rng: np.random.Generator, cells: int | None = None
) -> Iterator[np.ndarray]:
    """n_perm random reassignments of the cohort vector across cities, in blocks of about
    `cells` cells (PRODUCT_CELLS unless given; rows of blocks x n_units). Each row is
    shuffled on its own, one after the other, as `Generator.permuted(..., axis=1)` does with
    the rows of one matrix, so the blocks together are exactly its draws (tested); shuffling
    one contiguous row that stays in the cache is about twice as fast as `permuted` along an
    axis of a large matrix."""
    cells = PRODUCT_CELLS if cells is None else cells
    rows = max(1, cells // max(len(city_cohort), 1))
    row = city_cohort.copy()  # one row shuffled in place stays in the cache
    for start in range(0, n_perm, rows):
        block = np.empty((min(rows, n_perm - start), len(city_cohort)), city_cohort.dtype)
        for j in range(len(block)):
            row[:] = city_cohort
            rng.shuffle(row)
            block[j] = row
        yield block


def permuted_cohorts(city_cohort: np.ndarray, n_perm: int, rng: np.random.Generator) -> np.ndarray:
    """n_perm random reassignments of the cohort vector across cities (B x n_units)."""
    blocks = list(permuted_blocks(city_cohort, n_perm, rng))
    return np.vstack(blocks) if blocks else np.empty((0, len(city_cohort)), city_cohort.dtype)


def _overlapped(
    model: Callable[[np.ndarray], np.ndarray], blocks: Iterator[np.ndarray]
) -> np.ndarray:
    """model(block) of every block, in order, each evaluated in a second thread while this
    one draws the next block (both release the interpreter lock: the generator's shuffle,
    numpy's gathers and BLAS), with at most two blocks waiting. The values do not depend on
    the overlap: the same blocks, the same arithmetic."""
    done: list[np.ndarray] = [np.empty(0)]
    waiting: deque[Future[np.ndarray]] = deque()
    with ThreadPoolExecutor(max_workers=1) as pool:
        for block in blocks:
            waiting.append(pool.submit(model, block))
            if len(waiting) > 2:
                done.append(waiting.popleft().result())
        done += [f.result() for f in waiting]
    return np.concatenate(done)


def randomization_test(
    panel: pd.DataFrame, n_perm: int, rng: np.random.Generator, outcome: str = OUTCOME
) -> Placebo:
    idx = index(panel)
    city_cohort = panel.groupby("city_code", sort=True)["first_treat"].first().to_numpy()
    y = panel[outcome].to_numpy(dtype=float)
    values, observed = np.unique(city_cohort, return_inverse=True)
    # The cities' cohort codes are permuted, not the cohort years: the generator's shuffle
    # does not depend on the items, so the permutations are the same, and it is fastest on
    # pointer-sized integers.
    observed = observed.astype(np.intp)
    model = Balanced(y, values, idx, observed) if idx.balanced else General(y, values, idx)
    actual = float(model(observed[None, :])[0])
    with threadpool_limits(limits=1):  # the drawing thread and the evaluating one share the cores
        draws = _overlapped(model, permuted_blocks(observed, n_perm, rng))
    p = (1 + int(np.sum(np.abs(draws) >= abs(actual) - 1e-15))) / (1 + n_perm)
    return Placebo(actual, draws, p)
