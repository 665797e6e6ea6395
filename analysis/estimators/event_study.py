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


def run(ctx: Context) -> Output:
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
    by_term = {e.term: e for e in estimates}
    rows = []
    for k in range(window[0], window[1] + 1):
        e = by_term.get(term(k))
        rows.append(
            {"event_time": k, "estimate": 0.0, "std_error": 0.0, "p_value": np.nan,
             "conf_low": 0.0, "conf_high": 0.0}
            if e is None
            else {"event_time": k, "estimate": e.estimate, "std_error": e.std_error,
                  "p_value": e.p_value, "conf_low": e.conf_low, "conf_high": e.conf_high}
        )  # fmt: skip
    coefs = pd.DataFrame(rows)
    ci = t_inference(0.0, 1.0, reg.df, ctx.cfg.inference.level)
    note = (
        f"Joint test of the {q} pre-treatment coefficients: F = {f:.3f}, p = {p:.4f} "
        f"(df {q}, {reg.df:.0f}). Reference period {ref}; end points binned at "
        f"{window[0]} and {window[1]}; {int(ctx.cfg.inference.level * 100)}% intervals use "
        f"t({reg.df:.0f}) critical value {ci.conf_high:.3f}."
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
