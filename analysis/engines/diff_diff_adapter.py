"""diff-diff 3.13: Callaway-Sant'Anna, Borusyak-Jaravel-Spiess imputation, the Goodman-Bacon
decomposition, de Chaisemartin-D'Haultfoeuille weights and HonestDiD's smoothness bounds.

Every constructor and fit is called through `analysis.engines.options.call`, so an option
name diff-diff does not declare fails loudly; every option that matters is passed explicitly.
The library's UserWarnings (e.g. small cohorts) are recorded, not printed."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.engines.options import call
from analysis.estimators.event_time import EventCoefs, EventStudyFit

ENGINE = "diff-diff"
# R did's names of the control groups -> diff-diff's
CONTROL_GROUP = {"nevertreated": "never_treated", "notyettreated": "not_yet_treated"}
KEYS = {"unit": "city_code", "time": "year", "first_treat": "first_treat"}


@contextmanager
def _quiet() -> Iterator[list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


@dataclass(frozen=True)
class CSResult:
    """A fitted Callaway-Sant'Anna specification and the first sentence of each warning."""

    results: Any
    warnings: tuple[str, ...]


def callaway_santanna(
    data: pd.DataFrame,
    outcome: str,
    control_group: str,
    base_period: str,
    method: str,
    covariates: tuple[str, ...],
    pscore_trim: float,
    bootstrap_reps: int = 0,
    bootstrap_weights: str = "rademacher",
    seed: int | None = None,
    alpha: float = 0.05,
) -> CSResult:
    """ATT(g,t) of one specification (R did's vocabulary for control group and base period)."""
    import diff_diff as dd

    est = call(
        dd.CallawaySantAnna,
        control_group=CONTROL_GROUP[control_group],
        anticipation=0,
        estimation_method=method,
        alpha=alpha,
        cluster=None,
        n_bootstrap=bootstrap_reps,
        bootstrap_weights=bootstrap_weights,
        seed=seed,
        rank_deficient_action="warn",
        base_period=base_period,
        cband=bootstrap_reps > 0,
        pscore_trim=pscore_trim,
        panel=True,
        allow_unbalanced_panel=False,
        pscore_fallback="error",
        vcov_type="hc1",
    )
    with _quiet() as caught:
        res = call(est.fit, data, outcome=outcome, **KEYS, covariates=list(covariates) or None)
    notes = tuple(dict.fromkeys(str(w.message).split(". ")[0] for w in caught))
    return CSResult(res, notes)


def imputation(panel: pd.DataFrame, outcome: str) -> EventCoefs:
    """Borusyak-Jaravel-Spiess imputation with pre-period horizons (their reference period is
    diff-diff's fixed -1) and the conservative clustered variance of their Theorem 3."""
    import diff_diff as dd

    est = call(
        dd.ImputationDiD,
        anticipation=0,
        alpha=0.05,
        cluster=None,
        vcov_type="hc1",
        n_bootstrap=0,
        pretrends=True,
        leave_one_out=False,
        df_convention="normal",
        aux_partition="cohort_horizon",
    )
    with _quiet():
        res = call(
            est.fit, panel[["city_code", "year", "first_treat", outcome]], outcome=outcome, **KEYS
        )
        es = res.aggregate("event_study").to_dataframe()
    es = es[~es["is_reference"]]
    return EventCoefs(
        tuple(int(k) for k in es["event_time"]),
        tuple(es["att"].astype(float)),
        tuple(es["se"].astype(float)),
        float(res.overall_att),
        float(res.overall_se),
        np.inf,
    )


def bacon(panel: pd.DataFrame, outcome: str) -> tuple[pd.DataFrame, float]:
    """The Goodman-Bacon 2x2 comparisons (exact weights) and diff-diff's TWFE coefficient."""
    import diff_diff as dd

    with _quiet():
        res = call(dd.BaconDecomposition, weights="exact").fit(
            panel[["city_code", "year", "first_treat", outcome]], outcome=outcome, **KEYS
        )
    return res.to_dataframe(), float(res.twfe_estimate)


def dcdh_weights(panel: pd.DataFrame, outcome: str) -> tuple[pd.DataFrame, float, float]:
    """de Chaisemartin-D'Haultfoeuille weights of every cell, beta_fe and sigma_fe."""
    import diff_diff as dd

    with _quiet():
        res = call(
            dd.twowayfeweights,
            panel[["city_code", "year", "treat_post", outcome]],
            outcome=outcome,
            unit="city_code",
            time="year",
            treatment="treat_post",
        )
    return res.weights, float(res.beta_fe), float(res.sigma_fe)


def _event_study_results(fit: EventStudyFit) -> Any:
    """diff-diff's event-study results object carrying the project's coefficients and vcov
    (HonestDiD reads period effects, pre/post periods, the vcov and its index)."""
    from diff_diff.results import MultiPeriodDiDResults, PeriodEffect

    effects = {
        k: call(
            PeriodEffect,
            period=k,
            effect=float(b),
            se=float(np.sqrt(v)),
            t_stat=float(b / np.sqrt(v)),
            p_value=np.nan,
            conf_int=(np.nan, np.nan),
        )
        for k, b, v in zip(fit.times, fit.coef, np.diag(fit.vcov), strict=True)
    }
    _, att, se = fit.target()
    pre = [k for k in fit.times if k < 0] + [fit.ref]
    # No degrees of freedom are passed: the robust sets use normal critical values, as R's
    # HonestDiD does (checked below with diff-diff's own resolver of the df it would use).
    res = call(
        MultiPeriodDiDResults,
        period_effects=effects,
        avg_att=att,
        avg_se=se,
        avg_t_stat=att / se,
        avg_p_value=np.nan,
        avg_conf_int=(np.nan, np.nan),
        n_obs=0,
        n_treated=0,
        n_control=0,
        pre_periods=sorted(pre),
        post_periods=[k for k in fit.times if k >= 0],
        vcov=fit.vcov,
        reference_period=fit.ref,
        interaction_indices={k: i for i, k in enumerate(fit.times)},
    )
    from diff_diff.aggregation import resolve_inference_df

    if resolve_inference_df(res) is not None:
        raise RuntimeError("diff-diff would use t critical values for HonestDiD; expected normal")
    return res


def honest_sensitivity(
    fit: EventStudyFit, method: str, grid: tuple[float, ...], alpha: float
) -> pd.DataFrame:
    """HonestDiD's robust confidence sets of the mean post-period effect over a grid of the
    restriction's parameter (method 'smoothness' or 'relative_magnitude')."""
    import diff_diff as dd

    lvec, _, _ = fit.target()
    res = _event_study_results(fit)
    rows = []
    with _quiet():
        for value in grid:
            h = call(dd.HonestDiD, method=method, M=value, alpha=alpha, l_vec=lvec).fit(res)
            rows.append(
                {
                    "restriction": method,
                    "parameter": value,
                    "conf_low": h.ci_lb,
                    "conf_high": h.ci_ub,
                    "bound_low": h.lb,
                    "bound_high": h.ub,
                    "ci_method": h.ci_method,
                }
            )
    return pd.DataFrame(rows)


def _covers_zero(low: float, high: float) -> bool:
    """diff-diff's rule: a robust set covers zero, and an undefined one counts as covering."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return True
    return bool(low <= 0 <= high)


def honest_breakdown(
    fit: EventStudyFit,
    method: str,
    alpha: float,
    tol: float = 1e-4,
    known: pd.DataFrame | None = None,
) -> float:
    """The smallest parameter at which HonestDiD's robust set includes zero (NaN if none even
    at 10), by diff-diff's own search (`HonestDiD.breakdown_value`: 0, then 10, then bisection
    of [0, 10] to `tol`, the midpoint of the last bracket), step for step.

    `known` (rows of `honest_sensitivity`: parameter, conf_low, conf_high) spares the fits
    whose answer the grid already gives, under the assumption the bisection itself rests on
    (that coverage of zero does not return once the set covers it, as the parameter grows):
    a midpoint above a grid value whose set covers zero is taken to cover it, one below a grid
    value whose set excludes zero to exclude it. Where the assumption holds the brackets, and
    so the value, are diff-diff's; tests/test_honest_breakdown.py checks the value against
    diff-diff's own search on the study's panel."""
    import diff_diff as dd

    lvec, _, _ = fit.target()
    res = _event_study_results(fit)
    honest = call(dd.HonestDiD, method=method, alpha=alpha, l_vec=lvec)
    rows = () if known is None else known[["parameter", "conf_low", "conf_high"]].to_numpy()
    grid = [(float(m), float(lo), float(hi)) for m, lo, hi in rows]
    covering = [m for m, lo, hi in grid if _covers_zero(lo, hi)]
    excluding = [m for m, lo, hi in grid if not _covers_zero(lo, hi)]

    def covers(m: float) -> bool:
        if any(g <= m for g in covering):
            return True
        if any(g >= m for g in excluding):
            return False
        with _quiet():
            r = honest.fit(res, M=m)
        return _covers_zero(r.ci_lb, r.ci_ub)

    if covers(0.0):
        return 0.0
    if not covers(10.0):
        return np.nan
    lo, hi = 0.0, 10.0
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if covers(mid):
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2
