"""Two decompositions of the TWFE coefficient of `y ~ treat_post | unit + period`, in time
and memory linear in the rows (no dummy matrix, whatever the number of units).

- `residual`: the exact two-way within transformation of any panel (balanced or not). With
  M_A removing the means of the factor with more levels (the units, as a rule) and B the
  indicators of the other one, M = M_A - M_A B G^+ B' M_A, G = B' M_A B: one small dense
  Gram (periods x periods) and sums over the rows, no iteration and no tolerance.
- `dcdh`: de Chaisemartin and D'Haultfoeuille (2020, Theorem 1 and Corollary 1): the weight
  of each treated cell is its share of the residual of treat_post on the two-way fixed
  effects; beta_fe and sigma_fe. The numbers of diff-diff 3.13's `twowayfeweights` on a
  panel with one row per unit and period (its cells), which builds and solves the dense
  rows x (units + periods) design (33 GiB at 560,520 rows and 7,785 units).
- `bacon`: Goodman-Bacon (2021) with exact (Theorem 1) weights. Every 2x2 DID is a difference
  of means over blocks of cohort x period cells, so it is read from the cohort x period sums
  and counts; the weights need only the cohorts' unit counts and treated shares. The numbers
  of diff-diff 3.13's `BaconDecomposition(weights="exact")`, which scans every row for each
  of its (cohorts^2) comparisons (47 s on that panel), except its TWFE coefficient: diff-diff
  demeans by alternating projections to an absolute change of 1e-8, here it is exact.

tests/test_twfe_weights.py holds both to diff-diff's own results on balanced and unbalanced
panels, with and without never-treated and always-treated units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike

from analysis.errors import InputError

# Eigenvalues of the Gram below this share of the largest span its null space (the constant,
# and one more direction per disconnected part of the panel).
PINV_RTOL = 1e-10
# A treatment whose residual norm is below this share of its own norm is spanned by the
# fixed effects (diff-diff's `snap_absorbed_regressors` threshold): no coefficient.
ABSORBED_RTOL = 1e-10
NEVER = "never_treated"


def _codes(values: ArrayLike) -> tuple[np.ndarray, int]:
    codes, levels = pd.factorize(np.asarray(values), sort=True)
    return codes.astype(np.intp), len(levels)


def residual(x: ArrayLike, unit: ArrayLike, period: ArrayLike) -> np.ndarray:
    """The residual of each column of x (rows = panel rows) on unit and period indicators,
    exact for any panel. `unit` and `period` are the rows' labels."""
    x = np.asarray(x, dtype=float)
    flat = x.ndim == 1
    x = x[:, None] if flat else x
    a, n_a = _codes(unit)
    b, n_b = _codes(period)
    if n_b > n_a:  # the Gram is taken over the factor with fewer levels
        a, n_a, b, n_b = b, n_b, a, n_a
    count_a = np.bincount(a, minlength=n_a).astype(float)
    sums_a = np.column_stack([np.bincount(a, weights=col, minlength=n_a) for col in x.T])
    xa = x - (sums_a / count_a[:, None])[a]
    cells = sp.csr_matrix((np.ones(len(a)), (a, b)), shape=(n_a, n_b))  # counts per cell
    scaled = sp.diags(1.0 / count_a) @ cells
    gram = np.diag(np.asarray(cells.sum(axis=0)).ravel()) - (cells.T @ scaled).toarray()
    u = np.column_stack([np.bincount(b, weights=col, minlength=n_b) for col in xa.T])
    g = np.linalg.pinv(gram, rcond=PINV_RTOL, hermitian=True) @ u
    out = xa - g[b] + (scaled @ g)[a]
    return out[:, 0] if flat else out


def _absorbed(eps: np.ndarray, d: np.ndarray) -> bool:
    return bool(np.linalg.norm(eps) <= ABSORBED_RTOL * np.linalg.norm(d))


@dataclass(frozen=True)
class Dcdh:
    """Weights of every row (unit-period cell; 0 where the treatment is absorbed), beta_fe
    and sigma_fe (NaN when the weights cannot be normalised)."""

    weights: np.ndarray
    beta_fe: float
    sigma_fe: float


def dcdh(y: ArrayLike, d: ArrayLike, unit: ArrayLike, period: ArrayLike) -> Dcdh:
    """de Chaisemartin-D'Haultfoeuille weights of a binary treatment `d` on a panel with one
    row per unit and period: w = eps / sum of eps over treated rows (eps: the two-way
    residual of d), beta_fe = eps'y / eps'eps, sigma_fe = |beta_fe| / sd of the treated
    rows' eps / mean(eps), the sd taken around 1 with equal shares."""
    y_, d_ = np.asarray(y, dtype=float), np.asarray(d, dtype=float)
    eps = residual(d_, unit, period)
    treated = d_ == 1
    denom = float(eps[treated].sum())
    if denom == 0 or _absorbed(eps, d_):
        return Dcdh(np.zeros(len(d_)), float("nan"), float("nan"))
    beta = float(eps @ y_ / (eps @ eps))
    paper = eps[treated] / float(np.mean(eps[treated]))
    var_w = float(np.mean((paper - 1.0) ** 2))
    sigma = abs(beta) / np.sqrt(var_w) if var_w > 0 and np.isfinite(beta) else float("nan")
    return Dcdh(eps / denom, beta, float(sigma))


@dataclass(frozen=True)
class Bacon:
    """The 2x2 comparisons (columns treated_group, control_group ('never_treated' or a
    cohort), comparison_type, estimate, weight (summing to 1), n_treated, n_control), the
    TWFE coefficient they decompose and the number of units treated at or before the first
    period (counted with the never treated, Goodman-Bacon's footnote 11)."""

    comparisons: pd.DataFrame
    twfe: float
    n_always_treated: int


def _twfe(y: np.ndarray, d: np.ndarray, unit: ArrayLike, period: ArrayLike) -> float:
    eps = residual(d, unit, period)
    if _absorbed(eps, d):
        return 0.0
    return float(eps @ y / (eps @ eps))


def bacon(panel: pd.DataFrame, outcome: str) -> Bacon:
    """The Goodman-Bacon decomposition of the TWFE coefficient of `outcome` on a panel with
    columns city_code, year and first_treat (0 = never treated): each cohort against the
    never treated, earlier against later cohorts before the later one is treated and later
    against earlier after the earlier one is treated; exact weights."""
    y = panel[outcome].to_numpy(dtype=float)
    unit = panel["city_code"].to_numpy()
    period = panel["year"].to_numpy()
    first = panel["first_treat"].to_numpy(dtype=float)
    periods = np.unique(period)
    never = (first == 0) | np.isinf(first)
    always = ~never & (first <= periods[0])
    n_always = int(pd.unique(unit[always]).size)
    first = np.where(always, 0.0, first)
    never |= always
    twfe = _twfe(y, (~never & (period >= first)).astype(float), unit, period)

    # cohort (0 = the never treated, then the timing groups) x period sums and counts
    cohorts = np.unique(first[~never])
    c = np.where(never, 0, np.searchsorted(cohorts, first) + 1)
    t = np.searchsorted(periods, period)
    shape = (len(cohorts) + 1, len(periods))
    flat = c * len(periods) + t
    sums = np.bincount(flat, weights=y, minlength=shape[0] * shape[1]).reshape(shape)
    counts = np.bincount(flat, minlength=shape[0] * shape[1]).reshape(shape)
    nan_cells = np.bincount(flat, weights=np.isnan(y), minlength=counts.size).reshape(shape)
    unit_cohort = pd.Series(c).groupby(pd.factorize(unit)[0]).first().to_numpy()
    units = np.bincount(unit_cohort, minlength=shape[0])

    def mean(group: int, mask: np.ndarray) -> float:
        n = counts[group, mask].sum()
        return float(sums[group, mask].sum() / n) if n else float("nan")

    def did(treated: int, control: int, pre: np.ndarray, post: np.ndarray) -> float | None:
        if not (pre.any() and post.any()):
            return None
        blocks = [(treated, pre), (treated, post), (control, pre), (control, post)]
        if any(counts[g, m].sum() == 0 for g, m in blocks):
            return None
        tp, tq, cp, cq = (mean(g, m) for g, m in blocks)
        return (tq - tp) - (cq - cp)

    def has_nan(group: int, *masks: np.ndarray) -> bool:
        return any(nan_cells[group, m].sum() > 0 for m in masks)

    total = units.sum()
    share = units / total  # n_k: the cohorts' shares of all units
    dbar = np.array([np.nan] + [float((periods >= g).mean()) for g in cohorts])
    rows = []
    if units[0] > 0:  # each cohort against the never treated, all periods
        for k in range(1, shape[0]):
            pre, post = periods < cohorts[k - 1], periods >= cohorts[k - 1]
            est = did(k, 0, pre, post)
            if est is None:
                continue
            n_ku = share[k] / (share[k] + share[0])
            v = n_ku * (1 - n_ku) * dbar[k] * (1 - dbar[k])
            weight = (share[k] + share[0]) ** 2 * v
            rows.append((cohorts[k - 1], NEVER, "treated_vs_never", est, weight, k, 0))
    for k in range(1, shape[0]):
        for ell in range(k + 1, shape[0]):
            g_k, g_l = cohorts[k - 1], cohorts[ell - 1]
            mid = (periods >= g_k) & (periods < g_l)
            n_kl = share[k] / (share[k] + share[ell])
            # earlier (k) against later (ell), before ell is treated
            pre, post = periods < g_k, mid
            est = did(k, ell, pre, post)
            if est is not None and not (has_nan(k, pre, post) or has_nan(ell, pre, post)):
                if dbar[ell] >= 1.0:
                    weight = 0.0
                else:
                    v = (
                        n_kl
                        * (1 - n_kl)
                        * (dbar[k] - dbar[ell])
                        / (1 - dbar[ell])
                        * (1 - dbar[k])
                        / (1 - dbar[ell])
                    )
                    weight = ((share[k] + share[ell]) * (1 - dbar[ell])) ** 2 * v
                rows.append((g_k, g_l, "earlier_vs_later", est, weight, k, ell))
            # later (ell) against earlier (k), after k is treated
            pre, post = mid, periods >= g_l
            est = did(ell, k, pre, post)
            if est is not None and not (has_nan(ell, pre, post) or has_nan(k, pre, post)):
                if dbar[k] <= 0.0:
                    weight = 0.0
                else:
                    v = n_kl * (1 - n_kl) * dbar[ell] / dbar[k] * (dbar[k] - dbar[ell]) / dbar[k]
                    weight = ((share[k] + share[ell]) * dbar[k]) ** 2 * v
                rows.append((g_l, g_k, "later_vs_earlier", est, weight, ell, k))
    if not rows:
        raise InputError(
            "Goodman-Bacon decomposition: no 2x2 comparison has data before and after a "
            "cohort's treatment in both of its groups"
        )
    weights = np.array([r[4] for r in rows], dtype=float)
    if weights.sum() > 0:
        weights = weights / weights.sum()
    table = pd.DataFrame(
        {
            "treated_group": [_label(r[0]) for r in rows],
            "control_group": [_label(r[1]) for r in rows],
            "comparison_type": [r[2] for r in rows],
            "estimate": np.array([r[3] for r in rows], dtype=float),
            "weight": weights,
            "n_treated": [int(units[r[5]]) for r in rows],
            "n_control": [int(units[r[6]]) for r in rows],
        }
    )
    return Bacon(table, twfe, n_always)


def _label(group: object) -> object:
    """A cohort as an int when it is one (as diff-diff reports it), else unchanged."""
    if isinstance(group, str):
        return group
    value = float(group)  # type: ignore[arg-type]
    return int(value) if value.is_integer() else value
