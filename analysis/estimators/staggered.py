"""Table 5 and Figure 2: heterogeneity-robust event studies beside the TWFE event study.

- Sun-Abraham (2021) interaction-weighted estimator (model `sunab`): a regression of the
  outcome on cohort x relative-time dummies (reference period -1; never-treated cities are
  the control), city and year fixed effects, by the project's feols with the configured
  vcov and small-sample correction; the cohort-specific coefficients are averaged at each
  relative time with the cohorts' shares of observations there (fixest's `sunab()` with
  `aggregate`), the SE by the delta method with the shares held fixed. `ATT` averages all
  post-treatment cells with their observation counts (fixest's `summary(agg = "ATT")`).
- Gardner (2022) two-stage DID (model `did2s`): pyfixest's `did2s` (first stage: city and
  year fixed effects on untreated city-years; second stage: the residualized outcome on
  relative-time dummies, or on treat_post for `ATT`), with the GMM-corrected clustered
  variance pyfixest implements (its only option; recorded in `ssc`).
- Borusyak-Jaravel-Spiess (2024) imputation (model `imputation`): diff-diff's ImputationDiD
  with the conservative clustered variance of their Theorem 3 (per city), pre-period
  horizons from the untreated observations.

Relative times are not binned here (every observed relative time has its own coefficient).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis.estimates import Estimate, Regression, feols
from analysis.exhibits import Context, Output
from analysis.inference import VcovSpec, t_inference
from analysis.tables import fmt

EXHIBIT = "table5_event_study_estimators"
FIGURE = "figure2_event_study_estimators"
OUTCOME = "resilience"
REF = -1


def _name(prefix: str, k: int) -> str:
    return f"{prefix}_{k}".replace("-", "m")


@dataclass(frozen=True)
class EventCoefs:
    """Event-time coefficients of one estimator (and its overall ATT)."""

    times: tuple[int, ...]
    estimate: tuple[float, ...]
    std_error: tuple[float, ...]
    att: float
    att_se: float
    df: float

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"event_time": self.times, "estimate": self.estimate, "std_error": self.std_error}
        )


def sunab_design(panel: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, tuple[int, int]]]:
    """Cohort x relative-time dummies (reference -1), and column -> (cohort, k)."""
    rel = panel["rel_time"]
    cells = (
        panel.loc[panel["first_treat"] > 0, ["first_treat", "rel_time"]]
        .drop_duplicates()
        .astype(int)
        .sort_values(["first_treat", "rel_time"])
    )
    cols: dict[str, tuple[int, int]] = {}
    data = {}
    for g, k in cells.itertuples(index=False):
        if k == REF:
            continue
        name = _name(f"sa_{g}", k)
        cols[name] = (int(g), int(k))
        data[name] = ((panel["first_treat"] == g) & (rel == k)).astype(float).to_numpy()
    return panel.assign(**data), cols


def sunab(
    panel: pd.DataFrame, spec: VcovSpec, outcome: str = OUTCOME
) -> tuple[EventCoefs, Regression]:
    """Sun-Abraham interaction-weighted event study and ATT (weights: observation counts)."""
    data, cols = sunab_design(panel)
    reg = feols(data, f"{outcome} ~ {' + '.join(cols)} | city_code + year", spec)
    b = reg.coef[list(cols)].to_numpy()
    v = reg.vcov.loc[list(cols), list(cols)].to_numpy()
    counts = np.array([int(((data["first_treat"] == g) & (data["rel_time"] == k)).sum())
                       for g, k in cols.values()], dtype=float)  # fmt: skip
    ks = np.array([k for _, k in cols.values()])
    times, est, se = [], [], []
    for k in sorted(set(ks.tolist())):
        w = np.where(ks == k, counts, 0.0)
        w /= w.sum()
        times.append(int(k))
        est.append(float(w @ b))
        se.append(float(np.sqrt(w @ v @ w)))
    w = np.where(ks >= 0, counts, 0.0)
    w /= w.sum()
    att, att_se = float(w @ b), float(np.sqrt(w @ v @ w))
    return EventCoefs(tuple(times), tuple(est), tuple(se), att, att_se, reg.df), reg


def did2s(panel: pd.DataFrame, outcome: str = OUTCOME) -> EventCoefs:
    """Gardner's two-stage DID via pyfixest (event-time dummies; treat_post for the ATT)."""
    import pyfixest as pf

    rel = panel["rel_time"]
    times = sorted(int(k) for k in rel.dropna().unique() if k != REF)
    data = panel.assign(**{_name("ev", k): (rel == k).astype(float) for k in times})
    first = "~ 0 | city_code + year"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        es = pf.did2s(data, yname=outcome, first_stage=first,
                      second_stage="~ " + " + ".join(_name("ev", k) for k in times),
                      treatment="treat_post", cluster="city_code")  # fmt: skip
        att = pf.did2s(data, yname=outcome, first_stage=first, second_stage="~ treat_post",
                       treatment="treat_post", cluster="city_code")  # fmt: skip
    coef, se = es.coef(), es.se()
    names = [_name("ev", k) for k in times]
    return EventCoefs(tuple(times), tuple(float(coef[n]) for n in names),
                      tuple(float(se[n]) for n in names), float(att.coef()["treat_post"]),
                      float(att.se()["treat_post"]), np.inf)  # fmt: skip


def imputation(panel: pd.DataFrame, outcome: str = OUTCOME) -> EventCoefs:
    """Borusyak-Jaravel-Spiess imputation via diff-diff (pre-period horizons included)."""
    import diff_diff as dd

    est = dd.ImputationDiD(anticipation=0, alpha=0.05, cluster=None, vcov_type="hc1",
                           n_bootstrap=0, pretrends=True, leave_one_out=False,
                           df_convention="normal", aux_partition="cohort_horizon")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        res = est.fit(panel[["city_code", "year", "first_treat", outcome]], outcome=outcome,
                      unit="city_code", time="year", first_treat="first_treat")  # fmt: skip
        es = res.aggregate("event_study").to_dataframe()
    es = es[~es["is_reference"]]
    return EventCoefs(tuple(int(k) for k in es["event_time"]), tuple(es["att"].astype(float)),
                      tuple(es["se"].astype(float)), float(res.overall_att),
                      float(res.overall_se), np.inf)  # fmt: skip


MODELS: dict[str, tuple[str, str, str, str, str]] = {
    # model: (estimator, engine, vcov, ssc, formula)
    "sunab": ("sun_abraham", "pyfixest", "", "",
              "resilience ~ sunab(first_treat, year) | city_code + year"),  # fixest: ref.p = -1 by default
    "did2s": ("gardner_two_stage", "pyfixest", "GMM-corrected CRV1:city_code",
              "pyfixest did2s (no ssc option)",
              "did2s(yname='resilience', first_stage=~0 | city_code + year, "
              "second_stage=~i(rel_time, ref=-1), treatment='treat_post', cluster_var='city_code')"),
    "imputation": ("borusyak_jaravel_spiess", "diff-diff",
                   "analytical:conservative-Theorem3,cluster=city_code", "none",
                   "did_imputation(yname='resilience', gname='first_treat', tname='year', "
                   "idname='city_code', pretrends=TRUE)"),
}  # fmt: skip


def rows(model: str, c: EventCoefs, ctx: Context, reg: Regression | None = None) -> list[Estimate]:
    estimator, engine, vcov, ssc, formula = MODELS[model]
    if reg is not None:
        vcov, ssc = reg.spec.label, reg.spec.ssc_label  # aggregation: shares fixed, delta method
    n = ctx.panel["city_code"].nunique()
    out = []
    terms = [
        (f"event_time::{k}", e, s) for k, e, s in zip(c.times, c.estimate, c.std_error, strict=True)
    ]
    for term, est, se in [*terms, ("ATT", c.att, c.att_se)]:
        inf = t_inference(est, se, c.df, ctx.cfg.inference.level)
        out.append(Estimate(
            exhibit=EXHIBIT, model=model, estimator=estimator, engine=engine, outcome=OUTCOME,
            term=term, estimate=est, std_error=se, statistic=inf.statistic, p_value=inf.p_value,
            conf_low=inf.conf_low, conf_high=inf.conf_high, df=c.df, n_obs=len(ctx.panel),
            n_clusters=n, vcov=vcov, ssc=ssc, formula=formula,
            fixef="city_code + year", sample=ctx.sample,
        ))  # fmt: skip
    return out


def run(ctx: Context) -> Output:
    from analysis.estimators import callaway_santanna, event_study
    from analysis.figures_did import event_estimators_figure

    sa, reg = sunab(ctx.panel, ctx.spec)
    d2 = did2s(ctx.panel)
    imp = imputation(ctx.panel)
    estimates = rows("sunab", sa, ctx, reg) + rows("did2s", d2, ctx) + rows("imputation", imp, ctx)
    window, level = ctx.cfg.model.event_window, ctx.cfg.inference.level
    twfe = event_study.coefficient_table(event_study.fit(ctx)[0], window, REF, level)
    series = {
        "TWFE event study (binned)": twfe[["event_time", "estimate", "std_error"]],
        "Callaway-Sant'Anna": callaway_santanna.dynamic_coefs(ctx.panel, ctx.cfg.callaway_santanna),
        "Sun-Abraham": sa.frame(),
        "Imputation / two-stage": imp.frame(),
    }
    table = pd.DataFrame(
        {"event_time": sorted({int(k) for s in series.values() for k in s["event_time"]})}
    )
    for name, s in series.items():
        cells = {int(k): f"{fmt(e)} ({fmt(se)})" for k, e, se in
                 zip(s["event_time"], s["estimate"].astype(float), s["std_error"].astype(float),
                     strict=True)}  # fmt: skip
        table[name] = [cells.get(int(k), "") for k in table["event_time"]]
    att = {e.model: e for e in estimates if e.term == "ATT"}
    critical = float(stats.norm.ppf(0.5 + level / 2))
    note = (
        "Relative times not binned except in the TWFE column (end points at the event window). "
        "Reference period -1. Overall ATT: Sun-Abraham "
        f"{att['sunab'].estimate:.4f} ({att['sunab'].std_error:.4f}), two-stage "
        f"{att['did2s'].estimate:.4f} ({att['did2s'].std_error:.4f}), imputation "
        f"{att['imputation'].estimate:.4f} ({att['imputation'].std_error:.4f}). Intervals in "
        f"the figure: estimate +/- {critical:.2f} SE ({int(level * 100)}%, normal)."
    )

    def writer(path: Path) -> None:
        event_estimators_figure(series, REF, note, path, critical)

    return Output(estimates=estimates, tables={EXHIBIT: table}, figures={FIGURE: writer},
                  notes={EXHIBIT: note})  # fmt: skip
