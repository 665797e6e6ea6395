"""Table 8 and Figure 5: HonestDiD sensitivity of the TWFE event study (Rambachan-Roth 2023).

The event-study coefficients and their clustered covariance come from the study's own TWFE
event study (analysis.models.twfe: pyfixest, [inference] settings, end points
binned, the binned end points entering as their own periods), normalised to the period
before treatment (-1) as the restrictions are stated (a linear map of the coefficients when
[model] reference_period is another period). The target is the average of the
post-treatment coefficients (l = equal weights). Robust confidence sets at the configured
level, with normal critical values as R's HonestDiD uses:

- relative magnitudes: post-treatment violations (in first differences) at most Mbar times
  the largest pre-treatment one, over the [honest_did] mbar grid. Computed by the project's
  Andrews-Roth-Pakes test inversion (analysis.estimators.honest_rm), as R's HonestDiD
  0.2.6 does: model `honest_rm` is the conditional-least-favourable hybrid ("C-LF", R's
  default), model `honest_rm_conditional` the conditional test ("Conditional");
- smoothness (model `honest_sd`): the slope of the violation changes by at most M per
  period, over the [honest_did] m grid; diff-diff's fixed-length confidence interval
  ("FLCI", as R's default for this restriction).

Terms `Mbar::<value>` / `M::<value>`: estimate = the target's point estimate, conf_low /
conf_high = the robust set. Term `breakdown`: the smallest Mbar (M) at which the set
contains zero, found on the set's own endpoints by bisection (tolerance in the table note;
NaN when the set excludes zero over the whole search range).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis.estimates import ModelInfo
from analysis.estimators import honest_rm, honest_sd
from analysis.exhibit import Context, Output, declare
from analysis.models.honest import (
    BREAKDOWN_TOL,
    HONEST_REF,
    m_grid,
    relative_magnitudes,
    smoothness,
)
from analysis.models.twfe import event_study_fit, recorded_formula
from analysis.render.figures_did import honest_figure

TABLE = "table8_honest_did"
FIGURE = "figure5_honest_did"


@dataclass(frozen=True)
class Method:
    """One way of computing the robust sets: model id, label, restriction, grid name."""

    model: str
    label: str
    restriction: str
    parameter: str


METHODS = (
    Method("honest_rm", "C-LF (Andrews-Roth-Pakes hybrid)", "relative_magnitude", "Mbar"),
    Method(
        "honest_rm_conditional", "Conditional (Andrews-Roth-Pakes)", "relative_magnitude", "Mbar"
    ),
    Method("honest_sd", "FLCI (fixed-length)", "smoothness", "M"),
)
RM_METHOD: dict[str, honest_rm.Method] = {
    "honest_rm": "c-lf",
    "honest_rm_conditional": "conditional",
}


def run(ctx: Context) -> Output:
    """Robust confidence sets under relative magnitudes (C-LF, Conditional) and smoothness
    (FLCI), and the breakdown value of each."""
    fit = event_study_fit(ctx).renormalized(HONEST_REF)
    alpha = 1 - ctx.level
    _, att, se = fit.target()
    window, ref = ctx.event_window, ctx.reference_period
    grids = {
        "relative_magnitude": ctx.cfg.honest_did.mbar,
        "smoothness": m_grid(fit, ctx.cfg.honest_did.m),
    }
    frames: list[pd.DataFrame] = []
    rows = []
    breakdowns: dict[str, honest_sd.Breakdown] = {}

    def info(m: Method) -> ModelInfo:
        return ModelInfo(
            exhibit=TABLE,
            model=m.model,
            estimator=f"honest_did:{m.label.split(' ')[0]}",
            engine="analysis.estimators.honest_rm"
            if m.model in RM_METHOD
            else "analysis.estimators.honest_sd",
            outcome="resilience",
            n_obs=len(ctx.panel),
            n_clusters=int(ctx.panel["city_code"].nunique()),
            vcov=f"{ctx.spec.label}; robust set {m.label}, normal critical values",
            ssc=ctx.spec.ssc_label,
            formula=f"{recorded_formula(ref)}; coefficients normalised to "
            f"{HONEST_REF}; target = mean of post coefficients 0..{window[1]}",
            fixef="city_code + year",
            sample=ctx.sample,
            df=fit.df,
            reference_period=ref,
            level=ctx.level,
            estimand="sensitivity",
        )

    for m in METHODS:
        grid = grids[m.restriction]
        if m.model in RM_METHOD:
            frame, breakdowns[m.model] = relative_magnitudes(fit, RM_METHOD[m.model], grid, alpha)
        else:
            frame, breakdowns[m.model] = smoothness(fit, grid, alpha)
        frames.append(frame.assign(restriction=m.restriction, method=m.label))
        described = info(m)
        for r in frame.to_dict("records"):
            rows.append(
                described.row(
                    f"{m.parameter}::{r['parameter']:.10g}",
                    att,
                    se,
                    p_value=np.nan,
                    statistic=np.nan,
                    conf=(r["conf_low"], r["conf_high"]),
                )
            )
        rows.append(
            described.row(
                "breakdown",
                breakdowns[m.model].estimate,
                se,
                p_value=np.nan,
                statistic=np.nan,
                conf=(np.nan, np.nan),
            )
        )
    columns = [
        "restriction",
        "method",
        "parameter",
        "conf_low",
        "conf_high",
        "bound_low",
        "bound_high",
    ]
    table = pd.concat(frames, ignore_index=True)[columns]
    critical = float(stats.norm.ppf(1 - alpha / 2))
    original = (att - critical * se, att + critical * se)
    note = (
        f"Target: mean of the post-treatment event-study coefficients, {att:.4f} (SE {se:.4f}); "
        f"original interval [{original[0]:.4f}, {original[1]:.4f}] ({int(round(100 * ctx.level))}%, "
        "normal critical value, as the robust sets). Breakdown values: "
        f"Mbar = {breakdowns['honest_rm'].text()} (relative magnitudes, C-LF), "
        f"{breakdowns['honest_rm_conditional'].text()} (Conditional), found to "
        f"{BREAKDOWN_TOL:g} in Mbar; M = {breakdowns['honest_sd'].text()} (smoothness, FLCI, "
        f"to {breakdowns['honest_sd'].tol:.3g}; searched up to {breakdowns['honest_sd'].upper:g})"
        ". A breakdown value is the smallest parameter whose set covers zero, whichever the "
        "sign of the effect; '> x' means the set excludes zero over the whole search range. "
        "Smoothness: HonestDiD 0.2.6's FLCI, reproduced step for step (ECOS, R's simulated "
        "folded-normal quantile); M grid "
        + ("configured" if ctx.cfg.honest_did.m is not None else "HonestDiD's default (auto)")
        + ". "
        "Relative magnitudes: Andrews-Roth-Pakes test inversion as R's HonestDiD 0.2.6; "
        "bound_low/bound_high: the identified set at the point estimates. End points of the "
        "event window are binned."
    )
    writer: Callable[[Path], None] = lambda path: honest_figure(table, original, note, path)  # noqa: E731
    return Output(
        estimates=rows, tables={TABLE: table}, figures={FIGURE: writer}, notes={TABLE: note}
    )


EXHIBIT = declare(
    run,
    "Table 8 and Figure 5. HonestDiD sensitivity of the event study",
    tables=(TABLE,),
    figures=(FIGURE,),
    models=("honest_rm", "honest_rm_conditional", "honest_sd"),
)
