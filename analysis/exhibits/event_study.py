"""Figure 1 and Table 3: event study with relative-time dummies ([model] reference_period
omitted, end points of [model] event_window binned), city and year fixed effects, clustered by
city; and the joint Wald test that all pre-treatment coefficients are zero (F with G-1
denominator degrees of freedom)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from analysis.engines import pyfixest_adapter as fx
from analysis.exhibit import Context, Exhibit, Output
from analysis.inference import t_inference
from analysis.prepare.panel import NEVER_TREATED_EVENT_TIME
from analysis.render.figures import event_study_figure

TABLE = "table3_event_study"
FIGURE = "figure1_event_study"
MODEL = "event_study"
WALD_TERM = "joint_pre_F"


def term(k: int) -> str:
    """fixest's name of the event-time dummy k."""
    return f"event_time::{k}"


def _column(k: int) -> str:
    return f"ev_{k}".replace("-", "m")


def design(
    panel: pd.DataFrame, window: tuple[int, int], ref: int
) -> tuple[pd.DataFrame, list[int]]:
    """The panel with one dummy column per event time (reference omitted), and the times."""
    times = [k for k in range(window[0], window[1] + 1) if k != ref]
    dummies = {_column(k): (panel["event_time"] == k).astype(float) for k in times}
    return panel.assign(**dummies), times


def pretrend_test(reg: fx.Regression, terms: list[str]) -> tuple[float, float, int]:
    """Wald F statistic, p-value and numerator df of H0: the pre-period terms are all zero."""
    b = reg.coef[terms].to_numpy()
    v = reg.vcov.loc[terms, terms].to_numpy()
    f = float(b @ np.linalg.solve(v, b)) / len(terms)
    return f, float(stats.f.sf(f, len(terms), reg.df)), len(terms)


def recorded_formula(ref: int, outcome: str = "resilience") -> str:
    """The model in fixest syntax: never-treated cities sit at a second reference level."""
    return (
        f"{outcome} ~ i(event_time, ref = c({ref}, {NEVER_TREATED_EVENT_TIME})) | city_code + year"
    )


def _fit(ctx: Context) -> tuple[fx.Regression, list[int]]:
    window, ref = ctx.cfg.model.event_window, ctx.reference_period
    data, times = design(ctx.panel, window, ref)
    columns = [_column(k) for k in times]
    reg = fx.feols(data, f"resilience ~ {' + '.join(columns)} | city_code + year", ctx.spec)
    names = dict(zip(columns, (term(k) for k in times), strict=True))
    return reg.renamed(names, recorded_formula(ref)), times


def fit(ctx: Context) -> tuple[fx.Regression, list[int]]:
    """The TWFE event study of the configured window and reference period, terms named as
    fixest names them (`event_time::k`), and the event times estimated. Fitted once per run
    and read by every exhibit that needs it (this table and figure, Figure 2, HonestDiD)."""
    return ctx.shared("event_study", lambda: _fit(ctx))


def coefficient_table(
    reg: fx.Regression, window: tuple[int, int], ref: int, level: float
) -> pd.DataFrame:
    """One row per event time of the window: the reference period is a row of zeros; an
    event time the regression could not estimate is a row of NaN, never a zero."""
    rows = []
    for k in range(window[0], window[1] + 1):
        if k == ref:
            rows.append(
                {
                    "event_time": k,
                    "estimate": 0.0,
                    "std_error": 0.0,
                    "p_value": np.nan,
                    "conf_low": 0.0,
                    "conf_high": 0.0,
                }
            )
            continue
        if term(k) not in reg.coef.index:
            rows.append(
                {
                    "event_time": k,
                    "estimate": np.nan,
                    "std_error": np.nan,
                    "p_value": np.nan,
                    "conf_low": np.nan,
                    "conf_high": np.nan,
                }
            )
            continue
        est, se = float(reg.coef[term(k)]), float(reg.se[term(k)])
        inf = t_inference(est, se, reg.df, level)
        rows.append(
            {
                "event_time": k,
                "estimate": est,
                "std_error": se,
                "p_value": inf.p_value,
                "conf_low": inf.conf_low,
                "conf_high": inf.conf_high,
            }
        )
    return pd.DataFrame(rows)


def run(ctx: Context) -> Output:
    """The event-study coefficients, the joint pre-trend test, Table 3 and Figure 1."""
    window, ref, level = ctx.cfg.model.event_window, ctx.reference_period, ctx.level
    reg, times = fit(ctx)
    described = fx.info(
        reg,
        TABLE,
        MODEL,
        "twfe_event_study",
        ctx.sample,
        reference_period=ref,
        estimand="att_by_event_time",
    )
    estimates = [described.row(t, float(reg.coef[t]), float(reg.se[t])) for t in reg.coef.index]
    pre = [term(k) for k in times if k < ref]
    f, p, q = pretrend_test(reg, pre)
    wald = replace(described, estimator="wald_pretrend")
    estimates.append(wald.row(WALD_TERM, f, p_value=p, conf=(np.nan, np.nan), statistic=f))
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
        tables={TABLE: coefs},
        figures={FIGURE: lambda path: event_study_figure(coefs, note, path, title="Event study")},
        notes={TABLE: note},
    )


EXHIBIT = Exhibit(
    id="event_study",
    title="Figure 1 and Table 3. Event study",
    module=__name__,
    run=run,
    tables=(TABLE,),
    figures=(FIGURE,),
    models=(MODEL,),
)
