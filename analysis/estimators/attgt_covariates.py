"""Callaway-Sant'Anna ATT(g,t) with covariates on a balanced panel, cell by cell as R's
`did::att_gt` (2.5) builds them, each cell estimated by DRDID's panel estimators
(analysis.estimators.drdid).

For cohort g and period t: the comparison units are the never treated (or, for
"notyettreated", also the cohorts not treated by max(t, base) and not g); the base period is
t - 1 before treatment ("varying") or g - 1 ("universal", whose own cell is the reference, 0);
the outcome is the change from the base period to t, and the covariates are those of the
earlier of the two periods. Units treated in the panel's first period are dropped, as did
drops them. A cell did leaves missing (overlap or a singular regression, see drdid) is
missing here too, with its reason.

The cells carry per-unit influence functions on the scale of analysis.estimators.
cs_aggregate (SE = sqrt(sum psi^2)): psi = DRDID's influence function / (units in the cell).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.estimators import drdid
from analysis.estimators.cs_aggregate import Cells


@dataclass(frozen=True)
class CovariateCells:
    """The cells (missing ones as NaN), why each missing one is missing, and sizes."""

    cells: Cells
    missing: dict[tuple[int, int], str]
    trimmed: dict[tuple[int, int], int]  # control units trimmed in each cell (if any)
    n_units: int
    n_obs: int
    dropped_units: int  # units dropped: treated in the first period, or not balanced


def _wide(
    panel: pd.DataFrame, unit: str, time: str, cohort: str, columns: list[str]
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, dict[str, pd.DataFrame], int]:
    """Complete rows of units observed in every period, without units treated in the first
    period (did's balancing and its drop of the always treated), and one wide table per
    column (units x periods)."""
    data = panel[[unit, time, cohort, *columns]].dropna()
    years = np.sort(data[time].unique())
    counts = data.groupby(unit)[time].nunique()
    balanced = counts.index[counts == len(years)]
    data = data[data[unit].isin(balanced)]
    g0 = data.groupby(unit)[cohort].first()
    early = g0.index[(g0 > 0) & (g0 <= years[0])]
    data = data[~data[unit].isin(early)].sort_values([unit, time])
    units = np.sort(data[unit].unique())
    wide = {c: data.pivot(index=unit, columns=time, values=c).loc[units] for c in columns}
    dropped = int(panel[unit].nunique() - len(units))
    return data, years, units, wide, dropped


def attgt_with_covariates(
    panel: pd.DataFrame,
    outcome: str,
    covariates: tuple[str, ...],
    method: str,
    control_group: str = "nevertreated",
    base_period: str = "varying",
    trim_level: float = drdid.TRIM_LEVEL,
    unit: str = "city_code",
    time: str = "year",
    cohort: str = "first_treat",
) -> CovariateCells:
    """Every ATT(g,t) of one specification (anticipation 0, unit weights)."""
    if method not in drdid.ESTIMATORS:
        raise ValueError(f"method {method!r}: allowed {', '.join(drdid.METHODS)}")
    estimator = drdid.ESTIMATORS[method]
    data, years, units, wide, dropped = _wide(panel, unit, time, cohort, [outcome, *covariates])
    g_unit = data.groupby(unit)[cohort].first().loc[units].to_numpy(dtype=float)
    n = len(units)
    y = wide[outcome].to_numpy(dtype=float)
    x = np.stack([wide[c].to_numpy(dtype=float) for c in covariates], axis=2)  # n x T x k
    never = g_unit == 0
    varying = base_period == "varying"
    tfac = 1 if varying else 0
    groups, times, att, se, psi = [], [], [], [], []
    missing: dict[tuple[int, int], str] = {}
    trimmed: dict[tuple[int, int], int] = {}
    for g in np.sort(np.unique(g_unit[g_unit > 0])):
        in_g = g_unit == g
        pre = np.flatnonzero(years < g)
        if len(pre) == 0:
            continue
        for t in range(len(years) - tfac):
            now = t + tfac
            base = t if varying else int(pre[-1])
            if years[now] >= g:
                base = int(pre[-1])
            key = (int(g), int(years[now]))
            col = np.zeros(n)
            groups.append(g)
            times.append(years[now])
            if not varying and base == now:
                att.append(0.0)
                se.append(np.nan)
                psi.append(col)
                continue
            if control_group == "nevertreated":
                ctrl = never
            else:
                cutoff = years[max(t, base) + tfac]
                ctrl = never | ((g_unit > cutoff) & ~in_g)
            use = in_g | ctrl
            D = in_g[use].astype(float)
            X = np.column_stack([np.ones(use.sum()), x[use, min(base, now), :]])
            dy = y[use, now] - y[use, base]
            reason = _guard(X, D, method)
            if reason:
                missing[key] = reason
                att.append(np.nan)
                se.append(np.nan)
                psi.append(np.full(n, np.nan))
                continue
            r = estimator(dy, D, X, trim_level)
            col[use] = r.inf / use.sum()
            if r.trimmed:
                trimmed[key] = r.trimmed
            att.append(r.att)
            se.append(float(np.sqrt(np.sum(col**2))))
            psi.append(col)
    cells = Cells(
        groups=np.asarray(groups, dtype=float),
        times=np.asarray(times, dtype=float),
        att=np.asarray(att),
        se=np.asarray(se),
        psi=np.column_stack(psi) if psi else np.zeros((n, 0)),
        unit_cohort=g_unit,
    )
    return CovariateCells(cells, missing, trimmed, n, n * len(years), dropped)


def _guard(X: np.ndarray, D: np.ndarray, method: str) -> str:
    """did's reason to leave a cell missing, or ''."""
    if method in ("dr", "ipw") and drdid.overlap_fails(X, D):
        return f"overlap condition violated (a unit's propensity score >= {drdid.OVERLAP_LIMIT})"
    if method in ("dr", "reg") and drdid.singular_controls(X, D):
        return "covariate matrix of the control units singular"
    return ""
