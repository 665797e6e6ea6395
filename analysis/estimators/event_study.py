"""Figure 1 and Table 3: event study with relative-time dummies (reference period -1, end
points binned), city and year fixed effects, clustered by city; and the joint Wald test
that all pre-treatment coefficients are zero (F with G-1 denominator degrees of freedom)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.estimates import Estimate, Regression, feols, from_regression
from analysis.exhibits import Context, Output
from analysis.figures import event_study_figure
from analysis.inference import t_inference
from analysis.panel import NEVER_TREATED_EVENT_TIME

EXHIBIT = "table3_event_study"


def term(k: int) -> str:
    """fixest's name of the event-time dummy k."""
    return f"event_time::{k}"


def design(
    panel: pd.DataFrame, window: tuple[int, int], ref: int
) -> tuple[pd.DataFrame, list[int]]:
    """The panel with one dummy column per event time (reference omitted), and the times."""
    times = [k for k in range(window[0], window[1] + 1) if k != ref]
    dummies = {f"ev_{k}".replace("-", "m"): (panel["event_time"] == k).astype(float) for k in times}
    return panel.assign(**dummies), times


def pretrend_test(reg: Regression, terms: list[str]) -> tuple[float, float, int]:
    """Wald F statistic, p-value and numerator df of H0: the pre-period terms are all zero."""
    b = reg.coef[terms].to_numpy()
    v = reg.vcov.loc[terms, terms].to_numpy()
    f = float(b @ np.linalg.solve(v, b)) / len(terms)
    return f, float(stats.f.sf(f, len(terms), reg.df)), len(terms)


def fit(ctx: Context) -> tuple[Regression, list[int]]:
    """The TWFE event study of the configured window, terms named as fixest names them
    (`event_time::k`), and the event times estimated. Shared by every exhibit that needs it
    (this table and figure, Figure 2, HonestDiD), so the specification lives in one place."""
    window, ref = ctx.cfg.model.event_window, ctx.cfg.model.reference_period
    data, times = design(ctx.panel, window, ref)
    columns = [f"ev_{k}".replace("-", "m") for k in times]
    py_formula = f"resilience ~ {' + '.join(columns)} | city_code + year"
    reg = feols(data, py_formula, ctx.spec)
    names = dict(zip(columns, (term(k) for k in times), strict=True))
    reg = Regression(
        formula=f"resilience ~ i(event_time, ref = c({ref}, {NEVER_TREATED_EVENT_TIME})) | city_code + year",
        outcome=reg.outcome, fixef=reg.fixef, coef=reg.coef.rename(names), se=reg.se.rename(names),
        vcov=reg.vcov.rename(index=names, columns=names), n_obs=reg.n_obs,
        n_clusters=reg.n_clusters, spec=reg.spec, df=reg.df,
    )  # fmt: skip
    return reg, times


def coefficient_table(
    reg: Regression, window: tuple[int, int], ref: int, level: float
) -> pd.DataFrame:
    """One row per event time of the window; the reference period is a row of zeros."""
    rows = []
    for k in range(window[0], window[1] + 1):
        if term(k) not in reg.coef.index:
            rows.append({"event_time": k, "estimate": 0.0, "std_error": 0.0, "p_value": np.nan,
                         "conf_low": 0.0, "conf_high": 0.0})  # fmt: skip
            continue
        est, se = float(reg.coef[term(k)]), float(reg.se[term(k)])
        inf = t_inference(est, se, reg.df, level)
        rows.append({"event_time": k, "estimate": est, "std_error": se, "p_value": inf.p_value,
                     "conf_low": inf.conf_low, "conf_high": inf.conf_high})  # fmt: skip
    return pd.DataFrame(rows)


def run(ctx: Context) -> Output:
    window, ref = ctx.cfg.model.event_window, ctx.cfg.model.reference_period
    level = ctx.cfg.inference.level
    reg, times = fit(ctx)
    estimates = from_regression(reg, EXHIBIT, "event_study", "twfe_event_study", ctx.sample)
    pre = [term(k) for k in times if k < ref]
    f, p, q = pretrend_test(reg, pre)
    base = estimates[0]
    estimates.append(
        Estimate(
            exhibit=EXHIBIT,
            model="event_study",
            estimator="wald_pretrend",
            engine="pyfixest",
            outcome=base.outcome,
            term="joint_pre_F",
            estimate=f,
            std_error=np.nan,
            statistic=f,
            p_value=p,
            conf_low=np.nan,
            conf_high=np.nan,
            df=base.df,
            n_obs=base.n_obs,
            n_clusters=base.n_clusters,
            vcov=base.vcov,
            ssc=base.ssc,
            formula=base.formula,
            fixef=base.fixef,
            sample=base.sample,
        )  # fmt: skip
    )
    coefs = coefficient_table(reg, window, ref, level)
    critical = float(stats.t.ppf(0.5 + level / 2, reg.df))
    note = (
        f"Joint test of the {q} pre-treatment coefficients: F = {f:.3f}, p = {p:.4f} "
        f"(df {q}, {reg.df:.0f}). Reference period {ref}; end points binned at "
        f"{window[0]} and {window[1]}; {int(level * 100)}% intervals use "
        f"t({reg.df:.0f}) critical value {critical:.3f}."
    )
    return Output(
        estimates=estimates,
        tables={EXHIBIT: coefs},
        figures={
            "figure1_event_study": lambda path: event_study_figure(
                coefs,
                ref,
                note,
                path,
                title="Event study",
            )
        },
        notes={EXHIBIT: note},
    )
