"""diff-diff 3.13: Callaway-Sant'Anna, Borusyak-Jaravel-Spiess imputation and HonestDiD's
smoothness bounds. (Its Goodman-Bacon decomposition and de Chaisemartin-D'Haultfoeuille
weights are replayed in linear time by analysis/estimators/twfe_weights.py, tested against
diff-diff's own.)

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
from analysis.engines.scaling import unit_scale
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
    bootstrap_reps: int = 0,
    bootstrap_weights: str = "rademacher",
    seed: int | None = None,
    alpha: float = 0.05,
) -> CSResult:
    """ATT(g,t) of one specification without covariates (R did's vocabulary for control
    group and base period). With covariates diff-diff's doubly robust estimator is not the
    one R's did computes: analysis.estimators.attgt_covariates computes those."""
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
        pscore_trim=0.01,  # unused: no propensity score without covariates
        panel=True,
        allow_unbalanced_panel=False,
        pscore_fallback="error",
        vcov_type="hc1",
    )
    with _quiet() as caught:
        res = call(est.fit, data, outcome=outcome, **KEYS, covariates=None)
    notes = tuple(dict.fromkeys(str(w.message).split(". ")[0] for w in caught))
    return CSResult(res, notes)


def imputation(panel: pd.DataFrame, outcome: str) -> EventCoefs:
    """Borusyak-Jaravel-Spiess imputation. Post-period effects and the overall ATT: diff-diff's
    ImputationDiD with the conservative clustered variance of their Theorem 3 (per city).
    Pre-period coefficients: the pre-trend regression of R's didimputation (pretrends), on
    the untreated city-years, relative to -1 (diff-diff's fixed reference, and the lead
    fixest drops in didimputation when it detects their collinearity with the city effects)."""
    import diff_diff as dd
    import pyfixest as pf

    from analysis.estimators.event_time import column
    from analysis.inference import FIXEF_RM

    est = call(
        dd.ImputationDiD,
        anticipation=0,
        alpha=0.05,
        cluster=KEYS["unit"],
        vcov_type="hc1",
        n_bootstrap=0,
        pretrends=True,
        leave_one_out=False,
        df_convention="normal",
        aux_partition="cohort_horizon",
    )
    # diff-diff demeans until an absolute change of 1e-10: on an outcome of order 1e-5 that
    # is a few digits. The fit runs on the outcome scaled by a power of two to a standard
    # deviation in [0.5, 1) (exact: estimates and SEs are proportional to the outcome, and a
    # power of two changes no bit of a product) and is scaled back.
    scale = unit_scale(panel[outcome])
    with _quiet():
        data = panel[["city_code", "year", "first_treat", outcome]]
        res = call(
            est.fit, data.assign(**{outcome: data[outcome] * scale}), outcome=outcome, **KEYS
        )
        es = res.aggregate("event_study").to_dataframe()
    es = es[~es["is_reference"]]
    post = es[es["event_time"] >= 0].assign(
        att=lambda d: d["att"] / scale, se=lambda d: d["se"] / scale
    )

    # The pre-trend regression as didimputation runs it (fixest's feols on the untreated
    # observations: never-treated cities and the years before treatment of the others): the
    # outcome on one dummy per lead but -1, city and year effects, clustered by city with
    # fixest 0.14's default small-sample correction, stated here: G/(G-1) * (n-1)/(n-K),
    # K = leads + year effects + 1 (K.fixef "nonnested": the city effects, nested in the
    # cluster, do not count). The city effects are absorbed (one-way demeaning is exact in
    # one sweep) and the year effects are dummies (the first year omitted), so the solution
    # is exact on any outcome scale; diff-diff's own lead regression (reported by the fit
    # above and replaced here) demeans both ways until an absolute change of 1e-10, off by
    # 5e-6 of the standard errors on an outcome of order 1e-5.
    first, year = panel["first_treat"], panel["year"]
    data = panel.loc[(first == 0) | (year < first), ["city_code", "year", "first_treat", outcome]]
    rel = (data["year"] - data["first_treat"]).where(data["first_treat"] != 0)
    leads = sorted(int(k) for k in rel.dropna().unique() if k != -1)
    expected = sorted(int(k) for k in es["event_time"] if k < 0)
    if leads != expected:  # a defect: both must report the same pre-period horizons
        raise RuntimeError(f"pre-period horizons {leads} differ from diff-diff's {expected}")
    coef = pd.Series(np.nan, index=[column("lead", k) for k in leads])
    se = coef.copy()
    if leads:
        # the year dummies first: a lead collinear with the effects is the one dropped, as
        # when fixest absorbs them (e.g. all leads of a single cohort without never-treated
        # cities; without never-treated cities the last lead, the trend across cohorts)
        years = sorted(int(y) for y in data["year"].unique())[1:]
        dummies = {column("year", y): (data["year"] == y).astype(float) for y in years}
        dummies |= {column("lead", k): (rel == k).astype(float) for k in leads}
        with _quiet():
            fit: Any = call(
                pf.feols,
                f"{outcome} ~ {' + '.join(dummies)} | city_code",
                data=data.assign(**dummies),
                vcov={"CRV1": "city_code"},
                ssc=call(pf.ssc, k_adj=True, k_fixef="nonnested", G_adj=True, G_df="min"),
                fixef_rm=FIXEF_RM,
                copy_data=True,
                store_data=False,
            )
        # a dropped lead is reported as NaN, as diff-diff does
        coef = fit.coef().reindex(coef.index)
        se = fit.se().reindex(coef.index)
    return EventCoefs(
        (*leads, *(int(k) for k in post["event_time"])),
        (*coef.astype(float), *post["att"].astype(float)),
        (*se.astype(float), *post["se"].astype(float)),
        float(res.overall_att) / scale,
        float(res.overall_se) / scale,
        np.inf,
    )


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
