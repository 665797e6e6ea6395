"""TWFE fits: the baseline difference-in-differences (without and with controls) and the
event study with relative-time dummies ([model] reference_period omitted, end points of
[model] event_window binned), city and year fixed effects, the configured vcov and
small-sample correction; the joint Wald test of the pre-treatment coefficients; and the
event study as an EventStudyFit (coefficients and covariance) for HonestDiD.

Functions of a panel and a specification return results; those of a `Context` fit once per
run (`Context.shared`) and are read by every exhibit that needs them."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.engines import pyfixest_adapter as fx
from analysis.estimators.event_time import EventStudyFit
from analysis.exhibit import Context
from analysis.inference import t_inference
from analysis.prepare.panel import NEVER_TREATED_EVENT_TIME

OUTCOME = "resilience"
FIXEF = "city_code + year"
WALD_TERM = "joint_pre_F"


def formulas(controls: tuple[str, ...], outcome: str = OUTCOME) -> dict[str, str]:
    """Model id -> fixest-syntax formula of the two baseline columns."""
    rhs = " + ".join(("treat_post", *controls))
    return {
        "baseline_twfe": f"{outcome} ~ treat_post | {FIXEF}",
        "baseline_twfe_controls": f"{outcome} ~ {rhs} | {FIXEF}",
    }


def mechanism_formulas(mechanism: str, controls: tuple[str, ...]) -> dict[str, str]:
    """Model id -> formula of the channel regressions: the pilots' effect on the channel,
    the channel's link to the outcome, and the direct effect given the channel."""
    x = " + ".join(controls)
    return {
        f"mechanism_{mechanism}": f"{mechanism} ~ treat_post + {x} | {FIXEF}",
        f"mechanism_link_{mechanism}": f"{OUTCOME} ~ {mechanism} + {x} | {FIXEF}",
        f"mechanism_direct_{mechanism}": f"{OUTCOME} ~ treat_post + {mechanism} + {x} | {FIXEF}",
    }


def fits(ctx: Context) -> dict[str, fx.Regression]:
    """The baseline regressions, fitted once per run (the PSM table repeats column 1); the
    column with controls only when every configured control is in the data."""
    forms = formulas(ctx.cfg.model.controls)
    if missing_controls(ctx):
        forms.pop("baseline_twfe_controls")
    return ctx.shared(
        "baseline", lambda: {m: fx.feols(ctx.panel, f, ctx.spec) for m, f in forms.items()}
    )


def missing_controls(ctx: Context) -> list[str]:
    """Why the column with controls cannot be estimated (empty when it can)."""
    return ctx.missing(ctx.cfg.model.controls)


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


def event_design(ctx: Context) -> tuple[pd.DataFrame, list[int], list[str]]:
    """The event study's data (one dummy column per event time), times and dummy columns."""
    data, times = design(ctx.panel, ctx.event_window, ctx.reference_period)
    return data, times, [_column(k) for k in times]


def _event_study(ctx: Context) -> tuple[fx.Regression, list[int]]:
    ref = ctx.reference_period
    data, times, columns = event_design(ctx)
    reg = fx.feols(data, f"resilience ~ {' + '.join(columns)} | city_code + year", ctx.spec)
    names = dict(zip(columns, (term(k) for k in times), strict=True))
    return reg.renamed(names, recorded_formula(ref)), times


def event_study(ctx: Context) -> tuple[fx.Regression, list[int]]:
    """The TWFE event study of the configured window and reference period, terms named as
    fixest names them (`event_time::k`), and the event times estimated. Fitted once per run
    and read by every exhibit that needs it (this table and figure, Figure 2, HonestDiD)."""
    return ctx.shared("event_study", lambda: _event_study(ctx))


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


def event_study_fit(ctx: Context) -> EventStudyFit:
    """The study's TWFE event study as coefficients and covariance (HonestDiD's input)."""
    reg, times = event_study(ctx)
    cols = [term(k) for k in times]
    return EventStudyFit(
        tuple(times),
        reg.coef[cols].to_numpy(),
        reg.vcov.loc[cols, cols].to_numpy(),
        reg.df,
        ctx.reference_period,
    )
